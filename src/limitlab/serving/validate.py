"""Validation of applicant rows before scoring: the same checks for the server and batch scoring.

A row is refused, with a reason naming the column, the value and what was expected, when a
numeric field holds text, a non-negative field is negative, the product it names is unknown, or
(account snapshots) the balance is above the current limit, or (under a strategy test) the id
that assigns the row's cell is missing.
Missing values are accepted: the feature pipeline imputes them and the limit policy has a
declared fallback for missing income.
"""

from __future__ import annotations

import pandas as pd

from limitlab.data.ingest import as_number
from limitlab.data.refusals import RowRefusals
from limitlab.errors import InputError
from limitlab.serving.scorer import Scorer


def validate_applicants(frame: pd.DataFrame, scorer: Scorer) -> tuple[pd.DataFrame, pd.Series]:
    """Typed copy of ``frame`` and a reason per row ('' for a row that may be scored).

    Raises :class:`InputError` naming the columns when required columns are absent.
    """
    missing = [c for c in scorer.input_columns if c not in frame.columns]
    if missing:
        raise InputError(
            f"missing required column(s) {missing}; expected columns {scorer.input_columns}"
        )
    spec, policy = scorer.spec, scorer.policy
    typed = frame.copy()
    refusals = RowRefusals(frame.index)

    for column in scorer.input_columns:
        if column not in spec.numeric:
            continue
        raw = frame[column]
        typed[column] = number = as_number(raw)
        refusals.refuse_bad_numbers(column, raw, number, column in spec.nonnegative)
    if policy.params.product_column:
        column = policy.params.product_column
        names = frame[column].astype("string")
        known = sorted(policy.params.products)
        expected = f"' is unknown; expected one of {known}"
        refusals.refuse(~names.isin(known), f"{column}:unknown_product",
                        f"{column}: product '" + names.fillna("") + expected)  # fmt: skip
    if policy.review is not None and policy.account:
        limit, balance = policy.account["current_limit"], policy.account["balance"]
        above = typed[balance] > typed[limit]
        owed = typed[balance].astype("string").fillna("")
        granted = typed[limit].astype("string").fillna("")
        text = f"{balance}: " + owed + f" is above {limit} " + granted + "; expected at most it"
        refusals.refuse(above, f"{balance}:above_limit", text)
    if policy.test is not None:
        column = policy.test.id_column
        refusals.refuse(frame[column].isna(), f"{column}:missing",
                        f"{column}: missing; expected an id to assign the cell of strategy test "
                        f"{policy.test.name!r}")  # fmt: skip
    return typed, refusals.reasons()
