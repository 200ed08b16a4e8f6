"""Compare pipeline runs: MLflow runs and DVC experiments side by side, curves, band tables."""

from __future__ import annotations

import json
import os
from pathlib import Path

import mlflow
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from limitlab.errors import LimitlabError
from limitlab.tracking.store import tracking_uri

PARENT_TAG = "tags.mlflow.parentRunId"
HEADLINE = ("evaluate.auc", "evaluate.ks", "evaluate.brier", "evaluate.ece",
            "limits.approval_rate", "limits.total_limit", "limits.expected_loss",
            "limits.expected_profit")  # fmt: skip


class RunNotFoundError(LimitlabError, LookupError):
    """A run id (or experiment) asked for is not in the MLflow store."""


def client(root: Path) -> MlflowClient:
    """A client of the project's store (also made MLflow's current store)."""
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    mlflow.set_tracking_uri(tracking_uri(root))
    return MlflowClient()


def pipeline_runs(root: Path, experiment: str = "limitlab") -> pd.DataFrame:
    """One row per pipeline execution (Optuna trial child runs left out), newest first."""
    store = client(root)
    found = store.get_experiment_by_name(experiment)
    if found is None:
        names = [e.name for e in store.search_experiments()]
        raise RunNotFoundError(
            f"experiment {experiment!r} is not in {tracking_uri(root)}; experiments: {names}"
        )
    runs = mlflow.search_runs([found.experiment_id], order_by=["attributes.start_time DESC"])
    if PARENT_TAG in runs:
        runs = runs[runs[PARENT_TAG].isna()]
    return runs.reset_index(drop=True)


def metric_table(runs: pd.DataFrame, metrics: tuple[str, ...] = HEADLINE) -> pd.DataFrame:
    """Headline metrics of each run, one row per run, labelled by DVC experiment or run name."""
    label = runs.get("tags.dvc.experiment", pd.Series(index=runs.index, dtype=object))
    label = label.fillna(runs["tags.mlflow.runName"])
    columns = {f"metrics.{m}": m for m in metrics if f"metrics.{m}" in runs}
    table = runs[["run_id", *columns]].rename(columns=columns)
    return table.assign(run=label.to_numpy()).set_index("run")


def check_run(root: Path, run_id: str) -> mlflow.entities.Run:
    """The run, or a one-line error naming the id and the runs that exist."""
    try:
        return client(root).get_run(run_id)
    except MlflowException:
        known = pipeline_runs(root)["run_id"].head(5).tolist()
        raise RunNotFoundError(
            f"run {run_id!r} is not in {tracking_uri(root)}; newest pipeline runs: {known}"
        ) from None


def run_json(root: Path, run_id: str, artifact: str) -> pd.DataFrame:
    """A JSON table logged with a run (for example ``plots/data/roc/xgboost.json``)."""
    check_run(root, run_id)
    try:
        local = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=artifact)
    except (MlflowException, OSError):
        raise RunNotFoundError(f"run {run_id!r} has no artifact {artifact!r}") from None
    return pd.DataFrame(json.loads(Path(local).read_text()))


def champion_curve(root: Path, run_id: str, kind: str) -> pd.DataFrame:
    """The champion's ROC (``roc``) or calibration (``calibration``) points of a run."""
    run = check_run(root, run_id)
    champion = run.data.tags["champion"]
    name = "champion_calibrated" if kind == "calibration" else champion
    return run_json(root, run_id, f"plots/data/{kind}/{name}.json")


def band_table_diff(root: Path, run_a: str, run_b: str) -> pd.DataFrame:
    """Band tables of two runs by grade, and B minus A for counts, limits, EL and profit."""
    columns = ["count", "approved", "total_limit", "expected_loss", "expected_profit"]
    a = run_json(root, run_a, "plots/data/band_table.json").set_index("grade")[columns]
    b = run_json(root, run_b, "plots/data/band_table.json").set_index("grade")[columns]
    diff = (b - a).add_suffix("_change")
    return pd.concat([a.add_suffix("_a"), b.add_suffix("_b"), diff], axis=1)


def dvc_experiments(root: Path) -> pd.DataFrame:
    """The table of ``dvc exp show`` (through ``dvc.api.exp_show``): one row per commit or
    experiment, indexed by the experiment's name (the commit's short id for a commit), with the
    params and metrics under the column names ``dvc exp show`` prints."""
    import dvc.api

    rows = dvc.api.exp_show(str(root))
    table = pd.DataFrame(rows)
    revs = table["rev"].where(~table["rev"].str.fullmatch("[0-9a-f]{40}"), table["rev"].str[:7])
    names = table["Experiment"].where(table["Experiment"].notna(), revs)
    return table.assign(experiment=names).set_index("experiment")
