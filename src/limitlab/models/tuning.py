"""Optuna search over XGBoost hyper-parameters, stored in a journal file so a run resumes."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pandas as pd
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend
from optuna.trial import TrialState

from limitlab.config import TuneParams
from limitlab.models.families import fit_xgboost_early_stopping

DIRECTION = "maximize"
METRIC = "valid_auc"
_RANGES_LOG = {"learning_rate", "reg_lambda", "min_child_weight"}
_BUDGET_KEYS = {"n_trials", "timeout_seconds"}


def study_name(data_digest: str, params: TuneParams) -> str:
    """Name a study from the data and the search space: new data or space, new study.

    ``n_trials`` and the time budget are left out, so raising them extends the same study.
    """
    space = params.model_dump(mode="json", exclude=_BUDGET_KEYS)
    text = json.dumps({"data": data_digest, "space": space}, sort_keys=True)
    return "xgb-" + hashlib.sha256(text.encode()).hexdigest()[:16]


def open_study(journal: Path, name: str, seed: int) -> optuna.Study:
    """Reopen the study in a journal file, or create it, with a seeded TPE sampler.

    Reopening writes nothing to the journal, so reading a study leaves the file unchanged.
    """
    journal.parent.mkdir(parents=True, exist_ok=True)
    storage = JournalStorage(JournalFileBackend(str(journal)))
    sampler = optuna.samplers.TPESampler(seed=seed)
    if name in {s.study_name for s in storage.get_all_studies()}:
        return optuna.load_study(study_name=name, storage=storage, sampler=sampler)
    return optuna.create_study(
        study_name=name, storage=storage, sampler=sampler, direction=DIRECTION
    )


def suggest(trial: optuna.Trial, params: TuneParams) -> dict[str, Any]:
    """Draw one set of XGBoost hyper-parameters from the space in ``params``."""
    out: dict[str, Any] = {"max_depth": trial.suggest_int("max_depth", *params.max_depth)}
    for key in ("learning_rate", "min_child_weight", "subsample", "colsample_bytree",
                "reg_lambda"):  # fmt: skip
        low, high = getattr(params, key)
        out[key] = trial.suggest_float(key, low, high, log=key in _RANGES_LOG)
    return out


def finished_trials(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    return study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))


def tune(
    study: optuna.Study,
    params: TuneParams,
    train: tuple[pd.DataFrame, np.ndarray],
    valid: tuple[pd.DataFrame, np.ndarray],
) -> optuna.Study:
    """Run the trials still missing from ``params.n_trials``; earlier trials are kept.

    Trials left running by an interrupted run are marked failed, then replaced.
    """
    for stale in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        study.tell(stale.number, state=TrialState.FAIL)

    def objective(trial: optuna.Trial) -> float:
        hyper = suggest(trial, params)
        _, auc, n_trees = fit_xgboost_early_stopping(
            hyper, params.seed, params.max_estimators, params.early_stopping_rounds, train, valid
        )
        trial.set_user_attr("n_estimators", n_trees)
        return auc

    remaining = params.n_trials - len(finished_trials(study))
    if remaining > 0:
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        study.optimize(objective, n_trials=remaining, timeout=params.timeout_seconds)
    return study
