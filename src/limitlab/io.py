"""Small helpers to write and read stage outputs."""

from __future__ import annotations

import json
import math
import os
import pickle
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, np.ndarray):
        return _clean(value.tolist())
    if isinstance(value, np.generic):
        return _clean(value.item())
    return value


def flatten(mapping: dict, prefix: str = "") -> dict[str, Any]:
    """Nested mappings to one level of ``a.b.c`` keys; every other value is a leaf."""
    out: dict[str, Any] = {}
    for key, value in mapping.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict):
            out.update(flatten(value, name))
        else:
            out[name] = value
    return out


class _CanonicalPickler(pickle._Pickler):
    """A pickler whose bytes depend on the model only: equal strings are written once and
    referred to after (not per object in memory), sets of strings in sorted order."""

    dispatch: ClassVar[dict] = dict(pickle._Pickler.dispatch)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._strings: dict[str, str] = {}

    def save_str(self, obj: str) -> None:
        canonical = self._strings.setdefault(obj, obj)
        seen = self.memo.get(id(canonical))
        if seen is not None:
            self.write(self.get(seen[0]))
            return
        pickle._Pickler.save_str(self, canonical)

    dispatch[str] = save_str

    def save_set(self, obj: set) -> None:
        """A set of strings in sorted order (iteration order follows string hashing, which
        differs from process to process)."""
        if not all(isinstance(item, str) for item in obj):
            pickle._Pickler.save_set(self, obj)
            return
        self.write(pickle.EMPTY_SET)
        self.memoize(obj)
        items = sorted(obj)
        for start in range(0, len(items), self._BATCHSIZE):
            self.write(pickle.MARK)
            for item in items[start : start + self._BATCHSIZE]:
                self.save(item)
            self.write(pickle.ADDITEMS)

    dispatch[set] = save_set


def dump_model(model: Any, path: Path) -> None:
    """Pickle a fitted model so that the same fit gives the same bytes (DVC hashes them);
    ``joblib.load`` reads it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:
        _CanonicalPickler(handle, protocol=4).dump(model)  # 5 trips the pure-Python pickler


def write_json(path: Path, payload: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_clean(payload), indent=2, sort_keys=False) + "\n")


def read_json(path: Path) -> Any:
    return json.loads(Path(path).read_text())


def write_parquet(path: Path, frame: pd.DataFrame, row_groups: int | None = None) -> None:
    """Write without the index; ``row_groups`` splits the rows into about that many groups
    (Dask reads one partition per row group)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    size = max(math.ceil(len(frame) / row_groups), 1_000) if row_groups else None
    frame.to_parquet(path, index=False, row_group_size=size)


class ParquetSink:
    """Write a Parquet file part by part: one row group per part, the schema fixed by the first
    part (a column that part holds only missing values for is typed as text), later parts cast
    to it. Use as a context manager; a sink that was given no part writes ``empty`` (a frame
    with the columns and types expected). The parts go to ``<name>.partial``, renamed to the
    file's name when the sink closes without an error, and the earlier file is removed on
    entry: a stage stopped half way leaves no file that looks complete."""

    def __init__(self, path: Path, empty: pd.DataFrame | None = None) -> None:
        self.path = Path(path)
        self.partial = self.path.with_name(self.path.name + ".partial")  # renamed when complete
        self.empty = empty
        self.rows = 0
        self._writer: Any = None
        self._schema: Any = None

    def __enter__(self) -> ParquetSink:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.unlink(missing_ok=True)
        return self

    def write(self, frame: pd.DataFrame) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pandas(frame, preserve_index=False)
        if self._writer is None:
            fields = [pa.field(f.name, pa.string()) if pa.types.is_null(f.type) else f
                      for f in table.schema]  # fmt: skip
            self._schema = pa.schema(fields, metadata=table.schema.metadata)
            self._writer = pq.ParquetWriter(self.partial, self._schema)
        self._writer.write_table(table.cast(self._schema))
        self.rows += len(frame)

    def __exit__(self, *exc: object) -> None:
        """Complete: the file appears under its name at once. Failed (or killed, which never
        gets here): no file under its name, only the partial one a rerun overwrites."""
        if self._writer is not None:
            self._writer.close()
        if exc[0] is not None:
            self.partial.unlink(missing_ok=True)
        elif self._writer is not None:
            os.replace(self.partial, self.path)
        else:
            write_parquet(self.path, self.empty if self.empty is not None else pd.DataFrame())


def parquet_batches(path: Path, rows: int, columns: list[str] | None = None):
    """The rows of a Parquet file (or a folder of parts, in name order) as DataFrames of at
    most ``rows`` rows each, in file order."""
    import pyarrow.parquet as pq

    files = sorted(Path(path).glob("*.parquet")) if Path(path).is_dir() else [Path(path)]
    for file in files:
        # pre_buffer off: pyarrow would otherwise hold whole column chunks ahead of the batch
        for batch in pq.ParquetFile(file, pre_buffer=False).iter_batches(
            batch_size=rows, columns=columns
        ):
            yield batch.to_pandas()


def read_parquet_rows(
    path: Path, keep: np.ndarray, columns: list[str] | None = None, batch_rows: int = 500_000
) -> pd.DataFrame:
    """The rows at the ascending positions ``keep`` of a Parquet file or folder of parts, read
    batch by batch (memory: the kept rows and one batch), stopping after the last kept row."""
    kept: list[pd.DataFrame] = []
    empty: pd.DataFrame | None = None
    start, last = 0, int(keep[-1]) if len(keep) else -1
    for batch in parquet_batches(path, batch_rows, columns):
        empty = batch.iloc[:0] if empty is None else empty
        if start > last:
            break
        stop = start + len(batch)
        lo, hi = np.searchsorted(keep, [start, stop])
        if hi > lo:
            kept.append(batch.iloc[keep[lo:hi] - start])
        start = stop
    if kept:
        return pd.concat(kept, ignore_index=True)
    return empty if empty is not None else pd.read_parquet(path, columns=columns).iloc[:0]


def read_columns(path: Path, columns: list[str], batch_rows: int = 500_000) -> pd.DataFrame:
    """Numeric columns of a Parquet file (or folder of parts), read part by part into arrays
    allocated once: the peak is the columns and one batch, not twice the table."""
    total, arrays, start = parquet_rows(path), {}, 0
    for batch in parquet_batches(path, batch_rows, columns):
        for column in columns:
            values = batch[column].to_numpy()
            if column not in arrays:
                arrays[column] = np.empty(total, dtype=values.dtype)
            arrays[column][start : start + len(batch)] = values
        start += len(batch)
    if not arrays:
        return pd.read_parquet(path, columns=columns)
    return pd.DataFrame(arrays, copy=False)


def parquet_rows(path: Path) -> int:
    """Rows of a Parquet file or folder of parts, from the footers alone."""
    import pyarrow.parquet as pq

    files = sorted(Path(path).glob("*.parquet")) if Path(path).is_dir() else [Path(path)]
    return sum(pq.ParquetFile(file).metadata.num_rows for file in files)
