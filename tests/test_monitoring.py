"""Monitoring and panel checks on small cases whose answers are known by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from limitlab.data.panel_checks import check_panel, check_review_date
from limitlab.data.specs import DataError
from limitlab.evaluation.metrics import population_stability_index
from limitlab.evaluation.monitoring import migration_matrix, psi_table, realised_vs_expected


def test_psi_by_hand() -> None:
    reference = np.arange(1, 11, dtype=float)  # median 5.5: two bins of five
    recent = np.array([1.0] * 8 + [9.0] * 2)  # shares 0.8 / 0.2 against 0.5 / 0.5
    expected = 0.3 * math.log(0.8 / 0.5) + (-0.3) * math.log(0.2 / 0.5)
    assert population_stability_index(reference, recent, bins=2) == pytest.approx(expected)
    assert population_stability_index(reference, reference, bins=2) == 0.0
    table = psi_table(
        pd.DataFrame({"x": reference, "y": reference}),
        pd.DataFrame({"x": recent, "y": reference}),
        ["x", "y"],
        bins=2,
    )
    assert table["column"].tolist() == ["x", "y"]
    assert table["status"].tolist() == ["shift", "stable"]


def test_migration_counts_accounts_present_at_both_dates() -> None:
    before = pd.Series(["A", "A", "B", "C"], index=[1, 2, 3, 4])
    after = pd.Series(["A", "B", "B", "A"], index=[1, 2, 3, 5])
    matrix = migration_matrix(before, after, ["A", "B", "C"])
    assert matrix.to_numpy().tolist() == [[1, 1, 0], [0, 1, 0], [0, 0, 0]]


def test_realised_against_expected_with_a_binomial_test() -> None:
    grade = np.array(["A"] * 100 + ["B"] * 100)
    pd_ = np.full(200, 0.02)
    bad = np.zeros(200, dtype=int)
    bad[:2] = 1  # A: 2 of 100, as expected
    bad[100:110] = 1  # B: 10 of 100 against 2 expected
    table = realised_vs_expected(grade, pd_, bad, ["A", "B", "C"]).set_index("grade")
    assert list(table.index) == ["A", "B"]
    assert table.loc["A", "realised_rate"] == 0.02 and table.loc["A", "p_value"] > 0.5
    assert table.loc["B", "realised_rate"] == 0.10 and table.loc["B", "p_value"] < 0.001


def test_panel_problems_are_quarantined_with_the_account_and_month() -> None:
    panel = pd.DataFrame(
        {
            "account_id": [1, 1, 1, 2, 2, 2, 3, 3, 4],
            "month": [1, 2, 2, 1, 2, 3, 1, 3, 1],
            "limit": [1000.0] * 9,
            "balance": [100.0, 200, 200, 300, 1500, 300, 10, 10, 10],
            "payment": [10.0, 10, 10, 10, 10, -5, 1, 1, 1],
        }
    )
    kept, refused, counts = check_panel(panel)
    assert len(kept) + len(refused) == len(panel)
    assert counts == {"duplicate_account_month": 1, "balance_above_limit": 1,
                      "negative_payment": 1, "gap_in_months": 2}  # fmt: skip
    reasons = refused.set_index(["account_id", "month"])["reason"]
    assert reasons.loc[(1, 2)] == "duplicate account-month (account 1, month 2)"
    assert reasons.loc[(2, 2)] == "balance 1500.0 above limit 1000.0 (account 2, month 2)"
    assert reasons.loc[(2, 3)] == "payment -5.0 is negative (account 2, month 3)"
    assert reasons.loc[(3, 1)] == "gap in months: account 3 has no month between 1 and 3"
    assert sorted(kept["account_id"].unique()) == [1, 2, 4]


def test_a_review_date_outside_the_panel_is_an_error() -> None:
    panel = pd.DataFrame({"month": [1, 2, 3]})
    check_review_date(2, panel)
    with pytest.raises(
        DataError, match=r"review date month 7 is outside the panel \(months 1..3\)"
    ):
        check_review_date(7, panel)
