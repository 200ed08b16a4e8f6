"""The pipeline stages. Each reads its params section and declared inputs, and writes its outputs.

Paths are relative to the working directory, which DVC sets to the folder of ``dvc.yaml``.
"""

from __future__ import annotations

import hashlib

import joblib
import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from limitlab import paths
from limitlab.config import Params
from limitlab.data.ingest import BAD, ROW, check_quarantine_share, ingest
from limitlab.data.specs import DataError, DatasetSpec, resolve_spec
from limitlab.evaluation.metrics import (
    calibration_table,
    classification_metrics,
    ks_table,
    roc_points,
)
from limitlab.features.transformers import build_feature_pipeline, raw_inputs
from limitlab.io import read_json, write_json, write_parquet
from limitlab.limits.decide import decide
from limitlab.limits.optimise import candidate_outcomes, optimise_caps
from limitlab.limits.policy import Policy
from limitlab.limits.report import band_table, grade_band_table, portfolio_totals
from limitlab.limits.segments import segment_report
from limitlab.models.families import FAMILIES, make_logistic, make_xgboost
from limitlab.models.tuning import finished_trials, open_study, study_name, tune
from limitlab.serving.scorer import Scorer


def run_ingest(params: Params) -> dict:
    """Validate the raw file; write kept rows, refused rows with reasons, the typed spec."""
    spec = resolve_spec(params.data)
    result = ingest(spec, params.data.max_quarantine_share)
    write_parquet(paths.ACCEPTED, result.accepted)
    write_parquet(paths.QUARANTINE, result.quarantine)
    result.spec.to_json(paths.SPEC)
    write_json(paths.metrics_path("ingest"), result.metrics)
    check_quarantine_share(result, params.data.max_quarantine_share)
    return result.metrics


def split_frame(frame: pd.DataFrame, spec: DatasetSpec, params: Params) -> dict[str, pd.DataFrame]:
    """Train / validation / test: stratified by outcome and seeded, or by date when one is set."""
    p = params.split
    if spec.date:
        ordered = frame.sort_values([spec.date, ROW], kind="mergesort").reset_index(drop=True)
        n = len(ordered)
        n_test, n_valid = round(n * p.test_size), round(n * p.valid_size)
        cut_valid, cut_test = n - n_test - n_valid, n - n_test
        return {
            "train": ordered.iloc[:cut_valid],
            "valid": ordered.iloc[cut_valid:cut_test],
            "test": ordered.iloc[cut_test:],
        }
    rest, test = train_test_split(
        frame, test_size=p.test_size, stratify=frame[BAD], random_state=p.seed
    )
    train, valid = train_test_split(
        rest,
        test_size=p.valid_size / (1 - p.test_size),
        stratify=rest[BAD],
        random_state=p.seed,
    )
    return {"train": train, "valid": valid, "test": test}


def run_split(params: Params) -> dict:
    spec = DatasetSpec.from_json(paths.SPEC)
    parts = split_frame(pd.read_parquet(paths.ACCEPTED), spec, params)
    metrics = {}
    for name, part in parts.items():
        if part[BAD].nunique() < 2:
            raise DataError(
                f"split {name!r} has {len(part)} rows of one class only; expected both good and "
                "bad rows (more data, or other split.valid_size / split.test_size)"
            )
        write_parquet(paths.split_path(name), part.sort_values(ROW))
        metrics[name] = {"rows": len(part), "bad_rate": float(part[BAD].mean())}
    metrics["by"] = "date" if spec.date else "stratified"
    write_json(paths.metrics_path("split"), metrics)
    return metrics


def run_features(params: Params) -> dict:
    """Fit the feature pipeline on the training split; transform every split."""
    spec = DatasetSpec.from_json(paths.SPEC)
    pipeline = build_feature_pipeline(
        spec, params.features.derived_ratios, params.features.min_category_share
    )
    train = pd.read_parquet(paths.split_path("train"))
    pipeline.fit(raw_inputs(train, spec))
    for name in paths.SPLIT_NAMES:
        part = train if name == "train" else pd.read_parquet(paths.split_path(name))
        matrix = pipeline.transform(raw_inputs(part, spec)).astype("float64")
        matrix[BAD] = part[BAD].to_numpy()
        write_parquet(paths.features_path(name), matrix.reset_index(drop=True))
    paths.FEATURES_MODEL.parent.mkdir(parents=True, exist_ok=True)
    joblib.dump(pipeline, paths.FEATURES_MODEL)
    names = list(pipeline.get_feature_names_out())
    metrics = {"n_features": len(names), "features": names}
    write_json(paths.metrics_path("features"), metrics)
    return metrics


def load_xy(name: str) -> tuple[pd.DataFrame, np.ndarray]:
    frame = pd.read_parquet(paths.features_path(name))
    return frame.drop(columns=[BAD]), frame[BAD].to_numpy()


def frame_digest(*frames: pd.DataFrame) -> str:
    digest = hashlib.sha256()
    for frame in frames:
        digest.update(",".join(frame.columns).encode())
        digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def run_tune(params: Params) -> dict:
    """Optuna over XGBoost hyper-parameters; the study lives in a journal file and resumes."""
    frames = [pd.read_parquet(paths.features_path(n)) for n in ("train", "valid")]
    name = study_name(frame_digest(*frames), params.tune)
    train, valid = load_xy("train"), load_xy("valid")
    study = tune(open_study(paths.STUDY_JOURNAL, name, params.tune.seed), params.tune, train, valid)
    best = study.best_trial
    result = {
        "study_name": name,
        "best_trial": best.number,
        "best_valid_auc": best.value,
        "n_trials_complete": len(finished_trials(study)),
        "params": best.params,
        "n_estimators": best.user_attrs["n_estimators"],
    }
    write_json(paths.BEST_PARAMS, result)
    write_json(paths.metrics_path("tune"), {k: result[k] for k in list(result)[:4]})
    return result


def run_train(params: Params) -> dict:
    """Fit the tuned XGBoost and the logistic baseline on train; pick the champion on valid."""
    (x_train, y_train), (x_valid, y_valid) = load_xy("train"), load_xy("valid")
    best = read_json(paths.BEST_PARAMS)
    seed = params.train.seed
    models = {
        "xgboost": make_xgboost(best["params"], seed, n_estimators=best["n_estimators"]),
        "logistic": make_logistic(params.train.logistic_c, seed),
    }
    valid_auc = {}
    for family, model in models.items():
        model.fit(x_train, y_train)
        pd_valid = model.predict_proba(x_valid)[:, 1]
        valid_auc[family] = classification_metrics(y_valid, pd_valid)["auc"]
        paths.model_path(family).parent.mkdir(parents=True, exist_ok=True)
        joblib.dump(model, paths.model_path(family))
    champion = params.train.champion
    if champion == "auto":
        champion = max(FAMILIES, key=lambda f: valid_auc[f])
    metrics = {"valid_auc": valid_auc, "champion": champion}
    write_json(paths.metrics_path("train"), metrics)
    return metrics


def run_evaluate(params: Params) -> dict:
    """Test metrics of every family; ROC, calibration and KS data for DVC plots."""
    x_test, y_test = load_xy("test")
    champion = read_json(paths.metrics_path("train"))["champion"]
    bins = params.evaluate.calibration_bins
    by_family = {}
    for family in FAMILIES:
        pd_test = joblib.load(paths.model_path(family)).predict_proba(x_test)[:, 1]
        by_family[family] = classification_metrics(y_test, pd_test, bins)
        write_json(
            paths.PLOTS / "roc" / f"{family}.json", roc_points(y_test, pd_test).to_dict("records")
        )
        calibration = calibration_table(y_test, pd_test, bins)
        write_json(paths.PLOTS / "calibration" / f"{family}.json", calibration.to_dict("records"))
        if family == champion:
            ks = ks_table(y_test, pd_test)
            step = max(len(ks) // 200, 1)
            write_json(paths.PLOTS / "ks.json", ks.iloc[::step].to_dict("records"))
    metrics = {"champion": champion, **by_family[champion], "models": by_family}
    write_json(paths.metrics_path("evaluate"), metrics)
    return metrics


def run_limits(params: Params) -> dict:
    """Decisions for the test split with the champion; band tables, segments, optimised caps."""
    spec = DatasetSpec.from_json(paths.SPEC)
    test = pd.read_parquet(paths.split_path("test"))
    policy = Policy.build(params.limits, spec, list(test.columns))
    policy.to_json(paths.POLICY)
    champion = read_json(paths.metrics_path("train"))["champion"]
    decisions = Scorer.from_project(champion).decide(test)
    bad = test[BAD].to_numpy()
    decisions.insert(0, spec.id or ROW, test[spec.id or ROW].to_numpy())
    decisions[BAD] = bad
    write_parquet(paths.DECISIONS, decisions)
    bands = band_table(decisions, policy, bad)
    write_json(paths.PLOTS / "band_table.json", bands.to_dict("records"))
    write_json(
        paths.LIMITS / "grade_band_table.json", grade_band_table(decisions, bad).to_dict("records")
    )
    write_json(paths.LIMITS / "segments.json", segment_report(decisions, policy, bad))
    optimised = optimise_policy(decisions["pd"].to_numpy(), test, policy)
    write_json(paths.LIMITS / "optimised_caps.json", optimised)
    metrics = {
        "population": "test",
        "product": params.limits.product,
        "regulation": params.limits.regulation,
        **portfolio_totals(decisions),
        "bad_rate_approved": float(decisions.loc[decisions["limit"] > 0, BAD].mean()),
        "binding_cap": decisions["binding_cap"].value_counts().sort_index().to_dict(),
        "optimised": optimised["optimised"]["totals"],
        "segments_not_applied": list(policy.skipped_segments),
    }
    write_json(paths.metrics_path("limits"), metrics)
    return metrics


def optimise_policy(pd_: np.ndarray, frame: pd.DataFrame, policy: Policy) -> dict:
    """Configured grade caps against the profit-optimal ones, with portfolio totals of each."""
    product = policy.product(policy.params.product)
    configured = {g.name: g.max_share * product.max_limit for g in policy.params.grades}
    caps = optimise_caps(candidate_outcomes(pd_, frame, policy), policy)
    return {
        "risk_appetite": policy.params.optimise.model_dump(),
        "configured": {
            "caps": configured,
            "totals": portfolio_totals(decide(pd_, frame, policy, grade_caps=configured)),
        },
        "optimised": {
            "caps": caps,
            "totals": portfolio_totals(decide(pd_, frame, policy, grade_caps=caps)),
        },
    }
