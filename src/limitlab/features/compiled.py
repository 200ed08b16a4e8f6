"""A scoring-time transform compiled from the fitted feature pipeline.

scikit-learn fits the pipeline (derived ratios, median imputation with missing-value flags,
one-hot encoding with rare and unseen levels pooled); scoring reads its fitted parameters into
plain numpy: the same matrix, with the same column names, without the cost of the pandas output
of every step. A pipeline of another shape is not compiled: the caller keeps scikit-learn's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

from limitlab.data.lookup import lookup
from limitlab.features.transformers import DerivedRatios, _ratio

MISSING_LEVEL = "missing"  # what the categorical imputer fills in


@dataclass(frozen=True)
class OneHot:
    """One categorical column: the output position of every level seen in training (rare ones
    share the pooled last column), its width, and whether an unseen level joins the pool (or
    gets no column)."""

    column: str
    positions: dict[object, int]
    width: int
    unseen_pooled: bool

    def encode(self, values: pd.Series, out: np.ndarray | None = None) -> np.ndarray:
        """The one-hot columns of ``values``, written into ``out`` (zeros) when given."""
        out = np.zeros((len(values), self.width)) if out is None else out
        missing = self.positions.get(MISSING_LEVEL, -1)
        position = lookup(values, self.positions, -1, missing, "int64")
        rows = np.arange(len(values))
        known = position >= 0
        out[rows[known], position[known]] = 1.0
        if self.unseen_pooled:
            out[rows[~known], self.width - 1] = 1.0
        return out


@dataclass(frozen=True)
class CompiledTransform:
    """The fitted feature pipeline as numpy operations (see :func:`compile_transform`)."""

    ratios: dict[str, tuple[str, str]]
    numeric: list[str]
    kept: np.ndarray
    medians: np.ndarray
    flagged: np.ndarray
    onehots: list[OneHot]
    columns: list[str]

    def transform(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Raw applicant columns (typed as at ingest) in, the model matrix out."""
        derived = {name: _ratio(frame[num], frame[den]) for name, (num, den) in
                   self.ratios.items()}  # fmt: skip
        n, kept = len(frame), np.flatnonzero(self.kept)
        matrix = np.zeros((n, len(self.columns)), order="F")  # filled column by column
        flags = {int(j): len(kept) + k for k, j in enumerate(self.flagged)}
        medians = dict(zip(kept.tolist(), self.medians.tolist(), strict=True))
        at = 0
        for i, column in enumerate(self.numeric):
            values = (derived[column] if column in derived else frame[column]).to_numpy(
                dtype="float64", na_value=np.nan
            )
            missing = np.isnan(values)
            if i in medians:
                matrix[:, at] = np.where(missing, medians[i], values)
                at += 1
            if i in flags:
                matrix[:, flags[i]] = missing
        start = len(kept) + len(self.flagged)
        for onehot in self.onehots:
            onehot.encode(frame[onehot.column], matrix[:, start : start + onehot.width])
            start += onehot.width
        return pd.DataFrame(matrix, columns=self.columns, index=frame.index, copy=False)


def compile_transform(features: object) -> CompiledTransform | None:
    """Compile a fitted pipeline of :func:`build_feature_pipeline`'s shape; None otherwise."""
    if not isinstance(features, Pipeline):
        return None
    steps = dict(features.named_steps)
    columns = steps.get("columns")
    ratios = steps.get("ratios")
    if not isinstance(columns, ColumnTransformer) or set(steps) - {"ratios", "columns"}:
        return None
    if ratios is not None and not isinstance(ratios, DerivedRatios):
        return None
    fitted = dict((name, (step, cols)) for name, step, cols in columns.transformers_)
    if set(fitted) - {"num", "cat", "remainder"}:
        return None
    numeric, onehots = _numeric(fitted.get("num")), _onehots(fitted.get("cat"))
    if numeric is None or onehots is None:
        return None
    names, kept, medians, flagged = numeric
    pairs = ratios.ratio_columns() if ratios is not None else {}
    derived = {k: v for k, v in pairs.items() if k in getattr(ratios, "derived_", [])}
    return CompiledTransform(derived, names, kept, medians, flagged, onehots,
                             [str(c) for c in features.get_feature_names_out()])  # fmt: skip


def _numeric(part: tuple | None) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray] | None:
    """Input columns, which are kept (one missing in every training row is dropped), their
    medians, and the input columns that get a missing-value flag."""
    if part is None:
        return [], np.empty(0, dtype=bool), np.empty(0), np.empty(0, dtype=int)
    imputer, columns = part
    if not len(columns):  # no numeric feature: scikit-learn leaves the step unfitted
        return [], np.empty(0, dtype=bool), np.empty(0), np.empty(0, dtype=int)
    if not isinstance(imputer, SimpleImputer) or imputer.strategy != "median":
        return None
    kept = ~np.isnan(imputer.statistics_)
    flags = imputer.indicator_.features_ if imputer.add_indicator else np.empty(0, dtype=int)
    return list(columns), kept, imputer.statistics_[kept], np.asarray(flags, dtype=int)


def _onehots(part: tuple | None) -> list[OneHot] | None:
    if part is None or part[0] == "drop":
        return []
    encode, columns = part
    if not len(columns):  # no categorical feature: the step is left unfitted
        return []
    if not isinstance(encode, Pipeline) or not isinstance(encode[-1], OneHotEncoder):
        return None
    encoder = encode[-1]
    if encoder.drop is not None or encoder.handle_unknown not in ("ignore", "infrequent_if_exist"):
        return None
    enabled = getattr(encoder, "_infrequent_enabled", False)
    infrequent = encoder.infrequent_categories_ if enabled else None
    out = []
    for i, column in enumerate(columns):
        rare = set() if infrequent is None or infrequent[i] is None else set(infrequent[i])
        levels = [c for c in encoder.categories_[i] if c not in rare]
        width = len(levels) + bool(rare)
        positions = {c: j for j, c in enumerate(levels)} | {c: width - 1 for c in rare}
        pooled = bool(rare) and encoder.handle_unknown == "infrequent_if_exist"
        out.append(OneHot(column, positions, width, pooled))
    return out
