"""Lookups once per distinct value equal pandas' own ``Series.map``."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from limitlab.data.lookup import lookup

LEVELS = st.sampled_from(["rent", "owner", "parents", "other", "", None, 1, 1.0, 2.5])


@settings(max_examples=200, deadline=None)
@given(st.lists(LEVELS, max_size=40), st.sampled_from(["object", "str"]))
def test_lookup_equals_series_map(values: list, dtype: str) -> None:
    series = pd.Series(values, dtype=object)
    if dtype == "str":
        series = series.map(lambda v: v if v is None else str(v)).astype("str")
    mapping = {"rent": 0, "owner": 1, 1: 7, "1.0": 8, "": 9}
    expected = series.map(mapping).astype("float64").fillna(-1.0)
    expected[series.isna()] = -2.0
    got = lookup(series, mapping, -1.0, -2.0, "float64")
    np.testing.assert_array_equal(got, expected.to_numpy())


@settings(max_examples=100, deadline=None)
@given(st.lists(LEVELS, max_size=40))
def test_lookup_by_text_equals_mapping_the_text(values: list) -> None:
    series = pd.Series(values, dtype=object)
    mapping = {"rent": "A", "1": "B", "1.0": "C", "2.5": "D"}
    text = series.astype("string")
    expected = text.map(mapping).fillna("unknown").to_numpy(object)
    got = lookup(series, mapping, "unknown", "unknown",
                 key=lambda levels: levels.astype("string"))  # fmt: skip
    assert list(got) == list(expected)
