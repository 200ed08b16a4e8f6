"""Model metrics by income tier: quantile tiers of the training split's income."""

from __future__ import annotations

import numpy as np
import pandas as pd

from limitlab.evaluation.metrics import classification_metrics


def income_tier_edges(train_income: pd.Series, tiers: int) -> np.ndarray:
    """Inner quantile edges of the training income (fewer when quantiles coincide)."""
    income = train_income.dropna()
    return np.unique(np.quantile(income, np.linspace(0, 1, tiers + 1)[1:-1]))


def tier_metrics(
    income: np.ndarray, y: np.ndarray, pd_: np.ndarray, edges: np.ndarray, bins: int
) -> dict[str, dict]:
    """Rows, bad rate and (where both classes occur) AUC, KS, Brier and ECE per income tier.

    Tiers are ``tier_k_of_n`` by ``edges``; rows without an income form the ``missing`` tier.
    """
    income = np.asarray(income, dtype=float)
    tier = np.where(np.isnan(income), -1, np.searchsorted(edges, income, side="right"))
    rows = {}
    for t in sorted(set(tier)):
        mask = tier == t
        label = "missing" if t < 0 else f"tier_{t + 1}_of_{len(edges) + 1}"
        row = {"n": int(mask.sum()), "bad_rate": float(y[mask].mean())}
        if len(set(y[mask])) == 2:
            m = classification_metrics(y[mask], pd_[mask], bins)
            row.update({k: m[k] for k in ("auc", "ks", "brier", "ece")})
        rows[label] = row
    return rows
