"""Explain limit decisions: per-applicant reasons and contributions, global drivers."""

from __future__ import annotations

import pandas as pd

from limitlab.errors import InputError
from limitlab.features.transformers import raw_inputs
from limitlab.models.contributions import raw_feature_contributions
from limitlab.serving.scorer import Scorer

DECISION_COLUMNS = ("pd", "grade", "decision", "limit", "product", "binding_cap",
                    "reason_1", "reason_2", "reason_3", "reason_4")  # fmt: skip


def decisions_with_reasons(scorer: Scorer, applicants: pd.DataFrame) -> pd.DataFrame:
    """PD, grade, limit, binding cap and the four reasons of each applicant."""
    return scorer.decide(applicants)[list(DECISION_COLUMNS)]


def contributions(scorer: Scorer, applicants: pd.DataFrame) -> pd.DataFrame:
    """Each raw feature's contribution to each applicant's log-odds of default (uncalibrated)."""
    matrix = scorer.pipeline[:-1].transform(raw_inputs(applicants.reset_index(drop=True),
                                                        scorer.spec))  # fmt: skip
    found = raw_feature_contributions(scorer.pipeline[-1], matrix)
    if found is None:
        raise InputError(
            f"{type(scorer.pipeline[-1]).__name__} gives no per-feature contributions; expected "
            "an XGBoost, scorecard or logistic champion"
        )
    return found


def global_drivers(scorer: Scorer, applicants: pd.DataFrame) -> pd.Series:
    """Mean absolute contribution of each raw feature over the applicants, largest first."""
    return contributions(scorer, applicants).abs().mean().sort_values(ascending=False)


def waterfall(scorer: Scorer, applicant: pd.DataFrame, top: int = 8) -> pd.DataFrame:
    """One applicant's largest contributions (others summed), with the running log-odds total."""
    row = contributions(scorer, applicant.head(1)).iloc[0]
    ordered = row.reindex(row.abs().sort_values(ascending=False).index)
    head = ordered.head(top)
    rest = ordered.iloc[top:].sum()
    if len(ordered) > top:
        head = pd.concat([head, pd.Series({"other features": rest})])
    table = head.rename("contribution").rename_axis("feature").reset_index()
    return table.assign(cumulative=table["contribution"].cumsum())
