"""``limitlab train``: every family on train; the champion chosen and calibrated on validation."""

from __future__ import annotations

from collections.abc import Callable

import joblib
import pandas as pd
from xgboost import XGBClassifier

from limitlab import paths
from limitlab.config import Params, TrainParams
from limitlab.data.columns import BAD
from limitlab.data.specs import DatasetSpec
from limitlab.evaluation.metrics import classification_metrics
from limitlab.features.transformers import raw_inputs
from limitlab.io import dump_model, read_json, write_json
from limitlab.models.calibration import calibrated
from limitlab.models.fit import TrainingSet, TunedXGBoost, fit_family
from limitlab.models.selection import choose_champion
from limitlab.stages.common import load_xy

PARAMS = ("train",)
CODE = ("config.py", "data", "errors.py", "evaluation", "features", "io.py", "models",
        "paths.py", "stages/common.py")  # fmt: skip


def _fit_xgboost_on_dask(p: TrainParams) -> Callable[[XGBClassifier], XGBClassifier] | None:
    """With ``train.engine: dask``, XGBoost is fitted on the cluster."""
    if p.engine != "dask":
        return None

    def fit(model: XGBClassifier) -> XGBClassifier:
        from limitlab.models.distributed import dask_client, fit_xgboost_dask

        with dask_client(p) as client:
            return fit_xgboost_dask(model, paths.features_path("train"), client)

    return fit


def run(params: Params) -> dict:
    """Write every family's pipeline, the calibrated champion and the scorecard's points."""
    spec = DatasetSpec.from_json(paths.SPEC)
    train_raw = pd.read_parquet(paths.split_path("train"))
    valid_raw = pd.read_parquet(paths.split_path("valid"))
    x_train, y_train = load_xy("train")
    data = TrainingSet(spec, joblib.load(paths.FEATURES_MODEL), train_raw, x_train, y_train)
    tuned = None
    if "xgboost" in params.train.families:
        best = read_json(paths.BEST_PARAMS)
        tuned = TunedXGBoost(best["params"], best["n_estimators"], best["monotone"])
    y_valid = valid_raw[BAD].to_numpy()
    valid, pipelines = {}, {}
    for family in params.train.families:
        pipeline = fit_family(family, data, params.train, params.train.seed, tuned,
                              _fit_xgboost_on_dask(params.train))  # fmt: skip
        pd_valid = pipeline.predict_proba(raw_inputs(valid_raw, spec))[:, 1]
        valid[family] = classification_metrics(y_valid, pd_valid)
        pipelines[family] = pipeline
        dump_model(pipeline, paths.model_path(family))
    champion = choose_champion(valid, params.train.selection_metric, params.train.champion)
    model = calibrated(
        pipelines[champion], params.train.calibration, raw_inputs(valid_raw, spec), y_valid
    )
    dump_model(model, paths.CHAMPION)
    if "scorecard" in pipelines:
        points = pipelines["scorecard"][-1].points_table().to_dict("records")
        write_json(paths.POINTS_TABLE, points)
    metrics = {
        "champion": champion,
        "selection_metric": params.train.selection_metric,
        "calibration": params.train.calibration,
        "valid": valid,
    }
    write_json(paths.metrics_path("train"), metrics)
    return metrics
