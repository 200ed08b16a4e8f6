"""The domain logic behind the stages, on cases small enough to check by hand: the review
backtest, what-if policies, the band report, the optimiser's glue, income tiers, migration,
the stress view, row refusals and the split's class check."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from limitlab.config import EconomicsParams, ProductParams, ReviewParams
from limitlab.data.columns import BAD
from limitlab.data.refusals import RowRefusals
from limitlab.data.specs import DataError
from limitlab.data.split import check_both_classes
from limitlab.errors import InputError
from limitlab.evaluation.migration import migrations
from limitlab.evaluation.stress import stress_changes, stress_test
from limitlab.evaluation.tiers import income_tier_edges, tier_metrics
from limitlab.limits import Policy, decide
from limitlab.limits.backtest import REVIEW, STATIC, BacktestInputs, backtest
from limitlab.limits.optimise import candidate_outcomes, optimise_caps, optimise_policy
from limitlab.limits.report import band_table, portfolio_totals
from limitlab.workbench.whatif import scale_grade_caps, with_product, with_risk_appetite

from .test_policy import applicants, make_policy

PRODUCT = ProductParams(ladder=[500, 800, 1000], min_limit=500, max_limit=1000, term_months=12,
                        annual_rate=0.2, margin=0.2, lgd=1.0, ccf=0.5, utilisation=0.5)  # fmt: skip
ECONOMICS = EconomicsParams(funding_rate=0.04)
ROLES = {"id": "account_id", "current_limit": "limit", "balance": "balance",
         "utilisation": "utilisation", "dpd": "dpd", "months_on_book": "mob"}  # fmt: skip


def _backtest() -> dict:
    """Two accounts, limit 1,000, one review at month 1 over months 2-4: a draws 100 a month
    and survives at PD 1 %; b draws 800 and defaults in month 3 at PD 50 % (frozen at review)."""
    panel = pd.DataFrame({
        "account_id": ["a"] * 4 + ["b"] * 3,
        "month": [1, 2, 3, 4, 1, 2, 3],
        "limit": 1000.0,
        "balance": [100.0] * 4 + [800.0] * 3,
        "defaulted": [0, 0, 0, 0, 0, 0, 1],
    })  # fmt: skip
    snapshots = pd.DataFrame({"account_id": ["a", "b"], "snapshot_month": 1, "limit": 1000.0,
                              "balance": [100.0, 800.0], "utilisation": [0.1, 0.8],
                              "dpd": 0.0, "mob": 24.0, "pd": [0.01, 0.5]})  # fmt: skip

    def decide_at(frame: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({"pd": frame["pd"].to_numpy(), "limit": 1000.0})

    inputs = BacktestInputs(panel, snapshots, first_review=1, last_month=4)
    return backtest(inputs, decide_at, PRODUCT, ReviewParams(), ROLES, ECONOMICS)


def test_backtest_by_hand() -> None:
    result = _backtest()
    static, review = result["totals"][STATIC], result["totals"][REVIEW]
    years = 3 / 12
    # EAD = first month's balance + CCF x undrawn; EL = PD x LGD x EAD over the period
    el_a = 0.01 * (100 + 0.5 * 900) * years
    assert static["expected_loss"] == pytest.approx(el_a + 0.5 * (800 + 0.5 * 200) * years)
    assert review["expected_loss"] == pytest.approx(el_a + 0.5 * 800 * years)  # b frozen at 800
    assert static["mean_exposure"] == 2000 and review["mean_exposure"] == 1800
    assert static["realised_loss"] == review["realised_loss"] == 800  # b's balance at default
    balances = 100 + (800 + 800 + 0) / 3
    assert review["expected_profit"] == pytest.approx(
        (0.2 - 0.04) * balances * years - review["expected_loss"]
    )
    assert review["defaulters"] == review["defaulters_cut_before_default"] == 1
    assert result["review_dates"] == [1]


def test_what_if_keeps_the_review_rules_and_roles() -> None:
    rules = ReviewParams(max_step_up=0.25)
    policy = Policy(make_policy().params, income="income", review=rules, account=dict(ROLES))
    for changed in (scale_grade_caps(policy, 0.5), with_risk_appetite(policy, 0.1),
                    with_product(policy, "instalment")):  # fmt: skip
        assert changed.review == rules and changed.account == ROLES
        assert changed.income == "income"
    halved = scale_grade_caps(policy, 0.5).params.grades[0].max_share
    assert halved == pytest.approx(policy.params.grades[0].max_share * 0.5)
    with pytest.raises(InputError, match="product 'gold' is not in the policy"):
        with_product(policy, "gold")


def test_band_table_counts_every_applicant_once_with_its_bad_rate() -> None:
    policy = make_policy(segments=[])
    pds = np.array([0.01, 0.015, 0.05, 0.9])
    decisions = decide(pds, applicants([5e3] * 4), policy)
    table = band_table(decisions, policy, np.array([0, 1, 0, 1])).set_index("grade")
    assert table["count"].sum() == 4
    assert table.loc["A", "count"] == 2 and table.loc["A", "bad_rate"] == 0.5
    assert table.loc["decline", "approved"] == 0 and table.loc["decline", "total_limit"] == 0
    assert table["total_limit"].sum() == decisions["limit"].sum()


def test_optimise_policy_sets_configured_caps_beside_the_optimum() -> None:
    policy = make_policy(segments=[])
    rng = np.random.default_rng(0)
    pds = rng.uniform(0.005, 0.6, 300)
    frame = applicants(rng.uniform(2e3, 2e4, 300))
    result = optimise_policy(pds, frame, policy)
    caps = optimise_caps(candidate_outcomes(pds, frame, policy), policy)
    assert result["optimised"]["caps"] == caps
    configured = decide(pds, frame, policy, grade_caps=result["configured"]["caps"])
    assert result["configured"]["totals"] == portfolio_totals(configured)
    best = result["optimised"]["totals"]["expected_profit"]
    assert best >= result["configured"]["totals"]["expected_profit"] - 1e-6
    bands = list(caps.values())
    assert bands == sorted(bands, reverse=True)  # never a higher cap for a riskier grade


def test_a_zero_loss_budget_declines_every_grade() -> None:
    policy = make_policy(segments=[])
    appetite = policy.params.optimise.model_copy(update={"el_budget_share": 0.0})
    strict = replace(policy, params=policy.params.model_copy(update={"optimise": appetite}))
    pds, frame = np.array([0.01, 0.05, 0.3]), applicants([5e3] * 3)
    caps = optimise_caps(candidate_outcomes(pds, frame, strict), strict)
    assert set(caps.values()) == {0.0}


def test_tier_metrics_by_hand() -> None:
    edges = income_tier_edges(pd.Series([1.0, 2.0, 3.0, 4.0, np.nan]), tiers=2)
    assert edges.tolist() == [2.5]
    income = np.array([1.0, 2.0, 3.0, 4.0, np.nan, np.nan])
    y = np.array([0, 1, 0, 0, 1, 1])
    pd_ = np.array([0.1, 0.9, 0.2, 0.3, 0.5, 0.5])
    tiers = tier_metrics(income, y, pd_, edges, bins=2)
    assert tiers["tier_1_of_2"]["n"] == 2 and tiers["tier_1_of_2"]["auc"] == 1.0
    assert tiers["tier_2_of_2"] == {"n": 2, "bad_rate": 0.0}  # one class: no AUC
    assert tiers["missing"] == {"n": 2, "bad_rate": 1.0}


def test_migration_by_hand() -> None:
    snapshots = pd.DataFrame({"id": ["a", "b", "c", "a", "b", "d"],
                              "snapshot_month": [1, 1, 1, 2, 2, 2],
                              "grade": ["A", "B", "A", "B", "B", "A"],
                              "limit": [1000.0, 500.0, 1000.0, 500.0, 500.0, 1000.0]})  # fmt: skip
    summary, grades, bands = migrations(
        snapshots, (1, 2), lambda f: f[["grade", "limit"]], "id", ["A", "B", "decline"], [500, 1000]
    )
    assert summary["accounts_at_both"] == 2  # c left, d is new
    assert summary["share_to_worse_grade"] == 0.5 and summary["share_to_better_grade"] == 0
    assert grades.loc["A", "B"] == 1 and grades.loc["B", "B"] == 1
    assert bands.loc[1000.0, 500.0] == 1 and bands.loc[500.0, 500.0] == 1


def test_stress_by_hand() -> None:
    policy = make_policy(segments=[])
    frame = applicants([1e6, 1e6])
    pds = np.array([0.01, 0.05])
    stress = stress_test(pds, frame, policy, pd_factor=2.0, income_drop=0.0)
    base = stress["baseline"]
    # today's limits under doubled PDs: EL doubles exactly
    assert stress["stressed_on_current_limits"]["expected_loss"] == pytest.approx(
        2 * base["expected_loss"]
    )
    changes = stress_changes(stress)
    assert changes["stress_expected_loss_change"] == pytest.approx(1.0)
    assert stress["stressed"]["total_limit"] <= base["total_limit"]  # riskier grades, lower caps
    assert changes["stress_total_limit_change"] < 0


def test_row_refusals_join_reasons_and_count_problems() -> None:
    frame = pd.DataFrame({"x": [1, -1, 5], "y": ["ok", "bad", "bad"]})
    refusals = RowRefusals(frame.index)
    refusals.refuse(frame["x"] < 0, "x:negative", "x: " + frame["x"].astype(str) + " < 0")
    refusals.refuse(frame["y"] == "bad", "y:bad", "y: bad")
    refusals.refuse(frame["x"] > 100, "x:large", lambda: pytest.fail("built for no row"))
    kept, refused = refusals.split(frame, "reason")
    assert kept.index.tolist() == [0]
    assert refused["reason"].tolist() == ["x: -1 < 0; y: bad", "y: bad"]
    assert refusals.counts == {"x:negative": 1, "y:bad": 2}
    assert len(kept) + len(refused) == len(frame)


def test_a_split_of_one_class_is_refused_by_name() -> None:
    from limitlab.config import SplitParams

    counts = {"train": [2, 1], "valid": [2, 0], "test": [2, 1]}
    with pytest.raises(DataError, match=r"split 'valid' has 2 rows \(0 bad\) of 6 \(2 bad\)"):
        check_both_classes(counts, SplitParams())


def test_a_split_too_small_for_the_data_is_one_clear_refusal(tmp_path) -> None:
    from limitlab.config import SplitParams
    from limitlab.data.specs import DatasetSpec
    from limitlab.data.split import NAMES, split_file

    pd.DataFrame({BAD: [0, 0, 0, 1], "_row": range(1, 5)}).to_parquet(tmp_path / "a.parquet")
    spec = DatasetSpec(name="t", path="t.csv", target="s", bad_value=1)
    targets = {name: tmp_path / f"{name}.parquet" for name in NAMES}
    with pytest.raises(DataError, match=r"of 4 \(1 bad\): not both good and bad rows with "
                       r"split.valid_size 0.2 and split.test_size 0.2"):  # fmt: skip
        split_file(tmp_path / "a.parquet", targets, spec, SplitParams())
