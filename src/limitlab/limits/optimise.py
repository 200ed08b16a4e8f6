"""Profit-optimal grade caps under a risk appetite, as a small mixed-integer program (HiGHS).

For each grade choose one maximum band (or 0: decline the grade) to maximise the portfolio's
expected profit, subject to: no grade whose expected loss exceeds ``max_el_rate`` of its exposure;
portfolio expected loss at most ``el_budget_share`` of portfolio exposure; and a riskier grade
never gets a higher cap than a safer one. Each candidate is evaluated with :func:`decide`, so
every other cap (affordability, product, regulation, segments) still applies.
"""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pandas as pd
from scipy.optimize import Bounds, LinearConstraint, milp

from limitlab.errors import InputError
from limitlab.limits.decide import decide
from limitlab.limits.policy import Policy
from limitlab.limits.report import portfolio_totals


def candidate_outcomes(pd_: np.ndarray, frame: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    """Profit, EL and EAD per grade for every candidate band of the policy's product."""
    product = policy.product(policy.params.product)
    bands = [0.0, *(b for b in product.ladder if b <= product.max_limit)]
    names = [g.name for g in policy.params.grades]
    rows = []
    for band in bands:
        out = decide(pd_, frame, policy, grade_caps=dict.fromkeys(names, band))
        sums = out.groupby("grade")[["expected_profit", "expected_loss", "ead", "limit"]].sum()
        for grade in names:
            s = sums.loc[grade] if grade in sums.index else pd.Series(0.0, index=sums.columns)
            rows.append({"grade": grade, "band": band, **s.to_dict()})
    return pd.DataFrame(rows)


def optimise_caps(outcomes: pd.DataFrame, policy: Policy) -> dict[str, float]:
    """The band per grade that maximises expected profit within the risk appetite."""
    appetite = policy.params.optimise
    grades = [g.name for g in policy.params.grades]
    table = outcomes.reset_index(drop=True)
    ead = table["ead"].to_numpy(float)
    el = table["expected_loss"].to_numpy(float)
    allowed = np.ones(len(table))
    if appetite.max_el_rate is not None:
        rate = np.divide(el, ead, out=np.zeros_like(el), where=ead > 0)
        allowed = np.where((rate > appetite.max_el_rate) & (table["band"] > 0), 0.0, 1.0)
    rows, lows, highs = [], [], []
    for grade in grades:  # exactly one band per grade
        rows.append((table["grade"] == grade).to_numpy(float))
        lows.append(1.0)
        highs.append(1.0)
    if appetite.el_budget_share is not None:
        rows.append(el - appetite.el_budget_share * ead)
        lows.append(-np.inf)
        highs.append(0.0)
    band = table["band"].to_numpy(float)
    for safer, riskier in pairwise(grades):
        rows.append(band * (table["grade"] == safer) - band * (table["grade"] == riskier))
        lows.append(0.0)
        highs.append(np.inf)
    result = milp(
        c=-table["expected_profit"].to_numpy(float),
        constraints=LinearConstraint(np.vstack(rows), lows, highs),
        integrality=np.ones(len(table)),
        bounds=Bounds(0, allowed),
    )
    if not result.success:
        raise InputError(
            f"limits.optimise = {appetite.model_dump()}: no choice of grade caps meets this risk "
            f"appetite ({result.message}); expected a looser max_el_rate or el_budget_share"
        )
    chosen = table[np.round(result.x) == 1].set_index("grade")["band"]
    return {grade: float(chosen[grade]) for grade in grades}


def optimise_policy(pd_: np.ndarray, frame: pd.DataFrame, policy: Policy) -> dict:
    """Configured grade caps against the profit-optimal ones, with portfolio totals of each."""
    product = policy.product(policy.params.product)
    configured = {g.name: g.max_share * product.max_limit for g in policy.params.grades}
    caps = optimise_caps(candidate_outcomes(pd_, frame, policy), policy)
    return {
        "risk_appetite": policy.params.optimise.model_dump(),
        "configured": {
            "caps": configured,
            "totals": portfolio_totals(decide(pd_, frame, policy, grade_caps=configured)),
        },
        "optimised": {
            "caps": caps,
            "totals": portfolio_totals(decide(pd_, frame, policy, grade_caps=caps)),
        },
    }
