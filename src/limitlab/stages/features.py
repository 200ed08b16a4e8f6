"""``limitlab features``: fit the feature pipeline on train; transform every split part by part."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from limitlab import paths
from limitlab.config import Params
from limitlab.data.columns import BAD
from limitlab.data.specs import DatasetSpec
from limitlab.features.compiled import compile_transform
from limitlab.features.transformers import build_feature_pipeline, raw_inputs
from limitlab.io import ParquetSink, dump_model, parquet_batches, parquet_rows, write_json

PARAMS = ("features",)
CODE = ("config.py", "data", "errors.py", "features", "io.py", "paths.py")
ROW_GROUPS = 16  # feature matrices: Dask reads each row group as a partition
MAX_BATCH_ROWS = 250_000


def fitting_rows(n: int, limit: int | None, seed: int) -> np.ndarray | None:
    """Sorted positions of the train rows the pipeline is fitted on; None for all of them."""
    if limit is None or n <= limit:
        return None
    return np.sort(np.random.default_rng(seed).choice(n, size=limit, replace=False))


def read_rows(path, positions: np.ndarray | None) -> pd.DataFrame:
    """The rows of a split at ``positions`` (all rows when None), read part by part."""
    found, offset = [], 0
    for part in parquet_batches(path, MAX_BATCH_ROWS):
        if positions is None:
            found.append(part)
        else:
            inside = positions[(positions >= offset) & (positions < offset + len(part))]
            found.append(part.iloc[inside - offset])
        offset += len(part)
    return pd.concat(found, ignore_index=True)


def run(params: Params) -> dict:
    """Write float32 feature matrices (with the outcome) and the fitted pipeline."""
    spec = DatasetSpec.from_json(paths.SPEC)
    p = params.features
    pipeline = build_feature_pipeline(spec, p.derived_ratios, p.min_category_share)
    train = paths.split_path("train")
    n_train = parquet_rows(train)
    fitted_on = fitting_rows(n_train, p.fit_rows, p.seed)
    pipeline.fit(raw_inputs(read_rows(train, fitted_on), spec))
    compiled = compile_transform(pipeline)
    transform = compiled.transform if compiled else pipeline.transform
    for name in paths.SPLIT_NAMES:
        source = paths.split_path(name)
        rows = max(math.ceil(parquet_rows(source) / ROW_GROUPS), 1_000)
        with ParquetSink(paths.features_path(name)) as sink:
            for part in parquet_batches(source, min(rows, MAX_BATCH_ROWS)):
                matrix = transform(raw_inputs(part, spec)).astype("float32")
                matrix[BAD] = part[BAD].to_numpy()
                sink.write(matrix.reset_index(drop=True))
    dump_model(pipeline, paths.FEATURES_MODEL)
    names = list(pipeline.get_feature_names_out())
    metrics = {"n_features": len(names), "features": names,
               "fitted_on_rows": n_train if fitted_on is None else len(fitted_on)}  # fmt: skip
    write_json(paths.metrics_path("features"), metrics)
    return metrics
