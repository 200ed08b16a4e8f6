"""``limitlab monitor``: PSI train -> test, realised against expected default rate per grade,
the stress view; on behavioural data, grade and band migration, and from the account panel the
vintage curves, roll rates and the downturn month."""

from __future__ import annotations

import numpy as np
import pandas as pd

from limitlab import paths
from limitlab.config import Params
from limitlab.data.accounts import PANEL, REVIEW_SNAPSHOTS
from limitlab.data.columns import BAD
from limitlab.data.panel_checks import check_panel
from limitlab.data.specs import SYNTHETIC_DIR, DatasetSpec
from limitlab.evaluation.migration import migrations
from limitlab.evaluation.monitoring import psi_table, realised_vs_expected
from limitlab.evaluation.stress import stress_changes, stress_test
from limitlab.evaluation.vintages import (
    default_rate_by_month,
    downturn_month,
    roll_rates,
    vintage_curves,
)
from limitlab.io import read_columns, write_json, write_parquet
from limitlab.limits.decide import DECLINE, decide, grade_of
from limitlab.serving.scorer import Scorer
from limitlab.stages.common import in_batches

PARAMS = ("monitor",)
VINTAGE_PLOT = paths.PLOTS / "vintages.json"  # cumulative default by month on book, per cohort
MONTHLY_DEFAULT_PLOT = paths.PLOTS / "default_rate_by_month.json"  # shows the downturn
CODE = ("config.py", "data", "errors.py", "evaluation", "features", "io.py", "limits", "models",
        "paths.py", "serving", "stages/common.py", "threads.py")  # fmt: skip


def _scored(pd_: np.ndarray, frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """The score and the columns, without copying them."""
    arrays = {"score": np.asarray(pd_), **{c: frame[c].to_numpy() for c in columns}}
    return pd.DataFrame(arrays, copy=False)


def run(params: Params) -> dict:
    """Write the PSI table, realised against expected, the stress view and the metrics."""
    spec, scorer = DatasetSpec.from_json(paths.SPEC), Scorer.from_project()
    p, policy = params.monitor, scorer.policy
    numeric = list(spec.numeric_features)
    train = read_columns(paths.split_path("train"), numeric)
    test = pd.read_parquet(paths.split_path("test"))
    pd_train = in_batches(scorer.predict_pd, "train")
    pd_test = in_batches(scorer.predict_pd, test)
    psi = psi_table(_scored(pd_train, train, numeric), _scored(pd_test, test, numeric),
                    ["score", *numeric], p.psi_bins)  # fmt: skip
    order = [*(g.name for g in policy.params.grades), DECLINE]
    rve = realised_vs_expected(grade_of(pd_test, policy), pd_test, test[BAD].to_numpy(), order)
    stress = stress_test(pd_test, test, policy, p.stress_pd_factor, p.stress_income_drop)
    write_json(paths.MONITOR / "psi.json", psi.to_dict("records"))
    write_json(paths.MONITOR / "realised_vs_expected.json", rve.to_dict("records"))
    write_json(paths.MONITOR / "stress.json", stress)
    metrics = {
        "window": {"reference": "train", "recent": "test"},
        "psi_score": float(psi.loc[psi["column"] == "score", "psi"].iloc[0]),
        "psi_max_feature": psi[psi["column"] != "score"].iloc[0][["column", "psi"]].to_dict(),
        "features_shifted": int((psi["status"] == "shift").sum()),
        "grades_failing_binomial": rve.loc[rve["p_value"] < p.significance, "grade"].tolist(),
        **stress_changes(stress),
    }
    for plot in (VINTAGE_PLOT, MONTHLY_DEFAULT_PLOT):  # written again where there is a panel
        write_json(plot, [])
    if spec.account:
        metrics["migration"] = _migration(spec, scorer, test, order)
        metrics["panel"] = _panel_report(spec.account["id"], p.vintage_cohort_months)
    write_json(paths.metrics_path("monitor"), metrics)
    return metrics


def _panel_report(account: str, cohort_months: int) -> dict:
    """Vintage curves and roll rates of the checked panel (refused rows counted, kept aside)."""
    columns = [account, "month", "months_on_book", "dpd", "defaulted"]
    panel, refused, problems = check_panel(pd.read_parquet(SYNTHETIC_DIR / PANEL,
                                                           columns=columns), account)  # fmt: skip
    curves = vintage_curves(panel, cohort_months, account)
    rates = roll_rates(panel, account)
    write_json(paths.MONITOR / "vintages.json", curves.to_dict("records"))
    write_json(paths.MONITOR / "roll_rates.json", rates.reset_index().to_dict("records"))
    write_json(VINTAGE_PLOT, curves[["cohort", "months_on_book", "cumulative_default_rate"]]
               .to_dict("records"))  # fmt: skip
    write_json(MONTHLY_DEFAULT_PLOT, default_rate_by_month(panel).to_dict("records"))
    write_parquet(paths.MONITOR / "panel_quarantine.parquet", refused)
    return {
        "rows": len(panel),
        "rows_refused": len(refused),
        "problems": problems,
        "downturn_month": downturn_month(panel),
        "roll_current_to_30": float(rates.loc["current", "30"]),
        "roll_90_to_default": float(rates.loc["90+", "default"]) if "90+" in rates.index else None,
    }


def _migration(spec: DatasetSpec, scorer: Scorer, test: pd.DataFrame, order: list[str]) -> dict:
    """Grade and band migration between the first review date and the panel's end."""
    snapshots = pd.read_parquet(SYNTHETIC_DIR / REVIEW_SNAPSHOTS)
    months = (int(test["snapshot_month"].min()), int(snapshots["snapshot_month"].max()))

    def decide_at(frame: pd.DataFrame) -> pd.DataFrame:
        return decide(scorer.predict_pd(frame), frame, scorer.policy)

    ladder = scorer.policy.product(scorer.policy.params.product).ladder
    summary, grades, bands = migrations(snapshots, months, decide_at, spec.account["id"], order,
                                        ladder)  # fmt: skip
    for name, matrix in (("grade", grades), ("band", bands)):
        records = matrix.reset_index(names="from").to_dict("records")
        write_json(paths.MONITOR / f"migration_{name}.json", records)
    return summary
