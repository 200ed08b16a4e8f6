"""The MLflow pyfunc bundle: raw applicant rows in; PD, grade, limit, caps and reasons out.

Rows that fail validation make the whole request fail with a 4xx answer naming the row, the
field and the problem (``INVALID_PARAMETER_VALUE``); no limit is ever returned for them. The
answer carries that one message only: no stack trace and none of the submitted rows.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path
from typing import Any

import mlflow.pyfunc
import numpy as np
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INTERNAL_ERROR, INVALID_PARAMETER_VALUE

from limitlab.allocator import keep_freed_memory
from limitlab.data.lookup import text_column
from limitlab.errors import StateError
from limitlab.limits.reasons import REASON_COLUMNS
from limitlab.serving.scorer import Scorer
from limitlab.serving.validate import validate_applicants

OUTPUT_COLUMNS = (
    "pd", "grade", "decision", "limit", "product", "binding_cap", "knockouts", "adverse_action",
    "daily_cap", "monthly_cap", *REASON_COLUMNS,
)  # fmt: skip
REVIEW_COLUMNS = ("action", "current_limit", "new_limit", "review_reason_1", "review_reason_2",
                  "review_reason_3", "review_reason_4")  # fmt: skip
TEST_COLUMNS = ("cell", "strategy")  # under a strategy test
MAX_REASONS_SHOWN = 5
MAX_ROWS_VARIABLE = "LIMITLAB_SERVE_MAX_ROWS"  # set by `limitlab serve`; no limit when unset
log = logging.getLogger(__name__)


def bundle_output(
    scorer: Scorer, frame: pd.DataFrame, model_id: str = "", version: str = ""
) -> pd.DataFrame:
    """The served columns of the scorer's decisions, and which model made them.

    A behavioural model (its policy has review rules) also returns the review action, the new
    limit and the review reasons for each account snapshot; under a strategy test, every row
    says its cell and the strategy that decided it.
    """
    tested = list(TEST_COLUMNS) if scorer.policy.test is not None else []
    if scorer.policy.review is not None:
        decided, columns = scorer.review(frame), [*OUTPUT_COLUMNS, *REVIEW_COLUMNS, *tested]
    else:
        decided, columns = scorer.decide(frame), [*OUTPUT_COLUMNS, *tested]
    out: dict[str, Any] = {name: decided[name] for name in columns}
    for name in REASON_COLUMNS:  # no reasons owed: null in JSON, not NaN
        values = decided[name].to_numpy(dtype=object)
        out[name] = text_column(np.where(pd.isna(values), None, values), decided.index)
    return pd.DataFrame({**out, "model_version": version, "model_id": model_id},
                        index=decided.index)  # fmt: skip


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


class Refusal(MlflowException):
    """An answer the server sends as it is: MLflow's scoring server prefixes the message of an
    error raised in ``predict`` with the submitted rows, so the message here cannot be replaced."""

    def __init__(self, message: str, status: int = 400, error_code: int = INVALID_PARAMETER_VALUE):
        super().__init__(message, error_code=error_code)
        self.status = status

    @property
    def message(self) -> str:
        return self._refusal

    @message.setter
    def message(self, value: str) -> None:
        if not hasattr(self, "_refusal"):  # the first value, from __init__; later ones dropped
            self._refusal = value

    def get_http_status_code(self) -> int:
        return self.status


def refuse(message: str, status: int = 400) -> Refusal:
    return Refusal(message, status)


def max_rows() -> int | None:
    """The serving row limit, from the environment (``None``: no limit)."""
    value = os.environ.get(MAX_ROWS_VARIABLE, "").strip()
    if not value:
        return None
    if not value.isdigit() or int(value) < 1:
        raise StateError(f"{MAX_ROWS_VARIABLE}={value!r}; expected a positive whole number")
    return int(value)


class LimitModel(mlflow.pyfunc.PythonModel):
    """Wraps :class:`Scorer`; its artifacts are the stage outputs it was built from."""

    def load_context(self, context: Any) -> None:
        a = context.artifacts
        config = context.model_config or {}
        keep_freed_memory()  # a server process: batches reuse freed arrays' pages
        check_digests(a, config.get("artifact_sha256") or {})
        self.scorer = Scorer.load(a["spec"], a["model"], a["policy"])
        self.model_id = str(config.get("model_id", ""))
        self.version = registered_version(str(config.get("registered_name", "")), self.model_id)
        self.max_rows = max_rows()

    def predict(self, context: Any, model_input: pd.DataFrame, params: Any = None) -> pd.DataFrame:
        try:
            return self._decide(model_input)
        except Refusal:
            raise
        except Exception:  # a defect, not bad input: the log has it, the client one line
            log.exception("scoring failed")
            raise Refusal("internal error while scoring; see the server log", 500,
                          INTERNAL_ERROR) from None  # fmt: skip

    def _decide(self, model_input: Any) -> pd.DataFrame:
        if not isinstance(model_input, pd.DataFrame):
            raise refuse("expected applicant rows as a table (dataframe_split or "
                         f"dataframe_records), got {type(model_input).__name__}")  # fmt: skip
        frame = model_input.reset_index(drop=True)
        if frame.empty:
            raise refuse("no applicant rows in the request; expected at least one")
        limit = getattr(self, "max_rows", None)
        if limit is not None and len(frame) > limit:
            raise refuse(
                f"{len(frame):,} rows in one request; the limit is {limit:,} "
                "(score files with `limitlab score`)",
                413,
            )
        duplicated = sorted(set(frame.columns[frame.columns.duplicated()]))
        if duplicated:
            raise refuse(f"column(s) {duplicated} appear more than once; expected each once")
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
