"""Limit policy engine: each cap, products, segments, economics, reasons and the optimiser."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from limitlab.config import LimitsParams, ParamsError, load_params, parse_params
from limitlab.data.specs import DataError, DatasetSpec
from limitlab.limits import Policy, decide, principal_reasons
from limitlab.limits.caps import payment_per_unit, round_down_to_ladder
from limitlab.limits.optimise import candidate_outcomes, optimise_caps
from limitlab.limits.reasons import feature_reason

from .conftest import REPO

SPEC = DatasetSpec(name="t", path="t.csv", target="s", bad_value="bad", income="income",
                   debt="debt")  # fmt: skip
COLUMNS = ["income", "debt", "Records", "Expenses"]


def limits_params(**update) -> LimitsParams:
    return load_params(REPO / "params.yaml").limits.model_copy(update=update)


def make_policy(**update) -> Policy:
    return Policy.build(limits_params(**update), SPEC, COLUMNS)


def applicants(income, debt=0.0, records="no", expenses=60.0) -> pd.DataFrame:
    income = np.atleast_1d(np.asarray(income, dtype=float))
    n = len(income)
    return pd.DataFrame({"income": income, "debt": np.broadcast_to(debt, n).astype(float),
                         "Records": [records] * n, "Expenses": [expenses] * n})  # fmt: skip


def test_grades_follow_the_master_scale_and_decline_above_it() -> None:
    policy = make_policy(segments=[])
    out = decide(np.array([0.0, 0.02, 0.0201, 0.6, 0.61]), applicants([1e6] * 5), policy)
    assert out["grade"].tolist() == ["A", "A", "B", "J", "decline"]
    assert out["limit"].tolist() == [10000, 10000, 7500, 500, 0]
    assert out["decision"].tolist() == ["approve"] * 4 + ["decline"]
    assert out["binding_cap"].tolist() == ["grade"] * 4 + ["pd_above_cutoff"]


def test_ladder_rounds_down_and_below_first_band_is_zero() -> None:
    got = round_down_to_ladder(np.array([100.0, 250.0, 999.0, 20000.0, np.nan]), [250, 500, 1000])
    assert got.tolist() == [0.0, 250.0, 500.0, 1000.0, 0.0]


def test_affordability_caps_and_the_full_line_fits_capacity() -> None:
    policy = make_policy(segments=[])
    product = policy.product("revolving")
    out = decide(np.array([0.01, 0.01]), applicants([100.0, 1e6], debt=[500.0, 0.0]), policy)
    capacity = 0.35 * 100 - 0.03 * 500
    assert out["affordable_cap"].iloc[0] == pytest.approx(capacity / payment_per_unit(product))
    assert out["binding_cap"].tolist() == ["affordability", "grade"]
    assert out["limit"].iloc[0] * payment_per_unit(product) <= capacity


def test_missing_income_reduces_the_grade_cap_or_declines_with_a_reason() -> None:
    reduced = decide(np.array([0.01]), applicants([np.nan]), make_policy(segments=[]))
    assert reduced["limit"].iloc[0] == 5000 and reduced["binding_cap"].iloc[0] == "income_missing"
    rules = limits_params().affordability.model_copy(update={"missing_income": "decline"})
    strict = make_policy(segments=[], affordability=rules)
    out = decide(np.array([0.01]), applicants([np.nan]), strict)
    assert out["decision"].iloc[0] == "decline" and out["limit"].iloc[0] == 0
    reasons = principal_reasons(out, None, strict)
    assert reasons["reason_1"].iloc[0].startswith("Income was not provided")


def test_regulatory_profile_caps_by_income_share_and_absolute_amount() -> None:
    policy = make_policy(segments=[], regulation="cn_online_lending_2020")
    out = decide(np.array([0.01, 0.01]), applicants([150.0, 1e9]), policy)
    assert out["regulatory_cap"].iloc[0] == pytest.approx(150 * 12 * 0.3333)
    assert out["binding_cap"].iloc[0] == "regulatory" and out["limit"].iloc[0] == 500
    assert out["binding_cap"].iloc[1] == "grade"  # 200,000 absolute cap above the product max


def test_products_have_their_own_ladder_minimum_and_usage_rules() -> None:
    policy = make_policy(segments=[], product="bnpl")
    out = decide(np.array([0.01, 0.55]), applicants([1e6, 1e6]), policy)
    assert out["limit"].tolist() == [1500, 0]  # grade J: 5 % of 1,500 is below the 100 minimum
    assert out["below_minimum"].tolist() == [False, True]
    assert out["daily_cap"].iloc[0] == 750 and out["monthly_cap"].iloc[0] == 1500
    assert out["blocked_merchant_categories"].iloc[0] == "gambling,quasi_cash"
    reasons = principal_reasons(out, None, policy)
    assert reasons["reason_1"].iloc[1].startswith("The affordable or allowed limit is below")
    drivers = pd.DataFrame({"Income": [0.5, -0.2], "Debt": [0.1, 0.9], "Age": [0.3, 0.4]})
    with_drivers = principal_reasons(out, drivers, policy)
    binding = principal_reasons(out.assign(below_minimum=False), drivers, policy)
    # below the minimum: that first, then the binding cap, then the two largest drivers
    assert with_drivers.iloc[1].tolist() == [
        reasons["reason_1"].iloc[1],
        binding["reason_1"].iloc[1],
        *binding.iloc[1, 1:3],
    ]
    assert with_drivers.iloc[0].tolist() == binding.iloc[0].tolist()  # not below: unchanged
    assert binding["reason_2"].iloc[1] == feature_reason("Debt", policy)


def test_product_named_by_a_column_and_unknown_product_refused() -> None:
    policy = make_policy(segments=[], product_column="product")
    frame = applicants([1e6, 1e6]).assign(product=["bnpl", "instalment"])
    out = decide(np.array([0.01, 0.01]), frame, policy)
    assert out["limit"].tolist() == [1500, 20000]
    with pytest.raises(DataError, match=r"'product' has product value\(s\) \['car'\]"):
        decide(np.array([0.01]), applicants([1e6]).assign(product=["car"]), policy)


def test_segments_label_adjust_and_skip_absent_columns() -> None:
    policy = make_policy()
    out = decide(np.array([0.01, 0.01]), applicants([1e6, 1e6], records="yes"), policy)
    assert out["segment_credit_history"].tolist() == ["arrears", "arrears"]
    assert out["segment_income_tier"].iloc[0] == "high"
    assert out["grade_cap"].iloc[0] == pytest.approx(10000 * 1.1 * 0.7)
    german = Policy.build(limits_params(), DatasetSpec("g", "g.csv", "s", "bad"), ["x"])
    assert set(german.skipped_segments) == {"income_tier", "credit_history", "spending"}


def test_expected_loss_and_profit_by_hand() -> None:
    policy = make_policy(segments=[])
    out = decide(np.array([0.05]), applicants([1e6]), policy)  # grade C: 5,000
    drawn, ead = 0.5 * 5000, 0.5 * 5000 + 0.5 * 2500
    assert out["ead"].iloc[0] == pytest.approx(ead)
    assert out["expected_loss"].iloc[0] == pytest.approx(0.05 * 0.75 * ead)
    profit = (0.20 - 0.04) * drawn - 0.05 * 0.75 * ead
    assert out["expected_profit"].iloc[0] == pytest.approx(profit)


def two_grade_policy(**optimise: float) -> Policy:
    """Grades A (PD to 0.02) and B (to 0.10) on a product with bands 100 and 200, margin 0.1,
    LGD, CCF and utilisation 1, no funding cost, and the risk appetite ``optimise``."""
    raw = {
        "product": "p",
        "grades": [{"name": "A", "max_pd": 0.02, "max_share": 1.0},
                   {"name": "B", "max_pd": 0.10, "max_share": 1.0}],
        "products": {"p": {"ladder": [100, 200], "min_limit": 100, "max_limit": 200,
                           "term_months": 12, "annual_rate": 0.1, "margin": 0.1, "lgd": 1.0,
                           "ccf": 1.0, "utilisation": 1.0}},
        "economics": {"funding_rate": 0.0},
        "affordability": {"missing_income_cap_share": 1.0},  # no income column: no reduction
        "optimise": optimise,
    }  # fmt: skip
    return Policy.build(parse_params({**load_params_raw(), "limits": raw}).limits, None, [])


def test_optimiser_finds_the_hand_computed_optimum() -> None:
    policy = two_grade_policy(el_budget_share=0.025)
    pds, frame = np.array([0.01, 0.05]), pd.DataFrame(index=range(2))
    # profit = 0.1 L - PD L; EL / EAD of {A: 200, B: 100} = 7 / 300 <= 0.025, {200, 200} = 0.03
    assert optimise_caps(candidate_outcomes(pds, frame, policy), policy) == {"A": 200, "B": 100}
    loose = policy.params.model_copy(update={"optimise": policy.params.optimise.model_copy(
        update={"el_budget_share": None, "max_el_rate": 0.03})})  # fmt: skip
    loose_policy = Policy(params=loose)
    assert optimise_caps(candidate_outcomes(pds, frame, loose_policy), loose_policy) == {
        "A": 200,
        "B": 0,
    }


def load_params_raw() -> dict:
    import yaml

    return yaml.safe_load((REPO / "params.yaml").read_text())


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("grades", 1, "max_pd"), 0.01, "strictly increasing"),
        (("products", "revolving", "ladder"), [500, 250], "strictly increasing amounts"),
        (("affordability", "max_debt_service_ratio"), 1.5, "max_debt_service_ratio"),
        (("products", "revolving", "lgd"), -0.1, "lgd"),
        (("products", "bnpl", "ccf"), 1.2, "ccf"),
        (("product",), "mortgage", "product 'mortgage' is not in the catalogue"),
        (("regulation",), "mars", "regulation 'mars' is not a profile"),
    ],
)
def test_bad_policy_params_name_the_key_and_value(path: tuple, value: object, message: str) -> None:
    raw = load_params_raw()
    target = raw["limits"]
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(ParamsError) as err:
        parse_params(raw)
    assert message in str(err.value) and str(value) in str(err.value)


def test_reasons_rank_the_drivers_of_higher_pd() -> None:
    policy = make_policy(segments=[])
    out = decide(np.array([0.01, 0.9]), applicants([1e6, 1e6]), policy)
    contributions = pd.DataFrame({"Records": [0.1, 2.0], "Income": [0.5, -1.0], "Time": [0.2, 0.3]})
    reasons = principal_reasons(out, contributions, policy)
    assert reasons.iloc[0].tolist() == [
        "Limit set by the risk grade",
        "Income level",
        "Loan term requested",
        "Prior arrears on record",
    ]
    assert reasons.iloc[1].tolist()[:3] == [
        "Estimated risk of default is above the approval cut-off",
        "Prior arrears on record",
        "Loan term requested",
    ]
    assert reasons.iloc[1, 3] == ""  # a feature lowering the PD is never a reason


def test_reasons_only_where_owed_and_the_same_as_from_every_row() -> None:
    from limitlab.limits.notices import notice_kind

    policy = make_policy(segments=[])
    rng = np.random.default_rng(5)
    n = 300
    people = applicants(rng.uniform(20, 400, n), rng.uniform(0, 3000, n))
    out = decide(rng.uniform(0.001, 0.8, n), people, policy)
    contributions = pd.DataFrame(rng.normal(size=(n, 3)), columns=["Records", "Income", "Time"])
    needed = notice_kind(out) != ""
    assert 0 < needed.sum() < n  # declines, counter-offers and plain approvals all occur
    everywhere = principal_reasons(out, contributions, policy)
    owed = principal_reasons(out, contributions.loc[needed], policy, needed)
    assert owed.loc[~needed].isna().all().all()  # no adverse action: no reasons, not ''
    pd.testing.assert_frame_equal(owed.loc[needed], everywhere.loc[needed])


def test_a_model_of_one_feature_gives_one_driver() -> None:
    policy = make_policy(segments=[])
    out = decide(np.array([0.9]), applicants([1e6]), policy)
    reasons = principal_reasons(out, pd.DataFrame({"Records": [2.0]}), policy)
    assert reasons.iloc[0].tolist() == [
        "Estimated risk of default is above the approval cut-off",
        "Prior arrears on record",
        "",
        "",
    ]
