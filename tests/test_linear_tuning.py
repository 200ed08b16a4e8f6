"""The scorecard's binning, the logistic regression's C and the random forest's trees: each tuned
in an Optuna study of its own, deterministic for a seed, within the declared search space;
special codes binned apart."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest

from limitlab.config import ParamsError, ScorecardParams, TrainParams, TuneParams, parse_params
from limitlab.data.columns import BAD
from limitlab.data.specs import DatasetSpec
from limitlab.errors import InputError
from limitlab.features.transformers import build_feature_pipeline, raw_inputs
from limitlab.models.fit import TrainingSet, fit_family, tuned_settings
from limitlab.models.linear_tuning import fixed_settings, linear_study_name, tune_linear
from limitlab.models.tuning import code_digest, study_name
from tests.test_config import base_params

SPEC = DatasetSpec(name="t", path="t.csv", target="s", bad_value="bad",
                   numeric=("income", "debt"), categorical=("home",))  # fmt: skip
SCORECARD = ScorecardParams(special_codes={"debt": [0.0], "absent": [1.0]})


def applicants(n: int, seed: int) -> pd.DataFrame:
    """Debt is 0 ("no debt") for about half; PD falls with income, rises with debt."""
    rng = np.random.default_rng(seed)
    income = rng.lognormal(4.5, 0.5, n)
    debt = np.where(rng.random(n) < 0.5, 0.0, rng.gamma(2.0, 500.0, n))
    home = rng.choice(["owner", "rent", "parents"], n)
    logit = -1.0 - 0.02 * (income - 90) + 0.0006 * debt + 0.5 * (home == "rent")
    bad = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return pd.DataFrame({"income": income, "debt": debt, "home": home, BAD: bad})


def training_set(frame: pd.DataFrame) -> TrainingSet:
    features = build_feature_pipeline(SPEC)
    x = features.fit_transform(raw_inputs(frame, SPEC))
    return TrainingSet(SPEC, features, frame, x, frame[BAD].to_numpy())


TRAIN, VALID = applicants(1500, 1), applicants(600, 2)
DATA = training_set(TRAIN)
SPACE = TuneParams(scorecard={"n_trials": 6}, logistic={"n_trials": 6},
                   random_forest={"n_trials": 4}, spline={"n_trials": 4})  # fmt: skip
FOREST = {"n_estimators": 50}  # small forests: fast trials


def run_studies(space: TuneParams = SPACE) -> dict[str, dict]:
    train = TrainParams(seed=3, scorecard=SCORECARD, logistic_c=0.5, random_forest=FOREST)
    best, records, _ = tune_linear(optuna.storages.InMemoryStorage(), "digest", space, train,
                                   DATA, VALID, progress=False)  # fmt: skip
    for family, result in best.items():
        assert len(records.get(family, [])) == (space.model_dump()[family]["n_trials"])
        if result["tuned"]:
            losses = [r["value"] for r in records[family] if r["state"] == "COMPLETE"]
            assert result["best_valid_log_loss"] == min(losses)
            first = records[family][0]  # train's fixed settings: the tuned ones are no worse
            assert first["user_attrs"]["fixed_settings"] is True
            assert result["best_valid_log_loss"] <= first["value"]
    return best


def test_each_family_is_tuned_in_its_own_study_within_the_space_and_repeatably() -> None:
    best = run_studies()
    assert best["scorecard"]["study_name"].startswith("scorecard-")
    assert best["logistic"]["study_name"].startswith("logistic-")
    card = best["scorecard"]["params"]
    assert 3 <= card["max_n_bins"] <= 10 and 0.05 <= card["min_bin_size"] <= 0.2
    assert card["monotonic_trend"] in ("auto_asc_desc", "auto")
    assert 0.001 <= best["logistic"]["params"]["c"] <= 10.0
    assert 0.5 < best["logistic"]["best_valid_auc"] < 1.0
    forest = best["random_forest"]["params"]
    assert 3 <= forest["max_depth"] <= 12 and 0.1 <= forest["colsample_bynode"] <= 0.8
    assert 0.5 <= forest["min_child_weight"] <= 20.0
    spline = best["spline"]["params"]
    assert 3 <= spline["n_knots"] <= 8 and 0.1 <= spline["alpha"] <= 100.0
    assert best["spline"]["study_name"].startswith("spline-")
    assert run_studies() == best  # the same seed and data: the same trials and the same best


def test_fixed_settings_outside_the_space_are_not_a_trial() -> None:
    inside = TrainParams(scorecard=SCORECARD, logistic_c=0.5)
    assert fixed_settings("logistic", SPACE, inside) == {"c": 0.5}
    assert fixed_settings("scorecard", SPACE, inside)["max_n_bins"] == 8
    outside = TrainParams(scorecard=SCORECARD.model_copy(update={"max_n_bins": 30}),
                          logistic_c=100.0)  # fmt: skip
    assert fixed_settings("logistic", SPACE, outside) is None
    assert fixed_settings("scorecard", SPACE, outside) is None


def test_no_trials_keeps_the_fixed_settings() -> None:
    none = {"n_trials": 0}
    best = run_studies(TuneParams(scorecard=none, logistic=none, random_forest=none, spline=none))
    assert best == {f: {"tuned": False}
                    for f in ("scorecard", "logistic", "spline", "random_forest")}  # fmt: skip
    train = TrainParams(logistic_c=0.3, scorecard=SCORECARD)
    assert tuned_settings(train, best) == train


def test_the_tuned_settings_reach_the_fitted_models() -> None:
    best = {"scorecard": {"tuned": True, "params": {"max_n_bins": 3, "min_bin_size": 0.1,
                                                     "monotonic_trend": "auto",
                                                     "use_special_codes": True}},
            "logistic": {"tuned": True, "params": {"c": 0.01}}}  # fmt: skip
    train = tuned_settings(TrainParams(scorecard=SCORECARD), best)
    assert train.logistic_c == 0.01 and train.scorecard.max_n_bins == 3
    forest = tuned_settings(train, {"random_forest": {"tuned": True, "params": {
        "max_depth": 3, "colsample_bynode": 0.5, "min_child_weight": 2.0}}})  # fmt: skip
    grown = fit_family("random_forest", DATA, forest, 0)[-1]
    assert (grown.max_depth, grown.colsample_bynode, grown.min_child_weight) == (3, 0.5, 2.0)
    smooth = tuned_settings(
        train, {"spline": {"tuned": True, "params": {"n_knots": 4, "alpha": 3.5}}}
    )
    gam = fit_family("spline", DATA, smooth, 0)[-1]
    assert (gam.n_knots, gam.alpha) == (4, 3.5)
    logistic = fit_family("logistic", DATA, train, 0)[-1]
    assert logistic.named_steps["logit"].C == 0.01
    card = fit_family("scorecard", DATA, train, 0)[-1]
    table = card.scorecard_.binning_process_.get_binned_variable("income").binning_table.build()
    assert len(table) - 3 <= 3  # at most 3 bins, then Special, Missing and Totals


def test_special_codes_get_a_bin_of_their_own_when_used() -> None:
    def special_count(use: bool) -> int:
        params = TrainParams(scorecard=SCORECARD.model_copy(update={"use_special_codes": use}))
        card = fit_family("scorecard", DATA, params, 0)[-1]
        binned = card.scorecard_.binning_process_.get_binned_variable("debt")
        table = binned.binning_table.build()
        return int(table.loc[table["Bin"].astype(str) == "Special", "Count"].iloc[0])

    assert special_count(True) == int((TRAIN["debt"] == 0).sum()) > 0
    assert special_count(False) == 0


def test_a_changed_search_space_or_special_codes_name_a_new_study() -> None:
    train = TrainParams(scorecard=SCORECARD)
    name = linear_study_name("scorecard", "d", SPACE, train)
    wider = SPACE.model_copy(update={"scorecard": SPACE.scorecard.model_copy(
        update={"max_n_bins": (3, 20)})})  # fmt: skip
    assert linear_study_name("scorecard", "d", wider, train) != name
    other_codes = TrainParams(scorecard=ScorecardParams(special_codes={"debt": [-1.0]}))
    assert linear_study_name("scorecard", "d", SPACE, other_codes) != name
    other_start = TrainParams(scorecard=SCORECARD.model_copy(update={"max_n_bins": 5}))
    assert linear_study_name("scorecard", "d", SPACE, other_start) != name
    more = SPACE.model_copy(update={"scorecard": SPACE.scorecard.model_copy(
        update={"n_trials": 50})})  # fmt: skip
    assert linear_study_name("scorecard", "d", more, train) == name  # more trials: same study


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("max_n_bins", [12, 3], "tune.scorecard.max_n_bins"),
        ("min_bin_size", [0.0, 0.1], "tune.scorecard.min_bin_size"),
        ("monotonic_trend", ["sideways"], "tune.scorecard.monotonic_trend"),
        ("monotonic_trend", [], "tune.scorecard.monotonic_trend"),
    ],
)
def test_a_bad_search_space_is_refused_naming_the_key(key: str, value: object,
                                                       expected: str) -> None:  # fmt: skip
    raw = base_params()
    raw["tune"]["scorecard"] = {**raw["tune"]["scorecard"], key: value}
    with pytest.raises(ParamsError) as err:
        parse_params(raw)
    assert expected in str(err.value)
    assert key in str(err.value)


def test_a_bad_logistic_range_is_refused_naming_the_key() -> None:
    raw = base_params()
    raw["tune"]["logistic"] = {"n_trials": 5, "c": [0.0, 1.0]}
    with pytest.raises(ParamsError) as err:
        parse_params(raw)
    assert "tune.logistic.c: value [0.0, 1.0] is invalid; expected [low, high] with 0.0 < low" in (
        str(err.value)
    )


def test_the_best_trial_replaces_the_fixed_settings_only_beyond_noise() -> None:
    space = TuneParams(scorecard={"n_trials": 0}, logistic={"n_trials": 8, "c": [1e-4, 10.0]},
                       random_forest={"n_trials": 0}, spline={"n_trials": 0})  # fmt: skip

    def chosen(c: float, valid: pd.DataFrame) -> dict:
        train = TrainParams(seed=3, scorecard=SCORECARD, logistic_c=c)
        best, _, _ = tune_linear(optuna.storages.InMemoryStorage(), "d", space, train, DATA,
                                 valid, progress=False)  # fmt: skip
        return best["logistic"]

    crippled = chosen(1e-4, applicants(3000, 4))  # a penalty that flattens every coefficient
    assert crippled["chosen"] == "best trial" and crippled["p_value_vs_fixed"] < 0.05
    assert crippled["params"]["c"] > 1e-3
    near = chosen(0.5, VALID.head(120))  # a sound setting: another trial is best by noise
    assert near["best_trial"] != 0 and near["p_value_vs_fixed"] >= 0.05
    assert near["chosen"] == "fixed settings" and near["params"] == {"c": 0.5}


def test_special_codes_on_a_categorical_column_are_refused_naming_it() -> None:
    params = TrainParams(scorecard=ScorecardParams(special_codes={"home": [0.0]}))
    with pytest.raises(InputError, match=r"train.scorecard.special_codes: column\(s\) \['home'\]"):
        fit_family("scorecard", DATA, params, 0)


def test_a_family_left_out_of_train_families_gets_no_study() -> None:
    space = TuneParams(scorecard={"n_trials": 0}, logistic={"n_trials": 0},
                       random_forest={"n_trials": 4}, spline={"n_trials": 4})  # fmt: skip
    train = TrainParams(families=["scorecard", "logistic"], random_forest=FOREST)
    best, records, _ = tune_linear(optuna.storages.InMemoryStorage(), "d", space, train, DATA,
                                   VALID, progress=False)  # fmt: skip
    assert best["random_forest"] == {"tuned": False} and "random_forest" not in records
    assert best["spline"] == {"tuned": False} and "spline" not in records


def test_another_familys_search_space_leaves_xgboosts_study_name_alone() -> None:
    name = study_name("d", SPACE, {})
    changes = (("spline", {"alpha": (1.0, 5.0)}), ("random_forest", {"max_depth": (2, 4)}),
               ("logistic", {"c": (0.1, 1.0)}))  # fmt: skip
    for family, update in changes:
        other = SPACE.model_copy(update={family: getattr(SPACE, family).model_copy(update=update)})
        assert study_name("d", other, {}) == name, family
    assert study_name("d", SPACE.model_copy(update={"max_depth": (2, 3)}), {}) != name


def test_the_code_that_scores_the_trials_names_the_study(tmp_path: Path) -> None:
    """A code change starts new studies (a resumed one would keep trials the old code scored);
    the same code, whatever its line endings, keeps the name."""
    (tmp_path / "models").mkdir()
    (tmp_path / "models/spline.py").write_text("def curve():\n    return 1\n")
    (tmp_path / "io.py").write_text("X = 1\n")
    parts = ("models", "io.py")
    digest = code_digest(parts, tmp_path)
    assert code_digest(parts, tmp_path) == digest
    (tmp_path / "models/spline.py").write_bytes(b"def curve():\r\n    return 1\r\n")
    assert code_digest(parts, tmp_path) == digest  # a checkout with CRLF endings
    (tmp_path / "models/spline.py").write_text("def curve():\n    return 1.0\n")
    assert code_digest(parts, tmp_path) != digest
    assert code_digest(parts, tmp_path) != code_digest(("models",), tmp_path)
    assert len(code_digest(("models",))) == 64  # limitlab's own package
