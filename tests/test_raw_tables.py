"""The additive family's raw-feature tables give, to the last bit, what the model matrix's
lookup tables give once summed per raw feature: with missing values, a column missing in every
training row, ratios over zero income, rare levels pooled and levels never seen."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from limitlab.features.compiled import compile_transform
from limitlab.features.transformers import raw_inputs
from limitlab.models.additive import AdditiveBoosting
from limitlab.models.contributions import summed_to_raw
from limitlab.models.raw_tables import compile_raw_tables

from .test_compiled_transform import COMPILED, FITTED, HOMES, SPEC, applicants


def fitted_model(frame: pd.DataFrame) -> AdditiveBoosting:
    matrix = FITTED.transform(frame)
    logit = -2 + 0.5 * np.log1p(frame["debt"]) / 3 - 0.3 * frame["income"].isna()
    rng = np.random.default_rng(0)
    y = (rng.random(len(frame)) < 1 / (1 + np.exp(-logit))).astype(int)
    return AdditiveBoosting({"max_depth": 2}, 60, {"num__income": -1}, seed=0).fit(matrix, y)


MODEL = fitted_model(applicants(3000, 0))
TABLES = compile_raw_tables(COMPILED, MODEL)


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(1, 300),
    homes=st.sampled_from([HOMES, ["owner", "castle"], ["boat"], ["missing", "rent"]]),
)
def test_raw_tables_equal_the_matrix_tables_summed(seed: int, n: int, homes: list[str]) -> None:
    frame = applicants(n, seed, homes)
    frame.loc[frame.index[::7], "home"] = np.nan
    matrix = COMPILED.transform(frame)
    columns = MODEL.column_margins(matrix)
    expected = summed_to_raw(columns, list(MODEL.columns_), frame.index)
    found = TABLES.margins(frame)
    assert TABLES.features == list(expected.columns)
    np.testing.assert_array_equal(found, expected.to_numpy())
    pd_ = TABLES.pd_from_margins(found)
    np.testing.assert_allclose(pd_, MODEL.predict_proba(matrix)[:, 1], rtol=0, atol=1e-14)
    # text as read from Parquet (Arrow strings) reads the same levels
    as_read = raw_inputs(frame.astype({"home": "string[pyarrow]", "job": "string[pyarrow]"}),
                         SPEC, keep_text=True)  # fmt: skip
    np.testing.assert_array_equal(TABLES.margins(as_read), found)


def test_every_raw_feature_has_its_table() -> None:
    assert TABLES is not None
    assert TABLES.features == ["income", "debt", "amount", "debt_to_income", "amount_to_income",
                               "never_filled", "home", "job"]  # fmt: skip
    never = TABLES.tables[TABLES.features.index("never_filled")]
    assert never.table is None  # only its flag is a model column


def test_a_model_of_other_columns_is_not_compiled() -> None:
    other = fitted_model(applicants(500, 1))
    other.columns_ = [*other.columns_[:-1], "cat__job=renamed"]
    assert compile_raw_tables(COMPILED, other) is None
    assert compile_transform(FITTED[:1]) is None
