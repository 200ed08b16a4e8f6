"""A user's own file works by editing params.yaml only, through the real pipeline."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from .conftest import edit_params, make_project, run

RENAMES = {
    "Status": "outcome",
    "Income": "monthly_income",
    "Debt": "existing_debt",
    "Amount": "loan_amount",
    "Marital": "marital_status",
    "Age": "age",
}


@pytest.mark.pipeline
def test_renamed_copy_of_credit_scoring_runs_from_params_alone(tmp_path: Path) -> None:
    root = make_project(tmp_path / "project")
    raw = pd.read_csv(root / "data/raw/credit_scoring.csv").rename(columns=RENAMES)
    raw.insert(0, "application_id", [f"A{i:05d}" for i in range(len(raw))])
    raw["outcome"] = raw["outcome"].map({"good": "repaid", "bad": "defaulted"})
    raw.to_parquet(root / "data/raw/my_applications.parquet", index=False)
    edit_params(
        root,
        data={
            "dataset": "custom",
            "path": "data/raw/my_applications.parquet",
            "target": "outcome",
            "bad_value": "defaulted",
            "id": "application_id",
            "protected": ["marital_status", "age"],
            "income": "monthly_income",
            "debt": "existing_debt",
            "requested_amount": "loan_amount",
        },
    )
    run(["dvc", "repro"], root)

    spec = json.loads((root / "data/interim/spec.json").read_text())
    assert spec["good_value"] == "repaid"
    assert "Seniority" in spec["numeric"] and "Home" in spec["categorical"]  # inferred
    features = json.loads((root / "reports/metrics/features.json").read_text())["features"]
    assert "num__debt_to_income" in features and "num__amount_to_income" in features
    assert not any("marital_status" in f or f == "num__age" for f in features)
    ingest = json.loads((root / "reports/metrics/ingest.json").read_text())
    assert ingest["rows_kept"] == len(raw) and ingest["dataset"] == "my_applications"
    limits = json.loads((root / "reports/metrics/limits.json").read_text())
    assert limits["binding_cap"].get("affordability", 0) > 0  # income role drives the cap
    assert json.loads((root / "reports/metrics/evaluate.json").read_text())["auc"] > 0.75
