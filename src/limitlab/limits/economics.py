"""Exposure, expected loss and expected profit: one set of economics for every report.

The limit decision, the optimiser, the stress view and the review backtest all price a limit
with these functions. ``drawn`` is the balance expected (or observed) on the line. The expected
utilisation and credit conversion factor are the product's constants, or per account estimates
(:class:`Usage`, from the need models) where the data has them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from limitlab.config import EconomicsParams, ProductParams


@dataclass(frozen=True)
class Usage:
    """Per account expected utilisation (drawn share of the limit) and CCF, each in [0, 1]."""

    utilisation: np.ndarray
    ccf: np.ndarray

    def take(self, rows: np.ndarray) -> Usage:
        """The estimates of some rows, in their order."""
        return Usage(self.utilisation[rows], self.ccf[rows])


def ead(drawn: np.ndarray, limit: np.ndarray, ccf: float | np.ndarray) -> np.ndarray:
    """Exposure at default: drawn + CCF x undrawn."""
    return drawn + ccf * np.maximum(limit - drawn, 0.0)


def loss(pd_: np.ndarray, exposure: np.ndarray, lgd: float) -> np.ndarray:
    """Expected loss of an exposure: PD x LGD x EAD."""
    return pd_ * lgd * exposure


def net_interest(
    drawn: np.ndarray, product: ProductParams, economics: EconomicsParams, years: float
) -> np.ndarray:
    """Margin on the drawn balance less the cost of funding it, over ``years``."""
    return (product.margin - economics.funding_rate) * drawn * years


def exposure_at_default(
    limit: np.ndarray, product: ProductParams, usage: Usage | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Expected drawn balance (the product's utilisation, or the accounts') and its EAD."""
    if usage is None:
        drawn = product.utilisation * limit
        return drawn, ead(drawn, limit, product.ccf)
    drawn = usage.utilisation * limit
    return drawn, ead(drawn, limit, usage.ccf)


def expected_loss(
    pd_: np.ndarray, limit: np.ndarray, product: ProductParams, usage: Usage | None = None
) -> np.ndarray:
    """EL = PD x LGD x EAD of a limit drawn at the expected utilisation."""
    return loss(pd_, exposure_at_default(limit, product, usage)[1], product.lgd)


def expected_profit(
    pd_: np.ndarray,
    limit: np.ndarray,
    product: ProductParams,
    economics: EconomicsParams,
    usage: Usage | None = None,
) -> np.ndarray:
    """Net interest on the expected drawn balance over the horizon, less expected loss."""
    return limit_economics(pd_, limit, product, economics, usage)[3]


def limit_economics(
    pd_: np.ndarray,
    limit: np.ndarray,
    product: ProductParams,
    economics: EconomicsParams,
    usage: Usage | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Expected drawn balance, EAD, expected loss and expected profit of each limit, from one
    EAD (:func:`expected_loss` and :func:`expected_profit` at once)."""
    drawn, exposure = exposure_at_default(limit, product, usage)
    el = loss(pd_, exposure, product.lgd)
    income = net_interest(drawn, product, economics, economics.horizon_years)
    return drawn, exposure, el, income - el
