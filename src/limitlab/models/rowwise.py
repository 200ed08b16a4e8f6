"""Sums across columns in a fixed order, so that a row's result is the same to the last bit
whatever other rows are computed with it. A matrix product (BLAS) or numpy's reduction over
rows rounds differently with the batch's shape and memory layout; the model server joins
concurrent requests into one call and must give each the answer it gets alone."""

from __future__ import annotations

import numpy as np


def row_sums(values: np.ndarray) -> np.ndarray:
    """Each row's sum, adding its columns left to right."""
    values = np.asarray(values, dtype=np.float64)
    total = np.zeros(values.shape[0])
    for j in range(values.shape[1]):
        total += values[:, j]
    return total


def row_dot(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Each row's dot product with ``weights``, column by column."""
    values = np.asarray(values, dtype=np.float64)
    total = np.zeros(values.shape[0])
    for j, weight in enumerate(np.asarray(weights, dtype=np.float64)):
        total += values[:, j] * weight
    return total
