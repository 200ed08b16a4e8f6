"""PD model families: gradient-boosted trees (XGBoost) and a logistic-regression baseline."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from xgboost import XGBClassifier

FAMILIES = ("xgboost", "logistic")
N_THREADS = 2


def make_xgboost(params: dict[str, Any], seed: int, **extra: Any) -> XGBClassifier:
    """An XGBoost classifier with the ``hist`` tree method and the given hyper-parameters."""
    return XGBClassifier(
        objective="binary:logistic",
        tree_method="hist",
        eval_metric="auc",
        n_jobs=N_THREADS,
        random_state=seed,
        **params,
        **extra,
    )


def fit_xgboost_early_stopping(
    params: dict[str, Any],
    seed: int,
    max_estimators: int,
    early_stopping_rounds: int,
    train: tuple[pd.DataFrame, np.ndarray],
    valid: tuple[pd.DataFrame, np.ndarray],
) -> tuple[XGBClassifier, float, int]:
    """Fit with early stopping on validation AUC; return model, validation AUC, tree count."""
    model = make_xgboost(
        params, seed, n_estimators=max_estimators, early_stopping_rounds=early_stopping_rounds
    )
    model.fit(*train, eval_set=[valid], verbose=False)
    auc = roc_auc_score(valid[1], model.predict_proba(valid[0])[:, 1])
    return model, float(auc), int(model.best_iteration) + 1


def make_logistic(c: float, seed: int) -> Pipeline:
    """Standardised features, then L2-penalised logistic regression."""
    return Pipeline(
        [
            ("scale", StandardScaler()),
            ("logit", LogisticRegression(C=c, max_iter=5000, random_state=seed)),
        ]
    )
