"""The Makefile's targets do not undo each other and remove only what they should."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from .conftest import REPO, TEST_ENV

OUTPUT_DIRS = ("data/interim", "data/processed", "models", "reports")


def git(args: list[str], cwd: Path) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, env={**os.environ, **TEST_ENV},
                          capture_output=True, text=True, check=True)  # fmt: skip
    return done.stdout


def test_make_clean_removes_pipeline_outputs_and_keeps_tracked_files(tmp_path: Path) -> None:
    tracked = [p for p in git(["ls-files", *OUTPUT_DIRS], REPO).split() if p]
    for name in ["Makefile", ".gitignore", *tracked]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, tmp_path / name)
    git(["init", "-q"], tmp_path)
    git(["add", "-A"], tmp_path)
    git(["commit", "-qm", "project"], tmp_path)
    outputs = ["data/interim/accepted.parquet", "models/train/champion.joblib",
               "reports/metrics/evaluate.json", "reports/plots/roc/xgboost.json"]  # fmt: skip
    for name in outputs:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("output")
    (tmp_path / "mlflow.db").write_text("store")
    done = subprocess.run(["make", "clean"], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert not [name for name in outputs if (tmp_path / name).exists()]
    assert [p for p in tracked if not (tmp_path / p).exists()] == []
    assert (tmp_path / "mlflow.db").exists() and git(["status", "--porcelain"], tmp_path) == ""


def test_make_env_keeps_the_lab_group_installed(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    env = {**os.environ, "UV_PROJECT_ENVIRONMENT": str(venv)}
    env.pop("VIRTUAL_ENV", None)
    uv = shutil.which("uv") or str(REPO / ".tools" / "bin" / "uv")
    subprocess.run([uv, "sync", "--frozen", "--group", "lab", "--quiet"], cwd=REPO, env=env,
                   check=True)  # as `make lab` leaves it  # fmt: skip
    done = subprocess.run(["make", "env"], cwd=REPO, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    check = [str(venv / "bin" / "python"), "-c", "import jupyterlab, limitlab"]
    assert subprocess.run(check, capture_output=True).returncode == 0, "make env removed lab"
