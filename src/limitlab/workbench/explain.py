"""Explain limit decisions: per-applicant reasons and contributions, global drivers."""

from __future__ import annotations

import numpy as np
import pandas as pd

from limitlab.errors import InputError
from limitlab.features.transformers import raw_inputs
from limitlab.models.contributions import raw_feature_contributions
from limitlab.serving.scorer import Scorer

DECISION_COLUMNS = ("pd", "grade", "decision", "limit", "product", "binding_cap", "knockouts",
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
            "an XGBoost, additive, scorecard, logistic, spline, random forest or ensemble champion"
        )
    return found


def global_drivers(scorer: Scorer, applicants: pd.DataFrame) -> pd.Series:
    """Mean absolute contribution of each raw feature over the applicants, largest first."""
    return contributions(scorer, applicants).abs().mean().sort_values(ascending=False)


def waterfall(scorer: Scorer, applicant: pd.DataFrame, top: int = 8) -> pd.DataFrame:
    """One applicant's path from the model's base value to its PD.

    Rows: ``base`` (the log-odds before any feature), the ``top`` largest feature
    contributions labelled with the applicant's value (the rest summed), and ``final`` (the
    calibrated PD the policy uses). ``cumulative`` is the running log-odds of the uncalibrated
    model; ``pd_after`` the PD there.
    """
    row = applicant.head(1).reset_index(drop=True)
    found = contributions(scorer, row).iloc[0]
    values = applicant_values(scorer, row)
    raw_pd = float(scorer.model.raw_pd(raw_inputs(row, scorer.spec))[0])
    margin = float(np.log(raw_pd / (1 - raw_pd)))
    base = margin - float(found.sum())
    ordered = found.reindex(found.abs().sort_values(ascending=False).index)
    head = ordered.head(top)
    labels = [f"{name} = {_shown(values.get(name))}" for name in head.index]
    pushes = head.tolist()
    if len(ordered) > top:
        labels.append(f"{len(ordered) - top} other features")
        pushes.append(float(ordered.iloc[top:].sum()))
    table = pd.DataFrame({"label": ["base value", *labels],
                          "kind": ["base", *["feature"] * len(pushes)],
                          "contribution": [base, *pushes]})  # fmt: skip
    table["cumulative"] = table["contribution"].cumsum()
    final = float(scorer.predict_pd(row)[0])
    table.loc[len(table)] = [f"final PD (calibrated) {final:.1%}", "final", 0.0, margin]
    table["pd_after"] = np.where(
        table["kind"] == "final", final, 1 / (1 + np.exp(-table["cumulative"]))
    )
    return table


def applicant_values(scorer: Scorer, row: pd.DataFrame) -> dict[str, object]:
    """The applicant's raw values, and the derived ratios the feature pipeline computes."""
    raw = raw_inputs(row, scorer.spec)
    features = scorer.pipeline[0]
    steps = dict(getattr(features, "named_steps", {}))
    derived = steps["ratios"].transform(raw) if "ratios" in steps else raw
    return {str(k): v for k, v in derived.iloc[0].items()}


def _shown(value: object) -> str:
    if isinstance(value, float | int | np.floating | np.integer) and not pd.isna(value):
        return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"
    return "missing" if pd.isna(value) else str(value)
