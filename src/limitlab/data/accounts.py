"""A synthetic monthly account panel with defaults over time, and behavioural snapshots of it.

Each account is observed for ``months`` months (or until it defaults): limit, balance, payment,
utilisation, days past due, spending by category, current income. Behaviour follows a latent
financial stress that persists month to month (AR(1)), jumps with rare income shocks, and rises
for everyone after ``macro_shock_month`` (a downturn). An account defaults in a month with a
known monthly hazard that grows with stress and utilisation, or when it reaches 90 days past due.

Behavioural snapshots: for every account still open at a snapshot month ``s`` (with 12 months of
history behind it and 12 months of outcome ahead inside the panel), features of the last 3, 6 and
12 months and the target "defaults in months s+1..s+12". The snapshot month becomes the data's
date column, so the split is out-of-time.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from tqdm import tqdm

from limitlab.config import AccountsParams
from limitlab.data.synthetic import EMPLOYMENT, HOUSING, _choice, _sigmoid

PANEL = "panel"
BALANCE_COLUMNS = ("month", "limit", "balance", "defaulted")  # a panel month's line and outcome
SNAPSHOTS = "snapshots"
REVIEW_SNAPSHOTS = "review_snapshots"
LADDER = (500, 750, 1000, 1500, 2000, 2500, 3000, 4000, 5000, 7500, 10000)  # revolving ladder
TARGET = "default_next_12m"
HISTORY, HORIZON = 12, 12
START = pd.Timestamp("2023-01-01")


def month_date(month: np.ndarray | int) -> pd.DatetimeIndex | pd.Timestamp:
    """Panel month 1 is January 2023."""
    return (
        START + pd.DateOffset(months=int(month) - 1)
        if np.isscalar(month)
        else (pd.DatetimeIndex([START + pd.DateOffset(months=int(m) - 1) for m in month]))
    )


def simulate(params: AccountsParams, chunk: int, n: int, first_id: int) -> dict[str, np.ndarray]:
    """Arrays of shape (accounts, months); months after default are NaN. Plus per-account data."""
    rng = np.random.default_rng([params.seed, chunk])
    months = params.months
    employment = _choice(rng, EMPLOYMENT, [0.62, 0.14, 0.06, 0.12, 0.06], n)
    housing = _choice(rng, HOUSING, [0.3, 0.35, 0.3, 0.05], n)
    income0 = np.exp(np.log(2600) + rng.normal(0, 0.45, n) - 0.8 * (employment == "unemployed"))
    bands = np.asarray(LADDER, dtype=float)
    wanted = income0 * rng.uniform(0.6, 1.8, n)
    limit = bands[np.clip(np.searchsorted(bands, wanted, side="right") - 1, 0, len(bands) - 1)]
    mob0 = rng.integers(1, 60, n)
    trait = rng.normal(0, 0.6, n)  # lasting propensity to revolve
    stress = rng.normal(0, 1, n) + 0.3 * (employment == "unemployed")
    income = income0.copy()
    shape = (n, months)
    out = {k: np.full(shape, np.nan) for k in ("balance", "payment", "utilisation", "dpd",
           "income", "spend_groceries", "spend_travel", "spend_online", "spend_cash_advance",
           "true_hazard")}  # fmt: skip
    default_month = np.zeros(n, dtype=np.int16)  # 0 = no default in the panel
    open_ = np.ones(n, dtype=bool)
    dpd = np.zeros(n)
    for m in range(months):
        macro = params.macro_shock if m + 1 >= params.macro_shock_month else 0.0
        shock = rng.random(n) < 0.004
        income = np.where(shock, income * 0.5, income * (1 + rng.normal(0.002, 0.01, n)))
        stress = 0.96 * stress + rng.normal(0, 0.28, n) + 1.2 * shock + 0.04 * macro
        util = np.clip(_sigmoid(-0.7 + 0.8 * stress + trait) + rng.normal(0, 0.04, n), 0, 1)
        missed = rng.random(n) < _sigmoid(-4.4 + 1.3 * stress + macro)
        dpd = np.where(missed, dpd + 30, 0.0)
        hazard = _sigmoid(-7.0 + 1.1 * stress + 2.0 * util + macro)
        defaults = open_ & ((rng.random(n) < hazard) | (dpd >= 90))
        balance = util * limit
        pay_ratio = np.clip(_sigmoid(0.4 - 0.9 * stress) + rng.normal(0, 0.06, n), 0, 1)
        spend = income * rng.uniform(0.15, 0.45, n)
        cash = np.clip(_sigmoid(-3.0 + 0.9 * stress), 0, 1)
        values = {
            "balance": balance,
            "payment": np.where(missed, 0.0, balance * pay_ratio),
            "utilisation": util,
            "dpd": dpd,
            "income": income,
            "spend_groceries": spend * (1 - cash) * 0.5,
            "spend_travel": spend * (1 - cash) * 0.2,
            "spend_online": spend * (1 - cash) * 0.3,
            "spend_cash_advance": spend * cash,
            "true_hazard": hazard,
        }
        for key, value in values.items():
            out[key][open_, m] = value[open_]
        default_month[defaults] = m + 1
        open_ &= ~defaults
    return {
        **out,
        "account_id": np.arange(first_id, first_id + n, dtype="int64"),
        "employment": employment,
        "housing": housing,
        "limit": limit,
        "mob0": mob0,
        "default_month": default_month,
    }


def panel_frame(sim: dict[str, np.ndarray]) -> pd.DataFrame:
    """One row per open account-month (defaulted accounts end with their default month)."""
    n, months = sim["balance"].shape
    month = np.tile(np.arange(1, months + 1, dtype="int16"), n)
    frame = pd.DataFrame(
        {
            "account_id": np.repeat(sim["account_id"], months),
            "month": month,
            "months_on_book": np.repeat(sim["mob0"], months) + month - 1,
            "limit": np.repeat(sim["limit"], months),
            **{
                k: sim[k].reshape(-1)
                for k in (
                    "balance",
                    "payment",
                    "utilisation",
                    "dpd",
                    "income",
                    "spend_groceries",
                    "spend_travel",
                    "spend_online",
                    "spend_cash_advance",
                )
            },
        }
    )
    frame["defaulted"] = (np.repeat(sim["default_month"], months) == month).astype("int8")
    return frame[frame["balance"].notna()].reset_index(drop=True)


def _window(values: np.ndarray, end: int, length: int) -> np.ndarray:
    return values[:, end - length : end]


def snapshots(
    sim: dict[str, np.ndarray], params: AccountsParams, for_review: bool = False
) -> pd.DataFrame:
    """Behavioural snapshots at every month with 12 months behind and 12 months ahead.

    ``for_review``: every month with 12 months behind, to the panel's end (the backtest's review
    dates); the target is then censored at the panel's end.
    """
    frames = []
    months = params.months
    weights = np.arange(HISTORY) - (HISTORY - 1) / 2
    last = months if for_review else months - HORIZON
    every = 1 if for_review else params.snapshot_every
    for s in range(HISTORY, last + 1, every):
        alive = (sim["default_month"] == 0) | (sim["default_month"] > s)
        util = sim["utilisation"][alive]
        spend = sum(sim[f"spend_{k}"][alive] for k in ("groceries", "travel", "online",
                                                        "cash_advance"))  # fmt: skip
        bal12 = _window(sim["balance"][alive], s, 12).sum(axis=1)
        bal3 = _window(sim["balance"][alive], s, 3).sum(axis=1)
        dm = sim["default_month"][alive]
        frame = pd.DataFrame(
            {
                "account_id": sim["account_id"][alive],
                "snapshot": month_date(s),
                "snapshot_month": s,
                "employment": sim["employment"][alive],
                "housing": sim["housing"][alive],
                "months_on_book": sim["mob0"][alive] + s - 1,
                "limit": sim["limit"][alive],
                "balance": sim["balance"][alive, s - 1],
                "income_monthly": sim["income"][alive, s - 1],
                "dpd_now": sim["dpd"][alive, s - 1],
                "utilisation_3m": _window(util, s, 3).mean(axis=1),
                "utilisation_6m": _window(util, s, 6).mean(axis=1),
                "utilisation_12m": _window(util, s, 12).mean(axis=1),
                "utilisation_trend_12m": _window(util, s, 12) @ weights / (weights**2).sum(),
                "payment_ratio_3m": _window(sim["payment"][alive], s, 3).sum(axis=1)
                / np.maximum(bal3, 1e-9),
                "payment_ratio_12m": _window(sim["payment"][alive], s, 12).sum(axis=1)
                / np.maximum(bal12, 1e-9),
                "max_dpd_3m": _window(sim["dpd"][alive], s, 3).max(axis=1),
                "max_dpd_12m": _window(sim["dpd"][alive], s, 12).max(axis=1),
                "months_in_arrears_12m": (_window(sim["dpd"][alive], s, 12) > 0).sum(axis=1),
                "spend_3m": _window(spend, s, 3).mean(axis=1),
                "spend_12m": _window(spend, s, 12).mean(axis=1),
                "cash_advance_share_3m": _window(sim["spend_cash_advance"][alive], s, 3).sum(1)
                / _window(spend, s, 3).sum(axis=1),
                "cash_advance_share_12m": _window(sim["spend_cash_advance"][alive], s, 12).sum(1)
                / _window(spend, s, 12).sum(axis=1),
                TARGET: ((dm > s) & (dm <= s + HORIZON)).astype("int8"),
            }
        )
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def generate_accounts(params: AccountsParams, out_dir: Path) -> dict:
    """Write the panel and the behavioural snapshots as Parquet parts under ``out_dir``."""
    if out_dir.exists():
        shutil.rmtree(out_dir)
    for name in (PANEL, SNAPSHOTS, REVIEW_SNAPSHOTS):
        (out_dir / name).mkdir(parents=True)
    counts = {"accounts": params.accounts, "panel_rows": 0, "snapshot_rows": 0, "defaults": 0}
    bar = tqdm(total=params.accounts, unit="accounts", desc="generate",
               disable=not sys.stderr.isatty())  # fmt: skip
    for number, start in enumerate(range(0, params.accounts, params.chunk_accounts)):
        n = min(params.chunk_accounts, params.accounts - start)
        sim = simulate(params, number, n, start + 1)
        panel, snaps = panel_frame(sim), snapshots(sim, params)
        part = f"part-{number:05d}.parquet"
        review = snapshots(sim, params, for_review=True)
        for name, frame in ((PANEL, panel), (SNAPSHOTS, snaps), (REVIEW_SNAPSHOTS, review)):
            pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), out_dir / name / part)
        counts["panel_rows"] += len(panel)
        counts["snapshot_rows"] += len(snaps)
        counts["defaults"] += int((sim["default_month"] > 0).sum())
        bar.update(n)
    bar.close()
    return counts
