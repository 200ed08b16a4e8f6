"""Replay the limit-review policy on the account panel, month by month, against static limits.

At each review date every open account is scored from its behavioural snapshot and reviewed;
its limit then holds until the next review. Balances come from the panel (drawn under static
limits); under the review policy a balance cannot exceed the account's limit at that time, so a
cut limit caps what the customer could draw. For each policy: mean exposure (total limits) and
balances, expected loss (PD x LGD x EAD over the review period), realised loss (LGD x the balance
in the month of default), expected profit (net interest on balances less expected loss, priced
by :mod:`limitlab.limits.economics`), and for the
review policy the share of defaulters whose limit was cut before they defaulted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from limitlab.config import EconomicsParams, ProductParams, ReviewParams
from limitlab.limits.economics import ead, loss, net_interest
from limitlab.limits.review import DECREASE, FREEZE, review_accounts

STATIC, REVIEW = "static", "review"


@dataclass(frozen=True)
class BacktestInputs:
    """Panel rows (account_id, month, balance, limit, defaulted) and review-date snapshots."""

    panel: pd.DataFrame
    snapshots: pd.DataFrame
    first_review: int
    last_month: int


def backtest(
    inputs: BacktestInputs,
    decide_at: Callable[[pd.DataFrame], pd.DataFrame],
    product: ProductParams,
    rules: ReviewParams,
    roles: dict[str, str],
    economics: EconomicsParams,
) -> dict:
    """Run both policies; return totals per policy, the per-period table and defaulter counts.

    ``decide_at(snapshots)`` returns the policy's ``pd`` and target ``limit`` for each row.
    """
    panel = inputs.panel
    balance = panel.pivot(index="account_id", columns="month", values="balance")
    accounts = balance.index.to_numpy()
    static_limit = panel.groupby("account_id")["limit"].first().reindex(accounts).to_numpy()
    default_month = (
        panel[panel["defaulted"] == 1].set_index("account_id")["month"].reindex(accounts)
    ).to_numpy(float)
    limit = {STATIC: static_limit.copy(), REVIEW: static_limit.copy()}
    since_change = np.full(len(accounts), 10**6)
    cut_month = np.full(len(accounts), np.nan)  # first review that cut the limit
    rows = []
    dates = range(inputs.first_review, inputs.last_month, rules.every_months)
    for start in dates:
        end = min(start + rules.every_months, inputs.last_month)
        snap = inputs.snapshots[inputs.snapshots["snapshot_month"] == start]
        snap = snap.set_index(roles["id"]).reindex(accounts)
        open_ = snap[roles["balance"]].notna().to_numpy() & ~(default_month <= start)
        at = snap[open_].reset_index()
        at[roles["current_limit"]] = limit[REVIEW][open_]
        at[roles["balance"]] = np.minimum(at[roles["balance"]], limit[REVIEW][open_])
        at[roles["utilisation"]] = at[roles["balance"]] / limit[REVIEW][open_]
        decided = decide_at(at)
        actions = review_accounts(
            at, decided, roles, product.ladder, rules, months_since_change=since_change[open_]
        )
        new = actions["new_limit"].to_numpy()
        changed = new != limit[REVIEW][open_]
        since_change[open_] = np.where(changed, 0, since_change[open_] + rules.every_months)
        cut = actions["action"].isin([DECREASE, FREEZE]).to_numpy()
        first_cut = np.where(cut & np.isnan(cut_month[open_]), start, cut_month[open_])
        cut_month[open_] = first_cut
        limit[REVIEW][open_] = new
        pd_ = np.zeros(len(accounts))
        pd_[open_] = decided["pd"].to_numpy()
        months = [m for m in range(start + 1, end + 1) if m in balance.columns]
        period = balance[months].to_numpy()
        for policy in (STATIC, REVIEW):
            rows.append(_period(policy, start, open_, pd_, limit[policy], period, months,
                                default_month, product, economics))  # fmt: skip
    table = pd.DataFrame(rows)
    totals = {policy: _totals(table[table["policy"] == policy]) for policy in (STATIC, REVIEW)}
    defaulters = (default_month > inputs.first_review) & (default_month <= inputs.last_month)
    cut_before = defaulters & (cut_month < default_month)
    totals[REVIEW]["defaulters"] = int(defaulters.sum())
    totals[REVIEW]["defaulters_cut_before_default"] = int(cut_before.sum())
    totals[REVIEW]["share_defaulters_cut_before_default"] = (
        float(cut_before.sum() / defaulters.sum()) if defaulters.any() else None
    )
    return {"totals": totals, "periods": table, "review_dates": list(dates)}


def _period(
    policy: str,
    start: int,
    open_: np.ndarray,
    pd_: np.ndarray,
    limit: np.ndarray,
    period: np.ndarray,
    months: list[int],
    default_month: np.ndarray,
    product: ProductParams,
    economics: EconomicsParams,
) -> dict:
    """Exposure, balances, expected and realised loss and expected profit of one review period."""
    capped = np.minimum(np.nan_to_num(period, nan=0.0), limit[:, None])
    capped[~open_] = 0.0
    years = len(months) / 12
    first = capped[:, 0] if capped.shape[1] else np.zeros(len(limit))
    exposure = ead(first, limit, product.ccf)
    expected_loss = float((loss(pd_, exposure, product.lgd) * years)[open_].sum())
    realised = 0.0
    for j, month in enumerate(months):
        hit = open_ & (default_month == month)
        realised += float(product.lgd * capped[hit, j].sum())
    mean_balance = capped.mean(axis=1) if capped.shape[1] else np.zeros(len(limit))
    return {
        "policy": policy,
        "review_month": start,
        "months": len(months),
        "accounts": int(open_.sum()),
        "exposure": float(limit[open_].sum()),
        "balance": float(mean_balance[open_].sum()),
        "expected_loss": expected_loss,
        "realised_loss": realised,
        "expected_profit": float(net_interest(mean_balance[open_], product, economics, years).sum())
        - expected_loss,
    }


def _totals(table: pd.DataFrame) -> dict:
    return {
        "mean_exposure": float(table["exposure"].mean()),
        "mean_balance": float(table["balance"].mean()),
        "expected_loss": float(table["expected_loss"].sum()),
        "realised_loss": float(table["realised_loss"].sum()),
        "expected_profit": float(table["expected_profit"].sum()),
    }
