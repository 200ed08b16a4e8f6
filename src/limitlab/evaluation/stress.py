"""The stress view: stressed PDs on today's limits, and with the limit policy re-applied."""

from __future__ import annotations

import numpy as np
import pandas as pd

from limitlab.evaluation.monitoring import stress_pd
from limitlab.limits.decide import TOTALS, decided_columns
from limitlab.limits.economics import expected_loss, expected_profit
from limitlab.limits.policy import Policy
from limitlab.limits.report import portfolio_totals


def _change(new: float, old: float) -> float:
    return new / max(old, 1e-9) - 1


def stress_test(
    pd_: np.ndarray, frame: pd.DataFrame, policy: Policy, pd_factor: float, income_drop: float
) -> dict:
    """Portfolio totals at baseline; EL and profit of today's limits under stressed PDs; totals
    once the policy re-decides with stressed PDs and incomes cut by ``income_drop``."""
    baseline = decided_columns(pd_, frame, policy, [*TOTALS, "product"])
    stressed_frame = frame
    if policy.income:
        stressed_frame = frame.assign(**{policy.income: frame[policy.income] * (1 - income_drop)})
    stressed = decided_columns(stress_pd(pd_, pd_factor), stressed_frame, policy, TOTALS)
    on_current = baseline.assign(pd=stress_pd(pd_, pd_factor))
    book = {"expected_loss": 0.0, "expected_profit": 0.0}
    for name, part in on_current.groupby("product"):
        product = policy.product(name)
        pd_part, limit = part["pd"].to_numpy(), part["limit"].to_numpy()
        book["expected_loss"] += float(expected_loss(pd_part, limit, product).sum())
        profit = expected_profit(pd_part, limit, product, policy.params.economics)
        book["expected_profit"] += float(profit.sum())
    return {
        "scenario": {"pd_factor": pd_factor, "income_drop": income_drop},
        "baseline": portfolio_totals(baseline),
        "stressed_on_current_limits": book,  # the book as it stands, under stressed PDs
        "stressed": portfolio_totals(stressed),  # the policy re-applied: limits respond
    }


def stress_changes(stress: dict) -> dict[str, float]:
    """Relative changes against the baseline: EL on today's limits, EL and total limit once
    the policy responds."""
    base = stress["baseline"]
    return {
        "stress_expected_loss_change": _change(
            stress["stressed_on_current_limits"]["expected_loss"], base["expected_loss"]
        ),
        "stress_policy_expected_loss_change": _change(
            stress["stressed"]["expected_loss"], base["expected_loss"]
        ),
        "stress_total_limit_change": _change(
            stress["stressed"]["total_limit"], base["total_limit"]
        ),
    }
