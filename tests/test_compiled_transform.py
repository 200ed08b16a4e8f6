"""The compiled scoring-time transform gives exactly the scikit-learn pipeline's matrix."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from limitlab.data.specs import DatasetSpec
from limitlab.features.compiled import compile_transform
from limitlab.features.transformers import build_feature_pipeline, raw_inputs

SPEC = DatasetSpec(name="t", path="t.csv", target="s", bad_value="bad",
                   numeric=("income", "debt", "amount", "never_filled"),
                   categorical=("home", "job"), income="income", debt="debt",
                   requested_amount="amount")  # fmt: skip
HOMES = ["owner", "rent", "parents", "other"]  # "other" is rare: pooled
JOBS = ["fixed", "freelance", "partime"]


def applicants(n: int, seed: int, homes: list[str] = HOMES) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "income": rng.lognormal(4.5, 0.6, n),
        "debt": rng.choice([0.0, 500.0, 2000.0], n),
        "amount": rng.uniform(100, 5000, n),
        "never_filled": np.nan,
        "home": rng.choice(homes, n, p=None if homes != HOMES else [0.5, 0.3, 0.195, 0.005]),
        "job": rng.choice(JOBS, n),
    })  # fmt: skip
    frame.loc[rng.random(n) < 0.1, "income"] = np.nan
    frame.loc[rng.random(n) < 0.05, "income"] = 0.0  # a ratio over zero income is missing
    frame.loc[rng.random(n) < 0.05, "job"] = np.nan
    return raw_inputs(frame, SPEC)


FITTED = build_feature_pipeline(SPEC, min_category_share=0.01).fit(applicants(3000, 0))
COMPILED = compile_transform(FITTED)


def test_the_pipeline_compiles_and_names_its_columns_alike() -> None:
    assert COMPILED is not None
    assert COMPILED.columns == list(FITTED.get_feature_names_out())
    assert "num__never_filled" not in COMPILED.columns  # missing in every training row
    assert "num__missingindicator_never_filled" in COMPILED.columns
    assert "cat__home=infrequent_sklearn" in COMPILED.columns


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 300),
       homes=st.sampled_from([HOMES, ["owner", "castle"], ["boat"]]))  # fmt: skip
def test_the_compiled_matrix_equals_scikit_learns(seed: int, n: int, homes: list[str]) -> None:
    frame = applicants(n, seed, homes)  # unseen levels ("castle", "boat") join the pool
    expected = FITTED.transform(frame)
    found = COMPILED.transform(frame)
    assert list(found.columns) == list(expected.columns)
    np.testing.assert_array_equal(found.to_numpy(), expected.to_numpy(dtype="float64"))
    # text left in pandas' Arrow strings (as read from Parquet) gives the same matrix
    as_read = raw_inputs(frame.astype({"home": "string[pyarrow]", "job": "string[pyarrow]"}),
                         SPEC, keep_text=True)  # fmt: skip
    assert as_read["home"].dtype == "string[pyarrow]"
    np.testing.assert_array_equal(COMPILED.transform(as_read).to_numpy(), found.to_numpy())


def test_another_shape_is_not_compiled() -> None:
    assert compile_transform("passthrough") is None
    assert compile_transform(FITTED[:1]) is None  # the ratios alone (the scorecard's step)


@pytest.mark.parametrize("derived_ratios", [True, False])
def test_with_and_without_ratios(derived_ratios: bool) -> None:
    fitted = build_feature_pipeline(SPEC, derived_ratios).fit(applicants(500, 1))
    frame = applicants(200, 2)
    np.testing.assert_array_equal(compile_transform(fitted).transform(frame).to_numpy(),
                                  fitted.transform(frame).to_numpy(dtype="float64"))  # fmt: skip


@pytest.mark.parametrize(("numeric", "categorical"), [(("income", "debt"), ()), ((), ("home",))])
def test_numeric_alone_or_categorical_alone(numeric: tuple, categorical: tuple) -> None:
    spec = DatasetSpec(name="t", path="t.csv", target="s", bad_value="bad", numeric=numeric,
                       categorical=categorical)  # fmt: skip
    frame = raw_inputs(applicants(300, 3), spec)
    fitted = build_feature_pipeline(spec).fit(frame)
    compiled = compile_transform(fitted)
    assert compiled is not None
    np.testing.assert_array_equal(compiled.transform(frame).to_numpy(),
                                  fitted.transform(frame).to_numpy(dtype="float64"))  # fmt: skip
