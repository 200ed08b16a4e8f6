"""The MLflow pyfunc bundle: raw applicant rows in; PD, grade, limit, caps and reasons out.

Rows that fail validation make the whole request fail with a 4xx answer naming the row, the
field and the problem (``INVALID_PARAMETER_VALUE``); no limit is ever returned for them.
"""

from __future__ import annotations

from typing import Any

import mlflow.pyfunc
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE

from limitlab.limits.reasons import REASON_COLUMNS
from limitlab.serving.scorer import Scorer
from limitlab.serving.validate import validate_applicants

OUTPUT_COLUMNS = (
    "pd", "grade", "decision", "limit", "product", "binding_cap", "daily_cap", "monthly_cap",
    *REASON_COLUMNS,
)  # fmt: skip
MAX_REASONS_SHOWN = 5


def bundle_output(scorer: Scorer, frame: pd.DataFrame, model_id: str = "") -> pd.DataFrame:
    """The served columns of the scorer's decisions, and the id of the model that made them."""
    return scorer.decide(frame)[list(OUTPUT_COLUMNS)].assign(model_id=model_id)


def refuse(message: str) -> MlflowException:
    return MlflowException(message, error_code=INVALID_PARAMETER_VALUE)


class LimitModel(mlflow.pyfunc.PythonModel):
    """Wraps :class:`Scorer`; its artifacts are the stage outputs it was built from."""

    def load_context(self, context: Any) -> None:
        a = context.artifacts
        self.scorer = Scorer.load(a["spec"], a["model"], a["policy"])
        self.model_id = str((context.model_config or {}).get("model_id", ""))

    def predict(self, context: Any, model_input: pd.DataFrame, params: Any = None) -> pd.DataFrame:
        frame = pd.DataFrame(model_input).reset_index(drop=True)
        if frame.empty:
            raise refuse("no applicant rows in the request; expected at least one")
        try:
            typed, reasons = validate_applicants(frame, self.scorer)
        except ValueError as exc:
            raise refuse(str(exc)) from None
        refused = reasons[reasons != ""]
        if len(refused):
            shown = "; ".join(f"row {i}: {r}" for i, r in refused.head(MAX_REASONS_SHOWN).items())
            raise refuse(
                f"{len(refused)} of {len(frame)} rows refused, no limits returned: {shown}"
            )
        return bundle_output(self.scorer, typed, self.model_id)
