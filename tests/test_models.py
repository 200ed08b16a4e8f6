"""Model families: monotone constraints, the scorecard, calibration, DeLong CI and PSI."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.pipeline import Pipeline

from limitlab.config import RandomForestParams, ScorecardParams
from limitlab.data.specs import DatasetSpec
from limitlab.evaluation.metrics import (
    auc_confidence_interval,
    expected_calibration_error,
    population_stability_index,
)
from limitlab.models.additive import AdditiveBoosting
from limitlab.models.calibration import CalibratedPD, calibration_slope_intercept
from limitlab.models.contributions import raw_feature_contributions, source_feature
from limitlab.models.families import (
    ScorecardModel,
    make_random_forest,
    make_xgboost,
    monotone_constraints,
)
from limitlab.models.spline import SplineGAM

SPEC = DatasetSpec(name="t", path="t.csv", target="s", bad_value="bad",
                   monotone={"income": -1, "arrears=yes": 1})  # fmt: skip


def synthetic(n: int = 3000, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    income = rng.lognormal(4.5, 0.6, n)
    arrears = rng.uniform(size=n) < 0.2
    noise = rng.normal(size=n)
    # a true PD that falls with income but with a bump the trees would otherwise chase
    logit = -1 - 0.015 * (income - 90) + 1.2 * arrears + 0.8 * np.sin(income / 8) + 0.5 * noise
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-logit))).astype(int)
    x = pd.DataFrame({"num__income": income, "num__missingindicator_income": 0.0,
                      "cat__arrears=yes": arrears.astype(float)})  # fmt: skip
    return x, y


def test_constraints_map_declared_features_and_levels_only() -> None:
    columns = ["num__income", "num__missingindicator_income", "cat__arrears=yes", "num__age"]
    assert monotone_constraints(columns, SPEC) == {"num__income": -1, "cat__arrears=yes": 1}


def test_pd_never_rises_with_income_under_the_constraint() -> None:
    x, y = synthetic()
    params = {"max_depth": 4, "learning_rate": 0.2}
    constrained = make_xgboost(params, 0, monotone_constraints(list(x.columns), SPEC),
                               n_estimators=200).fit(x, y)  # fmt: skip
    free = make_xgboost(params, 0, None, n_estimators=200).fit(x, y)
    grid = np.linspace(x["num__income"].min(), x["num__income"].max(), 400)
    for arrears in (0.0, 1.0):
        probe = pd.DataFrame({"num__income": grid, "num__missingindicator_income": 0.0,
                              "cat__arrears=yes": arrears})  # fmt: skip
        pd_constrained = constrained.predict_proba(probe)[:, 1]
        assert (np.diff(pd_constrained) <= 1e-7).all()
        assert (np.diff(free.predict_proba(probe)[:, 1]) > 1e-7).any()  # the test can fail
    at = x.head(200).assign(**{"cat__arrears=yes": 0.0})
    with_arrears = at.assign(**{"cat__arrears=yes": 1.0})
    assert (
        constrained.predict_proba(with_arrears)[:, 1] >= constrained.predict_proba(at)[:, 1]
    ).all()


def test_the_random_forest_is_monotone_where_declared_and_its_contributions_are_exact() -> None:
    x, y = synthetic()
    forest = RandomForestParams(n_estimators=100, max_depth=6)
    constrained = make_random_forest(forest, 0, monotone_constraints(list(x.columns), SPEC))
    constrained.fit(x, y)
    free = make_random_forest(forest, 0).fit(x, y)
    grid = np.linspace(x["num__income"].min(), x["num__income"].max(), 400)
    probe = pd.DataFrame({"num__income": grid, "num__missingindicator_income": 0.0,
                          "cat__arrears=yes": 0.0})  # fmt: skip
    assert (np.diff(constrained.predict_proba(probe)[:, 1]) <= 1e-7).all()
    assert (np.diff(free.predict_proba(probe)[:, 1]) > 1e-7).any()  # the test can fail
    contributions = raw_feature_contributions(constrained, x.head(300))
    assert list(contributions.columns) == ["income", "arrears"]
    margin = constrained.get_booster().predict(xgb.DMatrix(x.head(300)), output_margin=True)
    spread = margin - contributions.sum(axis=1).to_numpy()  # the base value: one constant
    assert np.ptp(spread) < 1e-4


def test_scorecard_points_table_and_contributions() -> None:
    rng = np.random.default_rng(1)
    n = 2000
    x = pd.DataFrame({"income": rng.lognormal(4.5, 0.5, n), "job": rng.choice(["a", "b", "c"], n)})
    logit = -1 - 0.02 * (x["income"] - 90) + (x["job"] == "c") * 1.0
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-logit))).astype(int).to_numpy()
    model = ScorecardModel(["income"], ["job"], ScorecardParams()).fit(x, y)
    table = model.points_table()
    assert {"Variable", "Bin", "WoE", "Points"} <= set(table.columns)
    assert set(table["Variable"]) == {"income", "job"}
    pd_ = model.predict_proba(x)[:, 1]
    assert np.corrcoef(pd_, model.points(x))[0, 1] < -0.9  # more points, lower PD
    contributions = raw_feature_contributions(model, x)
    assert list(contributions.columns) == ["income", "job"]
    assert (contributions.to_numpy() >= -1e-9).all()  # points lost against the best bin
    assert (contributions.min() <= 1e-9).all()  # the best bin loses nothing


def test_calibration_repairs_a_miscalibrated_model() -> None:
    rng = np.random.default_rng(2)
    n = 20000
    true_pd = rng.beta(2, 5, n)
    y = (rng.uniform(size=n) < true_pd).astype(int)

    class Overconfident(ClassifierMixin, BaseEstimator):
        def fit(self, X: np.ndarray, y: np.ndarray) -> Overconfident:
            self.classes_ = np.array([0, 1])
            return self

        def predict_proba(self, X: np.ndarray) -> np.ndarray:
            p = np.clip(X[:, 0] ** 0.5, 1e-6, 1 - 1e-6)  # systematically too high
            return np.column_stack([1 - p, p])

    x = true_pd.reshape(-1, 1)
    half = n // 2
    raw = Overconfident().predict_proba(x[half:])[:, 1]
    for method in ("platt", "isotonic"):
        model = CalibratedPD(Overconfident(), method).fit(x[:half], y[:half])
        fixed = model.predict_proba(x[half:])[:, 1]
        before = expected_calibration_error(y[half:], raw)
        after = expected_calibration_error(y[half:], fixed)
        assert after < before / 3, (method, before, after)
    slope, intercept = calibration_slope_intercept(y, true_pd)
    assert slope == pytest.approx(1, abs=0.1) and intercept == pytest.approx(0, abs=0.1)


def test_delong_interval_covers_the_auc_and_narrows_with_data() -> None:
    rng = np.random.default_rng(3)

    def draw(n):
        p = rng.uniform(size=n)
        return (rng.uniform(size=n) < p).astype(int), p

    auc, low, high = auc_confidence_interval(*draw(500))
    assert low < auc < high
    _, low_big, high_big = auc_confidence_interval(*draw(20000))
    assert high_big - low_big < (high - low) / 4


def test_psi_is_near_zero_for_the_same_population_and_large_for_a_shift() -> None:
    rng = np.random.default_rng(4)
    a, b = rng.beta(2, 5, 20000), rng.beta(2, 5, 20000)
    assert population_stability_index(a, b) < 0.01
    assert population_stability_index(a, np.clip(b + 0.15, 0, 1)) > 0.25


def test_source_feature_names() -> None:
    assert source_feature("cat__Job=fixed") == "Job"
    assert source_feature("num__missingindicator_Income") == "Income"
    assert source_feature("num__debt_to_income") == "debt_to_income"


def test_the_same_fit_pickles_to_the_same_bytes() -> None:
    import pickle

    rng = np.random.default_rng(1)
    x = pd.DataFrame({"income": rng.lognormal(4.5, 0.5, 800), "job": rng.choice(["a", "b"], 800)})
    y = (rng.uniform(size=800) < 0.3).astype(int)
    fits = [ScorecardModel(["income"], ["job"], ScorecardParams()).fit(x, y) for _ in range(2)]
    assert pickle.dumps(fits[0]) == pickle.dumps(fits[1])  # no fit timings inside


def test_trial_records_hold_what_trials_found_not_when_they_ran() -> None:
    import optuna

    from limitlab.models.tuning import trial_records, trial_timings

    def objective(trial: optuna.Trial) -> float:
        trial.set_user_attr("worker_pid", 123)
        return trial.suggest_float("x", 0, 1)

    records = []
    for _ in range(2):
        study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=3))
        study.optimize(objective, n_trials=3)
        records.append(trial_records(study))
    assert records[0] == records[1]
    assert "worker_pid" not in records[0][0]["user_attrs"] and "start_ms" not in records[0][0]
    timings = trial_timings(study)
    assert sorted(timings) == ["0", "1", "2"] and timings["2"]["worker_pid"] == 123
    assert timings["2"]["end_ms"] >= timings["2"]["start_ms"]


def test_a_model_file_does_not_depend_on_which_equal_strings_share_memory(tmp_path) -> None:
    import joblib

    from limitlab.io import dump_model

    shared = "verbose"
    fresh = "".join(["verb", "ose"])  # equal, but another object
    dump_model([{shared: 1}, {shared: 2}], tmp_path / "a.joblib")
    dump_model([{shared: 1}, {fresh: 2}], tmp_path / "b.joblib")
    assert (tmp_path / "a.joblib").read_bytes() == (tmp_path / "b.joblib").read_bytes()
    assert joblib.load(tmp_path / "b.joblib") == [{"verbose": 1}, {"verbose": 2}]
    arrays = {"x": np.arange(200_000.0), "y": np.ones((300, 40), dtype="float32")}
    dump_model(arrays, tmp_path / "arrays.joblib")  # large buffers take another path
    back = joblib.load(tmp_path / "arrays.joblib")
    assert (back["x"] == arrays["x"]).all() and back["y"].dtype == "float32"


def test_a_model_file_does_not_depend_on_the_string_hash_seed(tmp_path) -> None:
    import subprocess
    import sys

    script = (
        "import sys; from pathlib import Path; from limitlab.io import dump_model; "
        "dump_model({'fields': {'pdo', 'odds', 'base_points', 'max_n_bins'}}, Path(sys.argv[1]))"
    )
    for seed in ("1", "2"):
        env = {"PYTHONHASHSEED": seed, "PATH": ""}
        subprocess.run([sys.executable, "-c", script, str(tmp_path / seed)], env=env, check=True)
    assert (tmp_path / "1").read_bytes() == (tmp_path / "2").read_bytes()


def test_linear_families_score_a_row_the_same_alone_and_in_a_batch() -> None:
    """The server joins concurrent requests into one call: a row's PD must not depend on the
    rows scored with it, to the last bit (a matrix product's rounding does)."""
    from limitlab.models.ensemble import StackedPD
    from limitlab.models.families import make_logistic

    x, y = synthetic(4000, 3)
    x = x.assign(**{f"num__noise_{i}": np.random.default_rng(i).normal(size=len(x))
                    for i in range(12)})  # fmt: skip
    logistic = make_logistic(1.0, 0).fit(x, y)
    raw = x.rename(columns=lambda c: c.split("__", 1)[1]).assign(job=np.where(y, "a", "b"))
    card = ScorecardModel(list(raw.columns[:-1]), ["job"], ScorecardParams()).fit(raw, y)
    members = {"logistic": Pipeline([("features", "passthrough"), ("model", logistic)])}
    members["other"] = Pipeline([("features", "passthrough"),
                                 ("model", make_logistic(0.01, 0).fit(x, y))])  # fmt: skip
    oof = {name: m.predict_proba(x)[:, 1] for name, m in members.items()}
    blend = StackedPD.from_out_of_fold(members, oof, y)
    additive = AdditiveBoosting({"max_depth": 2}, 60, seed=0).fit(x, y)
    spline = SplineGAM(4, 1.0).fit(x, y)
    for model, frame in ((logistic, x), (card, raw), (blend, x), (additive, x), (spline, x)):
        batch = model.predict_proba(frame.head(200))[:, 1]
        alone = np.array([model.predict_proba(frame.iloc[[i]])[0, 1] for i in range(200)])
        np.testing.assert_array_equal(batch, alone)
    for model in (additive, spline):  # the reasons' sums per raw feature too
        batch = raw_feature_contributions(model, x.head(200)).to_numpy()
        alone = np.vstack([raw_feature_contributions(model, x.iloc[[i]]).to_numpy()
                           for i in range(200)])  # fmt: skip
        np.testing.assert_array_equal(batch, alone)
