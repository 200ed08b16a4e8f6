"""Readers shared by the stages: splits and feature matrices (whole, or a stratified sample of
their rows read part by part), and the note a stage leaves when it does not apply."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TypeVar

import numpy as np
import pandas as pd

from limitlab import paths
from limitlab.data.columns import BAD
from limitlab.data.sampling import sample_index
from limitlab.io import parquet_batches, read_parquet_rows, write_json

T = TypeVar("T", np.ndarray, pd.Series, pd.DataFrame)
BATCH_ROWS = 250_000  # rows scored at a time where a split is scored part by part


def sample_positions(name: str, rows: int | None, seed: int) -> np.ndarray | None:
    """Positions of a stratified sample of at most ``rows`` rows of a split, in file order;
    None when the split has no more rows than that (or ``rows`` is None)."""
    if rows is None:
        return None
    y = pd.read_parquet(paths.split_path(name), columns=[BAD])[BAD].to_numpy()
    return None if rows >= len(y) else sample_index(y, rows, seed)


def load_split(name: str, keep: np.ndarray | None = None) -> pd.DataFrame:
    """The rows of a split (those at the positions ``keep``, or all)."""
    path = paths.split_path(name)
    return pd.read_parquet(path) if keep is None else read_parquet_rows(path, keep)


def load_xy(name: str, keep: np.ndarray | None = None) -> tuple[pd.DataFrame, np.ndarray]:
    """The feature matrix of a split (the rows at ``keep``, or all) and its outcomes; the
    feature rows are the split's rows in the same order."""
    path = paths.features_path(name)
    frame = pd.read_parquet(path) if keep is None else read_parquet_rows(path, keep)
    return frame.drop(columns=[BAD]), frame[BAD].to_numpy()


def split_batches(name: str, columns: list[str] | None = None) -> Iterator[pd.DataFrame]:
    """The rows of a split, ``BATCH_ROWS`` at a time, in file order."""
    return parquet_batches(paths.split_path(name), BATCH_ROWS, columns)


def in_batches(score: Callable[[pd.DataFrame], T], rows: pd.DataFrame | str) -> T:
    """``score`` applied ``BATCH_ROWS`` rows at a time to a frame (or to the split of that name,
    read part by part) and the results joined: arrays, Series or frames in row order."""
    if isinstance(rows, str):
        batches: Iterable[pd.DataFrame] = split_batches(rows)
    else:
        batches = (rows.iloc[i : i + BATCH_ROWS] for i in range(0, max(len(rows), 1), BATCH_ROWS))
    results = [score(batch) for batch in batches]
    if isinstance(results[0], np.ndarray):
        return np.concatenate(results)  # type: ignore[return-value]
    return pd.concat(results, ignore_index=True)  # type: ignore[return-value]


def not_applicable(folder: Path, metrics_stage: str, why: str) -> dict:
    """Write a note in the stage's output folder and metrics instead of results."""
    folder.mkdir(parents=True, exist_ok=True)
    note = {"applicable": False, "why": why}
    write_json(folder / "README.json", note)
    write_json(paths.metrics_path(metrics_stage), note)
    return note
