"""Batch scoring of a CSV or Parquet file with a registered model, in chunks.

Each chunk is validated with the server's checks; refused rows go to a quarantine file beside
the output with their reasons; accepted rows are scored by the same pyfunc model the server
loads, so the results are identical to the server's.
"""

from __future__ import annotations

import itertools
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import mlflow
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from tqdm import tqdm

from limitlab.data.columns import REASON, ROW
from limitlab.data.ingest import csv_header
from limitlab.data.specs import DataError
from limitlab.errors import StateError
from limitlab.limits.notices import notices
from limitlab.serving.validate import validate_applicants


def _chunks(path: Path, chunk_size: int) -> tuple[Iterator[pd.DataFrame], int | None]:
    if not path.is_file():
        raise DataError(f"{path}: input file not found; expected a CSV or Parquet file")
    if path.suffix.lower() == ".parquet":
        try:
            source = pq.ParquetFile(path)
        except pa.ArrowException as exc:
            raise DataError(f"{path}: not a readable Parquet file ({exc}); expected a Parquet "
                            "file of applicant rows") from None  # fmt: skip
        batches = source.iter_batches(batch_size=chunk_size)
        return (b.to_pandas() for b in batches), source.metadata.num_rows
    if path.suffix.lower() == ".csv":
        if not csv_header(path):
            raise DataError(f"{path}: the file is empty; expected a header row and data rows")
        return pd.read_csv(path, chunksize=chunk_size, dtype=str), None
    raise DataError(f"{path}: unsupported file type {path.suffix!r}; expected .csv or .parquet")


class PartialWriter:
    """Append data frames to a temporary CSV or Parquet file beside ``path``; :meth:`commit`
    renames it into place, :meth:`discard` removes it, so ``path`` is never half-written."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.partial = path.with_name(f".{path.name}.partial")
        self.parquet: pq.ParquetWriter | None = None
        self.rows = 0
        path.parent.mkdir(parents=True, exist_ok=True)
        self.partial.unlink(missing_ok=True)

    def write(self, frame: pd.DataFrame) -> None:
        if frame.empty:
            return
        if self.path.suffix.lower() == ".parquet":
            table = pa.Table.from_pandas(frame, preserve_index=False)
            if self.parquet is None:
                self.parquet = pq.ParquetWriter(self.partial, table.schema)
            self.parquet.write_table(table.cast(self.parquet.schema))
        else:
            frame.to_csv(self.partial, mode="a", header=self.rows == 0, index=False)
        self.rows += len(frame)

    def _close(self) -> None:
        if self.parquet is not None:
            self.parquet.close()
            self.parquet = None

    def commit(self) -> None:
        """Put the written rows at ``path`` (no rows: no file, and no stale one left there)."""
        self._close()
        if self.rows:
            os.replace(self.partial, self.path)
        else:
            self.path.unlink(missing_ok=True)

    def discard(self) -> None:
        self._close()
        self.partial.unlink(missing_ok=True)


def check_paths(input_path: Path, output_path: Path, notices_path: Path | None = None) -> None:
    """Refuse an output, its quarantine file or the notices file that would overwrite the input
    or one another."""
    written = [output_path, quarantine_path(output_path), *([notices_path] if notices_path else [])]
    for path in (output_path, notices_path):
        if path is not None and path.suffix.lower() not in {".csv", ".parquet"}:
            raise DataError(f"{path}: expected a .csv or .parquet output file")
    source = input_path.resolve()
    for path in written:
        if path.resolve() == source:
            raise DataError(
                f"{path}: would overwrite the input {input_path}; expected output paths "
                "(decisions, quarantine, notices) that are not the input"
            )
    if notices_path is not None and notices_path.resolve() in {p.resolve() for p in written[:2]}:
        raise DataError(f"{notices_path}: is the decisions or quarantine file; expected a "
                        "notices file of its own")  # fmt: skip


def load_limit_model(model_uri: str) -> mlflow.pyfunc.PyFuncModel:
    """A limitlab model from the registry or a model folder; one line when it cannot be."""
    try:
        model = mlflow.pyfunc.load_model(model_uri)
    except Exception as exc:  # unknown name or alias, missing or corrupted files
        first = " ".join(str(exc).split())[:200]
        raise StateError(
            f"{model_uri}: the model could not be loaded ({type(exc).__name__}: {first}); "
            "expected a model registered by `limitlab register`, e.g. models:/limitlab-pd@champion"
        ) from None
    if not hasattr(model.unwrap_python_model(), "scorer"):
        raise StateError(f"{model_uri}: not a limitlab limit model; expected one registered by "
                         "`limitlab register`")  # fmt: skip
    return model


def _checked(chunks: Iterator[pd.DataFrame], path: Path) -> Iterator[pd.DataFrame]:
    """The chunks of a file; a file that cannot be parsed is one refusal naming it."""
    try:
        yield from chunks
    except (pd.errors.ParserError, pa.ArrowException, UnicodeDecodeError) as exc:
        first = " ".join(str(exc).split())[:200]
        raise DataError(f"{path}: cannot be read as a table ({first}); expected a well-formed "
                        "CSV or Parquet file") from None  # fmt: skip


def quarantine_path(output: Path) -> Path:
    return output.with_name(f"{output.stem}.quarantine{output.suffix}")


def score_file(
    model_uri: str,
    input_path: Path,
    output_path: Path,
    chunk_size: int = 50_000,
    keep: tuple[str, ...] | None = None,
    notices_path: Path | None = None,
) -> dict:
    """Score every row of ``input_path``; return counts (read = scored + quarantined).

    Each output row starts with its input row number and the input columns in ``keep`` (by
    default the data set's id column, when the file has one), as the file holds them.
    ``notices_path``: also write an adverse-action notice for every decline and counter-offer.
    """
    check_paths(input_path, output_path, notices_path)
    chunks, total = _chunks(input_path, chunk_size)
    chunks = _checked(chunks, input_path)
    first = next(chunks, None)  # a file that cannot be parsed is refused before the model loads
    chunks = itertools.chain([] if first is None else [first], chunks)
    model = load_limit_model(model_uri)
    scorer = model.unwrap_python_model().scorer
    scored, refused = PartialWriter(output_path), PartialWriter(quarantine_path(output_path))
    writers = [scored, refused]
    letters = PartialWriter(notices_path) if notices_path else None
    writers += [letters] if letters else []
    requested = scorer.spec.requested_amount
    start = 0
    progress = tqdm(total=total, unit="rows", disable=not sys.stderr.isatty())
    done = False
    try:
        for chunk in chunks:
            chunk = chunk.reset_index(drop=True)
            if keep is None:
                keep = tuple(c for c in (scorer.spec.id,) if c and c in chunk.columns)
            absent = [c for c in keep if c not in chunk.columns]
            if absent:
                raise DataError(f"{input_path}: column(s) {absent} to keep are not in the file; "
                                f"expected some of {list(chunk.columns)[:20]}")  # fmt: skip
            rows = pd.RangeIndex(start + 1, start + len(chunk) + 1)
            try:
                typed, reasons = validate_applicants(chunk, scorer)
            except ValueError as exc:
                raise DataError(f"{input_path}: {exc}") from None
            bad = (reasons != "").to_numpy()
            if bad.any():
                refused.write(
                    chunk[bad].astype("string").assign(**{ROW: rows[bad], REASON: reasons[bad]})
                )
            if (~bad).any():
                inputs = typed.loc[~bad, scorer.input_columns].reset_index(drop=True)
                out = model.predict(inputs)
                kept = chunk.loc[~bad, list(keep)].astype("string").reset_index(drop=True)
                out = pd.concat([kept, out], axis=1)
                out.insert(0, ROW, rows[~bad])
                scored.write(out)
                if letters is not None:
                    asked = inputs[requested] if requested in inputs.columns else None
                    letters.write(notices(out, asked, [ROW, *keep]))
            start += len(chunk)
            progress.update(len(chunk))
        done = True
    finally:
        progress.close()
        for writer in writers:
            if done:
                writer.commit()
            else:
                writer.discard()
    counts = {"rows_read": start, "rows_scored": scored.rows, "rows_quarantined": refused.rows}
    if letters is not None:
        counts["notices"] = letters.rows
    if counts["rows_read"] != counts["rows_scored"] + counts["rows_quarantined"]:
        raise StateError(f"{input_path}: {counts}; expected rows read = scored + quarantined")
    return counts
