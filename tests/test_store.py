from pathlib import Path

import pytest

from limitlab.tracking.store import project_root, tracking_uri


def test_root_is_found_through_a_dvc_queue_temp_copy(tmp_path: Path) -> None:
    (tmp_path / "dvc.yaml").write_text("stages: {}\n")
    temp_copy = tmp_path / ".dvc" / "tmp" / "exps" / "run" / "abc123"
    temp_copy.mkdir(parents=True)
    (temp_copy / "dvc.yaml").write_text("stages: {}\n")
    assert project_root(temp_copy) == tmp_path
    assert tracking_uri(project_root(temp_copy)) == f"sqlite:///{tmp_path}/mlflow.db"


def test_root_is_the_nearest_folder_with_dvc_yaml(tmp_path: Path) -> None:
    (tmp_path / "dvc.yaml").write_text("stages: {}\n")
    (tmp_path / "notebooks").mkdir()
    assert project_root(tmp_path / "notebooks") == tmp_path


def test_environment_overrides_the_store(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5999")
    assert tracking_uri(Path("/anywhere")) == "http://127.0.0.1:5999"


def test_lineage_tags_say_whether_tracked_files_changed(tmp_path: Path) -> None:
    from limitlab.tracking.store import lineage_tags

    from .conftest import run

    (tmp_path / "params.yaml").write_text("a: 1\n")
    run(["git", "init", "-q"], tmp_path)
    run(["git", "add", "params.yaml"], tmp_path)
    run(["git", "commit", "-qm", "first"], tmp_path)
    head = run(["git", "rev-parse", "HEAD"], tmp_path).stdout.strip()
    assert lineage_tags(tmp_path) == {"mlflow.source.git.commit": head, "git.dirty": "false"}
    (tmp_path / "notes.txt").write_text("untracked files do not count\n")
    assert lineage_tags(tmp_path)["git.dirty"] == "false"
    (tmp_path / "params.yaml").write_text("a: 2\n")
    assert lineage_tags(tmp_path)["git.dirty"] == "true"
