"""Matplotlib figures of the evaluation, for the MLflow run (DVC renders its own from JSON)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

SIZE = (6, 4.5)  # one size for every figure, so that MLflow's compare view lines them up


def roc_figure(curves: dict[str, pd.DataFrame], aucs: dict[str, float]) -> Figure:
    """ROC curves, each labelled with its AUC (computed on the full test data, not the curve)."""
    fig, ax = plt.subplots(figsize=SIZE)
    for name, curve in curves.items():
        style = {"ls": ":", "color": "black"} if name.endswith("(calibrated)") else {}
        ax.plot(curve["fpr"], curve["tpr"], label=f"{name} (AUC {aucs[name]:.3f})", **style)
    ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=1)
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC (test)")
    ax.legend()
    return fig


def calibration_figure(tables: dict[str, pd.DataFrame]) -> Figure:
    fig, ax = plt.subplots(figsize=SIZE)
    for name, table in tables.items():
        ax.plot(table["mean_pd"], table["observed_bad_rate"], marker="o", label=name)
    top = max(float(t[["mean_pd", "observed_bad_rate"]].max().max()) for t in tables.values())
    ax.plot([0, top], [0, top], ls="--", color="grey", lw=1)
    ax.set(xlabel="mean predicted PD", ylabel="observed bad rate", title="Calibration (test)")
    ax.legend()
    return fig


def ks_figure(table: pd.DataFrame, name: str) -> Figure:
    fig, ax = plt.subplots(figsize=SIZE)
    ax.plot(table["threshold"], table["cum_bad_share"], label="bads")
    ax.plot(table["threshold"], table["cum_good_share"], label="goods")
    gap = (table["cum_bad_share"] - table["cum_good_share"]).abs()
    at = int(gap.to_numpy().argmax())
    x = float(table["threshold"].iloc[at])
    low, high = sorted(float(table[c].iloc[at]) for c in ("cum_good_share", "cum_bad_share"))
    ax.vlines(x, low, high, color="black", lw=2, label=f"KS {gap.iloc[at]:.3f} at PD {x:.3f}")
    ax.invert_xaxis()
    ax.set(xlabel="PD threshold", ylabel="cumulative share at or above", title=f"KS ({name})")
    ax.legend()
    return fig


def score_distribution_figure(pd_: np.ndarray, y: np.ndarray) -> Figure:
    """PD histograms of goods and bads (test), each normalised to its own count."""
    fig, ax = plt.subplots(figsize=SIZE)
    bins = np.linspace(0, 1, 41)
    for label, mask in (("goods", y == 0), ("bads", y == 1)):
        ax.hist(pd_[mask], bins=bins, alpha=0.55, density=True, label=f"{label} ({mask.sum():,})")
    ax.set(xlabel="PD", ylabel="density", title="PD by outcome (test)")
    ax.legend()
    return fig


def lift_figure(gains: pd.DataFrame) -> Figure:
    """Cumulative share of bads captured and lift by PD decile (riskiest first)."""
    fig, ax = plt.subplots(figsize=SIZE)
    share = gains["cum_population_share"]
    ax.plot(share, gains["cum_bad_capture"], marker="o", label="bads captured")
    ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=1, label="random")
    ax.set(xlabel="share of applicants, riskiest first", ylabel="share of bads",
           title="Gains (test)")  # fmt: skip
    twin = ax.twinx()
    twin.bar(share, gains["lift"], width=0.05, alpha=0.3, color="tab:orange", label="lift")
    twin.set_ylabel("lift (bin bad rate / overall)")
    ax.set_zorder(twin.get_zorder() + 1)  # the curve over the bars
    ax.patch.set_visible(False)
    ax.legend(loc="lower right")
    return fig


def optimisation_history_figure(trials: list[dict], metric: str) -> Figure:
    """Each finished trial's value and the best so far, by trial number."""
    fig, ax = plt.subplots(figsize=SIZE)
    done = [t for t in trials if t["value"] is not None]
    numbers = [t["number"] for t in done]
    values = np.array([t["value"] for t in done], dtype=float)
    ax.scatter(numbers, values, s=14, label="trial")
    if len(values):
        ax.step(numbers, np.maximum.accumulate(values), where="post", color="black",
                label=f"best so far ({values.max():.4f})")  # fmt: skip
    pruned = sum(t["state"] == "PRUNED" for t in trials)
    ax.set(xlabel="trial", ylabel=metric,
           title=f"Optuna history ({len(done)} finished, {pruned} pruned)")  # fmt: skip
    ax.legend()
    return fig


def importance_figure(importances: dict[str, float]) -> Figure:
    """Optuna's hyperparameter importances (fANOVA), largest on top."""
    fig, ax = plt.subplots(figsize=SIZE)
    names = list(importances)[::-1]
    ax.barh(names, [importances[n] for n in names])
    ax.set(xlabel="importance (share of the objective's variance)",
           title="Hyperparameter importance")  # fmt: skip
    fig.tight_layout()
    return fig


def fairness_figure(groups: pd.DataFrame) -> Figure:
    """Approval rate and mean limit per group of each protected attribute."""
    attributes = list(dict.fromkeys(groups["attribute"]))
    fig, axes = plt.subplots(len(attributes), 2, figsize=(SIZE[0] * 1.6, 2.6 * len(attributes)),
                             squeeze=False)  # fmt: skip
    for row, attribute in zip(axes, attributes, strict=True):
        part = groups[groups["attribute"] == attribute]
        labels = part["group"].astype(str) + " (" + part["count"].astype(str) + ")"
        row[0].barh(labels, part["approval_rate"] * 100)
        row[0].set(title=f"{attribute}: approval rate (%)")
        row[1].barh(labels, part["mean_limit"])
        row[1].set(title=f"{attribute}: mean limit")
        for ax in row:
            ax.invert_yaxis()
    fig.tight_layout()
    return fig
