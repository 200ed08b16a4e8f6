"""Value lookups through a mapping, done once per distinct value.

``Series.map(dict)`` hashes every row; on a column with a handful of levels, factorising it
first and mapping the levels costs a fraction of that on large frames (most of all on pandas'
Arrow-backed strings). The result equals ``Series.map(mapping)`` with ``default`` for values the
mapping lacks and ``missing`` for missing values (tested).

Text columns of a few levels are built as object arrays (:func:`choose_text`,
:func:`text_column`) for the same reason: pandas copies text into Arrow strings row by row.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc


def lookup(
    values: pd.Series | np.ndarray,
    mapping: Mapping[Any, Any],
    default: Any,
    missing: Any,
    dtype: Any = object,
    key: Callable[[pd.Index], pd.Index] | None = None,
) -> np.ndarray:
    """``mapping[v]`` for each value (``default`` when absent, ``missing`` for a missing value),
    as a numpy array of ``dtype``; ``key`` turns the distinct values into the mapping's keys
    (for example ``lambda levels: levels.astype("string")``)."""
    positions = _arrow_positions(values, list(mapping)) if key is None else None
    if positions is not None:
        return np.array([*mapping.values(), default, missing], dtype=dtype)[positions]
    codes, keys = factorized(values, key)
    return codes_table(keys, mapping, default, missing, dtype)[codes]


def _arrow_positions(values: Any, keys: list[Any]) -> np.ndarray | None:
    """Each value's position in ``keys`` (``len(keys)`` if absent, ``len(keys) + 1`` if
    missing) for pandas' Arrow-backed text and text keys, by Arrow's hash lookup against the
    keys (a third faster than factorising the column); None for other values."""
    array = getattr(values, "array", None)
    if not isinstance(array, pd.arrays.ArrowStringArray) or not all(
        isinstance(k, str) for k in keys
    ):
        return None
    data = array.__arrow_array__()
    found = pc.index_in(data, value_set=pa.array(keys, type=data.type)).fill_null(len(keys))
    if data.null_count:
        found = pc.if_else(data.is_null(), len(keys) + 1, found)
    return found.to_numpy()


def factorized(
    values: pd.Series | np.ndarray, key: Callable[[pd.Index], pd.Index] | None = None
) -> tuple[np.ndarray, pd.Index]:
    """Each value's code (-1 for a missing value) and the distinct values as keys (``key``
    applied), for lookups of several mappings on the same values."""
    if key is not None and pd.Index(values[:0]).dtype == object:
        values, key = key(pd.Index(values)), None  # 1 and 1.0 are one level but two texts
    codes, levels = pd.factorize(values, use_na_sentinel=True)
    return codes, pd.Index(levels) if key is None else key(pd.Index(levels))


def codes_table(
    keys: pd.Index, mapping: Mapping[Any, Any], default: Any, missing: Any, dtype: Any = object
) -> np.ndarray:
    """``mapping`` over ``keys``, indexed by code: code -1 (missing) reads the last entry."""
    found = [mapping.get(k, default) if not pd.isna(k) else missing for k in keys]
    return np.array([*found, missing], dtype=dtype)


def text_column(values: Any, index: pd.Index) -> pd.Series:
    """Text (an array, or one value for every row) as an object column: pandas would otherwise
    copy every value into an Arrow string, the largest single cost of building a large frame of
    decisions. The column holds the array itself (no copy): pass one nothing else changes."""
    if np.ndim(values) == 0:
        values = np.array([values], dtype=object).repeat(len(index))  # np.full is 20x slower
    return pd.Series(np.asarray(values, dtype=object), index=index, dtype=object, copy=False)


def choose_text(condition: np.ndarray, yes: Any, no: Any) -> np.ndarray:
    """``np.where`` for text, as an object array (``np.where`` with text values builds a
    fixed-width unicode array, costly to turn into Python text afterwards)."""

    def as_object(value: Any) -> Any:
        return np.array(value, dtype=object) if np.ndim(value) == 0 else value

    return np.where(condition, as_object(yes), as_object(no))


def interval_index(edges: Any, values: Any, side: str = "right") -> np.ndarray:
    """``np.searchsorted(edges, values, side)`` for sorted ``edges`` (a missing value past the
    last edge, as there): counted with one vectorised comparison per edge when there are at most
    255 of them, about ten times faster than a binary search on large arrays."""
    values = np.asarray(values)
    out = np.asarray(interval_counts(edges, values, side), dtype=np.intp)
    if values.dtype.kind == "f":
        out[np.isnan(values)] = len(edges)
    return out


def interval_counts(edges: Any, values: Any, side: str = "right") -> np.ndarray:
    """:func:`interval_index` where a missing value's position does not matter (it is any valid
    position: the caller sets missing values itself), as small integers where it can."""
    edges, values = np.asarray(edges), np.asarray(values)
    if len(edges) > np.iinfo(np.uint8).max or values.ndim != 1 or values.dtype.kind not in "fiu":
        return np.searchsorted(edges, values, side=side)  # type: ignore[call-overload]
    above = np.greater_equal if side == "right" else np.greater
    count = np.zeros(len(values), dtype=np.uint8)
    for edge in edges:
        np.add(count, above(values, edge).view(np.uint8), out=count)
    return count
