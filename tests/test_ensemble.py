"""The ensemble family: non-negative stacking keeps its members' monotonicity, and its
contributions are its members' weighted the same way."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from xgboost import XGBClassifier

from limitlab.models.calibration import logit
from limitlab.models.contributions import raw_feature_contributions
from limitlab.models.ensemble import StackedPD, cross_fitted, fit_stacking
from limitlab.models.out_of_fold import fold_indices

RNG = np.random.default_rng(0)
N = 2000
X = pd.DataFrame({"debt": RNG.normal(size=N), "tenure": RNG.normal(size=N)})
Y = (RNG.random(N) < 1 / (1 + np.exp(-(1.2 * X["debt"] - 0.8 * X["tenure"])))).astype(int)


def members() -> dict[str, Pipeline]:
    """Two members whose PD never falls with debt and never rises with tenure."""
    boosted = XGBClassifier(n_estimators=40, max_depth=3, monotone_constraints=(1, -1),
                            random_state=0, n_jobs=1)  # fmt: skip
    features = StandardScaler().set_output(transform="pandas").fit(X)
    linear = Pipeline([("scale", StandardScaler().set_output(transform="pandas")),
                       ("model", LogisticRegression())]).fit(features.transform(X), Y)  # fmt: skip
    return {
        "xgboost": Pipeline([("features", "passthrough"), ("model", boosted.fit(X, Y))]),
        "logistic": Pipeline([("features", features), ("model", linear)]),
    }


MEMBERS = members()


def grid(column: str) -> pd.DataFrame:
    frame = pd.DataFrame({"debt": np.zeros(200), "tenure": np.zeros(200)})
    frame[column] = np.linspace(-3, 3, 200)
    return frame


@settings(max_examples=40, deadline=None)
@given(
    intercept=st.floats(-3, 3),
    w_xgb=st.floats(0, 5),
    w_log=st.floats(0, 5),
    other=st.floats(-2, 2),
)
def test_property_the_blend_is_monotone_where_every_member_is(intercept, w_xgb, w_log, other):
    model = StackedPD(MEMBERS, intercept, {"xgboost": w_xgb, "logistic": w_log})
    up = grid("debt").assign(tenure=other)
    down = grid("tenure").assign(debt=other)
    assert np.all(np.diff(model.predict_proba(up)[:, 1]) >= -1e-12)
    assert np.all(np.diff(model.predict_proba(down)[:, 1]) <= 1e-12)


def test_weights_are_never_negative_even_for_a_member_that_points_the_wrong_way() -> None:
    good = 1 / (1 + np.exp(-1.2 * X["debt"].to_numpy()))  # right, but misses tenure
    noise = np.random.default_rng(5).normal(size=N)
    backwards = 1 / (1 + np.exp(-(0.8 * X["tenure"].to_numpy() + noise)))  # tenure's sign flipped
    _, weights = fit_stacking(np.column_stack([good, backwards]), Y)
    assert weights[0] > 0.5 and weights[1] == 0.0
    free = LogisticRegression(C=1e6).fit(logit(np.column_stack([good, backwards])), Y)
    assert free.coef_[0].min() < 0  # unconstrained stacking would have used it


def test_the_ensembles_own_out_of_fold_pds_come_from_weights_fitted_without_their_rows() -> None:
    scores = np.column_stack([np.clip(RNG.random(N), 0.01, 0.99) for _ in range(2)])
    folds = fold_indices(Y, 5, 1, seed=1)
    blended = cross_fitted(scores, Y, folds)
    for fit_rows, scored_rows in folds:
        b, w = fit_stacking(scores[fit_rows], Y[fit_rows])
        expected = 1 / (1 + np.exp(-(b + logit(scores[scored_rows]) @ w)))
        np.testing.assert_allclose(blended[scored_rows], expected, rtol=1e-12)


def test_contributions_sum_to_the_blends_log_odds_up_to_a_constant() -> None:
    oof = {name: m.predict_proba(X)[:, 1] for name, m in MEMBERS.items()}
    model = StackedPD.from_out_of_fold(MEMBERS, oof, Y)
    assert all(w >= 0 for w in model.weights.values())
    rows = X.iloc[:300]
    contributions = raw_feature_contributions(model, rows)
    assert list(contributions.columns) == ["debt", "tenure"]
    offset = logit(model.predict_proba(rows)[:, 1]) - contributions.sum(axis=1).to_numpy()
    assert np.ptp(offset) < 1e-5  # exact: only the members' base values and b remain


class _Unscorable(Pipeline):
    """A member that fails whenever it is asked for a PD or its features."""

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        raise AssertionError("a member weighted 0 was scored")

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        raise AssertionError("a member weighted 0 was explained")


def test_a_member_weighted_zero_is_neither_scored_nor_explained() -> None:
    weights = {"xgboost": 0.7, "logistic": 0.4}
    full = StackedPD(MEMBERS, 0.2, weights)
    unscorable = _Unscorable([("features", "passthrough"), ("model", LogisticRegression())])
    blend = StackedPD({**MEMBERS, "forest": unscorable}, 0.2, {**weights, "forest": 0.0})
    rows = X.iloc[:300]
    np.testing.assert_array_equal(blend.predict_proba(rows), full.predict_proba(rows))
    pd.testing.assert_frame_equal(
        raw_feature_contributions(blend, rows), raw_feature_contributions(full, rows)
    )
    assert list(blend.active_weights) == ["xgboost", "logistic"]
    assert blend.stacking() == {"intercept": 0.2, "weights": {**weights, "forest": 0.0}}


def test_an_ensemble_with_every_weight_zero_gives_its_intercepts_pd() -> None:
    blend = StackedPD(MEMBERS, -1.5, {"xgboost": 0.0, "logistic": 0.0})
    expected = 1 / (1 + np.exp(1.5))
    np.testing.assert_allclose(blend.predict_proba(X.iloc[:5])[:, 1], expected, rtol=1e-12)
