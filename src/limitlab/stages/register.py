"""``limitlab register``: log the pipeline execution to MLflow and register its model.

The run logs every params section, and the registered bundle carries the whole package's code,
so the stage reads all params and all of ``src/limitlab``.
"""

from __future__ import annotations

from limitlab.config import Params
from limitlab.tracking.register import register_pipeline_run

PARAMS = ("data", "split", "features", "tune", "train", "evaluate", "limits", "review",
          "monitor", "fairness", "register", "strategies", "usage", "need")  # fmt: skip
CODE = (".",)


def run(params: Params) -> dict:
    """Write ``reports/register.json`` (run id, model version, gate results); print the gates'
    decision in one line."""
    result = register_pipeline_run(params)
    print(decision_line(result))
    return result


def decision_line(result: dict) -> str:
    """``<model> v<N>: @champion|@challenger only (<why>)``, naming the gates that failed and
    those that only warned."""
    name = f"{result['model_name']} v{result['model_version']}"
    gates = result["gates"]
    warned = "; ".join(f"{g}: {v['why']}" for g, v in gates.items() if v.get("status") == "warn")
    warnings = f"; warnings: {warned}" if warned else ""
    if result["promoted"]:
        return f"{name}: @champion, no gate failed ({gates['vs_champion']['why']}){warnings}"
    failed = "; ".join(f"{g}: {v['why']}" for g, v in gates.items() if not v["passed"])
    return f"{name}: @challenger only, not promoted ({failed}){warnings}"
