"""Exact TreeSHAP contributions of an XGBoost model, at the lowest cost that stays exact.

Small batches go to XGBoost's own ``pred_contribs``. Large batches go to WOODELF's
path-dependent algorithm (``woodelf-explainer``), which computes the same Shapley values once
per leaf and decision pattern instead of once per row: its cost grows with the trees, not the
rows, past a fixed per-call cost of the order of 0.1 s (depth 3) to 3 s (depth 6, 300 trees).
A matrix with missing values stays on ``pred_contribs``: WOODELF does not follow XGBoost's
learned default direction for a missing value.
"""

from __future__ import annotations

import weakref

import numpy as np
import pandas as pd
import xgboost as xgb

WOODELF_MIN_ROWS = 10_000  # below this, pred_contribs is as fast (WOODELF's fixed cost)
WOODELF_CHUNK_ROWS = 500_000  # rows per WOODELF call: bounds the per-leaf pattern arrays

_explainers: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def pred_contribs(
    model: xgb.XGBClassifier, matrix: pd.DataFrame, approx: bool = False
) -> np.ndarray:
    """XGBoost's contributions per model column (bias column dropped); ``approx``: Saabas."""
    dmatrix = xgb.DMatrix(matrix, feature_names=list(matrix.columns))
    found = model.get_booster().predict(dmatrix, pred_contribs=True, approx_contribs=approx)
    return found[:, :-1]


def uses_woodelf(matrix: pd.DataFrame) -> bool:
    """Whether :func:`exact_contributions` takes the WOODELF path for this matrix."""
    return len(matrix) >= WOODELF_MIN_ROWS and not matrix.isna().to_numpy().any()


def woodelf_contributions(model: xgb.XGBClassifier, matrix: pd.DataFrame) -> np.ndarray:
    """WOODELF's path-dependent Shapley values per model column, in chunks of rows."""
    from woodelf import WoodelfExplainer
    from woodelf.core.trees.parse_models import load_decision_tree_ensemble_model

    columns = list(matrix.columns)
    cached = _explainers.get(model)
    if cached is None or cached[0] != columns:
        trees = load_decision_tree_ensemble_model(model, columns)
        cached = (columns, WoodelfExplainer(trees, feature_perturbation="tree_path_dependent"))
        _explainers[model] = cached
    explainer = cached[1]
    values = np.empty(matrix.shape, dtype=np.float32)
    for start in range(0, len(matrix), WOODELF_CHUNK_ROWS):
        part = matrix.iloc[start : start + WOODELF_CHUNK_ROWS].astype(float)
        values[start : start + len(part)] = explainer.shap_values(part, verbose=False)
    return values


def exact_contributions(model: xgb.XGBClassifier, matrix: pd.DataFrame) -> np.ndarray:
    """Exact TreeSHAP per model column: WOODELF for large complete batches, else XGBoost."""
    if uses_woodelf(matrix):
        return woodelf_contributions(model, matrix)
    return pred_contribs(model, matrix)
