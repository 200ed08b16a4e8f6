"""Optuna studies for the families fitted without early stopping: the scorecard's binning, the
logistic regression's regularisation, the spline family's knots and smoothing and the random
forest's trees.

Each family has a study of its own, in the same storage as XGBoost's, named after its data and
search space (so a changed space starts a new study and more trials extend the same one). A trial
fits the family on the train rows and scores the validation rows: the study minimises their log
loss, a proper scoring rule that is less noisy than AUC on a few hundred rows, and records their
AUC beside it. The fixed settings of ``train`` are the first trial, and they stay unless the best
trial's validation log loss is significantly lower (a paired t-test of the per-row losses at
``tune.change_alpha``): on small validation sets the best of many trials is mostly noise.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import optuna
import pandas as pd
from sklearn.metrics import log_loss, roc_auc_score

from limitlab.config import TrainParams, TuneParams
from limitlab.data.columns import BAD
from limitlab.data.sampling import sample_index
from limitlab.features.transformers import raw_inputs
from limitlab.models.fit import TrainingSet, fit_family, with_tuned
from limitlab.models.selection import paired_p_value
from limitlab.models.tuning import (
    Objective,
    finished_trials,
    open_study,
    trial_records,
    trial_timings,
    tune,
)

LINEAR = ("scorecard", "logistic", "spline", "random_forest")  # the families these studies tune
METRIC = "valid_log_loss"


def suggest_settings(family: str, trial: optuna.Trial, params: TuneParams) -> dict[str, Any]:
    """One draw of ``family``'s settings, keyed as :func:`limitlab.models.fit.with_tuned` reads."""
    if family == "logistic":
        return {"c": trial.suggest_float("c", *params.logistic.c, log=True)}
    if family == "spline":
        return {
            "n_knots": trial.suggest_int("n_knots", *params.spline.n_knots),
            "alpha": trial.suggest_float("alpha", *params.spline.alpha, log=True),
        }
    if family == "random_forest":
        forest = params.random_forest
        return {
            "max_depth": trial.suggest_int("max_depth", *forest.max_depth),
            "colsample_bynode": trial.suggest_float("colsample_bynode", *forest.colsample_bynode),
            "min_child_weight": trial.suggest_float(
                "min_child_weight", *forest.min_child_weight, log=True
            ),
        }
    space = params.scorecard
    return {
        "max_n_bins": trial.suggest_int("max_n_bins", *space.max_n_bins),
        "min_bin_size": trial.suggest_float("min_bin_size", *space.min_bin_size),
        "monotonic_trend": trial.suggest_categorical("monotonic_trend", space.monotonic_trend),
        "use_special_codes": trial.suggest_categorical(
            "use_special_codes", space.use_special_codes
        ),
    }


def linear_objective(
    family: str, params: TuneParams, train: TrainParams, data: TrainingSet, valid: pd.DataFrame
) -> Objective:
    """Validation AUC of ``family`` fitted on ``data`` with the trial's settings."""
    x_valid, y_valid = raw_inputs(valid, data.spec), valid[BAD].to_numpy()

    def objective(trial: optuna.Trial) -> float:
        settings = with_tuned(train, family, suggest_settings(family, trial, params))
        pd_valid = fit_family(family, data, settings, train.seed).predict_proba(x_valid)[:, 1]
        trial.set_user_attr("valid_auc", float(roc_auc_score(y_valid, pd_valid)))
        return float(log_loss(y_valid, pd_valid, labels=[0, 1]))

    return objective


def fixed_settings(family: str, params: TuneParams, train: TrainParams) -> dict[str, Any] | None:
    """``train``'s fixed settings as a trial of ``family``'s study; None if outside the space."""
    if family == "logistic":
        low, high = params.logistic.c
        return {"c": train.logistic_c} if low <= train.logistic_c <= high else None
    if family in ("spline", "random_forest"):
        space, fixed = getattr(params, family), getattr(train, family)
        keys = [k for k in type(space).model_fields if k != "n_trials"]
        inside = all(low <= getattr(fixed, k) <= high for k in keys for low, high in
                     [getattr(space, k)])  # fmt: skip
        return {k: getattr(fixed, k) for k in keys} if inside else None
    space, card = params.scorecard, train.scorecard
    inside = (
        space.max_n_bins[0] <= card.max_n_bins <= space.max_n_bins[1]
        and space.min_bin_size[0] <= card.min_bin_size <= space.min_bin_size[1]
        and card.monotonic_trend in space.monotonic_trend
        and card.use_special_codes in space.use_special_codes
    )
    keys = ("max_n_bins", "min_bin_size", "monotonic_trend", "use_special_codes")
    return {k: getattr(card, k) for k in keys} if inside else None


def linear_study_name(family: str, data_digest: str, params: TuneParams, train: TrainParams) -> str:
    """Name a study from the data, the family's search space and its fixed settings."""
    space = getattr(params, family).model_dump(mode="json", exclude={"n_trials"})
    fixed = {
        "scorecard": train.scorecard.model_dump(mode="json"),
        "logistic": train.logistic_c,
        "spline": train.spline.model_dump(mode="json"),
        "random_forest": train.random_forest.model_dump(mode="json"),
    }[family]
    text = json.dumps({"data": data_digest, "space": space, "fixed": fixed, "seed": params.seed},
                      sort_keys=True)  # fmt: skip
    return f"{family}-" + hashlib.sha256(text.encode()).hexdigest()[:16]


def sampled(data: TrainingSet, rows: int | None, seed: int) -> TrainingSet:
    """The training set cut to ``tune.sample_rows`` rows (stratified; all rows when None)."""
    keep = sample_index(data.y, rows, seed)
    if len(keep) == len(data.y):
        return data
    return TrainingSet(data.spec, data.features, data.raw.iloc[keep], data.x.iloc[keep],
                       data.y[keep])  # fmt: skip


def _beyond_noise(
    family: str, best: dict, fixed: dict | None, train: TrainParams, data: TrainingSet,
    valid: pd.DataFrame, alpha: float,
) -> tuple[dict, float | None]:  # fmt: skip
    """The best trial's settings if their per-row validation log loss is significantly below the
    fixed settings' (paired t-test at ``alpha``), else the fixed ones; and the p-value."""
    if fixed is None or best == fixed:
        return best, None
    x_valid, y_valid = raw_inputs(valid, data.spec), valid[BAD].to_numpy()
    pds = [fit_family(family, data, with_tuned(train, family, s), train.seed)
           .predict_proba(x_valid)[:, 1] for s in (best, fixed)]  # fmt: skip
    p_value = paired_p_value(y_valid, pds[0], pds[1], "log_loss")
    return (best if p_value < alpha else fixed), p_value


def tune_linear(
    storage: optuna.storages.BaseStorage,
    data_digest: str,
    params: TuneParams,
    train: TrainParams,
    data: TrainingSet,
    valid: pd.DataFrame,
    progress: bool | None = None,
) -> tuple[dict[str, dict], dict[str, list[dict]], dict[str, dict]]:
    """Run the scorecard's, the logistic regression's, the spline family's and the random
    forest's studies to their ``n_trials``; models are fitted with ``train.seed``, and
    ``train``'s settings of each family are the fixed ones (the first trial, and what the search
    leaves alone: points scaling, special codes, the forest's size).

    Returns per family the best trial (``{"tuned": False}`` when ``n_trials`` is 0 or the family
    is not in ``train.families``), the trial
    records and the trial timings.
    """
    data = sampled(data, params.sample_rows, params.seed)
    if params.sample_rows and params.sample_rows < len(valid):
        valid = valid.iloc[sample_index(valid[BAD].to_numpy(), params.sample_rows, params.seed)]
    best, records, timings = {}, {}, {}
    for family in LINEAR:
        n_trials = getattr(params, family).n_trials
        if n_trials == 0 or family not in train.families:
            best[family] = {"tuned": False}
            continue
        name = linear_study_name(family, data_digest, params, train)
        study = open_study(storage, name, params, direction="minimize")
        start = fixed_settings(family, params, train)
        if start and not study.trials:
            study.enqueue_trial(start, user_attrs={"fixed_settings": True})
        objective = linear_objective(family, params, train, data, valid)
        tune(study, objective, n_trials, params.timeout_seconds, progress)
        states = [t.state.name for t in study.trials]
        chosen, p_value = _beyond_noise(family, study.best_params, start, train, data, valid,
                                        params.change_alpha)  # fmt: skip
        best[family] = {
            "tuned": True,
            "study_name": name,
            "best_trial": study.best_trial.number,
            "best_valid_log_loss": study.best_value,
            "best_valid_auc": study.best_trial.user_attrs["valid_auc"],
            "n_trials_complete": len(finished_trials(study)),
            "n_trials_failed": states.count("FAIL"),
            "p_value_vs_fixed": p_value,
            "chosen": "best trial" if chosen == study.best_params else "fixed settings",
            "params": chosen,
        }
        records[family] = trial_records(study)
        timings[family] = trial_timings(study)
    return best, records, timings
