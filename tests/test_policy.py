import numpy as np
import pytest

from limitlab.config import load_params
from limitlab.limits.policy import Policy, assign_limits, band_table, round_down_to_ladder

from .conftest import REPO


@pytest.fixture
def policy() -> Policy:
    return Policy.from_params(load_params(REPO / "params.yaml").limits)


def test_grades_follow_the_master_scale_boundaries(policy: Policy) -> None:
    out = assign_limits(np.array([0.0, 0.02, 0.0201, 0.6, 0.61]), policy)
    assert out["grade"].tolist() == ["A", "A", "B", "J", "decline"]
    assert out["limit"].tolist() == [10000, 10000, 7500, 500, 0]
    assert out["decision"].tolist() == ["approve"] * 4 + ["decline"]
    assert out["binding_cap"].tolist()[-1] == "pd_above_scale"


def test_ladder_rounds_down_and_below_first_band_is_zero() -> None:
    got = round_down_to_ladder(np.array([100.0, 250.0, 999.0, 20000.0]), (250, 500, 1000))
    assert got.tolist() == [0.0, 250.0, 500.0, 1000.0]


def test_affordability_caps_the_grade_limit(policy: Policy) -> None:
    # capacity 0.35 x 100 - 0.03 x 500 = 20 a month; 20 / instalment per unit ~ 553
    out = assign_limits(
        np.array([0.01, 0.01]), policy, np.array([100.0, 10000.0]), np.array([500.0, 0.0])
    )
    afford = 20 / policy.payment_per_unit
    assert out["affordable_cap"].iloc[0] == pytest.approx(afford)
    assert out["limit"].tolist() == [500.0, 10000.0]
    assert out["binding_cap"].tolist() == ["affordability", "grade"]
    payment = out["limit"].iloc[0] * policy.payment_per_unit
    assert payment <= 0.35 * 100 - 0.03 * 500  # the full line fits the capacity


def test_missing_income_fallbacks(policy: Policy) -> None:
    out = assign_limits(np.array([0.01]), policy, np.array([np.nan]))
    assert out["limit"].iloc[0] == 5000.0 and out["binding_cap"].iloc[0] == "income_missing"
    strict = Policy(**{**policy.__dict__, "missing_income": "decline"})
    out = assign_limits(np.array([0.01]), strict, np.array([np.nan]))
    assert out["decision"].iloc[0] == "decline" and out["limit"].iloc[0] == 0.0


def test_band_table_counts_and_bad_rates(policy: Policy) -> None:
    pds = np.array([0.01, 0.015, 0.03, 0.9])
    table = band_table(assign_limits(pds, policy), policy, np.array([0, 1, 0, 1])).set_index(
        "grade"
    )
    assert table.loc["A", "count"] == 2 and table.loc["A", "bad_rate"] == 0.5
    assert table.loc["A", "total_limit"] == 20000.0
    assert table.loc["decline", "approved"] == 0
    assert table["count"].sum() == 4
