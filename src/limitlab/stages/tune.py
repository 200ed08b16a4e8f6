"""``limitlab tune [--workers N]``: Optuna over XGBoost in a persistent, resumable study."""

from __future__ import annotations

import os
import time

import pandas as pd

from limitlab import paths
from limitlab.config import Params, TuneParams
from limitlab.data.columns import BAD
from limitlab.data.specs import DatasetSpec
from limitlab.errors import StateError
from limitlab.io import write_json
from limitlab.models.families import monotone_constraints
from limitlab.models.tuning import (
    SURPLUS,
    fail_interrupted_trials,
    finished_trials,
    frame_digest,
    is_database,
    open_storage,
    open_study,
    run_workers,
    stratified_sample,
    study_name,
    trial_records,
    trial_timings,
    tune,
    work,
)
from limitlab.stages.common import load_xy

PARAMS = ("tune", "train.monotone")
CODE = ("config.py", "data", "errors.py", "features", "io.py", "models", "paths.py",
        "secrets.py", "stages/common.py")  # fmt: skip


def tuning_data(p: TuneParams) -> tuple[tuple, tuple]:
    """Train and validation matrices, stratified-sampled to ``tune.sample_rows``."""
    return tuple(stratified_sample(*load_xy(n), p.sample_rows, p.seed) for n in ("train", "valid"))


def _worker(p: TuneParams, name: str, monotone: dict[str, int], threads: int, index: int) -> None:
    """One spawned tuning worker."""
    study = open_study(open_storage(p, paths.STUDY_JOURNAL), name, p, worker=index)
    work(study, p, *tuning_data(p), monotone, threads=threads)


def run(params: Params, workers: int | None = None) -> dict:
    """Run the study to ``tune.n_trials`` finished trials with ``workers`` (default
    ``tune.workers``) processes; write the best trial and every trial's record."""
    spec = DatasetSpec.from_json(paths.SPEC)
    frames = [pd.read_parquet(paths.features_path(n)) for n in ("train", "valid")]
    columns = list(frames[1].columns.drop(BAD))
    monotone = monotone_constraints(columns, spec) if params.train.monotone else {}
    name = study_name(frame_digest(*frames), params.tune, monotone)
    del frames
    study = open_study(open_storage(params.tune, paths.STUDY_JOURNAL), name, params.tune)
    n_workers = workers or params.tune.workers
    started = time.perf_counter()
    run_info: dict = {}
    if n_workers == 1:
        study = tune(study, params.tune, *tuning_data(params.tune), monotone)
    else:
        if not is_database(params.tune.storage):
            fail_interrupted_trials(study)
        threads = max(1, (os.cpu_count() or 1) // n_workers)  # do not oversubscribe the cores
        run_info = run_workers(n_workers, _worker, (params.tune, name, monotone, threads), study)
    seconds = time.perf_counter() - started
    finished = len(finished_trials(study))
    if finished < params.tune.n_trials and not params.tune.timeout_seconds:
        raise StateError(
            f"tune: {finished} of {params.tune.n_trials} trials finished in study {name!r}; "
            f"workers exited with {run_info.get('exit_codes')}. Run `limitlab tune` again to "
            "resume the study"
        )
    best = study.best_trial
    states = [t.state.name for t in study.trials]
    surplus = sum(bool(t.user_attrs.get(SURPLUS)) for t in study.trials)
    result = {
        "study_name": name,
        "best_trial": best.number,
        "best_valid_auc": best.value,
        "n_trials_complete": states.count("COMPLETE"),
        "n_trials_pruned": states.count("PRUNED"),
        "n_trials_failed": states.count("FAIL") - surplus,
        "n_trials_surplus": surplus,
        "params": best.params,
        "n_estimators": best.user_attrs["n_estimators"],
        "monotone": monotone,
    }
    write_json(paths.BEST_PARAMS, result)  # a pure function of the study: reruns change nothing
    write_json(paths.TRIALS, trial_records(study))
    setup = {
        "workers": n_workers,
        "storage": "database" if is_database(params.tune.storage) else "journal",
    }
    write_json(paths.metrics_path("tune"), {k: result[k] for k in list(result)[:7]} | setup)
    timings = {"seconds": round(seconds, 3), "trials": trial_timings(study)}
    write_json(paths.TUNE_TIMINGS, timings)  # not a DVC output: timings differ run to run
    return result | setup | {"seconds": timings["seconds"]}
