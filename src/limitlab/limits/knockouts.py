"""Knock-out rules: policy declines before the model, whatever the PD.

A rule fires when its comparison holds; a missing value never fires a rule (the feature
pipeline and the income fallback handle missing values). Every rule that fires is named.
"""

from __future__ import annotations

import operator

import numpy as np
import pandas as pd

from limitlab.config import KnockoutRule
from limitlab.limits.policy import Policy

POLICY_DECLINE = "policy_decline"
KNOCKOUT_CAP = "knockout"
_COMPARE = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
            "==": operator.eq, "!=": operator.ne}  # fmt: skip


def knockout_text(value: bool | float | str) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def rule_fires(values: pd.Series, rule: KnockoutRule) -> np.ndarray:
    """Whether the rule holds for each value (False where the value is missing)."""
    if rule.numeric:
        numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        present = ~np.isnan(numbers)
        if rule.op in ("in", "not in"):
            hit = np.isin(numbers, np.asarray(rule.values, dtype=float))
            hit = hit if rule.op == "in" else ~hit
        else:
            hit = _COMPARE[rule.op](numbers, rule.values[0])
        return hit & present
    texts = values.astype("string")
    present = texts.notna().to_numpy()
    wanted = [knockout_text(v) for v in rule.values]
    hit = texts.isin(wanted).fillna(False).to_numpy(dtype=bool)
    return (hit if rule.op in ("in", "==") else ~hit) & present


def knockout_hits(frame: pd.DataFrame, policy: Policy) -> np.ndarray:
    """Whether each applied knock-out rule fires on each row (rows x rules, in rule order)."""
    hits = np.zeros((len(frame), len(policy.params.knockouts)), dtype=bool, order="F")
    for j, rule in enumerate(policy.params.knockouts):
        hits[:, j] = rule_fires(policy.rule_values(frame, rule), rule)
    return hits


def fired_names(matrix: np.ndarray, policy: Policy, fired: np.ndarray | None = None) -> np.ndarray:
    """The comma-joined names of the rules that fired on each row ('' for none), from
    :func:`knockout_hits` (and ``fired``, its rows with any rule, when known)."""
    names = [rule.name for rule in policy.params.knockouts]
    out = np.array([""], dtype=object).repeat(len(matrix))  # np.full is 20x slower
    rows = np.flatnonzero(matrix.any(axis=1) if fired is None else fired)  # the few rows hit
    patterns, inverse = np.unique(matrix[rows], axis=0, return_inverse=True)
    joined = [",".join(n for n, hit in zip(names, p, strict=True) if hit) for p in patterns]
    out[rows] = np.array([*joined, ""], dtype=object)[inverse.reshape(-1)]  # each set once
    return out


def knockout_reason(name: str, policy: Policy) -> str:
    return next(r.reason for r in policy.params.knockouts if r.name == name)


def knockout_counts(decisions: pd.DataFrame, policy: Policy) -> dict[str, int]:
    """How many decisions each applied rule declined (a row counts for every rule it fired)."""
    fired = decisions["knockouts"].astype(str)
    return {
        rule.name: int(fired.str.split(",").map(lambda names, n=rule.name: n in names).sum())
        for rule in policy.params.knockouts
    }
