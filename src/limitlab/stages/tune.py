"""``limitlab tune [--workers N]``: Optuna over XGBoost, the additive family (XGBoost with one
column per tree), the scorecard's binning, the logistic regression's regularisation, the spline
family's knots and smoothing and the random forest's trees, each in a persistent, resumable
study of its own (N workers share XGBoost's)."""

from __future__ import annotations

import os
import time

import joblib
import optuna

from limitlab import paths
from limitlab.config import Params, TrainParams, TuneParams
from limitlab.data.columns import BAD
from limitlab.data.specs import DatasetSpec
from limitlab.errors import StateError
from limitlab.io import write_json
from limitlab.models.families import monotone_constraints
from limitlab.models.fit import TrainingSet
from limitlab.models.linear_tuning import tune_linear
from limitlab.models.tuning import (
    best_of,
    fail_interrupted_trials,
    finished_trials,
    frame_digest,
    is_database,
    open_storage,
    open_study,
    run_workers,
    study_key,
    study_name,
    trial_records,
    trial_timings,
    tune,
    tune_additive,
    work,
    xgboost_objective,
)
from limitlab.stages.common import load_split, load_xy, sample_positions

PARAMS = ("tune", "train.families", "train.monotone", "train.seed", "train.scorecard",
          "train.logistic_c", "train.random_forest", "train.spline")  # fmt: skip
CODE = ("config.py", "data", "errors.py", "evaluation", "features", "io.py", "models",
        "paths.py", "secrets.py", "stages/common.py")  # fmt: skip


def tuning_data(p: TuneParams) -> tuple[tuple, tuple]:
    """Train and validation matrices, stratified-sampled to ``tune.sample_rows`` (only the
    sampled rows are read)."""
    return tuple(load_xy(n, sample_positions(n, p.sample_rows, p.seed)) for n in ("train", "valid"))


def _worker(p: TuneParams, name: str, monotone: dict[str, int], threads: int, index: int) -> None:
    """One spawned tuning worker."""
    study = open_study(open_storage(p, paths.STUDY_JOURNAL), name, p, worker=index)
    work(study, xgboost_objective(p, *tuning_data(p), monotone, threads), p.n_trials,
         p.timeout_seconds)  # fmt: skip


def _linear_studies(
    storage: optuna.storages.BaseStorage,
    p: TuneParams,
    train: TrainParams,
) -> tuple[dict, dict, dict]:
    """The studies of the families fitted without early stopping, on the raw train and valid
    rows."""
    spec = DatasetSpec.from_json(paths.SPEC)
    keep = {n: sample_positions(n, p.sample_rows, p.seed) for n in ("train", "valid")}
    raw = {n: load_split(n, keep[n]) for n in ("train", "valid")}
    x_train, y_train = load_xy("train", keep["train"])
    data = TrainingSet(spec, joblib.load(paths.FEATURES_MODEL), raw["train"], x_train, y_train)
    digest = study_key(frame_digest(raw["train"], raw["valid"]), (*CODE, "stages/tune.py"))
    return tune_linear(storage, digest, p, train, data, raw["valid"])


def run(params: Params, workers: int | None = None) -> dict:
    """Run the study to ``tune.n_trials`` finished trials with ``workers`` (default
    ``tune.workers``) processes; write the best trial and every trial's record."""
    spec = DatasetSpec.from_json(paths.SPEC)
    data = tuning_data(params.tune)
    columns = list(data[1][0].columns)
    monotone = monotone_constraints(columns, spec) if params.train.monotone else {}
    rows = frame_digest(*(x.assign(**{BAD: y}) for x, y in data))  # the rows tuned on
    digest = study_key(rows, (*CODE, "stages/tune.py"))
    name = study_name(digest, params.tune, monotone)
    storage = open_storage(params.tune, paths.STUDY_JOURNAL)
    study = open_study(storage, name, params.tune)
    n_workers = workers or params.tune.workers
    started = time.perf_counter()
    run_info: dict = {}
    if n_workers == 1:
        objective = xgboost_objective(params.tune, *data, monotone)
        study = tune(study, objective, params.tune.n_trials, params.tune.timeout_seconds)
    else:
        if not is_database(params.tune.storage):
            fail_interrupted_trials(study)
        threads = max(1, (os.cpu_count() or 1) // n_workers)  # do not oversubscribe the cores
        run_info = run_workers(n_workers, _worker, (params.tune, name, monotone, threads), study)
    finished = len(finished_trials(study))
    if finished < params.tune.n_trials and not params.tune.timeout_seconds:
        raise StateError(
            f"tune: {finished} of {params.tune.n_trials} trials finished in study {name!r}; "
            f"workers exited with {run_info.get('exit_codes')}. Run `limitlab tune` again to "
            "resume the study"
        )
    additive_name = study_name(digest, params.tune, monotone, "additive")
    additive, additive_records, additive_timings = tune_additive(
        storage, params.tune, additive_name, *data, monotone
    )
    del data
    fixed = TrainParams(  # the settings the studies start from, and nothing else of train
        families=params.train.families,
        monotone=params.train.monotone,
        seed=params.train.seed,
        scorecard=params.train.scorecard,
        logistic_c=params.train.logistic_c,
        random_forest=params.train.random_forest,
        spline=params.train.spline,
    )
    linear, linear_records, linear_timings = _linear_studies(storage, params.tune, fixed)
    seconds = time.perf_counter() - started
    result = best_of(study, monotone)
    write_json(paths.BEST_PARAMS, result)  # a pure function of the study: reruns change nothing
    write_json(paths.TRIALS, trial_records(study))
    write_json(paths.ADDITIVE_BEST_PARAMS, additive)
    write_json(paths.ADDITIVE_TRIALS, additive_records)
    write_json(paths.LINEAR_BEST_PARAMS, linear)
    write_json(paths.LINEAR_TRIALS, linear_records)
    setup = {
        "workers": n_workers,
        "storage": "database" if is_database(params.tune.storage) else "journal",
    }
    others = {"additive": additive, **linear}
    figures = {f"{f}_best_valid_auc": r["best_valid_auc"] for f, r in others.items() if r["tuned"]}
    write_json(paths.metrics_path("tune"),
               {k: result[k] for k in list(result)[:7]} | figures | setup)  # fmt: skip
    timings = {"seconds": round(seconds, 3), "trials": trial_timings(study),
               "additive_trials": additive_timings, "linear_trials": linear_timings}  # fmt: skip
    write_json(paths.TUNE_TIMINGS, timings)  # not a DVC output: timings differ run to run
    return (
        result | {"additive": additive, "linear": linear} | setup | {"seconds": timings["seconds"]}
    )
