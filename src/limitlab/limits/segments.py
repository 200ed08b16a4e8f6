"""Customer segments by rules in params: labels, limit adjustments and the segment report."""

from __future__ import annotations

import numpy as np
import pandas as pd

from limitlab.data.columns import BAD
from limitlab.data.lookup import lookup, text_column
from limitlab.limits.policy import Policy

UNKNOWN = "unknown"


def segment_labels(frame: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    """One label column per applied segment rule; ``unknown`` where the value is missing."""
    out = {}
    for rule in policy.params.segments:
        values = policy.rule_values(frame, rule)
        if rule.bins is not None:
            numbers = pd.to_numeric(values, errors="coerce").to_numpy(float)
            idx = np.searchsorted(np.asarray(rule.bins), numbers, side="right")
            labels = np.asarray(rule.labels, dtype=object)[np.minimum(idx, len(rule.labels) - 1)]
            labels[np.isnan(numbers)] = UNKNOWN
        else:
            labels = lookup(values, rule.values or {}, UNKNOWN, UNKNOWN,
                            key=lambda levels: levels.astype("string"))  # fmt: skip
        out[f"segment_{rule.name}"] = text_column(labels, frame.index)
    return pd.DataFrame(out, index=frame.index)


def segment_adjustment(labels: pd.DataFrame, policy: Policy) -> np.ndarray:
    """Product of the per-segment multipliers of the grade cap (1 for unlisted labels)."""
    factor = np.ones(len(labels))
    for rule in policy.params.segments:
        column = labels[f"segment_{rule.name}"]
        factor *= lookup(column, rule.adjustment, 1.0, 1.0, "float64")
    return factor


def segment_report(decisions: pd.DataFrame, policy: Policy, bad: np.ndarray | None) -> list[dict]:
    """Per rule and label: count, mean PD, observed bad rate, mean limit, expected loss."""
    frame = decisions.assign(**{BAD: np.nan if bad is None else np.asarray(bad, float)})
    rows = []
    for rule in policy.params.segments:
        grouped = frame.groupby(f"segment_{rule.name}", sort=False)
        for label, part in grouped:
            rows.append(
                {
                    "segment": rule.name,
                    "label": label,
                    "adjustment": rule.adjustment.get(label, 1.0),
                    "count": len(part),
                    "mean_pd": float(part["pd"].mean()),
                    "bad_rate": None if bad is None else float(part[BAD].mean()),
                    "mean_limit": float(part["limit"].mean()),
                    "expected_loss": float(part["expected_loss"].sum()),
                }
            )
    for name in policy.skipped_segments:
        rows.append({"segment": name, "label": "not applied: column not in the data"})
    return rows
