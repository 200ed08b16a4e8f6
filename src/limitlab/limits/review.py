"""Limit review of existing accounts: increase, keep, decrease or freeze, with guardrails.

Pure functions over arrays. The target limit is what the limit policy would grant today (grade
cap from the behavioural PD, affordability on current income, product and regulatory caps, on the
product's ladder). The review moves the current limit toward it within the guardrails:

- no increase while delinquent, within ``cooling_off_months`` of the last change, before
  ``min_months_on_book``, when the PD is above ``increase_max_pd`` or utilisation is below
  ``increase_min_utilisation``;
- a step up of at most ``max_step_up`` and down of at most ``max_step_down`` (shares of the
  current limit);
- never below the current balance, never above any cap (an increase never passes the target);
- freeze (limit cut to the balance, rounded up to the ladder) at ``freeze_dpd`` days past due or
  a PD of ``freeze_pd`` or more.

Every action other than keep has at least one reason; up to four, most important first.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from limitlab.config import ReviewParams
from limitlab.limits.caps import round_down_to_ladder, round_up_to_ladder

INCREASE, KEEP, DECREASE, FREEZE = "increase", "keep", "decrease", "freeze"
N_REASONS = 4
REASON_TEXT = {
    "freeze_delinquent": "Payments are {dpd:.0f} days past due",
    "freeze_risk": "Estimated risk of default is very high",
    "risk_up": "Estimated risk of default has risen",
    "target_below": "Current risk grade and income support a lower limit",
    "step_down": "Reduction limited to the maximum step per review",
    "balance_floor": "Limit not cut below the balance owed",
    "low_risk_high_use": "Low estimated risk and high use of the current limit",
    "step_up": "Increase limited to the maximum step per review",
    "target_cap": "Increase limited by the risk grade, income and product caps",
    "delinquent": "No increase while a payment is overdue",
    "cooling_off": "No change within the cooling-off period after the last change",
    "new_account": "No increase before the minimum months on book",
}


def review(
    *,
    current_limit: np.ndarray,
    balance: np.ndarray,
    pd_: np.ndarray,
    target_limit: np.ndarray,
    utilisation: np.ndarray,
    dpd: np.ndarray,
    months_on_book: np.ndarray,
    months_since_change: np.ndarray,
    ladder: list[float],
    rules: ReviewParams,
) -> pd.DataFrame:
    """Action, new limit and up to four reasons per account.

    ``target_limit`` is the limit policy's answer today (already capped and on the ladder);
    ``balance`` must not exceed ``current_limit`` (validated upstream).
    """
    current = np.asarray(current_limit, dtype=float)
    balance = np.maximum(np.asarray(balance, dtype=float), 0.0)
    target = np.asarray(target_limit, dtype=float)
    pd_ = np.asarray(pd_, dtype=float)
    dpd = np.asarray(dpd, dtype=float)
    util = np.asarray(utilisation, dtype=float)
    floor = np.minimum(round_up_to_ladder(balance, ladder), current)  # >= balance, <= current
    floor = np.where(balance > floor, current, floor)

    freeze_dpd = dpd >= rules.freeze_dpd
    freeze_pd = pd_ >= rules.freeze_pd
    freeze = freeze_dpd | freeze_pd

    delinquent = dpd > 0
    cooling = np.asarray(months_since_change) < rules.cooling_off_months
    new = np.asarray(months_on_book) < rules.min_months_on_book
    wants_up = (pd_ <= rules.increase_max_pd) & (util >= rules.increase_min_utilisation)
    up_room = np.minimum(target, round_down_to_ladder(current * (1 + rules.max_step_up), ladder))
    can_up = wants_up & ~delinquent & ~cooling & ~new & ~freeze & (up_room > current)

    risk_up = pd_ >= rules.decrease_min_pd
    target_below = target < current * (1 - rules.decrease_tolerance)
    wants_down = (risk_up | target_below) & ~freeze & ~cooling
    step_floor = current * (1 - rules.max_step_down)
    down_to = np.maximum(np.maximum(round_down_to_ladder(target, ladder), round_up_to_ladder(
        step_floor, ladder)), floor)  # fmt: skip
    down_to = np.minimum(down_to, current)
    can_down = wants_down & (down_to < current)

    new_limit = current.copy()
    new_limit = np.where(can_up, up_room, new_limit)
    new_limit = np.where(can_down, down_to, new_limit)
    new_limit = np.where(freeze, floor, new_limit)
    action = np.full(len(current), KEEP, dtype=object)
    action[can_up] = INCREASE
    action[can_down] = DECREASE
    action[freeze] = FREEZE

    codes = _reason_codes(
        action, freeze_dpd, freeze_pd, risk_up, target_below, new_limit, floor, step_floor,
        target, current, rules, delinquent, cooling, new, wants_up,
    )  # fmt: skip
    reasons = np.full((len(current), N_REASONS), "", dtype=object)
    for i, row in enumerate(codes):
        for j, code in enumerate(row[:N_REASONS]):
            reasons[i, j] = REASON_TEXT[code].format(dpd=dpd[i])
    out = pd.DataFrame(
        {
            "action": action,
            "current_limit": current,
            "new_limit": new_limit,
            "change": new_limit - current,
            "balance": balance,
        }
    )
    for j in range(N_REASONS):
        out[f"review_reason_{j + 1}"] = reasons[:, j]
    return out


def review_accounts(
    snapshots: pd.DataFrame,
    decided: pd.DataFrame,
    roles: dict[str, str],
    ladder: list[float],
    rules: ReviewParams,
    months_since_change: np.ndarray | None = None,
) -> pd.DataFrame:
    """:func:`review` of account snapshots whose columns play the ``roles`` (the spec's account
    roles), given the limit policy's ``pd`` and target ``limit`` for each row (``decided``).

    ``months_since_change`` defaults to the ``months_since_change`` role's column, else to
    "never changed".
    """

    def column(role: str) -> np.ndarray:
        return snapshots[roles[role]].to_numpy(float)

    if months_since_change is None:
        since = roles.get("months_since_change")
        months_since_change = (
            column("months_since_change") if since in snapshots else np.full(len(snapshots), 10**6)
        )
    return review(
        current_limit=column("current_limit"),
        balance=column("balance"),
        pd_=decided["pd"].to_numpy(),
        target_limit=decided["limit"].to_numpy(),
        utilisation=column("utilisation"),
        dpd=column("dpd"),
        months_on_book=column("months_on_book"),
        months_since_change=months_since_change,
        ladder=ladder,
        rules=rules,
    )


def _reason_codes(
    action, freeze_dpd, freeze_pd, risk_up, target_below, new_limit, floor, step_floor, target,
    current, rules, delinquent, cooling, new, wants_up,
) -> list[list[str]]:  # fmt: skip
    rows = []
    for i, act in enumerate(action):
        codes: list[str] = []
        if act == FREEZE:
            codes += ["freeze_delinquent"] if freeze_dpd[i] else []
            codes += ["freeze_risk"] if freeze_pd[i] else []
            codes += ["balance_floor"] if floor[i] > 0 else []
        elif act == DECREASE:
            codes += ["risk_up"] if risk_up[i] else []
            codes += ["target_below"] if target_below[i] else []
            codes += ["step_down"] if new_limit[i] > target[i] and new_limit[i] >= step_floor[i] \
                and new_limit[i] > floor[i] else []  # fmt: skip
            codes += ["balance_floor"] if new_limit[i] == floor[i] and floor[i] > target[i] else []
        elif act == INCREASE:
            codes.append("low_risk_high_use")
            step_cap = current[i] * (1 + rules.max_step_up)
            codes += ["target_cap"] if new_limit[i] >= target[i] else []
            codes += ["step_up"] if target[i] > step_cap else []
        elif wants_up[i]:  # kept although it would qualify for an increase: say why
            codes += ["delinquent"] if delinquent[i] else []
            codes += ["cooling_off"] if cooling[i] else []
            codes += ["new_account"] if new[i] else []
        rows.append(codes)
    return rows
