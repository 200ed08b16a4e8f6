"""What a killed ``register`` leaves in MLflow is closed by the next one, and a half-made model
version can never be promoted (real MLflow SQLite store)."""

from __future__ import annotations

from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from limitlab.errors import StateError
from limitlab.processes import process_claim
from limitlab.tracking.registry import GATES_TAG, INCOMPLETE, PROCESS_TAG, clean_up_interrupted
from limitlab.tracking.registry import promote as promote_version

NAME = "limitlab-pd"


def test_a_killed_registration_is_closed_and_its_version_never_promoted(
    tmp_path: Path, fresh_store: Path
) -> None:
    client = MlflowClient()
    experiment = client.create_experiment("t", artifact_location=(tmp_path / "a").as_uri())
    dead = client.create_run(experiment, tags={PROCESS_TAG: "999999:1.000"})  # no such process
    live = client.create_run(experiment, tags={PROCESS_TAG: process_claim()})  # this test
    client.create_registered_model(NAME)
    source = (tmp_path / "model").as_uri()
    whole = client.create_model_version(NAME, source, run_id=live.info.run_id)
    client.set_model_version_tag(NAME, whole.version, GATES_TAG, "failed")
    half = client.create_model_version(NAME, source, run_id=dead.info.run_id)

    closed = clean_up_interrupted(client, experiment, NAME)

    assert closed == {"runs_failed": [dead.info.run_id], "versions_incomplete": [half.version]}
    assert client.get_run(dead.info.run_id).info.status == "FAILED"
    assert client.get_run(live.info.run_id).info.status == "RUNNING"
    assert client.get_model_version(NAME, half.version).tags[GATES_TAG] == INCOMPLETE
    with pytest.raises(StateError, match=f"version {half.version} was not fully registered"):
        promote_version(client, NAME, half.version, "by hand")
    promote_version(client, NAME, whole.version, "failed gates, promoted with a reason")
    assert client.get_model_version_by_alias(NAME, "champion").version == whole.version
    assert clean_up_interrupted(client, experiment, NAME) == {
        "runs_failed": [],
        "versions_incomplete": [],
    }
