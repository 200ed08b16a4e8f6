"""Tables and figures for the notebooks: money in whole units, rates as percentages, and the
plots the notebooks show (sweeps with the current policy marked, a PD waterfall)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure
from pandas.io.formats.style import Styler

MONEY = ("total_limit", "ead", "expected_loss", "expected_profit", "mean_limit", "limit",
         "current_limit", "new_limit", "exposure", "loss", "profit")  # fmt: skip
RATE_MARKERS = ("rate", "share", "pd")
TOTALS = ("approval_rate", "total_limit", "expected_loss", "expected_profit")


def is_rate(column: str) -> bool:
    name = str(column).lower()
    return any(name == m or name.endswith(f"_{m}") or name.startswith(f"{m}_") for m in
               RATE_MARKERS) or name in {"pd", "mean_pd", "bad_rate"}  # fmt: skip


def styled(table: pd.DataFrame) -> Styler:
    """The table with money as whole units with thousands separators and rates as %."""
    formats: dict[str, str] = {}
    for column in table.columns:
        if not pd.api.types.is_numeric_dtype(table[column]):
            continue
        if str(column) in MONEY or any(str(column).endswith(f"_{m}") for m in MONEY):
            formats[column] = "{:,.0f}"
        elif is_rate(str(column)):
            formats[column] = "{:.1%}"
    return table.style.format(formats, na_rep="-")


def sweep_figure(table: pd.DataFrame, knob: str, current: object) -> Figure:
    """Approval rate, total limit, expected loss and profit across a knob's values, the
    current policy's value marked."""
    fig, axes = plt.subplots(1, 4, figsize=(16, 3.4))
    numeric = pd.api.types.is_numeric_dtype(table[knob])
    labels = table[knob] if numeric else table[knob].astype(str)
    for ax, total in zip(axes, TOTALS, strict=True):
        values = table[total] * (100 if total == "approval_rate" else 1)
        if numeric:
            ax.plot(labels, values, marker="o")
            ax.axvline(float(current), color="black", ls="--", lw=1, label="current policy")
        else:
            colours = ["black" if str(v) == str(current) else "tab:blue" for v in labels]
            ax.bar(labels, values, color=colours)
            ax.plot([], [], color="black", lw=6, label="current policy")
        ax.set(title=total.replace("_", " ") + (" (%)" if total == "approval_rate" else ""),
               xlabel=knob)  # fmt: skip
        ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:,.0f}"))
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    return fig


def waterfall_figure(steps: pd.DataFrame, title: str) -> Figure:
    """From the model's base PD, each feature's push (with the applicant's value) to the final
    PD; bars in log-odds, the running PD printed at each step."""
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(steps) + 1.5))
    starts = steps["cumulative"] - steps["contribution"]
    colours = ["grey" if kind != "feature" else ("tab:red" if v > 0 else "tab:green")
               for kind, v in zip(steps["kind"], steps["contribution"], strict=True)]  # fmt: skip
    ax.barh(steps["label"], steps["contribution"], left=starts, color=colours)
    right = pd.concat([starts, steps["cumulative"]], axis=1).max(axis=1)
    for y, (x, pd_) in enumerate(zip(right, steps["pd_after"], strict=True)):
        ax.annotate(f"PD {pd_:.1%}", (x, y), xytext=(4, 0), textcoords="offset points",
                    va="center", fontsize=8)  # fmt: skip
    ax.axvline(0, color="grey", lw=0.5)
    ax.margins(x=0.18)
    ax.invert_yaxis()
    ax.set(xlabel="log-odds of default (uncalibrated model)", title=title)
    fig.tight_layout()
    return fig
