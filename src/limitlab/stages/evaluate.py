"""``limitlab evaluate``: test metrics of every family and of the calibrated champion."""

from __future__ import annotations

import joblib
import numpy as np
import pandas as pd

from limitlab import paths
from limitlab.config import Params
from limitlab.data.columns import BAD
from limitlab.data.specs import DatasetSpec
from limitlab.evaluation.metrics import (
    auc_confidence_interval,
    calibration_in_the_large,
    calibration_table,
    classification_metrics,
    ks_table,
    population_stability_index,
    roc_points,
    spiegelhalter_test,
    truth_metrics,
)
from limitlab.evaluation.tiers import income_tier_edges, tier_metrics
from limitlab.features.transformers import raw_inputs
from limitlab.io import read_json, write_json
from limitlab.models.calibration import CalibratedPD, calibration_slope_intercept
from limitlab.stages.common import split_batches

PARAMS = ("evaluate", "train.families", "train.calibration")
CODE = ("config.py", "data", "errors.py", "evaluation", "features", "io.py", "models",
        "paths.py", "stages/common.py")  # fmt: skip


def _calibration_summary(y: np.ndarray, pd_: np.ndarray, bins: int) -> dict:
    """Slope and intercept, calibration-in-the-large, Spiegelhalter's test, ECE and Brier."""
    slope, intercept = calibration_slope_intercept(y, pd_)
    m = classification_metrics(y, pd_, bins)
    return {
        "slope": slope,
        "intercept": intercept,
        "in_the_large": calibration_in_the_large(y, pd_),
        **spiegelhalter_test(y, pd_),
        "ece": m["ece"],
        "brier": m["brier"],
    }


def _write_records(path: str, table: pd.DataFrame) -> None:
    write_json(paths.PLOTS / path, table.to_dict("records"))


def _test_scores(families: list[str], model: CalibratedPD, spec: DatasetSpec) -> dict:
    """Every family's PD, the champion's before and after calibration and the columns the
    metrics need, scored part by part over the test split."""
    pipelines = {family: joblib.load(paths.model_path(family)) for family in families}
    columns = [BAD, *(c for c in (spec.income, spec.truth) if c)]
    parts: dict[str, list[np.ndarray]] = {}
    for batch in split_batches("test"):
        inputs = raw_inputs(batch, spec)
        before = model.raw_pd(inputs)
        scored = {f: pl.predict_proba(inputs)[:, 1] for f, pl in pipelines.items()}
        scored |= {"_before": before, "_champion": model.calibrate(before)}
        scored |= {c: batch[c].to_numpy(float) for c in columns}
        for key, values in scored.items():
            parts.setdefault(key, []).append(values)
    return {key: np.concatenate(values) for key, values in parts.items()}


def _train_pd(model: CalibratedPD, spec: DatasetSpec) -> np.ndarray:
    """The champion's PD of every train row (the reference population of the PSI)."""
    return np.concatenate([model.predict_pd(raw_inputs(batch, spec))
                           for batch in split_batches("train")])  # fmt: skip


def run(params: Params) -> dict:
    """Write the metrics and the data of the ROC, calibration and KS plots."""
    spec = DatasetSpec.from_json(paths.SPEC)
    model: CalibratedPD = joblib.load(paths.CHAMPION)
    scores = _test_scores(params.train.families, model, spec)
    y_test = scores[BAD].astype(int)
    bins = params.evaluate.calibration_bins
    by_family = {}
    for family in params.train.families:
        pd_test = scores[family]
        _, low, high = auc_confidence_interval(y_test, pd_test)
        by_family[family] = {
            **classification_metrics(y_test, pd_test, bins),
            "auc_ci95_low": low,
            "auc_ci95_high": high,
            "calibration": _calibration_summary(y_test, pd_test, bins),
        }
        _write_records(f"roc/{family}.json", roc_points(y_test, pd_test))
        _write_records(f"calibration/{family}.json", calibration_table(y_test, pd_test, bins))
    pd_before, pd_champion = scores["_before"], scores["_champion"]
    pd_train = _train_pd(model, spec)
    _write_records("calibration/champion_calibrated.json",
                   calibration_table(y_test, pd_champion, bins))  # fmt: skip
    ks = ks_table(y_test, pd_champion)
    _write_records("ks.json", ks.iloc[:: max(len(ks) // 200, 1)])
    _, low, high = auc_confidence_interval(y_test, pd_champion)
    metrics = {
        "champion": read_json(paths.metrics_path("train"))["champion"],
        **classification_metrics(y_test, pd_champion, bins),
        "auc_ci95_low": low,
        "auc_ci95_high": high,
        "psi_train_test": population_stability_index(
            pd_train, pd_champion, params.evaluate.psi_bins
        ),
        "calibration": {
            "method": params.train.calibration,
            "before": _calibration_summary(y_test, pd_before, bins),
            "after": _calibration_summary(y_test, pd_champion, bins),
        },
        "models": by_family,
        "by_income_tier": {},
    }
    if spec.income:
        income = pd.read_parquet(paths.split_path("train"), columns=[spec.income])[spec.income]
        edges = income_tier_edges(income, params.evaluate.income_tiers)
        metrics["by_income_tier"] = tier_metrics(scores[spec.income], y_test, pd_champion, edges,
                                                 bins)  # fmt: skip
    if spec.truth:
        metrics["truth"] = truth_metrics(y_test, pd_champion, scores[spec.truth], bins)
    write_json(paths.metrics_path("evaluate"), metrics)
    return metrics
