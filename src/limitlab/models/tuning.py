"""Optuna studies in persistent storage, run by one or many workers; the XGBoost study.

Storage: a journal file by default (resumable; several local processes may share it), or an RDB
URL such as ``postgresql://...`` with heartbeats, for workers on many machines. Each worker runs
trials until the study holds ``n_trials`` finished (complete or pruned) trials; a trial started
beyond that count is marked failed as surplus and never counted, so the total is exact.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pandas as pd
from optuna.storages import JournalStorage, RetryFailedTrialCallback
from optuna.storages.journal import JournalFileBackend
from optuna.trial import TrialState
from optuna_integration import XGBoostPruningCallback
from tqdm import tqdm

from limitlab.config import TuneParams
from limitlab.errors import StateError
from limitlab.models.additive import one_column_per_tree
from limitlab.models.families import N_THREADS, fit_xgboost_early_stopping, make_xgboost
from limitlab.secrets import mask_secrets

DIRECTION = "maximize"
METRIC = "valid_auc"
PRUNING_METRIC = "validation_0-auc"
_RANGES_LOG = {"learning_rate", "reg_lambda", "min_child_weight"}
_BUDGET_KEYS = {"n_trials", "timeout_seconds", "workers", "storage", "heartbeat_seconds",
                "grace_seconds", "max_retries"}  # fmt: skip
_OTHER_STUDIES = {"scorecard", "logistic", "spline", "random_forest", "additive_n_trials",
                  "change_alpha"}  # other families' studies, not its space  # fmt: skip
COUNTED = (TrialState.COMPLETE, TrialState.PRUNED)
PENDING = (TrialState.RUNNING, TrialState.WAITING)
SURPLUS = "surplus"
POLL_SECONDS = 0.5


class SurplusTrial(Exception):
    """A trial started after enough others had started; failed on purpose, never counted."""


def study_name(
    data_digest: str, params: TuneParams, monotone: dict[str, int], family: str = "xgboost"
) -> str:
    """Name a study from the data, the search space and the constraints: change any, new study.

    ``n_trials`` and the time budget are left out, so raising them extends the same study.
    """
    space = params.model_dump(mode="json", exclude=_BUDGET_KEYS | _OTHER_STUDIES)
    text = json.dumps({"data": data_digest, "space": space, "monotone": monotone}, sort_keys=True)
    prefix = "xgb-" if family == "xgboost" else f"{family}-"
    return prefix + hashlib.sha256(text.encode()).hexdigest()[:16]


def code_digest(parts: tuple[str, ...], root: Path | None = None) -> str:
    """SHA-256 of the source files under ``parts``, paths inside ``root`` (limitlab's package
    by default); line endings do not count. A study named with it never mixes trials scored by
    two versions of the code: after a change, a re-run starts a new study instead of resuming
    one whose trials the old code scored."""
    root = root or Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for part in sorted(parts):
        path = root / part
        for file in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            digest.update(file.relative_to(root).as_posix().encode())
            digest.update(file.read_text(encoding="utf-8").replace("\r\n", "\n").encode())
    return digest.hexdigest()


def study_key(data_digest: str, code: tuple[str, ...]) -> str:
    """What a study is named after besides its settings: the rows it tunes on and the code that
    scores its trials (``code``: the tune stage's declared source)."""
    return hashlib.sha256(f"{data_digest}:{code_digest(code)}".encode()).hexdigest()


def frame_digest(*frames: pd.DataFrame) -> str:
    """SHA-256 of the frames' column names and values (names the study after its data)."""
    digest = hashlib.sha256()
    for frame in frames:
        digest.update(",".join(frame.columns).encode())
        digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def is_database(storage: str | None) -> bool:
    return bool(storage) and "://" in str(storage)


def open_storage(params: TuneParams, journal: Path) -> optuna.storages.BaseStorage:
    """The journal file, or the RDB storage named by ``tune.storage`` (with heartbeats)."""
    if is_database(params.storage):
        try:
            return optuna.storages.RDBStorage(
                str(params.storage),
                heartbeat_interval=params.heartbeat_seconds,
                grace_period=params.grace_seconds,
                failed_trial_callback=RetryFailedTrialCallback(max_retry=params.max_retries),
            )
        except Exception as exc:  # driver, network and authentication errors alike
            lines = str(exc).strip().splitlines() or [type(exc).__name__]
            raise StateError(
                f"tune.storage {mask_secrets(str(params.storage))}: cannot open the study "
                f"database ({mask_secrets(lines[0])[:200]}); expected a reachable database URL"
            ) from None
    journal.parent.mkdir(parents=True, exist_ok=True)
    # An absolute path: the lock is a symlink to the journal, and Optuna frees a lock left by a
    # killed process after its grace period only when that link resolves.
    return JournalStorage(JournalFileBackend(str(journal.resolve())))


def open_study(
    storage: optuna.storages.BaseStorage,
    name: str,
    params: TuneParams,
    worker: int = 0,
    direction: str = DIRECTION,
) -> optuna.Study:
    """Reopen the study, or create it: TPE seeded by ``seed + worker``, median pruning.

    Reopening writes nothing to a journal file, so reading a study leaves the file unchanged.
    """
    sampler = optuna.samplers.TPESampler(seed=params.seed + worker)
    pruner = (
        optuna.pruners.MedianPruner(
            n_startup_trials=params.pruning_warmup_trials, n_warmup_steps=10
        )
        if params.pruning
        else optuna.pruners.NopPruner()
    )
    return optuna.create_study(
        study_name=name,
        storage=storage,
        sampler=sampler,
        pruner=pruner,
        direction=direction,
        load_if_exists=True,
    )


def suggest(trial: optuna.Trial, params: TuneParams) -> dict[str, Any]:
    """Draw one set of XGBoost hyper-parameters from the space in ``params``."""
    out: dict[str, Any] = {"max_depth": trial.suggest_int("max_depth", *params.max_depth)}
    for key in ("learning_rate", "min_child_weight", "subsample", "colsample_bytree",
                "reg_lambda"):  # fmt: skip
        low, high = getattr(params, key)
        out[key] = trial.suggest_float(key, low, high, log=key in _RANGES_LOG)
    return out


Objective = Callable[[optuna.Trial], float]


def xgboost_objective(
    params: TuneParams,
    train: tuple[pd.DataFrame, np.ndarray],
    valid: tuple[pd.DataFrame, np.ndarray],
    monotone: dict[str, int] | None = None,
    threads: int = N_THREADS,
    **extra: Any,
) -> Objective:
    """Validation AUC of XGBoost with early stopping (and pruning) on the validation rows;
    the tree count is kept as the trial's ``n_estimators``. ``extra`` goes to XGBoost (the
    additive family's interaction constraints)."""

    def objective(trial: optuna.Trial) -> float:
        callbacks = [XGBoostPruningCallback(trial, PRUNING_METRIC)] if params.pruning else None
        model = make_xgboost(
            suggest(trial, params),
            params.seed,
            monotone,
            n_estimators=params.max_estimators,
            early_stopping_rounds=params.early_stopping_rounds,
            callbacks=callbacks,
            n_jobs=threads,
            **extra,
        )
        _, auc, n_trees = fit_xgboost_early_stopping(model, train, valid)
        trial.set_user_attr("n_estimators", n_trees)
        return auc

    return objective


def finished_trials(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    """Trials that count toward ``n_trials``: completed and pruned ones."""
    return study.get_trials(deepcopy=False, states=COUNTED)


def fail_interrupted_trials(study: optuna.Study) -> None:
    """Mark trials left running by an interrupted local run as failed (journal storage only).

    With a database, another machine's worker may still be running them; heartbeats decide.
    """
    for stale in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        study.tell(stale.number, state=TrialState.FAIL)


def _started_before(study: optuna.Study, number: int) -> int:
    """Trials numbered below ``number`` that count or may still count."""
    live = study.get_trials(deepcopy=False, states=(*COUNTED, *PENDING))
    return sum(t.number < number for t in live)


def work(
    study: optuna.Study,
    objective: Objective,
    n_trials: int,
    timeout_seconds: float | None = None,
    progress: bool = False,
) -> int:
    """One worker: run trials of ``objective`` until the study holds ``n_trials`` finished ones.

    Returns the number of trials this worker finished. Several workers may share a study.
    """

    def counted_objective(trial: optuna.Trial) -> float:
        trial.set_user_attr("worker_pid", os.getpid())
        if _started_before(study, trial.number) >= n_trials:
            trial.set_user_attr(SURPLUS, True)
            raise SurplusTrial(f"trial {trial.number} is beyond n_trials={n_trials}")
        return objective(trial)

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    database = isinstance(study._storage, optuna.storages.RDBStorage)
    deadline = time.monotonic() + (timeout_seconds or float("inf"))
    done_here = 0
    bar = tqdm(total=n_trials, unit="trial", desc=study.study_name[:12], disable=not progress)
    bar.update(len(finished_trials(study)))
    while time.monotonic() < deadline:
        if database:
            optuna.storages.fail_stale_trials(study)  # retries a dead worker's trial
        finished = len(finished_trials(study))
        bar.update(finished - bar.n)
        if finished >= n_trials:
            break
        pending = len(study.get_trials(deepcopy=False, states=PENDING))
        if finished + pending >= n_trials and not study.get_trials(
            deepcopy=False, states=(TrialState.WAITING,)
        ):
            time.sleep(POLL_SECONDS)  # the rest are running in other workers
            continue
        before = len(study.get_trials(deepcopy=False, states=COUNTED))
        study.optimize(counted_objective, n_trials=1, catch=(SurplusTrial,))
        done_here += len(study.get_trials(deepcopy=False, states=COUNTED)) - before > 0
    bar.close()
    return done_here


def tune(
    study: optuna.Study,
    objective: Objective,
    n_trials: int,
    timeout_seconds: float | None = None,
    progress: bool | None = None,
) -> optuna.Study:
    """Run the trials still missing from ``n_trials`` in this process.

    Earlier trials are kept; on a journal file, trials left running by an interrupted run are
    marked failed, then replaced.
    """
    if not isinstance(study._storage, optuna.storages.RDBStorage):
        fail_interrupted_trials(study)
    bar = sys.stderr.isatty() if progress is None else progress  # a bar only in a terminal
    work(study, objective, n_trials, timeout_seconds, progress=bar)
    return study


RUN_ATTRS = {"worker_pid"}  # where a trial ran, not what it found
_ENDED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)


def trial_records(study: optuna.Study) -> list[dict]:
    """Ended trials as plain records: number, state, value, params, attributes. Nothing in them
    depends on when or where a trial ran, so the same study gives the same records."""
    return [
        {
            "number": t.number,
            "state": t.state.name,
            "value": t.value,
            "params": t.params,
            "user_attrs": {k: v for k, v in t.user_attrs.items() if k not in RUN_ATTRS},
        }
        for t in study.get_trials(deepcopy=False, states=_ENDED)
    ]


def trial_timings(study: optuna.Study) -> dict[str, dict]:
    """When and where each ended trial ran (start and end in ms, worker pid), by number."""

    def ms(moment: object) -> int | None:
        return int(moment.timestamp() * 1000) if moment else None

    return {
        str(t.number): {
            "start_ms": ms(t.datetime_start),
            "end_ms": ms(t.datetime_complete),
            **{k: t.user_attrs[k] for k in RUN_ATTRS if k in t.user_attrs},
        }
        for t in study.get_trials(deepcopy=False, states=_ENDED)
    }


def best_of(study: optuna.Study, monotone: dict[str, int]) -> dict:
    """A boosted study's best trial, trial counts and constraints (a pure function of it)."""
    best = study.best_trial
    states = [t.state.name for t in study.trials]
    surplus = sum(bool(t.user_attrs.get(SURPLUS)) for t in study.trials)
    return {
        "study_name": study.study_name,
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


def tune_additive(
    storage: optuna.storages.BaseStorage,
    params: TuneParams,
    name: str,
    train: tuple[pd.DataFrame, np.ndarray],
    valid: tuple[pd.DataFrame, np.ndarray],
    monotone: dict[str, int],
) -> tuple[dict, list, dict]:
    """The additive family's study (XGBoost's space, one column per tree) in this process: its
    best trial (``{"tuned": False}`` without trials), trial records and timings."""
    if params.additive_n_trials == 0:
        return {"tuned": False}, [], {}
    study = open_study(storage, name, params)
    constraints = one_column_per_tree(list(train[0].columns))
    objective = xgboost_objective(params, train, valid, monotone,
                                  interaction_constraints=constraints)  # fmt: skip
    tune(study, objective, params.additive_n_trials, params.timeout_seconds)
    return {"tuned": True, **best_of(study, monotone)}, trial_records(study), trial_timings(study)


def retry_dead_worker_trials(study: optuna.Study, pid: int) -> list[int]:
    """Fail the trials a dead local worker left running and queue each again with its params."""
    retried = []
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        if trial.user_attrs.get("worker_pid") == pid:
            study.tell(trial.number, state=TrialState.FAIL)
            if not trial.user_attrs.get(SURPLUS):
                study.enqueue_trial(trial.params, user_attrs={"retry_of": trial.number})
                retried.append(trial.number)
    return retried


def run_workers(
    n: int, target: Callable[..., None], args: tuple, study: optuna.Study
) -> dict[str, Any]:
    """Run ``target(*args, index)`` in ``n`` spawned processes; retry trials of dead workers.

    RDB storage retries through heartbeats; for a journal file the parent does it here.
    """
    context = multiprocessing.get_context("spawn")
    procs = [context.Process(target=target, args=(*args, i), name=f"tune-worker-{i}")
             for i in range(n)]  # fmt: skip
    for proc in procs:
        proc.start()
    handled: set[int] = set()
    retried: list[int] = []
    while any(p.is_alive() for p in procs):
        time.sleep(POLL_SECONDS)
        for proc in procs:
            if proc.exitcode not in (None, 0) and proc.pid not in handled:
                handled.add(proc.pid)
                if not isinstance(study._storage, optuna.storages.RDBStorage):
                    retried += retry_dead_worker_trials(study, proc.pid)
    return {"exit_codes": [p.exitcode for p in procs], "retried_by_parent": retried}
