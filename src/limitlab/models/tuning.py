"""Optuna search over XGBoost hyper-parameters, stored in a journal file so a run resumes."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pandas as pd
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend
from optuna.trial import TrialState
from optuna_integration import XGBoostPruningCallback

from limitlab.config import TuneParams
from limitlab.models.families import fit_xgboost_early_stopping, make_xgboost

DIRECTION = "maximize"
METRIC = "valid_auc"
PRUNING_METRIC = "validation_0-auc"
_RANGES_LOG = {"learning_rate", "reg_lambda", "min_child_weight"}
_BUDGET_KEYS = {"n_trials", "timeout_seconds"}


def study_name(data_digest: str, params: TuneParams, monotone: dict[str, int]) -> str:
    """Name a study from the data, the search space and the constraints: change any, new study.

    ``n_trials`` and the time budget are left out, so raising them extends the same study.
    """
    space = params.model_dump(mode="json", exclude=_BUDGET_KEYS)
    text = json.dumps({"data": data_digest, "space": space, "monotone": monotone}, sort_keys=True)
    return "xgb-" + hashlib.sha256(text.encode()).hexdigest()[:16]


def open_study(journal: Path, name: str, params: TuneParams) -> optuna.Study:
    """Reopen the study in a journal file, or create it: seeded TPE, median pruning.

    Reopening writes nothing to the journal, so reading a study leaves the file unchanged.
    """
    journal.parent.mkdir(parents=True, exist_ok=True)
    storage = JournalStorage(JournalFileBackend(str(journal)))
    sampler = optuna.samplers.TPESampler(seed=params.seed)
    pruner = (
        optuna.pruners.MedianPruner(
            n_startup_trials=params.pruning_warmup_trials, n_warmup_steps=10
        )
        if params.pruning
        else optuna.pruners.NopPruner()
    )
    if name in {s.study_name for s in storage.get_all_studies()}:
        return optuna.load_study(study_name=name, storage=storage, sampler=sampler, pruner=pruner)
    return optuna.create_study(
        study_name=name, storage=storage, sampler=sampler, pruner=pruner, direction=DIRECTION
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
    """Trials that count toward ``n_trials``: completed and pruned ones."""
    return study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED))


def tune(
    study: optuna.Study,
    params: TuneParams,
    train: tuple[pd.DataFrame, np.ndarray],
    valid: tuple[pd.DataFrame, np.ndarray],
    monotone: dict[str, int] | None = None,
) -> optuna.Study:
    """Run the trials still missing from ``params.n_trials``; earlier trials are kept.

    Trials left running by an interrupted run are marked failed, then replaced.
    """
    for stale in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        study.tell(stale.number, state=TrialState.FAIL)

    def objective(trial: optuna.Trial) -> float:
        callbacks = [XGBoostPruningCallback(trial, PRUNING_METRIC)] if params.pruning else None
        model = make_xgboost(
            suggest(trial, params),
            params.seed,
            monotone,
            n_estimators=params.max_estimators,
            early_stopping_rounds=params.early_stopping_rounds,
            callbacks=callbacks,
        )
        _, auc, n_trees = fit_xgboost_early_stopping(model, train, valid)
        trial.set_user_attr("n_estimators", n_trees)
        return auc

    remaining = params.n_trials - len(finished_trials(study))
    if remaining > 0:
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        study.optimize(
            objective,
            n_trials=remaining,
            timeout=params.timeout_seconds,
            show_progress_bar=sys.stderr.isatty(),  # a bar in a terminal, quiet in CI logs
        )
    return study


def trial_records(study: optuna.Study) -> list[dict]:
    """Finished trials as plain records (number, state, value, params, times in ms)."""

    def ms(moment: object) -> int | None:
        return int(moment.timestamp() * 1000) if moment else None

    states = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)
    return [
        {
            "number": t.number,
            "state": t.state.name,
            "value": t.value,
            "params": t.params,
            "user_attrs": t.user_attrs,
            "start_ms": ms(t.datetime_start),
            "end_ms": ms(t.datetime_complete),
        }
        for t in study.get_trials(deepcopy=False, states=states)
    ]
