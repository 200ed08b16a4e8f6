"""Knock-out rules: a rule that fires declines with its reason, whatever the PD."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from limitlab.config import KnockoutRule, ParamsError, parse_params
from limitlab.data.specs import DatasetSpec
from limitlab.limits import Policy, decide, principal_reasons
from limitlab.limits.knockouts import POLICY_DECLINE, knockout_counts, rule_fires

from .test_policy import limits_params, load_params_raw

SPEC = DatasetSpec(name="t", path="t.csv", target="s", bad_value="bad", income="income",
                   debt="debt", numeric=("income", "debt", "age"),
                   categorical=("flag",))  # fmt: skip
COLUMNS = ["income", "debt", "age", "flag"]
RULES = [
    KnockoutRule(name="minimum_age", column="age", op="<", value=21, reason="Too young"),
    KnockoutRule(name="flagged", column="flag", op="in", value=["yes", "1"], reason="Flagged"),
    KnockoutRule(name="dti", column="@debt_to_income", op=">", value=5, reason="Debt too high"),
]


def policy_with(rules: list[KnockoutRule], columns: list[str] = COLUMNS) -> Policy:
    return Policy.build(limits_params(segments=[], knockouts=rules), SPEC, columns)


def rows(age, flag, debt=0.0, income=1e5) -> pd.DataFrame:
    age = np.atleast_1d(np.asarray(age, dtype=float))
    n = len(age)
    return pd.DataFrame({"income": np.broadcast_to(income, n).astype(float),
                         "debt": np.broadcast_to(debt, n).astype(float), "age": age,
                         "flag": pd.Series(np.broadcast_to(flag, n), dtype="string")})  # fmt: skip


def test_each_rule_fires_on_its_own_condition_and_names_itself() -> None:
    policy = policy_with(RULES)
    frame = pd.concat([rows(18, "no"), rows(30, "yes"), rows(30, "no", debt=6e5),
                       rows(19, "1", debt=6e5), rows(30, "no")], ignore_index=True)  # fmt: skip
    out = decide(np.full(5, 0.01), frame, policy)
    assert out["knockouts"].tolist() == ["minimum_age", "flagged", "dti",
                                         "minimum_age,flagged,dti", ""]  # fmt: skip
    assert out["decision"].tolist() == [POLICY_DECLINE] * 4 + ["approve"]
    assert (out["limit"].iloc[:4] == 0).all() and out["limit"].iloc[4] > 0
    assert (out["expected_loss"].iloc[:4] == 0).all()
    reasons = principal_reasons(out, None, policy)
    assert reasons.iloc[3].tolist() == ["Too young", "Flagged", "Debt too high", ""]
    assert knockout_counts(out, policy) == {"minimum_age": 2, "flagged": 2, "dti": 2}


def test_a_missing_value_never_fires_a_rule() -> None:
    frame = rows([np.nan], pd.NA)
    assert not rule_fires(frame["age"], RULES[0]).any()
    assert not rule_fires(frame["flag"], RULES[1]).any()
    not_in = KnockoutRule(name="n", column="flag", op="not in", value=["ok"], reason="r")
    assert not rule_fires(frame["flag"], not_in).any()


def test_a_rule_on_a_column_the_data_lacks_is_reported_not_applied() -> None:
    policy = policy_with(RULES, ["income", "debt", "flag"])
    assert policy.skipped_knockouts == ("minimum_age",)
    assert [r.name for r in policy.params.knockouts] == ["flagged", "dti"]
    assert "age" not in policy.required_columns
    out = decide(np.array([0.01]), rows(10, "no").drop(columns="age"), policy)
    assert out["decision"].tolist() == ["approve"]


@settings(max_examples=60, deadline=None)
@given(
    pds=st.lists(st.floats(0.0, 1.0), min_size=1, max_size=30),
    ages=st.lists(st.one_of(st.floats(0.0, 99.0), st.just(np.nan)), min_size=30, max_size=30),
    flags=st.lists(st.sampled_from(["yes", "no", "1", "0"]), min_size=30, max_size=30),
    debts=st.lists(st.floats(0.0, 1e6), min_size=30, max_size=30),
    incomes=st.lists(st.one_of(st.floats(1.0, 1e5), st.just(np.nan)), min_size=30, max_size=30),
)
def test_property_a_firing_rule_always_declines_with_its_reason(
    pds, ages, flags, debts, incomes
) -> None:
    n = len(pds)
    frame = pd.DataFrame({"income": incomes[:n], "debt": debts[:n], "age": ages[:n],
                          "flag": pd.Series(flags[:n], dtype="string")})  # fmt: skip
    policy = policy_with(RULES)
    out = decide(np.asarray(pds), frame, policy)
    reasons = principal_reasons(out, None, policy)
    for rule in RULES:
        fires = rule_fires(policy.rule_values(frame, rule), rule)
        assert (out.loc[fires, "decision"] == POLICY_DECLINE).all()
        assert (out.loc[fires, "limit"] == 0).all()
        assert (reasons.loc[fires] == rule.reason).any(axis=1).all()
    none_fired = out["knockouts"] == ""
    assert (out.loc[none_fired, "decision"] != POLICY_DECLINE).all()
    assert (out.loc[~none_fired, "binding_cap"] == "knockout").all()


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"op": "~", "value": 1}, "op"),
        ({"op": "<", "value": "18"}, "takes a number; got '18'"),
        ({"op": "<", "value": True}, "takes a number; got True"),
        ({"op": "in", "value": 3}, "takes a non-empty list"),
        ({"op": "in", "value": []}, "takes a non-empty list"),
        ({"op": "==", "value": [1, 2]}, "use 'in' for a set of values"),
        ({"op": "<", "value": 1, "reason": ""}, "reason"),
        ({"op": "<", "value": 1, "name": "has space"}, "name"),
    ],
)
def test_bad_rules_are_params_errors_naming_the_key(rule: dict, message: str) -> None:
    raw = load_params_raw()
    raw["limits"]["knockouts"] = [{"name": "r", "column": "Age", "reason": "x", **rule}]
    with pytest.raises(ParamsError, match=r"limits\.knockouts") as error:
        parse_params(raw)
    assert message in str(error.value)


def test_two_rules_of_one_name_are_refused() -> None:
    raw = load_params_raw()
    rule = {"name": "r", "column": "Age", "op": "<", "value": 18, "reason": "x"}
    raw["limits"]["knockouts"] = [rule, rule]
    with pytest.raises(ParamsError, match="expected unique names"):
        parse_params(raw)


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        (KnockoutRule(name="a", column="age", op="==", value="old", reason="r"),
         "column 'age' is numeric, value 'old' is not; expected numbers"),
        (KnockoutRule(name="f", column="flag", op=">", value=1, reason="r"),
         "column 'flag' is categorical, value 1.0 is not; expected texts"),
    ],
)  # fmt: skip
def test_a_value_of_the_wrong_kind_for_its_column_is_a_params_error(rule, message) -> None:
    with pytest.raises(ParamsError) as error:
        policy_with([rule])
    assert f"limits.knockouts.{rule.name}: {message}" in str(error.value)


def test_a_rule_on_the_outcome_is_a_params_error() -> None:
    rule = KnockoutRule(name="leak", column="s", op="==", value="bad", reason="r")
    with pytest.raises(ParamsError, match="is the outcome the model predicts"):
        Policy.build(limits_params(segments=[], knockouts=[rule]), SPEC, [*COLUMNS, "s"])
