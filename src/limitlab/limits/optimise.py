"""Profit-optimal grade caps under a risk appetite, as a small mixed-integer program (HiGHS).

For each grade (or each group and grade) choose one maximum band (or 0: decline the grade) to
maximise the portfolio's
expected profit, subject to: no grade whose expected loss exceeds ``max_el_rate`` of its exposure;
portfolio expected loss at most ``el_budget_share`` of portfolio exposure; and a riskier grade
never gets a higher cap than a safer one. Each candidate is evaluated with :func:`decide`, so
every other cap (affordability, product, regulation, segments) still applies.
"""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pandas as pd
from scipy.optimize import Bounds, LinearConstraint, milp

from limitlab.errors import InputError
from limitlab.limits.decide import SUMMED, TOTALS, decide, decided_columns
from limitlab.limits.economics import Usage
from limitlab.limits.need import clustered_difference, realised_totals
from limitlab.limits.policy import Policy
from limitlab.limits.report import portfolio_totals

ALL = "all"  # the one group of applicants when caps are per grade only


def candidate_outcomes(
    pd_: np.ndarray,
    frame: pd.DataFrame,
    policy: Policy,
    usage: Usage | None = None,
    groups: np.ndarray | None = None,
) -> pd.DataFrame:
    """Profit, EL and EAD per grade (and per group of applicants, where ``groups`` labels each)
    for every candidate band of the policy's product, priced with the product's utilisation and
    CCF or with per applicant ``usage``."""
    product = policy.product(policy.params.product)
    bands = [0.0, *(b for b in product.ladder if b <= product.max_limit)]
    names = [g.name for g in policy.params.grades]
    labels = np.full(len(frame), ALL, dtype=object) if groups is None else np.asarray(groups)
    rows = []
    for band in bands:
        caps = dict.fromkeys(names, band)
        out = decided_columns(pd_, frame, policy, ["grade", *SUMMED], caps, usage)
        out["group"] = labels
        sums = out.groupby(["group", "grade"])[SUMMED].sum()
        for group in sorted(set(labels)):
            for grade in names:
                key = (group, grade)
                s = sums.loc[key] if key in sums.index else pd.Series(0.0, index=sums.columns)
                rows.append({"group": group, "grade": grade, "band": band, **s.to_dict()})
    return pd.DataFrame(rows)


def optimise_caps(outcomes: pd.DataFrame, policy: Policy) -> dict[str, float]:
    """The band per grade that maximises expected profit within the risk appetite."""
    return optimise_group_caps(outcomes.assign(group=ALL), policy)[ALL]


def optimise_group_caps(outcomes: pd.DataFrame, policy: Policy) -> dict[str, dict[str, float]]:
    """The band per group and grade that maximises expected profit within the risk appetite:
    the EL budget holds for the whole portfolio, the EL rate per cell, and within each group a
    riskier grade never gets a higher cap than a safer one."""
    appetite = policy.params.optimise
    grades = [g.name for g in policy.params.grades]
    table = outcomes.reset_index(drop=True)
    groups = sorted(set(table["group"]))
    ead = table["ead"].to_numpy(float)
    el = table["expected_loss"].to_numpy(float)
    allowed = np.ones(len(table))
    if appetite.max_el_rate is not None:
        rate = np.divide(el, ead, out=np.zeros_like(el), where=ead > 0)
        allowed = np.where((rate > appetite.max_el_rate) & (table["band"] > 0), 0.0, 1.0)
    rows, lows, highs = [], [], []
    in_group = {g: (table["group"] == g).to_numpy() for g in groups}
    of_grade = {g: (table["grade"] == g).to_numpy() for g in grades}
    for group in groups:  # exactly one band per group and grade
        for grade in grades:
            rows.append((in_group[group] & of_grade[grade]).astype(float))
            lows.append(1.0)
            highs.append(1.0)
    if appetite.el_budget_share is not None:
        rows.append(el - appetite.el_budget_share * ead)
        lows.append(-np.inf)
        highs.append(0.0)
    band = table["band"].to_numpy(float)
    for group in groups:
        for safer, riskier in pairwise(grades):
            rows.append(band * (in_group[group] & of_grade[safer])
                        - band * (in_group[group] & of_grade[riskier]))  # fmt: skip
            lows.append(0.0)
            highs.append(np.inf)
    result = milp(
        c=-table["expected_profit"].to_numpy(float),
        constraints=LinearConstraint(np.vstack(rows), lows, highs),
        integrality=np.ones(len(table)),
        bounds=Bounds(0, allowed),
    )
    if not result.success:
        raise InputError(
            f"limits.optimise = {appetite.model_dump()}: no choice of grade caps meets this risk "
            f"appetite ({result.message}); expected a looser max_el_rate or el_budget_share"
        )
    chosen = table[np.round(result.x) == 1].set_index(["group", "grade"])["band"]
    return {group: {grade: float(chosen[group, grade]) for grade in grades} for group in groups}


def optimise_policy(pd_: np.ndarray, frame: pd.DataFrame, policy: Policy) -> dict:
    """Configured grade caps against the profit-optimal ones, with portfolio totals of each."""
    product = policy.product(policy.params.product)
    configured = {g.name: g.max_share * product.max_limit for g in policy.params.grades}
    caps = optimise_caps(candidate_outcomes(pd_, frame, policy), policy)
    return {
        "risk_appetite": policy.params.optimise.model_dump(),
        "configured": {
            "caps": configured,
            "totals": portfolio_totals(decided_columns(pd_, frame, policy, TOTALS, configured)),
        },
        "optimised": {
            "caps": caps,
            "totals": portfolio_totals(decided_columns(pd_, frame, policy, TOTALS, caps)),
        },
    }


def decide_by_group(pd_: np.ndarray, frame: pd.DataFrame, policy: Policy,
                    caps: dict[str, dict[str, float]], groups: np.ndarray,
                    usage: Usage | None = None) -> pd.DataFrame:  # fmt: skip
    """Decisions with each group's grade caps, in the rows' order."""
    frame = frame.reset_index(drop=True)
    groups = np.asarray(groups)
    parts = []
    for group, grade_caps in caps.items():
        rows = np.flatnonzero(groups == group)
        part_usage = None if usage is None else usage.take(rows)
        out = decide(pd_[rows], frame.iloc[rows], policy, grade_caps, part_usage)
        parts.append(out.set_axis(rows))
    return pd.concat(parts).sort_index()


def _priced(decisions: pd.DataFrame) -> dict:
    totals = portfolio_totals(decisions)
    ead = totals["ead"]
    return {**totals, "el_share_of_ead": totals["expected_loss"] / ead if ead > 0 else 0.0}


def optimise_with_need(pd_: np.ndarray, frame: pd.DataFrame, policy: Policy, usage: Usage,
                       groups: np.ndarray, realised=None, clusters=None,
                       constant_caps: dict[str, float] | None = None) -> dict:  # fmt: skip
    """Grade caps optimised with the products' constants, against caps per need group (``groups``
    labels each applicant by expected utilisation) optimised with the need models' per account
    utilisation and CCF, under the same risk appetite. Each choice is priced with the need
    models, with the constants, and where the outcomes are known by ``realised(decisions)``:
    per row, what its limit earned and lost (columns ``net_interest``, ``realised_loss``,
    ``realised_profit``); the realised difference gets a 95% interval clustered by ``clusters``
    (each row's account).

    ``profit_change`` is the need-based choice's expected profit less the constants' choice's,
    both priced with the need models (the better estimate of what a limit earns).
    ``constant_caps``: the constants' choice where the caller already has it.
    """
    groups = np.asarray(groups)
    if constant_caps is None:
        constant_caps = optimise_caps(candidate_outcomes(pd_, frame, policy), policy)
    need_caps = optimise_group_caps(candidate_outcomes(pd_, frame, policy, usage, groups), policy)
    as_groups = {g: constant_caps for g in need_caps}
    out: dict = {"risk_appetite": policy.params.optimise.model_dump(),
                 "groups": {g: int((groups == g).sum()) for g in need_caps}}  # fmt: skip
    rows: dict[str, pd.DataFrame] = {}
    for name, caps in (("constants", as_groups), ("need_based", need_caps)):
        with_need = decide_by_group(pd_, frame, policy, caps, groups, usage)
        out[name] = {
            "caps": constant_caps if name == "constants" else caps,
            "priced_with_need": _priced(with_need),
            "priced_with_constants": _priced(decide_by_group(pd_, frame, policy, caps, groups)),
        }
        if realised is not None:
            rows[name] = realised(with_need)
            out[name]["realised"] = realised_totals(rows[name])
    need, constants = out["need_based"], out["constants"]
    out["profit_change"] = (need["priced_with_need"]["expected_profit"]
                            - constants["priced_with_need"]["expected_profit"])  # fmt: skip
    if realised is not None:
        profit = {k: v["realised_profit"].to_numpy() for k, v in rows.items()}
        where = np.arange(len(frame)) if clusters is None else np.asarray(clusters)
        out["realised_profit_change"] = clustered_difference(
            profit["need_based"], profit["constants"], where
        )
    return out
