"""Small helpers to write and read stage outputs."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, np.ndarray):
        return _clean(value.tolist())
    if isinstance(value, np.generic):
        return _clean(value.item())
    return value


def flatten(mapping: dict, prefix: str = "") -> dict[str, Any]:
    """Nested mappings to one level of ``a.b.c`` keys; every other value is a leaf."""
    out: dict[str, Any] = {}
    for key, value in mapping.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict):
            out.update(flatten(value, name))
        else:
            out[name] = value
    return out


def write_json(path: Path, payload: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_clean(payload), indent=2, sort_keys=False) + "\n")


def read_json(path: Path) -> Any:
    return json.loads(Path(path).read_text())


def write_parquet(path: Path, frame: pd.DataFrame, row_groups: int | None = None) -> None:
    """Write without the index; ``row_groups`` splits the rows into about that many groups
    (Dask reads one partition per row group)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    size = max(math.ceil(len(frame) / row_groups), 1_000) if row_groups else None
    frame.to_parquet(path, index=False, row_group_size=size)
