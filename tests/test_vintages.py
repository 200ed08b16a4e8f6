"""Vintage curves, roll rates and the downturn month on hand-made and random panels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from limitlab.evaluation.vintages import STATES, downturn_month, roll_rates, vintage_curves


def account(aid: int, mob_at_start: int, dpd: list[int], default_last: bool = False) -> list:
    rows = []
    for i, days in enumerate(dpd):
        last = i == len(dpd) - 1
        rows.append({"account_id": aid, "month": i + 1, "months_on_book": mob_at_start + i,
                     "dpd": days, "defaulted": int(default_last and last)})  # fmt: skip
    return rows


PANEL = pd.DataFrame([
    *account(1, 1, [0, 30, 60, 90], default_last=True),  # originated at panel month 0
    *account(2, 1, [0, 0, 0, 0]),
    *account(3, 10, [0, 0, 30, 0]),  # originated 9 months before the panel
])  # fmt: skip


def test_vintage_curves_by_hand() -> None:
    curves = vintage_curves(PANEL, cohort_months=6)
    assert sorted(curves["cohort"].unique()) == [-11, 1]
    young = curves[curves["cohort"] == 1].set_index("months_on_book")
    assert young["accounts"].tolist() == [2, 2, 2, 2]
    assert young["defaults"].tolist() == [0, 0, 0, 1]
    assert young["cumulative_default_rate"].tolist() == [0, 0, 0, 0.5]
    old = curves[curves["cohort"] == -11]
    assert old["months_on_book"].tolist() == [10, 11, 12, 13]  # seen from month on book 10 on
    assert (old["cumulative_default_rate"] == 0).all()


def test_roll_rates_by_hand() -> None:
    rates = roll_rates(PANEL)
    assert list(rates.columns) == list(STATES)
    # current -> current: account 2 three times, account 3 once (months 1 -> 2) and again
    # (4 is after 30: 30 -> current); current -> 30: accounts 1 and 3
    assert rates.loc["current", "current"] == pytest.approx(4 / 6)
    assert rates.loc["current", "30"] == pytest.approx(2 / 6)
    assert rates.loc["30", "60"] == pytest.approx(1 / 2) and rates.loc["30", "current"] == 0.5
    assert rates.loc["60", "default"] == 1.0  # account 1 defaults from 60 days past due
    np.testing.assert_allclose(rates.sum(axis=1), 1.0)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), accounts=st.integers(1, 40), months=st.integers(2, 14))
def test_roll_rate_rows_sum_to_one_and_curves_never_fall(seed: int, accounts: int,
                                                        months: int) -> None:  # fmt: skip
    rng = np.random.default_rng(seed)
    rows = []
    for aid in range(accounts):
        dpd, length = [], int(rng.integers(1, months + 1))
        for _ in range(length):
            dpd.append(min(dpd[-1] + 30, 120) if dpd and rng.random() < 0.3 else 0)
        rows += account(aid, int(rng.integers(0, 30)), dpd, default_last=rng.random() < 0.2)
    panel = pd.DataFrame(rows)
    rates = roll_rates(panel)
    if len(rates):
        np.testing.assert_allclose(rates.sum(axis=1), 1.0)
    curves = vintage_curves(panel)
    for _, curve in curves.groupby("cohort"):
        assert (np.diff(curve["cumulative_default_rate"]) >= -1e-12).all()
        assert curve["cumulative_default_rate"].between(0, 1).all()


def test_downturn_month_finds_the_step() -> None:
    rng = np.random.default_rng(0)
    month = np.repeat(np.arange(1, 25), 2000)
    rate = np.where(month >= 15, 0.03, 0.01)
    panel = pd.DataFrame({"month": month, "defaulted": (rng.random(len(month)) < rate)})
    assert downturn_month(panel.astype({"defaulted": int})) == 15
