"""Band tables: per grade, and per grade and limit band."""

from __future__ import annotations

import numpy as np
import pandas as pd

from limitlab.data.columns import BAD
from limitlab.limits.decide import APPROVE, DECLINE
from limitlab.limits.knockouts import POLICY_DECLINE
from limitlab.limits.policy import Policy

_SUMS = {"total_limit": ("limit", "sum"), "expected_loss": ("expected_loss", "sum"),
         "expected_profit": ("expected_profit", "sum")}  # fmt: skip


def _summarise(part: pd.DataFrame) -> dict:
    approved = part["decision"] == APPROVE
    return {
        "count": len(part),
        "mean_pd": float(part["pd"].mean()) if len(part) else None,
        "bad_rate": float(part[BAD].mean()) if len(part) and part[BAD].notna().any() else None,
        "approved": int(approved.sum()),
        "policy_declined": int((part["decision"] == POLICY_DECLINE).sum()),
        "total_limit": float(part["limit"].sum()),
        "mean_limit": float(part.loc[approved, "limit"].mean()) if approved.any() else 0.0,
        "expected_loss": float(part["expected_loss"].sum()),
        "expected_profit": float(part["expected_profit"].sum()),
    }


def band_table(decisions: pd.DataFrame, policy: Policy, bad: np.ndarray | None) -> pd.DataFrame:
    """Per grade of the master scale (and decline): PD range, central PD, counts, limits, EL."""
    frame = decisions.assign(**{BAD: np.nan if bad is None else np.asarray(bad, dtype=float)})
    grades = policy.params.grades
    lower = [0.0, *(g.max_pd for g in grades)]
    rows = []
    for i, grade in enumerate([*(g.name for g in grades), DECLINE]):
        on_scale = i < len(grades)
        rows.append(
            {
                "grade": grade,
                "pd_from": lower[i],
                "pd_to": grades[i].max_pd if on_scale else 1.0,
                "central_pd": policy.params.central_pds[i] if on_scale else None,
                "max_share": grades[i].max_share if on_scale else 0.0,
                **_summarise(frame[frame["grade"] == grade]),
            }
        )
    return pd.DataFrame(rows)


def grade_band_table(decisions: pd.DataFrame, bad: np.ndarray | None) -> pd.DataFrame:
    """Per grade and limit band: the same figures, for the cells that hold applicants."""
    frame = decisions.assign(**{BAD: np.nan if bad is None else np.asarray(bad, dtype=float)})
    rows = [
        {"grade": grade, "band": float(band), **_summarise(part)}
        for (grade, band), part in frame.groupby(["grade", "limit"], sort=True)
    ]
    return pd.DataFrame(rows)


def portfolio_totals(decisions: pd.DataFrame) -> dict:
    """Approval rate, knock-out declines, total limit, EAD, expected loss and profit of a set
    of decisions."""
    approved = decisions["decision"] == APPROVE
    return {
        "applicants": len(decisions),
        "approval_rate": float(approved.mean()) if len(decisions) else 0.0,
        "policy_declined": int((decisions["decision"] == POLICY_DECLINE).sum()),
        "total_limit": float(decisions["limit"].sum()),
        "ead": float(decisions["ead"].sum()),
        "expected_loss": float(decisions["expected_loss"].sum()),
        "expected_profit": float(decisions["expected_profit"].sum()),
    }
