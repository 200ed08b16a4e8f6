"""The limit decision: the smallest cap that applies, rounded down to the product's ladder.

Caps: the risk grade's maximum (times segment adjustments), the product maximum, what the
applicant can afford, and the regulatory profile. A PD above the master scale declines; so does
a limit below the product minimum, and missing income when the policy says so. A knock-out rule
that fires declines first, whatever the PD (decision ``policy_decline``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from limitlab.data.lookup import interval_index, text_column
from limitlab.data.specs import DataError
from limitlab.errors import InputError
from limitlab.limits.caps import affordable_limit, regulatory_cap, round_down_to_ladder
from limitlab.limits.economics import Usage, limit_economics
from limitlab.limits.knockouts import KNOCKOUT_CAP, POLICY_DECLINE, fired_names, knockout_hits
from limitlab.limits.policy import Policy
from limitlab.limits.segments import segments

CHUNK_ROWS = 250_000  # applicants decided at a time: memory stays flat on large portfolios
SUMMED = ["expected_profit", "expected_loss", "ead", "limit"]  # what the optimiser adds up
TOTALS = ["decision", *SUMMED]  # the columns portfolio_totals reads

DECLINE = "decline"
APPROVE = "approve"
# Order matters on ties: the first cap with the smallest value is named as binding.
CAP_ORDER = ("grade", "product_max", "affordability", "regulatory")
# What set a limit (or refused one), by code: the caps first.
BINDING = np.asarray([*CAP_ORDER, "income_missing", "income_missing_decline", "pd_above_cutoff",
                      KNOCKOUT_CAP], dtype=object)  # fmt: skip
_INCOME_MISSING, _INCOME_MISSING_DECLINE, _PD_ABOVE_CUTOFF, _KNOCKOUT = range(4, 8)
DECISIONS = np.asarray([APPROVE, DECLINE, POLICY_DECLINE], dtype=object)


@dataclass(frozen=True)
class DecisionCodes:
    """Each decision as codes: of :data:`DECISIONS`, of :data:`BINDING`, and whether a knock-out
    rule fired. Notices and reasons read these instead of parsing the text columns again."""

    decision: np.ndarray
    binding: np.ndarray
    knocked: np.ndarray

    @classmethod
    def empty(cls, n: int) -> DecisionCodes:
        return cls(np.zeros(n, np.int8), np.zeros(n, np.int8), np.zeros(n, bool))

    def put(self, rows: np.ndarray, part: DecisionCodes) -> None:
        """Write ``part``'s codes at ``rows`` (in place)."""
        for name in ("decision", "binding", "knocked"):
            getattr(self, name)[rows] = getattr(part, name)


def grade_index(pd_: np.ndarray, policy: Policy) -> np.ndarray:
    """Position of each PD's risk grade on the master scale; ``len(grades)`` above the last
    boundary (declined)."""
    bounds = np.asarray([g.max_pd for g in policy.params.grades])
    return interval_index(bounds, pd_, side="left")


def grade_names(policy: Policy) -> np.ndarray:
    """The grade names by :func:`grade_index`, ``decline`` last."""
    return np.asarray([*(g.name for g in policy.params.grades), DECLINE], dtype=object)


def grade_of(pd_: np.ndarray, policy: Policy) -> np.ndarray:
    """Risk grade of each PD on the master scale; above the last boundary, ``decline``."""
    return grade_names(policy)[grade_index(pd_, policy)]


def _column(frame: pd.DataFrame, name: str | None) -> np.ndarray | None:
    return None if name is None else frame[name].to_numpy(dtype=float)


def products_of(frame: pd.DataFrame, policy: Policy) -> np.ndarray:
    """The product of each applicant: the params' product, or the one the data column names."""
    column = policy.params.product_column
    if column is None:
        return np.array([policy.params.product], dtype=object).repeat(len(frame))
    names = frame[column].astype("string")
    unknown = sorted(set(names.dropna()) - set(policy.params.products))
    if unknown or names.isna().any():
        raise DataError(
            f"column {column!r} has product value(s) {unknown or ['<missing>']}; expected one "
            f"of {sorted(policy.params.products)}"
        )
    return names.to_numpy(dtype=object)


def _decide_product(
    pd_: np.ndarray,
    frame: pd.DataFrame,
    product_name: str,
    policy: Policy,
    grade_caps: dict[str, float] | None,
    usage: Usage | None = None,
) -> tuple[pd.DataFrame, DecisionCodes]:
    p = policy.params
    product = policy.product(product_name)
    n = len(pd_)
    grade, names = grade_index(pd_, policy), grade_names(policy)
    on_scale = grade < len(p.grades)
    if grade_caps is None:
        grade_caps = {g.name: g.max_share * product.max_limit for g in p.grades}
    labels, adjustment = segments(frame, policy)
    grade_cap = np.array([grade_caps.get(name, 0.0) for name in names])[grade] * adjustment
    # No income column at all is treated like missing income: the declared fallback applies.
    income = _column(frame, policy.income)
    income = np.full(n, np.nan) if income is None else income
    income_missing = np.isnan(income)
    afford = affordable_limit(income, _column(frame, policy.debt), product, p.affordability)
    afford = np.where(income_missing, np.inf, afford)
    regulatory = regulatory_cap(income, n, p.regulations[p.regulation])
    regulatory = np.where(np.isnan(regulatory), np.inf, regulatory)
    fallback_decline = p.affordability.missing_income == "decline"
    if not fallback_decline:
        grade_cap = np.where(
            income_missing, grade_cap * p.affordability.missing_income_cap_share, grade_cap
        )
    raw, binding = grade_cap, np.zeros(n, dtype=np.int8)  # codes of BINDING
    for code, cap in enumerate((np.full(n, product.max_limit), afford, regulatory), start=1):
        lower = cap < raw  # never NaN; on a tie the earlier cap of CAP_ORDER binds
        raw = np.minimum(raw, cap)
        binding[lower] = code
    binding[income_missing & (binding == 0)] = _INCOME_MISSING
    limit = round_down_to_ladder(raw, product.ladder)
    below_min = on_scale & (limit < max(product.min_limit, product.ladder[0]))
    declined_income = on_scale & income_missing & fallback_decline
    binding[declined_income] = _INCOME_MISSING_DECLINE
    binding[~on_scale] = _PD_ABOVE_CUTOFF
    hits = knockout_hits(frame, policy)
    knocked = hits.any(axis=1)
    binding[knocked] = _KNOCKOUT
    limit = np.where(on_scale & ~below_min & ~declined_income & ~knocked, limit, 0.0)
    drawn, ead, el, profit = limit_economics(pd_, limit, product, p.economics, usage)
    decision = (~(limit > 0)).view(np.int8)  # codes of DECISIONS: approve 0, decline 1
    decision[knocked] = 2
    out = pd.DataFrame(
        {
            "pd": pd_.copy(),  # the caller's array
            "grade": text_column(np.take(names, grade), frame.index),
            "product": text_column(product_name, frame.index),
            "decision": text_column(np.take(DECISIONS, decision), frame.index),
            "limit": limit,
            "binding_cap": text_column(np.take(BINDING, binding), frame.index),
            "below_minimum": below_min & ~declined_income & ~knocked,
            "knockouts": text_column(fired_names(hits, policy, knocked), frame.index),
            "grade_cap": grade_cap,
            "affordable_cap": np.where(np.isinf(afford), np.nan, afford),
            "regulatory_cap": np.where(np.isinf(regulatory), np.nan, regulatory),
            "daily_cap": limit * product.daily_cap_share,
            "monthly_cap": limit * product.monthly_cap_share,
            "blocked_merchant_categories": text_column(
                ",".join(product.blocked_merchant_categories), frame.index
            ),
            "expected_drawn": drawn,
            "ead": ead,
            "expected_loss": el,
            "expected_profit": profit,
            **labels,
        },
        index=frame.index,
        copy=False,  # every column is a new array: kept as it is, not copied into blocks
    )
    return out, DecisionCodes(decision, binding, knocked)


def decide(
    pd_: np.ndarray,
    frame: pd.DataFrame,
    policy: Policy,
    grade_caps: dict[str, float] | None = None,
    usage: Usage | None = None,
) -> pd.DataFrame:
    """Grade, caps, limit, decision, binding cap, knock-outs fired, usage caps, EL and profit
    per applicant.

    ``frame`` holds the policy's columns (income, debt, segment columns, product column);
    ``grade_caps`` overrides the grades' maximum limits (used by the optimiser); ``usage``
    replaces the products' utilisation and CCF constants by per applicant estimates.
    """
    return decide_coded(pd_, frame, policy, grade_caps, usage)[0]


def decide_coded(
    pd_: np.ndarray,
    frame: pd.DataFrame,
    policy: Policy,
    grade_caps: dict[str, float] | None = None,
    usage: Usage | None = None,
) -> tuple[pd.DataFrame, DecisionCodes]:
    """:func:`decide`, and the decisions' codes (row for row)."""
    pd_ = np.asarray(pd_, dtype=float)
    if len(pd_) != len(frame):
        raise InputError(f"{len(pd_)} PDs for {len(frame)} applicants; expected one each")
    if usage is not None and len(usage.utilisation) != len(frame):
        raise InputError(
            f"{len(usage.utilisation)} usage estimates for {len(frame)} applicants; "
            "expected one each"
        )
    missing = [c for c in policy.required_columns if c not in frame.columns]
    if missing:
        raise DataError(f"applicant data lacks column(s) {missing} that the limit policy needs")
    frame = frame.reset_index(drop=True)
    if policy.params.product_column is None:  # one product for every applicant
        return _decide_product(pd_, frame, policy.params.product, policy, grade_caps, usage)
    products = products_of(frame, policy)
    parts, codes = [], DecisionCodes.empty(len(frame))
    for name in dict.fromkeys(products):
        rows = np.flatnonzero(products == name)
        part_usage = None if usage is None else usage.take(rows)
        part, part_codes = _decide_product(
            pd_[rows], frame.iloc[rows], name, policy, grade_caps, part_usage
        )
        parts.append(part)
        codes.put(rows, part_codes)
    return pd.concat(parts).sort_index(), codes


def decided_columns(
    pd_: np.ndarray,
    frame: pd.DataFrame,
    policy: Policy,
    columns: list[str],
    grade_caps: dict[str, float] | None = None,
    usage: Usage | None = None,
) -> pd.DataFrame:
    """``columns`` of the decisions of every applicant, decided ``CHUNK_ROWS`` at a time."""
    parts = []
    for start in range(0, max(len(frame), 1), CHUNK_ROWS):
        rows = np.arange(start, min(start + CHUNK_ROWS, len(frame)))
        part_usage = None if usage is None else usage.take(rows)
        out = decide(pd_[rows], frame.iloc[rows], policy, grade_caps=grade_caps, usage=part_usage)
        parts.append(out[columns].reset_index(drop=True))
    return pd.concat(parts, ignore_index=True)
