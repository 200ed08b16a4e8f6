"""Train / validation / test: by a stable hash of each row's key, or out-of-time by date.

Without a date, each row's part is decided by its key alone (the id, else its row number in the
file): a 64-bit mix of the key and ``split.seed`` in plain integer arithmetic (SplitMix64; a
text id is first folded into an integer by FNV-1a over its UTF-8 bytes), read as a number in
[0, 1) and cut at ``test_size`` and ``test_size + valid_size``. The same row always lands in
the same part, whatever the library versions, the other rows or the order of the file, and the
parts are written part by part. The outcome plays no role, so each part's bad rate equals the
whole's within sampling error (the split metrics hold both). With a date, the oldest rows train
and the newest test (ties by row number).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import numpy as np
import pandas as pd

from limitlab.config import SplitParams
from limitlab.data.columns import BAD, ROW
from limitlab.data.specs import DataError, DatasetSpec
from limitlab.io import ParquetSink, parquet_batches

NAMES = ("train", "valid", "test")
TRAIN, VALID, TEST = 0, 1, 2
BATCH_ROWS = 500_000
_FNV_OFFSET, _FNV_PRIME = np.uint64(0xCBF29CE484222325), np.uint64(0x100000001B3)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def splitmix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser: a bijective mix of 64-bit integers (wrapping arithmetic)."""
    z = np.asarray(x, dtype=np.uint64) + _GOLDEN
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def fnv1a(texts: np.ndarray) -> np.ndarray:
    """FNV-1a 64 of each text's UTF-8 bytes, one byte column at a time."""
    encoded = np.char.encode(np.asarray(texts, dtype=str), "utf-8")
    width = max(encoded.dtype.itemsize, 1)
    data = np.frombuffer(encoded.tobytes(), dtype=np.uint8).reshape(len(encoded), width)
    lengths = np.char.str_len(encoded)
    h = np.full(len(encoded), _FNV_OFFSET, dtype=np.uint64)
    for j in range(width):
        live = lengths > j
        h[live] = (h[live] ^ data[live, j].astype(np.uint64)) * _FNV_PRIME
    return h


def row_keys(frame: pd.DataFrame, spec: DatasetSpec) -> np.ndarray:
    """The integer key of each row: its id (an integer as itself, text by FNV-1a), else its row
    number in the file."""
    if not spec.id:
        return frame[ROW].to_numpy().astype(np.int64).view(np.uint64)
    ids = frame[spec.id]
    if pd.api.types.is_integer_dtype(ids.dtype):
        return ids.to_numpy().astype(np.int64).view(np.uint64)
    return fnv1a(ids.astype("string").fillna("").to_numpy(dtype=object))


def hash_parts(keys: np.ndarray, p: SplitParams) -> np.ndarray:
    """Each key's part (TRAIN, VALID or TEST) from its mixed hash, a number in [0, 1)."""
    mixed = splitmix64(splitmix64(keys) ^ np.uint64(p.seed))
    unit = (mixed >> np.uint64(11)).astype(np.float64) / float(1 << 53)
    parts = np.full(len(unit), TRAIN, dtype=np.int8)
    parts[unit < p.test_size + p.valid_size] = VALID
    parts[unit < p.test_size] = TEST
    return parts


def date_parts(rows: np.ndarray, dates: np.ndarray, p: SplitParams) -> np.ndarray:
    """Each row's part by date: the newest ``test_size`` test, the ``valid_size`` before them
    valid, the rest train (ties by row number); in the order given."""
    order = np.lexsort((rows, dates))
    n = len(rows)
    n_test, n_valid = round(n * p.test_size), round(n * p.valid_size)
    ranked = np.full(n, TRAIN, dtype=np.int8)
    ranked[n - n_test - n_valid : n - n_test] = VALID
    ranked[n - n_test :] = TEST
    parts = np.empty(n, dtype=np.int8)
    parts[order] = ranked
    return parts


def assign(frame: pd.DataFrame, spec: DatasetSpec, p: SplitParams) -> np.ndarray:
    """The part of each row of ``frame`` (all rows of the data when split by date)."""
    if spec.date:
        dates = frame[spec.date].to_numpy(dtype="datetime64[ns]").view(np.int64)
        return date_parts(frame[ROW].to_numpy(), dates, p)
    return hash_parts(row_keys(frame, spec), p)


def split_frame(frame: pd.DataFrame, spec: DatasetSpec, p: SplitParams) -> dict[str, pd.DataFrame]:
    """The three parts of an in-memory frame, rows in the order given."""
    codes = assign(frame, spec, p)
    return {name: frame[codes == code] for code, name in enumerate(NAMES)}


def split_file(
    source: Path, targets: dict[str, Path], spec: DatasetSpec, p: SplitParams,
    batch_rows: int = BATCH_ROWS,
) -> dict[str, dict]:  # fmt: skip
    """Write the three parts of the Parquet file ``source`` part by part (rows in file order);
    rows and bad rate of each."""
    by_date = None
    if spec.date:  # a first pass reads the row numbers and dates alone
        keys = pd.concat(list(parquet_batches(source, batch_rows, [ROW, spec.date])))
        by_date = assign(keys.reset_index(drop=True), spec, p)
    counts = {name: [0, 0] for name in NAMES}
    with ExitStack() as stack:
        sinks = {name: stack.enter_context(ParquetSink(targets[name])) for name in NAMES}
        offset = 0
        for frame in _batches(source, batch_rows):
            if by_date is None:
                codes = assign(frame, spec, p)
            else:
                codes = by_date[offset : offset + len(frame)]
            offset += len(frame)
            for code, name in enumerate(NAMES):
                part = frame[codes == code]
                sinks[name].empty = part.iloc[:0]
                if len(part):
                    sinks[name].write(part)
                    counts[name][0] += len(part)
                    counts[name][1] += int(part[BAD].sum())
    check_both_classes(counts, p)
    return {name: {"rows": n, "bad_rate": bad / n} for name, (n, bad) in counts.items()}


def _batches(source: Path, rows: int) -> Iterator[pd.DataFrame]:
    for frame in parquet_batches(source, rows):
        yield frame.reset_index(drop=True)


def check_both_classes(counts: dict[str, list[int]], p: SplitParams) -> None:
    """Refuse a part that holds no rows, or only good or only bad rows (``counts``: rows and bad
    rows of each part)."""
    total, bad = sum(n for n, _ in counts.values()), sum(b for _, b in counts.values())
    for name, (n, b) in counts.items():
        if n == 0 or b in (0, n):
            raise DataError(
                f"split {name!r} has {n} rows ({b} bad) of {total} ({bad} bad): not both good "
                f"and bad rows with split.valid_size {p.valid_size} and split.test_size "
                f"{p.test_size}; expected both classes in every part (more data, or other "
                "split.valid_size / split.test_size)"
            )
