"""The model drivers of a reason list: the largest positive contributions, largest first, ties
by column order, exactly as a stable sort orders them."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from limitlab.limits.reasons import N_REASONS, driver_order


@settings(max_examples=60, deadline=None)
@given(rows=st.integers(1, 40), columns=st.integers(1, 9), seed=st.integers(0, 10_000),
       missing=st.booleans())  # fmt: skip
def test_drivers_are_a_stable_sorts_first_columns(
    rows: int, columns: int, seed: int, missing: bool
) -> None:
    rng = np.random.default_rng(seed)
    values = rng.integers(-2, 3, (rows, columns)).astype(float)  # small integers: many ties
    if missing:
        values[rng.random(values.shape) < 0.3] = np.nan
    found = driver_order(values)
    expected = np.argsort(-values, axis=1, kind="stable")[:, : N_REASONS - 1]
    assert found.shape == expected.shape
    # the same columns wherever a reason is given (a positive value), -1 elsewhere
    given_ = np.take_along_axis(values, expected, axis=1) > 0
    np.testing.assert_array_equal(found, np.where(given_, expected, -1))
    assert all(len(set(row) - {-1}) == (row != -1).sum() for row in found)
