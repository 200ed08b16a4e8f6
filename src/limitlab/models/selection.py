"""Choosing the champion family on out-of-fold predictions of the train split (never on test).

The family best on ``train.selection_metric`` wins unless a simpler family (``train.simplicity``,
simplest first) is within noise of it: not significantly worse by a paired test at
``train.selection_alpha`` (DeLong for AUC; a paired t-test of the per-row losses for Brier and
log loss). KS has no paired test here: the best family wins.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import ttest_rel

from limitlab.evaluation.metrics import classification_metrics, paired_auc_test

LOWER_IS_BETTER = frozenset({"brier", "log_loss"})
EPS = 1e-15


def _row_losses(y: np.ndarray, pd_: np.ndarray, metric: str) -> np.ndarray:
    p = np.clip(pd_, EPS, 1 - EPS)
    if metric == "brier":
        return (p - y) ** 2
    return -(y * np.log(p) + (1 - y) * np.log(1 - p))


def paired_p_value(y: np.ndarray, best: np.ndarray, other: np.ndarray, metric: str) -> float | None:
    """p-value of the difference between two families on the same rows (None for KS)."""
    if metric == "auc":
        return float(paired_auc_test(y, best, other)["p_value"])
    if metric in LOWER_IS_BETTER:
        a, b = _row_losses(y, best, metric), _row_losses(y, other, metric)
        return 1.0 if np.allclose(a, b) else float(ttest_rel(a, b).pvalue)
    return None


def choose_champion(
    oof: dict[str, np.ndarray],
    y: np.ndarray,
    metric: str,
    champion: str = "auto",
    simplicity: list[str] | None = None,
    alpha: float = 0.05,
) -> tuple[str, dict]:
    """The champion and how it was chosen: every family's out-of-fold metrics, its p-value
    against the best family, and whether it is within noise of it."""
    y = np.asarray(y)
    metrics = {f: classification_metrics(y, pd_) for f, pd_ in oof.items()}
    sign = -1 if metric in LOWER_IS_BETTER else 1
    best = max(metrics, key=lambda f: sign * metrics[f][metric])
    order = [f for f in (simplicity or []) if f in oof] + [
        f for f in oof if f not in (simplicity or [])
    ]
    table = {}
    for family in order:
        p_value = 1.0 if family == best else paired_p_value(y, oof[best], oof[family], metric)
        table[family] = {**metrics[family], "p_value_vs_best": p_value,
                         "within_noise": p_value is not None and p_value >= alpha}  # fmt: skip
    if champion != "auto":
        chosen, why = champion, "forced by train.champion"
    else:
        chosen = next(f for f in order if table[f]["within_noise"])
        why = (f"best out-of-fold {metric}" if chosen == best else
               f"simplest within noise of {best} (p={table[chosen]['p_value_vs_best']:.3f} "
               f">= {alpha})")  # fmt: skip
    return chosen, {"metric": metric, "best": best, "chosen": chosen, "why": why,
                    "alpha": alpha, "order": order, "families": table}  # fmt: skip
