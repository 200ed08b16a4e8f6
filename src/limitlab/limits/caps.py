"""The caps on a limit, each a pure function of arrays: ladder, affordability, regulation."""

from __future__ import annotations

import numpy as np

from limitlab.config import AffordabilityParams, ProductParams, RegulationParams
from limitlab.data.lookup import interval_index


def round_down_to_ladder(amount: np.ndarray, ladder: list[float]) -> np.ndarray:
    """Largest ladder band at or below each amount; 0 where the amount is below every band."""
    bands = np.asarray(ladder, dtype=float)
    amount = np.nan_to_num(np.asarray(amount, dtype=float), nan=0.0)
    idx = interval_index(bands, amount, side="right") - 1
    return np.where(idx >= 0, bands[np.clip(idx, 0, None)], 0.0)


def round_up_to_ladder(amount: np.ndarray, ladder: list[float]) -> np.ndarray:
    """Smallest ladder band at or above each amount (the top band where none is)."""
    bands = np.asarray(ladder, dtype=float)
    idx = interval_index(bands, np.asarray(amount, dtype=float), side="left")
    return bands[np.clip(idx, 0, len(bands) - 1)]


def payment_per_unit(product: ProductParams) -> float:
    """Monthly instalment per unit of limit, fully drawn and repaid over the product's term."""
    rate = product.annual_rate / 12
    if rate == 0:
        return 1 / product.term_months
    return rate / (1 - (1 + rate) ** -product.term_months)


def affordable_limit(
    income: np.ndarray,
    debt: np.ndarray | None,
    product: ProductParams,
    rules: AffordabilityParams,
) -> np.ndarray:
    """Largest limit whose full-draw instalment fits the monthly payment capacity.

    Capacity = income x maximum debt-service ratio - existing debt x debt-service rate (the
    "full line used from day one" test). NaN where income is missing.
    """
    existing = 0.0 if debt is None else np.nan_to_num(debt, nan=0.0) * rules.debt_service_rate
    capacity = income * rules.max_debt_service_ratio - existing
    return np.maximum(capacity, 0.0) / payment_per_unit(product)


def regulatory_cap(income: np.ndarray, n: int, profile: RegulationParams) -> np.ndarray:
    """Per-borrower cap of a jurisdiction profile: absolute, and a share of annual income.

    Infinite where the profile sets no cap; NaN where an income share applies but income is
    missing (the missing-income fallback then decides).
    """
    cap = np.full(n, np.inf if profile.absolute_cap is None else profile.absolute_cap)
    if profile.annual_income_share is not None:
        annual = 12 * income
        cap = np.where(
            np.isnan(annual), np.nan, np.minimum(cap, annual * profile.annual_income_share)
        )
    return cap
