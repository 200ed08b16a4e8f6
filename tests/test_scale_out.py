"""Scale-out on real engines: Optuna workers on a journal file and on a real PostgreSQL server,
XGBoost on a Dask LocalCluster, and XGBoost on every train row read in batches.

One worker is killed mid-trial; the study must still end with exactly ``n_trials`` finished
trials, the killed trial failed and run again once, nothing lost or counted twice.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import joblib
import numpy as np
import optuna
import pandas as pd
import pytest
from optuna.storages import JournalStorage, RetryFailedTrialCallback
from optuna.storages.journal import JournalFileBackend
from optuna.trial import TrialState
from sklearn.metrics import roc_auc_score

from limitlab.data.columns import BAD

from .conftest import edit_params, make_project, run, stage_env
from .postgres import postgres_server

pytestmark = [
    pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning"),
    pytest.mark.pipeline,  # builds a project with `dvc repro` and runs `limitlab tune`
]
N_TRIALS = 8
SLOW_TRIALS = {  # about a second a trial on 2 cores: time to kill one mid-trial
    "n_trials": N_TRIALS,
    "max_estimators": 300,
    "early_stopping_rounds": 300,
    "pruning": False,
    "heartbeat_seconds": 1,
    "grace_seconds": 3,
}


@pytest.fixture(scope="module")
def featured(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A synthetic-data project built up to the features stage."""
    root = make_project(tmp_path_factory.mktemp("parallel") / "project")
    edit_params(root, data={"dataset": "synthetic", "synthetic": {"rows": 20_000, "seed": 3}})
    run(["dvc", "repro", "features"], root)
    return root


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    with postgres_server() as url:
        yield url


def _storage(root: Path, url: str | None) -> optuna.storages.BaseStorage:
    if url:
        return optuna.storages.RDBStorage(url)
    return JournalStorage(JournalFileBackend(str(root / "models/tune/study.journal")))


def _kill_a_worker_mid_trial(root: Path, url: str | None, parent: subprocess.Popen) -> int:
    """SIGKILL a worker in the middle of a trial, once it has finished one before."""
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and parent.poll() is None:
        try:
            names = [s.study_name for s in optuna.get_all_study_summaries(_storage(root, url))]
        except Exception:  # the study is not created yet
            names = []
        if names:
            trials = optuna.load_study(study_name=names[0], storage=_storage(root, url)).trials
            finished = [t for t in trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
            workers = {t.user_attrs.get("worker_pid") for t in finished} - {None, parent.pid}
            running = [t for t in trials if t.state == TrialState.RUNNING
                       and t.user_attrs.get("worker_pid") in workers]  # fmt: skip
            if running:
                os.kill(running[0].user_attrs["worker_pid"], signal.SIGKILL)
                return running[0].number
        time.sleep(0.2)
    raise AssertionError(f"no running worker trial to kill; tune exited with {parent.poll()}")


@pytest.mark.parametrize(
    "backend", ["journal", pytest.param("postgresql", marks=pytest.mark.database)]
)
def test_two_workers_finish_exactly_n_trials_after_one_is_killed(
    featured: Path, backend: str, request: pytest.FixtureRequest
) -> None:
    root = featured
    url = request.getfixturevalue("postgres_url") if backend == "postgresql" else None
    (root / "models/tune/study.journal").unlink(missing_ok=True)
    edit_params(root, tune={**SLOW_TRIALS, "storage": url, "seed": 11})
    tune = subprocess.Popen(
        ["limitlab", "tune", "--workers", "2"],
        cwd=root,
        env=stage_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    killed = _kill_a_worker_mid_trial(root, url, tune)
    output, _ = tune.communicate(timeout=600)
    assert tune.returncode == 0, output

    result = json.loads((root / "models/tune/best_params.json").read_text())
    study = optuna.load_study(study_name=result["study_name"], storage=_storage(root, url))
    finished = [t for t in study.trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
    assert len(finished) == N_TRIALS
    assert result["n_trials_complete"] + result["n_trials_pruned"] == N_TRIALS
    figures = json.loads((root / "reports/metrics/tune.json").read_text())
    assert figures["workers"] == 2 and figures["storage"] == ("database" if url else "journal")
    assert study.trials[killed].state == TrialState.FAIL
    retry_of = [
        t.user_attrs.get("retry_of", RetryFailedTrialCallback.retried_trial_number(t))
        for t in finished
    ]
    assert retry_of.count(killed) == 1, "the killed trial ran again exactly once"
    redo = finished[retry_of.index(killed)]
    # the retry reuses every value the killed trial had drawn (a kill during its suggestions
    # leaves some undrawn, and the retry draws those)
    assert study.trials[killed].params.items() <= redo.params.items()
    originals = [t.number for t, r in zip(finished, retry_of, strict=True) if r is None]
    assert len(set(originals)) == len(originals) == N_TRIALS - 1  # none repeated
    pids = {t.user_attrs["worker_pid"] for t in finished}
    assert len(pids) == 2, "both workers finished trials"


@pytest.mark.server
def test_dask_engine_matches_the_local_engine(featured: Path) -> None:
    """XGBoost on a two-worker Dask LocalCluster: test AUC within 0.01 of the local engine (the
    workers' quantile sketches differ from one local sketch, and from run to run with the
    partitions' placement: 0.0066 apart in one run on a loaded machine)."""
    root = featured
    edit_params(root, tune={"storage": None, "n_trials": 3, "pruning": True})
    if not (root / "models/tune/best_params.json").exists():
        run(["limitlab", "tune"], root)
    auc = {}
    for engine in ("local", "dask"):
        edit_params(root, train={"engine": engine, "dask_workers": 2, "families": ["xgboost"]})
        run(["limitlab", "train"], root)
        run(["limitlab", "evaluate"], root)
        evaluate = json.loads((root / "reports/metrics/evaluate.json").read_text())
        auc[engine] = evaluate["models"]["xgboost"]["auc"]
    assert auc["local"] > 0.7
    assert abs(auc["dask"] - auc["local"]) < 0.01, auc


def test_streamed_engine_fits_xgboost_on_every_train_row(featured: Path) -> None:
    """``train.engine: streamed`` with ``train.sample_rows``: the other fits take the sample,
    XGBoost every row of the final-fit splits read in batches. In one batch of the train split
    it is the local engine's model on every train row exactly; on train and valid in several
    batches, within 0.01 of the local engine's test AUC."""
    root = featured
    edit_params(root, tune={"storage": None, "n_trials": 3, "pruning": True})
    if not (root / "models/tune/best_params.json").exists():
        run(["limitlab", "tune"], root)
    settings = {
        "every row, in memory": {"engine": "local", "sample_rows": None, "final_fit": "train"},
        "streamed, one batch": {"engine": "streamed", "sample_rows": 4000,
                                "stream_batch_rows": 1_000_000, "final_fit": "train"},
        "train and valid, in memory": {"engine": "local", "sample_rows": None,
                                       "final_fit": "train_and_valid"},
        "streamed, batches": {"engine": "streamed", "sample_rows": 4000,
                              "stream_batch_rows": 2500, "final_fit": "train_and_valid"},
    }  # fmt: skip
    test = pd.read_parquet(root / "data/processed/test.parquet")
    x, y = test.drop(columns=[BAD]), test[BAD].to_numpy()
    found, trained = {}, {}
    for name, train in settings.items():
        edit_params(root, train={**train, "families": ["xgboost"]})
        run(["limitlab", "train"], root)
        model = joblib.load(root / "models/train/xgboost.joblib")[-1]
        found[name] = model.predict_proba(x)[:, 1]
        trained[name] = json.loads((root / "reports/metrics/train.json").read_text())
    edit_params(
        root, train={"engine": "local", "sample_rows": None, "final_fit": "train_and_valid"}
    )
    assert trained["streamed, batches"]["train_rows"] == 4000
    assert trained["streamed, one batch"]["xgboost_fitted_on"] == "every row of train"
    assert trained["streamed, batches"]["xgboost_fitted_on"] == "every row of train and valid"
    assert trained["every row, in memory"]["train_rows"] > 10_000
    np.testing.assert_array_equal(found["streamed, one batch"], found["every row, in memory"])
    auc = {name: roc_auc_score(y, pd_) for name, pd_ in found.items()}
    assert abs(auc["streamed, batches"] - auc["train and valid, in memory"]) < 0.01, auc
