"""Fit one model family on a training set and return it as a raw-columns-to-PD pipeline.

The ``train`` stage and repeated cross-validation (``limitlab cv``) both fit through
:func:`fit_family`, so a family means the same model in both.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline
from xgboost import XGBClassifier

from limitlab.config import TrainParams
from limitlab.data.specs import DatasetSpec
from limitlab.errors import InputError
from limitlab.features.transformers import raw_inputs
from limitlab.models.additive import AdditiveBoosting
from limitlab.models.families import (
    FAMILIES,
    ScorecardModel,
    make_logistic,
    make_random_forest,
    make_xgboost,
    monotone_constraints,
)
from limitlab.models.spline import SplineGAM

XGBoostFit = Callable[[XGBClassifier], XGBClassifier]  # fits XGBoost elsewhere (streamed, Dask)


@dataclass(frozen=True)
class TrainingSet:
    """Rows to fit on: raw (with the outcome), the fitted feature pipeline and its matrix."""

    spec: DatasetSpec
    features: Pipeline
    raw: pd.DataFrame
    x: pd.DataFrame
    y: np.ndarray

    def joined(self, raw: pd.DataFrame, x: pd.DataFrame, y: np.ndarray) -> TrainingSet:
        """These rows followed by more of the same kind (the final fit: train, then valid)."""
        return TrainingSet(
            self.spec,
            self.features,
            pd.concat([self.raw, raw], ignore_index=True),
            pd.concat([self.x, x], ignore_index=True),
            np.concatenate([self.y, y]),
        )

    def rows(self, index: np.ndarray | slice) -> TrainingSet:
        """The rows at ``index`` (positions, or a slice: then no copy of the rows)."""
        return TrainingSet(self.spec, self.features, self.raw.iloc[index], self.x.iloc[index],
                           self.y[index])  # fmt: skip


@dataclass(frozen=True)
class TunedXGBoost:
    """Hyper-parameters from an Optuna study (XGBoost's or the additive family's), its tree count
    and the monotone constraints."""

    params: dict[str, Any]
    n_estimators: int
    monotone: dict[str, int]


def with_tuned(train: TrainParams, family: str, settings: dict[str, Any]) -> TrainParams:
    """``train`` with one family's tuned settings: the scorecard's binning (``max_n_bins``,
    ``min_bin_size``, ``monotonic_trend``, ``use_special_codes``), the logistic ``c``, the
    spline family's ``n_knots`` and ``alpha`` or the random forest's trees (``max_depth``,
    ``colsample_bynode``, ``min_child_weight``)."""
    if family == "spline":
        return train.model_copy(update={"spline": train.spline.model_copy(update=settings)})
    if family == "random_forest":
        forest = train.random_forest.model_copy(update=settings)
        return train.model_copy(update={"random_forest": forest})
    if family == "logistic":
        return train.model_copy(update={"logistic_c": float(settings["c"])})
    if family == "scorecard":
        return train.model_copy(update={"scorecard": train.scorecard.model_copy(update=settings)})
    return train


def tuned_settings(train: TrainParams, best: dict[str, dict]) -> TrainParams:
    """``train`` with every tuned family's best settings (``models/tune/linear_best_params.json``)
    in place of the fixed ones."""
    for family, result in best.items():
        if result.get("tuned"):
            train = with_tuned(train, family, result["params"])
    return train


def fit_family(
    family: str,
    data: TrainingSet,
    train: TrainParams,
    seed: int,
    tuned: TunedXGBoost | None = None,
    fit_xgboost: XGBoostFit | None = None,
) -> Pipeline:
    """Fit ``family`` on ``data``; return ``Pipeline([("features", ...), ("model", ...)])``.

    The scorecard bins raw columns (plus the derived ratios), so its ``features`` step is the
    ratios alone; XGBoost and the additive family (``tuned``, the family's own study, required),
    logistic regression, the spline family and the random forest (the last two monotone as the
    spec declares when ``train.monotone``) read the feature matrix. ``fit_xgboost`` replaces
    the local XGBoost fit (for example on a Dask cluster).
    """
    if family not in FAMILIES:
        raise InputError(f"model family {family!r}; expected one of {list(FAMILIES)}")
    if family == "scorecard":
        ratios = data.features.named_steps.get("ratios", "passthrough")
        inputs = raw_inputs(data.raw, data.spec)
        x = inputs if ratios == "passthrough" else ratios.transform(inputs)
        derived = [] if ratios == "passthrough" else ratios.derived_
        model = ScorecardModel(
            [*data.spec.numeric_features, *derived], data.spec.categorical_features, train.scorecard
        ).fit(x, data.y)
        return Pipeline([("features", ratios), ("model", model)])
    if family in ("xgboost", "additive") and tuned is None:
        raise InputError(f"{family} needs tuned hyper-parameters; run the tune stage first")
    if family == "xgboost":
        model = make_xgboost(tuned.params, seed, tuned.monotone, n_estimators=tuned.n_estimators)
        model = fit_xgboost(model) if fit_xgboost else model.fit(data.x, data.y)
    elif family == "additive":
        model = AdditiveBoosting(tuned.params, tuned.n_estimators, tuned.monotone, seed)
        model = model.fit(data.x, data.y)
    elif family in ("spline", "random_forest"):
        monotone = monotone_constraints(list(data.x.columns), data.spec) if train.monotone else {}
        model = (
            SplineGAM(train.spline.n_knots, train.spline.alpha, monotone)
            if family == "spline"
            else make_random_forest(train.random_forest, seed, monotone)
        ).fit(data.x, data.y)
    else:
        model = make_logistic(train.logistic_c, seed).fit(data.x, data.y)
    return Pipeline([("features", data.features), ("model", model)])
