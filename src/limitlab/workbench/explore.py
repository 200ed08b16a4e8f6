"""Data exploration: bad rate, missingness, information value, distributions, quarantine."""

from __future__ import annotations

import numpy as np
import pandas as pd
from optbinning import BinningProcess, OptimalBinning

from limitlab.data.columns import BAD
from limitlab.data.specs import DatasetSpec


def missingness(frame: pd.DataFrame, spec: DatasetSpec) -> pd.DataFrame:
    """Per feature: share missing, and the bad rate of rows where it is missing and present."""
    rows = []
    for column in spec.features:
        missing = frame[column].isna()
        bad_missing = float(frame.loc[missing, BAD].mean()) if missing.any() else None
        rows.append(
            {
                "feature": column,
                "missing_share": float(missing.mean()),
                "bad_rate_missing": bad_missing,
                "bad_rate_present": float(frame.loc[~missing, BAD].mean()),
            }
        )
    return pd.DataFrame(rows).sort_values("missing_share", ascending=False, ignore_index=True)


def bad_rate_by_bin(frame: pd.DataFrame, column: str, bins: int = 5) -> pd.DataFrame:
    """Bad rate by quantile bin of a numeric column (bins in numeric order), or by level of a
    categorical one (most frequent first); missing values last."""
    values = frame[column]
    if pd.api.types.is_numeric_dtype(values):
        binned = pd.qcut(values, q=bins, duplicates="drop")
        order = [str(b) for b in binned.cat.categories]
        groups = binned.astype("string")
    else:
        groups = values.astype("string")
        order = groups.value_counts().index.tolist()
    groups = groups.fillna("<missing>")
    table = frame.groupby(groups, sort=False)[BAD].agg(count="size", bad_rate="mean")
    present = [g for g in [*order, "<missing>"] if g in table.index]
    return table.loc[present].reset_index(names=column)


def binning(frame: pd.DataFrame, column: str, categorical: bool = False) -> OptimalBinning:
    """optbinning's optimal binning of one feature against the outcome (fitted): its
    ``binning_table.build()`` lists the bins in order with count, event rate, WoE and IV, and
    ``binning_table.plot(metric="event_rate")`` draws them."""
    kind = "categorical" if categorical else "numerical"
    values = frame[column].to_numpy() if categorical else frame[column].astype(float).to_numpy()
    return OptimalBinning(name=column, dtype=kind).fit(values, frame[BAD].to_numpy())


def information_values(frame: pd.DataFrame, spec: DatasetSpec) -> pd.DataFrame:
    """Information value of each feature from optbinning's optimal binning, highest first.

    Conventional reading: < 0.02 useless, 0.02-0.1 weak, 0.1-0.3 medium, > 0.3 strong.
    """
    features = spec.features
    process = BinningProcess(features, categorical_variables=spec.categorical_features)
    process.fit(frame[features], frame[BAD].to_numpy())
    summary = process.summary()[["name", "dtype", "n_bins", "iv", "gini"]]
    strength = pd.cut(
        summary["iv"],
        [-np.inf, 0.02, 0.1, 0.3, np.inf],
        labels=["useless", "weak", "medium", "strong"],
    )
    return summary.assign(strength=strength).sort_values("iv", ascending=False, ignore_index=True)


def good_bad_distribution(frame: pd.DataFrame, column: str) -> dict[str, np.ndarray]:
    """Values of a column among good and among bad rows (missing values left out)."""
    values = frame[column].astype(float)
    return {
        label: values[(frame[BAD] == flag) & values.notna()].to_numpy()
        for label, flag in (("good", 0), ("bad", 1))
    }


def with_ratio(
    frame: pd.DataFrame, spec: DatasetSpec, name: str = "debt_to_income"
) -> pd.DataFrame:
    """The frame with debt-to-income added (missing where income is missing or zero)."""
    if not (spec.debt and spec.income):
        return frame
    income = frame[spec.income].where(frame[spec.income] > 0)
    return frame.assign(**{name: frame[spec.debt] / income})


def quarantine_summary(ingest_metrics: dict) -> pd.DataFrame:
    """Refused rows counted by column and problem, from the ingest stage's metrics."""
    counts = ingest_metrics.get("quarantine_reasons", {})
    rows = [
        {"column": key.split(":", 1)[0], "problem": key.split(":", 1)[1], "rows": n}
        for key, n in counts.items()
    ]
    table = pd.DataFrame(rows, columns=["column", "problem", "rows"])
    return table.assign(share_of_read=table["rows"] / ingest_metrics["rows_read"])


def findings(iv: pd.DataFrame, missing: pd.DataFrame, ingest_metrics: dict) -> str:
    """What the exploration found, in three sentences: the strongest and weakest features, the
    most-missing feature and whether missingness carries risk, and what ingest refused."""
    strong = iv.iloc[0]
    weak = iv[iv["strength"] == "useless"]["name"].tolist()
    worst = missing.iloc[0]
    lines = [
        f"Strongest feature: {strong['name']} (IV {strong['iv']:.2f}, {strong['strength']}); "
        + (f"useless by IV: {', '.join(weak)}." if weak else "no feature is useless by IV.")
    ]
    if worst["missing_share"] > 0:
        risk = worst["bad_rate_missing"]
        lines.append(
            f"Most missing: {worst['feature']} ({worst['missing_share']:.1%} of rows; bad rate "
            f"{risk:.1%} where missing against {worst['bad_rate_present']:.1%} where present)."
        )
    else:
        lines.append("No feature has missing values in the training split.")
    lines.append(
        f"Ingest kept {ingest_metrics['rows_kept']:,} of {ingest_metrics['rows_read']:,} rows "
        f"and quarantined {ingest_metrics['rows_quarantined']:,}."
    )
    return "\n".join(lines)
