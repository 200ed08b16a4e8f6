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
from scipy import stats

from limitlab.config import EconomicsParams, ProductParams, ReviewParams
from limitlab.limits.economics import ead, loss, net_interest
from limitlab.limits.review import DECREASE, FREEZE, review_accounts
from limitlab.limits.usage import CAPS, MonthSpending, apply_caps, day_weights

STATIC, REVIEW = "static", "review"


@dataclass(frozen=True)
class UsageSimulation:
    """Spending meets the product's usage caps: the panel's spending columns and their merchant
    categories, the days of a month and how unevenly spending falls on them, the seed."""

    categories: dict[str, str]
    days: int = 30
    concentration: float = 0.3
    seed: int = 0


@dataclass(frozen=True)
class BacktestInputs:
    """Panel rows (account_id, month, balance, limit, defaulted; with usage caps also payment
    and the spending columns) and review-date snapshots."""

    panel: pd.DataFrame
    snapshots: pd.DataFrame
    first_review: int
    last_month: int
    usage: UsageSimulation | None = None


METRICS = ("exposure", "balance", "expected_loss", "realised_loss", "expected_profit")


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
    replay = _replay(inputs, decide_at, product, rules, roles, economics)
    table = pd.DataFrame(replay["rows"])
    totals = {policy: _totals(table[table["policy"] == policy]) for policy in (STATIC, REVIEW)}
    totals[REVIEW].update(_defaulters_cut(replay, inputs))
    return {"totals": totals, "periods": table, "review_dates": replay["dates"],
            "usage": replay["usage"]}  # fmt: skip


def _replay(
    inputs: BacktestInputs,
    decide_at: Callable[[pd.DataFrame], pd.DataFrame],
    product: ProductParams,
    rules: ReviewParams,
    roles: dict[str, str],
    economics: EconomicsParams,
) -> dict:
    """Per period and per account, the figures of both policies; first cut and default month
    of every account."""
    panel = inputs.panel
    balance = panel.pivot(index="account_id", columns="month", values="balance")
    accounts = balance.index.to_numpy()
    static_limit = panel.groupby("account_id")["limit"].first().reindex(accounts).to_numpy()
    default_month = (
        panel[panel["defaulted"] == 1].set_index("account_id")["month"].reindex(accounts)
    ).to_numpy(float)
    limit = {STATIC: static_limit.copy(), REVIEW: static_limit.copy()}
    per_account = {p: {m: np.zeros(len(accounts)) for m in METRICS} for p in (STATIC, REVIEW)}
    usage = _Usage(inputs.usage, panel, accounts) if inputs.usage else None
    since_change = np.full(len(accounts), 10**6)
    cut_month = np.full(len(accounts), np.nan)  # first review that cut the limit
    rows = []
    dates = list(range(inputs.first_review, inputs.last_month, rules.every_months))
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
            drawn = usage.balances(policy, period, months, limit[policy], open_, product) \
                if usage else period  # fmt: skip
            figures = _period(open_, pd_, limit[policy], drawn, months, default_month,
                              product, economics)  # fmt: skip
            for name in METRICS:
                per_account[policy][name] += figures[name] / (
                    len(dates) if name in ("exposure", "balance") else 1
                )
            rows.append({"policy": policy, "review_month": start, "months": len(months),
                         "accounts": int(open_.sum()),
                         **{name: float(figures[name].sum()) for name in METRICS}})  # fmt: skip
    return {"rows": rows, "dates": dates, "per_account": per_account, "cut_month": cut_month,
            "default_month": default_month, "usage": usage.report() if usage else None}  # fmt: skip


class _Usage:
    """Spending of the panel meeting the usage caps, month by month, for each policy's limits;
    what a cap declines stays off the balance and runs off at the account's payment rate."""

    def __init__(self, sim: UsageSimulation, panel: pd.DataFrame, accounts: np.ndarray) -> None:
        def wide(column: str) -> pd.DataFrame:
            return panel.pivot(index="account_id", columns="month", values=column).reindex(accounts)

        self.sim = sim
        self.spend = {c: wide(c) for c in sim.categories}
        paid = (wide("payment") / wide("balance").where(lambda b: b > 0)).clip(0, 1)
        self.carry = 1 - paid.fillna(1.0)
        self.kept_off = {p: np.zeros(len(accounts)) for p in (STATIC, REVIEW)}
        self.totals = {p: dict.fromkeys(("attempted", *CAPS), 0.0) for p in (STATIC, REVIEW)}
        self.n = len(accounts)

    def balances(self, policy: str, period: np.ndarray, months: list[int], limit: np.ndarray,
                 open_: np.ndarray, product: ProductParams) -> np.ndarray:  # fmt: skip
        """The period's balances (accounts x months) less the spending the caps kept off."""
        out = np.array(period, dtype=float)
        for j, month in enumerate(months):
            rng = np.random.default_rng([self.sim.seed, month])  # the same days for every policy
            weights = day_weights(rng, self.n, self.sim.days, self.sim.concentration)
            spend = np.column_stack([self.spend[c][month].to_numpy() for c in self.spend])
            spend[~open_] = 0.0
            month_spend = MonthSpending(spend, tuple(self.sim.categories.values()), weights)
            result = apply_caps(month_spend, limit, product)
            declined = sum(result[cap] for cap in CAPS)
            carry = self.carry[month].to_numpy()
            self.kept_off[policy] = declined + np.nan_to_num(carry) * self.kept_off[policy]
            out[:, j] = np.maximum(out[:, j] - self.kept_off[policy], 0.0)
            for name in ("attempted", *CAPS):
                self.totals[policy][name] += float(result[name].sum())
        return out

    def report(self) -> dict:
        """Per policy: spending attempted and the share declined by each cap."""
        return {
            policy: {
                "spending_attempted": t["attempted"],
                "declined_share": {
                    cap: (t[cap] / t["attempted"] if t["attempted"] else None) for cap in CAPS
                },
            }
            for policy, t in self.totals.items()
        }


def _defaulters_cut(replay: dict, inputs: BacktestInputs) -> dict:
    default_month, cut_month = replay["default_month"], replay["cut_month"]
    defaulters = (default_month > inputs.first_review) & (default_month <= inputs.last_month)
    cut_before = defaulters & (cut_month < default_month)
    return {
        "defaulters": int(defaulters.sum()),
        "defaulters_cut_before_default": int(cut_before.sum()),
        "share_defaulters_cut_before_default": (
            float(cut_before.sum() / defaulters.sum()) if defaulters.any() else None
        ),
    }


def _period(
    open_: np.ndarray,
    pd_: np.ndarray,
    limit: np.ndarray,
    period: np.ndarray,
    months: list[int],
    default_month: np.ndarray,
    product: ProductParams,
    economics: EconomicsParams,
) -> dict[str, np.ndarray]:
    """Per account (zero when closed): exposure, mean balance, expected and realised loss and
    expected profit of one review period."""
    capped = np.minimum(np.nan_to_num(period, nan=0.0), limit[:, None])
    capped[~open_] = 0.0
    years = len(months) / 12
    first = capped[:, 0] if capped.shape[1] else np.zeros(len(limit))
    expected_loss = np.where(open_, loss(pd_, ead(first, limit, product.ccf), product.lgd) * years,
                             0.0)  # fmt: skip
    realised = np.zeros(len(limit))
    for j, month in enumerate(months):
        hit = open_ & (default_month == month)
        realised[hit] += product.lgd * capped[hit, j]
    mean_balance = capped.mean(axis=1) if capped.shape[1] else np.zeros(len(limit))
    interest = np.where(open_, net_interest(mean_balance, product, economics, years), 0.0)
    return {
        "exposure": np.where(open_, limit, 0.0),
        "balance": np.where(open_, mean_balance, 0.0),
        "expected_loss": expected_loss,
        "realised_loss": realised,
        "expected_profit": interest - expected_loss,
    }


def _totals(table: pd.DataFrame) -> dict:
    return {
        "mean_exposure": float(table["exposure"].mean()),
        "mean_balance": float(table["balance"].mean()),
        "expected_loss": float(table["expected_loss"].sum()),
        "realised_loss": float(table["realised_loss"].sum()),
        "expected_profit": float(table["expected_profit"].sum()),
    }


@dataclass(frozen=True)
class CellStrategy:
    """How one cell's accounts are decided and reviewed."""

    decide_at: Callable[[pd.DataFrame], pd.DataFrame]
    product: ProductParams
    rules: ReviewParams


def backtest_cells(
    inputs: BacktestInputs,
    cell_of: pd.Series,
    strategies: dict[str, CellStrategy],
    control: str,
    roles: dict[str, str],
    economics: EconomicsParams,
) -> dict:
    """Replay each cell's accounts (``cell_of``: account id -> cell) under its strategy.

    Per cell: totals, per-account means with 95 % confidence intervals, and defaulters cut
    before default; for every other cell, the difference from ``control`` in per-account means
    (Welch's interval and two-sided p-value) and in the share of defaulters cut before default
    (two-proportion z test).
    """
    replays, report = {}, {}
    for cell, strategy in strategies.items():
        ids = cell_of.index[cell_of.to_numpy() == cell]
        sub = BacktestInputs(
            inputs.panel[inputs.panel["account_id"].isin(ids)],
            inputs.snapshots[inputs.snapshots[roles["id"]].isin(ids)],
            inputs.first_review,
            inputs.last_month,
            inputs.usage,
        )
        if sub.panel.empty:
            report[cell] = {"accounts": 0}
            continue
        replay = _replay(sub, strategy.decide_at, strategy.product, strategy.rules, roles,
                         economics)  # fmt: skip
        replays[cell] = (replay, sub)
        values = replay["per_account"][REVIEW]
        table = pd.DataFrame(replay["rows"])
        report[cell] = {
            "accounts": len(values["exposure"]),
            **_totals(table[table["policy"] == REVIEW]),
            **_defaulters_cut(replay, sub),
            "per_account": {m: _mean_ci(values[m]) for m in METRICS},
        }
    if control in replays:
        base = replays[control]
        for cell, (replay, sub) in replays.items():
            if cell != control:
                report[cell]["vs_control"] = _difference(replay, sub, *base)
    return report


def _mean_ci(values: np.ndarray) -> dict:
    mean = float(values.mean())
    half = 1.96 * float(values.std(ddof=1)) / np.sqrt(len(values)) if len(values) > 1 else 0.0
    return {"mean": mean, "ci95": [mean - half, mean + half]}


def _difference(replay: dict, sub: BacktestInputs, base: dict, base_sub: BacktestInputs) -> dict:
    out = {}
    for name in METRICS:
        a, b = replay["per_account"][REVIEW][name], base["per_account"][REVIEW][name]
        diff = float(a.mean() - b.mean())
        se = float(np.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b)))
        p = float(2 * stats.norm.sf(abs(diff) / se)) if se > 0 else (1.0 if diff == 0 else 0.0)
        out[name] = {"difference": diff, "ci95": [diff - 1.96 * se, diff + 1.96 * se],
                     "p_value": p}  # fmt: skip
    cut, cut0 = _defaulters_cut(replay, sub), _defaulters_cut(base, base_sub)
    n1, n0 = cut["defaulters"], cut0["defaulters"]
    if n1 and n0:
        p1, p0 = (
            cut["share_defaulters_cut_before_default"],
            cut0["share_defaulters_cut_before_default"],
        )
        pooled = (cut["defaulters_cut_before_default"] + cut0["defaulters_cut_before_default"]) / (
            n1 + n0
        )
        se = np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n0))
        z = (p1 - p0) / se if se > 0 else 0.0
        out["share_defaulters_cut_before_default"] = {
            "difference": float(p1 - p0),
            "p_value": float(2 * stats.norm.sf(abs(z))),
        }
    return out
