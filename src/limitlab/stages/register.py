"""``limitlab register``: log the pipeline execution to MLflow and register its model.

The run logs every params section, and the registered bundle carries the whole package's code,
so the stage reads all params and all of ``src/limitlab``.
"""

from __future__ import annotations

from limitlab.config import Params
from limitlab.tracking.register import register_pipeline_run

PARAMS = ("data", "split", "features", "tune", "train", "evaluate", "limits", "review",
          "monitor", "register")  # fmt: skip
CODE = (".",)


def run(params: Params) -> dict:
    """Write ``reports/register.json`` (run id, model version, gate results)."""
    return register_pipeline_run(params)
