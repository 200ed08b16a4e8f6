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


def current_values(policy: Policy) -> dict[str, object]:
    """Each knob's value in the policy as configured (the mark on the sweep figures)."""
    return {
        "grade_cap_factor": 1.0,
        "max_debt_service_ratio": policy.params.affordability.max_debt_service_ratio,
        "product": policy.params.product,
        "max_pd": max(g.max_pd for g in policy.params.grades),
    }


def findings(sweeps: dict[str, pd.DataFrame], current: dict[str, object]) -> str:
    """Per knob: the value with the highest expected profit against the current value's."""
    lines = []
    for knob, table in sweeps.items():
        best = table.loc[table["expected_profit"].idxmax()]
        now = table[table[knob].astype(str) == str(current[knob])]
        base = f"{now['expected_profit'].iloc[0]:,.0f}" if len(now) else "not in the sweep"
        lines.append(
            f"{knob}: highest expected profit {best['expected_profit']:,.0f} at {best[knob]} "
            f"(approval {best['approval_rate']:.1%}); current value {current[knob]}: {base}"
        )
    return "\n".join(lines)
