"""``limitlab backtest``: replay the review policy on the account panel against static limits
(behavioural data; a note for any other data set)."""

from __future__ import annotations

import pandas as pd

from limitlab import paths
from limitlab.config import Params
from limitlab.data.accounts import PANEL, REVIEW_SNAPSHOTS
from limitlab.data.panel_checks import check_panel, check_review_date
from limitlab.data.specs import SYNTHETIC_DIR, DatasetSpec
from limitlab.io import write_json, write_parquet
from limitlab.limits.backtest import REVIEW, STATIC, BacktestInputs, backtest
from limitlab.limits.decide import decide
from limitlab.serving.scorer import Scorer
from limitlab.stages.common import not_applicable

PARAMS = ("review",)
CODE = ("config.py", "data", "errors.py", "features", "io.py", "limits", "models", "paths.py",
        "serving", "stages/common.py")  # fmt: skip
PANEL_COLUMNS = ("month", "limit", "balance", "defaulted")


def run(params: Params) -> dict:
    """Write the per-period table, the panel's quarantine, the plot data and the totals."""
    spec, scorer = DatasetSpec.from_json(paths.SPEC), Scorer.from_project()
    plot = paths.PLOTS / "backtest.json"
    if not spec.account or scorer.policy.review is None:
        write_json(plot, [])
        why = f"data set {spec.name!r} has no account panel; use data.dataset: behavioural"
        return not_applicable(paths.BACKTEST, "backtest", why)
    roles = spec.account
    panel = pd.read_parquet(SYNTHETIC_DIR / PANEL, columns=[roles["id"], *PANEL_COLUMNS])
    panel, refused, problems = check_panel(panel, roles["id"])
    write_parquet(paths.BACKTEST / "panel_quarantine.parquet", refused)
    snapshots = pd.read_parquet(SYNTHETIC_DIR / REVIEW_SNAPSHOTS)
    snapshots = snapshots[snapshots[roles["id"]].isin(panel[roles["id"]])]
    first_review = int(pd.read_parquet(paths.split_path("test"))["snapshot_month"].min())
    check_review_date(first_review, panel)
    inputs = BacktestInputs(panel, snapshots, first_review, int(panel["month"].max()))

    def decide_at(frame: pd.DataFrame) -> pd.DataFrame:
        return decide(scorer.predict_pd(frame), frame, scorer.policy)[["pd", "limit"]]

    policy = scorer.policy
    product = policy.product(policy.params.product)
    result = backtest(inputs, decide_at, product, params.review, roles, policy.params.economics)
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
    }
    write_json(paths.metrics_path("backtest"), metrics)
    return metrics
