"""Calibration of a PD model on data not used to fit it: Platt scaling or isotonic regression."""

from __future__ import annotations

import numpy as np
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

EPS = 1e-6


def logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=float), EPS, 1 - EPS)
    return np.log(p / (1 - p))


def calibration_slope_intercept(y: np.ndarray, pd_: np.ndarray) -> tuple[float, float]:
    """Slope and intercept of the logistic recalibration of outcomes on logit(PD) (ideal: 1, 0)."""
    fit = LogisticRegression(C=1e6, max_iter=1000).fit(logit(pd_).reshape(-1, 1), y)
    return float(fit.coef_[0, 0]), float(fit.intercept_[0])


class CalibratedModel:
    """A fitted PD model whose probabilities pass through a calibration map.

    ``base_model`` keeps the uncalibrated model (for contributions and before/after reports).
    """

    def __init__(self, base_model: object, method: str) -> None:
        if method not in {"platt", "isotonic"}:
            raise ValueError(f"calibration method {method!r}; expected 'platt' or 'isotonic'")
        self.base_model = base_model
        self.method = method

    def fit(self, X: object, y: np.ndarray) -> CalibratedModel:
        raw = self.base_model.predict_proba(X)[:, 1]
        if self.method == "platt":
            self.map_ = LogisticRegression(C=1e6, max_iter=1000).fit(logit(raw).reshape(-1, 1), y)
        else:
            self.map_ = IsotonicRegression(y_min=EPS, y_max=1 - EPS, out_of_bounds="clip")
            self.map_.fit(raw, y)
        return self

    def calibrate(self, raw: np.ndarray) -> np.ndarray:
        """Calibrated PD from the base model's PD."""
        if self.method == "platt":
            return self.map_.predict_proba(logit(raw).reshape(-1, 1))[:, 1]
        return self.map_.predict(np.asarray(raw, dtype=float))

    def predict_proba(self, X: object) -> np.ndarray:
        pd_ = self.calibrate(self.base_model.predict_proba(X)[:, 1])
        return np.column_stack([1 - pd_, pd_])
