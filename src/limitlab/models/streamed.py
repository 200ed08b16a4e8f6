"""XGBoost trained on every training row, read in batches: ``train.engine: streamed``.

The feature Parquet files (the train split's, and the validation split's for the final fit on
both) are read batch by batch through an ``xgboost.DataIter`` into a
``QuantileDMatrix``, which keeps each value as its histogram bin (one byte) instead of a float:
the whole training split fits in memory where its float matrix would not, and no batch is held
longer than its turn. The booster comes back as an ordinary ``XGBClassifier`` so that
evaluation, limits and serving are the same for every engine.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import xgboost as xgb

from limitlab.data.columns import BAD
from limitlab.data.specs import DataError
from limitlab.io import parquet_batches
from limitlab.models.families import with_booster


def parquet_files(parquet: str | Path | Sequence[str | Path]) -> list[Path]:
    """One Parquet file or several, as a list of paths."""
    return [Path(parquet)] if isinstance(parquet, str | Path) else [Path(p) for p in parquet]


class ParquetBatches(xgb.DataIter):
    """The feature columns and the outcome of Parquet files, one after the other, ``rows`` at a
    time, as float32."""

    def __init__(self, path: Path | Sequence[Path], rows: int, columns: list[str]) -> None:
        self._paths = parquet_files(path)
        self._rows, self._columns = rows, columns
        self._batches: Iterator[tuple[Path, pd.DataFrame]] | None = None
        self.rows_read = 0
        super().__init__(release_data=True)

    def next(self, input_data: Callable[..., Any]) -> bool:
        if self._batches is None:
            self._batches = self._every_batch()
            self.rows_read = 0
        found = next(self._batches, None)
        if found is None:
            return False
        path, frame = found
        labels = frame[BAD].to_numpy()
        if not np.isin(labels, (0, 1)).all():
            raise DataError(f"{path}: column {BAD!r} holds values other than 0 and 1")
        input_data(data=frame[self._columns].to_numpy(np.float32), label=labels,
                   feature_names=self._columns)  # fmt: skip
        self.rows_read += len(frame)
        return True

    def _every_batch(self) -> Iterator[tuple[Path, pd.DataFrame]]:
        for path in self._paths:
            for frame in parquet_batches(path, self._rows, [*self._columns, BAD]):
                yield path, frame

    def reset(self) -> None:
        self._batches = None


def feature_columns(path: Path) -> list[str]:
    """The model columns of a feature Parquet file (every column but the outcome)."""
    names = pq.read_schema(path).names
    if BAD not in names:
        raise DataError(f"{path}: no outcome column {BAD!r}; expected the features stage's output")
    return [n for n in names if n != BAD]


def fit_xgboost_streamed(
    model: xgb.XGBClassifier, parquet: Path | Sequence[Path], batch_rows: int
) -> xgb.XGBClassifier:
    """Fit ``model``'s hyper-parameters on every row of ``parquet`` (one file or several with
    the same columns), ``batch_rows`` at a time; return a local ``XGBClassifier`` with the
    trained booster."""
    files = parquet_files(parquet)
    columns = feature_columns(files[0])
    for other in files[1:]:
        if feature_columns(other) != columns:
            raise DataError(f"{other}: feature columns differ from {files[0]}'s; expected the "
                            "same features stage's output")  # fmt: skip
    batches = ParquetBatches(files, batch_rows, columns)
    train = xgb.QuantileDMatrix(batches, max_bin=model.max_bin or 256)
    params = model.get_xgb_params()
    rounds = int(model.n_estimators or 100)
    return with_booster(model, xgb.train(params, train, num_boost_round=rounds))
