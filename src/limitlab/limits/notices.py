"""Adverse-action notices: for every declined applicant and every counter-offer, the decision,
the limit and up to four principal reasons in plain words, ready for a letter.

A counter-offer is an approval below what the applicant asked for: below the requested amount
where the data has one, else below the risk grade's cap (the limit was cut by affordability,
missing income or a regulatory cap). A missing requested amount falls back to the latter.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from limitlab.data.lookup import factorized
from limitlab.limits.decide import APPROVE, BINDING, DecisionCodes
from limitlab.limits.reasons import REASON_COLUMNS

REDUCING_CAPS = ("affordability", "income_missing", "regulatory")
DECLINE_NOTICE, COUNTER_OFFER = "decline", "counter-offer"
NO_ADVERSE_ACTION = "none"  # an approval of what was asked (or of the grade's cap)
NOTICE_KINDS = np.array(["", DECLINE_NOTICE, COUNTER_OFFER], dtype=object)
ADVERSE_ACTIONS = np.array([NO_ADVERSE_ACTION, DECLINE_NOTICE, COUNTER_OFFER], dtype=object)


def notice_kind(
    decisions: pd.DataFrame, requested: pd.Series | None = None, codes: DecisionCodes | None = None
) -> np.ndarray:
    """``decline``, ``counter-offer`` or '' (no notice) for each decision; ``codes`` (the
    decisions' own, from :func:`~limitlab.limits.decide.decide_coded`) spare reading the text."""
    return NOTICE_KINDS[notice_codes(decisions, requested, codes)]


def notice_codes(
    decisions: pd.DataFrame, requested: pd.Series | None = None, codes: DecisionCodes | None = None
) -> np.ndarray:
    """:func:`notice_kind` as codes of :data:`NOTICE_KINDS` (0: no notice)."""
    if codes is None:
        approved = decisions["decision"].to_numpy(dtype=object) == APPROVE  # numpy: 3x faster
        binding, levels = factorized(decisions["binding_cap"].to_numpy(dtype=object))
    else:
        approved, binding, levels = codes.decision == 0, codes.binding, BINDING
    reduced = np.append(np.isin(np.asarray(levels, dtype=object), REDUCING_CAPS), False)[binding]
    if requested is not None:
        asked = pd.to_numeric(requested, errors="coerce").to_numpy(float)
        below = asked > decisions["limit"].to_numpy(float)
        reduced = np.where(np.isnan(asked), reduced, below)
    kind = reduced.astype(np.int8) * 2  # a counter-offer where an approval was cut
    kind[~approved] = 1
    return kind


def notices(
    decisions: pd.DataFrame, requested: pd.Series | None = None, keep: list[str] | None = None
) -> pd.DataFrame:
    """One row per notice: the ``keep`` columns, the notice kind, decision, limit, requested
    amount (when known) and the non-empty reasons."""
    kind = notice_kind(decisions, requested)
    rows = kind != ""
    out = decisions.loc[rows, [*(keep or []), "decision", "limit"]].copy()
    out.insert(len(keep or []), "notice", kind[rows])
    if requested is not None:
        out["requested"] = pd.to_numeric(requested, errors="coerce").to_numpy(float)[rows]
    for column in REASON_COLUMNS:
        out[column] = decisions.loc[rows, column].replace("", pd.NA)
    return out.reset_index(drop=True)
