"""The MLflow run of one pipeline execution, with the Optuna trials as nested child runs."""

from __future__ import annotations

from typing import Any

import mlflow
from matplotlib.figure import Figure
from mlflow.entities import Metric, Param
from mlflow.tracking import MlflowClient

from limitlab.io import flatten
from limitlab.secrets import mask_secrets

MAX_PARAM_LENGTH = 6000


def numeric_metrics(prefix: str, payload: dict) -> dict[str, float]:
    """The numbers of a nested metrics mapping, as ``prefix.key.subkey`` names."""
    return {
        name: float(value)
        for name, value in flatten(payload, prefix).items()
        if isinstance(value, int | float) and not isinstance(value, bool)
    }


def log_params(params: dict[str, Any]) -> None:
    """Log params as strings, credentials in URLs masked."""
    mlflow.log_params({k: mask_secrets(str(v))[:MAX_PARAM_LENGTH] for k, v in params.items()})


def log_figures(figures: dict[str, Figure]) -> None:
    for name, figure in figures.items():
        mlflow.log_figure(figure, f"plots/{name}.png")


def log_trials(
    client: MlflowClient,
    experiment_id: str,
    parent_run_id: str,
    study_name: str,
    trials: list[dict],
    metric: str,
    timings: dict[str, dict],
    prefix: str = "xgboost",
) -> int:
    """Log each trial record (see ``trial_records``) as a child run named
    ``<prefix>-trial-NNN``: its value as ``metric``, real-valued attributes as metrics too, the
    rest as params; its start and end from ``timings`` (see ``trial_timings``) where known.
    Return the count."""
    for trial in trials:
        when = timings.get(str(trial["number"]), {})
        start = when.get("start_ms")
        child = client.create_run(
            experiment_id,
            start_time=start,
            run_name=f"{prefix}-trial-{trial['number']:03d}",
            tags={
                "mlflow.parentRunId": parent_run_id,
                "optuna.study": study_name,
                "optuna.trial": str(trial["number"]),
                "optuna.state": trial["state"],
            },
        )
        run_id = child.info.run_id
        found = {**trial["params"], **trial["user_attrs"]}
        measured = {k: v for k, v in trial["user_attrs"].items() if isinstance(v, float)}
        params = [Param(k, str(v)) for k, v in found.items() if k not in measured]
        if trial["value"] is not None:
            measured[metric] = float(trial["value"])
        metrics = [Metric(k, v, start or 0, 0) for k, v in measured.items()]
        client.log_batch(run_id, metrics=metrics, params=params)
        status = {"FAIL": "FAILED", "PRUNED": "KILLED"}.get(trial["state"], "FINISHED")
        client.set_terminated(run_id, status=status, end_time=when.get("end_ms"))
    return len(trials)


def trials_logged_by(client: MlflowClient, experiment_id: str, study_name: str) -> str | None:
    """The finished pipeline run that already holds this study's trials, if any."""
    children = client.search_runs(
        [experiment_id], filter_string=f"tags.`optuna.study` = '{study_name}'", max_results=100
    )
    for parent in dict.fromkeys(c.data.tags.get("mlflow.parentRunId") for c in children):
        if parent and client.get_run(parent).info.status == "FINISHED":
            return parent
    return None
