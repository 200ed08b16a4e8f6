"""The additive family: one column per tree, monotone where declared, exact contributions from
lookup tables that equal XGBoost's TreeSHAP, and points per step."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb

from limitlab.config import TrainParams
from limitlab.errors import InputError
from limitlab.models.additive import LN2, AdditiveBoosting, ColumnTable, compile_tables
from limitlab.models.contributions import raw_feature_contributions
from limitlab.models.families import make_xgboost
from limitlab.models.fit import TrainingSet, fit_family

RNG = np.random.default_rng(3)
N = 4000
X = pd.DataFrame({
    "num__income": RNG.lognormal(4.5, 0.5, N),
    "num__tenure": RNG.integers(0, 120, N).astype(float),
    "cat__home=rent": (RNG.random(N) < 0.3).astype(float),
})  # fmt: skip
X.loc[RNG.random(N) < 0.1, "num__tenure"] = np.nan  # missing values follow each tree's default
LOGIT = (-0.02 * (X["num__income"] - 90) + 0.0004 * (X["num__tenure"].fillna(60) - 60) ** 2
         + 0.6 * X["cat__home=rent"] - 1)  # fmt: skip
Y = (RNG.random(N) < 1 / (1 + np.exp(-LOGIT))).astype(int)
PARAMS = {"max_depth": 4, "learning_rate": 0.1}


def fitted(monotone: dict[str, int] | None = None) -> AdditiveBoosting:
    return AdditiveBoosting(PARAMS, 150, monotone, seed=0).fit(X.iloc[:3000], Y[:3000])


MODEL = fitted({"num__income": -1})


def test_every_tree_splits_on_one_column() -> None:
    trees = MODEL.model_.get_booster().trees_to_dataframe()
    splits = trees[trees["Feature"] != "Leaf"]
    assert splits.groupby("Tree")["Feature"].nunique().max() == 1
    assert splits["Feature"].nunique() == 3  # every column is used, each in trees of its own


def test_lookup_contributions_equal_pred_contribs_on_held_out_rows() -> None:
    held_out = X.iloc[3000:]
    exact = MODEL.model_.get_booster().predict(xgb.DMatrix(held_out), pred_contribs=True)
    looked_up = MODEL.contributions(held_out).to_numpy()
    # pred_contribs is float32: its own rounding is ~1e-7 of the value
    np.testing.assert_allclose(looked_up, exact[:, :-1], rtol=1e-6, atol=1e-6)
    assert MODEL.bias_ == pytest.approx(float(exact[0, -1]), abs=1e-6)
    margin = MODEL.model_.predict(held_out, output_margin=True)
    np.testing.assert_allclose(looked_up.sum(axis=1) + MODEL.bias_, margin, atol=1e-5)
    assert held_out["num__tenure"].isna().any()  # the missing-value entries were exercised


def test_the_tables_predict_what_xgboost_predicts() -> None:
    held_out = X.iloc[3000:]
    found = MODEL.predict_proba(held_out)
    np.testing.assert_allclose(found, MODEL.model_.predict_proba(held_out), atol=1e-6)
    np.testing.assert_allclose(found.sum(axis=1), 1.0)


@pytest.mark.parametrize("n_splits", [0, 1, 7, 255, 300])
def test_counted_intervals_equal_a_binary_search(n_splits: int) -> None:
    rng = np.random.default_rng(n_splits)
    splits = np.unique(rng.normal(size=n_splits).astype(np.float32))
    x = np.concatenate([rng.normal(size=5000), splits, [np.nan, np.inf, -np.inf]])
    x = x.astype(np.float32)
    values = rng.normal(size=len(splits) + 1)
    table = ColumnTable(splits, values, missing=9.0)
    expected = values[np.searchsorted(splits, x, side="right")]
    expected[np.isnan(x)] = 9.0
    np.testing.assert_array_equal(table.lookup(x), expected)


def test_a_tree_on_two_columns_is_refused() -> None:
    free = make_xgboost(PARAMS, 0, n_estimators=20).fit(X, Y)
    with pytest.raises(ValueError, match="expected one column per tree"):
        compile_tables(free.get_booster(), list(X.columns))


def test_pd_never_rises_with_income_under_the_constraint() -> None:
    grid = np.linspace(X["num__income"].min(), X["num__income"].max(), 300)
    probe = pd.DataFrame({"num__income": grid, "num__tenure": 60.0, "cat__home=rent": 0.0})
    assert (np.diff(MODEL.predict_proba(probe)[:, 1]) <= 1e-7).all()
    free = fitted()  # without the constraint the data's noise makes it rise somewhere
    assert (np.diff(free.predict_proba(probe)[:, 1]) > 1e-7).any()


def test_points_table_reads_like_a_scorecard() -> None:
    table = MODEL.points_table(pdo=20)
    assert set(table["column"]) == set(X.columns)
    assert table["points"].to_numpy() == pytest.approx(-table["log_odds"].to_numpy() * 20 / LN2)
    for column, steps in table.groupby("column"):
        bounded = steps[~steps["missing"]]
        assert steps["missing"].sum() == 1
        assert pd.isna(bounded["from"].iloc[0]) and pd.isna(bounded["to"].iloc[-1])  # unbounded
        assert list(bounded["to"].iloc[:-1]) == list(bounded["from"].iloc[1:])  # contiguous
        value = float(bounded["from"].iloc[1]) if len(bounded) > 1 else 0.0
        looked_up = MODEL.contributions(X.head(1).assign(**{column: value}))[column].iloc[0]
        assert looked_up == pytest.approx(bounded["log_odds"].iloc[1 if len(bounded) > 1 else 0])


def test_contributions_sum_to_raw_features() -> None:
    found = raw_feature_contributions(MODEL, X.head(50))
    assert list(found.columns) == ["income", "tenure", "home"]
    np.testing.assert_allclose(found.sum(axis=1), MODEL.contributions(X.head(50)).sum(axis=1))


def test_the_family_needs_its_tuned_settings() -> None:
    data = TrainingSet(spec=None, features=None, raw=X, x=X, y=Y)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="additive needs tuned hyper-parameters"):
        fit_family("additive", data, TrainParams(), 0, None)
