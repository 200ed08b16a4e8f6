"""Validation of applicant rows before scoring: the same checks for the server and batch scoring.

A row is refused, with a reason naming the column, the value and what was expected, when a
numeric field holds text, a non-negative field is negative, the product it names is unknown, or
(account snapshots) the balance is above the current limit.
Missing values are accepted: the feature pipeline imputes them and the limit policy has a
declared fallback for missing income.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from limitlab.data.ingest import as_number, join_reasons
from limitlab.serving.scorer import Scorer


def validate_applicants(frame: pd.DataFrame, scorer: Scorer) -> tuple[pd.DataFrame, pd.Series]:
    """Typed copy of ``frame`` and a reason per row ('' for a row that may be scored).

    Raises ``ValueError`` naming the columns when required columns are absent.
    """
    missing = [c for c in scorer.input_columns if c not in frame.columns]
    if missing:
        raise ValueError(
            f"missing required column(s) {missing}; expected columns {scorer.input_columns}"
        )
    spec, policy = scorer.spec, scorer.policy
    typed = frame.copy()
    parts: list[pd.Series] = []

    def refuse(mask: pd.Series, text: pd.Series | str) -> None:
        mask = mask.fillna(False).to_numpy(bool)
        parts.append(pd.Series(np.where(mask, text, ""), index=frame.index))

    for column in scorer.input_columns:
        if column not in spec.numeric:
            continue
        raw = frame[column]
        typed[column] = as_number(raw)
        shown = raw.astype("string").fillna("")
        refuse(raw.notna() & typed[column].isna(), f"{column}: '" + shown + "' is not a number")
        if column in spec.nonnegative:
            refuse(typed[column] < 0, f"{column}: " + shown + " is negative; expected >= 0")
    if policy.params.product_column:
        column = policy.params.product_column
        names = frame[column].astype("string")
        known = sorted(policy.params.products)
        expected = f"' is unknown; expected one of {known}"
        refuse(~names.isin(known), f"{column}: product '" + names.fillna("") + expected)
    if policy.review is not None and policy.account:
        limit, balance = policy.account["current_limit"], policy.account["balance"]
        above = typed[balance] > typed[limit]
        owed = typed[balance].astype("string").fillna("")
        granted = typed[limit].astype("string").fillna("")
        text = f"{balance}: " + owed + f" is above {limit} " + granted + "; expected at most it"
        refuse(above, text)
    return typed, join_reasons(parts, frame.index)
