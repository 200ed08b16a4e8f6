"""Fairness of limit decisions across protected groups (the test split's decisions).

Per group of a protected attribute: approval rate and its adverse impact ratio (AIR) against a
reference group (the four-fifths rule flags AIR below 0.8); mean limit and mean PD with their
standardised mean difference (SMD) against the reference group; AUC, and realised against
predicted default rate with a binomial test. Groups smaller than a minimum size are marked
``too small to judge`` and never flagged. A proxy check asks how well the model's own features
predict membership of the reference group.
"""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pandas as pd
from fairlearn.metrics import MetricFrame, count, mean_prediction, selection_rate
from scipy.stats import binomtest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from limitlab.errors import InputError

MISSING = "<missing>"
TOO_SMALL = "too small to judge"


def band_labels(bands: list[float]) -> list[str]:
    """``<25``, ``25-35``, …, ``65+`` for the cut points ``[25, 35, …, 65]``."""
    edges = sorted(bands)
    middle = [f"{a:g}-{b:g}" for a, b in pairwise(edges)]
    return [f"<{edges[0]:g}", *middle, f"{edges[-1]:g}+"]


def attribute_groups(values: pd.Series, bands: list[float] | None = None) -> pd.Series:
    """Group label of each row: numeric values in ``bands`` (see :func:`band_labels`; a band
    includes its lower edge), other values as text; missing values are a group of their own."""
    if bands and pd.api.types.is_numeric_dtype(values):
        edges = sorted(bands)
        cut = pd.cut(values, [-np.inf, *edges, np.inf], right=False, labels=band_labels(edges))
        return cut.astype("string").fillna(MISSING)
    return values.astype("string").str.strip().fillna(MISSING)


def standardised_mean_difference(group: np.ndarray, reference: np.ndarray) -> float:
    """(mean of group - mean of reference) / pooled standard deviation; 0 when both are
    constant and equal, NaN when either side has fewer than two values."""
    group, reference = np.asarray(group, float), np.asarray(reference, float)
    if len(group) < 2 or len(reference) < 2:
        return float("nan")
    pooled = np.sqrt((group.var(ddof=1) + reference.var(ddof=1)) / 2)
    difference = group.mean() - reference.mean()
    if pooled == 0:
        return 0.0 if difference == 0 else float(np.sign(difference) * np.inf)
    return float(difference / pooled)


def _auc(y_true: np.ndarray, y_score: np.ndarray) -> float:
    return float(roc_auc_score(y_true, y_score)) if len(np.unique(y_true)) == 2 else float("nan")


def _realised(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    return float(np.mean(y_true))


def group_table(
    groups: pd.Series,
    approved: np.ndarray,
    limit: np.ndarray,
    pd_: np.ndarray,
    y: np.ndarray,
    reference: str | None,
    min_group_size: int,
    air_threshold: float,
    smd_threshold: float,
    order: list[str] | None = None,
) -> tuple[pd.DataFrame, str]:
    """One row per group with the measures and flags above; and the reference group used
    (``reference``, or else the most favoured group among those large enough to judge)."""
    groups = groups.reset_index(drop=True)
    approved, limit = np.asarray(approved, int), np.asarray(limit, float)
    pd_, y = np.asarray(pd_, float), np.asarray(y, int)
    by_approval = MetricFrame(metrics={"count": count, "approval_rate": selection_rate},
                              y_true=y, y_pred=approved, sensitive_features=groups)  # fmt: skip
    by_pd = MetricFrame(metrics={"mean_pd": mean_prediction, "realised_rate": _realised,
                                 "auc": _auc},
                        y_true=y, y_pred=pd_, sensitive_features=groups)  # fmt: skip
    by_limit = MetricFrame(metrics={"mean_limit": mean_prediction}, y_true=y, y_pred=limit,
                           sensitive_features=groups)  # fmt: skip
    table = pd.concat([by_approval.by_group, by_limit.by_group, by_pd.by_group], axis=1)
    table.index = table.index.astype(str)
    table["count"] = table["count"].astype(int)
    judged = table["count"] >= min_group_size
    if reference is None:
        candidates = table[judged] if judged.any() else table
        reference = str(candidates["approval_rate"].idxmax())
    elif reference not in table.index:
        raise InputError(
            f"reference group {reference!r} is not among the groups found "
            f"{sorted(table.index)}; expected one of them"
        )
    ref = (groups == reference).to_numpy()
    table["air"] = table["approval_rate"] / max(table.loc[reference, "approval_rate"], 1e-12)
    smd_limit, smd_pd, p_values = [], [], []
    for name in table.index:
        rows = (groups == name).to_numpy()
        smd_limit.append(standardised_mean_difference(limit[rows], limit[ref]))
        smd_pd.append(standardised_mean_difference(pd_[rows], pd_[ref]))
        expected = min(max(float(pd_[rows].mean()), 1e-12), 1 - 1e-12)
        p_values.append(binomtest(int(y[rows].sum()), int(rows.sum()), expected).pvalue)
    table["smd_limit"], table["smd_pd"], table["binomial_p"] = smd_limit, smd_pd, p_values
    table["status"] = np.where(judged, "judged", TOO_SMALL)
    other = table.index != reference
    table["air_flag"] = judged & other & (table["air"] < air_threshold)
    table["smd_flag"] = (
        judged
        & other
        & ((table["smd_limit"].abs() > smd_threshold) | (table["smd_pd"].abs() > smd_threshold))
    )
    table.loc[reference, "status"] = "reference"
    if order:
        table = table.loc[[g for g in [*order, MISSING] if g in table.index]]
    return table.reset_index(names="group"), reference


def proxy_check(
    matrix: pd.DataFrame, member: np.ndarray, seed: int = 0, top: int = 3
) -> dict[str, object]:
    """How well the model's features predict group membership: out-of-fold AUC of a
    standardised logistic regression, and the columns with the largest coefficients."""
    member = np.asarray(member, int)
    smaller = int(min(member.sum(), len(member) - member.sum()))
    if smaller < 2:
        return {"auc": None, "why": "one class only: membership cannot be predicted"}
    folds = StratifiedKFold(n_splits=min(5, smaller), shuffle=True, random_state=seed)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    values = matrix.fillna(0.0).to_numpy(float)
    scores = cross_val_predict(model, values, member, cv=folds, method="predict_proba")[:, 1]
    coefficients = model.fit(values, member)[-1].coef_[0]
    order = np.argsort(-np.abs(coefficients))[:top]
    carriers = [{"column": str(matrix.columns[i]), "coefficient": float(coefficients[i])}
                for i in order]  # fmt: skip
    return {"auc": float(roc_auc_score(member, scores)), "features": carriers}


def attribute_figures(found: dict) -> dict[str, str]:
    """One attribute of the fairness metrics as text: lowest AIR, largest |SMD|, proxy AUC
    (``-`` when not measured) and the groups too small to judge (``''`` for none)."""

    def two_places(key: str) -> str:
        value = found.get(key)
        return "-" if value is None else f"{value:.2f}"

    small = found["too_small"]
    return {"air": two_places("min_air"), "smd": two_places("max_abs_smd"),
            "proxy": two_places("proxy_auc"),
            "too_small": f"; too small to judge: {', '.join(small)}" if small else ""}  # fmt: skip
