"""Credentials never reach the MLflow store: URLs in params are logged with the password masked."""

from __future__ import annotations

from pathlib import Path

import mlflow
import pytest

from limitlab.tracking.runs import log_params, mask_secrets


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("postgresql://optuna:s3cr3t@db:5432/optuna", "postgresql://optuna:***@db:5432/optuna"),
        ("postgresql+psycopg://u:p%40ss@h/db", "postgresql+psycopg://u:***@h/db"),
        ("redis://:pw@h:6379", "redis://:***@h:6379"),
        ("sqlite:///x.db", "sqlite:///x.db"),
        ("http://host:5000/path", "http://host:5000/path"),
        ("models/tune/study.journal", "models/tune/study.journal"),
    ],
)
def test_passwords_in_urls_are_masked(url: str, masked: str) -> None:
    assert mask_secrets(url) == masked


def test_a_password_in_params_is_not_in_the_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = tmp_path / "mlflow.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{store}")
    experiment = mlflow.create_experiment("t", artifact_location=(tmp_path / "a").as_uri())
    with mlflow.start_run(experiment_id=experiment) as run:
        log_params({"tune.storage": "postgresql://optuna:hunter2-secret@db/optuna", "a": 1})
    logged = mlflow.get_run(run.info.run_id).data.params
    assert logged["tune.storage"] == "postgresql://optuna:***@db/optuna"
    assert b"hunter2-secret" not in store.read_bytes()
