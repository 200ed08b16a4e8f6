"""What-if analysis of the limit policy: vary one knob, watch the portfolio totals move."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace

import numpy as np
import pandas as pd

from limitlab.errors import InputError
from limitlab.limits.decide import decide
from limitlab.limits.policy import Policy
from limitlab.limits.report import portfolio_totals


def with_limits(policy: Policy, **updates: object) -> Policy:
    """The policy with top-level ``limits`` params replaced (re-validated); its column roles,
    review rules and account roles are kept."""
    params = policy.params.model_validate({**policy.params.model_dump(), **updates})
    return replace(policy, params=params)


def scale_grade_caps(policy: Policy, factor: float) -> Policy:
    """Every grade's maximum share of the product limit times ``factor`` (at most 1)."""
    grades = [{**g.model_dump(), "max_share": min(g.max_share * factor, 1.0)}
              for g in policy.params.grades]  # fmt: skip
    return with_limits(policy, grades=grades)


def with_debt_service_ratio(policy: Policy, ratio: float) -> Policy:
    """The affordability test's maximum debt-service ratio set to ``ratio``."""
    affordability = {**policy.params.affordability.model_dump(), "max_debt_service_ratio": ratio}
    return with_limits(policy, affordability=affordability)


def with_risk_appetite(policy: Policy, max_pd: float) -> Policy:
    """Only grades whose PD range starts below ``max_pd`` lend; applicants above are declined."""
    kept = [g.model_dump() for g in policy.params.grades if g.max_pd <= max_pd]
    first = policy.params.grades[0]
    return with_limits(policy, grades=kept or [{**first.model_dump(), "max_share": 0.0}])


def with_product(policy: Policy, product: str) -> Policy:
    """Every applicant offered ``product`` (one of the policy's products)."""
    if product not in policy.params.products:
        raise InputError(f"product {product!r} is not in the policy; expected one of "
                         f"{sorted(policy.params.products)}")  # fmt: skip
    return with_limits(policy, product=product, product_column=None)


def sweep(
    pd_: np.ndarray,
    frame: pd.DataFrame,
    policy: Policy,
    vary: Callable[[Policy, object], Policy],
    values: Iterable[object],
    name: str = "value",
) -> pd.DataFrame:
    """Portfolio totals (approval rate, total limit, EAD, EL, profit) for each value of a knob."""
    rows = [
        {name: value, **portfolio_totals(decide(pd_, frame, vary(policy, value)))}
        for value in values
    ]
    return pd.DataFrame(rows)
