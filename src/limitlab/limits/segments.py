"""Customer segments by rules in params: labels, limit adjustments and the segment report."""

from __future__ import annotations

import numpy as np
import pandas as pd

from limitlab.data.columns import BAD
from limitlab.data.lookup import interval_index, lookup, text_column
from limitlab.limits.policy import Policy

UNKNOWN = "unknown"


def segments(frame: pd.DataFrame, policy: Policy) -> tuple[dict[str, pd.Series], np.ndarray]:
    """One label column per applied segment rule (``unknown`` where the value is missing), by
    column name, and the product of the per-segment multipliers of the grade cap (1 for
    unlisted labels)."""
    out, factor = {}, np.ones(len(frame))
    for rule in policy.params.segments:
        values = policy.rule_values(frame, rule)
        if rule.bins is not None:
            numbers = pd.to_numeric(values, errors="coerce").to_numpy(float)
            idx = interval_index(np.asarray(rule.bins), numbers, side="right")
            codes = np.where(np.isnan(numbers), -1, np.minimum(idx, len(rule.labels) - 1))
            level_labels = list(rule.labels)
        else:
            named = rule.values or {}
            level_labels = list(dict.fromkeys(named.values()))
            position = {value: level_labels.index(label) for value, label in named.items()}
            arrow = isinstance(getattr(values, "array", None), pd.arrays.ArrowStringArray)
            codes = lookup(values, position, -1, -1, np.intp, key=None if arrow else _as_text)
        labels = np.array([*level_labels, UNKNOWN], dtype=object)  # code -1 reads the last
        adjustment = np.array([rule.adjustment.get(label, 1.0) for label in labels])
        out[f"segment_{rule.name}"] = text_column(np.take(labels, codes), frame.index)
        factor *= np.take(adjustment, codes)
    return out, factor


def _as_text(levels: pd.Index) -> pd.Index:
    """Levels as the texts of params' keys: 1 and 1.0 are one level but two texts."""
    return levels.astype("string")


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
