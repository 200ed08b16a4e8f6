"""The champion PD model: a family pipeline and a calibration map fitted on data not used to fit
the pipeline (Platt scaling, isotonic regression, or none).

:class:`CalibratedPD` is the one PD-model interface the rest of limitlab calls: ``predict_pd``,
``raw_pd`` (before calibration), ``calibrate`` and ``pipeline`` (the family pipeline, for
contributions). A pipeline fitted elsewhere is wrapped in scikit-learn's ``FrozenEstimator`` so
that ``fit`` only fits the calibration map.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.utils import get_tags

from limitlab.errors import InputError
from limitlab.models.targets import check_binary_target

EPS = 1e-6
METHODS = ("platt", "isotonic", "none")


def logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=float), EPS, 1 - EPS)
    return np.log(p / (1 - p))


def calibration_slope_intercept(y: np.ndarray, pd_: np.ndarray) -> tuple[float, float]:
    """Slope and intercept of the logistic recalibration of outcomes on logit(PD) (ideal: 1, 0)."""
    fit = LogisticRegression(C=1e6, max_iter=1000).fit(logit(pd_).reshape(-1, 1), y)
    return float(fit.coef_[0, 0]), float(fit.intercept_[0])


def _check_fitted(model: BaseEstimator, attribute: str) -> None:
    """scikit-learn's ``check_is_fitted`` for one attribute, without its cost per call (a
    tenth of a one-row request)."""
    if not hasattr(model, attribute):
        raise NotFittedError(
            f"This {type(model).__name__} instance is not fitted yet. Call 'fit' with "
            "appropriate arguments before using this estimator."
        )


class CalibratedPD(ClassifierMixin, BaseEstimator):
    """A binary PD model whose probabilities pass through a calibration map.

    Parameters
    ----------
    estimator : classifier with ``predict_proba``
        Fitted by :meth:`fit` on the same data as the map, unless it is a ``FrozenEstimator``
        (a pipeline fitted on the training split, calibrated on out-of-fold PDs).
    method : {"platt", "isotonic", "none"}
        Platt scaling (logistic regression on the logit of the PD), isotonic regression, or
        the identity.
    """

    def __init__(self, estimator: Any = None, method: str = "platt") -> None:
        self.estimator = estimator
        self.method = method

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        if self.estimator is not None:
            inner = get_tags(self.estimator).input_tags
            tags.input_tags.allow_nan = inner.allow_nan
            tags.input_tags.sparse = inner.sparse
        return tags

    def fit(self, X: Any, y: Any, raw_scores: np.ndarray | None = None) -> CalibratedPD:
        """Fit the estimator (unless frozen) and the map; the map on ``raw_scores`` when given
        (out-of-fold PDs of ``y``'s rows), else on the estimator's PDs of ``X``."""
        if self.method not in METHODS:
            raise InputError(f"calibration method {self.method!r}; expected one of {METHODS}")
        if self.estimator is None:
            raise InputError("CalibratedPD needs an estimator; got None")
        y = check_binary_target(y)
        self.classes_ = np.unique(y)
        self.estimator_ = clone(self.estimator)
        if not isinstance(self.estimator_, FrozenEstimator):
            self.estimator_.fit(X, y)
        for name in ("n_features_in_", "feature_names_in_"):
            if hasattr(self.estimator_, name):
                setattr(self, name, getattr(self.estimator_, name))
        bad = (y == self.classes_[1]).astype(int)
        raw = self._raw(X) if raw_scores is None else np.asarray(raw_scores, dtype=float)
        if self.method == "platt":
            self.map_ = LogisticRegression(C=1e6, max_iter=1000).fit(logit(raw).reshape(-1, 1), bad)
        elif self.method == "isotonic":
            self.map_ = IsotonicRegression(y_min=EPS, y_max=1 - EPS, out_of_bounds="clip")
            self.map_.fit(raw, bad)
        else:
            self.map_ = None
        return self

    @property
    def pipeline(self) -> Any:
        """The fitted family pipeline (raw applicant columns to uncalibrated PD)."""
        _check_fitted(self, "estimator_")
        inner = self.estimator_
        return inner.estimator if isinstance(inner, FrozenEstimator) else inner

    def _raw(self, X: Any) -> np.ndarray:
        proba = self.estimator_.predict_proba(X)
        column = list(self.estimator_.classes_).index(self.classes_[1])
        return np.asarray(proba[:, column], dtype=float)

    def calibrate(self, raw: np.ndarray) -> np.ndarray:
        """Calibrated PD from the pipeline's PD."""
        _check_fitted(self, "map_")
        if self.method == "platt":  # the map's own predict_proba, one row at a time
            return expit(logit(raw) * self.map_.coef_[0, 0] + self.map_.intercept_[0])
        if self.method == "isotonic":
            return self.map_.predict(np.asarray(raw, dtype=float))
        return np.asarray(raw, dtype=float)

    def raw_pd(self, X: Any) -> np.ndarray:
        """PD before calibration."""
        _check_fitted(self, "map_")
        return self._raw(X)

    def predict_pd(self, X: Any) -> np.ndarray:
        """Calibrated probability of default of each row."""
        return self.calibrate(self.raw_pd(X))

    def predict_proba(self, X: Any) -> np.ndarray:
        pd_ = self.predict_pd(X)
        return np.column_stack([1 - pd_, pd_])

    def predict(self, X: Any) -> np.ndarray:
        pd_ = self.predict_pd(X)
        return self.classes_[(pd_ > 0.5).astype(int)]


def calibrated(pipeline: Any, method: str, X: Any, y: np.ndarray) -> CalibratedPD:
    """``pipeline`` (already fitted) calibrated on ``X``, ``y``."""
    return CalibratedPD(FrozenEstimator(pipeline), method).fit(X, y)


def calibrated_out_of_fold(
    pipeline: Any, method: str, oof_pd: np.ndarray, y: np.ndarray
) -> CalibratedPD:
    """``pipeline`` (fitted on all training rows) with a map fitted on its family's out-of-fold
    PDs: each PD the map sees came from a model that never saw that row."""
    return CalibratedPD(FrozenEstimator(pipeline), method).fit(None, y, raw_scores=oof_pd)
