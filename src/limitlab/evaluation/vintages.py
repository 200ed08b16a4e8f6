"""Vintage curves and delinquency roll rates from a monthly account panel.

A vintage curve is the cumulative default rate of one origination cohort by months on book. The
panel sees each account from its first panel month only (older accounts enter part-way through
their life) and until it defaults or the panel ends, so the curve is built from monthly default
hazards (defaults over accounts observed at that month on book), which neither truncation
biases: cumulative = 1 - prod(1 - hazard). A cohort first seen part-way through its life starts
at its first month on book observed: its curve is conditional on surviving to it. Roll rates:
the share of accounts in each delinquency state one month that are in each state the next (rows
sum to one); default absorbs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

STATES = ("current", "30", "60", "90+", "default")


def delinquency_state(dpd: pd.Series, defaulted: pd.Series) -> pd.Series:
    """``current``, ``30``, ``60``, ``90+`` by days past due; ``default`` in the default month."""
    bucket = np.select([dpd >= 90, dpd >= 60, dpd >= 30], ["90+", "60", "30"], "current")
    state = np.where(defaulted.to_numpy(dtype=bool), "default", bucket)
    return pd.Series(pd.Categorical(state, categories=STATES), index=dpd.index)


def vintage_curves(
    panel: pd.DataFrame, cohort_months: int = 6, account: str = "account_id",
    month: str = "month", months_on_book: str = "months_on_book", defaulted: str = "defaulted",
) -> pd.DataFrame:  # fmt: skip
    """Per origination cohort (``cohort_months`` panel months wide, numbered by the panel month
    of its first origination month; 0 and below: before the panel) and month on book: accounts
    observed, defaults, the hazard and the cumulative default rate."""
    origination = panel[month] - panel[months_on_book]
    frame = pd.DataFrame({
        "cohort": (np.floor(origination / cohort_months) * cohort_months + 1).astype(int),
        "months_on_book": panel[months_on_book].astype(int),
        "defaulted": panel[defaulted].astype(int),
    })  # fmt: skip
    table = (frame.groupby(["cohort", "months_on_book"], sort=True)
             .agg(accounts=("defaulted", "size"), defaults=("defaulted", "sum"))
             .reset_index())  # fmt: skip
    table["hazard"] = table["defaults"] / table["accounts"]
    survival = (1 - table["hazard"]).groupby(table["cohort"]).cumprod()
    table["cumulative_default_rate"] = 1 - survival
    return table


def roll_rates(
    panel: pd.DataFrame, account: str = "account_id", month: str = "month",
    dpd: str = "dpd", defaulted: str = "defaulted",
) -> pd.DataFrame:  # fmt: skip
    """Month-to-month transition shares between delinquency states (rows: from, columns: to;
    each row sums to one), over every account observed in two consecutive panel months."""
    ordered = panel.sort_values([account, month])
    state = delinquency_state(ordered[dpd], ordered[defaulted])
    following = ordered[account].shift(-1).eq(ordered[account]) & ordered[month].shift(-1).eq(
        ordered[month] + 1
    )
    pairs = pd.DataFrame({"from": state[following].to_numpy(),
                          "to": state.shift(-1)[following].to_numpy()})  # fmt: skip
    counts = pd.crosstab(pd.Categorical(pairs["from"], categories=STATES),
                         pd.Categorical(pairs["to"], categories=STATES), dropna=False)  # fmt: skip
    counts = counts.drop(index="default", errors="ignore")  # default is absorbing: no row
    shares = counts.div(counts.sum(axis=1).replace(0, np.nan), axis=0)
    shares.index.name, shares.columns.name = "from", "to"
    return shares.dropna(how="all")


def default_rate_by_month(panel: pd.DataFrame, month: str = "month",
                          defaulted: str = "defaulted") -> pd.DataFrame:  # fmt: skip
    """Accounts open, defaults and the default rate in each panel month."""
    table = panel.groupby(month, sort=True)[defaulted].agg(accounts="size", defaults="sum")
    table["default_rate"] = table["defaults"] / table["accounts"]
    return table.reset_index().rename(columns={month: "month"})


def downturn_month(panel: pd.DataFrame, month: str = "month", defaulted: str = "defaulted",
                   window: int = 3) -> int:  # fmt: skip
    """The panel month after which the monthly default rate rises most (mean of ``window``
    months after against ``window`` months before)."""
    rate = panel.groupby(month)[defaulted].mean().sort_index()
    after = rate.rolling(window).mean().shift(-(window - 1))
    before = rate.rolling(window).mean().shift(1)
    return int((after - before).idxmax())
