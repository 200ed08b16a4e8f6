"""Batch scoring never overwrites its input and never leaves a half-written file."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from limitlab.data.specs import DataError
from limitlab.errors import StateError
from limitlab.serving.batch import PartialWriter, check_paths, quarantine_path, score_file


@pytest.mark.parametrize(
    ("input_name", "output_name"),
    [("a.csv", "a.csv"), ("a.parquet", "a.parquet"), ("b.quarantine.csv", "b.csv"),
     ("sub/../a.csv", "a.csv")],
)  # fmt: skip
def test_an_output_that_would_overwrite_the_input_is_refused(
    tmp_path: Path, input_name: str, output_name: str
) -> None:
    (tmp_path / "sub").mkdir()
    source = tmp_path / input_name
    source.write_text("x\n1\n")
    with pytest.raises(DataError, match=f"would overwrite the input {source}"):
        check_paths(source, tmp_path / output_name)
    assert source.read_text() == "x\n1\n"


def test_other_outputs_and_suffixes(tmp_path: Path) -> None:
    check_paths(tmp_path / "in.csv", tmp_path / "out.parquet")
    with pytest.raises(DataError, match=r"out.json: expected a .csv or .parquet output file"):
        check_paths(tmp_path / "in.csv", tmp_path / "out.json")


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_failed_run_leaves_the_previous_output_untouched(tmp_path: Path, suffix: str) -> None:
    target = tmp_path / f"decisions{suffix}"
    target.write_text("previous run\n")
    writer = PartialWriter(target)
    writer.write(pd.DataFrame({"pd": [0.1, 0.2]}))
    writer.discard()
    assert target.read_text() == "previous run\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == [target.name]


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_finished_run_replaces_the_output_whole(tmp_path: Path, suffix: str) -> None:
    target = tmp_path / f"decisions{suffix}"
    target.write_text("previous run\n")
    writer = PartialWriter(target)
    for part in ([0.1, 0.2], [0.3]):
        writer.write(pd.DataFrame({"pd": part}))
    writer.commit()
    read = pd.read_parquet if suffix == ".parquet" else pd.read_csv
    assert read(target)["pd"].tolist() == [0.1, 0.2, 0.3]
    empty = PartialWriter(quarantine_path(target))
    quarantine_path(target).write_text("stale quarantine\n")
    empty.commit()  # no rows refused this time: no quarantine file, not a stale one
    assert not quarantine_path(target).exists()


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.csv", b"", "the file is empty; expected a header row and data rows"),
        ("ragged.csv", b"a,b\n1,2\n1,2,3,4\n", "cannot be read as a table"),
        ("broken.parquet", b"PAR1 not really", "not a readable Parquet file"),
        ("latin.csv", "a\ncaf\xe9\n".encode("latin-1"), "is not valid utf-8"),
    ],
)
def test_a_bad_input_file_is_one_refusal_before_any_model_loads(
    tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    source = tmp_path / name
    source.write_bytes(content)
    with pytest.raises(DataError, match=message):
        score_file("models:/never-loaded@champion", source, tmp_path / "out.csv")
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]


def test_an_unknown_model_is_one_refusal(tmp_path: Path, fresh_store: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text("a\n1\n")
    with pytest.raises(StateError, match=r"models:/limitlab-pd@champion: the model could not "
                       r"be loaded \(.*\); expected a model registered by"):  # fmt: skip
        score_file("models:/limitlab-pd@champion", source, tmp_path / "out.csv")
    assert not (tmp_path / "out.csv").exists()
