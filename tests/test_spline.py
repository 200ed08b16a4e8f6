"""The spline family: a penalised-spline logistic GAM, monotone where declared."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from limitlab.errors import InputError
from limitlab.models.contributions import raw_feature_contributions
from limitlab.models.spline import SplineGAM, column_basis


def applicants(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """A U-shape in age, a hinge in utilisation, a level of a category; the true PD."""
    rng = np.random.default_rng(seed)
    age = rng.uniform(18, 80, n)
    util = rng.uniform(0, 1, n)
    rent = (rng.random(n) < 0.4).astype(float)
    logit = -2.5 + 0.002 * (age - 45) ** 2 + 3.0 * np.maximum(util - 0.6, 0) + 0.6 * rent
    truth = 1 / (1 + np.exp(-logit))
    y = (rng.random(n) < truth).astype(int)
    x = pd.DataFrame({"num__age": age, "num__util": util, "cat__home=rent": rent})
    return x, y, truth


X, Y, TRUTH = applicants(8000, 1)
X_TEST, Y_TEST, TRUTH_TEST = applicants(4000, 2)


def test_the_basis_rises_from_zero_to_one_and_stays_flat_outside_the_knots() -> None:
    knots = np.array([0.0, 1.0, 2.0, 5.0])
    grid = np.linspace(-3, 8, 500)
    basis = column_basis(grid, knots)
    assert basis.shape == (500, len(knots) + 3 - 1 - 1)  # B-splines less the constant one
    assert (np.diff(basis, axis=0) >= -1e-12).all()
    assert np.allclose(basis[grid <= 0], 0.0) and np.allclose(basis[grid >= 5], 1.0)
    linear = column_basis(np.array([-1.0, 0.0, 0.5, 1.0, 2.0]), np.array([0.0, 1.0]))
    assert linear[:, 0].tolist() == [0.0, 0.0, 0.5, 1.0, 1.0]  # a binary column: 0 / 1 kept


def test_it_recovers_a_nonlinear_pd_better_than_a_straight_line() -> None:
    gam = SplineGAM(n_knots=6, alpha=1.0).fit(X, Y)
    pd_ = gam.predict_proba(X_TEST)[:, 1]
    assert roc_auc_score(Y_TEST, pd_) > 0.99 * roc_auc_score(Y_TEST, TRUTH_TEST)
    error = np.abs(pd_ - TRUTH_TEST).mean()
    line = LogisticRegression(C=1.0, max_iter=2000).fit(X, Y).predict_proba(X_TEST)[:, 1]
    assert error < 0.5 * np.abs(line - TRUTH_TEST).mean()


def test_its_contributions_are_exact_and_sum_to_the_log_odds() -> None:
    gam = SplineGAM(n_knots=5, alpha=3.0).fit(X, Y)
    parts = gam.contributions(X_TEST)
    assert list(parts.columns) == list(X.columns)
    margin = gam.decision_function(X_TEST)
    spread = margin - parts.sum(axis=1).to_numpy()  # the mean log-odds of the training rows
    assert np.ptp(spread) < 1e-9
    assert np.allclose(gam.contributions(X).mean(axis=0), 0.0, atol=1e-9)
    raw = raw_feature_contributions(gam, X_TEST.head(50))
    assert list(raw.columns) == ["age", "util", "home"]
    ages = np.array([20.0, 45.0, 75.0])
    curve = gam.curve("num__age", ages)
    assert curve[1] < curve[0] and curve[1] < curve[2]  # the U-shape, read off the model


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    sign=st.sampled_from([1, -1]),
    alpha=st.floats(0.01, 50.0),
    n_knots=st.integers(3, 9),
)
def test_property_a_declared_column_never_moves_the_pd_the_wrong_way(
    seed: int, sign: int, alpha: float, n_knots: int
) -> None:
    rng = np.random.default_rng(seed)
    x, y, _ = applicants(1500, seed)
    x = x.assign(**{"num__noise": rng.normal(size=len(x))})  # no true effect: wiggles if free
    gam = SplineGAM(n_knots, alpha, {"num__age": sign, "num__noise": sign}).fit(x, y)
    for column in ("num__age", "num__noise"):
        grid = np.linspace(x[column].min() - 1, x[column].max() + 1, 300)
        steps = np.diff(gam.curve(column, grid))
        assert (sign * steps >= -1e-9).all()


def test_a_free_fit_is_not_monotone_so_the_constraint_does_something() -> None:
    free = SplineGAM(6, 1.0).fit(X, Y)
    grid = np.linspace(18, 80, 200)
    steps = np.diff(free.curve("num__age", grid))
    assert (steps < 0).any() and (steps > 0).any()
    bound = SplineGAM(6, 1.0, {"num__age": 1}).fit(X, Y)
    assert (np.diff(bound.curve("num__age", grid)) >= -1e-9).all()


def test_the_same_data_gives_the_same_model() -> None:
    a = SplineGAM(5, 2.0, {"num__util": 1}).fit(X, Y)
    b = SplineGAM(5, 2.0, {"num__util": 1}).fit(X, Y)
    assert np.array_equal(a.coef_, b.coef_) and a.intercept_ == b.intercept_


@pytest.mark.parametrize(
    ("model", "message"),
    [
        (SplineGAM(n_knots=2), "spline: n_knots 2; expected at least 3"),
        (SplineGAM(alpha=0.0), "spline: alpha 0.0; expected a positive number"),
        (SplineGAM(monotone={"num__income": 1}), r"monotone column\(s\) \['num__income'\]"),
    ],
)
def test_bad_settings_are_refused_naming_them(model: SplineGAM, message: str) -> None:
    with pytest.raises(InputError, match=message):
        model.fit(X, Y)


def test_missing_values_and_wrong_columns_are_refused() -> None:
    with pytest.raises(InputError, match=r"spline: column 'num__age' has missing \(NaN\) or inf"):
        SplineGAM().fit(X.assign(**{"num__age": np.nan}), Y)
    with pytest.raises(InputError, match="spline: column 'num__util' has missing"):
        SplineGAM().fit(X.assign(**{"num__util": np.inf}), Y)
    gam = SplineGAM().fit(X, Y)
    with pytest.raises(ValueError, match="feature names"):
        gam.predict_proba(X.rename(columns={"num__age": "num__years"}))


def test_the_fast_curves_equal_the_design_matrix_they_replace() -> None:
    gam = SplineGAM(n_knots=6, alpha=2.0, monotone={"num__util": 1}).fit(X, Y)
    probe = pd.concat([X_TEST, X_TEST.head(3) * 5 - 40, X_TEST.head(3) * 0]).reset_index(drop=True)
    z, _ = gam._design(probe)  # the basis the model was fitted on, beyond the range too
    np.testing.assert_allclose(gam.decision_function(probe), gam.intercept_ + z @ gam.coef_,
                               rtol=0, atol=1e-10)  # fmt: skip
    np.testing.assert_allclose(gam.contributions(probe).to_numpy(),
                               gam._terms(z) - gam.term_means_, rtol=0, atol=1e-10)  # fmt: skip


def test_a_saved_model_loads_and_scores_the_same_and_the_same_fit_saves_the_same_bytes(
    tmp_path,
) -> None:
    import joblib

    from limitlab.io import dump_model

    for name in ("a", "b"):
        dump_model(SplineGAM(5, 2.0, {"num__util": 1}).fit(X, Y), tmp_path / f"{name}.joblib")
    assert (tmp_path / "a.joblib").read_bytes() == (tmp_path / "b.joblib").read_bytes()
    loaded = joblib.load(tmp_path / "a.joblib")
    fresh = SplineGAM(5, 2.0, {"num__util": 1}).fit(X, Y)
    np.testing.assert_array_equal(loaded.predict_proba(X_TEST), fresh.predict_proba(X_TEST))


def test_a_row_scores_the_same_alone_and_in_a_batch() -> None:
    """The server joins concurrent requests into one call: each row's PD must not depend on
    the rows scored with it, to the last bit."""
    gam = SplineGAM(5, 2.0, {"num__util": 1}).fit(X, Y)
    batch = gam.predict_proba(X_TEST.head(300))
    alone = np.vstack([gam.predict_proba(X_TEST.iloc[[i]]) for i in range(300)])
    np.testing.assert_array_equal(batch, alone)
    parts = gam.contributions(X_TEST.head(50))
    singles = pd.concat([gam.contributions(X_TEST.iloc[[i]]) for i in range(50)])
    pd.testing.assert_frame_equal(parts, singles, check_exact=True)
