"""``limitlab need``: expected utilisation and CCF at default, learnt from the account panel
(behavioural data; a note for any other data set, or with ``need.fit: false``)."""

from __future__ import annotations

import shutil

import pandas as pd

from limitlab import paths
from limitlab.config import NeedParams, Params
from limitlab.data.accounts import BALANCE_COLUMNS, HORIZON, PANEL
from limitlab.data.panel_checks import check_panel
from limitlab.data.specs import SYNTHETIC_DIR, DatasetSpec
from limitlab.io import write_json, write_parquet
from limitlab.limits.need import CCF, TARGETS, UTILISATION, NeedModels, fit_report, need_targets
from limitlab.stages.common import not_applicable

PARAMS = ("need",)
CODE = ("config.py", "data", "errors.py", "io.py", "limits", "paths.py", "stages/common.py")
SNAPSHOT_MONTH = "snapshot_month"


def run(params: Params) -> dict:
    """Write the models, the test rows' outcomes and predictions, and the fit on test."""
    spec = DatasetSpec.from_json(paths.SPEC)
    section: NeedParams = params.need
    panel_dir = SYNTHETIC_DIR / PANEL
    shutil.rmtree(paths.NEED_DIR, ignore_errors=True)  # no earlier run's models outlive this one
    write_parquet(paths.NEED_TEST_OUTCOMES, pd.DataFrame())
    if not section.fit:
        return not_applicable(paths.NEED_DIR, "need", "need.fit is false")
    if not spec.account or not panel_dir.exists():
        why = f"data set {spec.name!r} has no account panel; use data.dataset: behavioural"
        return not_applicable(paths.NEED_DIR, "need", why)
    account = spec.account["id"]
    panel, refused, problems = check_panel(
        pd.read_parquet(panel_dir, columns=[account, *BALANCE_COLUMNS]), account
    )
    write_parquet(paths.NEED_REPORT / "panel_quarantine.parquet", refused)
    train, test = (pd.read_parquet(paths.split_path(n)) for n in ("train", "test"))
    features = [c for c in spec.numeric if c in train.columns]

    def outcomes(frame: pd.DataFrame) -> pd.DataFrame:
        return need_targets(frame, panel, account, HORIZON, section.min_undrawn_share)

    train_outcomes, test_outcomes = outcomes(train), outcomes(test)
    models = NeedModels.fit(train, train_outcomes, features, section)
    models.save(paths.NEED_DIR)
    usage = models.predict(test)
    written = test[[account, SNAPSHOT_MONTH]].join(test_outcomes[list(TARGETS)])
    written["predicted_utilisation"], written["predicted_ccf"] = usage.utilisation, usage.ccf
    write_parquet(paths.NEED_TEST_OUTCOMES, written)
    predicted = {UTILISATION: usage.utilisation, CCF: usage.ccf}
    metrics = {
        "applicable": True,
        "features": features,
        "panel_rows_quarantined": len(refused),
        "panel_problems": problems,
        "train_rows": {k: int(train_outcomes[k].notna().sum()) for k in predicted},
        # on test: each model against the train mean as a constant
        **{
            k: fit_report(p, test_outcomes[k].to_numpy(), float(train_outcomes[k].mean()))
            for k, p in predicted.items()
        },
    }
    write_json(paths.metrics_path("need"), metrics)
    return metrics
