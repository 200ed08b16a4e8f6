"""The ``ensemble`` family: logistic stacking of the other families' PDs with non-negative
weights, fitted on their out-of-fold PDs.

``logit(PD) = b + sum_i w_i logit(PD_i)`` with every ``w_i >= 0``: where all members' PDs never
fall (or never rise) with a feature, neither does the blend, so it keeps every monotone
constraint its members share. Its contributions are the members' log-odds contributions
weighted the same way, so its reasons come from its members.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin

from limitlab.models.calibration import logit
from limitlab.models.rowwise import row_dot

ENSEMBLE = "ensemble"


def fit_stacking(scores: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """(intercept, non-negative weights) minimising the log loss of ``b + logit(scores) @ w``."""
    z = logit(np.asarray(scores, dtype=float))
    y = np.asarray(y, dtype=float)
    m = z.shape[1]

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        eta = theta[0] + z @ theta[1:]
        p = expit(eta)
        value = float(np.sum(np.logaddexp(0.0, eta) - y * eta)) / len(y)
        residual = (p - y) / len(y)
        return value, np.concatenate([[residual.sum()], z.T @ residual])

    start = np.concatenate([[0.0], np.full(m, 1.0 / m)])
    bounds = [(None, None)] + [(0.0, None)] * m
    found = minimize(loss, start, jac=True, method="L-BFGS-B", bounds=bounds)
    return float(found.x[0]), np.maximum(found.x[1:], 0.0)


def stacked_pd(scores: np.ndarray, intercept: float, weights: np.ndarray) -> np.ndarray:
    """The blend's PD, summed row by row (a row's PD does not depend on the batch)."""
    return expit(intercept + row_dot(logit(np.asarray(scores, dtype=float)), weights))


def cross_fitted(
    scores: np.ndarray, y: np.ndarray, folds: list[tuple[np.ndarray, np.ndarray]]
) -> np.ndarray:
    """The ensemble's own out-of-fold PDs: each fold's rows blended with weights fitted on the
    other folds' rows (so the ensemble competes on rows its weights never saw)."""
    total, count = np.zeros(len(y)), np.zeros(len(y))
    for fit_rows, scored_rows in folds:
        intercept, weights = fit_stacking(scores[fit_rows], y[fit_rows])
        total[scored_rows] += stacked_pd(scores[scored_rows], intercept, weights)
        count[scored_rows] += 1
    return total / np.maximum(count, 1)


class StackedPD(ClassifierMixin, BaseEstimator):
    """Member pipelines (raw applicant columns to PD) blended by :func:`fit_stacking`."""

    def __init__(self, members: dict[str, Any] | None = None, intercept: float = 0.0,
                 weights: dict[str, float] | None = None) -> None:  # fmt: skip
        self.members = members
        self.intercept = intercept
        self.weights = weights

    @classmethod
    def from_out_of_fold(
        cls, members: dict[str, Any], oof: dict[str, np.ndarray], y: np.ndarray
    ) -> StackedPD:
        """Weights fitted on the members' out-of-fold PDs; the members fitted on all rows."""
        names = list(members)
        intercept, weights = fit_stacking(np.column_stack([oof[n] for n in names]), y)
        model = cls(members, intercept, dict(zip(names, weights.tolist(), strict=True)))
        model.classes_ = np.array([0, 1])
        return model

    def fit(self, X: Any, y: Any) -> StackedPD:  # the members and weights come fitted
        self.classes_ = np.array([0, 1])
        return self

    @property
    def active_weights(self) -> dict[str, float]:
        """The members with a positive weight: a member weighted 0 changes no PD and no
        reason, so it is neither scored nor explained."""
        return {name: w for name, w in (self.weights or {}).items() if w > 0}

    def stacking(self) -> dict[str, Any]:
        """The intercept and every member's weight (a member weighted 0 is never scored)."""
        return {"intercept": self.intercept, "weights": dict(self.weights or {})}

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        active = self.active_weights
        pds = np.column_stack(
            [self.members[n].predict_proba(X)[:, 1] for n in active] or [np.empty((len(X), 0))]
        )
        pd_ = stacked_pd(pds, self.intercept, np.asarray(list(active.values())))
        return np.column_stack([1 - pd_, pd_])

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] > 0.5).astype(int)

    def raw_contributions(self, X: pd.DataFrame, approx: bool = False) -> pd.DataFrame | None:
        """Per raw feature: the members' log-odds contributions times their weights."""
        from limitlab.models.contributions import raw_feature_contributions

        total: pd.DataFrame | None = None
        for name, weight in self.active_weights.items():
            member = self.members[name]
            found = raw_feature_contributions(member[-1], member[:-1].transform(X), approx)
            if found is None:
                continue
            part = found * weight
            total = part if total is None else total.add(part, fill_value=0.0)
        return total
