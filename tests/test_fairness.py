"""Fairness measures on small cases computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from limitlab.errors import InputError
from limitlab.evaluation.fairness import (
    TOO_SMALL,
    attribute_groups,
    group_table,
    proxy_check,
    standardised_mean_difference,
)


def test_numeric_attributes_fall_in_bands_including_their_lower_edge() -> None:
    ages = pd.Series([18, 25, 34.9, 35, 64, 65, 80, None])
    groups = attribute_groups(ages, [25, 35, 65])
    assert groups.tolist() == ["<25", "25-35", "25-35", "35-65", "35-65", "65+", "65+",
                               "<missing>"]  # fmt: skip
    assert attribute_groups(pd.Series([" single", None])).tolist() == ["single", "<missing>"]


def test_smd_by_hand() -> None:
    group, reference = np.array([1.0, 3.0]), np.array([2.0, 4.0, 6.0])
    pooled = math.sqrt((2.0 + 4.0) / 2)  # sample variances 2 and 4
    assert standardised_mean_difference(group, reference) == pytest.approx((2 - 4) / pooled)
    assert standardised_mean_difference(np.array([1.0, 1.0]), np.array([1.0, 1.0])) == 0.0
    assert math.isnan(standardised_mean_difference(np.array([1.0]), reference))


def cases() -> tuple[pd.Series, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Group a: 40 applicants, 30 approved (75 %); b: 40, 20 approved (50 %); c: 3, all."""
    groups = pd.Series(["a"] * 40 + ["b"] * 40 + ["c"] * 3)
    approved = np.r_[np.ones(30), np.zeros(10), np.ones(20), np.zeros(20), np.ones(3)]
    limit = approved * np.r_[np.full(40, 1000.0), np.full(40, 500.0), np.full(3, 800.0)]
    pd_ = np.r_[np.linspace(0.02, 0.2, 40), np.linspace(0.05, 0.4, 40), [0.1, 0.1, 0.1]]
    y = np.r_[np.tile([0, 0, 0, 1], 10), np.tile([0, 1], 20), [0, 0, 1]]
    return groups, approved, limit, pd_, y


def test_adverse_impact_ratio_against_the_most_favoured_group_with_small_groups_unjudged() -> None:
    table, reference = group_table(*cases(), reference=None, min_group_size=30,
                                   air_threshold=0.8, smd_threshold=0.25)  # fmt: skip
    rows = table.set_index("group")
    assert reference == "a"  # c approves all, but 3 applicants are too few to be the reference
    assert rows.loc["b", "approval_rate"] == 0.5 and rows.loc["a", "approval_rate"] == 0.75
    assert rows.loc["b", "air"] == pytest.approx(0.5 / 0.75)
    assert bool(rows.loc["b", "air_flag"]) and not bool(rows.loc["a", "air_flag"])
    assert rows.loc["c", "status"] == TOO_SMALL and not bool(rows.loc["c", "air_flag"])
    assert rows.loc["a", "status"] == "reference" and rows.loc["b", "count"] == 40
    limit_a, limit_b = cases()[2][:40], cases()[2][40:80]
    assert rows.loc["b", "smd_limit"] == pytest.approx(
        standardised_mean_difference(limit_b, limit_a)
    )
    assert bool(rows.loc["b", "smd_flag"])
    assert rows.loc["a", "realised_rate"] == 0.25 and rows.loc["b", "realised_rate"] == 0.5


def test_a_named_reference_group_is_used_and_an_unknown_one_refused() -> None:
    table, reference = group_table(*cases(), reference="b", min_group_size=30,
                                   air_threshold=0.8, smd_threshold=0.25)  # fmt: skip
    assert reference == "b"
    assert table.set_index("group").loc["a", "air"] == pytest.approx(1.5)
    with pytest.raises(InputError, match=r"reference group 'z' is not among the groups found "
                                         r"\['a', 'b', 'c'\]"):  # fmt: skip
        group_table(*cases(), reference="z", min_group_size=30, air_threshold=0.8,
                    smd_threshold=0.25)  # fmt: skip


def test_a_group_of_one_is_too_small_never_a_crash() -> None:
    groups = pd.Series(["a"] * 50 + ["b"])
    table, _ = group_table(groups, np.ones(51), np.full(51, 100.0), np.full(51, 0.1),
                           np.r_[np.tile([0, 1], 25), [1]], None, 30, 0.8, 0.25)  # fmt: skip
    row = table.set_index("group").loc["b"]
    assert row["status"] == TOO_SMALL and math.isnan(row["smd_pd"]) and math.isnan(row["auc"])


def test_proxy_check_finds_a_feature_that_carries_membership() -> None:
    rng = np.random.default_rng(0)
    member = np.r_[np.ones(100), np.zeros(100)].astype(int)
    matrix = pd.DataFrame(
        {"noise": rng.normal(size=200), "carrier": member + rng.normal(0, 0.3, 200)}
    )
    found = proxy_check(matrix, member)
    assert found["auc"] > 0.95 and found["features"][0]["column"] == "carrier"
    blind = proxy_check(matrix[["noise"]], member)
    assert 0.3 < blind["auc"] < 0.7
    assert proxy_check(matrix, np.ones(200))["auc"] is None
