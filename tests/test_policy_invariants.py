"""Property-based invariants of the limit policy (hypothesis; thousands of applicants each)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from limitlab.config import load_params
from limitlab.data.specs import DatasetSpec
from limitlab.limits import Policy, decide, principal_reasons
from limitlab.limits.decide import BINDING, DECISIONS, decide_coded
from limitlab.limits.notices import notice_kind

from .conftest import REPO

SPEC = DatasetSpec(name="t", path="t.csv", target="s", bad_value="bad", income="income",
                   debt="debt")  # fmt: skip
PARAMS = load_params(REPO / "params.yaml").limits
POLICIES = [
    Policy.build(PARAMS.model_copy(update=u), SPEC, ["income", "debt", "Records", "Expenses"])
    for u in (
        {},
        {"regulation": "cn_online_lending_2020", "product": "instalment"},
        {"product": "bnpl"},
    )
]
N = 25
EXAMPLES = 300  # x 25 applicants x 3 policies: over 20,000 decisions per property

pds = arrays(float, N, elements=st.floats(0.0, 1.0))
incomes = arrays(float, N, elements=st.one_of(st.just(np.nan), st.floats(0.0, 2000.0)))
debts = arrays(float, N, elements=st.floats(0.0, 50000.0))
records = st.lists(st.sampled_from(["yes", "no", None]), min_size=N, max_size=N)
expenses = arrays(float, N, elements=st.floats(0.0, 300.0))


def frame(income, debt, record, expense) -> pd.DataFrame:
    return pd.DataFrame({"income": income, "debt": debt, "Records": record, "Expenses": expense})


@settings(max_examples=EXAMPLES, deadline=None)
@given(pds, incomes, debts, records, expenses)
def test_limit_is_on_the_ladder_and_under_every_cap(pd_, income, debt, record, expense) -> None:
    for policy in POLICIES:
        out = decide(pd_, frame(income, debt, record, expense), policy)
        product = policy.product(policy.params.product)
        limit = out["limit"].to_numpy()
        assert np.isin(limit, [0.0, *product.ladder]).all()
        for cap in ("grade_cap", "affordable_cap", "regulatory_cap"):
            values = out[cap].to_numpy()
            assert (np.isnan(values) | (limit <= values + 1e-9)).all()
        assert (limit <= product.max_limit).all()
        assert ((limit == 0) | (limit >= product.min_limit)).all()


@settings(max_examples=EXAMPLES, deadline=None)
@given(pds, pds, incomes, debts, records, expenses)
def test_higher_pd_never_gives_a_higher_limit(pd_a, pd_b, income, debt, record, expense) -> None:
    low, high = np.minimum(pd_a, pd_b), np.maximum(pd_a, pd_b)
    applicants = frame(income, debt, record, expense)
    for policy in POLICIES:
        safer = decide(low, applicants, policy)["limit"].to_numpy()
        riskier = decide(high, applicants, policy)["limit"].to_numpy()
        assert (riskier <= safer).all()


@settings(max_examples=EXAMPLES, deadline=None)
@given(pds, incomes, incomes, debts, records, expenses)
def test_higher_income_never_gives_a_lower_limit(pd_, inc_a, inc_b, debt, record, expense) -> None:
    known = ~np.isnan(inc_a) & ~np.isnan(inc_b)
    low = np.where(known, np.fmin(inc_a, inc_b), inc_a)
    high = np.where(known, np.fmax(inc_a, inc_b), inc_a)
    for policy in POLICIES:
        poorer = decide(pd_, frame(low, debt, record, expense), policy)["limit"].to_numpy()
        richer = decide(pd_, frame(high, debt, record, expense), policy)["limit"].to_numpy()
        assert (richer >= poorer).all()


@settings(max_examples=EXAMPLES, deadline=None)
@given(pds, incomes, debts, records, expenses)
def test_declines_have_no_limit_and_a_reason_and_decisions_repeat(
    pd_, income, debt, record, expense
) -> None:
    applicants = frame(income, debt, record, expense)
    for policy in POLICIES:
        out = decide(pd_, applicants, policy)
        reasons = principal_reasons(out, None, policy)
        declined = out["decision"] == "decline"
        assert (out.loc[declined, "limit"] == 0).all()
        assert (reasons.loc[declined, "reason_1"] != "").all()
        pd.testing.assert_frame_equal(out, decide(pd_, applicants, policy))


MIXED = Policy.build(PARAMS.model_copy(update={"product_column": "product"}), SPEC,
                     ["income", "debt", "Records", "Expenses", "product"])  # fmt: skip
products = st.lists(st.sampled_from(sorted(PARAMS.products)), min_size=N, max_size=N)


@settings(max_examples=EXAMPLES, deadline=None)
@given(
    pds, incomes, debts, records, expenses, products, arrays(float, N, elements=st.floats(0, 9e3))
)
def test_decision_codes_say_what_the_text_says(
    pd_, income, debt, record, expense, product, asked
) -> None:
    """Notices and reasons read the same from the codes as from the decision text."""
    applicants = frame(income, debt, record, expense).assign(product=product)
    for policy in [*POLICIES, MIXED]:
        out, codes = decide_coded(pd_, applicants, policy)
        assert (DECISIONS[codes.decision] == out["decision"].to_numpy(dtype=object)).all()
        assert (BINDING[codes.binding] == out["binding_cap"].to_numpy(dtype=object)).all()
        assert (codes.knocked == (out["knockouts"] != "")).all()
        requested = pd.Series(asked)
        kind = notice_kind(out, requested, codes)
        assert (kind == notice_kind(out, requested)).all()
        drivers = pd.DataFrame({"income": -income, "debt": debt / 1e4}).fillna(0.0)
        pd.testing.assert_frame_equal(
            principal_reasons(out, drivers, policy, kind != "", codes),
            principal_reasons(out, drivers, policy, kind != ""),
        )
