"""Up to four principal reasons per decision, in plain words from the params' catalogue.

The first reason is what set or refused the limit (the binding cap, or the decline rule); the
others are the features that raised the PD most (positive contributions, largest first).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from limitlab.limits.policy import Policy

N_REASONS = 4
REASON_COLUMNS = [f"reason_{i}" for i in range(1, N_REASONS + 1)]


def cap_reason(code: str, policy: Policy) -> str:
    return policy.params.reasons.caps.get(code, code.replace("_", " "))


def feature_reason(feature: str, policy: Policy) -> str:
    catalogue = policy.params.reasons
    return catalogue.features.get(feature, catalogue.default_feature.format(feature=feature))


def principal_reasons(
    decisions: pd.DataFrame, contributions: pd.DataFrame | None, policy: Policy
) -> pd.DataFrame:
    """``reason_1`` .. ``reason_4`` for each decision ('' where fewer reasons apply)."""
    n = len(decisions)
    first = [cap_reason(code, policy) for code in decisions["binding_cap"]]
    lead: list[list[str]] = [[text] for text in first]
    for i in np.flatnonzero(decisions["below_minimum"].to_numpy()):
        lead[i] = [cap_reason("below_minimum", policy), first[i]]
    drivers: list[list[str]] = [[] for _ in range(n)]
    if contributions is not None and contributions.shape[1]:
        values = contributions.to_numpy(float)
        names = [feature_reason(c, policy) for c in contributions.columns]
        top = np.argsort(-values, axis=1, kind="stable")[:, : N_REASONS - 1]
        for i in range(n):
            drivers[i] = [names[j] for j in top[i] if values[i, j] > 0]
    rows = [(lead[i] + drivers[i] + [""] * N_REASONS)[:N_REASONS] for i in range(n)]
    return pd.DataFrame(rows, columns=REASON_COLUMNS, index=decisions.index)
