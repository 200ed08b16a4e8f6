"""Lookups once per distinct value equal pandas' own ``Series.map``."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from limitlab.data.lookup import interval_index, lookup

LEVELS = st.sampled_from(["rent", "owner", "parents", "other", "", None, 1, 1.0, 2.5])


@settings(max_examples=200, deadline=None)
@given(st.lists(LEVELS, max_size=40), st.sampled_from(["object", "str", "string[pyarrow]"]),
       st.booleans())  # fmt: skip
def test_lookup_equals_series_map(values: list, dtype: str, text_keys: bool) -> None:
    series = pd.Series(values, dtype=object)
    if dtype != "object":  # Arrow-backed text: looked up by Arrow itself with text keys
        series = series.map(lambda v: v if v is None else str(v)).astype(dtype)
    mapping = {"rent": 0, "owner": 1, "1" if text_keys else 1: 7, "1.0": 8, "": 9}
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


@settings(max_examples=200, deadline=None)
@given(
    edges=st.lists(st.floats(-1e6, 1e6, allow_nan=False), max_size=12),
    values=st.lists(st.one_of(st.floats(-1e6, 1e6), st.just(float("nan"))), max_size=40),
    side=st.sampled_from(["left", "right"]),
)
def test_interval_index_equals_a_binary_search(edges, values, side) -> None:
    edges_array, values_array = np.sort(np.asarray(edges, float)), np.asarray(values, float)
    found = interval_index(edges_array, values_array, side=side)
    np.testing.assert_array_equal(found, np.searchsorted(edges_array, values_array, side=side))


@pytest.mark.parametrize("n_edges", [0, 1, 255, 256, 400])
@pytest.mark.parametrize("dtype", ["float32", "float64", "int64"])
def test_interval_index_on_ties_many_edges_and_integers(n_edges: int, dtype: str) -> None:
    rng = np.random.default_rng(n_edges)
    edges = np.unique(rng.integers(-500, 500, n_edges)).astype(dtype)
    values = np.concatenate([rng.integers(-600, 600, 3000).astype(dtype), edges])
    for side in ("left", "right"):
        np.testing.assert_array_equal(
            interval_index(edges, values, side=side), np.searchsorted(edges, values, side=side)
        )
