"""The example applicants logged with a model are made from the training distribution, never
copied from it."""

from __future__ import annotations

import numpy as np
import pandas as pd

from limitlab.config import load_params
from limitlab.data.specs import DatasetSpec
from limitlab.limits import Policy
from limitlab.serving.example import synthetic_applicants
from limitlab.serving.scorer import Scorer

from .conftest import REPO

SPEC = DatasetSpec(name="t", path="t.csv", target="s", bad_value="bad", numeric=("Income", "Debt"),
                   categorical=("Job",), income="Income", debt="Debt")  # fmt: skip


def test_no_example_row_is_a_real_row_and_each_column_keeps_its_type() -> None:
    rng = np.random.default_rng(5)
    train = pd.DataFrame({"Income": rng.integers(50, 500, 400).astype(float),
                          "Debt": rng.integers(0, 50, 400).astype(float),
                          "Job": rng.choice(["fixed", "freelance", "partime"], 400)})  # fmt: skip
    params = load_params(REPO / "params.yaml").limits.model_copy(update={"segments": []})
    scorer = Scorer(SPEC, None, Policy.build(params, SPEC, list(train.columns)))
    example = synthetic_applicants(train, scorer)
    assert list(example.columns) == scorer.input_columns and len(example) == 5
    assert example["Income"].is_monotonic_increasing  # quantiles 10 % .. 90 %
    assert example["Income"].iloc[2] == train["Income"].median()
    assert set(example["Job"]) <= set(train["Job"])
    assert example["Income"].dtype == "float64" and example["Job"].dtype == object
    joined = example.merge(train, on=["Income", "Debt", "Job"], how="inner")
    assert joined.empty, "an example row equals a real applicant"
