"""The CLI stops on bad input with one clear line naming the file, column or key."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .conftest import edit_params, run


def test_missing_file_stops_ingest_with_its_name(project: Path) -> None:
    edit_params(project, data={"dataset": "custom", "path": "data/raw/none.csv",
                               "target": "y", "bad_value": 1})  # fmt: skip
    done = run(["limitlab", "ingest"], project, check=False)
    assert done.returncode == 2
    assert "data/raw/none.csv: data file not found" in done.stderr
    assert "Traceback" not in done.stderr


def test_invalid_params_value_stops_with_the_key(project: Path) -> None:
    edit_params(project, split={"seed": "forty-two"})
    done = run(["limitlab", "split"], project, check=False)
    assert done.returncode == 2
    assert "split.seed" in done.stderr and "forty-two" in done.stderr


def test_too_many_refused_rows_stop_ingest_but_keep_the_quarantine(project: Path) -> None:
    frame = pd.read_csv(project / "data/raw/credit_scoring.csv", dtype=str)
    frame.loc[: len(frame) // 3, "Income"] = "unknown"
    frame.to_csv(project / "data/raw/credit_scoring.csv", index=False)
    done = run(["limitlab", "ingest"], project, check=False)
    assert done.returncode == 2
    assert "rows refused" in done.stderr and "Income:not_a_number" in done.stderr
    quarantine = pd.read_parquet(project / "data/interim/quarantine.parquet")
    assert len(quarantine) == len(frame) // 3 + 1
    assert quarantine["reason"].str.contains("Income: 'unknown' is not a number").all()


def test_promoting_an_unknown_version_is_one_line(
    project: Path,
) -> None:
    done = run(["limitlab", "promote", "7", "--reason", "by hand"], project, check=False)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr
    assert "registered model 'limitlab-pd' has no version '7'; expected one of []" in lines[0]


def test_a_stage_of_a_second_pipeline_is_refused_while_the_first_runs(project: Path) -> None:
    import subprocess
    import sys

    import psutil

    from limitlab.pipeline_lock import lock_path

    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        started = psutil.Process(other.pid).create_time()
        lock_path(project).write_text(f"{other.pid}:{started:.3f}")
        done = run(["limitlab", "ingest"], project, check=False)
        assert done.returncode == 2
        assert f"another pipeline (process {other.pid}) is running in" in done.stderr
        assert not (project / "data/interim/accepted.parquet").exists()
    finally:
        other.kill()
        other.wait()
    done = run(["limitlab", "ingest"], project, check=False)  # a stale claim is taken over
    assert done.returncode == 0, done.stderr
    assert not lock_path(project).exists()  # run by hand: held for the stage only


def test_a_stage_run_before_its_inputs_exist_names_the_missing_file(project: Path) -> None:
    done = run(["limitlab", "train"], project, check=False)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: data/interim/spec.json: not found; `limitlab train` expected it from an earlier "
        "stage (run `dvc repro`, which runs the stages in order)"
    ]
