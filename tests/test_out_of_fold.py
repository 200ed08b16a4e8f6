"""Out-of-fold predictions, the champion chosen on them, and calibration fitted on them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression

from limitlab.errors import InputError
from limitlab.models.calibration import calibrated_out_of_fold, logit
from limitlab.models.fit import TrainingSet
from limitlab.models.out_of_fold import fold_indices, out_of_fold
from limitlab.models.selection import choose_champion


def outcomes(n: int = 3000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    true_pd = 1 / (1 + np.exp(-rng.normal(-1.0, 1.3, n)))
    return (rng.random(n) < true_pd).astype(int), true_pd


def test_out_of_fold_never_scores_a_row_with_a_model_that_saw_it() -> None:
    y, _ = outcomes(500)
    folds = fold_indices(y, folds=5, repeats=2, seed=3)

    def memorise(fit_rows: np.ndarray, scored_rows: np.ndarray) -> np.ndarray:
        seen = set(fit_rows.tolist())  # a "model" that knows the outcome of every row it saw
        return np.array([float(y[r]) if r in seen else 0.5 for r in scored_rows])

    oof = out_of_fold(memorise, len(y), folds)
    assert np.all(oof == 0.5)  # no row's own outcome ever leaks into its prediction
    for fit_rows, scored_rows in folds:
        assert not np.intersect1d(fit_rows, scored_rows).size
    scored = np.concatenate([s for _, s in folds])
    assert np.bincount(scored, minlength=len(y)).tolist() == [2] * len(y)  # once per repeat
    with pytest.raises(ValueError, match="scores rows it was fitted on"):
        out_of_fold(memorise, len(y), [(np.arange(10), np.arange(5, 20))])


def test_folds_are_stratified_and_the_same_for_a_seed() -> None:
    y, _ = outcomes(1000)
    first, again = fold_indices(y, 5, 1, seed=7), fold_indices(y, 5, 1, seed=7)
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(first, again, strict=True))
    assert not np.array_equal(first[0][1], fold_indices(y, 5, 1, seed=8)[0][1])
    for _, scored in first:
        assert abs(y[scored].mean() - y.mean()) < 0.01


def test_a_simpler_family_within_noise_wins_and_a_worse_one_does_not() -> None:
    y, true_pd = outcomes()
    rng = np.random.default_rng(1)
    best = np.clip(true_pd + rng.normal(0, 0.01, len(y)), 0.001, 0.999)
    nudged = best.copy()
    few = rng.choice(len(y), 30, replace=False)  # 1 % of rows scored at random: a hair worse
    nudged[few] = rng.random(30)
    oof = {
        "xgboost": best,
        "logistic": nudged,
        "scorecard": np.clip(0.6 * true_pd + 0.4 * rng.random(len(y)), 0.001, 0.999),
    }
    order = ["scorecard", "logistic", "xgboost"]
    chosen, how = choose_champion(oof, y, "auc", "auto", order, 0.05)
    table = how["families"]
    assert how["best"] == "xgboost"
    assert table["scorecard"]["p_value_vs_best"] < 0.05 and not table["scorecard"]["within_noise"]
    assert table["logistic"]["within_noise"]
    assert chosen == "logistic" and how["why"].startswith("simplest within noise of")
    assert choose_champion(oof, y, "auc", "auto", order, 0.05) == (chosen, how)  # deterministic
    assert choose_champion(oof, y, "auc", "xgboost", order)[0] == "xgboost"
    strict_alpha = choose_champion(oof, y, "auc", "auto", order, alpha=0.99)
    assert strict_alpha[0] == strict_alpha[1]["best"]
    by_ks = choose_champion(oof, y, "ks", "auto", order)
    assert by_ks[0] == by_ks[1]["best"]  # no paired test for KS: the best wins
    by_brier = choose_champion(oof, y, "brier", "auto", order)
    assert by_brier[1]["families"]["scorecard"]["p_value_vs_best"] < 0.05


def test_calibration_map_is_fitted_on_the_out_of_fold_pds_alone() -> None:
    y, true_pd = outcomes()
    oof = np.clip(true_pd * 0.5, 0.001, 0.999)  # out-of-fold PDs that under-predict

    # a "pipeline" fitted on all rows that predicts something else entirely: the map ignores it
    fitted = DummyClassifier(strategy="constant", constant=1).fit(np.zeros((len(y), 1)), y)
    model = calibrated_out_of_fold(fitted, "platt", oof, y)
    expected = LogisticRegression(C=1e6, max_iter=1000).fit(logit(oof).reshape(-1, 1), y)
    np.testing.assert_allclose(model.map_.coef_, expected.coef_, rtol=1e-6)
    assert model.calibrate(oof).mean() == pytest.approx(y.mean(), abs=0.005)
    # the map applied in numpy is the map's own predict_proba, batch or row by row
    expected_pd = model.map_.predict_proba(logit(oof).reshape(-1, 1))[:, 1]
    np.testing.assert_allclose(model.calibrate(oof), expected_pd, rtol=1e-14, atol=0)
    alone = np.concatenate([model.calibrate(oof[i : i + 1]) for i in range(50)])
    np.testing.assert_array_equal(alone, model.calibrate(oof[:50]))


def test_more_folds_than_rows_of_a_class_is_one_clear_refusal() -> None:
    y = np.array([0] * 50 + [1] * 3)
    with pytest.raises(InputError, match=r"train\.cv_folds = 5 but the training rows hold only 3"):
        fold_indices(y, 5, 1, seed=0)


def test_final_fit_rows_are_train_then_valid_and_the_train_rows_come_back_unchanged() -> None:
    rng = np.random.default_rng(3)
    raw = [
        pd.DataFrame({"a": rng.normal(size=n), "b": [f"v{i}" for i in range(n)]}) for n in (6, 4)
    ]
    x = [pd.DataFrame(rng.random((n, 2), dtype=np.float32), columns=["p", "q"]) for n in (6, 4)]
    y = [rng.integers(0, 2, n) for n in (6, 4)]
    train = TrainingSet(None, None, raw[0], x[0], y[0])  # type: ignore[arg-type]
    joined = train.joined(raw[1], x[1], y[1])
    assert joined.raw["b"].tolist() == [*raw[0]["b"], *raw[1]["b"]]
    np.testing.assert_array_equal(joined.x.to_numpy(), np.vstack([x[0], x[1]]))
    np.testing.assert_array_equal(joined.y, np.r_[y[0], y[1]])
    head = joined.rows(slice(0, 6))
    assert head.raw.equals(raw[0]) and head.x.equals(x[0])
    np.testing.assert_array_equal(head.y, y[0])
