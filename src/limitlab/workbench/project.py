"""Read a built project's outputs (after ``dvc repro``) from a notebook."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from limitlab import paths
from limitlab.config import Params, load_params
from limitlab.data.specs import DatasetSpec
from limitlab.errors import StateError
from limitlab.io import read_json
from limitlab.tracking.store import project_root


class NotBuiltError(StateError, FileNotFoundError):
    """A pipeline output a notebook needs does not exist yet."""


@dataclass(frozen=True)
class Project:
    """A project folder: its params, data spec and stage outputs."""

    root: Path

    @classmethod
    def find(cls, start: Path | None = None) -> Project:
        """The project holding ``start`` (default: the working directory, e.g. ``notebooks/``)."""
        return cls(project_root(start))

    def path(self, relative: Path) -> Path:
        full = self.root / relative
        if not full.exists():
            raise NotBuiltError(
                f"{full} does not exist; run `make repro` (or `dvc repro`) in {self.root} first"
            )
        return full

    @property
    def params(self) -> Params:
        return load_params(self.root / "params.yaml")

    @property
    def spec(self) -> DatasetSpec:
        return DatasetSpec.from_json(self.path(paths.SPEC))

    def split(self, name: str) -> pd.DataFrame:
        return pd.read_parquet(self.path(paths.split_path(name)))

    def quarantine(self) -> pd.DataFrame:
        return pd.read_parquet(self.path(paths.QUARANTINE))

    def decisions(self) -> pd.DataFrame:
        return pd.read_parquet(self.path(paths.DECISIONS))

    def metrics(self, stage: str) -> dict:
        return read_json(self.path(paths.metrics_path(stage)))
