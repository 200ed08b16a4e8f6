"""Exposure, expected loss and expected profit of a limit."""

from __future__ import annotations

import numpy as np

from limitlab.config import EconomicsParams, ProductParams


def exposure_at_default(limit: np.ndarray, product: ProductParams) -> tuple[np.ndarray, np.ndarray]:
    """Expected drawn balance and EAD = drawn + CCF x undrawn."""
    drawn = product.utilisation * limit
    return drawn, drawn + product.ccf * (limit - drawn)


def expected_loss(pd_: np.ndarray, limit: np.ndarray, product: ProductParams) -> np.ndarray:
    """EL = PD x LGD x EAD."""
    return pd_ * product.lgd * exposure_at_default(limit, product)[1]


def expected_profit(
    pd_: np.ndarray, limit: np.ndarray, product: ProductParams, economics: EconomicsParams
) -> np.ndarray:
    """Margin on the expected drawn balance, less expected loss, less the cost of funding it."""
    drawn, _ = exposure_at_default(limit, product)
    income = (product.margin - economics.funding_rate) * drawn * economics.horizon_years
    return income - expected_loss(pd_, limit, product)
