"""Exposure, expected loss and expected profit: one set of economics for every report.

The limit decision, the optimiser, the stress view and the review backtest all price a limit
with these functions. ``drawn`` is the balance expected (or observed) on the line.
"""

from __future__ import annotations

import numpy as np

from limitlab.config import EconomicsParams, ProductParams


def ead(drawn: np.ndarray, limit: np.ndarray, ccf: float) -> np.ndarray:
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


def exposure_at_default(limit: np.ndarray, product: ProductParams) -> tuple[np.ndarray, np.ndarray]:
    """Expected drawn balance (the product's utilisation) and its EAD."""
    drawn = product.utilisation * limit
    return drawn, ead(drawn, limit, product.ccf)


def expected_loss(pd_: np.ndarray, limit: np.ndarray, product: ProductParams) -> np.ndarray:
    """EL = PD x LGD x EAD of a limit drawn at the product's expected utilisation."""
    return loss(pd_, exposure_at_default(limit, product)[1], product.lgd)


def expected_profit(
    pd_: np.ndarray, limit: np.ndarray, product: ProductParams, economics: EconomicsParams
) -> np.ndarray:
    """Net interest on the expected drawn balance over the horizon, less expected loss."""
    drawn, _ = exposure_at_default(limit, product)
    income = net_interest(drawn, product, economics, economics.horizon_years)
    return income - expected_loss(pd_, limit, product)
