"""Per-feature contributions to the PD's log-odds, summed back to the raw input features.

XGBoost and its random forest: exact TreeSHAP contributions (``pred_contribs``, or WOODELF's
same values on large batches: :mod:`limitlab.models.tree_shap`). The additive
family: the same exact values, read from its lookup tables. The spline family: each column's
curve less its training mean, exact since the model is a sum of curves. Logistic regression:
coefficient times the standardised value, i.e. the contribution relative to an average applicant.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xgboost as xgb
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from limitlab.features.transformers import MISSING_FLAG
from limitlab.models.additive import AdditiveBoosting
from limitlab.models.families import ScorecardModel
from limitlab.models.saabas import saabas_contributions
from limitlab.models.spline import SplineGAM
from limitlab.models.tree_shap import exact_contributions


def source_feature(name: str) -> str:
    """Raw feature behind a model column: ``cat__Job=fixed`` and ``num__missingindicator_Job``
    both come from ``Job``."""
    name = name.split("__", 1)[-1]
    name = name.removeprefix(MISSING_FLAG)
    return name.split("=", 1)[0]


def column_contributions(
    model: object, matrix: pd.DataFrame, approx: bool = False
) -> pd.DataFrame | None:
    """Contribution of each model column to each row's log-odds; None for an unknown family.

    ``approx`` uses the Saabas path attribution (XGBoost's ``approx_contribs`` values, from
    :mod:`limitlab.models.saabas`) instead of exact TreeSHAP.
    """
    if isinstance(model, ScorecardModel):
        return model.contributions(matrix)
    if isinstance(model, AdditiveBoosting | SplineGAM):
        return model.contributions(matrix)
    if isinstance(model, xgb.XGBClassifier):
        values = (
            saabas_contributions(model, matrix) if approx else exact_contributions(model, matrix)
        )
    elif isinstance(model, Pipeline) and isinstance(model[-1], LogisticRegression):
        scaled = np.asarray(model[:-1].transform(matrix), dtype=float)
        values = scaled * model[-1].coef_[0]
    else:
        return None
    return pd.DataFrame(values, columns=matrix.columns, index=matrix.index)


def raw_feature_contributions(
    model: object, matrix: pd.DataFrame, approx: bool = False
) -> pd.DataFrame | None:
    """Contributions summed per raw input feature (one-hot levels and missing flags together);
    a blend of families (the ensemble) sums its members' contributions by
    its weights."""
    if hasattr(model, "raw_contributions"):
        return model.raw_contributions(matrix, approx)
    columns = column_contributions(model, matrix, approx)
    if columns is None:
        return None
    return summed_to_raw(columns.to_numpy(float), list(columns.columns), columns.index)


def summed_to_raw(values: np.ndarray, columns: list[str], index: pd.Index) -> pd.DataFrame:
    """Contributions of model ``columns`` (rows x columns) summed per raw feature, column by
    column in a fixed order: a row's sums do not depend on the rows summed with it (a matrix
    product's rounding can), so its reasons are the same alone and in a batch."""
    sources = [source_feature(c) for c in columns]
    raw = list(dict.fromkeys(sources))
    out = np.zeros((len(values), len(raw)), order="F")
    for j, source in enumerate(sources):
        out[:, raw.index(source)] += values[:, j]
    return pd.DataFrame(out, columns=raw, index=index)
