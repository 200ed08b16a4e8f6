"""``limitlab limits``: the policy bound to the data; decisions, band tables, optimised caps;
on behavioural data, the review of every account at the latest test date."""

from __future__ import annotations

import pandas as pd

from limitlab import paths
from limitlab.config import Params
from limitlab.data.columns import BAD, ROW
from limitlab.data.specs import DatasetSpec
from limitlab.io import write_json, write_parquet
from limitlab.limits.knockouts import knockout_counts
from limitlab.limits.optimise import optimise_policy
from limitlab.limits.policy import Policy
from limitlab.limits.reasons import reason_catalogue
from limitlab.limits.report import band_table, grade_band_table, portfolio_totals
from limitlab.limits.segments import segment_report
from limitlab.serving.scorer import Scorer

PARAMS = ("limits", "review")
CODE = ("config.py", "data", "errors.py", "features", "io.py", "limits", "models", "paths.py",
        "serving")  # fmt: skip


def run(params: Params) -> dict:
    """Write ``policy.json`` (the registered model's policy), decisions and reports."""
    spec = DatasetSpec.from_json(paths.SPEC)
    test = pd.read_parquet(paths.split_path("test"))
    policy = Policy.build(params.limits, spec, list(test.columns), review=params.review)
    policy.to_json(paths.POLICY)
    scorer = Scorer.from_project()
    decisions = scorer.decide(test)
    bad = test[BAD].to_numpy()
    decisions.insert(0, spec.id or ROW, test[spec.id or ROW].to_numpy())
    decisions[BAD] = bad
    write_parquet(paths.DECISIONS, decisions)
    write_json(
        paths.PLOTS / "band_table.json", band_table(decisions, policy, bad).to_dict("records")
    )
    write_json(
        paths.LIMITS / "grade_band_table.json", grade_band_table(decisions, bad).to_dict("records")
    )
    write_json(paths.LIMITS / "segments.json", segment_report(decisions, policy, bad))
    write_json(paths.REASON_CATALOGUE, reason_catalogue(policy, scorer.reason_features))
    optimised = optimise_policy(decisions["pd"].to_numpy(), test, policy)
    write_json(paths.LIMITS / "optimised_caps.json", optimised)
    metrics = {
        "population": "test",
        "product": params.limits.product,
        "regulation": params.limits.regulation,
        **portfolio_totals(decisions),
        "bad_rate_approved": float(decisions.loc[decisions["limit"] > 0, BAD].mean()),
        "binding_cap": decisions["binding_cap"].value_counts().sort_index().to_dict(),
        # reasons are owed (and given) for declines and counter-offers only
        "adverse_action": decisions["adverse_action"].value_counts().sort_index().to_dict(),
        "optimised": optimised["optimised"]["totals"],
        "segments_not_applied": list(policy.skipped_segments),
        "knockouts": knockout_counts(decisions, policy),
        "knockouts_not_applied": list(policy.skipped_knockouts),
    }
    if policy.review is not None:
        metrics["review"] = _review_latest(scorer, spec, test)
    write_json(paths.metrics_path("limits"), metrics)
    return metrics


def _review_latest(scorer: Scorer, spec: DatasetSpec, test: pd.DataFrame) -> dict:
    """The limit review of every account at the latest snapshot date of the test split."""
    latest = test[test[spec.date] == test[spec.date].max()].reset_index(drop=True)
    reviewed = scorer.review(latest)
    reviewed.insert(0, spec.account["id"], latest[spec.account["id"]].to_numpy())
    write_parquet(paths.REVIEW_DECISIONS, reviewed)
    return {
        "date": str(pd.Timestamp(latest[spec.date].iloc[0]).date()),
        "accounts": len(reviewed),
        "actions": reviewed["action"].value_counts().sort_index().to_dict(),
        "limit_before": float(reviewed["current_limit"].sum()),
        "limit_after": float(reviewed["new_limit"].sum()),
    }
