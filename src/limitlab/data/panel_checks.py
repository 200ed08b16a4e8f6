"""Checks of a monthly account panel before a backtest: refused rows are kept with a reason.

Row problems (quarantined): a duplicate account-month, a balance above the limit, a negative
payment. Account problems (every row of the account quarantined): a gap in its months. A review
date outside the panel's months is an error naming the date and the range.
"""

from __future__ import annotations

import pandas as pd

from limitlab.data.columns import REASON
from limitlab.data.refusals import RowRefusals
from limitlab.data.specs import DataError


def check_panel(
    panel: pd.DataFrame, account: str = "account_id", month: str = "month"
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, int]]:
    """Kept rows, quarantined rows (with ``reason``) and counts by problem."""
    frame = panel.reset_index(drop=True)
    where = (" (account " + frame[account].astype("string") + ", month "
             + frame[month].astype("string") + ")")  # fmt: skip
    refusals = RowRefusals(frame.index)
    refuse = refusals.refuse

    duplicated = frame.duplicated([account, month], keep="first")
    refuse(duplicated, "duplicate_account_month", "duplicate account-month" + where)
    if {"balance", "limit"} <= set(frame.columns):
        above = frame["balance"] > frame["limit"] + 1e-9
        text = ("balance " + frame["balance"].round(2).astype("string") + " above limit "
                + frame["limit"].astype("string") + where)  # fmt: skip
        refuse(above, "balance_above_limit", text)
    if "payment" in frame.columns:
        text = "payment " + frame["payment"].round(2).astype("string") + " is negative" + where
        refuse(frame["payment"] < 0, "negative_payment", text)
    unique = frame[~duplicated].sort_values([account, month])
    step = unique.groupby(account)[month].diff()
    gap_accounts = unique.loc[step > 1, account].unique()
    if len(gap_accounts):
        first_gap = unique[step > 1].groupby(account)[month].first()
        missing_after = unique.loc[step.shift(-1) > 1].groupby(account)[month].first()
        text = (
            frame[account]
            .map(
                lambda a: (
                    f"gap in months: account {a} has no month between {missing_after.get(a)} "
                    f"and {first_gap.get(a)}"
                )
            )
            .astype("string")
        )
        refuse(frame[account].isin(gap_accounts), "gap_in_months", text)
    kept, quarantine = refusals.split(frame, REASON)
    return kept.reset_index(drop=True), quarantine.reset_index(drop=True), refusals.counts


def check_review_date(review_month: int, panel: pd.DataFrame, month: str = "month") -> None:
    """Refuse a review date outside the panel's months."""
    low, high = int(panel[month].min()), int(panel[month].max())
    if not low <= review_month < high:
        raise DataError(
            f"review date month {review_month} is outside the panel (months {low}..{high}); "
            "expected a month with at least one month of the panel after it"
        )
