"""Read a raw data file, validate it against its spec, and split rows into kept and quarantined.

The file is read part by part (``BATCH_ROWS`` rows at a time) and each part's kept and refused
rows are appended to their Parquet files, so memory stays flat at any size; small data is one
part. Column types are inferred from the first part, the outcome's labels from the whole outcome
column; a duplicate id is found across parts. File-level problems raise :class:`DataError`.
Row-level problems send the row to quarantine with its reasons; rows read always equal rows kept
plus rows quarantined.
"""

from __future__ import annotations

import csv
import hashlib
import tempfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from limitlab.data.columns import BAD, REASON, ROW
from limitlab.data.refusals import RowRefusals, Text
from limitlab.data.specs import DataError, DatasetSpec
from limitlab.errors import StateError
from limitlab.io import ParquetSink, parquet_batches

NUMERIC_SHARE_FOR_INFERENCE = 0.95
BATCH_ROWS = 500_000  # rows validated at a time


@dataclass(frozen=True)
class IngestResult:
    """Outcome of :func:`ingest`: the typed spec, the kept rows, the refused rows, the counts."""

    spec: DatasetSpec
    accepted: pd.DataFrame
    quarantine: pd.DataFrame
    metrics: dict


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, or of a folder's Parquet parts in name order."""
    digest = hashlib.sha256()
    files = sorted(path.glob("*.parquet")) if path.is_dir() else [path]
    for file in files:
        with open(file, "rb") as handle:
            for block in iter(lambda h=handle: h.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def parse_dates(raw: pd.Series, spec: DatasetSpec) -> pd.Series:
    """Dates by ``data.date_format``; without one, ISO dates, and day/month-style dates such as
    01/03/2021 (3 January or 1 March?) are refused rather than guessed."""
    if spec.date_format:
        return pd.to_datetime(raw, format=spec.date_format, errors="coerce")
    text = raw.astype("string").str.strip()
    day_month = text.str.fullmatch(r"\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}").fillna(False)
    if day_month.any():
        example = text[day_month].iloc[0]
        raise DataError(
            f"{spec.path}: column {spec.date!r} holds dates like {example!r}, which may be "
            "day/month or month/day; expected data.date_format to say which, for example "
            "'%d/%m/%Y' or '%m/%d/%Y'"
        )
    return pd.to_datetime(raw, errors="coerce", format="ISO8601")


def csv_header(path: Path, encoding: str | None = None) -> list[str]:
    """The column names of a CSV file; refuse an undecodable file or a repeated name."""
    codec = encoding or "utf-8"
    try:
        with open(path, encoding=codec, newline="") as handle:
            header = next(csv.reader(handle), [])
            for _ in handle:  # decode the whole file now: a bad byte is found before parsing
                pass
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{path}: byte {exc.object[exc.start : exc.start + 1]!r} at offset {exc.start} is not "
            f"valid {codec}; expected a {codec} file, or set data.encoding to the file's "
            "encoding (for example 'latin-1' or 'cp1252')"
        ) from None
    names = [name.strip() for name in header]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise DataError(
            f"{path}: column name(s) {repeated} appear more than once in the header; expected "
            "each column once"
        )
    return names


def _source(path: Path) -> tuple[str, list[Path]]:
    """``("parquet", files)`` or ``("csv", [path])``; refuse a missing or unsupported file."""
    parts = sorted(path.glob("*.parquet")) if path.is_dir() else []
    if not (path.is_file() or parts):
        raise DataError(
            f"{path}: data file not found; expected a CSV or Parquet file, or a folder of "
            "Parquet parts"
        )
    suffix = path.suffix.lower()
    if parts or suffix == ".parquet":
        return "parquet", parts or [path]
    if suffix in {".csv", ".txt"}:
        return "csv", [path]
    raise DataError(f"{path}: unsupported file type {suffix!r}; expected .csv or .parquet")


def raw_batches(
    path: Path,
    encoding: str | None = None,
    rows: int = BATCH_ROWS,
    columns: list[str] | None = None,
) -> Iterator[pd.DataFrame]:
    """The rows of a CSV (every value as text), a Parquet file or a folder of Parquet parts, at
    most ``rows`` at a time and in file order (``columns``: those alone). Refuses an empty file
    or one without data rows."""
    kind, files = _source(path)
    if kind == "parquet":
        _same_columns(files)
        batches = (b for f in files for b in parquet_batches(f, rows, columns))
        header = columns
    else:
        header = csv_header(path, encoding)
        try:
            batches = pd.read_csv(path, dtype=str, skipinitialspace=True, encoding=encoding,
                                  chunksize=rows, usecols=columns)  # fmt: skip
        except pd.errors.EmptyDataError:
            raise DataError(
                f"{path}: the file is empty; expected a header row and data rows"
            ) from None
    seen = 0
    for batch in batches:
        if len(batch):
            seen += len(batch)
            yield batch.reset_index(drop=True)
    if not seen:
        shown = header if header is not None else _parquet_columns(files[0])
        raise DataError(f"{path}: no data rows (columns: {shown}); expected at least one row")


def _parquet_columns(file: Path) -> list[str]:
    import pyarrow.parquet as pq

    return list(pq.ParquetFile(file).schema_arrow.names)


def _same_columns(files: list[Path]) -> None:
    """Refuse a folder whose parts do not all have the first part's columns."""
    first = _parquet_columns(files[0])
    for file in files[1:]:
        found = _parquet_columns(file)
        if found != first:
            raise DataError(
                f"{file}: columns {found} differ from those of {files[0].name} ({first}); "
                "expected every Parquet part with the same columns in the same order"
            )


def as_number(column: pd.Series) -> pd.Series:
    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        return column.astype("float64")
    return pd.to_numeric(column.astype("string").str.strip(), errors="coerce").astype("float64")


def infer_types(frame: pd.DataFrame, spec: DatasetSpec) -> DatasetSpec:
    """Type every column the spec does not type: numeric when most values parse as numbers."""
    special = {spec.target, spec.id, spec.date}
    forced_numeric = [c for c in (spec.income, spec.debt, spec.requested_amount) if c]
    numeric = list(dict.fromkeys([*spec.numeric, *forced_numeric]))
    categorical = [c for c in spec.categorical if c not in numeric]
    for column in frame.columns:
        if column in special or column in numeric or column in categorical:
            continue
        present = frame[column].dropna()
        parsed = as_number(present).notna().mean() if len(present) else 0.0
        target = numeric if parsed >= NUMERIC_SHARE_FOR_INFERENCE else categorical
        target.append(column)
    return replace(spec, numeric=tuple(numeric), categorical=tuple(categorical))


def _target_labels(values: list[str], spec: DatasetSpec, path: Path) -> DatasetSpec:
    """Fill in the good value when the target has exactly two values (``values``, sorted);
    refuse one class."""
    bad = str(spec.bad_value)
    if bad not in values:
        raise DataError(
            f"{path}: target column {spec.target!r} has no row with the bad value {bad!r} "
            f"(values seen: {values[:10]}); expected data.bad_value to be one of them"
        )
    if spec.good_value is not None:
        return spec
    others = [v for v in values if v != bad]
    if len(others) != 1:
        raise DataError(
            f"{path}: target column {spec.target!r} has values {values[:10]}; expected exactly "
            f"one good value besides {bad!r} (set data.good_value to name it)"
        )
    return replace(spec, good_value=others[0])


def _row_reasons(
    frame: pd.DataFrame,
    typed: pd.DataFrame,
    spec: DatasetSpec,
    products: tuple[str, list[str]] | None,
    seen_ids: SeenIds,
) -> tuple[pd.Series, dict[str, int]]:
    """One '; '-joined reason per refused row ('' for a kept row) and counts by column:problem.
    ``seen_ids`` holds the ids of earlier parts (a repeat of one is a duplicate) and gains this
    part's."""
    refusals = RowRefusals(frame.index)

    def add(mask: pd.Series, column: str, problem: str, text: Text) -> None:
        """Refuse with ``column: text``; a callable text is built only when some row fails."""
        words = f"{column}: {text}" if isinstance(text, str) else (lambda: f"{column}: " + text())
        refusals.refuse(mask, f"{column}:{problem}", words)

    target = frame[spec.target].astype("string").str.strip()
    allowed = sorted({str(spec.bad_value), str(spec.good_value)})
    add(target.isna(), spec.target, "missing", "target is missing")
    unknown = target.notna() & ~target.isin(allowed)
    expected = f"' is unknown; expected one of {allowed}"
    add(unknown, spec.target, "unknown_target",
        lambda: "target value '" + target.fillna("") + expected)  # fmt: skip
    for column in spec.numeric:
        refusals.refuse_bad_numbers(
            column, frame[column], typed[column], column in spec.nonnegative
        )
    if spec.id:
        ids = frame[spec.id].astype("string")
        add(ids.isna(), spec.id, "missing", "id is missing")
        keys = seen_ids.keys(frame[spec.id], ids)
        duplicated = ids.notna() & (ids.duplicated(keep="first") | seen_ids.seen(keys))
        add(duplicated, spec.id, "duplicate_id", lambda: "duplicate id '" + ids.fillna("") + "'")
        seen_ids.add(keys[ids.notna().to_numpy()])
    if spec.date:
        dates = parse_dates(frame[spec.date], spec)
        raw_dates = frame[spec.date].astype("string").fillna("")
        add(dates.isna(), spec.date, "not_a_date", lambda: "'" + raw_dates + "' is not a date")
    if products:
        column, known = products
        names = frame[column].astype("string").str.strip()
        expected = f"' is unknown to the policy; expected one of {sorted(known)}"
        add(~names.isin(known).fillna(False), column, "unknown_product",
            lambda: "product '" + names.fillna("") + expected)  # fmt: skip
    return refusals.reasons(), refusals.counts


class SeenIds:
    """The ids of the parts read so far, as a sorted array of 64-bit keys: an integer id is its
    own key (exact); a text id is keyed by pandas' 64-bit hash of its text (two different ids
    share a key with a probability of about n^2 / 2^65, 3 in a million at 10 million ids)."""

    def __init__(self) -> None:
        self._keys = np.empty(0, dtype=np.uint64)

    @staticmethod
    def keys(raw: pd.Series, text: pd.Series) -> np.ndarray:
        if pd.api.types.is_integer_dtype(raw.dtype):
            return raw.to_numpy().astype(np.int64).view(np.uint64)
        return pd.util.hash_array(text.fillna("").to_numpy(dtype=object))

    def seen(self, keys: np.ndarray) -> np.ndarray:
        """Which ``keys`` an earlier part held."""
        if not len(self._keys):
            return np.zeros(len(keys), dtype=bool)
        at = np.minimum(np.searchsorted(self._keys, keys), len(self._keys) - 1)
        return self._keys[at] == keys

    def add(self, keys: np.ndarray) -> None:
        self._keys = np.sort(np.concatenate([self._keys, np.unique(keys)]), kind="stable")


@dataclass
class _Tally:
    """Counts over the parts: rows, refusals by reason, bad rows, negative values kept."""

    read: int = 0
    kept: int = 0
    quarantined: int = 0
    bad: int = 0
    reasons: Counter = field(default_factory=Counter)
    negatives: Counter = field(default_factory=Counter)


def _validate_part(
    frame: pd.DataFrame,
    spec: DatasetSpec,
    products: tuple[str, list[str]] | None,
    first_row: int,
    seen_ids: SeenIds,
    tally: _Tally,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One part's kept rows (typed, with the outcome as ``_bad``) and refused rows (as given,
    with their reasons); ``first_row`` is the file row number of its first row."""
    typed = frame.copy()
    for column in spec.numeric:
        typed[column] = as_number(frame[column])
    for column in spec.categorical:
        typed[column] = frame[column].astype("string").str.strip()
    reasons, counts = _row_reasons(frame, typed, spec, products, seen_ids)
    refused = (reasons != "").to_numpy()
    rows = np.arange(first_row, first_row + len(frame))
    typed.insert(0, ROW, rows)
    accepted = typed.loc[~refused].copy()
    target = accepted[spec.target].astype("string").str.strip()
    accepted[BAD] = (target == str(spec.bad_value)).astype("int8")
    accepted = accepted.drop(columns=[spec.target]).reset_index(drop=True)
    if spec.date:
        accepted[spec.date] = parse_dates(accepted[spec.date], spec)
    quarantine = frame.loc[refused].astype("string").copy()
    quarantine.insert(0, ROW, rows[refused])
    quarantine[REASON] = reasons[refused].to_numpy()
    quarantine[REASON] = quarantine[REASON].astype("string")
    tally.read += len(frame)
    tally.kept += len(accepted)
    tally.quarantined += len(quarantine)
    tally.bad += int(accepted[BAD].sum())
    tally.reasons.update(counts)
    for column in spec.numeric:
        if column not in spec.nonnegative:
            tally.negatives[column] += int((accepted[column] < 0).sum())
    return accepted, quarantine.reset_index(drop=True)


def _target_values(path: Path, spec: DatasetSpec) -> list[str]:
    """The distinct outcome values of the whole file (its outcome column alone is read)."""
    values: set[str] = set()
    for part in raw_batches(path, spec.encoding, columns=[spec.target]):
        values.update(part[spec.target].dropna().astype(str).str.strip().unique().tolist())
    return sorted(values)


def ingest_to_files(
    spec: DatasetSpec,
    max_quarantine_share: float,
    accepted_path: Path,
    quarantine_path: Path,
    root: Path = Path("."),
    products: tuple[str, list[str]] | None = None,
    batch_rows: int = BATCH_ROWS,
) -> tuple[DatasetSpec, dict]:
    """Validate the file named by ``spec`` part by part, appending kept rows to
    ``accepted_path`` and refused rows (with reasons) to ``quarantine_path``; return the typed
    spec and the counts.

    ``products`` is the policy's product column and its known products: a row naming another
    product is refused here, not after training. Raises :class:`DataError` for a file-level
    problem, or for a single outcome class when no more than ``max_quarantine_share`` of the
    rows were refused (above it, the caller stops with :func:`check_quarantine_share`).
    """
    path = root / spec.path
    parts = raw_batches(path, spec.encoding, batch_rows)
    first = next(parts)
    declared = [*spec.declared_columns, *([products[0]] if products else [])]
    missing = [c for c in declared if c not in first.columns]
    if missing:
        raise DataError(
            f"{path}: declared column(s) {missing} not found; the file has columns "
            f"{list(first.columns)}"
        )
    spec = _target_labels(_target_values(path, spec), infer_types(first, spec), path)
    tally, seen_ids = _Tally(), SeenIds()
    empty_quarantine = pd.DataFrame({ROW: pd.Series(dtype="int64"),
                                     **{c: pd.Series(dtype="string") for c in first.columns},
                                     REASON: pd.Series(dtype="string")})  # fmt: skip
    with ParquetSink(accepted_path) as kept, ParquetSink(quarantine_path, empty_quarantine) as out:
        for frame in _chain(first, parts):
            accepted, quarantine = _validate_part(
                frame, spec, products, tally.read + 1, seen_ids, tally
            )
            kept.empty = accepted.iloc[:0]  # the types of an empty file
            if len(accepted):
                kept.write(accepted)
            if len(quarantine):
                out.write(quarantine)
    if tally.read != tally.kept + tally.quarantined:
        raise StateError(
            f"{path}: {tally.read} rows read but {tally.kept} kept + {tally.quarantined} "
            "quarantined; expected every row in one of the two"
        )
    share = tally.quarantined / tally.read
    metrics = {
        "dataset": spec.name,
        "path": spec.path,
        "sha256": file_sha256(path),
        "rows_read": tally.read,
        "rows_kept": tally.kept,
        "rows_quarantined": tally.quarantined,
        "quarantine_share": round(share, 6),
        "bad_rate": round(tally.bad / tally.kept, 6) if tally.kept else None,
        "quarantine_reasons": dict(sorted(tally.reasons.items())),
        # kept, but worth a look: refused only when the column is in data.nonnegative
        "negative_values_kept": {c: n for c, n in tally.negatives.items() if n},
    }
    if share <= max_quarantine_share and tally.bad in (0, tally.kept):
        classes = [] if not tally.kept else ["bad"] if tally.bad else ["good"]
        raise DataError(
            f"{path}: after validation the target {spec.target!r} has one class only "
            f"({classes}); expected both good and bad rows"
        )
    return spec, metrics


def _chain(first: pd.DataFrame, rest: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    yield first
    yield from rest


def ingest(
    spec: DatasetSpec,
    max_quarantine_share: float,
    root: Path = Path("."),
    products: tuple[str, list[str]] | None = None,
    batch_rows: int = BATCH_ROWS,
) -> IngestResult:
    """:func:`ingest_to_files` with the kept and refused rows read back into memory (small
    data: cross-validation, notebooks, tests)."""
    with tempfile.TemporaryDirectory(prefix="limitlab-ingest-") as folder:
        accepted, quarantine = Path(folder) / "accepted.parquet", Path(folder) / "q.parquet"
        spec, metrics = ingest_to_files(spec, max_quarantine_share, accepted, quarantine, root,
                                        products, batch_rows)  # fmt: skip
        return IngestResult(spec, pd.read_parquet(accepted), pd.read_parquet(quarantine), metrics)


def stop_above_quarantine_share(spec: DatasetSpec, metrics: dict, max_share: float) -> None:
    """Stop when more than ``max_share`` of the rows were refused, naming the top reasons."""
    share = metrics["quarantine_share"]
    if share > max_share:
        top = sorted(metrics["quarantine_reasons"].items(), key=lambda kv: -kv[1])[:5]
        raise DataError(
            f"{spec.path}: {metrics['rows_quarantined']} of {metrics['rows_read']} rows refused "
            f"({share:.1%}); expected at most {max_share:.1%} (data.max_quarantine_share). Most "
            f"common reasons: {dict(top)}"
        )


def check_quarantine_share(result: IngestResult, max_share: float) -> None:
    """:func:`stop_above_quarantine_share` for an in-memory result."""
    stop_above_quarantine_share(result.spec, result.metrics, max_share)
