"""The MLflow pyfunc bundle: raw applicant rows in; PD, grade, limit, caps and reasons out.

Rows that fail validation make the whole request fail with a 4xx answer naming the row, the
field and the problem (``INVALID_PARAMETER_VALUE``); no limit is ever returned for them.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import mlflow.pyfunc
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE

from limitlab.errors import StateError
from limitlab.limits.reasons import REASON_COLUMNS
from limitlab.serving.scorer import Scorer
from limitlab.serving.validate import validate_applicants

OUTPUT_COLUMNS = (
    "pd", "grade", "decision", "limit", "product", "binding_cap", "daily_cap", "monthly_cap",
    *REASON_COLUMNS,
)  # fmt: skip
REVIEW_COLUMNS = ("action", "current_limit", "new_limit", "review_reason_1", "review_reason_2",
                  "review_reason_3", "review_reason_4")  # fmt: skip
MAX_REASONS_SHOWN = 5


def bundle_output(
    scorer: Scorer, frame: pd.DataFrame, model_id: str = "", version: str = ""
) -> pd.DataFrame:
    """The served columns of the scorer's decisions, and which model made them.

    A behavioural model (its policy has review rules) also returns the review action, the new
    limit and the review reasons for each account snapshot.
    """
    if scorer.policy.review is not None:
        decisions = scorer.review(frame)[[*OUTPUT_COLUMNS, *REVIEW_COLUMNS]]
    else:
        decisions = scorer.decide(frame)[list(OUTPUT_COLUMNS)]
    return decisions.assign(model_version=version, model_id=model_id)


def registered_version(name: str, model_id: str) -> str:
    """The registry version whose ``model_id`` tag is this model's ('' when not reachable)."""
    if not name or not model_id:
        return ""
    try:
        from mlflow.tracking import MlflowClient

        found = MlflowClient().search_model_versions(f"name = '{name}'")
        return next(
            (f"{name}/{v.version}" for v in found if v.tags.get("model_id") == model_id), ""
        )
    except Exception:  # serving must not fail because the registry is out of reach
        return ""


def artifact_digests(artifacts: dict[str, Any]) -> dict[str, str]:
    """SHA-256 of each artifact file, logged with the model at registration."""
    return {name: hashlib.sha256(Path(p).read_bytes()).hexdigest() for name, p in artifacts.items()}


def check_digests(artifacts: dict[str, Any], expected: dict[str, str]) -> None:
    """Refuse to unpickle a model whose files differ from the ones registered."""
    found = artifact_digests({name: artifacts[name] for name in expected if name in artifacts})
    changed = sorted(name for name, digest in expected.items() if found.get(name) != digest)
    if changed:
        raise StateError(
            f"model artifact(s) {changed} differ from the digests logged at registration; "
            "expected the files as registered (not loading them: a changed pickle can run code)"
        )


def refuse(message: str) -> MlflowException:
    return MlflowException(message, error_code=INVALID_PARAMETER_VALUE)


class LimitModel(mlflow.pyfunc.PythonModel):
    """Wraps :class:`Scorer`; its artifacts are the stage outputs it was built from."""

    def load_context(self, context: Any) -> None:
        a = context.artifacts
        config = context.model_config or {}
        check_digests(a, config.get("artifact_sha256") or {})
        self.scorer = Scorer.load(a["spec"], a["model"], a["policy"])
        self.model_id = str(config.get("model_id", ""))
        self.version = registered_version(str(config.get("registered_name", "")), self.model_id)

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
        return bundle_output(self.scorer, typed, self.model_id, self.version)
