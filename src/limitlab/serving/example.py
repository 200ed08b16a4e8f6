"""Example applicants for a model's signature and documentation, made rather than copied: each
column is a quantile (numbers) or a frequent level (categories) of the training data, taken
column by column, so no example row is a real applicant's."""

from __future__ import annotations

import numpy as np
import pandas as pd
from mlflow.types.schema import AnyType, ColSpec, Schema

from limitlab.serving.scorer import Scorer


def synthetic_applicants(frame: pd.DataFrame, scorer: Scorer, n: int = 5) -> pd.DataFrame:
    """``n`` rows of the scorer's input columns; row ``i`` takes every numeric column at the
    same quantile (so a balance stays under its limit), and the ``i``-th most frequent level."""
    typed = scorer.applicant_columns(frame)
    levels = np.linspace(0.1, 0.9, n)
    columns = {}
    for name in typed.columns:
        values = typed[name]
        if pd.api.types.is_numeric_dtype(values):
            present = values.dropna().astype("float64")
            quantiles = present.quantile(levels).round(2).to_numpy() if len(present) else []
            columns[name] = pd.Series(quantiles if len(present) else [np.nan] * n,
                                      dtype="float64")  # fmt: skip
        else:
            top = values.dropna().value_counts().index.tolist() or [None]
            columns[name] = pd.Series([top[i % len(top)] for i in range(n)], dtype=values.dtype)
    return pd.DataFrame(columns)


def applicant_schema(example: pd.DataFrame) -> Schema:
    """The model's input schema: the applicant columns, each of any type and optional to MLflow.

    MLflow's own enforcement would convert a JSON ``true`` to 1.0, refuse an integer column
    for a float one and answer a missing column with the submitted rows; the bundle's
    validation does those checks instead, naming the row, the field and the value.
    """
    return Schema([ColSpec(AnyType(), str(name), required=False) for name in example.columns])
