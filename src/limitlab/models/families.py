"""PD model families: XGBoost (monotone where declared), a points scorecard, logistic regression,
a penalised-spline GAM (:mod:`limitlab.models.spline`), XGBoost's random forest.

Every trained family is saved as a scikit-learn ``Pipeline`` from raw applicant columns to PD:
``features`` (the fitted feature pipeline, or the derived ratios alone for the scorecard) then
``model``.
"""

from __future__ import annotations

import weakref
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted, validate_data
from xgboost import XGBClassifier, XGBRFClassifier

from limitlab.config import RandomForestParams, ScorecardParams
from limitlab.data.specs import DatasetSpec
from limitlab.errors import InputError
from limitlab.features.transformers import MISSING_FLAG, validate_input
from limitlab.models.rowwise import row_dot
from limitlab.models.targets import check_binary_target
from limitlab.models.woe_tables import compile_woe

FAMILIES = ("xgboost", "additive", "scorecard", "logistic", "spline", "random_forest")
N_THREADS = 2


def monotone_constraints(columns: list[str], spec: DatasetSpec) -> dict[str, int]:
    """XGBoost constraints for the model columns whose raw feature or level the spec declares.

    ``num__Income`` takes the sign declared for ``Income``; ``cat__Records=yes`` the sign of
    ``Records=yes``; missing-value flags are never constrained.
    """
    out = {}
    for column in columns:
        key = column.split("__", 1)[-1]
        if key.startswith(MISSING_FLAG):
            continue
        if key in spec.monotone:
            out[column] = int(spec.monotone[key])
    return out


def make_xgboost(
    params: dict[str, Any], seed: int, monotone: dict[str, int] | None = None, **extra: Any
) -> XGBClassifier:
    """An XGBoost classifier with the ``hist`` tree method and the given hyper-parameters."""
    return XGBClassifier(
        objective="binary:logistic",
        tree_method="hist",
        eval_metric="auc",
        n_jobs=extra.pop("n_jobs", N_THREADS),
        random_state=seed,
        monotone_constraints=monotone or None,
        **params,
        **extra,
    )


def with_booster(model: XGBClassifier, booster: Any) -> XGBClassifier:
    """A local ``XGBClassifier`` of ``model``'s settings holding ``booster`` (trained elsewhere:
    on a Dask cluster, or from batches), so evaluation, limits and serving see one kind of
    model whatever the engine."""
    local = XGBClassifier(**model.get_params())
    local.load_model(bytearray(booster.save_raw("json")))
    return local


def fit_xgboost_early_stopping(
    model: XGBClassifier,
    train: tuple[pd.DataFrame, np.ndarray],
    valid: tuple[pd.DataFrame, np.ndarray],
) -> tuple[XGBClassifier, float, int]:
    """Fit with early stopping on validation AUC; return model, best validation AUC, trees."""
    model.fit(*train, eval_set=[valid], verbose=False)
    return model, float(model.best_score), int(model.best_iteration) + 1


def make_random_forest(
    params: RandomForestParams, seed: int, monotone: dict[str, int] | None = None
) -> XGBRFClassifier:
    """A random forest grown by XGBoost (``hist``): one round of ``n_estimators`` bagged trees,
    each split drawing ``colsample_bynode`` of the columns; leaves are in log-odds, so
    ``pred_contribs`` gives its exact TreeSHAP contributions."""
    return XGBRFClassifier(
        objective="binary:logistic",
        tree_method="hist",
        n_estimators=params.n_estimators,
        max_depth=params.max_depth,
        colsample_bynode=params.colsample_bynode,
        subsample=params.subsample,
        min_child_weight=params.min_child_weight,
        reg_lambda=1e-3,  # leaves near the bagged trees' own log-odds, not shrunk to the prior
        n_jobs=N_THREADS,
        random_state=seed,
        monotone_constraints=monotone or None,
    )


class RowwiseLogisticRegression(LogisticRegression):
    """scikit-learn's logistic regression whose log-odds are summed row by row instead of by a
    matrix product: a row's PD is then the same to the last bit whatever rows are scored with
    it (a BLAS product's rounding depends on the batch), so requests the server joins get the
    answers they get alone."""

    def decision_function(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        values = validate_data(self, X, reset=False, dtype=np.float64)
        scores = row_dot(values, self.coef_[0]) + self.intercept_[0]
        return scores if len(self.classes_) == 2 else super().decision_function(X)


def make_logistic(c: float, seed: int) -> Pipeline:
    """Standardised features, then L2-penalised logistic regression."""
    return Pipeline(
        [
            ("scale", StandardScaler()),
            ("logit", RowwiseLogisticRegression(C=c, max_iter=5000, random_state=seed)),
        ]
    )


_LOADED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
"""Per fitted scorecard: lookup tables built on first use, kept out of its state and pickle."""


class ScorecardModel(ClassifierMixin, BaseEstimator):
    """Points scorecard: optbinning's monotone optimal binning, WoE, logistic regression, scaled
    to points by PDO / odds / base points.

    Parameters
    ----------
    numeric, categorical : list of str or None
        Raw input variables of each kind; both None: every column of ``X`` is numeric.
    params : ScorecardParams or None
        Binning and scaling settings (None: the defaults).
    """

    def __init__(
        self,
        numeric: list[str] | None = None,
        categorical: list[str] | None = None,
        params: ScorecardParams | None = None,
    ) -> None:
        self.numeric = numeric
        self.categorical = categorical
        self.params = params

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        tags.input_tags.allow_nan = True
        tags.input_tags.string = True  # categorical columns hold text
        return tags

    @property
    def variables(self) -> list[str]:
        check_is_fitted(self, "scorecard_")
        return [*self.numeric_, *self.categorical_]

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> ScorecardModel:
        from optbinning import BinningProcess, Scorecard

        _LOADED.pop(self, None)  # tables built from an earlier fit
        frame = _as_frame(validate_input(self, X, reset=True))
        self.numeric_ = list(frame.columns) if self.numeric is None else list(self.numeric)
        self.categorical_ = list(self.categorical or [])
        missing = [c for c in [*self.numeric_, *self.categorical_] if c not in frame.columns]
        if missing:
            raise InputError(f"scorecard: column(s) {missing} not in the input {list(frame)}")
        y = check_binary_target(y)
        self.classes_ = np.unique(y)
        p = self.params or ScorecardParams()
        if wrong := sorted(set(p.special_codes) & set(self.categorical_)):
            raise InputError(
                f"train.scorecard.special_codes: column(s) {wrong} are categorical; expected "
                "numeric columns (each level is binned on its own)"
            )
        binning = BinningProcess(
            [*self.numeric_, *self.categorical_],
            categorical_variables=self.categorical_,
            max_n_bins=p.max_n_bins,
            min_bin_size=p.min_bin_size,
            binning_fit_params=binning_settings(p, self.numeric_),
        )
        scorecard = Scorecard(
            binning_process=binning,
            estimator=RowwiseLogisticRegression(max_iter=5000),
            scaling_method="pdo_odds",
            scaling_method_params={"pdo": p.pdo, "odds": p.odds, "scorecard_points": p.base_points},
        )
        self.scorecard_ = scorecard.fit(self._select(frame), (y == self.classes_[1]).astype(int))
        _forget_timings(self.scorecard_)
        return self

    def _select(self, frame: pd.DataFrame) -> pd.DataFrame:
        out = frame[[*self.numeric_, *self.categorical_]].copy()
        for column in self.categorical_:
            out[column] = out[column].astype(object).where(out[column].notna(), "missing")
        return out

    def _inputs(self, X: pd.DataFrame) -> pd.DataFrame:
        check_is_fitted(self, "scorecard_")
        return self._select(_as_frame(validate_input(self, X, reset=False)))

    def woe(self, X: pd.DataFrame) -> pd.DataFrame:
        """Each kept variable's WoE, as the fitted binning process gives it (from lookup
        tables built once per loaded model)."""
        check_is_fitted(self, "scorecard_")
        frame = _as_frame(validate_input(self, X, reset=False))
        cache = _LOADED.setdefault(self, {})
        if "woe" not in cache:
            cache["woe"] = compile_woe(self.scorecard_)
        tables = cache["woe"]
        columns = {}
        for name in tables.tables:  # as _select gives them, without copying the whole frame
            values = frame[name].to_numpy()
            if name in self.categorical_:
                values = np.where(pd.isna(values), "missing", values.astype(object))
            columns[name] = values
        return tables.transform(columns, frame.index)

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        woe = self.woe(X)
        return self.scorecard_.estimator_.predict_proba(woe)

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        pd_ = self.predict_proba(X)[:, 1]
        return self.classes_[(pd_ > 0.5).astype(int)]

    def points(self, X: pd.DataFrame) -> np.ndarray:
        """Scorecard points (higher is safer)."""
        inputs = self._inputs(X)
        return self.scorecard_.score(inputs)

    def points_table(self) -> pd.DataFrame:
        """Variable, bin, counts, event rate, WoE, IV, coefficient and points of every bin."""
        table = self.scorecard_.table(style="detailed")
        return table.assign(Bin=table["Bin"].astype(str))

    def contributions(self, X: pd.DataFrame) -> pd.DataFrame:
        """Log-odds each variable adds against its best bin (points lost, in log-odds units)."""
        woe = self.woe(X)
        coef, best = self._coef_and_best_log_odds()
        out = {v: coef[v] * woe[v].to_numpy(float) - best[v] for v in self.variables if v in coef}
        return pd.DataFrame(out, index=woe.index)

    def _coef_and_best_log_odds(self) -> tuple[dict[str, float], dict[str, float]]:
        """Each kept variable's coefficient and its lowest coefficient x WoE over its bins,
        built once per loaded model (optbinning rebuilds its binning tables on every call)."""
        cache = _LOADED.setdefault(self, {})
        if "best" not in cache:
            process = self.scorecard_.binning_process_
            coef = dict(zip(process.get_support(names=True), self.scorecard_.estimator_.coef_[0],
                            strict=True))  # fmt: skip
            best = {}
            for variable in (v for v in self.variables if v in coef):
                table = process.get_binned_variable(variable).binning_table.build()
                bins = pd.to_numeric(table["WoE"].iloc[:-1], errors="coerce").dropna()
                best[variable] = float((coef[variable] * bins).min()) if len(bins) else 0.0
            cache["best"] = coef, best
        return cache["best"]


def binning_settings(p: ScorecardParams, numeric: list[str]) -> dict[str, dict[str, Any]]:
    """optbinning's per-variable settings: the monotonic trend of every numeric variable, and
    the special codes of those that have them (when ``use_special_codes``)."""
    trend = None if p.monotonic_trend == "none" else p.monotonic_trend
    out: dict[str, dict[str, Any]] = {v: {"monotonic_trend": trend} for v in numeric}
    if p.use_special_codes:
        for column, codes in p.special_codes.items():
            if column in out:
                out[column]["special_codes"] = list(codes)
    return out


def _forget_timings(scorecard: Any) -> None:
    """Zero optbinning's fit timings (``_time_*``): the same data then pickles to the same bytes."""
    process = scorecard.binning_process_
    for part in (scorecard, process, *process._binned_variables.values()):
        for name in [n for n in vars(part) if n.startswith("_time")]:
            setattr(part, name, 0.0)


def _as_frame(X: Any) -> pd.DataFrame:
    """A DataFrame as given, or a checked 2-d array's columns named ``x0``, ``x1``, ..."""
    if isinstance(X, pd.DataFrame):
        return X
    return pd.DataFrame(X, columns=[f"x{i}" for i in range(np.shape(X)[1])])
