"""The real pipeline on bundled data: real DVC, Optuna journal storage, MLflow SQLite store."""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend
from optuna.trial import TrialState
from sklearn.linear_model import LogisticRegression

from limitlab.models.calibration import logit
from limitlab.models.contributions import source_feature
from limitlab.tracking.model_card import SECTIONS
from limitlab.tracking.register import registry_text

from .conftest import (
    FAST_TUNE,
    NOTEBOOKS,
    edit_params,
    execute_notebook,
    make_project,
    run,
    stage_env,
)

pytestmark = pytest.mark.pipeline
MODEL = "limitlab-pd"
REASONS = ("reason_1", "reason_2", "reason_3", "reason_4")
POLICY_READS = {"Age"}  # a protected attribute the minimum-age knock-out rule reads


def read(root: Path, rel: str) -> dict:
    return json.loads((root / rel).read_text())


def listed(column: pd.Series) -> list:
    """A column's values with every missing value as None (NaN never equals itself)."""
    return column.astype(object).where(column.notna(), None).tolist()


def client_for(root: Path) -> MlflowClient:
    return MlflowClient(tracking_uri=f"sqlite:///{root}/mlflow.db")


def parent_runs(client: MlflowClient) -> list:
    exp = client.get_experiment_by_name("limitlab")
    runs = client.search_runs([exp.experiment_id], order_by=["attributes.start_time ASC"])
    return [r for r in runs if "mlflow.parentRunId" not in r.data.tags]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    root = make_project(tmp_path_factory.mktemp("built") / "project")
    done = run(["dvc", "repro"], root)
    run(["git", "add", "-A"], root)
    run(["git", "commit", "-qm", "pipeline run"], root)  # the baseline experiments start from
    return root, done.stdout


def test_repro_runs_every_stage_and_reports(built: tuple[Path, str]) -> None:
    root, out = built
    for stage in ("ingest", "split", "features", "tune", "train", "evaluate", "limits", "register"):
        assert f"Running stage '{stage}'" in out
    ingest = read(root, "reports/metrics/ingest.json")
    assert ingest["rows_read"] == ingest["rows_kept"] + ingest["rows_quarantined"] == 4454
    evaluate = read(root, "reports/metrics/evaluate.json")
    assert 0.75 < evaluate["auc"] < 0.95  # credit_scoring AUCs in the literature are ~0.83
    assert evaluate["gini"] == pytest.approx(2 * evaluate["auc"] - 1)
    assert set(evaluate["models"]) == {
        "xgboost", "additive", "scorecard", "logistic", "spline", "random_forest", "ensemble"
    }  # fmt: skip
    assert evaluate["auc_ci95_low"] < evaluate["auc"] < evaluate["auc_ci95_high"]
    calibration = evaluate["calibration"]
    assert calibration["method"] == "platt"
    assert set(calibration["after"]) == {"slope", "intercept", "in_the_large", "spiegelhalter_z",
                                         "spiegelhalter_p", "ece", "brier"}  # fmt: skip
    assert list(evaluate["by_income_tier"]) == [
        "missing",
        "tier_1_of_3",
        "tier_2_of_3",
        "tier_3_of_3",
    ]
    decisions = pd.read_parquet(root / "reports/limits/decisions.parquet")
    owed = decisions["adverse_action"] != "none"
    counts = read(root, "reports/metrics/limits.json")["adverse_action"]
    assert counts == decisions["adverse_action"].value_counts().sort_index().to_dict()
    assert decisions.loc[owed, "reason_1"].notna().all()  # every decline and counter-offer
    assert decisions.loc[~owed, REASONS].isna().all().all()  # nothing owed: none given
    train = read(root, "reports/metrics/train.json")
    selection = train["selection"]  # chosen out of fold on train rows, never on test
    assert train["champion"] == selection["chosen"]
    assert selection["families"][selection["chosen"]]["within_noise"]
    bands = pd.DataFrame(read(root, "reports/plots/band_table.json"))
    optimised = read(root, "reports/limits/optimised_caps.json")
    assert (
        optimised["optimised"]["totals"]["expected_profit"]
        >= (optimised["configured"]["totals"]["expected_profit"])
    )
    segments = pd.DataFrame(read(root, "reports/limits/segments.json"))
    assert set(segments["segment"]) == {"income_tier", "credit_history", "spending"}
    limits = read(root, "reports/metrics/limits.json")
    assert (
        bands["count"].sum()
        == limits["applicants"]
        == read(root, "reports/metrics/split.json")["test"]["rows"]
    )
    assert bands["total_limit"].sum() == pytest.approx(limits["total_limit"])
    # no account panel here: the need stage says why, and the limits keep the constants
    assert "no account panel" in read(root, "reports/metrics/need.json")["why"]
    assert limits["need_based"]["applied"] is False
    # risk must rise down the scale: the declined group is worse than grade A
    assert bands.iloc[-1]["bad_rate"] > bands.iloc[0]["bad_rate"]


def test_fairness_reports_every_protected_attribute(built: tuple[Path, str]) -> None:
    root, _ = built
    found = read(root, "reports/metrics/fairness.json")
    assert set(found["attributes"]) == {"Age", "Marital"}
    groups = pd.DataFrame(read(root, "reports/fairness/groups.json"))
    decisions = pd.read_parquet(root / "reports/limits/decisions.parquet")
    for attribute, part in groups.groupby("attribute"):
        assert part["count"].sum() == len(decisions), attribute
        reference = found["attributes"][attribute]["reference"]
        assert part.loc[part["group"] == reference, "air"].item() == pytest.approx(1.0)
    summary = run(["limitlab", "summary"], root).stdout
    assert "fairness    Age: reference " in summary and "fairness    Marital: " in summary


def test_registered_version_carries_its_model_card(built: tuple[Path, str]) -> None:
    root, _ = built
    client = client_for(root)
    registered = read(root, "reports/register.json")
    version = str(registered["model_version"])
    card = (root / "reports/model_card.md").read_text()
    assert card.startswith(f"# {MODEL} v{version}: model card")
    described = client.get_model_version(MODEL, version).description
    assert described == registry_text(card)
    for section in SECTIONS:
        assert f"\n## {section}\n" in described, section
    ingest = read(root, "reports/metrics/ingest.json")
    for fact in (registered["run_id"], ingest["sha256"], "| xgboost | 0.", "Outcome: promoted",
                 "No champion to compare with", "`Marital`: reference", "knock-out rules: "
                 "minimum_age"):  # fmt: skip
        assert fact in card, fact
    logged = Path(client.download_artifacts(registered["run_id"], "model_card.md", str(root)))
    assert logged.read_text() == card
    model = client.get_registered_model(MODEL)
    assert model.tags["dataset"] == "credit_scoring" and model.tags["owner"]
    tags = client.get_model_version(MODEL, version).tags
    assert tags["gate.fairness_min_air"].split(":")[0] in {"pass", "warn"}
    assert "lowest AIR" in tags["gate.fairness_min_air"]
    model_id = tags["model_id"]  # the bundle's files, as the project's artifact store holds them
    found = next(root.glob(f"mlartifacts/**/{model_id}/**/reason_catalogue.json"))
    catalogue = json.loads(found.read_text())
    codes = {entry["code"] for entry in catalogue}
    assert {"cap.affordability", "knockout.debt_to_income", "feature.Income"} <= codes


def test_knockout_rules_decline_before_the_model_and_are_counted(built: tuple[Path, str]) -> None:
    root, _ = built
    limits = read(root, "reports/metrics/limits.json")
    assert set(limits["knockouts"]) == {"minimum_age", "debt_to_income"}
    assert limits["knockouts_not_applied"] == ["bankruptcy"]  # no such column in the data
    decisions = pd.read_parquet(root / "reports/limits/decisions.parquet")
    test = pd.read_parquet(root / "data/interim/splits/test.parquet")
    ratio = test["Debt"] / test["Income"].where(test["Income"] > 0)
    fired = (ratio > 40).to_numpy()
    assert fired.sum() == limits["knockouts"]["debt_to_income"] == limits["policy_declined"] > 0
    assert (decisions.loc[fired, "decision"] == "policy_decline").all()
    assert (
        decisions.loc[fired, "reason_1"] == "Existing debt is too high relative to income"
    ).all()
    bands = read(root, "reports/plots/band_table.json")
    assert sum(b["policy_declined"] for b in bands) == limits["policy_declined"]
    summary = run(["limitlab", "summary"], root).stdout
    assert f"knock-outs  {limits['policy_declined']} policy declines before the model" in summary


def test_champion_is_chosen_and_calibrated_on_out_of_fold_pds(built: tuple[Path, str]) -> None:
    root, _ = built
    train = read(root, "reports/metrics/train.json")
    oof = pd.read_parquet(root / "models/train/out_of_fold.parquet")
    rows = pd.read_parquet(root / "data/interim/splits/train.parquet")
    assert oof["_bad"].tolist() == rows["_bad"].tolist()  # the train split, row for row
    champion = train["champion"]
    assert train["selection"]["chosen"] == champion
    assert set(train["selection"]["families"]) == {
        "xgboost",
        "additive",
        "scorecard",
        "logistic",
        "spline",
        "random_forest",
        "ensemble",
    }
    model = joblib.load(root / "models/train/champion.joblib")
    platt = LogisticRegression(C=1e6, max_iter=1000).fit(
        logit(oof[champion].to_numpy()).reshape(-1, 1), oof["_bad"]
    )
    np.testing.assert_allclose(model.map_.coef_, platt.coef_, rtol=1e-6)  # no valid or test row


def test_final_models_are_fitted_on_train_and_valid_rows(built: tuple[Path, str]) -> None:
    root, _ = built
    train = read(root, "reports/metrics/train.json")
    parts = [pd.read_parquet(root / f"data/processed/{s}.parquet") for s in ("train", "valid")]
    fitted = pd.concat(parts).drop(columns=["_bad"]).to_numpy(dtype="float64")
    assert train["final_fit"] == "train_and_valid"
    assert train["final_fit_rows"] == len(fitted) > train["train_rows"]
    scaler = joblib.load(root / "models/train/logistic.joblib")[-1].named_steps["scale"]
    assert scaler.n_samples_seen_ == len(fitted)
    np.testing.assert_allclose(scaler.mean_, fitted.mean(axis=0), rtol=1e-9, atol=1e-9)


def test_second_repro_reruns_nothing(built: tuple[Path, str]) -> None:
    root, _ = built
    out = run(["dvc", "repro"], root).stdout
    assert "Running stage" not in out
    assert "didn't change" in out
    assert len(parent_runs(client_for(root))) == 1


def test_mlflow_run_holds_params_metrics_plots_lineage_and_trials(built: tuple[Path, str]) -> None:
    root, _ = built
    client = client_for(root)
    (parent,) = parent_runs(client)
    data = parent.data
    assert data.params["tune.n_trials"] == str(FAST_TUNE["n_trials"])
    assert data.params["data.dataset"] == "credit_scoring"
    evaluate = read(root, "reports/metrics/evaluate.json")
    assert data.metrics["evaluate.auc"] == pytest.approx(evaluate["auc"])
    assert data.metrics["ingest.rows_kept"] == 4454
    sha = hashlib.sha256((root / "data/raw/credit_scoring.csv").read_bytes()).hexdigest()
    assert data.tags["dataset.sha256"] == sha
    head = run(["git", "rev-parse", "HEAD^"], root).stdout.strip()  # the run came before
    assert data.tags["mlflow.source.git.commit"] == head
    assert parent.inputs.dataset_inputs[0].dataset.name == "credit_scoring"
    artifacts = {a.path for a in client.list_artifacts(parent.info.run_id, "plots")}
    figures = ("roc", "calibration", "ks", "pd_by_outcome", "gains", "optuna_history", "fairness")
    assert {f"plots/{name}.png" for name in figures} <= artifacts
    tables = {a.path for a in client.list_artifacts(parent.info.run_id, "tables")}
    assert tables == {
        f"tables/{t}_table.json" for t in ("band", "gains", "calibration", "fairness")
    }
    champion = read(root, "reports/metrics/train.json")["champion"]
    assert parent.info.run_name.startswith(f"credit_scoring-{champion}-")
    assert data.tags["mlflow.note.content"].startswith("```\ndataset     credit_scoring")
    assert not [m for m in data.metrics if m.startswith("test_")]  # one name per metric
    assert client.get_experiment(parent.info.experiment_id).tags["mlflow.note.content"]
    version = client.get_model_version(MODEL, read(root, "reports/register.json")["model_version"])
    assert version.description.startswith(f"# {MODEL} v{version.version}: model card")
    assert client.get_registered_model(MODEL).description.startswith("Probability of default")
    points = client.list_artifacts(parent.info.run_id, "scorecard")
    assert [a.path for a in points] == ["scorecard/scorecard_points.json"]
    exp_id = parent.info.experiment_id
    children = client.search_runs(
        [exp_id], filter_string=f"tags.mlflow.parentRunId = '{parent.info.run_id}'"
    )
    by_family = {
        family: [c for c in children if c.info.run_name.startswith(f"{family}-trial-")]
        for family in ("xgboost", "additive", "scorecard", "logistic", "spline", "random_forest")
    }  # each family's study: its trials as child runs
    assert {f: len(c) for f, c in by_family.items()} == {
        "xgboost": FAST_TUNE["n_trials"], "additive": 3, "scorecard": 3, "logistic": 3,
        "spline": 3, "random_forest": 3,
    }  # fmt: skip
    assert len(children) == FAST_TUNE["n_trials"] + 15
    best = read(root, "models/tune/best_params.json")
    linear = read(root, "models/tune/linear_best_params.json")
    additive = read(root, "models/tune/additive_best_params.json")
    for family, found in (("xgboost", best), ("additive", additive)):
        runs = by_family.pop(family)
        assert max(c.data.metrics["valid_auc"] for c in runs) == pytest.approx(
            found["best_valid_auc"]
        )
    for family, runs in by_family.items():  # the linear studies minimise validation log loss
        losses = {c.data.metrics["valid_log_loss"]: c for c in runs}
        assert min(losses) == pytest.approx(linear[family]["best_valid_log_loss"])
        assert losses[min(losses)].data.metrics["valid_auc"] == pytest.approx(
            linear[family]["best_valid_auc"]
        )
        first = [c for c in runs if c.info.run_name.endswith("-trial-000")]
        assert first[0].data.params["fixed_settings"] == "True"  # train's settings go first
    tuned = read(root, "reports/metrics/train.json")["tuned"]
    assert tuned == {
        f: linear[f]["params"] for f in ("scorecard", "logistic", "spline", "random_forest")
    }
    assert data.params["best.logistic.c"] == str(linear["logistic"]["params"]["c"])
    # the store lives at the project root, with artifacts beside it
    assert (root / "mlflow.db").is_file() and (root / "mlartifacts").is_dir()


def test_no_real_applicant_row_is_in_the_store(built: tuple[Path, str]) -> None:
    """The model's input examples are made from the training distribution, not copied."""
    root, _ = built
    accepted = pd.read_parquet(root / "data/interim/accepted.parquet")
    found = 0
    for path in (root / "mlartifacts").rglob("*example*.json"):
        payload = json.loads(path.read_text())
        table = payload.get("dataframe_split", payload)
        rows = pd.DataFrame(table["data"], columns=table["columns"]).astype(str)
        real = accepted[table["columns"]].astype(str)
        assert rows.merge(real, how="inner").empty, f"{path.name} holds a real applicant row"
        found += 1
    assert found >= 2  # input_example.json and serving_input_example.json


def test_registered_champion_in_a_fresh_process_gives_the_pipeline_decisions(
    built: tuple[Path, str],
) -> None:
    root, _ = built
    client = client_for(root)
    version = client.get_model_version_by_alias(MODEL, "champion")
    assert str(version.version) == str(read(root, "reports/register.json")["model_version"])
    script = (
        "import mlflow, pandas as pd, sys\n"
        f"model = mlflow.pyfunc.load_model('models:/{MODEL}@champion')\n"
        "columns = model.metadata.get_input_schema().input_names()\n"
        "test = pd.read_parquet('data/interim/splits/test.parquet')\n"
        "model.predict(test[columns]).to_parquet('fresh.parquet')\n"  # as Parquet gives it
        "test[columns].to_csv('test.csv', index=False)\n"
        "frame = pd.read_csv('test.csv')\n"
        "whole = [c for c in frame.select_dtypes('number') if (frame[c] % 1 == 0).all()]\n"
        "frame = frame.astype({c: 'int64' for c in whole})\n"
        "assert len(whole) >= 3, whole\n"
        "model.predict(frame).to_parquet('from_csv.parquet')\n"
        "import json; open('columns.json', 'w').write(json.dumps(columns))\n"
    )
    env = {**stage_env(), "MLFLOW_TRACKING_URI": f"sqlite:///{root}/mlflow.db"}
    done = subprocess.run([sys.executable, "-c", script], cwd=root, env=env,
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    expected = pd.read_parquet(root / "reports/limits/decisions.parquet")
    for name in ("fresh.parquet", "from_csv.parquet"):  # int64 columns, as each reader gives them
        got = pd.read_parquet(root / name)
        np.testing.assert_allclose(got["pd"], expected["pd"], rtol=0, atol=1e-9)
        for column in ("grade", "limit", "decision", "binding_cap", "daily_cap", *REASONS):
            assert listed(got[column]) == listed(expected[column]), (name, column)
    assert set(got["model_id"]) == {
        client.get_model_version(MODEL, version.version).tags["model_id"]
    }
    assert set(got["model_version"]) == {f"{MODEL}/{version.version}"}
    spec = read(root, "data/interim/spec.json")
    model_columns = json.loads((root / "columns.json").read_text())
    rule_columns = {r["column"] for r in read(root, "reports/limits/policy.json")["params"]
                    ["knockouts"]}  # fmt: skip
    protected_inputs = set(spec["protected"]) & set(model_columns)
    assert "Income" in model_columns
    assert protected_inputs == {"Age"} <= rule_columns  # read by the minimum-age rule alone
    features = joblib.load(root / "models/features.joblib").get_feature_names_out()
    assert not protected_inputs & {source_feature(str(n)) for n in features}  # no PD feature


def restore_baseline(root: Path) -> None:
    """Back to the committed pipeline state after an experiment changed the workspace."""
    run(["git", "checkout", "--", "params.yaml", "dvc.lock"], root)
    run(["dvc", "checkout", "--force"], root)
    # The study journal holds every study an experiment ran, so `tune` may rerun: it finds its
    # study complete and writes the same outputs. `register` writes an uncached record of its
    # MLflow run, which the experiment replaced, so it may log again. Nothing else runs.
    ran = set(re.findall(r"Running stage '(\w+)'", run(["dvc", "repro"], root).stdout))
    assert ran <= {"tune", "register"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def post(url: str, body: bytes, content_type: str = "application/json") -> tuple[int, str]:
    request = urllib.request.Request(url, body, {"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


@contextmanager
def serving(root: Path, command: list[str]) -> Iterator[str]:
    """A model server started by ``command`` (with ``--port`` added); yields its base URL."""
    port = free_port()
    env = {**stage_env(), "MLFLOW_TRACKING_URI": f"sqlite:///{root}/mlflow.db"}
    server = subprocess.Popen(
        [*command, "--port", str(port)], cwd=root, env=env, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{base}/ping", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                time.sleep(0.5)
        else:
            raise AssertionError(f"{command[0]} did not answer /ping within 180 s")
        yield base
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def applicant_rows(root: Path, n: int) -> pd.DataFrame:
    spec = read(root, "data/interim/spec.json")
    test = pd.read_parquet(root / "data/interim/splits/test.parquet").head(n)
    columns = [c for c in test.columns if not c.startswith("_")]
    return test[[c for c in columns if c not in spec["protected"] or c in POLICY_READS]]


def split_body(rows: pd.DataFrame) -> bytes:
    return json.dumps(
        {"dataframe_split": json.loads(rows.to_json(orient="split", index=False))}
    ).encode()


@pytest.mark.server
def test_served_champion_answers_like_the_pipeline(built: tuple[Path, str]) -> None:
    root, _ = built
    command = ["mlflow", "models", "serve", "-m", f"models:/{MODEL}@champion", "--env-manager",
               "local", "--host", "127.0.0.1"]  # fmt: skip
    with serving(root, command) as base:
        spec = read(root, "data/interim/spec.json")
        assert read(root, "reports/register.json")["promoted"] is True
        test = pd.read_parquet(root / "data/interim/splits/test.parquet").head(20)
        expected = pd.read_parquet(root / "reports/limits/decisions.parquet").head(20)
        columns = [c for c in test.columns if not c.startswith("_")]
        columns = [c for c in columns if c not in spec["protected"] or c in POLICY_READS]
        rows = test[columns].astype({c: "float64" for c in columns if c in spec["numeric"]})
        body = json.dumps(
            {"dataframe_split": json.loads(rows.to_json(orient="split", index=False))}
        )
        status, text = post(f"{base}/invocations", body.encode())
        assert status == 200, text
        assert "NaN" not in text  # standard JSON: a reason not owed is null
        got = pd.DataFrame(json.loads(text)["predictions"])
        np.testing.assert_allclose(got["pd"], expected["pd"], rtol=0, atol=1e-9)
        for column in ("limit", "grade", "binding_cap", "adverse_action", *REASONS):
            assert listed(got[column]) == listed(expected[column]), column

        status, text = post(f"{base}/invocations", b"{not json")
        assert 400 <= status < 500, (status, text)
        missing = rows.drop(columns=["Income"])
        body = json.dumps(
            {"dataframe_split": json.loads(missing.to_json(orient="split", index=False))}
        )
        status, text = post(f"{base}/invocations", body.encode())
        assert 400 <= status < 500 and "Income" in text, (status, text)
        texty = rows.astype({"Income": object})
        texty.loc[texty.index[0], "Income"] = "a lot"
        body = json.dumps(
            {"dataframe_split": json.loads(texty.to_json(orient="split", index=False))}
        )
        status, text = post(f"{base}/invocations", body.encode())
        assert 400 <= status < 500 and "Income" in text, (status, text)
        negative = rows.copy()
        negative.loc[negative.index[2], "Income"] = -50.0
        negative.loc[negative.index[1], "Amount"] = 12345.678  # must not come back
        body = json.dumps(
            {"dataframe_split": json.loads(negative.to_json(orient="split", index=False))}
        )
        status, text = post(f"{base}/invocations", body.encode())
        assert status == 400 and "row 2: Income: -50.0 is negative" in text, (status, text)
        assert "predictions" not in text and "12345.678" not in text
        status, text = post(f"{base}/invocations", b"")
        assert 400 <= status < 500, (status, text)
        big = rows.sample(100_000, replace=True, random_state=0)
        body = json.dumps({"dataframe_split": json.loads(big.to_json(orient="split", index=False))})
        status, text = post(f"{base}/invocations", body.encode())
        assert status == 200 and len(json.loads(text)["predictions"]) == 100_000
        status, _ = post(f"{base}/invocations", json.dumps({"dataframe_split": json.loads(
            rows.head(1).to_json(orient="split", index=False))}).encode())  # fmt: skip
        assert status == 200  # still serving after the refusals
        status, _ = post(f"{base}/invocations", split_body(applicant_rows(root, 5)))
        assert status == 200  # integer columns, as read from a CSV, are accepted


MARK = 24680.135  # a value put in every request below; no answer may echo it


def bad_requests(rows: pd.DataFrame) -> dict[str, tuple[bytes, str, int, str]]:
    """(body, content type, status, message) for the guarded server, from good rows."""
    rows = rows.assign(Amount=MARK).astype(object)

    def changed(column: str, value: object, row: int = 1) -> bytes:
        frame = rows.copy()
        frame.loc[frame.index[row], column] = value
        return split_body(frame)

    dropped = split_body(rows.drop(columns=["Income"]))
    records = rows.to_dict(orient="records")
    records[0]["Income"] = True
    repeated = json.loads(split_body(rows))
    repeated["dataframe_split"]["columns"][1] = repeated["dataframe_split"]["columns"][0]
    cases = {
        "malformed json": (b'{"dataframe_split": ' + str(MARK).encode(), "application/json",
                           400, "request body is not valid JSON"),
        "not utf-8": (b'{"dataframe_records": [{"Job": "caf\xe9"}]}', "application/json", 400,
                      "request body is not UTF-8 (byte 35)"),
        "no table key": (b'{"rows": []}', "application/json", 400,
                         "expected exactly one of the keys"),
        "missing column": (dropped, "application/json", 400, "missing required column(s) "
                           "['Income']"),
        "text in a number": (changed("Income", "a lot"), "application/json", 400,
                             "row 1: Income: 'a lot' is not a number"),
        "json true in a number": (json.dumps({"dataframe_records": records}).encode(),
                                  "application/json", 400,
                                  "row 0: Income: 'True' is not a number"),
        "negative": (changed("Debt", -5.0, 2), "application/json", 400,
                     "row 2: Debt: -5.0 is negative; expected >= 0"),
        "overflowing": (changed("Income", 1e308), "application/json", 400,
                        "row 1: Income: 1e+308 is out of range"),
        "no rows": (split_body(rows.head(0)), "application/json", 400,
                    "no applicant rows in the request"),
        "too many rows": (split_body(pd.concat([rows] * 11)), "application/json", 413,
                          "55 rows in one request; the limit is 50"),
        "repeated column": (json.dumps(repeated).encode(), "application/json", 400,
                            "appear more than once; expected each once"),
        "csv text in a number": (rows.assign(Income="lots").to_csv(index=False).encode(),
                                 "text/csv", 400, "row 0: Income: 'lots' is not a number"),
        "unsupported type": (b"<applicants/>", "application/xml", 415,
                             "only supports the following content types"),
    }  # fmt: skip
    return cases


@pytest.fixture(scope="module")
def guarded(built: tuple[Path, str]) -> Iterator[tuple[str, pd.DataFrame]]:
    root, _ = built
    command = ["limitlab", "serve", "--model", f"models:/{MODEL}@champion", "--workers", "1",
               "--max-rows", "50"]  # fmt: skip
    with serving(root, command) as base:
        yield base, applicant_rows(root, 5)


@pytest.mark.server
@pytest.mark.parametrize("case", [
    "malformed json", "not utf-8", "no table key", "missing column", "text in a number",
    "json true in a number", "negative", "overflowing", "no rows", "too many rows",
    "repeated column", "csv text in a number", "unsupported type",
])  # fmt: skip
def test_guarded_server_refuses_a_bad_request_in_one_line(
    guarded: tuple[str, pd.DataFrame], case: str
) -> None:
    base, rows = guarded
    body, content_type, status, message = bad_requests(rows)[case]
    got, text = post(f"{base}/invocations", body, content_type)
    assert got == status and message in text, (got, text)
    assert str(MARK) not in text and "stack_trace" not in text and "Traceback" not in text
    assert "site-packages" not in text and "predictions" not in text
    status, text = post(f"{base}/invocations", split_body(rows))
    assert status == 200 and len(json.loads(text)["predictions"]) == len(rows)


@pytest.mark.server
def test_guarded_server_scores_csv_and_json_alike(guarded: tuple[str, pd.DataFrame]) -> None:
    base, rows = guarded
    _, as_json = post(f"{base}/invocations", split_body(rows))
    _, as_csv = post(f"{base}/invocations", rows.to_csv(index=False).encode(), "text/csv")
    assert json.loads(as_csv) == json.loads(as_json)


@pytest.mark.server
def test_concurrent_requests_get_the_answers_they_get_alone(
    guarded: tuple[str, pd.DataFrame],
) -> None:
    base, rows = guarded
    singles = [split_body(rows.iloc[[i]]) for i in range(len(rows))]
    numbers = [c for c in rows.columns if pd.api.types.is_numeric_dtype(rows[c])]
    as_integers = rows.iloc[[0]].astype({c: "Int64" for c in numbers[:3]})  # 1200, not 1200.0
    with_a_null = rows.iloc[[1]].astype({numbers[0]: object})
    with_a_null.loc[with_a_null.index[0], numbers[0]] = None
    singles += [split_body(as_integers), split_body(with_a_null)]  # parsed to other types
    alone = [post(f"{base}/invocations", body) for body in singles]
    assert all(status == 200 for status, _ in alone), alone
    bad = rows.head(2).astype(object)
    bad.loc[bad.index[1], "Debt"] = -5.0
    bodies = [*singles * 4, split_body(bad), split_body(rows)]
    with ThreadPoolExecutor(max_workers=20) as pool:  # joined by the server's batcher
        answers = list(pool.map(lambda body: post(f"{base}/invocations", body), bodies))
    for i, (status, text) in enumerate(answers[: len(singles) * 4]):
        assert (status, json.loads(text)) == (200, json.loads(alone[i % len(singles)][1]))
    status, text = answers[-2]
    assert status == 400 and "row 1: Debt: -5.0 is negative" in text, (status, text)
    status, text = answers[-1]
    together = json.loads(text)["predictions"]
    assert status == 200 and together == [json.loads(t)["predictions"][0] for _, t in alone[:-2]]


def test_batch_scoring_matches_the_pipeline_and_quarantines_bad_rows(
    built: tuple[Path, str],
) -> None:
    root, _ = built
    test = pd.read_parquet(root / "data/interim/splits/test.parquet")
    raw = test[[c for c in test.columns if not c.startswith("_")]].astype({"Income": object})
    raw.loc[3, "Income"] = "lots"
    raw.loc[5, "Income"] = -3
    raw.to_csv(root / "apps.csv", index=False)
    out = run(["limitlab", "score", "--model", f"models:/{MODEL}@champion", "--input", "apps.csv",
               "--output", "scored.parquet", "--chunk-size", "100"], root).stdout  # fmt: skip
    assert f"read {len(raw)}  scored {len(raw) - 2}" in out
    quarantine = pd.read_parquet(root / "scored.quarantine.parquet")
    assert quarantine["_row"].tolist() == [4, 6]
    assert quarantine["reason"].tolist() == [
        "Income: 'lots' is not a number",
        "Income: -3 is negative; expected >= 0",
    ]
    scored = pd.read_parquet(root / "scored.parquet")
    expected = pd.read_parquet(root / "reports/limits/decisions.parquet").iloc[scored["_row"] - 1]
    np.testing.assert_allclose(scored["pd"], expected["pd"], rtol=0, atol=1e-9)
    for column in ("decision", "limit", "grade", "binding_cap", "knockouts", *REASONS):
        assert listed(scored[column]) == listed(expected[column]), column
    missing = run(["limitlab", "score", "--model", f"models:/{MODEL}@champion", "--input",
                   "nope.csv", "--output", "x.csv"], root, check=False)  # fmt: skip
    assert missing.returncode == 2 and "nope.csv: input file not found" in missing.stderr

    raw.drop(index=[3, 5]).assign(applicant=lambda f: "A" + f.index.astype(str)).to_csv(
        root / "clean.csv", index=False
    )
    out = run(["limitlab", "score", "--model", f"models:/{MODEL}@champion", "--input",
               "clean.csv", "--output", "clean_scored.csv", "--keep", "applicant", "--keep",
               "Home"], root).stdout  # fmt: skip
    assert out.strip().endswith("quarantined 0")
    assert not (root / "clean_scored.quarantine.csv").exists()
    kept = pd.read_csv(root / "clean_scored.csv", dtype={"applicant": str, "Home": str})
    assert list(kept.columns[:3]) == ["_row", "applicant", "Home"]
    source = pd.read_csv(root / "clean.csv", dtype=str)
    assert kept["applicant"].tolist() == source["applicant"].tolist()
    assert kept["Home"].fillna("").tolist() == source["Home"].fillna("").tolist()
    absent = run(
        [
            "limitlab",
            "score",
            "--model",
            f"models:/{MODEL}@champion",
            "--input",
            "clean.csv",
            "--output",
            "y.csv",
            "--keep",
            "customer_no",
        ],
        root,
        check=False,
    )
    assert absent.returncode == 2
    assert "clean.csv: column(s) ['customer_no'] to keep are not in the file" in absent.stderr


def test_notices_for_every_decline_and_counter_offer(built: tuple[Path, str]) -> None:
    root, _ = built
    command = ["limitlab", "score", "--model", f"models:/{MODEL}@champion", "--input",
               "data/interim/splits/test.parquet", "--output", "all.parquet"]  # fmt: skip
    out = run([*command, "--notices", "notices.csv"], root).stdout
    decisions = pd.read_parquet(root / "reports/limits/decisions.parquet")
    test = pd.read_parquet(root / "data/interim/splits/test.parquet")
    wanted = (decisions["decision"] != "approve") | (decisions["limit"] < test["Amount"])
    letters = pd.read_csv(root / "notices.csv", keep_default_na=False)
    assert f"notices {int(wanted.sum())} -> notices.csv" in out
    assert (letters["_row"] - 1).tolist() == np.flatnonzero(wanted).tolist()
    chosen = decisions[wanted.to_numpy()].reset_index(drop=True)
    assert letters["reason_1"].tolist() == chosen["reason_1"].tolist()
    assert set(letters["notice"]) == {"decline", "counter-offer"}
    assert (letters.loc[letters["notice"] == "decline", "limit"] == 0).all()
    same = run([*command, "--notices", "all.parquet"], root, check=False)
    assert same.returncode == 2 and "expected a notices file of its own" in same.stderr


def test_fairness_gate_set_to_block_keeps_the_champion(built: tuple[Path, str]) -> None:
    root, _ = built
    client = client_for(root)
    champion_before = client.get_model_version_by_alias(MODEL, "champion").version
    done = run(["dvc", "exp", "run", "-n", "fair-block",
                "-S", "register.fairness_min_air.threshold=0.99",
                "-S", "register.fairness_min_air.action=block"], root)  # fmt: skip
    assert set(re.findall(r"Running stage '(\w+)'", done.stdout)) == {"register"}
    registered = read(root, "reports/register.json")
    version = str(registered["model_version"])
    tags = client.get_model_version(MODEL, version).tags
    assert tags["gate.fairness_min_air"].startswith("fail: lowest AIR 0.")
    assert tags["gates"] == "failed"
    assert client.get_model_version_by_alias(MODEL, "champion").version == champion_before
    assert "not promoted (fairness_min_air: lowest AIR" in done.stdout
    swap = registered["swap_set"]  # the same model against itself: nothing swaps
    assert swap["champion_version"] == str(champion_before)
    assert swap["cells"]["swap_in"]["count"] == swap["cells"]["swap_out"]["count"] == 0
    approved = (pd.read_parquet(root / "reports/limits/decisions.parquet")["limit"] > 0).sum()
    assert swap["cells"]["limit_same"]["count"] == approved and swap["exposure_change"] == 0
    logged = client.get_run(registered["run_id"]).data.metrics
    assert logged["swap.limit_same.count"] == approved
    described = client.get_model_version(MODEL, version).description
    assert f"## Swap set\n\nAgainst champion v{champion_before} on the same" in described
    assert "| fairness_min_air | fail | lowest AIR" in described
    restore_baseline(root)


def test_worse_model_becomes_challenger_not_champion(built: tuple[Path, str]) -> None:
    root, _ = built
    client = client_for(root)
    champion_before = client.get_model_version_by_alias(MODEL, "champion").version
    done = run(["dvc", "exp", "run", "-n", "worse", "-S", "train.families=[xgboost]",
                "-S", "tune.n_trials=1", "-S", "tune.max_depth=[1,1]",
                "-S", "tune.learning_rate=[0.01,0.011]", "-S", "tune.max_estimators=10",
                "-S", "tune.early_stopping_rounds=5"], root)  # fmt: skip
    registered = read(root, "reports/register.json")
    version = str(registered["model_version"])
    assert str(client.get_model_version_by_alias(MODEL, "challenger").version) == version
    assert client.get_model_version_by_alias(MODEL, "champion").version == champion_before
    tags = client.get_model_version(MODEL, version).tags
    assert tags["gates"] == "failed"
    assert tags["gate.vs_champion"].startswith("fail: ")
    assert "DeLong p=" in tags["gate.vs_champion"]
    assert f"champion v{champion_before}" in tags["gate.vs_champion"]
    line = f"{MODEL} v{version}: @challenger only, not promoted ("
    assert line in done.stdout, done.stdout
    assert re.search(r"vs_champion: (worse on both|AUC significantly lower)", done.stdout)
    run(["limitlab", "promote", version, "--reason", "manual override for the test"], root)
    assert str(client.get_model_version_by_alias(MODEL, "champion").version) == version
    assert client.get_model_version(MODEL, version).tags["promoted"] == (
        "by hand: manual override for the test"
    )
    run(["limitlab", "promote", str(champion_before), "--reason", "restore"], root)
    restore_baseline(root)


def test_policy_experiment_reruns_only_the_policy_stages(built: tuple[Path, str]) -> None:
    root, _ = built
    before = read(root, "reports/plots/band_table.json")
    out = run(["dvc", "exp", "run", "-S", "limits.regulation=cn_online_lending_2020"], root).stdout
    ran = set(re.findall(r"Running stage '(\w+)'", out))
    assert ran == {"limits", "backtest", "monitor", "fairness", "register"}  # no model stage
    after = read(root, "reports/plots/band_table.json")
    assert after != before
    assert sum(r["total_limit"] for r in after) < sum(r["total_limit"] for r in before)
    assert read(root, "reports/metrics/limits.json")["binding_cap"]["regulatory"] > 0
    restore_baseline(root)


def test_queued_sweep_logs_to_the_main_store_and_notebooks_find_it(
    built: tuple[Path, str],
) -> None:
    root, _ = built
    before = len(parent_runs(client_for(root)))
    sweep = {"queued-c": "train.logistic_c=0.5", "queued-isotonic": "train.calibration=isotonic"}
    for name, setting in sweep.items():
        run(["dvc", "exp", "run", "--queue", "-n", name, "-S", setting], root)
    run(["dvc", "queue", "start"], root)
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        status = run(["dvc", "queue", "status"], root).stdout
        if all(n in status for n in sweep) and not re.search(r"Queued|Running", status):
            break
        time.sleep(3)
    assert status.count("Success") >= 2, status
    runs = parent_runs(client_for(root))
    assert len(runs) == before + 2
    by_exp = {r.data.tags.get("dvc.experiment"): r for r in runs[-2:]}
    assert set(by_exp) == set(sweep)
    assert by_exp["queued-c"].data.params["train.logistic_c"] == "0.5"
    assert by_exp["queued-isotonic"].data.params["train.calibration"] == "isotonic"
    for found in by_exp.values():
        assert found.info.artifact_uri.startswith((root / "mlartifacts").as_uri())
    # the studies were tuned once, by the first pipeline run: these runs link to their trials,
    # but for the logistic study of queued-c, whose fixed C (its first trial) names a new study
    (first,) = [r for r in runs if "dvc.experiment" not in r.data.tags][:1]
    for name, found in by_exp.items():
        for family in ("xgboost", "additive", "scorecard", "logistic", "spline", "random_forest"):
            linked = found.data.tags.get(f"trials.{family}.logged_by")
            new = name == "queued-c" and family == "logistic"
            assert linked == (None if new else first.info.run_id), (name, family)
        assert found.info.run_name.startswith(f"{name}-credit_scoring-")
        children = client_for(root).search_runs(
            [found.info.experiment_id], f"tags.mlflow.parentRunId = '{found.info.run_id}'"
        )
        # only a study this run tuned logs its trials under it
        studies = {c.info.run_name.split("-trial-")[0] for c in children}
        assert studies == ({"logistic"} if name == "queued-c" else set()), (name, studies)
    assert not list((root / ".dvc" / "tmp").rglob("mlflow.db"))

    # The notebook helpers find the same runs and experiments.
    from limitlab.workbench import compare

    table = compare.metric_table(compare.pipeline_runs(root))
    assert set(sweep) <= set(table.index)
    assert table.loc["queued-isotonic", "evaluate.auc"] == pytest.approx(
        by_exp["queued-isotonic"].data.metrics["evaluate.auc"]
    )
    exps = compare.dvc_experiments(root)
    assert set(sweep) <= set(exps.index)
    assert exps.loc["queued-isotonic", "train.calibration"] == "isotonic"
    diff = compare.band_table_diff(
        root, by_exp["queued-c"].info.run_id, by_exp["queued-isotonic"].info.run_id
    )
    assert (diff["count_b"] - diff["count_a"] == diff["count_change"]).all()
    assert diff["count_a"].sum() == diff["count_b"].sum()


@pytest.mark.parametrize("notebook", sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")))
def test_notebook_runs_top_to_bottom_and_plots(built: tuple[Path, str], notebook: str) -> None:
    root, _ = built
    book = execute_notebook(root / "notebooks" / notebook)
    outputs = [o for c in book.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert any("image/png" in o.get("data", {}) for o in outputs), "the notebook shows no plot"


def test_notebook_helpers_name_a_missing_run_or_alias_in_one_line(
    built: tuple[Path, str],
) -> None:
    from limitlab.workbench.compare import RunNotFoundError, check_run
    from limitlab.workbench.registry import load_registered_scorer

    root, _ = built
    newest = parent_runs(client_for(root))[-1].info.run_id
    with pytest.raises(RunNotFoundError) as missing_run:
        check_run(root, "0123456789abcdef")
    message = str(missing_run.value)
    assert "'0123456789abcdef'" in message and newest in message and "\n" not in message
    with pytest.raises(RunNotFoundError) as missing_alias:
        load_registered_scorer(root, MODEL, "gold")
    message = str(missing_alias.value)
    assert "'gold'" in message and "champion" in message and "\n" not in message
    with pytest.raises(RunNotFoundError, match="registered models: \\['limitlab-pd'\\]"):
        load_registered_scorer(root, "no-such-model")
    # In a notebook the same error is one line (the notebooks run `%xmode Minimal`).
    book = execute_notebook(
        root / "notebooks" / "02-compare-experiments.ipynb",
        {"RUN_A": "'0123456789abcdef'"},
        allow_errors=True,
    )
    errors = [o for c in book.cells if c.cell_type == "code" for o in c.outputs
              if o.output_type == "error"]  # fmt: skip
    assert errors and {e.ename for e in errors} == {"RunNotFoundError"}
    assert all(len(e.traceback) == 1 and "0123456789abcdef" in e.traceback[0] for e in errors)


def test_german_credit_experiment_is_a_params_change_only(built: tuple[Path, str]) -> None:
    root, _ = built
    run(["dvc", "exp", "run", "-n", "german", "-S", "data.dataset=german_credit"], root)
    shown = json.loads(run(["dvc", "exp", "show", "--json"], root).stdout)
    text = json.dumps(shown)
    assert "german" in text and "german_credit" in text
    evaluate = read(root, "reports/metrics/evaluate.json")
    assert read(root, "reports/metrics/ingest.json")["rows_read"] == 1000
    assert 0.6 < evaluate["auc"] < 0.95
    limits = read(root, "reports/metrics/limits.json")
    assert set(limits["segments_not_applied"]) == {"income_tier", "credit_history", "spending"}
    assert set(limits["binding_cap"]) <= {"income_missing", "pd_above_cutoff"}  # no income column
    decisions = pd.read_parquet(root / "reports/limits/decisions.parquet")
    approved = decisions[decisions["decision"] == "approve"]
    owed = approved["adverse_action"] == "counter-offer"  # below the amount asked for
    assert (
        owed.any()
        and approved.loc[owed, "reason_1"].str.startswith("Income was not provided").all()
    )
    assert approved.loc[~owed, "reason_1"].isna().all()  # no adverse action: no reasons
    runs = parent_runs(client_for(root))
    assert [r.data.tags["dataset.name"] for r in runs][-1] == "german_credit"
    assert runs[-1].data.tags["dvc.experiment"] == "german"
    newest = client_for(root).get_model_version_by_alias(MODEL, "challenger")
    assert newest.run_id == runs[-1].info.run_id


def test_same_seed_same_metrics_and_tuning_resumes_after_a_kill(tmp_path: Path) -> None:
    root = make_project(tmp_path / "project")
    edit_params(root, tune={"n_trials": 12, "pruning": False})
    journal = root / "models/tune/study.journal"
    repro = subprocess.Popen(["dvc", "repro"], cwd=root, env=stage_env(), start_new_session=True,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and len(completed(journal)) < 3:
        time.sleep(0.2)
    os.killpg(repro.pid, signal.SIGKILL)  # dvc repro and the tune stage it runs
    repro.wait()
    before = completed(journal)
    assert 3 <= len(before) < 12, "the kill came too late to test a resume"
    run(["dvc", "repro"], root)
    after = completed(journal)
    assert len(after) == 12
    assert after[: len(before)] == before  # kept, not repeated

    runs = []
    for _ in range(2):  # a fresh study each time: same seed, same trials, same metrics
        journal.unlink()
        for stage in ("tune", "train", "evaluate"):
            run(["limitlab", stage], root)
        runs.append((read(root, "models/tune/best_params.json"),
                     read(root, "reports/metrics/evaluate.json")))  # fmt: skip
    assert runs[0] == runs[1]


def completed(journal: Path, prefix: str = "xgb-") -> list[tuple[int, float, str]]:
    """(number, value, params) of the completed trials of the journal's studies named
    ``prefix...`` (XGBoost's), read without writing."""
    if not journal.exists():
        return []
    storage = JournalStorage(JournalFileBackend(str(journal)))
    trials = []
    for study in storage.get_all_studies():
        if not study.study_name.startswith(prefix):
            continue
        for t in storage.get_all_trials(study._study_id, states=(TrialState.COMPLETE,)):
            trials.append((t.number, t.value, json.dumps(t.params, sort_keys=True)))
    return sorted(trials)


def test_cross_validation_command_prints_and_writes_the_table(tmp_path: Path) -> None:
    root = make_project(tmp_path / "project")
    out = run(["limitlab", "cv", "--dataset", "german_credit", "--repeats", "1", "--folds", "2",
               "--trials", "2", "--output", "cv.json"], root).stdout  # fmt: skip
    assert "german_credit: 1 x 2-fold CV" in out
    result = read(root, "cv.json")
    families = ["xgboost", "additive", "scorecard", "logistic", "spline", "random_forest",
                "ensemble", "champion"]  # fmt: skip
    assert [f["family"] for f in result["families"]] == families
    assert all(0.6 < f["auc_mean"] < 0.9 for f in result["families"])
    assert len(result["folds_detail"]) == 2 * len(families)
    assert sum(result["champion_chosen"].values()) == 2  # one choice per fold, made inside it
    for fold in range(2):  # the champion row is the chosen family's score on that fold
        rows = {r["family"]: r for r in result["folds_detail"] if r["fold"] == fold}
        assert rows["champion"]["auc"] == rows[rows["champion"]["chosen"]]["auc"]
    logistic = next(f for f in result["families"] if f["family"] == "logistic")
    assert logistic["auc_vs_logistic"] == 0
    assert "champion: the selection procedure of `train`, nested in each fold" in out


def test_waterfall_runs_from_the_base_value_to_the_applicants_pd(built: tuple[Path, str]) -> None:
    from limitlab.serving.scorer import Scorer
    from limitlab.workbench import explain

    root, _ = built
    scorer = Scorer.from_project(root)
    test = pd.read_parquet(root / "data/interim/splits/test.parquet").head(3)
    decisions = pd.read_parquet(root / "reports/limits/decisions.parquet").head(3)
    for i in range(3):
        steps = explain.waterfall(scorer, test.iloc[[i]], top=4)
        assert steps["kind"].tolist() == ["base", *["feature"] * 5, "final"]
        features = steps[steps["kind"] == "feature"]
        assert steps["contribution"].iloc[:-1].sum() == pytest.approx(steps["cumulative"].iloc[-1])
        assert steps["pd_after"].iloc[-1] == pytest.approx(decisions["pd"].iloc[i], abs=1e-9)
        assert all(" = " in label for label in features["label"].iloc[:4])


def test_a_clone_of_the_committed_project_registers_and_leaves_git_clean(
    built: tuple[Path, str], tmp_path: Path
) -> None:
    """A fresh clone has the lock but no MLflow store: its repro registers a model anyway,
    writes exactly the committed lock, and leaves git clean."""
    root, _ = built
    clone = tmp_path / "clone"
    run(["git", "clone", "-q", str(root), str(clone)], tmp_path)
    out = run(["dvc", "repro"], clone).stdout
    assert "Running stage 'register'" in out, out
    assert run(["git", "status", "--porcelain"], clone).stdout == ""
    client = client_for(clone)
    assert str(client.get_model_version_by_alias(MODEL, "champion").version) == "1"
    (parent,) = parent_runs(client)
    assert parent.data.tags["git.dirty"] == "false"
