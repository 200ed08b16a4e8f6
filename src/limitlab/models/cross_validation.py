"""Repeated K-fold cross-validation of every model family, tuning inside each training fold.

The protocol of the credit-scoring benchmarks (Lessmann et al. 2015): N x K CV; in each outer
training fold the feature pipeline is fitted, XGBoost, the scorecard's binning, the logistic
regression's C and the random forest's trees are tuned by Optuna on an inner split of that fold
(75 % fit, 25 % validation), every family is then fitted on the whole training fold, and all
are scored on the outer test fold. The champion-selection procedure of ``train`` is scored too,
nested: inside each outer training fold it takes every family's out-of-fold PDs
(``train.cv_folds``), chooses a family as ``train`` would, and that family's PDs on the outer
test fold count as the row ``champion``.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

import numpy as np
import optuna
import pandas as pd
from sklearn.model_selection import RepeatedStratifiedKFold, train_test_split
from tqdm import tqdm

from limitlab.config import Params, TrainParams
from limitlab.data.columns import BAD
from limitlab.data.specs import DatasetSpec
from limitlab.evaluation.metrics import classification_metrics
from limitlab.features.transformers import build_feature_pipeline, raw_inputs
from limitlab.models.additive import one_column_per_tree
from limitlab.models.ensemble import ENSEMBLE, cross_fitted, fit_stacking, stacked_pd
from limitlab.models.families import monotone_constraints
from limitlab.models.fit import TrainingSet, TunedXGBoost, fit_family, tuned_settings
from limitlab.models.linear_tuning import tune_linear
from limitlab.models.out_of_fold import fold_indices, out_of_fold
from limitlab.models.selection import choose_champion
from limitlab.models.tuning import tune, xgboost_objective

INNER_VALID_SHARE = 0.25
CHAMPION = "champion"


def _tune_in_fold(
    x: pd.DataFrame, y: np.ndarray, inner_fit: np.ndarray, inner_valid: np.ndarray,
    monotone: dict[str, int], params: Params, seed: int, family: str,
) -> TunedXGBoost:  # fmt: skip
    """Optuna on an inner split of the training fold (XGBoost, or the additive family with one
    column per tree); the best trial's settings."""
    study = optuna.create_study(
        direction="maximize",
        sampler=optuna.samplers.TPESampler(seed=seed),
        pruner=optuna.pruners.MedianPruner(
            n_startup_trials=params.tune.pruning_warmup_trials, n_warmup_steps=10
        ),
    )
    fit = (x.iloc[inner_fit], y[inner_fit])
    valid = (x.iloc[inner_valid], y[inner_valid])
    n_trials = params.tune.n_trials
    extra = {}
    if family == "additive" and params.tune.additive_n_trials:  # else XGBoost's settings
        n_trials = params.tune.additive_n_trials
        extra = {"interaction_constraints": one_column_per_tree(list(x.columns))}
    objective = xgboost_objective(params.tune, fit, valid, monotone, **extra)
    tune(study, objective, n_trials, params.tune.timeout_seconds, progress=False)
    best = study.best_trial
    return TunedXGBoost(best.params, best.user_attrs["n_estimators"], monotone)


def _fold_scores(
    frame: pd.DataFrame, train_idx: np.ndarray, test_idx: np.ndarray, spec: DatasetSpec,
    params: Params, seed: int,
) -> dict[str, dict[str, float]]:  # fmt: skip
    train, test = frame.iloc[train_idx], frame.iloc[test_idx]
    features = build_feature_pipeline(
        spec, params.features.derived_ratios, params.features.min_category_share
    )
    x_train = features.fit_transform(raw_inputs(train, spec))
    y_train, y_test = train[BAD].to_numpy(), test[BAD].to_numpy()
    inner_fit, inner_valid = train_test_split(
        np.arange(len(train)), test_size=INNER_VALID_SHARE, stratify=y_train, random_state=seed
    )
    data = TrainingSet(spec=spec, features=features, raw=train, x=x_train, y=y_train)
    inner = data.rows(inner_fit)
    linear, _, _ = tune_linear(
        optuna.storages.InMemoryStorage(), f"fold-{seed}", params.tune,
        params.train.model_copy(update={"seed": seed}), inner, train.iloc[inner_valid],
        progress=False,
    )  # fmt: skip
    settings = tuned_settings(params.train, linear)
    out: dict[str, dict] = {}
    inner_folds = fold_indices(y_train, params.train.cv_folds, 1, seed)
    oof, pd_tests = {}, {}
    members = [f for f in params.train.families if f != ENSEMBLE]
    for family in members:
        start = time.perf_counter()
        tuned = None
        if family in ("xgboost", "additive"):
            monotone = (
                monotone_constraints(list(x_train.columns), spec) if params.train.monotone else {}
            )
            tuned = _tune_in_fold(x_train, y_train, inner_fit, inner_valid, monotone, params, seed,
                                  family)  # fmt: skip
        pipeline = fit_family(family, data, settings, seed, tuned)
        pd_tests[family] = pipeline.predict_proba(raw_inputs(test, spec))[:, 1]
        oof[family] = _inner_out_of_fold(family, data, settings, seed, tuned, inner_folds)
        metrics = classification_metrics(y_test, pd_tests[family])
        out[family] = {
            "auc": metrics["auc"],
            "brier": metrics["brier"],
            "seconds": time.perf_counter() - start,
        }
    if ENSEMBLE in params.train.families:
        start = time.perf_counter()
        stack = np.column_stack([oof[m] for m in members])
        intercept, weights = fit_stacking(stack, y_train)
        pd_ensemble = stacked_pd(np.column_stack([pd_tests[m] for m in members]), intercept,
                                 weights)  # fmt: skip
        oof[ENSEMBLE] = cross_fitted(stack, y_train, inner_folds)
        metrics = classification_metrics(y_test, pd_ensemble)
        out[ENSEMBLE] = {"auc": metrics["auc"], "brier": metrics["brier"],
                         "seconds": time.perf_counter() - start}  # fmt: skip
    t = params.train
    chosen, _ = choose_champion(oof, y_train, t.selection_metric, t.champion, t.simplicity,
                                t.selection_alpha)  # fmt: skip
    out[CHAMPION] = {**out[chosen], "chosen": chosen, "seconds": 0.0}
    return out


def _inner_out_of_fold(
    family: str, data: TrainingSet, settings: TrainParams, seed: int, tuned: TunedXGBoost | None,
    folds: list,
) -> np.ndarray:  # fmt: skip
    """The family's out-of-fold PDs inside an outer training fold (as ``train`` takes them)."""

    def fit_predict(fit_rows: np.ndarray, scored_rows: np.ndarray) -> np.ndarray:
        model = fit_family(family, data.rows(fit_rows), settings, seed, tuned)
        return model.predict_proba(raw_inputs(data.raw.iloc[scored_rows], data.spec))[:, 1]

    return out_of_fold(fit_predict, len(data.y), folds)


def cross_validate(
    frame: pd.DataFrame,
    spec: DatasetSpec,
    params: Params,
    repeats: int,
    folds: int,
    progress: Callable[[str], None] = print,
) -> dict:
    """Mean and standard deviation of test AUC and Brier per family over repeats x folds."""
    splitter = RepeatedStratifiedKFold(
        n_splits=folds, n_repeats=repeats, random_state=params.split.seed
    )
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    rows = []
    splits = list(splitter.split(frame, frame[BAD]))
    bar = tqdm(splits, unit="fold", desc="cv", disable=not sys.stderr.isatty())
    for i, (train_idx, test_idx) in enumerate(bar):
        scores = _fold_scores(frame, train_idx, test_idx, spec, params, params.tune.seed + i)
        for family, s in scores.items():
            rows.append({"fold": i, "family": family, **s})
        summary = "  ".join(f"{f} {s['auc']:.3f}" for f, s in scores.items())
        progress(f"fold {i + 1}/{len(splits)}: test AUC  {summary}")
    table = pd.DataFrame(rows)
    summary = table.groupby("family", sort=False).agg(
        auc_mean=("auc", "mean"),
        auc_sd=("auc", "std"),
        brier_mean=("brier", "mean"),
        brier_sd=("brier", "std"),
        seconds=("seconds", "sum"),
    )
    if "logistic" in params.train.families:
        by_fold = table.pivot(index="fold", columns="family", values="auc")
        difference = by_fold.sub(by_fold["logistic"], axis=0)
        summary["auc_vs_logistic"] = difference.mean()
        summary["auc_vs_logistic_sd"] = difference.std()
    chosen = table.loc[table["family"] == CHAMPION, "chosen"].value_counts().to_dict()
    return {
        "dataset": spec.name,
        "rows": len(frame),
        "repeats": repeats,
        "folds": folds,
        "n_trials_per_fold": {
            "xgboost": params.tune.n_trials,
            "additive": params.tune.additive_n_trials,
            "scorecard": params.tune.scorecard.n_trials,
            "logistic": params.tune.logistic.n_trials,
            "random_forest": params.tune.random_forest.n_trials,
            "spline": params.tune.spline.n_trials,
        },
        "families": summary.reset_index().to_dict("records"),
        "champion_chosen": {k: int(v) for k, v in chosen.items()},
        "folds_detail": rows,
    }
