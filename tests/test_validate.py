"""Validation of applicant rows shared by the model server and the batch scorer."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from limitlab.config import load_params
from limitlab.data.specs import DatasetSpec
from limitlab.limits import Policy
from limitlab.serving.scorer import Scorer
from limitlab.serving.validate import validate_applicants

from .conftest import REPO

SPEC = DatasetSpec(name="t", path="t.csv", target="s", bad_value="bad", numeric=("Income", "Debt"),
                   categorical=("Job",), nonnegative=("Income", "Debt"), income="Income",
                   debt="Debt")  # fmt: skip


def scorer(**limits) -> Scorer:
    params = load_params(REPO / "params.yaml").limits.model_copy(update={"segments": [], **limits})
    columns = ["Income", "Debt", "Job", "product"]
    return Scorer(spec=SPEC, model=None, policy=Policy.build(params, SPEC, columns))


def test_bad_rows_get_a_reason_and_missing_values_are_accepted() -> None:
    frame = pd.DataFrame({"Income": ["100", "abc", "-1", None], "Debt": [0, 0, 5, np.nan],
                          "Job": ["a", "b", None, "a"]})  # fmt: skip
    typed, reasons = validate_applicants(frame, scorer())
    assert reasons.tolist() == [
        "",
        "Income: 'abc' is not a number",
        "Income: -1 is negative; expected >= 0",
        "",
    ]
    assert typed["Income"].dtype == "float64" and np.isnan(typed["Income"].iloc[3])


def test_unknown_product_is_refused_with_the_catalogue() -> None:
    frame = pd.DataFrame({"Income": [1.0, 1.0], "Debt": [0.0, 0.0], "Job": ["a", "a"],
                          "product": ["bnpl", "car_loan"]})  # fmt: skip
    _, reasons = validate_applicants(frame, scorer(product_column="product"))
    assert reasons.iloc[0] == ""
    assert reasons.iloc[1] == (
        "product: product 'car_loan' is unknown; "
        "expected one of ['bnpl', 'instalment', 'revolving']"
    )


def test_a_missing_column_is_named() -> None:
    with pytest.raises(ValueError, match=r"missing required column\(s\) \['Debt'\]"):
        validate_applicants(pd.DataFrame({"Income": [1.0], "Job": ["a"]}), scorer())


def test_infinite_and_overflowing_numbers_are_refused_with_row_and_value() -> None:
    frame = pd.DataFrame({"Income": [100.0, np.inf, -np.inf, 1e308, 2e15], "Debt": 0.0,
                          "Job": "a"})  # fmt: skip
    _, reasons = validate_applicants(frame, scorer())
    expected = "is out of range; expected within +-1e+15"
    assert reasons[0] == ""
    assert reasons[1] == f"Income: inf {expected}"
    assert reasons[2] == f"Income: -inf {expected}; Income: -inf is negative; expected >= 0"
    assert reasons[3] == f"Income: 1e+308 {expected}"
    assert reasons[4] == f"Income: 2000000000000000.0 {expected}"


def test_true_and_false_are_not_numbers() -> None:
    frame = pd.DataFrame({"Income": [True, False], "Debt": [0.0, 0.0], "Job": ["a", "a"]})
    typed, reasons = validate_applicants(frame, scorer())
    assert reasons.tolist() == ["Income: 'True' is not a number", "Income: 'False' is not a number"]
    assert typed["Income"].isna().all()
