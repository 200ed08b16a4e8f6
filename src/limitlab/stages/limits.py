"""``limitlab limits``: the policy bound to the data; decisions, band tables, optimised caps;
on behavioural data, the review of every account at the latest test date."""

from __future__ import annotations

import pandas as pd

from limitlab import paths
from limitlab.config import Params
from limitlab.data.columns import BAD, ROW
from limitlab.data.specs import DatasetSpec
from limitlab.errors import InputError
from limitlab.io import write_json, write_parquet
from limitlab.limits.knockouts import knockout_counts
from limitlab.limits.need import NeedModels, realised_rows
from limitlab.limits.optimise import optimise_policy, optimise_with_need
from limitlab.limits.policy import Policy
from limitlab.limits.reasons import reason_catalogue
from limitlab.limits.report import band_table, grade_band_table, portfolio_totals
from limitlab.limits.segments import segment_report
from limitlab.serving.scorer import Scorer
from limitlab.stages.common import in_batches

PARAMS = ("limits", "review", "strategies")
CODE = ("config.py", "data", "errors.py", "features", "io.py", "limits", "models", "paths.py",
        "serving", "stages/common.py", "threads.py")  # fmt: skip


def run(params: Params) -> dict:
    """Write ``policy.json`` (the registered model's policy), decisions and reports."""
    spec = DatasetSpec.from_json(paths.SPEC)
    test = pd.read_parquet(paths.split_path("test"))
    policy, test_not_applied = Policy.build_with_strategies(
        params.limits, params.review, params.strategies, spec, list(test.columns)
    )
    policy.to_json(paths.POLICY)
    scorer = Scorer.from_project()
    decisions = in_batches(scorer.decide, test)
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
        "strategy_test": _test_summary(decisions, policy, test_not_applied),
        "need_based": _need_based(decisions, test, policy, spec, optimised["optimised"]["caps"]),
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


def _need_based(decisions: pd.DataFrame, test: pd.DataFrame, policy: Policy, spec: DatasetSpec,
                constant_caps: dict[str, float]) -> dict:  # fmt: skip
    """Grade caps optimised with the need models' utilisation and CCF against the products'
    constants (``reports/limits/need_based_caps.json``), or why not."""
    models = NeedModels.load(paths.NEED_DIR)
    if models is None:
        return {"applied": False, "why": "no need models (the need stage did not apply)"}
    outcomes = pd.read_parquet(paths.NEED_TEST_OUTCOMES)
    account = spec.account["id"]
    same = len(outcomes) == len(test) and (outcomes[account].values == test[account].values).all()
    if not same:
        raise InputError(
            f"{paths.NEED_TEST_OUTCOMES}: its rows are not the test split's; expected the need "
            "stage run on the same split (dvc repro need)"
        )
    bad = decisions[BAD].to_numpy()

    def realised(priced: pd.DataFrame) -> pd.DataFrame:
        return realised_rows(priced, bad, outcomes, policy)

    usage, accounts = models.predict(test), test[account].to_numpy()
    report = optimise_with_need(
        decisions["pd"].to_numpy(),
        test,
        policy,
        usage,
        models.groups(usage),
        realised,
        accounts,
        constant_caps,
    )
    write_json(paths.LIMITS / "need_based_caps.json", report)
    choices = ("constants", "need_based")
    priced = {k: report[k]["priced_with_need"] for k in choices}
    return {
        "applied": True,
        "groups": report["groups"],
        "caps": {k: report[k]["caps"] for k in choices},
        "expected_profit": {k: priced[k]["expected_profit"] for k in choices},
        "el_share_of_ead": {k: priced[k]["el_share_of_ead"] for k in choices},
        "profit_change": report["profit_change"],
        "realised_profit": {k: report[k]["realised"]["realised_profit"] for k in choices},
        "realised_profit_change": report["realised_profit_change"],
    }


def _test_summary(decisions: pd.DataFrame, policy: Policy, not_applied: str | None) -> dict:
    """The strategy test's cells and their counts, or why there is none."""
    if policy.test is None:
        return {"applied": False, "why": not_applied or "no test declared (strategies.test)"}
    counts = decisions["cell"].value_counts()
    return {
        "applied": True,
        "test": policy.test.name,
        "cells": {c.name: {"strategy": c.strategy, "share": c.share,
                           "rows": int(counts.get(c.name, 0))} for c in policy.test.cells},
    }  # fmt: skip
