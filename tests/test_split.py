"""The split: a stable hash of each row's key, written part by part; out-of-time by date."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from limitlab.config import SplitParams
from limitlab.data.columns import BAD, ROW
from limitlab.data.specs import DatasetSpec
from limitlab.data.split import NAMES, fnv1a, hash_parts, split_file, split_frame, splitmix64

SPEC = DatasetSpec(name="t", path="t.csv", target="s", bad_value=1)
WITH_ID = DatasetSpec(name="t", path="t.csv", target="s", bad_value=1, id="id")


def applicants(n: int, seed: int = 0, text_ids: bool = False) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ids = rng.permutation(np.arange(10 * n))[:n]
    return pd.DataFrame({
        ROW: np.arange(1, n + 1),
        "id": [f"C-{i:07d}" for i in ids] if text_ids else ids,
        "income": rng.lognormal(8, 0.5, n),
        BAD: (rng.random(n) < 0.08).astype("int8"),
    })  # fmt: skip


DEFAULT = SplitParams()


def split_to_files(frame: pd.DataFrame, folder: Path, spec: DatasetSpec = WITH_ID,
                   p: SplitParams = DEFAULT, rows: int = 500_000) -> dict:  # fmt: skip
    folder.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(folder / "accepted.parquet", index=False)
    targets = {name: folder / f"{name}.parquet" for name in NAMES}
    metrics = split_file(folder / "accepted.parquet", targets, spec, p, batch_rows=rows)
    return {name: pd.read_parquet(path) for name, path in targets.items()} | {"metrics": metrics}


def test_the_mixing_functions_match_their_published_values() -> None:
    assert int(splitmix64(np.array([0], dtype=np.uint64))[0]) == 0xE220A8397B1DCDAF
    found = fnv1a(np.array(["", "a", "foobar"], dtype=object))
    assert [int(h) for h in found] == [0xCBF29CE484222325, 0xAF63DC4C8601EC8C,
                                       0x85944171F73967E8]  # fmt: skip

    def by_hand(text: str) -> int:  # FNV-1a 64 in Python integers
        h = 0xCBF29CE484222325
        for byte in text.encode("utf-8"):
            h = ((h ^ byte) * 0x100000001B3) % 2**64
        return h

    texts = ["é", "Zoë-77", "客户 42", "x" * 40, ""]
    assert [int(h) for h in fnv1a(np.array(texts, dtype=object))] == [by_hand(t) for t in texts]


def test_a_rows_part_depends_on_its_key_alone(tmp_path: Path) -> None:
    frame = applicants(5000, text_ids=True)
    whole = split_frame(frame, WITH_ID, SplitParams())
    part_of = {i: name for name, rows in whole.items() for i in rows["id"]}
    shuffled = frame.sample(frac=1.0, random_state=3).iloc[:1234]  # other rows, another order
    for name, rows in split_frame(shuffled, WITH_ID, SplitParams()).items():
        assert all(part_of[i] == name for i in rows["id"])
    other_seed = split_frame(frame, WITH_ID, SplitParams(seed=7))
    assert not other_seed["test"]["id"].equals(whole["test"]["id"])


def test_part_by_part_equals_all_at_once_and_reruns_equal(tmp_path: Path) -> None:
    frame = applicants(3000)
    once = split_to_files(frame, tmp_path / "a")
    parts = split_to_files(frame, tmp_path / "b", rows=77)
    again = split_to_files(frame, tmp_path / "c")
    memory = split_frame(frame, WITH_ID, SplitParams())
    for name in NAMES:
        pd.testing.assert_frame_equal(once[name], parts[name])
        pd.testing.assert_frame_equal(once[name], again[name])
        pd.testing.assert_frame_equal(once[name], memory[name].reset_index(drop=True))
        assert once[name][ROW].is_monotonic_increasing  # file order kept
    assert sum(len(once[n]) for n in NAMES) == len(frame)  # every row in one part
    assert set(once["train"]["id"]).isdisjoint(once["test"]["id"])


@pytest.mark.parametrize("spec", [SPEC, WITH_ID], ids=["row number", "id"])
def test_shares_and_bad_rates_are_within_sampling_error(tmp_path: Path, spec) -> None:
    n = 200_000
    frame = applicants(n, seed=5)
    p = SplitParams(valid_size=0.15, test_size=0.25)
    metrics = split_to_files(frame, tmp_path, spec, p)["metrics"]
    overall = frame[BAD].mean()
    for name, share in (("train", 0.6), ("valid", 0.15), ("test", 0.25)):
        rows = metrics[name]["rows"]
        assert abs(rows / n - share) < 4 * np.sqrt(share * (1 - share) / n), name
        error = np.sqrt(overall * (1 - overall) / rows)
        assert abs(metrics[name]["bad_rate"] - overall) < 4 * error, name


def test_the_hash_is_uniform_enough_to_cut(tmp_path: Path) -> None:
    parts = hash_parts(np.arange(100_000, dtype=np.uint64), SplitParams())
    counts = np.bincount(parts, minlength=3) / len(parts)
    assert counts == pytest.approx([0.6, 0.2, 0.2], abs=0.006)


def test_a_date_split_is_out_of_time_part_by_part(tmp_path: Path) -> None:
    frame = applicants(1000).assign(
        applied=pd.Timestamp("2024-01-01") + pd.to_timedelta(np.arange(1000) % 97, unit="D")
    )
    spec = DatasetSpec(name="t", path="t.csv", target="s", bad_value=1, date="applied")
    found = split_to_files(frame, tmp_path, spec, rows=64)
    assert [len(found[n]) for n in NAMES] == [600, 200, 200]
    assert found["train"]["applied"].max() <= found["valid"]["applied"].min()
    assert found["valid"]["applied"].max() <= found["test"]["applied"].min()
    memory = split_frame(frame, spec, SplitParams())
    for name in NAMES:
        pd.testing.assert_frame_equal(found[name], memory[name].reset_index(drop=True))
