"""``limitlab split``: train / validation / test, by a stable hash of each row's key or
out-of-time by date, written part by part."""

from __future__ import annotations

from limitlab import paths
from limitlab.config import Params
from limitlab.data.specs import DatasetSpec
from limitlab.data.split import NAMES, split_file
from limitlab.io import write_json

PARAMS = ("split",)
CODE = ("config.py", "data", "errors.py", "io.py", "paths.py")


def run(params: Params) -> dict:
    """Write the three parts (rows in file order) and their sizes and bad rates."""
    spec = DatasetSpec.from_json(paths.SPEC)
    targets = {name: paths.split_path(name) for name in NAMES}
    metrics: dict = split_file(paths.ACCEPTED, targets, spec, params.split)
    metrics["by"] = "date" if spec.date else f"hash of {'id' if spec.id else 'row number'}"
    write_json(paths.metrics_path("split"), metrics)
    return metrics
