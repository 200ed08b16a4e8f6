"""Portfolio monitoring: population stability, migration between dates, realised against
expected default rates per grade, and a stress view."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import binomtest

from limitlab.evaluation.metrics import population_stability_index


def psi_table(reference: pd.DataFrame, recent: pd.DataFrame, columns: list[str],
              bins: int = 10) -> pd.DataFrame:  # fmt: skip
    """PSI of each numeric column, reference window against a recent one, largest first.

    Reading: below 0.1 stable, 0.1-0.25 worth a look, above 0.25 a shift.
    """
    rows = []
    for column in columns:
        ref = reference[column].dropna().to_numpy(float)
        new = recent[column].dropna().to_numpy(float)
        if len(ref) and len(new):
            psi = population_stability_index(ref, new, bins)
            rows.append({"column": column, "psi": psi})
    table = pd.DataFrame(rows, columns=["column", "psi"])
    status = pd.cut(table["psi"], [-np.inf, 0.1, 0.25, np.inf], labels=["stable", "watch",
                                                                        "shift"])  # fmt: skip
    return table.assign(status=status.astype(str)).sort_values("psi", ascending=False,
                                                                ignore_index=True)  # fmt: skip


def migration_matrix(before: pd.Series, after: pd.Series, order: list[str]) -> pd.DataFrame:
    """Counts of accounts by category at two dates (rows: before, columns: after).

    ``before`` and ``after`` are indexed by account; only accounts present at both count.
    """
    both = pd.concat([before.rename("before"), after.rename("after")], axis=1, join="inner")
    table = pd.crosstab(both["before"], both["after"])
    return table.reindex(index=order, columns=order, fill_value=0)


def realised_vs_expected(grade: np.ndarray, pd_: np.ndarray, bad: np.ndarray,
                         order: list[str]) -> pd.DataFrame:  # fmt: skip
    """Per grade: accounts, expected default rate (mean PD), realised rate, and the two-sided
    binomial test p-value of the realised count under the expected rate."""
    frame = pd.DataFrame({"grade": grade, "pd": pd_, "bad": bad})
    rows = []
    for name in order:
        part = frame[frame["grade"] == name]
        if part.empty:
            continue
        n, k, expected = len(part), int(part["bad"].sum()), float(part["pd"].mean())
        test = binomtest(k, n, min(max(expected, 1e-9), 1 - 1e-9))
        row = {"grade": name, "accounts": n, "expected_rate": expected, "realised_rate": k / n}
        rows.append({**row, "defaults": k, "p_value": float(test.pvalue)})
    return pd.DataFrame(rows)


def stress_pd(pd_: np.ndarray, factor: float) -> np.ndarray:
    """PDs scaled by ``factor``, capped below 1."""
    return np.minimum(np.asarray(pd_, dtype=float) * factor, 0.9999)
