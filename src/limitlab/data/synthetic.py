"""A synthetic consumer-finance portfolio with a known true PD.

Per customer: application data (age, income, employment, housing, tenure), bureau data (existing
debt, revolving utilisation, delinquencies, inquiries, open lines) and 12 months of account
behaviour (balance, payments, utilisation, days past due, spending by category), summarised into
behaviour features. The default outcome over the next 12 months is drawn from a true PD that is
a known nonlinear function of the observed features; it is written as ``true_pd`` (role
``truth``: never a feature, only compared against in evaluation).

Generation is chunked (``chunk_rows`` customers at a time, each chunk seeded by
``(seed, chunk number)``) and written as Parquet parts, so the same params give the same files
and memory stays flat at any size.
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

from limitlab.config import SyntheticParams

APPLICATIONS = "applications"
PANEL = "panel"
TARGET = "default_12m"
TRUTH = "true_pd"
EMPLOYMENT = ("employed", "self_employed", "unemployed", "retired", "student")
HOUSING = ("own", "mortgage", "rent", "family")
SPEND_CATEGORIES = ("groceries", "travel", "online", "cash_advance")
_MONTH_WEIGHTS = np.arange(12) - 5.5  # least-squares slope weights over months 0..11
_INTERCEPT = -3.15  # sets the portfolio bad rate near 8 %


def _choice(rng: np.random.Generator, labels: tuple[str, ...], p: list[float], n: int):
    return np.asarray(labels, dtype=object)[rng.choice(len(labels), size=n, p=p)]


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def true_log_odds(f: pd.DataFrame) -> np.ndarray:
    """The true log-odds of default: hinges, an interaction and a U-shape over observed columns."""
    dti = f["existing_debt"] / (12 * f["income_monthly"])
    arrears = f["months_in_arrears_12m"] > 0
    return (
        _INTERCEPT
        + 3.0 * np.maximum(f["utilisation_mean_12m"] - 0.6, 0)
        + 4.0 * np.maximum(f["utilisation_trend_12m"], 0)
        - 0.8 * np.log(f["income_monthly"] / 2500)
        + 0.45 * np.minimum(f["delinquencies_24m"], 4)
        + 0.12 * f["inquiries_6m"]
        + 0.5 * np.log1p(f["max_dpd_12m"] / 30)
        - 1.0 * np.minimum(f["payment_ratio_12m"], 1.0)
        + 1.2 * f["cash_advance_share_12m"]
        + 1.0 * np.maximum(dti - 0.4, 0)
        + 0.7 * ((f["utilisation_mean_12m"] > 0.85) & arrears)
        + 0.5 * (f["employment"] == "unemployed")
        - 0.25 * (f["housing"] == "own")
        + 0.25 * np.minimum(((f["tenure_months"] - 60) / 60) ** 2, 4.0)
    ).to_numpy(dtype="float64")


def _customers(rng: np.random.Generator, n: int, first_id: int) -> pd.DataFrame:
    age = np.clip(rng.normal(42, 13, n), 18, 80).round()
    employment = _choice(rng, EMPLOYMENT, [0.62, 0.14, 0.06, 0.12, 0.06], n)
    income_shift = pd.Series(employment).map(
        {
            "employed": 0.0,
            "self_employed": 0.1,
            "unemployed": -0.9,
            "retired": -0.3,
            "student": -0.8,
        }
    )
    income = np.exp(np.log(2600) + income_shift.to_numpy() + rng.normal(0, 0.45, n))
    housing = np.where(age < 26, _choice(rng, HOUSING, [0.05, 0.1, 0.45, 0.4], n),
                       _choice(rng, HOUSING, [0.3, 0.35, 0.3, 0.05], n))  # fmt: skip
    working = np.isin(employment, ["employed", "self_employed"])
    tenure = np.where(working, np.minimum(rng.gamma(2.0, 36.0, n), (age - 17) * 12), 0).round()
    return pd.DataFrame(
        {
            "customer_id": np.arange(first_id, first_id + n, dtype="int64"),
            "age": age,
            "employment": employment,
            "housing": housing,
            "tenure_months": tenure,
            "income_monthly": income.round(2),
            "existing_debt": (12 * income * rng.beta(1.5, 4.0, n)).round(2),
            "revolving_utilisation": np.clip(rng.beta(2, 3, n), 0, 1),
            "delinquencies_24m": rng.poisson(0.35, n).astype("float64"),
            "inquiries_6m": rng.poisson(1.2, n).astype("float64"),
            "open_lines": rng.poisson(4.0, n).astype("float64"),
            "requested_amount": (income * rng.uniform(0.5, 3.0, n)).round(-1),
        }
    )


def _months(rng: np.random.Generator, c: pd.DataFrame) -> dict[str, np.ndarray]:
    """Twelve months of account behaviour, arrays of shape (customers, 12)."""
    n = len(c)
    stress = rng.normal(0, 1, n) + 0.4 * c["delinquencies_24m"].to_numpy()
    limit = np.clip((c["income_monthly"].to_numpy() * 1.5).round(-2), 500, 20000)
    base = _sigmoid(-0.6 + 0.8 * stress + 1.5 * (c["revolving_utilisation"].to_numpy() - 0.4))
    trend = rng.normal(0.0, 0.012, n) + 0.008 * np.maximum(stress, 0)
    t = np.arange(12)
    util = np.clip(base[:, None] + trend[:, None] * t + rng.normal(0, 0.05, (n, 12)), 0, 1.2)
    balance = util * limit[:, None]
    pay_ratio = np.clip(
        _sigmoid(0.3 - 0.9 * stress)[:, None] + rng.normal(0, 0.08, (n, 12)), 0.0, 1.0
    )
    missed = rng.random((n, 12)) < _sigmoid(-4.0 + 1.3 * stress)[:, None]
    dpd = np.zeros((n, 12))
    for m in range(12):
        previous = dpd[:, m - 1] if m else 0.0
        dpd[:, m] = np.where(missed[:, m], np.minimum(previous + 30, 180), 0.0)
    spend_total = c["income_monthly"].to_numpy()[:, None] * rng.uniform(0.15, 0.5, (n, 12))
    cash_share = np.clip(_sigmoid(-2.8 + 0.9 * stress)[:, None] + rng.normal(0, 0.03, (n, 12)),
                         0, 1)  # fmt: skip
    rest = rng.dirichlet([5, 2, 3], size=n)
    spend = {"cash_advance": spend_total * cash_share}
    for i, name in enumerate(("groceries", "travel", "online")):
        spend[name] = spend_total * (1 - cash_share) * rest[:, i : i + 1]
    return {
        "limit": np.repeat(limit[:, None], 12, axis=1),
        "balance": balance,
        "payment": balance * pay_ratio,
        "utilisation": util,
        "dpd": dpd,
        **{f"spend_{k}": v for k, v in spend.items()},
    }


def _summaries(months: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    util = months["utilisation"]
    spend_total = sum(months[f"spend_{k}"] for k in SPEND_CATEGORIES)
    balance = months["balance"].sum(axis=1)
    return {
        "utilisation_mean_12m": util.mean(axis=1),
        "utilisation_mean_3m": util[:, -3:].mean(axis=1),
        "utilisation_trend_12m": util @ _MONTH_WEIGHTS / (_MONTH_WEIGHTS**2).sum(),
        "payment_ratio_12m": np.where(
            balance > 0, months["payment"].sum(axis=1) / np.maximum(balance, 1e-9), 1.0
        ),
        "max_dpd_12m": months["dpd"].max(axis=1),
        "months_in_arrears_12m": (months["dpd"] > 0).sum(axis=1).astype("float64"),
        "spend_monthly_12m": spend_total.mean(axis=1),
        "cash_advance_share_12m": months["spend_cash_advance"].sum(axis=1)
        / spend_total.sum(axis=1),
        "travel_share_12m": months["spend_travel"].sum(axis=1) / spend_total.sum(axis=1),
        "spend_volatility_12m": spend_total.std(axis=1) / spend_total.mean(axis=1),
    }


def generate_chunk(seed: int, chunk: int, n: int, first_id: int) -> tuple[pd.DataFrame, dict]:
    """One chunk: the customer table (with outcome and true PD) and its monthly arrays."""
    rng = np.random.default_rng([seed, chunk])
    customers = _customers(rng, n, first_id)
    months = _months(rng, customers)
    for name, values in _summaries(months).items():
        customers[name] = values
    true_pd = _sigmoid(true_log_odds(customers))
    customers[TRUTH] = true_pd
    customers[TARGET] = (rng.random(n) < true_pd).astype("int8")
    return customers, months


def _compact(frame: pd.DataFrame) -> pd.DataFrame:
    """float32 for measurements, categorical for labels (true PD kept in float64)."""
    out = frame.copy()
    for column in out.columns:
        if column in {TRUTH, "customer_id", TARGET, "month"}:
            continue
        if out[column].dtype == object:
            out[column] = out[column].astype("category")
        elif out[column].dtype.kind == "f":
            out[column] = out[column].astype("float32")
    return out


def _panel_frame(customers: pd.DataFrame, months: dict[str, np.ndarray]) -> pd.DataFrame:
    n = len(customers)
    long = {"customer_id": np.repeat(customers["customer_id"].to_numpy(), 12),
            "month": np.tile(np.arange(1, 13, dtype="int8"), n)}  # fmt: skip
    long.update({k: v.reshape(-1) for k, v in months.items()})
    return pd.DataFrame(long)


def generate(params: SyntheticParams, out_dir: Path) -> dict:
    """Write the portfolio as Parquet parts under ``out_dir``; return row counts and bad rate."""
    if out_dir.exists():
        shutil.rmtree(out_dir)
    (out_dir / APPLICATIONS).mkdir(parents=True)
    if params.write_panel:
        (out_dir / PANEL).mkdir()
    bad = 0
    chunks = range(0, params.rows, params.chunk_rows)
    bar = tqdm(total=params.rows, unit="rows", desc="generate", disable=not sys.stderr.isatty())
    for number, start in enumerate(chunks):
        n = min(params.chunk_rows, params.rows - start)
        customers, months = generate_chunk(params.seed, number, n, start + 1)
        bad += int(customers[TARGET].sum())
        part = f"part-{number:05d}.parquet"
        table = pa.Table.from_pandas(_compact(customers), preserve_index=False)
        pq.write_table(table, out_dir / APPLICATIONS / part)
        if params.write_panel:
            panel = _compact(_panel_frame(customers, months))
            pq.write_table(
                pa.Table.from_pandas(panel, preserve_index=False), out_dir / PANEL / part
            )
        bar.update(n)
    bar.close()
    return {
        "rows": params.rows,
        "parts": len(chunks),
        "bad_rate": bad / params.rows,
        "panel_rows": params.rows * 12 if params.write_panel else 0,
    }
