"""Where the MLflow store is.

The default is a SQLite store at the project root, ``sqlite:///<root>/mlflow.db``, with
artifacts in ``<root>/mlartifacts``. A ``dvc exp run --queue`` experiment runs in a temporary
copy below ``<root>/.dvc/tmp/exps``; the root is resolved through that copy, so queued
experiments log to the main store. ``MLFLOW_TRACKING_URI`` overrides the store.
"""

from __future__ import annotations

import logging
import os
import subprocess
from pathlib import Path

import mlflow

DB_NAME = "mlflow.db"
ARTIFACTS_NAME = "mlartifacts"
_EXPS_MARKER = (".dvc", "tmp", "exps")


def project_root(start: Path | None = None) -> Path:
    """The main project folder: the nearest folder with ``dvc.yaml``, outside DVC's temp copies."""
    here = (start or Path.cwd()).resolve()
    parts = here.parts
    for i in range(len(parts) - len(_EXPS_MARKER) + 1):
        if parts[i : i + len(_EXPS_MARKER)] == _EXPS_MARKER:
            return Path(*parts[:i])
    for folder in (here, *here.parents):
        if (folder / "dvc.yaml").is_file():
            return folder
    return here


def tracking_uri(root: Path | None = None) -> str:
    """``MLFLOW_TRACKING_URI`` if set, else the project's SQLite store (an absolute path)."""
    override = os.environ.get("MLFLOW_TRACKING_URI")
    if override:
        return override
    return f"sqlite:///{(root or project_root()) / DB_NAME}"


def artifact_root(root: Path | None = None) -> str:
    """Artifact location for experiments created in the embedded store (a file URI)."""
    return ((root or project_root()) / ARTIFACTS_NAME).as_uri()


def use_project_store(experiment: str, root: Path | None = None) -> str:
    """Point MLflow at the project's store and experiment; return the experiment id.

    MLflow's own INFO lines (creating the store's tables) are silenced: a command prints its
    result, or one line of error.
    """
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    embedded = not os.environ.get("MLFLOW_TRACKING_URI")  # read before set_tracking_uri sets it
    mlflow.set_tracking_uri(tracking_uri(root))
    found = mlflow.get_experiment_by_name(experiment)
    if found is not None:
        return found.experiment_id
    location = artifact_root(root) if embedded else None
    return mlflow.create_experiment(experiment, artifact_location=location)


def lineage_tags(workdir: Path) -> dict[str, str]:
    """Git commit, whether the tree was dirty, and the DVC experiment name, as MLflow tags."""
    tags = _git_state(workdir)
    exp_name = os.environ.get("DVC_EXP_NAME")
    if exp_name:
        tags["dvc.experiment"] = exp_name
    return tags


def _git_state(root: Path) -> dict[str, str]:

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=False)
        return done.stdout.strip() if done.returncode == 0 else ""

    commit = git("rev-parse", "HEAD")
    if not commit:
        return {}
    dirty = git("status", "--porcelain", "--untracked-files=no")
    return {"mlflow.source.git.commit": commit, "git.dirty": str(bool(dirty)).lower()}
