"""Usage caps applied to simulated spending: blocked merchant categories, daily and monthly caps.

A month's spending of an account (per merchant category) is spread over the month's days with
Dirichlet weights; then, in this order, spending in a blocked category is declined, each day's
remaining spending above the daily cap is declined, and the month's remaining spending above the
monthly cap is declined. Declined spending is not drawn: it leaves the balance, and the amount
kept off the balance runs off at the account's payment rate in later months.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from limitlab.config import ProductParams

CAPS = ("blocked_categories", "daily", "monthly")


@dataclass(frozen=True)
class MonthSpending:
    """One month: spending per account and category (``spend``: accounts x categories), the
    categories' merchant names, and each day's share of the month (accounts x days)."""

    spend: np.ndarray
    categories: tuple[str, ...]
    day_weights: np.ndarray


def day_weights(rng: np.random.Generator, accounts: int, days: int, concentration: float):
    """Each account's share of the month's spending by day (rows sum to one)."""
    draws = rng.gamma(concentration, size=(accounts, days))
    total = draws.sum(axis=1, keepdims=True)
    return np.divide(draws, total, out=np.full_like(draws, 1 / days), where=total > 0)


def apply_caps(month: MonthSpending, limit: np.ndarray, product: ProductParams) -> dict:
    """Per account: spending attempted, declined by each cap and allowed, and the allowed
    spending of each day (accounts x days; the monthly cap taken off every day pro rata). The
    daily and monthly caps are the product's shares of ``limit``."""
    spend = np.nan_to_num(month.spend, nan=0.0).clip(min=0.0)
    is_blocked = np.asarray([c in product.blocked_merchant_categories for c in month.categories],
                            dtype=bool)  # fmt: skip
    blocked = spend[:, is_blocked].sum(axis=1)
    daily = month.day_weights * spend[:, ~is_blocked].sum(axis=1)[:, None]
    capped = np.minimum(daily, (product.daily_cap_share * limit)[:, None])
    after_daily = capped.sum(axis=1)
    allowed = np.minimum(after_daily, product.monthly_cap_share * limit)
    scale = np.divide(allowed, after_daily, out=np.zeros_like(allowed), where=after_daily > 0)
    return {
        "attempted": spend.sum(axis=1),
        "blocked_categories": blocked,
        "daily": daily.sum(axis=1) - after_daily,
        "monthly": after_daily - allowed,
        "allowed": allowed,
        "allowed_by_day": capped * scale[:, None],
    }
