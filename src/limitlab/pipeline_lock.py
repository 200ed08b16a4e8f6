"""One pipeline at a time in a project folder.

DVC runs each stage as its own process and does not stop a second ``dvc repro`` from running
stages while the first is between or inside its own. Every ``limitlab <stage>`` therefore claims
the project for the pipeline it belongs to: the nearest ``dvc`` process above it (or the stage
itself, when run by hand). A stage of another live pipeline is refused; a claim whose process has
ended is taken over.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil

from limitlab.errors import StateError
from limitlab.processes import process_alive, process_claim

LOCK_NAME = "limitlab-pipeline.lock"


def lock_path(root: Path) -> Path:
    folder = root / ".dvc" / "tmp" if (root / ".dvc").is_dir() else root
    folder.mkdir(parents=True, exist_ok=True)
    return folder / LOCK_NAME


def pipeline_owner() -> psutil.Process:
    """The ``dvc`` process this stage runs under, or this process."""
    for process in psutil.Process().parents():
        try:
            command = " ".join(process.cmdline()[:3])
        except psutil.Error:
            continue
        if process.name() == "dvc" or "dvc" in command.split("/")[-1].split():
            return process
    return psutil.Process()


@contextmanager
def pipeline_lock(root: Path = Path(".")) -> Iterator[None]:
    """Hold the project for this stage's pipeline; refuse while another pipeline holds it."""
    owner = pipeline_owner()
    mine = process_claim(owner)
    path = lock_path(root)
    with open(path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        handle.seek(0)
        held = handle.read().strip()
        if held and held != mine and process_alive(held):
            raise StateError(
                f"another pipeline (process {held.split(':')[0]}) is running in "
                f"{root.resolve()}; expected one pipeline at a time: wait for it to finish, or "
                "stop it"
            )
        handle.seek(0)
        handle.truncate()
        handle.write(mine)
    try:
        yield
    finally:
        if owner.pid == os.getpid():  # a stage run by hand holds the project for itself only
            path.unlink(missing_ok=True)
