"""Readers shared by the stages: feature matrices, and the note a stage leaves when it does
not apply to the data set."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from limitlab import paths
from limitlab.data.columns import BAD
from limitlab.io import write_json


def load_xy(name: str) -> tuple[pd.DataFrame, np.ndarray]:
    """The feature matrix of a split and its outcomes."""
    frame = pd.read_parquet(paths.features_path(name))
    return frame.drop(columns=[BAD]), frame[BAD].to_numpy()


def not_applicable(folder: Path, metrics_stage: str, why: str) -> dict:
    """Write a note in the stage's output folder and metrics instead of results."""
    folder.mkdir(parents=True, exist_ok=True)
    note = {"applicable": False, "why": why}
    write_json(folder / "README.json", note)
    write_json(paths.metrics_path(metrics_stage), note)
    return note
