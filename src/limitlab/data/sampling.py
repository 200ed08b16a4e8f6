"""Stratified samples of rows: positions in file order, the same for the same outcomes and seed."""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import train_test_split


def sample_index(y: np.ndarray, rows: int | None, seed: int) -> np.ndarray:
    """Positions of at most ``rows`` rows in file order, stratified by outcome (all when None)."""
    if not rows or rows >= len(y):
        return np.arange(len(y))
    keep, _ = train_test_split(np.arange(len(y)), train_size=rows, stratify=y, random_state=seed)
    return np.sort(keep)
