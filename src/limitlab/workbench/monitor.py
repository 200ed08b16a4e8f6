"""The monitoring report and the limit-review backtest as tables, for notebook 05."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import binomtest

from limitlab import paths
from limitlab.workbench.project import Project


def psi(project: Project) -> pd.DataFrame:
    """PSI of the score and of each feature, training window against the test window."""
    return pd.read_json(project.path(paths.MONITOR / "psi.json"))


def realised_vs_expected(project: Project, level: float = 0.95) -> pd.DataFrame:
    """Per grade: expected (mean PD) and realised default rate with its Clopper-Pearson
    interval at ``level``, and the binomial test p-value."""
    table = pd.read_json(project.path(paths.MONITOR / "realised_vs_expected.json"))
    low, high = [], []
    for defaults, accounts in zip(table["defaults"], table["accounts"], strict=True):
        interval = binomtest(int(defaults), max(int(accounts), 1)).proportion_ci(level)
        low.append(interval.low)
        high.append(interval.high)
    return table.assign(realised_low=low, realised_high=high)


def level_psi(reference: pd.Series, recent: pd.Series, floor: float = 1e-4) -> float:
    """PSI of a categorical column's level shares (missing is a level of its own)."""
    old = reference.astype("string").fillna("<missing>").value_counts(normalize=True)
    new = recent.astype("string").fillna("<missing>").value_counts(normalize=True)
    levels = old.index.union(new.index)
    a = old.reindex(levels, fill_value=0).clip(lower=floor)
    b = new.reindex(levels, fill_value=0).clip(lower=floor)
    return float(((b - a) * np.log(b / a)).sum())


def categorical_psi(project: Project) -> pd.DataFrame:
    """PSI of each categorical feature's level shares, training split against test split
    (levels unseen on one side count with a floor share of 0.0001), largest first."""
    spec = project.spec
    train, test = project.split("train"), project.split("test")
    rows = []
    for column in spec.categorical_features:
        levels = train[column].astype("string").fillna("<missing>").nunique()
        rows.append({"column": column, "levels": levels,
                     "psi": level_psi(train[column], test[column])})  # fmt: skip
    table = pd.DataFrame(rows, columns=["column", "levels", "psi"])
    status = pd.cut(table["psi"], [-np.inf, 0.1, 0.25, np.inf], labels=["stable", "watch", "shift"])
    return table.assign(status=status).sort_values("psi", ascending=False, ignore_index=True)


def findings(psi_table: pd.DataFrame, categorical: pd.DataFrame, grades: pd.DataFrame) -> str:
    """What monitoring found: score stability, the most shifted features, grades off their PD."""
    score = psi_table.loc[psi_table["column"] == "score", "psi"]
    features = pd.concat([psi_table[psi_table["column"] != "score"], categorical])
    top = features.sort_values("psi", ascending=False).iloc[0]
    off = grades[grades["p_value"] < 0.05]["grade"].astype(str).tolist()
    return "\n".join([
        f"Score PSI {float(score.iloc[0]):.3f} (below 0.1 is stable)." if len(score) else
        "No score PSI.",
        f"Most shifted feature: {top['column']} (PSI {top['psi']:.3f}).",
        f"Grades whose realised default rate is off their PD (binomial, 5%): "
        f"{', '.join(off) if off else 'none'}.",
    ])  # fmt: skip


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


def vintages(project: Project) -> pd.DataFrame | None:
    """Cumulative default rate by month on book, one column per origination cohort; None
    without an account panel."""
    curves = pd.read_json(project.path(paths.PLOTS / "vintages.json"))
    if curves.empty:
        return None
    return curves.pivot(index="months_on_book", columns="cohort", values="cumulative_default_rate")


def default_rate_by_month(project: Project) -> pd.DataFrame | None:
    """Accounts, defaults and default rate per panel month; None without an account panel."""
    table = pd.read_json(project.path(paths.PLOTS / "default_rate_by_month.json"))
    return None if table.empty else table


def roll_rates(project: Project) -> pd.DataFrame | None:
    """Month-to-month shares between delinquency states (rows sum to one); None without a
    panel."""
    path = project.root / paths.MONITOR / "roll_rates.json"
    return pd.read_json(path).set_index("from") if path.is_file() else None


def strategy_cells(project: Project) -> pd.DataFrame | None:
    """Per cell of the strategy test in the backtest: accounts, per-account means with their 95%
    intervals, and the difference to control with its interval and p-value; None without one."""
    test = project.metrics("backtest").get("strategy_test", {})
    if not test.get("applied"):
        return None
    rows = []
    for name, cell in test["cells"].items():
        for measure, value in cell["per_account"].items():
            diff = cell.get("vs_control", {}).get(measure, {})
            rows.append({"cell": name, "strategy": test["strategies"][name], "measure": measure,
                         "accounts": cell["accounts"], "mean": value["mean"],
                         "ci95": value["ci95"], "vs_control": diff.get("difference"),
                         "vs_control_ci95": diff.get("ci95"),
                         "p_value": diff.get("p_value")})  # fmt: skip
    return pd.DataFrame(rows)


def need_based_caps(project: Project) -> pd.DataFrame | None:
    """Grade caps optimised with the products' constants and per need group with the need
    models, each priced with the need models and by what the panel realised; None where the
    need models did not apply."""
    need = project.metrics("limits").get("need_based", {})
    if not need.get("applied"):
        return None
    report = pd.read_json(project.path(paths.LIMITS / "need_based_caps.json"), typ="series")
    rows = {}
    for choice in ("constants", "need_based"):
        priced, realised = report[choice]["priced_with_need"], report[choice]["realised"]
        rows[choice] = {"expected_profit": priced["expected_profit"],
                        "expected_loss": priced["expected_loss"], "ead": priced["ead"],
                        "el_share_of_ead": priced["el_share_of_ead"],
                        "realised_profit": realised["realised_profit"],
                        "realised_loss": realised["realised_loss"]}  # fmt: skip
    return pd.DataFrame(rows)
