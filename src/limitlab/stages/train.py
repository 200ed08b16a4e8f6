"""``limitlab train``: out-of-fold PDs of every family from K-fold on the train split; the
champion chosen and calibrated on them; the final models fitted on train and valid
(``train.final_fit``)."""

from __future__ import annotations

import joblib
import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline
from xgboost import XGBClassifier

from limitlab import paths
from limitlab.config import Params, TrainParams
from limitlab.data.columns import BAD
from limitlab.data.specs import DatasetSpec
from limitlab.features.transformers import raw_inputs
from limitlab.io import dump_model, read_json, write_json
from limitlab.models.calibration import calibrated_out_of_fold
from limitlab.models.ensemble import ENSEMBLE, StackedPD, cross_fitted
from limitlab.models.fit import TrainingSet, TunedXGBoost, XGBoostFit, fit_family, tuned_settings
from limitlab.models.out_of_fold import fold_indices, out_of_fold
from limitlab.models.selection import choose_champion
from limitlab.stages.common import load_split, load_xy, sample_positions

PARAMS = ("train",)
CODE = ("config.py", "data", "errors.py", "evaluation", "features", "io.py", "models",
        "paths.py", "stages/common.py")  # fmt: skip


def _xgboost_engine(p: TrainParams, splits: tuple[str, ...]) -> XGBoostFit | None:
    """With ``train.engine: dask``, XGBoost is fitted on the cluster; with ``streamed``, on
    every row of the ``splits``' features read in batches (whatever ``train.sample_rows``)."""
    files = [paths.features_path(s) for s in splits]
    if p.engine == "streamed":

        def streamed(model: XGBClassifier) -> XGBClassifier:
            from limitlab.models.streamed import fit_xgboost_streamed

            return fit_xgboost_streamed(model, files, p.stream_batch_rows)

        return streamed
    if p.engine != "dask":
        return None

    def fit(model: XGBClassifier) -> XGBClassifier:
        from limitlab.models.distributed import dask_client, fit_xgboost_dask

        with dask_client(p) as client:
            return fit_xgboost_dask(model, files, client)

    return fit


def _out_of_fold(
    family: str, data: TrainingSet, train: TrainParams, tuned: TunedXGBoost | None, folds: list
) -> np.ndarray:
    """The family's out-of-fold PDs of the train split (the fitted feature pipeline is shared:
    it learns no outcome)."""

    def fit_predict(fit_rows: np.ndarray, scored_rows: np.ndarray) -> np.ndarray:
        pipeline = fit_family(family, data.rows(fit_rows), train, train.seed, tuned)
        return pipeline.predict_proba(raw_inputs(data.raw.iloc[scored_rows], data.spec))[:, 1]

    return out_of_fold(fit_predict, len(data.y), folds)


def _ensemble(
    pipelines: dict[str, Pipeline], oof: dict[str, np.ndarray], y: np.ndarray, folds: list
) -> tuple[Pipeline, np.ndarray]:
    """The stacked blend of the members fitted so far, and its cross-fitted out-of-fold PDs."""
    names = [n for n in pipelines if n != ENSEMBLE]
    model = StackedPD.from_out_of_fold({n: pipelines[n] for n in names}, oof, y)
    scores = np.column_stack([oof[n] for n in names])
    return Pipeline([("features", "passthrough"), ("model", model)]), cross_fitted(scores, y, folds)


def _boosted_settings() -> dict[str, TunedXGBoost]:
    """XGBoost's study's best settings, and the additive family's (XGBoost's when its study
    has no trials)."""
    best = read_json(paths.BEST_PARAMS)
    additive = read_json(paths.ADDITIVE_BEST_PARAMS)
    found = additive if additive.get("tuned") else best
    return {
        "xgboost": TunedXGBoost(best["params"], best["n_estimators"], best["monotone"]),
        "additive": TunedXGBoost(found["params"], found["n_estimators"], found["monotone"]),
    }


def run(params: Params) -> dict:
    """Write every family's pipeline, the out-of-fold PDs, the calibrated champion and the
    scorecard's points."""
    p = params.train
    spec = DatasetSpec.from_json(paths.SPEC)
    keep = {n: sample_positions(n, p.sample_rows, p.seed) for n in ("train", "valid")}
    data = TrainingSet(spec, joblib.load(paths.FEATURES_MODEL), load_split("train", keep["train"]),
                       *load_xy("train", keep["train"]))  # fmt: skip
    final, splits = data, ("train", "valid") if p.final_fit == "train_and_valid" else ("train",)
    if "valid" in splits:  # the train rows become a view of the joined ones
        final = data.joined(load_split("valid", keep["valid"]), *load_xy("valid", keep["valid"]))
        data = final.rows(slice(0, len(data.y)))
    y_train = data.y
    linear = read_json(paths.LINEAR_BEST_PARAMS)
    p = tuned_settings(p, linear)  # the scorecard's binning and logistic C from their studies
    boosted = _boosted_settings()
    folds = fold_indices(y_train, p.cv_folds, p.cv_repeats, p.seed)
    pipelines, oof = {}, {}
    members_first = sorted(p.families, key=lambda f: f == ENSEMBLE)  # the blend needs them
    for family in members_first:
        if family == ENSEMBLE:
            pipeline, oof[family] = _ensemble(pipelines, oof, y_train, folds)
        else:
            oof[family] = _out_of_fold(family, data, p, boosted.get(family), folds)
            engine = _xgboost_engine(p, splits) if family == "xgboost" else None
            pipeline = fit_family(family, final, p, p.seed, boosted.get(family), engine)
        pipelines[family] = pipeline
        dump_model(pipeline, paths.model_path(family))
    champion, selection = choose_champion(
        oof, y_train, p.selection_metric, p.champion, p.simplicity, p.selection_alpha
    )
    model = calibrated_out_of_fold(pipelines[champion], p.calibration, oof[champion], y_train)
    dump_model(model, paths.CHAMPION)
    pd.DataFrame(oof).assign(**{BAD: y_train}).to_parquet(paths.OUT_OF_FOLD, index=False)
    if "scorecard" in pipelines:
        points = pipelines["scorecard"][-1].points_table().to_dict("records")
        write_json(paths.POINTS_TABLE, points)
    if "additive" in pipelines:
        points = pipelines["additive"][-1].points_table(p.scorecard.pdo)
        write_json(paths.ADDITIVE_POINTS, points.to_dict("records"))
    metrics = {
        "champion": champion,
        "selection_metric": p.selection_metric,
        "train_rows": len(y_train),  # train.sample_rows of them on large data
        "final_fit": p.final_fit,
        "final_fit_rows": len(final.y),
        "xgboost_fitted_on": f"every row of {' and '.join(splits)}"
        if p.engine != "local"
        else "final_fit_rows",
        "selection": selection,
        "tuned": {f: r["params"] if r.get("tuned") else "fixed" for f, r in linear.items()},
        "ensemble": pipelines[ENSEMBLE][-1].stacking() if ENSEMBLE in pipelines else None,
        "calibration": p.calibration,
        "calibrated_on": f"out-of-fold PDs of the train split, {p.cv_repeats} x {p.cv_folds}-fold",
    }
    write_json(paths.metrics_path("train"), metrics)
    return metrics
