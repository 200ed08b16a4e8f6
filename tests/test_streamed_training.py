"""XGBoost on every training row read in batches (``train.engine: streamed``): a real
``QuantileDMatrix`` fed by a ``DataIter`` over a Parquet file of several row groups."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from limitlab.data.columns import BAD
from limitlab.data.specs import DataError
from limitlab.evaluation.metrics import classification_metrics
from limitlab.models.families import make_xgboost
from limitlab.models.streamed import ParquetBatches, fit_xgboost_streamed

PARAMS = {"max_depth": 3, "learning_rate": 0.2}


def features(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = pd.DataFrame({"num__income": rng.lognormal(4.5, 0.6, n),
                      "num__age": rng.integers(18, 80, n).astype(float),
                      "cat__home=rent": (rng.random(n) < 0.3).astype(float)})  # fmt: skip
    logit = -1 - 0.02 * (x["num__income"] - 90) + 0.7 * x["cat__home=rent"]
    return x.assign(**{BAD: (rng.random(n) < 1 / (1 + np.exp(-logit))).astype("int8")})


def written(frame: pd.DataFrame, path: Path, group_rows: int = 1000) -> Path:
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path,
                   row_group_size=group_rows)  # fmt: skip
    return path


def test_every_row_is_read_once_per_pass_in_batches(tmp_path: Path) -> None:
    path = written(features(4500, 0), tmp_path / "train.parquet")
    batches = ParquetBatches(path, 1000, ["num__income", "num__age", "cat__home=rent"])
    seen = []
    for _ in range(2):  # XGBoost reads the data more than once: reset starts again
        batches.reset()
        while batches.next(
            lambda data, label, **_: seen.append((data.shape, data.dtype, len(label)))
        ):
            pass
        assert batches.rows_read == 4500
    assert [s[0][0] for s in seen[:5]] == [1000, 1000, 1000, 1000, 500]
    assert {s[1] for s in seen} == {np.dtype("float32")}


def test_the_streamed_model_learns_what_the_in_memory_one_learns(tmp_path: Path) -> None:
    train, test = features(6000, 1), features(3000, 2)
    path = written(train, tmp_path / "train.parquet")
    model = make_xgboost(PARAMS, 0, {"num__income": -1}, n_estimators=60)
    streamed = fit_xgboost_streamed(model, path, batch_rows=1500)
    again = fit_xgboost_streamed(model, path, batch_rows=1500)
    in_memory = make_xgboost(PARAMS, 0, {"num__income": -1}, n_estimators=60)
    in_memory.fit(train.drop(columns=[BAD]), train[BAD])
    x = test.drop(columns=[BAD])
    pd_streamed = streamed.predict_proba(x)[:, 1]
    np.testing.assert_array_equal(pd_streamed, again.predict_proba(x)[:, 1])  # deterministic
    assert streamed.get_booster().num_boosted_rounds() == 60
    found = classification_metrics(test[BAD].to_numpy(), pd_streamed)["auc"]
    expected = classification_metrics(test[BAD].to_numpy(), in_memory.predict_proba(x)[:, 1])
    assert found == pytest.approx(expected["auc"], abs=0.01)
    # the monotone constraint holds: PD never rises with income
    grid = pd.DataFrame({"num__income": np.linspace(10, 400, 50), "num__age": 40.0,
                         "cat__home=rent": 0.0})  # fmt: skip
    assert (np.diff(streamed.predict_proba(grid)[:, 1]) <= 1e-12).all()


def test_in_one_batch_it_is_the_in_memory_model_exactly(tmp_path: Path) -> None:
    """The same hyper-parameters, seed included, reach the booster."""
    train, test = features(3000, 4), features(1000, 5)
    settings = {**PARAMS, "subsample": 0.8, "colsample_bytree": 0.7}
    path = written(train, tmp_path / "train.parquet", group_rows=10_000)
    x = test.drop(columns=[BAD])
    for seed in (0, 5):
        model = make_xgboost(settings, seed, {"num__income": -1}, n_estimators=40)
        streamed = fit_xgboost_streamed(model, path, batch_rows=10_000)
        in_memory = make_xgboost(settings, seed, {"num__income": -1}, n_estimators=40)
        in_memory.fit(train.drop(columns=[BAD]), train[BAD])
        np.testing.assert_array_equal(streamed.predict_proba(x), in_memory.predict_proba(x))


def test_a_file_without_the_outcome_or_with_a_bad_one_is_refused(tmp_path: Path) -> None:
    model = make_xgboost(PARAMS, 0, n_estimators=5)
    no_outcome = written(features(500, 3).drop(columns=[BAD]), tmp_path / "a.parquet")
    with pytest.raises(DataError, match=f"a.parquet: no outcome column '{BAD}'"):
        fit_xgboost_streamed(model, no_outcome, 100)
    bad = features(500, 3)
    bad[BAD] = bad[BAD].astype(int) * 2
    with pytest.raises(DataError, match="values other than 0 and 1"):
        fit_xgboost_streamed(model, written(bad, tmp_path / "b.parquet"), 100)


def test_several_files_are_read_one_after_the_other(tmp_path: Path) -> None:
    """The final fit on train and valid: every row of both files once per pass, in order; the
    model learns what the in-memory model on the joined rows learns."""
    train, valid, test = features(4500, 6), features(1500, 7), features(3000, 8)
    files = [written(train, tmp_path / "train.parquet"), written(valid, tmp_path / "valid.parquet")]
    columns = ["num__income", "num__age", "cat__home=rent"]
    batches = ParquetBatches(files, 1000, columns)
    seen: list[np.ndarray] = []
    while batches.next(lambda data, label, **_: seen.append(data[:, 0])):
        pass
    assert batches.rows_read == 6000
    joined = pd.concat([train, valid], ignore_index=True)
    np.testing.assert_array_equal(np.concatenate(seen), joined["num__income"].astype("float32"))
    model = make_xgboost(PARAMS, 0, {"num__income": -1}, n_estimators=60)
    streamed = fit_xgboost_streamed(model, files, batch_rows=1000)
    in_memory = make_xgboost(PARAMS, 0, {"num__income": -1}, n_estimators=60)
    in_memory.fit(joined.drop(columns=[BAD]), joined[BAD])
    x, y = test.drop(columns=[BAD]), test[BAD].to_numpy()
    found = classification_metrics(y, streamed.predict_proba(x)[:, 1])["auc"]
    expected = classification_metrics(y, in_memory.predict_proba(x)[:, 1])["auc"]
    assert found == pytest.approx(expected, abs=0.01)


def test_files_with_other_feature_columns_are_refused(tmp_path: Path) -> None:
    model = make_xgboost(PARAMS, 0, n_estimators=5)
    train = written(features(500, 3), tmp_path / "train.parquet")
    other = written(features(500, 4).drop(columns=["num__age"]), tmp_path / "valid.parquet")
    with pytest.raises(DataError, match=r"valid\.parquet: feature columns differ from .*train"):
        fit_xgboost_streamed(model, [train, other], 100)
