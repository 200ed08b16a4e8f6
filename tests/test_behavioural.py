"""The behavioural switch end to end: `dvc repro` with data.dataset: behavioural trains an
out-of-time behavioural PD, reviews limits, backtests against static limits, writes the
monitoring report, and logs and registers all of it in MLflow (real DVC, MLflow, Optuna)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from .conftest import edit_params, execute_notebook, make_project, run

pytestmark = pytest.mark.pipeline


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    root = make_project(tmp_path_factory.mktemp("behavioural") / "project")
    edit_params(root, data={"dataset": "behavioural",
                            "accounts": {"accounts": 3000, "months": 30, "seed": 4}})  # fmt: skip
    done = run(["dvc", "repro"], root)
    return root, done.stdout


def metrics(root: Path, stage: str) -> dict:
    return json.loads((root / f"reports/metrics/{stage}.json").read_text())


def test_repro_trains_reviews_backtests_and_monitors(built: tuple[Path, str]) -> None:
    root, out = built
    ran = set(re.findall(r"Running stage '(\w+)'", out))
    assert {"generate", "train", "limits", "backtest", "monitor", "register"} <= ran
    split = metrics(root, "split")
    assert split["by"] == "date"  # out-of-time by snapshot month
    test = pd.read_parquet(root / "data/interim/splits/test.parquet")
    train = pd.read_parquet(root / "data/interim/splits/train.parquet")
    assert train["snapshot_month"].max() < test["snapshot_month"].min()
    assert metrics(root, "evaluate")["auc"] > 0.65

    review = metrics(root, "limits")["review"]
    latest = test[test["snapshot_month"] == test["snapshot_month"].max()]
    assert review["accounts"] == latest["account_id"].nunique() > 0
    assert sum(review["actions"].values()) == review["accounts"]
    decisions = pd.read_parquet(root / "reports/limits/review.parquet")
    assert (decisions["new_limit"] >= decisions["balance"] - 1e-9).all()
    changed = decisions[decisions["action"] != "keep"]
    assert len(changed) and (changed["review_reason_1"] != "").all()

    backtest = metrics(root, "backtest")
    assert backtest["applicable"] and backtest["panel_rows_quarantined"] == 0
    static, reviewed = backtest["static"], backtest["review"]
    assert reviewed["mean_exposure"] < static["mean_exposure"]
    assert reviewed["expected_loss"] < static["expected_loss"]
    assert 0 < reviewed["share_defaulters_cut_before_default"] <= 1
    plot = json.loads((root / "reports/plots/backtest.json").read_text())
    assert [r["review_month"] for r in plot] == backtest["review_dates"]

    monitor = metrics(root, "monitor")
    psi = json.loads((root / "reports/monitor/psi.json").read_text())
    assert monitor["psi_score"] == next(r["psi"] for r in psi if r["column"] == "score")
    assert 0 < monitor["psi_score"] < 0.1  # out of time, but the score's population is stable
    assert monitor["migration"]["accounts_at_both"] > 0
    for name in ("psi", "realised_vs_expected", "stress", "migration_grade", "migration_band"):
        assert (root / f"reports/monitor/{name}.json").is_file()


def test_mlflow_run_holds_the_review_backtest_and_monitoring(built: tuple[Path, str]) -> None:
    root, _ = built
    registered = json.loads((root / "reports/register.json").read_text())
    client = MlflowClient(tracking_uri=f"sqlite:///{root}/mlflow.db")
    found = client.get_run(registered["run_id"])
    assert found.data.tags["dataset.name"] == "behavioural"
    for key in ("backtest.review.expected_loss", "backtest.static.expected_loss",
                "backtest.review.share_defaulters_cut_before_default", "monitor.psi_score",
                "limits.review.accounts"):  # fmt: skip
        assert key in found.data.metrics, key
    artifacts = {a.path for a in client.list_artifacts(registered["run_id"], "backtest")}
    assert "backtest/periods.json" in artifacts
    artifacts = {a.path for a in client.list_artifacts(registered["run_id"], "monitor")}
    assert "monitor/psi.json" in artifacts and "monitor/migration_grade.json" in artifacts


def test_registered_behavioural_model_reviews_an_account_snapshot(
    built: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root, _ = built
    monkeypatch.chdir(root)
    mlflow.set_tracking_uri(f"sqlite:///{root}/mlflow.db")
    registered = json.loads((root / "reports/register.json").read_text())
    model = mlflow.pyfunc.load_model(registered["registered_uri"])
    columns = model.metadata.get_input_schema().input_names()
    test = pd.read_parquet(root / "data/interim/splits/test.parquet")
    snapshot = test[columns].head(20).astype({c: "float64" for c in columns
                                               if c not in ("employment", "housing")})  # fmt: skip
    answer = model.predict(snapshot)
    assert {"action", "new_limit", "review_reason_1", "pd", "grade"} <= set(answer.columns)
    assert set(answer["action"]) <= {"increase", "keep", "decrease", "freeze"}
    assert (answer["new_limit"] >= snapshot["balance"].to_numpy() - 1e-9).all()
    bad = snapshot.head(2).copy()
    bad.loc[1, "balance"] = bad.loc[1, "limit"] + 100
    with pytest.raises(MlflowException, match=r"row 1: balance: .* is above limit"):
        model.predict(bad)


def test_need_models_learn_usage_and_price_the_need_based_caps(built: tuple[Path, str]) -> None:
    root, _ = built
    need = metrics(root, "need")
    assert need["applicable"] and need["panel_rows_quarantined"] == 0
    for outcome in ("utilisation_next_12m", "ccf_at_default"):
        fit = need[outcome]
        assert fit["rows"] > 0 and fit["model"]["mae"] < fit["constant"]["mae"]
    test = pd.read_parquet(root / "data/interim/splits/test.parquet")
    outcomes = pd.read_parquet(root / "reports/need/test_outcomes.parquet")
    assert outcomes["account_id"].tolist() == test["account_id"].tolist()
    assert outcomes["predicted_utilisation"].between(0, 1).all()
    based = metrics(root, "limits")["need_based"]
    assert based["applied"] and sum(based["groups"].values()) == len(test)
    report = json.loads((root / "reports/limits/need_based_caps.json").read_text())
    budget = report["risk_appetite"]["el_budget_share"]
    for choice in ("constants", "need_based"):
        priced = report[choice]["priced_with_need"]
        assert priced["applicants"] == len(test)
        assert based["expected_profit"][choice] == priced["expected_profit"]
    # optimal under the need models' pricing among caps that include the constants' choice
    if report["constants"]["priced_with_need"]["el_share_of_ead"] <= budget:
        assert based["profit_change"] >= -1e-6
    assert report["need_based"]["priced_with_need"]["el_share_of_ead"] <= budget + 1e-9
    summary = run(["limitlab", "summary"], root).stdout
    assert f"({based['profit_change']:+,.0f})" in summary.split("need caps")[1].splitlines()[0]


def test_strategy_cells_are_replayed_served_and_usage_caps_counted(
    built: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root, _ = built
    backtest = metrics(root, "backtest")
    test = backtest["strategy_test"]
    assert test["applied"] and test["control"] == "control"
    cells = test["cells"]
    panel_accounts = pd.read_parquet(root / "data/synthetic/panel", columns=["account_id"])
    assert sum(c["accounts"] for c in cells.values()) == panel_accounts["account_id"].nunique()
    diff = cells["challenger"]["vs_control"]
    for name in ("exposure", "realised_loss", "expected_profit"):
        low, high = diff[name]["ci95"]
        assert low <= diff[name]["difference"] <= high and 0 <= diff[name]["p_value"] <= 1
    caps = backtest["usage_caps"]
    assert caps["applied"] and caps["review"]["declined_share"]["blocked_categories"] > 0
    assert caps["review"]["change"]["mean_balance"] < 0  # declined spending is not drawn
    # the served model says each account's cell and decides it by that cell's strategy
    monkeypatch.chdir(root)
    mlflow.set_tracking_uri(f"sqlite:///{root}/mlflow.db")
    registered = json.loads((root / "reports/register.json").read_text())
    model = mlflow.pyfunc.load_model(registered["registered_uri"])
    columns = model.metadata.get_input_schema().input_names()
    assert "account_id" in columns
    snapshot = pd.read_parquet(root / "data/interim/splits/test.parquet")[columns].head(40)
    answer = model.predict(snapshot)
    from limitlab.limits.strategies import Cell, assign_cells

    expected = assign_cells(snapshot["account_id"], "review-test-1",
                            [Cell("control", "current", 0.5),
                             Cell("challenger", "early_cuts", 0.5)])  # fmt: skip
    assert list(answer["cell"]) == list(expected)
    assert set(answer["strategy"]) <= {"current", "early_cuts"}
    frozen = answer[answer["pd"] >= 0.2]
    assert (frozen.loc[frozen["strategy"] == "early_cuts", "action"] == "freeze").all()
    bad = snapshot.head(2).copy()
    bad["account_id"] = bad["account_id"].astype("float64")
    bad.loc[1, "account_id"] = float("nan")
    with pytest.raises(MlflowException, match=r"row 1: account_id: missing; expected an id"):
        model.predict(bad)


def test_monitoring_notebook_shows_migration_and_backtest(built: tuple[Path, str]) -> None:
    root, _ = built
    book = execute_notebook(root / "notebooks" / "05-monitor-portfolio.ipynb")
    outputs = [o for c in book.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) == 5  # PSI, realised vs expected, migration, backtest, vintages
    text = json.dumps([o.get("text", "") for o in outputs])
    assert "no account panel" not in text
    tables = json.dumps([o.get("data", {}).get("text/plain", "") for o in outputs])
    assert "challenger" in tables and "need_based" in tables and "realised_profit" in tables


def test_vintage_and_monthly_default_plots_render_in_dvc(built: tuple[Path, str]) -> None:
    root, _ = built
    shown = json.loads(run(["dvc", "plots", "show", "--json"], root).stdout)
    assert not shown.get("errors")
    vintage = next(v for k, v in shown["data"].items() if k.startswith("Vintages"))
    values = vintage[0]["content"]["data"]["values"]
    assert len({v["cohort"] for v in values}) > 1  # one line per cohort
    assert vintage[0]["content"]["encoding"]["color"]["field"] == "cohort"
    monthly = json.loads((root / "reports/plots/default_rate_by_month.json").read_text())
    panel = pd.read_parquet(root / "data/synthetic/panel", columns=["month", "defaulted"])
    assert [r["defaults"] for r in monthly] == panel.groupby("month")["defaulted"].sum().tolist()


def test_a_review_rule_change_reruns_limits_and_register_and_reaches_the_model(
    built: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Last in this module: it changes the shared project."""
    root, _ = built
    before = json.loads((root / "reports/register.json").read_text())["model_version"]
    edit_params(root, review={"max_step_up": 0.9})
    done = run(["dvc", "repro"], root)
    ran = set(re.findall(r"Running stage '(\w+)'", done.stdout))
    assert {"limits", "backtest", "register"} <= ran
    assert not ran & {"ingest", "split", "features", "tune", "train", "evaluate"}
    policy = json.loads((root / "reports/limits/policy.json").read_text())
    assert policy["review"]["max_step_up"] == 0.9
    registered = json.loads((root / "reports/register.json").read_text())
    assert int(registered["model_version"]) == int(before) + 1
    monkeypatch.chdir(root)
    mlflow.set_tracking_uri(f"sqlite:///{root}/mlflow.db")
    model = mlflow.pyfunc.load_model(registered["registered_uri"])
    assert model.unwrap_python_model().scorer.policy.review.max_step_up == 0.9
