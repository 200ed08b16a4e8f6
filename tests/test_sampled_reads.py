"""Large data in bounded memory: the rows at given positions, a stratified sample whose split
rows and feature rows stay aligned, columns read part by part, and scoring and deciding in
batches that equal doing it at once."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from limitlab import paths
from limitlab.data.columns import BAD
from limitlab.io import read_columns, read_parquet_rows
from limitlab.limits.decide import TOTALS, decide, decided_columns
from limitlab.stages import common
from limitlab.stages.common import in_batches, load_split, load_xy, sample_positions

from .test_policy import applicants, make_policy


def _frame(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "id": np.arange(n),
        "income": rng.normal(3000, 500, n),
        "home": rng.choice(["own", "rent", "other"], n),
        BAD: (rng.random(n) < 0.1).astype(int),
    })  # fmt: skip


def test_rows_at_positions_equal_the_whole_read_sliced_across_parts_and_batches(
    tmp_path: Path,
) -> None:
    frame = _frame(2_500)
    folder = tmp_path / "parts"
    folder.mkdir()
    for i, start in enumerate(range(0, len(frame), 1_000)):
        frame.iloc[start : start + 1_000].to_parquet(folder / f"part-{i:03d}.parquet", index=False)
    keep = np.sort(np.random.default_rng(1).choice(len(frame), 700, replace=False))
    keep = np.unique(np.concatenate([keep, [0, 999, 1_000, 2_499]]))  # the parts' edges
    got = read_parquet_rows(folder, keep, batch_rows=300)
    pd.testing.assert_frame_equal(got, frame.iloc[keep].reset_index(drop=True))
    none = read_parquet_rows(folder, np.array([], dtype=int), batch_rows=300)
    pd.testing.assert_frame_equal(none, frame.iloc[:0])  # the columns and types, no rows
    first = read_parquet_rows(folder, np.array([0, 5]), batch_rows=300)
    pd.testing.assert_frame_equal(first, frame.iloc[[0, 5]].reset_index(drop=True))


def _write_split(name: str, frame: pd.DataFrame) -> None:
    paths.split_path(name).parent.mkdir(parents=True, exist_ok=True)
    paths.features_path(name).parent.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(paths.split_path(name), index=False)
    features = pd.DataFrame({"income_scaled": frame["income"] / 1000, BAD: frame[BAD]})
    features.to_parquet(paths.features_path(name), index=False)


def test_sample_is_stratified_deterministic_and_aligned_with_the_features(in_tmp: Path) -> None:
    frame = _frame(20_000, seed=3)
    _write_split("train", frame)
    keep = sample_positions("train", 5_000, seed=42)
    assert keep is not None and len(keep) == 5_000 and np.all(np.diff(keep) > 0)
    np.testing.assert_array_equal(keep, sample_positions("train", 5_000, seed=42))
    assert not np.array_equal(keep, sample_positions("train", 5_000, seed=43))
    raw, (x, y) = load_split("train", keep), load_xy("train", keep)
    np.testing.assert_allclose(x["income_scaled"], raw["income"] / 1000)
    np.testing.assert_array_equal(y, raw[BAD])
    assert abs(y.mean() - frame[BAD].mean()) < 1 / 5_000  # stratified: the same bad rate
    assert sample_positions("train", None, seed=42) is None  # all rows
    assert sample_positions("train", 20_000, seed=42) is None
    pd.testing.assert_frame_equal(load_split("train", None), frame)


@pytest.mark.parametrize("batch_rows", [1, 7, 1_000])
def test_scoring_in_batches_equals_scoring_at_once(
    in_tmp: Path, monkeypatch: pytest.MonkeyPatch, batch_rows: int
) -> None:
    frame = _frame(50)
    _write_split("test", frame)
    monkeypatch.setattr(common, "BATCH_ROWS", batch_rows)

    def score(rows: pd.DataFrame) -> np.ndarray:
        return rows["income"].to_numpy() * 2

    def decide(rows: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({"id": rows["id"].to_numpy(), "limit": rows["income"].to_numpy()})

    np.testing.assert_array_equal(in_batches(score, frame), frame["income"].to_numpy() * 2)
    np.testing.assert_array_equal(in_batches(score, "test"), frame["income"].to_numpy() * 2)
    pd.testing.assert_frame_equal(in_batches(decide, frame.iloc[5:]), decide(frame.iloc[5:]))
    assert len(in_batches(score, frame.iloc[:0])) == 0


def test_numeric_columns_read_part_by_part_equal_the_whole_read(tmp_path: Path) -> None:
    frame = _frame(2_345)
    frame.to_parquet(tmp_path / "rows.parquet", index=False, row_group_size=500)
    got = read_columns(tmp_path / "rows.parquet", ["income", BAD], batch_rows=300)
    pd.testing.assert_frame_equal(got, frame[["income", BAD]])


@pytest.mark.parametrize("chunk_rows", [1, 3, 1_000])
def test_deciding_in_chunks_equals_deciding_at_once(
    monkeypatch: pytest.MonkeyPatch, chunk_rows: int
) -> None:
    rng = np.random.default_rng(5)
    frame = applicants(rng.uniform(500, 8_000, 40), debt=rng.uniform(0, 3_000, 40))
    frame.index = np.arange(100, 140)  # a frame cut from a larger one
    pd_ = rng.uniform(0.001, 0.4, 40)
    policy = make_policy()
    monkeypatch.setattr(sys.modules["limitlab.limits.decide"], "CHUNK_ROWS", chunk_rows)
    whole = decide(pd_, frame, policy)[TOTALS].reset_index(drop=True)
    pd.testing.assert_frame_equal(decided_columns(pd_, frame, policy, TOTALS), whole)
    caps = {g.name: 1_000.0 for g in policy.params.grades}
    pd.testing.assert_frame_equal(
        decided_columns(pd_, frame, policy, ["grade", "limit"], caps),
        decide(pd_, frame, policy, grade_caps=caps)[["grade", "limit"]].reset_index(drop=True),
    )
