"""The MLflow run of one pipeline execution, with the Optuna trials as nested child runs."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import mlflow
import optuna
from matplotlib.figure import Figure
from mlflow.entities import Metric, Param, RunTag
from mlflow.tracking import MlflowClient
from optuna.trial import TrialState

MAX_PARAM_LENGTH = 6000


def numeric_metrics(prefix: str, payload: Any) -> dict[str, float]:
    """Flatten the numbers of a nested metrics mapping to ``prefix.key.subkey`` names."""
    out: dict[str, float] = {}
    if isinstance(payload, dict):
        for key, value in payload.items():
            out.update(numeric_metrics(f"{prefix}.{key}" if prefix else str(key), value))
    elif isinstance(payload, bool):
        pass
    elif isinstance(payload, int | float):
        out[prefix] = float(payload)
    return out


def log_params(params: dict[str, Any]) -> None:
    mlflow.log_params({k: str(v)[:MAX_PARAM_LENGTH] for k, v in params.items()})


def log_figures(figures: dict[str, Figure]) -> None:
    for name, figure in figures.items():
        mlflow.log_figure(figure, f"plots/{name}.png")


def _ms(moment: datetime | None) -> int | None:
    return int(moment.timestamp() * 1000) if moment else None


def log_trials(
    client: MlflowClient,
    experiment_id: str,
    parent_run_id: str,
    study: optuna.Study,
    metric: str,
) -> int:
    """Log each finished trial of ``study`` as a child of ``parent_run_id``; return the count."""
    trials: Iterable[optuna.trial.FrozenTrial] = study.get_trials(
        deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)
    )
    count = 0
    for trial in trials:
        start = _ms(trial.datetime_start)
        child = client.create_run(
            experiment_id,
            start_time=start,
            run_name=f"trial-{trial.number:03d}",
            tags={
                "mlflow.parentRunId": parent_run_id,
                "optuna.study": study.study_name,
                "optuna.trial": str(trial.number),
                "optuna.state": trial.state.name,
            },
        )
        run_id = child.info.run_id
        params = [Param(k, str(v)) for k, v in trial.params.items()]
        params += [Param(k, str(v)) for k, v in trial.user_attrs.items()]
        metrics = []
        if trial.value is not None:
            metrics.append(Metric(metric, float(trial.value), start or 0, 0))
        tags = []
        if trial.duration is not None:
            tags.append(RunTag("optuna.duration_seconds", str(trial.duration.total_seconds())))
        client.log_batch(run_id, metrics=metrics, params=params, tags=tags)
        status = "FINISHED" if trial.state != TrialState.FAIL else "FAILED"
        client.set_terminated(run_id, status=status, end_time=_ms(trial.datetime_complete))
        count += 1
    return count
