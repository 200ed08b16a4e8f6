"""Property tests of the limit-review guardrails, and hand-checked cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from limitlab.config import ReviewParams
from limitlab.limits.review import DECREASE, FREEZE, INCREASE, KEEP, review

LADDER = [500.0, 1000.0, 1500.0, 2000.0, 3000.0, 4000.0, 5000.0, 7500.0, 10000.0]
RULES = ReviewParams()


@st.composite
def accounts(draw: st.DrawFn) -> dict:
    n = draw(st.integers(1, 60))
    idx = st.integers(0, len(LADDER) - 1)
    current = np.array([LADDER[draw(idx)] for _ in range(n)])
    used = np.array(draw(st.lists(st.floats(0, 1), min_size=n, max_size=n)))
    target = np.array([draw(st.sampled_from([0.0, *LADDER])) for _ in range(n)])
    return {
        "current_limit": current,
        "balance": current * used,
        "utilisation": used,
        "pd_": np.array(draw(st.lists(st.floats(0, 1), min_size=n, max_size=n))),
        "target_limit": target,
        "dpd": np.array(
            draw(st.lists(st.sampled_from([0, 30, 60, 90]), min_size=n, max_size=n)), dtype=float
        ),
        "months_on_book": np.array(draw(st.lists(st.integers(0, 60), min_size=n, max_size=n))),
        "months_since_change": np.array(draw(st.lists(st.integers(0, 24), min_size=n, max_size=n))),
    }


rules_st = st.builds(
    ReviewParams,
    increase_max_pd=st.floats(0.01, 0.05),
    decrease_min_pd=st.floats(0.06, 0.2),
    freeze_pd=st.floats(0.2, 0.9),
    max_step_up=st.floats(0.1, 2.0),
    max_step_down=st.floats(0.1, 1.0),
    cooling_off_months=st.integers(0, 12),
    min_months_on_book=st.integers(0, 12),
)


def run(a: dict, rules: ReviewParams) -> pd.DataFrame:
    return review(**a, ladder=LADDER, rules=rules)


@settings(max_examples=300, deadline=None)
@given(accounts(), rules_st)
def test_guardrails_hold_for_every_account(a: dict, rules: ReviewParams) -> None:
    out = run(a, rules)
    act, new, cur = out["action"].to_numpy(), out["new_limit"].to_numpy(), a["current_limit"]
    assert set(act) <= {INCREASE, KEEP, DECREASE, FREEZE}
    # no increase while delinquent, in cooling-off, or before the minimum months on book
    assert not ((act == INCREASE) & (a["dpd"] > 0)).any()
    assert not ((act == INCREASE) & (a["months_on_book"] < rules.min_months_on_book)).any()
    cooling = a["months_since_change"] < rules.cooling_off_months
    assert not (np.isin(act, [INCREASE, DECREASE]) & cooling).any()
    # step bounds
    up = act == INCREASE
    assert (new[up] > cur[up]).all() and (new[up] <= cur[up] * (1 + rules.max_step_up)).all()
    down = act == DECREASE
    assert (new[down] < cur[down]).all()
    assert (new[down] >= cur[down] * (1 - rules.max_step_down) - 1e-9).all()
    # never below the balance; never above a cap by an increase; a keep changes nothing
    assert (new >= a["balance"] - 1e-9).all()
    assert (new[up] <= a["target_limit"][up]).all()
    assert (new <= np.maximum(cur, a["target_limit"])).all()
    assert (new[act == KEEP] == cur[act == KEEP]).all()
    assert np.isin(new, [*LADDER, *cur]).all()  # on the ladder (or the current limit)
    # freeze only on the freeze rules
    frozen = act == FREEZE
    assert ((a["dpd"] >= rules.freeze_dpd) | (a["pd_"] >= rules.freeze_pd))[frozen].all()
    # a reason for every change
    changed = act != KEEP
    assert (out.loc[changed, "review_reason_1"] != "").all()


def test_hand_checked_accounts() -> None:
    a = {
        "current_limit": np.array([2000.0, 2000.0, 4000.0, 4000.0, 3000.0]),
        "balance": np.array([1800.0, 1800.0, 1200.0, 3600.0, 2900.0]),
        "utilisation": np.array([0.9, 0.9, 0.3, 0.9, 0.97]),
        "pd_": np.array([0.01, 0.01, 0.2, 0.02, 0.5]),
        "target_limit": np.array([10000.0, 10000.0, 1000.0, 500.0, 5000.0]),
        "dpd": np.array([0.0, 30.0, 0.0, 0.0, 0.0]),
        "months_on_book": np.array([24, 24, 24, 24, 24]),
        "months_since_change": np.array([12, 12, 12, 12, 12]),
    }
    out = run(a, RULES)
    # low risk, high use: up by at most 50 % -> 3000 (the ladder step at or below 3000)
    assert out.loc[0, ["action", "new_limit"]].tolist() == [INCREASE, 3000.0]
    assert out.loc[0, "review_reason_1"].startswith("Low estimated risk")
    assert out.loc[0, "review_reason_2"].startswith("Increase limited to the maximum step")
    # the same account one payment late: kept, and told why
    assert out.loc[1, ["action", "new_limit"]].tolist() == [KEEP, 2000.0]
    assert out.loc[1, "review_reason_1"] == "No increase while a payment is overdue"
    # risk up: down by at most half (4000 -> 2000), not to the 1000 target
    assert out.loc[2, ["action", "new_limit"]].tolist() == [DECREASE, 2000.0]
    # target far below but balance 3600: cut only to 4000? no cut possible below the balance
    assert out.loc[3, ["action", "new_limit"]].tolist() == [KEEP, 4000.0]
    # PD 0.5 >= freeze_pd: limit down to the balance rounded up to the ladder
    assert out.loc[4, ["action", "new_limit"]].tolist() == [FREEZE, 3000.0]
    assert out.loc[4, "review_reason_1"] == "Estimated risk of default is very high"
