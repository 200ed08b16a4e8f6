"""A limit policy is data (:class:`Policy`) plus pure functions over arrays.

The limit is the smallest of the caps that apply — the risk grade's maximum band and, where
income is known, what the applicant can afford — rounded down to the band ladder. A PD above
the last grade's boundary, or a limit below the smallest band, is a decline.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from limitlab.config import LimitsParams

DECLINE = "decline"
APPROVE = "approve"


@dataclass(frozen=True)
class Policy:
    """Master scale, band ladder and affordability settings, as stored beside a model."""

    grade_names: tuple[str, ...]
    grade_max_pd: tuple[float, ...]
    grade_max_limit: tuple[float, ...]
    ladder: tuple[float, ...]
    max_debt_service_ratio: float
    debt_service_rate: float
    annual_rate: float
    term_months: int
    missing_income: str
    missing_income_cap_share: float

    @classmethod
    def from_params(cls, params: LimitsParams) -> Policy:
        a = params.affordability
        return cls(
            grade_names=tuple(g.name for g in params.grades),
            grade_max_pd=tuple(g.max_pd for g in params.grades),
            grade_max_limit=tuple(g.max_limit for g in params.grades),
            ladder=tuple(params.ladder),
            max_debt_service_ratio=a.max_debt_service_ratio,
            debt_service_rate=a.debt_service_rate,
            annual_rate=a.annual_rate,
            term_months=a.term_months,
            missing_income=a.missing_income,
            missing_income_cap_share=a.missing_income_cap_share,
        )

    def to_json(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(self), indent=2) + "\n")

    @classmethod
    def from_json(cls, path: Path) -> Policy:
        raw = json.loads(Path(path).read_text())
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()})

    @property
    def payment_per_unit(self) -> float:
        """Monthly instalment per unit of limit, fully drawn and repaid over the term."""
        rate = self.annual_rate / 12
        if rate == 0:
            return 1 / self.term_months
        return rate / (1 - (1 + rate) ** -self.term_months)


def grade_of(pd_: np.ndarray, policy: Policy) -> np.ndarray:
    """Risk grade of each PD on the master scale; above the last boundary, ``decline``."""
    idx = np.searchsorted(np.asarray(policy.grade_max_pd), pd_, side="left")
    names = np.asarray([*policy.grade_names, DECLINE], dtype=object)
    return names[idx]


def affordable_limit(income: np.ndarray, debt: np.ndarray | None, policy: Policy) -> np.ndarray:
    """Largest limit whose full-draw instalment fits the monthly payment capacity (NaN if unknown).

    Capacity = income x maximum debt-service ratio - existing debt x debt-service rate.
    """
    existing = 0.0 if debt is None else np.nan_to_num(debt, nan=0.0) * policy.debt_service_rate
    capacity = income * policy.max_debt_service_ratio - existing
    return np.maximum(capacity, 0.0) / policy.payment_per_unit


def round_down_to_ladder(amount: np.ndarray, ladder: tuple[float, ...]) -> np.ndarray:
    """Largest ladder band at or below each amount; 0 where the amount is below every band."""
    bands = np.asarray(ladder, dtype=float)
    idx = np.searchsorted(bands, amount, side="right") - 1
    return np.where(idx >= 0, bands[np.clip(idx, 0, None)], 0.0)


def assign_limits(
    pd_: np.ndarray,
    policy: Policy,
    income: np.ndarray | None = None,
    debt: np.ndarray | None = None,
) -> pd.DataFrame:
    """Grade, caps, limit, decision and the binding cap for each applicant.

    ``income`` of ``None`` means the data set has no income: only the grade cap applies.
    """
    pd_ = np.asarray(pd_, dtype=float)
    grade = grade_of(pd_, policy)
    caps = dict(zip(policy.grade_names, policy.grade_max_limit, strict=True))
    grade_cap = np.array([caps.get(g, 0.0) for g in grade], dtype=float)
    binding = np.where(grade == DECLINE, "pd_above_scale", "grade")
    cap = grade_cap.copy()
    afford = np.full(len(pd_), np.nan)
    if income is not None:
        income = np.asarray(income, dtype=float)
        debt = None if debt is None else np.asarray(debt, dtype=float)
        afford = affordable_limit(income, debt, policy)
        known = ~np.isnan(income)
        tighter = known & (afford < cap)
        cap = np.where(tighter, afford, cap)
        binding = np.where(tighter & (grade != DECLINE), "affordability", binding)
        unknown = ~known & (grade != DECLINE)
        share = 0.0 if policy.missing_income == "decline" else policy.missing_income_cap_share
        cap = np.where(unknown, cap * share, cap)
        binding = np.where(unknown, "income_missing", binding)
    limit = round_down_to_ladder(cap, policy.ladder)
    below_ladder = (limit == 0) & (grade != DECLINE) & (binding != "income_missing")
    binding = np.where(below_ladder & (binding == "grade"), "below_min_band", binding)
    return pd.DataFrame(
        {
            "pd": pd_,
            "grade": grade,
            "grade_cap": grade_cap,
            "affordable_cap": afford,
            "limit": limit,
            "decision": np.where(limit > 0, APPROVE, DECLINE),
            "binding_cap": binding,
        }
    )


def band_table(decisions: pd.DataFrame, policy: Policy, bad: np.ndarray | None) -> pd.DataFrame:
    """Per grade: count, share, PD range, mean PD, observed bad rate, approvals and limits."""
    frame = decisions.assign(bad=np.nan if bad is None else np.asarray(bad, dtype=float))
    order = [*policy.grade_names, DECLINE]
    lower = (0.0, *policy.grade_max_pd)
    upper = (*policy.grade_max_pd, 1.0)
    rows = []
    for i, grade in enumerate(order):
        part = frame[frame["grade"] == grade]
        approved = part["decision"] == APPROVE
        rows.append(
            {
                "grade": grade,
                "pd_from": lower[i],
                "pd_to": upper[i],
                "max_limit": policy.grade_max_limit[i] if i < len(policy.grade_names) else 0.0,
                "count": len(part),
                "share": len(part) / max(len(frame), 1),
                "mean_pd": part["pd"].mean() if len(part) else None,
                "bad_rate": part["bad"].mean() if len(part) and bad is not None else None,
                "approved": int(approved.sum()),
                "total_limit": float(part["limit"].sum()),
                "mean_limit": float(part.loc[approved, "limit"].mean()) if approved.any() else 0.0,
            }
        )
    return pd.DataFrame(rows)
