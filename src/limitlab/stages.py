"""The pipeline stages. Each reads its params section and declared inputs, and writes its outputs.

Paths are relative to the working directory, which DVC sets to the folder of ``dvc.yaml``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline

from limitlab import paths
from limitlab.config import Params
from limitlab.data.accounts import PANEL, REVIEW_SNAPSHOTS, generate_accounts
from limitlab.data.ingest import BAD, ROW, check_quarantine_share, ingest
from limitlab.data.panel_checks import check_panel, check_review_date
from limitlab.data.specs import SYNTHETIC_DIR, DataError, DatasetSpec, resolve_spec
from limitlab.data.synthetic import generate
from limitlab.evaluation.metrics import (
    auc_confidence_interval,
    calibration_table,
    classification_metrics,
    ks_table,
    population_stability_index,
    roc_points,
    truth_metrics,
)
from limitlab.evaluation.monitoring import (
    migration_matrix,
    psi_table,
    realised_vs_expected,
    stress_pd,
)
from limitlab.features.transformers import build_feature_pipeline, raw_inputs
from limitlab.io import read_json, write_json, write_parquet
from limitlab.limits.backtest import REVIEW, STATIC, BacktestInputs, backtest
from limitlab.limits.decide import DECLINE, decide, grade_of
from limitlab.limits.economics import expected_loss, expected_profit
from limitlab.limits.optimise import candidate_outcomes, optimise_caps
from limitlab.limits.policy import Policy
from limitlab.limits.report import band_table, grade_band_table, portfolio_totals
from limitlab.limits.segments import segment_report
from limitlab.models.calibration import CalibratedModel, calibration_slope_intercept
from limitlab.models.families import (
    ScorecardModel,
    make_logistic,
    make_xgboost,
    monotone_constraints,
)
from limitlab.models.tuning import (
    SURPLUS,
    fail_interrupted_trials,
    finished_trials,
    is_database,
    open_storage,
    open_study,
    run_workers,
    study_name,
    trial_records,
    tune,
    work,
)
from limitlab.serving.scorer import Scorer

LOWER_IS_BETTER = {"brier", "log_loss"}
ROW_GROUPS = 16  # feature matrices: Dask reads each row group as a partition


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
        matrix = pipeline.transform(raw_inputs(part, spec)).astype("float32")
        matrix[BAD] = part[BAD].to_numpy()
        write_parquet(paths.features_path(name), matrix.reset_index(drop=True), ROW_GROUPS)
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


def model_columns() -> list[str]:
    return list(pd.read_parquet(paths.features_path("valid")).columns.drop(BAD))


def tuning_data(params: Params) -> tuple[tuple, tuple]:
    """Train and validation matrices for tuning, stratified-sampled when ``tune.sample_rows``."""
    out = []
    for name in ("train", "valid"):
        x, y = load_xy(name)
        rows = params.tune.sample_rows
        if rows and rows < len(y):
            keep, _ = train_test_split(
                np.arange(len(y)), train_size=rows, stratify=y, random_state=params.tune.seed
            )
            keep = np.sort(keep)
            x, y = x.iloc[keep].reset_index(drop=True), y[keep]
        out.append((x, y))
    return out[0], out[1]


def _tune_worker(
    params: Params, name: str, monotone: dict[str, int], threads: int, index: int
) -> None:
    """One spawned tuning worker (``limitlab tune --workers N``)."""
    storage = open_storage(params.tune, paths.STUDY_JOURNAL)
    study = open_study(storage, name, params.tune, worker=index)
    train, valid = tuning_data(params)
    work(study, params.tune, train, valid, monotone, threads=threads)


def run_tune(params: Params, workers: int | None = None) -> dict:
    """Optuna over XGBoost hyper-parameters; the study persists and resumes.

    ``workers`` (default ``tune.workers``) processes share the study; with a database in
    ``tune.storage`` workers on other machines may join it too.
    """
    spec = DatasetSpec.from_json(paths.SPEC)
    frames = [pd.read_parquet(paths.features_path(n)) for n in ("train", "valid")]
    monotone = monotone_constraints(model_columns(), spec) if params.train.monotone else {}
    name = study_name(frame_digest(*frames), params.tune, monotone)
    del frames
    storage = open_storage(params.tune, paths.STUDY_JOURNAL)
    study = open_study(storage, name, params.tune)
    n_workers = workers or params.tune.workers
    started = time.perf_counter()
    run_info: dict = {}
    if n_workers == 1:
        study = tune(study, params.tune, *tuning_data(params), monotone)
    else:
        if not is_database(params.tune.storage):
            fail_interrupted_trials(study)
        threads = max(1, (os.cpu_count() or 1) // n_workers)  # do not oversubscribe the cores
        run_info = run_workers(n_workers, _tune_worker, (params, name, monotone, threads), study)
    seconds = time.perf_counter() - started
    finished = len(finished_trials(study))
    if finished < params.tune.n_trials and not params.tune.timeout_seconds:
        raise RuntimeError(
            f"tune: {finished} of {params.tune.n_trials} trials finished in study {name!r}; "
            f"workers exited with {run_info.get('exit_codes')}. Run `limitlab tune` again to "
            "resume the study"
        )
    best = study.best_trial
    states = [t.state.name for t in study.trials]
    surplus = sum(bool(t.user_attrs.get(SURPLUS)) for t in study.trials)
    result = {
        "study_name": name,
        "best_trial": best.number,
        "best_valid_auc": best.value,
        "n_trials_complete": states.count("COMPLETE"),
        "n_trials_pruned": states.count("PRUNED"),
        "n_trials_failed": states.count("FAIL") - surplus,
        "n_trials_surplus": surplus,
        "params": best.params,
        "n_estimators": best.user_attrs["n_estimators"],
        "monotone": monotone,
    }
    write_json(paths.BEST_PARAMS, result)  # a pure function of the study: reruns change nothing
    write_json(paths.TRIALS, trial_records(study))
    run_figures = {
        "workers": n_workers,
        "storage": "database" if is_database(params.tune.storage) else "journal",
        "seconds": round(seconds, 3),
    }
    write_json(paths.metrics_path("tune"), {k: result[k] for k in list(result)[:7]} | run_figures)
    return result | run_figures


def run_generate(params: Params) -> dict:
    """Write the synthetic portfolio (``synthetic``) or account panel (``behavioural``)."""
    out = SYNTHETIC_DIR
    if params.data.dataset == "behavioural":
        return generate_accounts(params.data.accounts, out)
    if params.data.dataset != "synthetic":
        if out.exists():
            shutil.rmtree(out)
        out.mkdir(parents=True)
        (out / "README.txt").write_text(
            f"Not generated: data.dataset is {params.data.dataset!r}, not 'synthetic'.\n"
        )
        return {"rows": 0}
    return generate(params.data.synthetic, out)


def fit_family(
    family: str, params: Params, spec: DatasetSpec, features: Pipeline, train_raw: pd.DataFrame
) -> Pipeline:
    """Fit one family on the training split; return it as a raw-columns-to-PD pipeline."""
    seed = params.train.seed
    y = train_raw[BAD].to_numpy()
    if family == "scorecard":
        ratios = features.named_steps.get("ratios", "passthrough")
        inputs = raw_inputs(train_raw, spec)
        x = inputs if ratios == "passthrough" else ratios.transform(inputs)
        derived = [] if ratios == "passthrough" else ratios.derived_
        model = ScorecardModel(
            [*spec.numeric_features, *derived], spec.categorical_features, params.train.scorecard
        ).fit(x, y)
        return Pipeline([("features", ratios), ("model", model)])
    x_train, y_train = load_xy("train")
    if family == "xgboost":
        best = read_json(paths.BEST_PARAMS)
        model = make_xgboost(
            best["params"], seed, best["monotone"], n_estimators=best["n_estimators"]
        )
        if params.train.engine == "dask":
            from limitlab.models.distributed import dask_client, fit_xgboost_dask

            with dask_client(params.train) as client:
                model = fit_xgboost_dask(model, paths.features_path("train"), client)
        else:
            model.fit(x_train, y_train)
    else:
        model = make_logistic(params.train.logistic_c, seed).fit(x_train, y_train)
    return Pipeline([("features", features), ("model", model)])


def run_train(params: Params) -> dict:
    """Fit every family on train; choose the champion on validation; calibrate it there."""
    spec = DatasetSpec.from_json(paths.SPEC)
    features = joblib.load(paths.FEATURES_MODEL)
    train_raw = pd.read_parquet(paths.split_path("train"))
    valid_raw = pd.read_parquet(paths.split_path("valid"))
    y_valid = valid_raw[BAD].to_numpy()
    valid = {}
    for family in params.train.families:
        pipeline = fit_family(family, params, spec, features, train_raw)
        pd_valid = pipeline.predict_proba(raw_inputs(valid_raw, spec))[:, 1]
        valid[family] = classification_metrics(y_valid, pd_valid)
        paths.model_path(family).parent.mkdir(parents=True, exist_ok=True)
        joblib.dump(pipeline, paths.model_path(family))
    metric = params.train.selection_metric
    sign = -1 if metric in LOWER_IS_BETTER else 1
    champion = params.train.champion
    if champion == "auto":
        champion = max(params.train.families, key=lambda f: sign * valid[f][metric])
    model = joblib.load(paths.model_path(champion))
    if params.train.calibration != "none":
        model = CalibratedModel(model, params.train.calibration)
        model.fit(raw_inputs(valid_raw, spec), y_valid)
    joblib.dump(model, paths.CHAMPION)
    if "scorecard" in params.train.families:
        scorecard = joblib.load(paths.model_path("scorecard"))[-1]
        write_json(paths.POINTS_TABLE, scorecard.points_table().to_dict("records"))
    metrics = {
        "champion": champion,
        "selection_metric": metric,
        "calibration": params.train.calibration,
        "valid": valid,
    }
    write_json(paths.metrics_path("train"), metrics)
    return metrics


def _calibration_summary(y: np.ndarray, pd_: np.ndarray, bins: int) -> dict:
    slope, intercept = calibration_slope_intercept(y, pd_)
    m = classification_metrics(y, pd_, bins)
    return {"slope": slope, "intercept": intercept, "ece": m["ece"], "brier": m["brier"]}


def tier_metrics(frame: pd.DataFrame, pd_: np.ndarray, spec: DatasetSpec, params: Params) -> dict:
    """Metrics by income tier (quantiles of the training split's income), where income exists."""
    if not spec.income:
        return {}
    train_income = pd.read_parquet(paths.split_path("train"))[spec.income].dropna()
    edges = np.unique(
        np.quantile(train_income, np.linspace(0, 1, params.evaluate.income_tiers + 1)[1:-1])
    )
    income = frame[spec.income].to_numpy(float)
    tier = np.where(np.isnan(income), -1, np.searchsorted(edges, income, side="right"))
    rows = {}
    y = frame[BAD].to_numpy()
    for t in sorted(set(tier)):
        mask = tier == t
        label = "missing" if t < 0 else f"tier_{t + 1}_of_{len(edges) + 1}"
        row = {"n": int(mask.sum()), "bad_rate": float(y[mask].mean())}
        if len(set(y[mask])) == 2:
            m = classification_metrics(y[mask], pd_[mask], params.evaluate.calibration_bins)
            row.update({k: m[k] for k in ("auc", "ks", "brier", "ece")})
        rows[label] = row
    return rows


def run_evaluate(params: Params) -> dict:
    """Test metrics of every family and of the calibrated champion; data for DVC plots."""
    spec = DatasetSpec.from_json(paths.SPEC)
    test = pd.read_parquet(paths.split_path("test"))
    train = pd.read_parquet(paths.split_path("train"))
    y_test = test[BAD].to_numpy()
    champion = read_json(paths.metrics_path("train"))["champion"]
    bins = params.evaluate.calibration_bins
    by_family = {}
    for family in params.train.families:
        pd_test = joblib.load(paths.model_path(family)).predict_proba(raw_inputs(test, spec))[:, 1]
        by_family[family] = classification_metrics(y_test, pd_test, bins)
        roc = roc_points(y_test, pd_test)
        write_json(paths.PLOTS / "roc" / f"{family}.json", roc.to_dict("records"))
        calibration = calibration_table(y_test, pd_test, bins)
        write_json(paths.PLOTS / "calibration" / f"{family}.json", calibration.to_dict("records"))
    model = joblib.load(paths.CHAMPION)
    pd_before = getattr(model, "base_model", model).predict_proba(raw_inputs(test, spec))[:, 1]
    pd_champion = model.calibrate(pd_before) if hasattr(model, "calibrate") else pd_before
    pd_train = model.predict_proba(raw_inputs(train, spec))[:, 1]
    calibrated = calibration_table(y_test, pd_champion, bins)
    write_json(
        paths.PLOTS / "calibration" / "champion_calibrated.json", calibrated.to_dict("records")
    )
    ks = ks_table(y_test, pd_champion)
    write_json(paths.PLOTS / "ks.json", ks.iloc[:: max(len(ks) // 200, 1)].to_dict("records"))
    _, low, high = auc_confidence_interval(y_test, pd_champion)
    metrics = {
        "champion": champion,
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
        "by_income_tier": tier_metrics(test, pd_champion, spec, params),
    }
    if spec.truth:
        metrics["truth"] = truth_metrics(y_test, pd_champion, test[spec.truth].to_numpy(), bins)
    write_json(paths.metrics_path("evaluate"), metrics)
    return metrics


def run_limits(params: Params) -> dict:
    """Decisions for the test split with the champion; band tables, segments, optimised caps."""
    spec = DatasetSpec.from_json(paths.SPEC)
    test = pd.read_parquet(paths.split_path("test"))
    policy = Policy.build(params.limits, spec, list(test.columns), review=params.review)
    policy.to_json(paths.POLICY)
    decisions = Scorer.from_project().decide(test)
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
    if policy.review is not None:
        metrics["review"] = _review_latest(spec, test)
    write_json(paths.metrics_path("limits"), metrics)
    return metrics


def _review_latest(spec: DatasetSpec, test: pd.DataFrame) -> dict:
    """The limit review of every account at the latest snapshot date of the test split."""
    latest = test[test[spec.date] == test[spec.date].max()].reset_index(drop=True)
    reviewed = Scorer.from_project().review(latest)
    reviewed.insert(0, spec.account["id"], latest[spec.account["id"]].to_numpy())
    write_parquet(paths.REVIEW_DECISIONS, reviewed)
    return {
        "date": str(pd.Timestamp(latest[spec.date].iloc[0]).date()),
        "accounts": len(reviewed),
        "actions": reviewed["action"].value_counts().sort_index().to_dict(),
        "limit_before": float(reviewed["current_limit"].sum()),
        "limit_after": float(reviewed["new_limit"].sum()),
    }


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


def _not_applicable(folder: Path, metrics_stage: str, why: str) -> dict:
    folder.mkdir(parents=True, exist_ok=True)
    note = {"applicable": False, "why": why}
    write_json(folder / "README.json", note)
    write_json(paths.metrics_path(metrics_stage), note)
    return note


def run_backtest(params: Params) -> dict:
    """Replay the review policy month by month against static limits (behavioural data)."""
    spec, scorer = DatasetSpec.from_json(paths.SPEC), Scorer.from_project()
    plot = paths.PLOTS / "backtest.json"
    if not spec.account or scorer.policy.review is None:
        write_json(plot, [])
        why = f"data set {spec.name!r} has no account panel; use data.dataset: behavioural"
        return _not_applicable(paths.BACKTEST, "backtest", why)
    roles = spec.account
    panel = pd.read_parquet(SYNTHETIC_DIR / PANEL, columns=[roles["id"], "month", "limit",
                                                             "balance", "defaulted"])  # fmt: skip
    panel, refused, problems = check_panel(panel, roles["id"])
    write_parquet(paths.BACKTEST / "panel_quarantine.parquet", refused)
    snapshots = pd.read_parquet(SYNTHETIC_DIR / REVIEW_SNAPSHOTS)
    snapshots = snapshots[snapshots[roles["id"]].isin(panel[roles["id"]])]
    test = pd.read_parquet(paths.split_path("test"))
    first_review = int(test["snapshot_month"].min())
    check_review_date(first_review, panel)
    inputs = BacktestInputs(
        panel=panel,
        snapshots=snapshots,
        first_review=first_review,
        last_month=int(panel["month"].max()),
    )

    def decide_at(frame: pd.DataFrame) -> pd.DataFrame:
        return decide(scorer.predict_pd(frame), frame, scorer.policy)[["pd", "limit"]]

    product = scorer.policy.product(scorer.policy.params.product)
    result = backtest(inputs, decide_at, product, params.review, roles)
    periods = result["periods"]
    write_json(paths.BACKTEST / "periods.json", periods.to_dict("records"))
    wide = periods.pivot(index="review_month", columns="policy",
                         values=["exposure", "expected_loss", "realised_loss"])  # fmt: skip
    wide.columns = [f"{policy}_{value}" for value, policy in wide.columns]
    write_json(plot, wide.reset_index().to_dict("records"))
    totals = result["totals"]
    static, reviewed = totals[STATIC], totals[REVIEW]
    metrics = {
        "applicable": True,
        "panel_rows_quarantined": len(refused),
        "panel_problems": problems,
        "review_dates": result["review_dates"],
        "static": static,
        "review": reviewed,
        "expected_loss_change": reviewed["expected_loss"] / static["expected_loss"] - 1,
        "expected_profit_change": reviewed["expected_profit"] - static["expected_profit"],
    }
    write_json(paths.metrics_path("backtest"), metrics)
    return metrics


def run_monitor(params: Params) -> dict:
    """PSI train -> test, realised vs expected per grade, stress; grade and band migration."""
    spec, scorer = DatasetSpec.from_json(paths.SPEC), Scorer.from_project()
    p = params.monitor
    train = pd.read_parquet(paths.split_path("train"))
    test = pd.read_parquet(paths.split_path("test"))
    pd_train, pd_test = scorer.predict_pd(train), scorer.predict_pd(test)
    scored = pd.concat(
        [pd.DataFrame({"score": pd_train}), train[spec.numeric_features].reset_index(drop=True)],
        axis=1,
    )
    recent = pd.concat(
        [pd.DataFrame({"score": pd_test}), test[spec.numeric_features].reset_index(drop=True)],
        axis=1,
    )
    psi = psi_table(scored, recent, ["score", *spec.numeric_features], p.psi_bins)
    order = [*(g.name for g in scorer.policy.params.grades), DECLINE]
    grades = grade_of(pd_test, scorer.policy)
    rve = realised_vs_expected(grades, pd_test, test[BAD].to_numpy(), order)
    baseline = decide(pd_test, test, scorer.policy)
    stressed_frame = test.copy()
    if scorer.policy.income:
        stressed_frame[scorer.policy.income] = test[scorer.policy.income] * (
            1 - p.stress_income_drop
        )
    stressed = decide(stress_pd(pd_test, p.stress_pd_factor), stressed_frame, scorer.policy)
    on_current = baseline.assign(pd=stress_pd(pd_test, p.stress_pd_factor))
    book = {"expected_loss": 0.0, "expected_profit": 0.0}
    for name, part in on_current.groupby("product"):
        product = scorer.policy.product(name)
        loss = expected_loss(part["pd"].to_numpy(), part["limit"].to_numpy(), product)
        profit = expected_profit(part["pd"].to_numpy(), part["limit"].to_numpy(), product,
                                 scorer.policy.params.economics)  # fmt: skip
        book["expected_loss"] += float(loss.sum())
        book["expected_profit"] += float(profit.sum())
    stress = {
        "scenario": {"pd_factor": p.stress_pd_factor, "income_drop": p.stress_income_drop},
        "baseline": portfolio_totals(baseline),
        "stressed_on_current_limits": book,  # the book as it stands, under stressed PDs
        "stressed": portfolio_totals(stressed),  # the policy re-applied: limits respond
    }
    write_json(paths.MONITOR / "psi.json", psi.to_dict("records"))
    write_json(paths.MONITOR / "realised_vs_expected.json", rve.to_dict("records"))
    write_json(paths.MONITOR / "stress.json", stress)
    metrics = {
        "window": {"reference": "train", "recent": "test"},
        "psi_score": float(psi.loc[psi["column"] == "score", "psi"].iloc[0]),
        "psi_max_feature": psi[psi["column"] != "score"].iloc[0][["column", "psi"]].to_dict(),
        "features_shifted": int((psi["status"] == "shift").sum()),
        "grades_failing_binomial": rve.loc[rve["p_value"] < p.significance, "grade"].tolist(),
        "stress_expected_loss_change": book["expected_loss"]
        / max(stress["baseline"]["expected_loss"], 1e-9)
        - 1,
        "stress_policy_expected_loss_change": stress["stressed"]["expected_loss"]
        / max(stress["baseline"]["expected_loss"], 1e-9)
        - 1,
        "stress_total_limit_change": stress["stressed"]["total_limit"]
        / max(stress["baseline"]["total_limit"], 1e-9)
        - 1,
    }
    if spec.account:
        metrics["migration"] = _migrations(spec, scorer, params, order)
    write_json(paths.metrics_path("monitor"), metrics)
    return metrics


def _migrations(spec: DatasetSpec, scorer: Scorer, params: Params, order: list[str]) -> dict:
    """Grade and limit-band migration between the first review date and the panel's end."""
    snapshots = pd.read_parquet(SYNTHETIC_DIR / REVIEW_SNAPSHOTS)
    test = pd.read_parquet(paths.split_path("test"))
    dates = (int(test["snapshot_month"].min()), int(snapshots["snapshot_month"].max()))
    grades, bands = {}, {}
    for month in dates:
        at = snapshots[snapshots["snapshot_month"] == month].reset_index(drop=True)
        decided = decide(scorer.predict_pd(at), at, scorer.policy)
        index = at[spec.account["id"]]
        grades[month] = pd.Series(decided["grade"].to_numpy(), index=index)
        bands[month] = pd.Series(decided["limit"].to_numpy(), index=index)
    grade_matrix = migration_matrix(grades[dates[0]], grades[dates[1]], order)
    ladder = [0.0, *scorer.policy.product(scorer.policy.params.product).ladder]
    band_matrix = migration_matrix(bands[dates[0]], bands[dates[1]], ladder)
    for name, matrix in (("grade", grade_matrix), ("band", band_matrix)):
        records = matrix.reset_index(names="from").to_dict("records")
        write_json(paths.MONITOR / f"migration_{name}.json", records)
    values = grade_matrix.to_numpy()
    moved_down = int(np.triu(values, 1).sum())  # to a worse grade (later in the order)
    total = int(values.sum())
    return {
        "from_month": dates[0],
        "to_month": dates[1],
        "accounts_at_both": total,
        "share_to_worse_grade": moved_down / total if total else None,
        "share_to_better_grade": int(np.tril(values, -1).sum()) / total if total else None,
    }
