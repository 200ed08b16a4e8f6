"""The scorecard's WoE lookup tables give what optbinning's own transform gives, on every value."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

from limitlab.config import ScorecardParams
from limitlab.models.families import ScorecardModel


def applicants(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    income = rng.lognormal(4.5, 0.5, n)
    assets = np.where(rng.uniform(size=n) < 0.3, 0.0, rng.lognormal(8, 1, n))
    job = rng.choice(["fixed", "partime", "freelance", "others"], n)
    logit = -1 - 0.02 * (income - 90) + (job == "partime") * 1.0 - 0.2 * (assets > 0)
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-logit))).astype(int)
    x = pd.DataFrame({"income": income, "assets": assets, "job": job})
    x.loc[rng.uniform(size=n) < 0.05, "income"] = np.nan
    x.loc[rng.uniform(size=n) < 0.05, "job"] = None
    return x, y


@pytest.fixture(scope="module")
def model() -> ScorecardModel:
    x, y = applicants(3000, seed=0)
    params = ScorecardParams(special_codes={"assets": [0.0]})
    return ScorecardModel(["income", "assets"], ["job"], params).fit(x, y)


def optbinning_woe(model: ScorecardModel, x: pd.DataFrame) -> pd.DataFrame:
    card = model.scorecard_
    return card.binning_process_.transform(model._inputs(x), metric="woe",
                                           metric_special=card._metric_special,
                                           metric_missing=card._metric_missing)  # fmt: skip


def edge_rows(model: ScorecardModel) -> pd.DataFrame:
    """Every split, a hair either side of it, the special code, missing values and a job
    level the fit never saw."""
    splits = model.scorecard_.binning_process_.get_binned_variable("income").splits
    income = [*splits, *np.nextafter(splits, -np.inf), *np.nextafter(splits, np.inf), np.nan,
              -1e12, 1e12, 0.0]  # fmt: skip
    n = len(income)
    jobs = ["fixed", "partime", "freelance", "others", "retired", None, "missing"]
    return pd.DataFrame({"income": income, "assets": ([0.0, np.nan, 5.0, 3000.0, 1e9] * n)[:n],
                         "job": (jobs * n)[:n]})  # fmt: skip


def test_tables_equal_optbinning_on_held_out_and_edge_rows(model: ScorecardModel) -> None:
    held_out, _ = applicants(2000, seed=1)
    for rows in (held_out, edge_rows(model)):
        expected = optbinning_woe(model, rows)
        got = model.woe(rows)
        assert list(got.columns) == list(expected.columns)
        np.testing.assert_array_equal(got.to_numpy(), expected.to_numpy())
        np.testing.assert_allclose(model.predict_proba(rows),
                                   model.scorecard_.predict_proba(model._inputs(rows)),
                                   rtol=0, atol=1e-12)  # fmt: skip


def test_a_row_scores_the_same_alone_as_in_a_batch(model: ScorecardModel) -> None:
    rows, _ = applicants(50, seed=2)
    batch = model.predict_proba(rows)[:, 1]
    alone = [model.predict_proba(rows.iloc[[i]])[0, 1] for i in range(len(rows))]
    np.testing.assert_allclose(alone, batch, rtol=0, atol=1e-15)


def test_the_tables_are_not_pickled_with_the_model(model: ScorecardModel) -> None:
    rows = applicants(10, seed=3)[0]
    model.predict_proba(rows)
    model.contributions(rows)
    saved = pickle.dumps(model)
    assert b"woe_tables" not in saved  # built again on first use after loading
    loaded = pickle.loads(saved)
    np.testing.assert_array_equal(loaded.predict_proba(rows), model.predict_proba(rows))
