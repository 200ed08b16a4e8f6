"""Usage caps on simulated spending: blocked categories, daily and monthly caps, by hand and as
properties; and their effect on a backtest's balances."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from limitlab.config import ReviewParams
from limitlab.limits.backtest import REVIEW, STATIC, UsageSimulation, backtest
from limitlab.limits.usage import MonthSpending, apply_caps, day_weights

from .test_stage_logic import ECONOMICS, PRODUCT, ROLES
from .test_strategies import _panel, decide_at

CATEGORIES = ("groceries", "quasi_cash", "travel")
REVIEW_RULES = ReviewParams(every_months=3)


def product(daily: float, monthly: float, blocked: list[str]):
    return PRODUCT.model_copy(update={"daily_cap_share": daily, "monthly_cap_share": monthly,
                                      "blocked_merchant_categories": blocked})  # fmt: skip


def test_caps_by_hand() -> None:
    # one account, limit 1,000: 300 groceries, 100 quasi-cash, 200 travel over two days (3:1)
    month = MonthSpending(np.array([[300.0, 100.0, 200.0]]), CATEGORIES, np.array([[0.75, 0.25]]))
    got = apply_caps(month, np.array([1000.0]), product(0.3, 0.4, ["quasi_cash"]))
    # blocked 100; days 375 and 125: the daily cap 300 declines 75; the monthly cap 400 declines
    # 25, taken off both days pro rata
    assert got["blocked_categories"][0] == 100 and got["daily"][0] == 75
    assert got["monthly"][0] == pytest.approx(25) and got["allowed"][0] == pytest.approx(400)
    assert got["allowed_by_day"][0] == pytest.approx([300 * 400 / 425, 125 * 400 / 425])


@settings(max_examples=60, deadline=None)
@given(
    spend=st.lists(st.floats(0, 5000), min_size=3, max_size=3),
    limit=st.floats(100, 10000),
    daily=st.floats(0, 1),
    monthly=st.floats(0, 1),
    blocked=st.lists(st.sampled_from(CATEGORIES), max_size=2),
    seed=st.integers(0, 100),
)
def test_caps_never_let_a_month_exceed_them(spend, limit, daily, monthly, blocked, seed) -> None:
    weights = day_weights(np.random.default_rng(seed), 1, 30, 0.3)
    month = MonthSpending(np.array([spend]), CATEGORIES, weights)
    got = apply_caps(month, np.array([limit]), product(daily, monthly, blocked))
    days = got["allowed_by_day"][0]
    assert (days <= daily * limit + 1e-6).all()
    assert days.sum() == pytest.approx(got["allowed"][0], abs=1e-6)
    assert got["allowed"][0] <= monthly * limit + 1e-6
    open_spend = sum(s for s, c in zip(spend, CATEGORIES, strict=True) if c not in blocked)
    assert got["allowed"][0] <= open_spend + 1e-6
    declined = got["blocked_categories"][0] + got["daily"][0] + got["monthly"][0]
    assert got["allowed"][0] + declined == pytest.approx(sum(spend), abs=1e-6)


def test_caps_that_bite_lower_balances_and_the_report_counts_them() -> None:
    inputs = _panel(400, seed=2)
    rng = np.random.default_rng(0)
    panel = inputs.panel.assign(
        spend_a=rng.uniform(0, 400, len(inputs.panel)),
        spend_b=rng.uniform(0, 100, len(inputs.panel)),
        payment=inputs.panel["balance"] * 0.1,
    )
    usage = UsageSimulation({"spend_a": "groceries", "spend_b": "quasi_cash"}, seed=1)
    loose = backtest(inputs.__class__(panel, inputs.snapshots, 1, 7, usage), decide_at,
                     product(1.0, 1.0, []), REVIEW_RULES, ROLES, ECONOMICS)  # fmt: skip
    strict = product(0.02, 0.2, ["quasi_cash"])
    tight = backtest(inputs.__class__(panel, inputs.snapshots, 1, 7, usage), decide_at, strict,
                     REVIEW_RULES, ROLES, ECONOMICS)  # fmt: skip
    assert loose["usage"][STATIC]["declined_share"] == {
        "blocked_categories": 0.0, "daily": 0.0, "monthly": 0.0}  # fmt: skip
    shares = tight["usage"][STATIC]["declined_share"]
    assert shares["blocked_categories"] == pytest.approx(50 / 250, rel=0.05)
    assert shares["daily"] > 0
    for policy in (STATIC, REVIEW):
        assert tight["totals"][policy]["mean_balance"] < loose["totals"][policy]["mean_balance"]
        assert tight["totals"][policy]["realised_loss"] <= loose["totals"][policy]["realised_loss"]
    # caps that never bind leave the backtest as it was without them
    plain = backtest(inputs, decide_at, PRODUCT, REVIEW_RULES, ROLES, ECONOMICS)
    assert loose["totals"] == plain["totals"]
