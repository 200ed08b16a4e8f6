"""The additive family's lookup tables read straight from raw applicant columns.

An additive model's log-odds is a sum of one step function per model column, and a raw feature's
model columns are a function of that feature alone: its median-imputed value and missing flag,
or its one-hot levels. So each raw feature's summed contribution is itself a lookup: a step
function of the raw number (with one value for a missing number), or a value per level. Scoring
reads those directly, without building the model matrix or summing its columns per feature; the
sums are added in the order :func:`~limitlab.models.contributions.summed_to_raw` adds them, so
they equal its result to the last bit (tested).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import expit

from limitlab.data.lookup import interval_counts, lookup
from limitlab.features.compiled import MISSING_LEVEL, CompiledTransform
from limitlab.features.transformers import _ratio
from limitlab.models.additive import AdditiveBoosting, ColumnTable
from limitlab.models.contributions import source_feature
from limitlab.models.rowwise import row_sums
from limitlab.threads import run_each


def _at(table: ColumnTable | None, x: float) -> float:
    return 0.0 if table is None else float(table.lookup(np.array([x]))[0])


@dataclass(frozen=True)
class NumberTable:
    """A numeric raw feature (or ratio): its imputed column's table, plus its flag's value."""

    feature: str
    table: ColumnTable | None  # None: no value column (missing in every training row)
    present_flag: float  # the flag column's contribution when the value is there (0.0: none)
    missing: float  # the whole feature's contribution when the value is missing

    def read(self, values: np.ndarray, out: np.ndarray) -> None:
        if self.table is None:
            out[:] = self.present_flag
        else:  # ColumnTable.lookup's steps, a missing value set once at the end
            steps = interval_counts(self.table.splits, values.astype(np.float32), side="right")
            np.take(np.asarray(self.table.values, dtype=np.float64), steps, out=out)
            if self.present_flag != 0.0:
                out += self.present_flag
        out[np.isnan(values)] = self.missing


@dataclass(frozen=True)
class LevelTable:
    """A categorical raw feature: the summed contribution of its one-hot columns per level."""

    feature: str
    column: str
    levels: dict[object, float]
    unseen: float
    missing: float

    def read(self, values: pd.Series, out: np.ndarray) -> None:
        out[:] = lookup(values, self.levels, self.unseen, self.missing, "float64")


@dataclass(frozen=True)
class RawFeatureTables:
    """Every raw feature's contribution as one lookup, and the model's bias."""

    ratios: dict[str, tuple[str, str]]
    tables: list[NumberTable | LevelTable]
    bias: float

    @property
    def features(self) -> list[str]:
        return [t.feature for t in self.tables]

    def margins(self, frame: pd.DataFrame) -> np.ndarray:
        """Each raw feature's contribution to each row's log-odds (rows x :attr:`features`),
        from raw columns typed as at ingest."""
        out = np.empty((len(frame), len(self.tables)), order="F")

        def read(j: int) -> None:  # one column, on its own
            table = self.tables[j]
            if isinstance(table, LevelTable):
                table.read(frame[table.column], out[:, j])
                return
            source = self.ratios.get(table.feature)
            values = (
                _ratio(frame[source[0]], frame[source[1]]) if source else frame[table.feature]
            ).to_numpy(dtype="float64", na_value=np.nan)
            table.read(values, out[:, j])

        run_each(read, len(self.tables), len(frame))
        return out

    def pd_from_margins(self, margins: np.ndarray) -> np.ndarray:
        """The model's PD (before calibration) of rows with these raw-feature contributions."""
        return expit(self.bias + row_sums(margins))


def compile_raw_tables(
    transform: CompiledTransform, model: AdditiveBoosting
) -> RawFeatureTables | None:
    """The raw-feature tables of a fitted additive model behind a compiled transform; None
    when the model's columns are not the transform's."""
    if list(model.columns_) != transform.columns:
        return None
    table = model.tables_.get
    names = transform.columns
    kept = np.flatnonzero(transform.kept)
    value_at = {int(i): names[k] for k, i in enumerate(kept)}
    flag_at = {int(i): names[len(kept) + k] for k, i in enumerate(transform.flagged)}
    medians = dict(zip(kept.tolist(), transform.medians.tolist(), strict=True))
    built: dict[str, NumberTable | LevelTable] = {}
    for i, column in enumerate(transform.numeric):
        value, flag = table(value_at.get(i, "")), table(flag_at.get(i, ""))
        # summed as summed_to_raw sums: the value column first, then the flag
        missing = (_at(value, medians[i]) if i in medians else 0.0) + _at(flag, 1.0)
        built[column] = NumberTable(column, value, _at(flag, 0.0), missing)
    start = len(kept) + len(transform.flagged)
    for onehot in transform.onehots:
        tables = [table(c) for c in names[start : start + onehot.width]]
        start += onehot.width

        def summed(position: int, tables: list = tables) -> float:
            total = 0.0
            for k, t in enumerate(tables):
                total += _at(t, float(k == position))
            return total

        pooled = onehot.width - 1 if onehot.unseen_pooled else -1
        missing = onehot.positions.get(MISSING_LEVEL, pooled)
        levels = {level: summed(p) for level, p in onehot.positions.items()}
        built[onehot.column] = LevelTable(
            onehot.column, onehot.column, levels, summed(pooled), summed(missing)
        )
    order = dict.fromkeys(source_feature(c) for c in names)  # summed_to_raw's column order
    if set(order) != set(built):
        return None
    return RawFeatureTables(transform.ratios, [built[f] for f in order], model.bias_)
