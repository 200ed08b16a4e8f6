"""The monitoring report and the limit-review backtest as tables, for notebook 05."""

from __future__ import annotations

import pandas as pd

from limitlab import paths
from limitlab.workbench.project import Project


def psi(project: Project) -> pd.DataFrame:
    """PSI of the score and of each feature, training window against the test window."""
    return pd.read_json(project.path(paths.MONITOR / "psi.json"))


def realised_vs_expected(project: Project) -> pd.DataFrame:
    """Per grade: expected (mean PD) and realised default rate, binomial test p-value."""
    return pd.read_json(project.path(paths.MONITOR / "realised_vs_expected.json"))


def stress(project: Project) -> pd.DataFrame:
    """Portfolio totals: baseline; stressed PDs on today's limits (the book's loss under
    stress); and the policy re-applied to stressed PDs and incomes (limits respond)."""
    raw = pd.read_json(project.path(paths.MONITOR / "stress.json"), typ="series")
    table = pd.DataFrame(
        {
            "baseline": raw["baseline"],
            "stressed, today's limits": raw["stressed_on_current_limits"],
            "stressed, policy re-applied": raw["stressed"],
        }
    )
    return table.loc[list(raw["baseline"])]


def migration(project: Project, kind: str = "grade") -> pd.DataFrame | None:
    """Accounts by grade (or limit band) at the first review date against the panel's end;
    None when the data set has no account panel."""
    path = project.root / paths.MONITOR / f"migration_{kind}.json"
    if not path.is_file():
        return None
    return pd.read_json(path).set_index("from")


def backtest(project: Project) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """Per review period and in total, static limits against the review policy; None when the
    data set has no account panel (the note in reports/metrics/backtest.json says why)."""
    metrics = project.metrics("backtest")
    if not metrics.get("applicable"):
        return None
    periods = pd.read_json(project.path(paths.BACKTEST / "periods.json"))
    totals = pd.DataFrame({"static": metrics["static"], "review": metrics["review"]})
    return periods, totals
