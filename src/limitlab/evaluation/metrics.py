"""Metrics of a PD model: AUC, Gini, KS, Brier, log loss, expected calibration error."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score, roc_curve

from limitlab.errors import InputError

MAX_PLOT_POINTS = 200


def _arrays(y: np.ndarray, pd_: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y, dtype=float)
    p = np.asarray(pd_, dtype=float)
    if y.shape != p.shape or y.ndim != 1:
        raise InputError(f"expected two 1-d arrays of equal length, got {y.shape} and {p.shape}")
    if len(np.unique(y)) != 2:
        raise InputError("expected both classes (0 = good, 1 = bad) among the outcomes")
    return y, p


def ks_table(y: np.ndarray, pd_: np.ndarray) -> pd.DataFrame:
    """Cumulative shares of bads and goods with PD at or above each threshold."""
    y, p = _arrays(y, pd_)
    order = np.argsort(-p, kind="mergesort")
    y, p = y[order], p[order]
    cum_bad = np.cumsum(y) / y.sum()
    cum_good = np.cumsum(1 - y) / (1 - y).sum()
    last_of_tie = np.r_[p[1:] != p[:-1], True]
    table = pd.DataFrame({"threshold": p, "cum_bad_share": cum_bad, "cum_good_share": cum_good})[
        last_of_tie
    ]
    table["separation"] = table["cum_bad_share"] - table["cum_good_share"]
    return table.reset_index(drop=True)


def ks_statistic(y: np.ndarray, pd_: np.ndarray) -> float:
    """Kolmogorov-Smirnov: largest gap between cumulative bad and good distributions."""
    return float(ks_table(y, pd_)["separation"].max())


def equal_count_bins(p: np.ndarray, bins: int) -> np.ndarray:
    """Bin number (0 .. bins-1) of each PD in equal-count bins, ties split by position."""
    ranks = pd.Series(p).rank(method="first").to_numpy()
    return np.minimum((ranks - 1) * bins // len(p), bins - 1).astype(int)


def calibration_table(y: np.ndarray, pd_: np.ndarray, bins: int = 10) -> pd.DataFrame:
    """Mean predicted PD against observed bad rate in equal-count bins of PD."""
    y, p = _arrays(y, pd_)
    bin_id = equal_count_bins(p, bins)
    frame = pd.DataFrame({"bin": bin_id, "pd": p, "bad": y})
    table = frame.groupby("bin").agg(
        count=("bad", "size"), mean_pd=("pd", "mean"), observed_bad_rate=("bad", "mean")
    )
    return table.reset_index()


def expected_calibration_error(y: np.ndarray, pd_: np.ndarray, bins: int = 10) -> float:
    """Count-weighted mean absolute gap between mean PD and bad rate over equal-count bins."""
    table = calibration_table(y, pd_, bins)
    gaps = (table["mean_pd"] - table["observed_bad_rate"]).abs()
    return float((gaps * table["count"]).sum() / table["count"].sum())


def roc_points(y: np.ndarray, pd_: np.ndarray) -> pd.DataFrame:
    """ROC curve, thinned to at most ``MAX_PLOT_POINTS`` points for plotting."""
    y, p = _arrays(y, pd_)
    fpr, tpr, _ = roc_curve(y, p)
    keep = np.unique(np.linspace(0, len(fpr) - 1, min(len(fpr), MAX_PLOT_POINTS)).astype(int))
    return pd.DataFrame({"fpr": fpr[keep], "tpr": tpr[keep]})


def gains_table(y: np.ndarray, pd_: np.ndarray, bins: int = 10) -> pd.DataFrame:
    """Equal-count PD bins, riskiest first: count, bads, bad rate, cumulative share of
    applicants and of bads captured, and lift (bin bad rate over the overall bad rate)."""
    y, p = _arrays(y, pd_)
    grouped = pd.DataFrame({"bin": equal_count_bins(p, bins), "pd": p, "bad": y}).groupby("bin")
    table = grouped.agg(
        count=("bad", "size"),
        bads=("bad", "sum"),
        min_pd=("pd", "min"),
        max_pd=("pd", "max"),
        mean_pd=("pd", "mean"),
    )
    table = table.sort_values("mean_pd", ascending=False).reset_index(drop=True)
    table.insert(0, "decile", np.arange(1, len(table) + 1))
    table["bad_rate"] = table["bads"] / table["count"]
    table["cum_population_share"] = table["count"].cumsum() / table["count"].sum()
    table["cum_bad_capture"] = table["bads"].cumsum() / max(table["bads"].sum(), 1)
    table["lift"] = table["bad_rate"] / max(float(y.mean()), 1e-12)
    return table


def classification_metrics(y: np.ndarray, pd_: np.ndarray, bins: int = 10) -> dict[str, float]:
    """AUC, Gini, KS, Brier, log loss and ECE of predicted PDs against 0/1 outcomes."""
    y, p = _arrays(y, pd_)
    auc = float(roc_auc_score(y, p))
    return {
        "auc": auc,
        "gini": 2 * auc - 1,
        "ks": ks_statistic(y, p),
        "brier": float(brier_score_loss(y, p)),
        "log_loss": float(log_loss(y, np.clip(p, 1e-15, 1 - 1e-15))),
        "ece": expected_calibration_error(y, p, bins),
        "n": len(y),
        "bad_rate": float(y.mean()),
    }


def _placements(y: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """DeLong's structural components: per bad row, the share of good rows it outranks (V10);
    per good row, the share of bad rows that outrank it (V01). Their means are the AUC."""
    from scipy.stats import rankdata

    pos, neg = p[y == 1], p[y == 0]
    m, n = len(pos), len(neg)
    ranks = rankdata(np.r_[pos, neg])
    v10 = (ranks[:m] - rankdata(pos)) / n
    v01 = 1 - (ranks[m:] - rankdata(neg)) / m
    return v10, v01


def auc_confidence_interval(
    y: np.ndarray, pd_: np.ndarray, level: float = 0.95
) -> tuple[float, float, float]:
    """AUC with a DeLong confidence interval: (auc, lower, upper)."""
    from scipy.stats import norm

    y, p = _arrays(y, pd_)
    v10, v01 = _placements(y, p)
    auc = float(v10.mean())
    se = float(np.sqrt(v10.var(ddof=1) / len(v10) + v01.var(ddof=1) / len(v01)))
    z = float(norm.ppf(0.5 + level / 2))
    return auc, max(auc - z * se, 0.0), min(auc + z * se, 1.0)


def paired_auc_test(y: np.ndarray, pd_a: np.ndarray, pd_b: np.ndarray) -> dict[str, float]:
    """DeLong's test of two correlated AUCs on the same rows (DeLong, DeLong and
    Clarke-Pearson, 1988): ``auc_a``, ``auc_b``, ``difference`` (a - b), its standard error
    and the two-sided ``p_value``."""
    from scipy.stats import norm

    y, a = _arrays(y, pd_a)
    _, b = _arrays(y, pd_b)
    (a10, a01), (b10, b01) = _placements(y, a), _placements(y, b)
    s10, s01 = np.cov(np.vstack([a10, b10])), np.cov(np.vstack([a01, b01]))
    contrast = np.array([1.0, -1.0])
    variance = contrast @ s10 @ contrast / len(a10) + contrast @ s01 @ contrast / len(a01)
    difference = float(a10.mean() - b10.mean())
    se = float(np.sqrt(max(variance, 0.0)))
    p_value = 1.0 if se == 0 else float(2 * norm.sf(abs(difference) / se))
    return {"auc_a": float(a10.mean()), "auc_b": float(b10.mean()), "difference": difference,
            "se": se, "p_value": p_value}  # fmt: skip


def population_stability_index(expected: np.ndarray, actual: np.ndarray, bins: int = 10) -> float:
    """PSI of a score between a reference sample (bins from its quantiles) and another sample."""
    expected = np.asarray(expected, dtype=float)
    actual = np.asarray(actual, dtype=float)
    edges = np.unique(np.quantile(expected, np.linspace(0, 1, bins + 1)[1:-1]))
    e = np.bincount(np.searchsorted(edges, expected, side="right"), minlength=len(edges) + 1)
    a = np.bincount(np.searchsorted(edges, actual, side="right"), minlength=len(edges) + 1)
    e_share = np.maximum(e / e.sum(), 1e-4)
    a_share = np.maximum(a / a.sum(), 1e-4)
    return float(np.sum((a_share - e_share) * np.log(a_share / e_share)))


def truth_metrics(y: np.ndarray, pd_: np.ndarray, true_pd: np.ndarray, bins: int = 10) -> dict:
    """The model against a known true PD (synthetic data).

    ``auc_ratio``: the model's AUC over the true PD's AUC on the same outcomes (1 = as good as
    possible). ``ece_vs_true_pd``: count-weighted gap between mean predicted and mean true PD
    in equal-count bins of predicted PD. ``mean_abs_error``: mean |PD - true PD| per row.
    """
    y, p = _arrays(y, pd_)
    truth = np.asarray(true_pd, dtype=float)
    auc, true_auc = float(roc_auc_score(y, p)), float(roc_auc_score(y, truth))
    bin_id = equal_count_bins(p, bins)
    table = (
        pd.DataFrame({"bin": bin_id, "pd": p, "truth": truth})
        .groupby("bin")
        .agg(count=("pd", "size"), pd=("pd", "mean"), truth=("truth", "mean"))
    )
    gap = (table["pd"] - table["truth"]).abs()
    return {
        "auc": auc,
        "true_pd_auc": true_auc,
        "auc_ratio": auc / true_auc,
        "ece_vs_true_pd": float((gap * table["count"]).sum() / table["count"].sum()),
        "mean_abs_error": float(np.abs(p - truth).mean()),
    }


def spiegelhalter_test(y: np.ndarray, pd_: np.ndarray) -> dict[str, float]:
    """Spiegelhalter's z test of calibration: z and its two-sided p-value (H0: the PDs are the
    true probabilities). Unlike ECE it has no bins and says how much of a gap is noise."""
    from scipy.stats import norm

    y, p = _arrays(y, pd_)
    p = np.clip(p, 1e-12, 1 - 1e-12)
    numerator = float(np.sum((y - p) * (1 - 2 * p)))
    variance = float(np.sum((1 - 2 * p) ** 2 * p * (1 - p)))
    z = numerator / np.sqrt(variance) if variance > 0 else 0.0
    return {"spiegelhalter_z": z, "spiegelhalter_p": float(2 * norm.sf(abs(z)))}


def calibration_in_the_large(y: np.ndarray, pd_: np.ndarray) -> float:
    """Mean PD less the realised bad rate (positive: over-predicts)."""
    y, p = _arrays(y, pd_)
    return float(p.mean() - y.mean())
