"""``limitlab backtest``: replay the review policy on the account panel against static limits
(behavioural data; a note for any other data set)."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import pyarrow.dataset as pa_dataset

from limitlab import paths
from limitlab.config import Params, ReviewParams, UsageParams
from limitlab.data.accounts import BALANCE_COLUMNS, PANEL, REVIEW_SNAPSHOTS
from limitlab.data.panel_checks import check_panel, check_review_date
from limitlab.data.specs import SYNTHETIC_DIR, DatasetSpec
from limitlab.errors import InputError
from limitlab.io import write_json, write_parquet
from limitlab.limits.backtest import (
    REVIEW,
    STATIC,
    BacktestInputs,
    CellStrategy,
    UsageSimulation,
    backtest,
    backtest_cells,
)
from limitlab.limits.decide import decide
from limitlab.limits.policy import Policy
from limitlab.serving.scorer import Scorer
from limitlab.stages.common import not_applicable

PARAMS = ("review", "usage")
CODE = ("config.py", "data", "errors.py", "features", "io.py", "limits", "models", "paths.py",
        "serving", "stages/common.py", "threads.py")  # fmt: skip


def run(params: Params) -> dict:
    """Write the per-period table, the panel's quarantine, the plot data and the totals."""
    spec, scorer = DatasetSpec.from_json(paths.SPEC), Scorer.from_project()
    plot = paths.PLOTS / "backtest.json"
    if not spec.account or scorer.policy.review is None:
        write_json(plot, [])
        why = f"data set {spec.name!r} has no account panel; use data.dataset: behavioural"
        return not_applicable(paths.BACKTEST, "backtest", why)
    roles = spec.account
    usage = _usage(params.usage, pa_dataset.dataset(SYNTHETIC_DIR / PANEL).schema.names)
    spending = [*usage.categories, "payment"] if usage else []
    columns = [roles["id"], *BALANCE_COLUMNS, *spending]
    panel = pd.read_parquet(SYNTHETIC_DIR / PANEL, columns=columns)
    panel, refused, problems = check_panel(panel, roles["id"])
    write_parquet(paths.BACKTEST / "panel_quarantine.parquet", refused)
    snapshots = pd.read_parquet(SYNTHETIC_DIR / REVIEW_SNAPSHOTS)
    snapshots = snapshots[snapshots[roles["id"]].isin(panel[roles["id"]])]
    first_review = int(pd.read_parquet(paths.split_path("test"))["snapshot_month"].min())
    check_review_date(first_review, panel)
    inputs = BacktestInputs(panel, snapshots, first_review, int(panel["month"].max()))

    def decide_under(policy: Policy):
        def decide_at(frame: pd.DataFrame) -> pd.DataFrame:
            return decide(scorer.predict_pd(frame), frame, policy)[["pd", "limit"]]

        return decide_at

    policy = scorer.policy
    product = policy.product(policy.params.product)
    result = backtest(inputs, decide_under(policy), product, params.review, roles,
                      policy.params.economics)  # fmt: skip
    periods = result["periods"]
    write_json(paths.BACKTEST / "periods.json", periods.to_dict("records"))
    wide = periods.pivot(index="review_month", columns="policy",
                         values=["exposure", "expected_loss", "realised_loss"])  # fmt: skip
    wide.columns = [f"{policy}_{value}" for value, policy in wide.columns]
    write_json(plot, wide.reset_index().to_dict("records"))
    static, reviewed = result["totals"][STATIC], result["totals"][REVIEW]
    metrics = {
        "applicable": True,
        "panel_rows_quarantined": len(refused),
        "panel_problems": problems,
        "review_dates": result["review_dates"],
        "static": static,
        "review": reviewed,
        "expected_loss_change": reviewed["expected_loss"] / static["expected_loss"] - 1,
        "expected_profit_change": reviewed["expected_profit"] - static["expected_profit"],
        "strategy_test": _strategy_test(policy, replace(inputs, usage=usage), roles, decide_under),
        "usage_caps": _usage_caps(
            result, usage, inputs, decide_under(policy), product, params.review, roles, policy
        ),
    }
    write_json(paths.metrics_path("backtest"), metrics)
    return metrics


def _strategy_test(policy: Policy, inputs: BacktestInputs, roles: dict[str, str],
                   decide_under) -> dict:  # fmt: skip
    """Every cell of the policy's strategy test replayed on its own accounts."""
    test = policy.test
    if test is None:
        return {"applied": False, "why": "no strategy test in the policy (strategies.test)"}
    ids = inputs.panel[roles["id"]].drop_duplicates()
    cell_of = pd.Series(test.assign(pd.DataFrame({test.id_column: ids})), index=ids.to_numpy())
    strategies = {}
    for cell in test.cells:
        variant = policy.for_strategy(cell.strategy)
        product = variant.product(variant.params.product)
        strategies[cell.name] = CellStrategy(decide_under(variant), product, variant.review)
    cells = backtest_cells(inputs, cell_of, strategies, test.control.name, roles,
                           policy.params.economics)  # fmt: skip
    return {"applied": True, "test": test.name, "control": test.control.name,
            "strategies": {c.name: c.strategy for c in test.cells}, "cells": cells}  # fmt: skip


def _usage(section: UsageParams, columns: list[str]) -> UsageSimulation | None:
    """The usage-cap simulation (None when off); a spending column the panel lacks is refused,
    naming the key."""
    if not section.simulate:
        return None
    for column in section.categories:
        if column not in columns:
            spend = sorted(c for c in columns if c.startswith("spend_"))
            raise InputError(f"usage.categories.{column}: no such column in the account panel; "
                             f"expected one of {spend}")  # fmt: skip
    return UsageSimulation(dict(section.categories), section.days_per_month,
                           section.day_concentration, section.seed)  # fmt: skip


def _usage_caps(without: dict, usage: UsageSimulation | None, inputs: BacktestInputs,
                decide_at, product, rules: ReviewParams, roles: dict[str, str],
                policy: Policy) -> dict:  # fmt: skip
    """The review backtest again with spending meeting the usage caps: the share declined by
    each cap, and balances and losses with the caps against without them."""
    if usage is None:
        return {"applied": False, "why": "usage.simulate is false"}
    capped = backtest(replace(inputs, usage=usage), decide_at, product, rules, roles,
                      policy.params.economics)  # fmt: skip
    out = {"applied": True, **capped["usage"]}
    for name in (STATIC, REVIEW):
        was, now = without["totals"][name], capped["totals"][name]
        out[name]["with_caps"] = {
            k: now[k] for k in ("mean_balance", "expected_loss", "realised_loss", "expected_profit")
        }
        out[name]["change"] = {k: now[k] - was[k] for k in out[name]["with_caps"]}
    return out
