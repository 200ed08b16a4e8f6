"""Matplotlib figures of the evaluation, for the MLflow run (DVC renders its own from JSON)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure


def roc_figure(curves: dict[str, pd.DataFrame]) -> Figure:
    fig, ax = plt.subplots(figsize=(5, 5))
    for name, curve in curves.items():
        ax.plot(curve["fpr"], curve["tpr"], label=name)
    ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=1)
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC (test)")
    ax.legend()
    return fig


def calibration_figure(tables: dict[str, pd.DataFrame]) -> Figure:
    fig, ax = plt.subplots(figsize=(5, 5))
    for name, table in tables.items():
        ax.plot(table["mean_pd"], table["observed_bad_rate"], marker="o", label=name)
    top = max(float(t[["mean_pd", "observed_bad_rate"]].max().max()) for t in tables.values())
    ax.plot([0, top], [0, top], ls="--", color="grey", lw=1)
    ax.set(xlabel="mean predicted PD", ylabel="observed bad rate", title="Calibration (test)")
    ax.legend()
    return fig


def ks_figure(table: pd.DataFrame, name: str) -> Figure:
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(table["threshold"], table["cum_bad_share"], label="bads")
    ax.plot(table["threshold"], table["cum_good_share"], label="goods")
    ax.invert_xaxis()
    ax.set(xlabel="PD threshold", ylabel="cumulative share at or above", title=f"KS ({name})")
    ax.legend()
    return fig
