"""``limitlab split``: train / validation / test, stratified and seeded or out-of-time."""

from __future__ import annotations

import pandas as pd

from limitlab import paths
from limitlab.config import Params
from limitlab.data.columns import BAD, ROW
from limitlab.data.specs import DatasetSpec
from limitlab.data.split import check_both_classes, split_frame
from limitlab.io import write_json, write_parquet

PARAMS = ("split",)
CODE = ("config.py", "data", "errors.py", "io.py", "paths.py")


def run(params: Params) -> dict:
    """Write the three parts (rows in file order) and their sizes and bad rates."""
    spec = DatasetSpec.from_json(paths.SPEC)
    parts = split_frame(pd.read_parquet(paths.ACCEPTED), spec, params.split)
    check_both_classes(parts)
    metrics: dict = {}
    for name, part in parts.items():
        write_parquet(paths.split_path(name), part.sort_values(ROW))
        metrics[name] = {"rows": len(part), "bad_rate": float(part[BAD].mean())}
    metrics["by"] = "date" if spec.date else "stratified"
    write_json(paths.metrics_path("split"), metrics)
    return metrics
