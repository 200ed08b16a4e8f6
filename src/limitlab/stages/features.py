"""``limitlab features``: fit the feature pipeline on train; transform every split."""

from __future__ import annotations

import pandas as pd

from limitlab import paths
from limitlab.config import Params
from limitlab.data.columns import BAD
from limitlab.data.specs import DatasetSpec
from limitlab.features.transformers import build_feature_pipeline, raw_inputs
from limitlab.io import dump_model, write_json, write_parquet

PARAMS = ("features",)
CODE = ("config.py", "data", "errors.py", "features", "io.py", "paths.py")
ROW_GROUPS = 16  # feature matrices: Dask reads each row group as a partition


def run(params: Params) -> dict:
    """Write float32 feature matrices (with the outcome) and the fitted pipeline."""
    spec = DatasetSpec.from_json(paths.SPEC)
    pipeline = build_feature_pipeline(
        spec, params.features.derived_ratios, params.features.min_category_share
    )
    train = pd.read_parquet(paths.split_path("train"))
    pipeline.fit(raw_inputs(train, spec))
    for name in paths.SPLIT_NAMES:
        part = train if name == "train" else pd.read_parquet(paths.split_path(name))
        matrix = pipeline.transform(raw_inputs(part, spec)).astype("float32")
        matrix[BAD] = part[BAD].to_numpy()
        write_parquet(paths.features_path(name), matrix.reset_index(drop=True), ROW_GROUPS)
    dump_model(pipeline, paths.FEATURES_MODEL)
    names = list(pipeline.get_feature_names_out())
    metrics = {"n_features": len(names), "features": names}
    write_json(paths.metrics_path("features"), metrics)
    return metrics
