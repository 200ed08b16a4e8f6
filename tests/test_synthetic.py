"""The synthetic portfolio: deterministic, consistent with its panel, truth never a feature."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from limitlab.config import DataParams, SyntheticParams
from limitlab.data.ingest import file_sha256
from limitlab.data.specs import resolve_spec
from limitlab.data.synthetic import APPLICATIONS, PANEL, TARGET, TRUTH, generate
from limitlab.evaluation.metrics import truth_metrics

SMALL = SyntheticParams(rows=12_000, seed=5, chunk_rows=5_000, write_panel=True)


@pytest.fixture(scope="module")
def portfolio(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synthetic") / "synthetic"
    counts = generate(SMALL, out)
    assert counts == {"rows": 12_000, "parts": 3, "bad_rate": counts["bad_rate"],
                      "panel_rows": 144_000}  # fmt: skip
    return out


def test_same_seed_same_files_other_seed_other_data(portfolio: Path, tmp_path: Path) -> None:
    again = generate(SMALL, tmp_path / "again")
    assert again["bad_rate"] == pd.read_parquet(portfolio / APPLICATIONS)[TARGET].mean()
    assert file_sha256(tmp_path / "again" / APPLICATIONS) == file_sha256(portfolio / APPLICATIONS)
    other = generate(SMALL.model_copy(update={"seed": 6}), tmp_path / "other")
    assert file_sha256(tmp_path / "other" / APPLICATIONS) != file_sha256(portfolio / APPLICATIONS)
    assert other["rows"] == 12_000


def test_outcome_follows_the_true_pd(portfolio: Path) -> None:
    frame = pd.read_parquet(portfolio / APPLICATIONS)
    assert frame["customer_id"].is_unique and len(frame) == 12_000
    assert 0.04 < frame[TARGET].mean() < 0.14
    assert frame[TARGET].mean() == pytest.approx(frame[TRUTH].mean(), abs=0.01)
    top = frame[TRUTH] > frame[TRUTH].quantile(0.9)
    assert frame.loc[top, TARGET].mean() > 3 * frame.loc[~top, TARGET].mean()
    assert frame["utilisation_mean_12m"].dtype == np.float32  # compact dtypes on disk


def test_behaviour_features_summarise_the_monthly_panel(portfolio: Path) -> None:
    frame = pd.read_parquet(portfolio / APPLICATIONS).set_index("customer_id")
    panel = pd.read_parquet(portfolio / PANEL)
    assert len(panel) == 12 * len(frame)
    assert not panel.duplicated(["customer_id", "month"]).any()
    by_customer = panel.groupby("customer_id")
    assert np.allclose(by_customer["dpd"].max(), frame["max_dpd_12m"])
    assert np.allclose(by_customer["utilisation"].mean(), frame["utilisation_mean_12m"], atol=1e-5)
    assert (panel["balance"] <= panel["limit"] * 1.2 + 1e-3).all()


def test_truth_is_declared_but_never_a_feature() -> None:
    spec = resolve_spec(DataParams(dataset="synthetic"))
    assert spec.truth == TRUTH and TRUTH in spec.declared_columns
    assert TRUTH not in spec.features and TARGET not in spec.features


def test_truth_metrics_on_known_cases() -> None:
    rng = np.random.default_rng(0)
    truth = rng.uniform(0.01, 0.5, 20_000)
    y = (rng.random(20_000) < truth).astype(int)
    perfect = truth_metrics(y, truth, truth)
    assert perfect["auc_ratio"] == 1.0 and perfect["ece_vs_true_pd"] == 0.0
    doubled = truth_metrics(y, np.minimum(truth * 2, 1), truth)
    assert doubled["auc_ratio"] == pytest.approx(1.0)  # same order, same AUC
    assert doubled["ece_vs_true_pd"] == pytest.approx(truth.mean(), rel=0.02)
    noisy = truth_metrics(y, np.clip(truth + rng.normal(0, 0.2, 20_000), 0, 1), truth)
    assert noisy["auc_ratio"] < 0.95
