"""Up to four principal reasons per decision, in plain words from the params' catalogue.

The first reason is what set or refused the limit (the binding cap, or the decline rule); the
others are the features that raised the PD most (positive contributions, largest first). A
knock-out decline gives the reasons of the rules that fired, and no model drivers: the model
did not decide it. Reasons are owed for adverse action (declines and counter-offers, see
:mod:`limitlab.limits.notices`); other rows carry none (null), and their drivers are not computed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from limitlab.data.lookup import factorized, text_column
from limitlab.limits.decide import BINDING, DecisionCodes
from limitlab.limits.knockouts import knockout_reason
from limitlab.limits.policy import Policy
from limitlab.threads import run_each

N_REASONS = 4
DRIVER_BLOCK = 32_768  # rows ranked at a time: a block's dozen columns fit the cache
REASON_COLUMNS = [f"reason_{i}" for i in range(1, N_REASONS + 1)]


def cap_reason(code: str, policy: Policy) -> str:
    return policy.params.reasons.caps.get(code, code.replace("_", " "))


def feature_reason(feature: str, policy: Policy) -> str:
    catalogue = policy.params.reasons
    return catalogue.features.get(feature, catalogue.default_feature.format(feature=feature))


def driver_order(values: np.ndarray, threads: bool = True) -> np.ndarray:
    """Per row, the columns of the largest positive contributions, largest first (ties by
    column order), -1 where fewer are positive: the model drivers a reason list has room for.

    Column-wise reductions (a row's maximum, then the first column holding it) over a
    column-major copy, in blocks of rows that stay in the processor's cache, on the machine's
    cores: ``argmax`` along rows of a dozen columns costs ten times as much."""
    values = np.asfortranarray(values, dtype=np.float64)
    top = np.full((len(values), min(N_REASONS - 1, values.shape[1])), -1, dtype=np.intp)
    blocks = [slice(a, a + DRIVER_BLOCK) for a in range(0, len(values), DRIVER_BLOCK)]
    rows = len(values) if threads else 0  # on the machine's cores, or in this thread
    run_each(lambda i: _drivers(values[blocks[i]], top[blocks[i]]), len(blocks), rows)
    return top


def _drivers(values: np.ndarray, top: np.ndarray) -> None:
    """:func:`driver_order` of a block of rows, written into ``top`` (-1 to begin with)."""
    k = values.shape[1]
    left = np.fmax(values, 0.0)  # a copy; NaN and non-positive: never a driver
    weight = np.arange(k, 0, -1, dtype=np.int16)  # the first of equal columns weighs most
    for rank in range(top.shape[1]):
        largest = left.max(axis=1)
        rows = np.flatnonzero(largest > 0)
        first = k - (np.equal(left, largest[:, None]) * weight).max(axis=1)
        top[rows, rank] = first[rows]
        left[rows, first[rows]] = 0.0  # taken


def principal_reasons(
    decisions: pd.DataFrame,
    contributions: pd.DataFrame | None,
    policy: Policy,
    needed: np.ndarray | None = None,
    decision_codes: DecisionCodes | None = None,
    drivers: np.ndarray | None = None,
) -> pd.DataFrame:
    """``reason_1`` .. ``reason_4`` for each decision ('' where fewer reasons apply; null on the
    rows not ``needed``). ``contributions`` may cover only some rows (by index): the drivers of
    the others are left out. ``decision_codes`` (the decisions' own) spare reading the text;
    ``drivers``, :func:`driver_order` of ``contributions``, spare ranking them again."""
    texts = TextCodes()
    n = len(decisions)
    codes = np.zeros((n, N_REASONS), dtype=np.intp, order="F")  # each reason a code of ``texts``
    if decision_codes is None:
        binding, levels = factorized(decisions["binding_cap"].to_numpy(dtype=object))
        knocked = decisions["knockouts"].to_numpy(dtype=object) != ""
    else:
        binding, levels, knocked = decision_codes.binding, BINDING, decision_codes.knocked
    codes[:, 0] = np.array([texts.code(cap_reason(c, policy)) for c in levels] + [0])[binding]
    if contributions is not None and contributions.shape[1] and len(contributions):
        values = contributions.to_numpy(float)
        names = np.array([texts.code(feature_reason(c, policy)) for c in contributions.columns])
        top = driver_order(values) if drivers is None else drivers
        drivers = np.append(names, 0)[top]  # -1 (no driver) reads code 0: ''
        same = contributions.index.equals(decisions.index)
        rows = slice(None) if same else decisions.index.get_indexer(contributions.index)
        codes[rows, 1 : 1 + top.shape[1]] = drivers  # a model of under three features: fewer
    below = np.flatnonzero(decisions["below_minimum"].to_numpy(dtype=bool))
    codes[below, 1:] = codes[below, :-1]  # the binding cap second, then the drivers
    codes[below, 0] = texts.code(cap_reason("below_minimum", policy))
    knocked = np.flatnonzero(knocked)  # the few rows a rule declined
    fired, rules = factorized(decisions["knockouts"].to_numpy(dtype=object)[knocked])
    for code, names_fired in enumerate(rules):  # each distinct set of rules once
        texts_fired = [knockout_reason(n, policy) for n in names_fired.split(",")]
        codes_fired = [*map(texts.code, texts_fired[:N_REASONS]), *[0] * N_REASONS]
        codes[knocked[fired == code]] = codes_fired[:N_REASONS]
    if needed is not None:
        codes[~np.asarray(needed, dtype=bool)] = texts.code(None)
    table = texts.table()
    return pd.DataFrame(  # text once, at the end
        {name: text_column(np.take(table, codes[:, i]), decisions.index)
         for i, name in enumerate(REASON_COLUMNS)}, index=decisions.index, copy=False)  # fmt: skip


class TextCodes:
    """Texts numbered as they are first met ('' is code 0)."""

    def __init__(self) -> None:
        self._codes: dict[str | None, int] = {"": 0}

    def code(self, text: str | None) -> int:
        return self._codes.setdefault(text, len(self._codes))

    def table(self) -> np.ndarray:
        return np.array(list(self._codes), dtype=object)


CAP_CODES = ("pd_above_cutoff", "income_missing", "income_missing_decline", "affordability",
             "regulatory", "product_max", "grade", "below_minimum")  # fmt: skip


def reason_catalogue(policy: Policy, features: list[str]) -> list[dict[str, str]]:
    """Every reason a decision of this policy can give: code, kind and plain words.

    Codes: ``cap.<binding cap>``, ``knockout.<rule>``, ``feature.<raw feature>``; the texts are
    those of the ``reason_*`` columns, so a letter system can map them back to codes.
    """
    caps = [{"code": f"cap.{c}", "kind": "cap", "text": cap_reason(c, policy)} for c in CAP_CODES]
    rules = [{"code": f"knockout.{r.name}", "kind": "knockout", "text": r.reason}
             for r in policy.params.knockouts]  # fmt: skip
    drivers = [{"code": f"feature.{f}", "kind": "feature", "text": feature_reason(f, policy)}
               for f in dict.fromkeys(features)]  # fmt: skip
    return [*caps, *rules, *drivers]
