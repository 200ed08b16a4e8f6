"""Read a raw data file, validate it against its spec, and split rows into kept and quarantined.

File-level problems raise :class:`DataError`. Row-level problems send the row to quarantine with
its reasons; rows read always equal rows kept plus rows quarantined.
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from limitlab.data.columns import BAD, REASON, ROW
from limitlab.data.refusals import RowRefusals, Text
from limitlab.data.specs import DataError, DatasetSpec
from limitlab.errors import StateError

NUMERIC_SHARE_FOR_INFERENCE = 0.95


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


def read_raw(path: Path, encoding: str | None = None) -> pd.DataFrame:
    """Read a CSV (every value as text), a Parquet file or a folder of Parquet parts."""
    parts = path.is_dir() and any(path.glob("*.parquet"))
    if not (path.is_file() or parts):
        raise DataError(
            f"{path}: data file not found; expected a CSV or Parquet file, or a folder of "
            "Parquet parts"
        )
    suffix = path.suffix.lower()
    try:
        if parts or suffix == ".parquet":
            frame = pd.read_parquet(path)
        elif suffix in {".csv", ".txt"}:
            csv_header(path, encoding)
            frame = pd.read_csv(path, dtype=str, skipinitialspace=True, encoding=encoding)
        else:
            raise DataError(f"{path}: unsupported file type {suffix!r}; expected .csv or .parquet")
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: the file is empty; expected a header row and data rows") from None
    if frame.empty:
        raise DataError(
            f"{path}: no data rows (columns: {list(frame.columns)}); expected at least one row"
        )
    return frame


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


def _target_labels(frame: pd.DataFrame, spec: DatasetSpec, path: Path) -> DatasetSpec:
    """Fill in the good value when the target has exactly two values; refuse one class."""
    values = sorted(frame[spec.target].dropna().astype(str).str.strip().unique())
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
    products: tuple[str, list[str]] | None = None,
) -> tuple[pd.Series, dict[str, int]]:
    """One '; '-joined reason per refused row ('' for a kept row) and counts by column:problem."""
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
        duplicated = ids.notna() & ids.duplicated(keep="first")
        add(duplicated, spec.id, "duplicate_id", lambda: "duplicate id '" + ids.fillna("") + "'")
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
    return refusals.reasons(), dict(sorted(refusals.counts.items()))


def ingest(
    spec: DatasetSpec,
    max_quarantine_share: float,
    root: Path = Path("."),
    products: tuple[str, list[str]] | None = None,
) -> IngestResult:
    """Validate the file named by ``spec`` and return kept rows, refused rows and counts.

    ``products`` is the policy's product column and its known products: a row naming another
    product is refused here, not after training. Raises :class:`DataError` for a file-level
    problem, or when more than ``max_quarantine_share`` of the rows would be refused.
    """
    path = root / spec.path
    frame = read_raw(path, spec.encoding)
    declared = [*spec.declared_columns, *([products[0]] if products else [])]
    missing = [c for c in declared if c not in frame.columns]
    if missing:
        raise DataError(
            f"{path}: declared column(s) {missing} not found; the file has columns "
            f"{list(frame.columns)}"
        )
    spec = _target_labels(frame, infer_types(frame, spec), path)
    typed = frame.copy()
    for column in spec.numeric:
        typed[column] = as_number(frame[column])
    for column in spec.categorical:
        typed[column] = frame[column].astype("string").str.strip()
    reasons, reason_counts = _row_reasons(frame, typed, spec, products)
    refused = reasons != ""
    typed.insert(0, ROW, np.arange(1, len(frame) + 1))
    accepted = typed.loc[~refused].copy()
    target = accepted[spec.target].astype("string").str.strip()
    accepted[BAD] = (target == str(spec.bad_value)).astype("int8")
    accepted = accepted.drop(columns=[spec.target]).reset_index(drop=True)
    if spec.date:
        accepted[spec.date] = parse_dates(accepted[spec.date], spec)
    quarantine = frame.loc[refused].astype("string").copy()
    quarantine.insert(0, ROW, np.flatnonzero(refused.to_numpy()) + 1)
    quarantine[REASON] = reasons[refused].to_numpy()
    quarantine = quarantine.reset_index(drop=True)

    rows_read = len(frame)
    if rows_read != len(accepted) + len(quarantine):
        raise StateError(
            f"{path}: {rows_read} rows read but {len(accepted)} kept + {len(quarantine)} "
            "quarantined; expected every row in one of the two"
        )
    share = len(quarantine) / rows_read
    metrics = {
        "dataset": spec.name,
        "path": spec.path,
        "sha256": file_sha256(path),
        "rows_read": rows_read,
        "rows_kept": len(accepted),
        "rows_quarantined": len(quarantine),
        "quarantine_share": round(share, 6),
        "bad_rate": round(float(accepted[BAD].mean()), 6) if len(accepted) else None,
        "quarantine_reasons": reason_counts,
        # kept, but worth a look: refused only when the column is in data.nonnegative
        "negative_values_kept": {
            c: int((accepted[c] < 0).sum())
            for c in spec.numeric
            if c not in spec.nonnegative and (accepted[c] < 0).any()
        },
    }
    result = IngestResult(spec=spec, accepted=accepted, quarantine=quarantine, metrics=metrics)
    if share > max_quarantine_share:
        return result  # the caller writes the quarantine, then stops with check_quarantine_share
    if accepted[BAD].nunique() < 2:
        raise DataError(
            f"{path}: after validation the target {spec.target!r} has one class only "
            f"({accepted[BAD].map({1: 'bad', 0: 'good'}).unique().tolist()}); "
            "expected both good and bad rows"
        )
    return result


def check_quarantine_share(result: IngestResult, max_share: float) -> None:
    """Stop when more than ``max_share`` of the rows were refused, naming the top reasons."""
    share = result.metrics["quarantine_share"]
    if share > max_share:
        top = sorted(result.metrics["quarantine_reasons"].items(), key=lambda kv: -kv[1])[:5]
        raise DataError(
            f"{result.spec.path}: {result.metrics['rows_quarantined']} of "
            f"{result.metrics['rows_read']} rows refused ({share:.1%}); expected at most "
            f"{max_share:.1%} (data.max_quarantine_share). Most common reasons: {dict(top)}"
        )
