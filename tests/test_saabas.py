"""The Saabas booster's margins equal XGBoost's own approx_contribs, row by row."""

from __future__ import annotations

import weakref

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb

from limitlab.models import saabas
from limitlab.models.contributions import column_contributions
from limitlab.models.saabas import saabas_booster, saabas_contributions
from limitlab.models.tree_shap import pred_contribs

RNG = np.random.default_rng(5)
N = 4000
X = pd.DataFrame({
    "num__income": RNG.lognormal(4.5, 0.5, N),
    "num__utilisation": RNG.random(N),
    "num__tenure": RNG.integers(0, 120, N).astype(float),
    "cat__home=rent": (RNG.random(N) < 0.3).astype(float),
})  # fmt: skip
LOGIT = (-0.02 * (X["num__income"] - 90) + 2 * X["num__utilisation"] * X["cat__home=rent"]
         - 0.01 * X["num__tenure"] - 1)  # fmt: skip
Y = (RNG.random(N) < 1 / (1 + np.exp(-LOGIT))).astype(int)
HOLEY = X.copy()
HOLEY.loc[HOLEY.index[::5], "num__tenure"] = np.nan  # trained with gaps: learned directions
MODELS = {
    "xgboost": xgb.XGBClassifier(n_estimators=60, max_depth=4, learning_rate=0.1, n_jobs=2,
                                 monotone_constraints=(-1, 1, 0, 0), random_state=0),
    "random_forest": xgb.XGBRFClassifier(n_estimators=40, max_depth=6, colsample_bynode=0.6,
                                         n_jobs=2, random_state=0),
    "stumps_and_one_feature": xgb.XGBClassifier(n_estimators=30, max_depth=3, n_jobs=2,
                                                interaction_constraints=[[c] for c in X.columns],
                                                random_state=0),
}  # fmt: skip
for _model in MODELS.values():
    _model.fit(HOLEY, Y)


@pytest.fixture
def always_rewritten(monkeypatch: pytest.MonkeyPatch) -> None:
    """The rewritten booster for every depth (by default deep trees take XGBoost's routine)."""
    monkeypatch.setattr(saabas, "MAX_FEATURES_PER_TREE", float("inf"))
    monkeypatch.setattr(saabas, "_boosters", weakref.WeakKeyDictionary())


@pytest.mark.usefixtures("always_rewritten")
@pytest.mark.parametrize("family", list(MODELS))
@pytest.mark.parametrize("matrix", [X, HOLEY], ids=["complete", "missing values"])
def test_saabas_booster_equals_approx_contribs(family: str, matrix: pd.DataFrame) -> None:
    model = MODELS[family]
    assert saabas_booster(model.get_booster()) is not None
    fast = saabas_contributions(model, matrix)
    xgboost_own = pred_contribs(model, matrix, approx=True)
    assert fast.shape == xgboost_own.shape == matrix.shape
    np.testing.assert_allclose(fast, xgboost_own, atol=1e-5)
    exact = pred_contribs(model, matrix)
    if family == "stumps_and_one_feature":  # one feature per tree: Saabas is exact
        np.testing.assert_allclose(fast, exact, atol=1e-5)
    else:
        assert np.abs(fast - exact).max() > 1e-3  # Saabas, not the Shapley values


def test_a_row_alone_gets_what_it_gets_in_a_batch() -> None:
    model = MODELS["xgboost"]
    batch = saabas_contributions(model, HOLEY)
    for row in (0, 5, 1234):
        np.testing.assert_array_equal(saabas_contributions(model, HOLEY.iloc[[row]])[0],
                                      batch[row])  # fmt: skip


def test_the_derived_booster_has_one_tree_per_feature_a_tree_splits_on() -> None:
    model = MODELS["stumps_and_one_feature"]  # one feature per tree: as many trees as before
    trees = model.get_booster().trees_to_dataframe()
    split = trees[trees["Feature"] != "Leaf"].groupby("Tree")["Feature"].nunique()
    derived = saabas_booster(model.get_booster())
    assert derived is not None
    assert derived.num_boosted_rounds() >= 1
    assert len(derived.get_dump()) == int(split.sum()) == len(split)


def test_column_contributions_take_the_saabas_booster_when_approximate() -> None:
    model = MODELS["xgboost"]
    found = column_contributions(model, X.iloc[:50], approx=True)
    assert list(found.columns) == list(X.columns)
    np.testing.assert_array_equal(found.to_numpy(), saabas_contributions(model, X.iloc[:50]))


def test_an_empty_batch_gets_an_empty_matrix() -> None:
    assert saabas_contributions(MODELS["xgboost"], X.iloc[:0]).shape == (0, 4)


def test_models_with_nothing_to_rewrite_get_xgboost_own_values() -> None:
    flat = xgb.XGBClassifier(n_estimators=3, max_depth=2, min_child_weight=1e6, n_jobs=2)
    linear = xgb.XGBClassifier(n_estimators=3, booster="gblinear", n_jobs=2)
    for model in (flat.fit(X, Y), linear.fit(X, Y)):  # trees without a split; no trees
        assert saabas_booster(model.get_booster()) is None
        np.testing.assert_array_equal(saabas_contributions(model, X.iloc[:100]),
                                      pred_contribs(model, X.iloc[:100], approx=True))  # fmt: skip


def test_deep_trees_take_xgboost_own_routine_and_shallow_ones_the_rewrite() -> None:
    wide = pd.DataFrame(RNG.normal(size=(3000, 12)), columns=[f"num__x{i}" for i in range(12)])
    y = (RNG.random(3000) < 1 / (1 + np.exp(-wide.sum(axis=1) / 3))).astype(int)
    deep = xgb.XGBRFClassifier(n_estimators=20, max_depth=6, n_jobs=2, random_state=0)
    shallow = xgb.XGBClassifier(n_estimators=20, max_depth=2, n_jobs=2, random_state=0)
    deep.fit(wide, y)
    shallow.fit(wide, y)
    assert saabas_booster(deep.get_booster()) is None  # many features a tree: rewrite slower
    assert saabas_booster(shallow.get_booster()) is not None
    np.testing.assert_array_equal(saabas_contributions(deep, wide.iloc[:200]),
                                  pred_contribs(deep, wide.iloc[:200], approx=True))  # fmt: skip
