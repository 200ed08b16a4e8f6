"""The MLflow pyfunc bundle: raw applicant rows in, PD / grade / limit / binding cap out."""

from __future__ import annotations

from typing import Any

import mlflow.pyfunc
import pandas as pd

from limitlab.limits.reasons import REASON_COLUMNS
from limitlab.serving.scorer import Scorer

ARTIFACT_KEYS = ("spec", "model", "policy")
OUTPUT_COLUMNS = (
    "pd", "grade", "decision", "limit", "product", "binding_cap", "daily_cap", "monthly_cap",
    *REASON_COLUMNS,
)  # fmt: skip


def bundle_output(scorer: Scorer, frame: pd.DataFrame) -> pd.DataFrame:
    """The served columns of the scorer's decisions."""
    return scorer.decide(frame)[list(OUTPUT_COLUMNS)]


class LimitModel(mlflow.pyfunc.PythonModel):
    """Wraps :class:`Scorer`; its artifacts are the stage outputs it was built from."""

    def load_context(self, context: Any) -> None:
        a = context.artifacts
        self.scorer = Scorer.load(a["spec"], a["model"], a["policy"])

    def predict(self, context: Any, model_input: pd.DataFrame, params: Any = None) -> pd.DataFrame:
        return bundle_output(self.scorer, pd.DataFrame(model_input))
