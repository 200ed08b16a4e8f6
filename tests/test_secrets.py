"""Credentials never reach the MLflow store: URLs in params are logged with the password masked."""

from __future__ import annotations

from pathlib import Path

import mlflow
import pytest

from limitlab.secrets import mask_secrets
from limitlab.tracking.runs import log_params


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


def test_a_password_in_params_is_not_in_the_store(tmp_path: Path, fresh_store: Path) -> None:
    store = fresh_store
    experiment = mlflow.create_experiment("t", artifact_location=(tmp_path / "a").as_uri())
    with mlflow.start_run(experiment_id=experiment) as run:
        log_params({"tune.storage": "postgresql://optuna:hunter2-secret@db/optuna", "a": 1})
    logged = mlflow.get_run(run.info.run_id).data.params
    assert logged["tune.storage"] == "postgresql://optuna:***@db/optuna"
    assert b"hunter2-secret" not in store.read_bytes()


def test_an_unreachable_study_database_is_one_line_without_the_password(tmp_path: Path) -> None:
    from limitlab.config import TuneParams
    from limitlab.errors import StateError
    from limitlab.models.tuning import open_storage

    url = "postgresql://optuna:hunter2-secret@127.0.0.1:1/optuna"  # nothing listens on port 1
    with pytest.raises(StateError) as refused:
        open_storage(TuneParams(storage=url), tmp_path / "study.journal")
    message = str(refused.value)
    assert message.startswith("tune.storage postgresql://optuna:***@127.0.0.1:1/optuna: cannot")
    assert "hunter2" not in message and "\n" not in message
