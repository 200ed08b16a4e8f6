"""Exact TreeSHAP on large batches (WOODELF) equals XGBoost's pred_contribs, reasons included."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb
from pydantic import ValidationError

from limitlab.config import ReasonsParams
from limitlab.limits.reasons import driver_order
from limitlab.models import tree_shap
from limitlab.models.contributions import raw_feature_contributions
from limitlab.models.tree_shap import exact_contributions, pred_contribs, uses_woodelf

RNG = np.random.default_rng(11)
N = tree_shap.WOODELF_MIN_ROWS + 2000
X = pd.DataFrame({
    "num__income": RNG.lognormal(4.5, 0.5, N),
    "num__utilisation": RNG.random(N),
    "num__tenure": RNG.integers(0, 120, N).astype(float),
    "cat__home=rent": (RNG.random(N) < 0.3).astype(float),
    "cat__home=own": (RNG.random(N) < 0.4).astype(float),
})  # fmt: skip
LOGIT = (-0.02 * (X["num__income"] - 90) + 2 * X["num__utilisation"] * X["cat__home=rent"]
         - 0.01 * X["num__tenure"] - 1)  # fmt: skip
Y = (RNG.random(N) < 1 / (1 + np.exp(-LOGIT))).astype(int)
MONOTONE = (-1, 1, 0, 0, 0)
MODELS = {
    "xgboost": xgb.XGBClassifier(n_estimators=80, max_depth=5, learning_rate=0.1, n_jobs=2,
                                 monotone_constraints=MONOTONE, random_state=0),
    "random_forest": xgb.XGBRFClassifier(n_estimators=60, max_depth=7, colsample_bynode=0.6,
                                         n_jobs=2, monotone_constraints=MONOTONE, random_state=0),
}  # fmt: skip
for _model in MODELS.values():
    _model.fit(X, Y)


@pytest.mark.parametrize("family", list(MODELS))
def test_large_batches_take_woodelf_and_equal_pred_contribs(family: str) -> None:
    model = MODELS[family]
    assert uses_woodelf(X)
    fast = exact_contributions(model, X)
    exact = pred_contribs(model, X)
    # both float32 sums over the trees: they agree to float32 rounding of the sum
    np.testing.assert_allclose(fast, exact, atol=1e-4)
    assert np.abs(fast - exact).max() > 0  # a different algorithm ran, not pred_contribs again
    margin = model.get_booster().predict(xgb.DMatrix(X), output_margin=True)
    bias = model.get_booster().predict(xgb.DMatrix(X.iloc[:1]), pred_contribs=True)[0, -1]
    np.testing.assert_allclose(fast.sum(axis=1) + bias, margin, atol=1e-4)


@pytest.mark.parametrize("family", list(MODELS))
def test_fast_reasons_equal_pred_contribs_reasons_on_a_sample(family: str) -> None:
    model = MODELS[family]
    fast = raw_feature_contributions(model, X)
    sample = X.sample(2000, random_state=1)
    exact = raw_feature_contributions(model, sample)  # small batch: pred_contribs
    assert not uses_woodelf(sample)
    assert list(fast.columns) == ["income", "utilisation", "tenure", "home"]
    # the drivers the reasons name, in order, up to ties closer than float32 rounding
    gaps = np.diff(np.sort(exact.to_numpy(), axis=1), axis=1).min(axis=1)
    clear = gaps > 1e-4
    assert clear.mean() > 0.9
    ranked = driver_order(fast.loc[sample.index].to_numpy())
    assert (ranked[clear] == driver_order(exact.to_numpy())[clear]).all()


def test_a_matrix_with_missing_values_stays_on_pred_contribs() -> None:
    holey = X.copy()
    holey.loc[holey.index[::7], "num__tenure"] = np.nan
    assert not uses_woodelf(holey)
    model = MODELS["xgboost"]
    np.testing.assert_array_equal(exact_contributions(model, holey), pred_contribs(model, holey))


def test_chunked_batches_give_the_same_values(monkeypatch: pytest.MonkeyPatch) -> None:
    model = MODELS["xgboost"]
    whole = exact_contributions(model, X)
    monkeypatch.setattr(tree_shap, "WOODELF_CHUNK_ROWS", 5000)  # three chunks, the last short
    np.testing.assert_array_equal(exact_contributions(model, X), whole)


def test_the_approximate_attribution_says_so_by_name() -> None:
    assert ReasonsParams(contributions="saabas_approximate").contributions == "saabas_approximate"
    with pytest.raises(ValidationError, match="saabas_approximate"):
        ReasonsParams(contributions="approx")
