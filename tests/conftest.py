"""Shared fixtures: small parameter sets and throw-away project copies with real git and DVC."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PROJECT_FILES = ("dvc.yaml", "params.yaml", "pyproject.toml", "data/raw", "src", "notebooks")
NOTEBOOKS = REPO / "notebooks"
FAST_TUNE = {"n_trials": 3, "max_estimators": 150, "early_stopping_rounds": 20,
             "additive_n_trials": 3, "scorecard": {"n_trials": 3},
             "logistic": {"n_trials": 3}, "random_forest": {"n_trials": 3},
             "spline": {"n_trials": 3}}  # fmt: skip


TEST_ENV = {
    "GIT_AUTHOR_NAME": "limitlab tests",
    "GIT_AUTHOR_EMAIL": "tests@limitlab.invalid",
    "GIT_COMMITTER_NAME": "limitlab tests",
    "GIT_COMMITTER_EMAIL": "tests@limitlab.invalid",
    "DVC_NO_ANALYTICS": "true",
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
}


def stage_env() -> dict[str, str]:
    """The environment of a command: the test tools first on PATH, and no outside store."""
    env = {**os.environ, **TEST_ENV, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    for key in ("MLFLOW_TRACKING_URI", "DVC_EXP_NAME"):
        env.pop(key, None)
    return env


def run(args: list[str], cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    """Run a command with :func:`stage_env`; raise with its output when it fails."""
    env = stage_env()
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if check and done.returncode != 0:
        raise AssertionError(f"{args} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done


def edit_params(root: Path, **sections: dict) -> None:
    """Update sections of ``params.yaml`` in a project copy."""
    path = root / "params.yaml"
    params = yaml.safe_load(path.read_text())
    for name, values in sections.items():
        params.setdefault(name, {}).update(values)
    path.write_text(yaml.safe_dump(params, sort_keys=False))


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("DVC_EXP_NAME", raising=False)
    for key, value in TEST_ENV.items():
        monkeypatch.setenv(key, value)


def make_project(root: Path) -> Path:
    """A copy of the project (pipeline, params, bundled data, code) as its own git + DVC repo."""
    root.mkdir(parents=True, exist_ok=True)
    for name in PROJECT_FILES:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, root / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, root / name)
    tracked = subprocess.run(["git", "ls-files", "*.gitignore"], cwd=REPO, capture_output=True,
                             text=True, check=True).stdout.split()  # fmt: skip
    for name in [t for t in tracked if not t.startswith(".dvc/")]:  # as a clone has them
        # (an uncached DVC output, reports/register/bundle.json, is ignored only there)
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, root / name)
    edit_params(root, tune=FAST_TUNE)
    run(["git", "init", "-q", "-b", "main"], root)
    run(["dvc", "init", "-q"], root)
    shutil.copytree(REPO / ".dvc" / "plots", root / ".dvc" / "plots")  # the plot templates
    run(["dvc", "config", "core.analytics", "false"], root)
    run(["git", "add", "-A"], root)
    run(["git", "commit", "-qm", "test project"], root)
    return root


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project(tmp_path / "project")


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Work in an empty temporary folder (stages write relative to the working directory)."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def execute_notebook(
    path: Path, parameters: dict[str, str] | None = None, allow_errors: bool = False
) -> object:
    """Run a notebook top to bottom in its folder with the test environment's kernel.

    ``parameters`` replaces assignments in the cell that starts with ``# Parameters``.
    """
    import nbformat
    from nbclient import NotebookClient

    book = nbformat.read(path, as_version=4)
    for cell in book.cells:
        if cell.cell_type == "code" and cell.source.startswith("# Parameters"):
            for name, value in (parameters or {}).items():
                cell.source += f"\n{name} = {value}"
    client = NotebookClient(
        book,
        timeout=900,
        kernel_name="python3",
        allow_errors=allow_errors,
        resources={"metadata": {"path": str(path.parent)}},
    )
    saved = dict(os.environ)
    os.environ.update(stage_env())  # the kernel inherits this process's environment
    # ... but not the environment's tools on PATH: a kernel started outside `make lab` has
    # no `dvc` or `limitlab` command, so the notebooks must not need one
    os.environ["PATH"] = os.pathsep.join(
        p for p in saved.get("PATH", "").split(os.pathsep) if p and Path(p) != BIN
    )
    try:
        client.execute()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return book


@pytest.fixture
def fresh_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty MLflow SQLite store in ``tmp_path``, made MLflow's current one for the test
    (also over a store another test set with ``mlflow.set_tracking_uri``)."""
    import mlflow

    store = tmp_path / "mlflow.db"
    uri = f"sqlite:///{store}"
    previous = mlflow.get_tracking_uri()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    mlflow.set_tracking_uri(uri)
    yield store
    mlflow.set_tracking_uri(previous)
