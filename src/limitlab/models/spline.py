"""The spline family: a penalised-spline logistic GAM, monotone where the spec declares it.

Each numeric model column enters through a cubic B-spline on quantile knots, written in its
cumulative (I-spline) form: basis ``j`` is the sum of the B-splines from ``j`` on, so each basis
function rises from 0 to 1 and a coefficient is the step between two neighbouring B-spline
coefficients. A column declared monotone (``+1`` or ``-1``) then gets coefficients of one sign,
which makes its curve never fall (or never rise), and the ridge penalty on the coefficients is a
first-difference smoothness penalty (a P-spline). Binary columns (one-hot levels, missing flags)
and columns with too few distinct values enter linearly on [0, 1]. Outside the training range a
curve stays at its boundary value.

The log-odds is an intercept plus one curve per column, so a column's exact contribution is its
curve at the row less the curve's mean over the training rows.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.interpolate import BSpline
from scipy.optimize import minimize
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from limitlab.errors import InputError
from limitlab.features.transformers import validate_input
from limitlab.models.rowwise import row_sums
from limitlab.models.targets import check_binary_target

DEGREE = 3


def _knots(values: np.ndarray, n_knots: int) -> np.ndarray:
    """Distinct quantiles of ``values`` at ``n_knots`` evenly spaced levels (ends included)."""
    return np.unique(np.quantile(values, np.linspace(0.0, 1.0, n_knots)))


def column_basis(x: np.ndarray, knots: np.ndarray) -> np.ndarray:
    """The I-spline basis of one column (rows x functions), each function rising from 0 to 1.

    Fewer than three distinct knots: one linear function on [first knot, last knot].
    """
    lo, hi = float(knots[0]), float(knots[-1])
    x = np.clip(np.asarray(x, dtype=float), lo, hi)
    if len(knots) < 3:
        return ((x - lo) / (hi - lo if hi > lo else 1.0))[:, None]
    vector = np.r_[[lo] * DEGREE, knots, [hi] * DEGREE]
    b = BSpline.design_matrix(x, vector, DEGREE).toarray()
    return np.cumsum(b[:, ::-1], axis=1)[:, ::-1][:, 1:]


class SplineGAM(ClassifierMixin, BaseEstimator):
    """Logistic regression on per-column I-spline bases with sign constraints and a ridge.

    Parameters
    ----------
    n_knots : int
        Quantile knots per numeric column, the ends included (at least 3).
    alpha : float
        Ridge penalty on every coefficient but the intercept (larger: smoother curves).
    monotone : dict of str to int or None
        ``{column: 1 or -1}``: the column's curve never falls (1) or never rises (-1).
    """

    def __init__(
        self, n_knots: int = 5, alpha: float = 1.0, monotone: dict[str, int] | None = None
    ) -> None:
        self.n_knots = n_knots
        self.alpha = alpha
        self.monotone = monotone

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return tags

    def _design(self, frame: pd.DataFrame) -> tuple[np.ndarray, list[slice]]:
        blocks, slices, start = [], [], 0
        for column, knots in zip(self.columns_, self.knots_, strict=True):
            block = column_basis(frame[column].to_numpy(dtype=float), knots)
            blocks.append(block)
            slices.append(slice(start, start + block.shape[1]))
            start += block.shape[1]
        return np.hstack(blocks), slices

    def _frame(self, X: Any, reset: bool) -> pd.DataFrame:
        X = validate_input(self, X, reset=reset)
        frame = X if isinstance(X, pd.DataFrame) else pd.DataFrame(X)
        bad = ~np.isfinite(frame.to_numpy(dtype=float))
        if bad.any():
            column = frame.columns[int(bad.any(axis=0).argmax())]
            raise InputError(
                f"spline: column {column!r} has missing (NaN) or infinite (inf) values; "
                "expected the imputed feature matrix, every value finite"
            )
        return frame

    def fit(self, X: Any, y: Any) -> SplineGAM:
        if int(self.n_knots) < 3:
            raise InputError(f"spline: n_knots {self.n_knots}; expected at least 3")
        if not float(self.alpha) > 0:
            raise InputError(f"spline: alpha {self.alpha}; expected a positive number")
        frame = self._frame(X, reset=True)
        y = check_binary_target(y)
        self.classes_ = np.unique(y)
        target = (y == self.classes_[1]).astype(float)
        monotone = dict(self.monotone or {})
        if unknown := sorted(set(monotone) - set(frame.columns)):
            raise InputError(f"spline: monotone column(s) {unknown} not in the input")
        self.columns_ = list(frame.columns)
        self.knots_ = [_knots(frame[c].to_numpy(dtype=float), int(self.n_knots))
                       for c in self.columns_]  # fmt: skip
        z, slices = self._design(frame)
        bounds: list[tuple[float | None, float | None]] = [(None, None)]
        for column, part in zip(self.columns_, slices, strict=True):
            sign = monotone.get(column, 0)
            bound = (0.0, None) if sign > 0 else (None, 0.0) if sign < 0 else (None, None)
            bounds += [bound] * (part.stop - part.start)
        self.coef_, self.intercept_ = self._solve(z, target, bounds)
        self.slices_ = slices
        self.splines_ = self._b_splines()
        terms = self._terms(z)
        self.term_means_ = terms.mean(axis=0)
        return self

    def _solve(self, z: np.ndarray, target: np.ndarray, bounds: list) -> tuple[np.ndarray, float]:
        """Penalised maximum likelihood by L-BFGS-B under the sign bounds (deterministic)."""
        n = len(target)
        alpha = float(self.alpha)
        prior = float(np.log(target.mean() / (1 - target.mean())))

        def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
            margin = w[0] + z @ w[1:]
            value = np.logaddexp(0.0, margin).sum() - target @ margin
            value += 0.5 * alpha * (w[1:] @ w[1:])
            residual = expit(margin) - target
            grad = np.r_[residual.sum(), z.T @ residual + alpha * w[1:]]
            return value / n, grad / n

        start = np.r_[prior, np.zeros(z.shape[1])]
        result = minimize(loss, start, jac=True, method="L-BFGS-B", bounds=bounds,
                          options={"maxiter": 2000, "gtol": 1e-7})  # fmt: skip
        return result.x[1:], float(result.x[0])

    def _terms(self, z: np.ndarray) -> np.ndarray:
        """Each column's curve at each row of the design ``z`` (rows x columns)."""
        return np.column_stack([z[:, s] @ self.coef_[s] for s in self.slices_])

    def _b_splines(self) -> list[BSpline | None]:
        """Each column's curve in B-spline form: the I-spline steps summed into B-spline
        coefficients (None for a column that enters linearly)."""
        out: list[BSpline | None] = []
        for knots, part in zip(self.knots_, self.slices_, strict=True):
            if len(knots) < 3:
                out.append(None)
                continue
            lo, hi = float(knots[0]), float(knots[-1])
            vector = np.r_[[lo] * DEGREE, knots, [hi] * DEGREE]
            coefficients = np.r_[0.0, np.cumsum(self.coef_[part])]
            out.append(BSpline(vector, coefficients, DEGREE, extrapolate=False))
        return out

    def _column_curve(self, i: int, x: np.ndarray) -> np.ndarray:
        """Column ``i``'s curve at ``x`` by de Boor's algorithm: the design matrix's values
        without building it."""
        knots = self.knots_[i]
        lo, hi = float(knots[0]), float(knots[-1])
        x = np.clip(np.asarray(x, dtype=float), lo, hi)
        spline = self.splines_[i]
        if spline is None:
            return self.coef_[self.slices_[i]][0] * (x - lo) / (hi - lo if hi > lo else 1.0)
        return spline(x)

    def _curves(self, frame: pd.DataFrame) -> np.ndarray:
        return np.column_stack([self._column_curve(i, frame[c].to_numpy(dtype=float))
                                for i, c in enumerate(self.columns_)])  # fmt: skip

    def decision_function(self, X: Any) -> np.ndarray:
        return self._margin(self.column_margins(X))

    def _margin(self, margins: np.ndarray) -> np.ndarray:
        return self.intercept_ + float(self.term_means_.sum()) + row_sums(margins)

    def predict_proba(self, X: Any) -> np.ndarray:
        return self.proba_from_margins(self.column_margins(X))

    def proba_from_margins(self, margins: np.ndarray) -> np.ndarray:
        """``[1 - PD, PD]`` of rows whose per-column contributions are ``margins``."""
        p = expit(self._margin(margins))
        return np.column_stack([1 - p, p])

    def predict(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "coef_")
        return self.classes_[(self.decision_function(X) > 0).astype(int)]

    def column_margins(self, X: Any) -> np.ndarray:
        """Each column's exact share of the log-odds (rows x columns): its curve less the
        curve's training mean (they sum to the log-odds less the mean log-odds of the training
        rows)."""
        check_is_fitted(self, "coef_")
        return self._curves(self._frame(X, reset=False)) - self.term_means_

    def contributions(self, X: Any) -> pd.DataFrame:
        """:meth:`column_margins` as a frame, indexed like ``X``."""
        index = X.index if isinstance(X, pd.DataFrame) else None
        return pd.DataFrame(self.column_margins(X), columns=self.columns_, index=index)

    def curve(self, column: str, x: np.ndarray) -> np.ndarray:
        """The fitted curve of ``column`` at the values ``x`` (log-odds, training mean 0)."""
        check_is_fitted(self, "coef_")
        i = self.columns_.index(column)
        return self._column_curve(i, np.asarray(x, dtype=float)) - self.term_means_[i]
