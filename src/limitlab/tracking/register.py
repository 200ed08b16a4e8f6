"""One MLflow run per pipeline execution, and a registered model version (``register`` stage).

The run holds the flattened params, every stage's metrics, the plots, the data set (name and
content hash), lineage tags, the Optuna trials as nested child runs, and the pyfunc bundle
(feature pipeline + champion PD model + limit policy), registered under ``register.model_name``
with the alias ``challenger``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import warnings
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import mlflow
import numpy as np
import optuna
import pandas as pd
from mlflow.data.dataset import Dataset
from mlflow.data.meta_dataset import MetaDataset
from mlflow.models import ModelSignature, infer_signature
from mlflow.tracking import MlflowClient
from mlflow.types.utils import _infer_schema
from sklearn.metrics import roc_curve

import limitlab
from limitlab import paths
from limitlab.config import Params, flat_params
from limitlab.data.columns import BAD
from limitlab.data.specs import DatasetSpec
from limitlab.evaluation import plots
from limitlab.evaluation.metrics import calibration_table, gains_table
from limitlab.io import parquet_batches, parquet_rows, read_json, write_json
from limitlab.models.linear_tuning import METRIC as LINEAR_METRIC
from limitlab.models.tuning import METRIC, open_storage
from limitlab.processes import process_claim
from limitlab.report import summary_text
from limitlab.serving.example import applicant_schema, synthetic_applicants
from limitlab.serving.pyfunc import artifact_digests, bundle_output
from limitlab.serving.scorer import Scorer
from limitlab.stages.common import load_split, sample_positions
from limitlab.tracking.model_card import model_card
from limitlab.tracking.registry import PROCESS_TAG, apply_gates, clean_up_interrupted
from limitlab.tracking.runs import (
    log_figures,
    log_params,
    log_trials,
    numeric_metrics,
    trials_logged_by,
)
from limitlab.tracking.store import lineage_tags, project_root, use_project_store

STAGES_WITH_METRICS = ("ingest", "split", "tune", "train", "evaluate", "need", "limits", "backtest",
                       "monitor", "fairness")  # fmt: skip
MODEL_NAME_IN_RUN = "limit_model"
DESCRIPTION_LIMIT = 5000
EXAMPLE_ROWS = 200_000  # train rows the input example's quantiles come from
PROFILED_ROWS = 1_000_000  # accepted tables up to this size are logged with their profile
ARTIFACTS = {"spec": paths.SPEC, "model": paths.CHAMPION, "policy": paths.POLICY,
             "reason_catalogue": paths.REASON_CATALOGUE}  # fmt: skip
_REQUIREMENTS = (
    "mlflow", "scikit-learn", "xgboost-cpu", "pandas", "numpy", "pyarrow", "joblib",
    "pydantic", "ruamel.yaml", "cloudpickle",
)  # fmt: skip


def pinned_requirements() -> list[str]:
    """The serving bundle's pip requirements, pinned to the versions installed from the lock."""
    pins = []
    for name in _REQUIREMENTS:
        try:
            pins.append(f"{name}=={version(name)}")
        except PackageNotFoundError:
            continue
    return pins


def _figures(champion: str, families: list[str], y: np.ndarray, pd_: np.ndarray) -> dict:
    evaluate = read_json(paths.metrics_path("evaluate"))
    roc = {f: pd.DataFrame(read_json(paths.PLOTS / "roc" / f"{f}.json")) for f in families}
    cal = {f: pd.DataFrame(read_json(paths.PLOTS / "calibration" / f"{f}.json")) for f in families}
    cal[f"{champion} (calibrated)"] = pd.DataFrame(
        read_json(paths.PLOTS / "calibration" / "champion_calibrated.json")
    )
    ks = pd.DataFrame(read_json(paths.PLOTS / "ks.json"))
    aucs = {f: m["auc"] for f, m in evaluate["models"].items()}
    calibrated = f"{champion} (calibrated)"
    fpr, tpr, _ = roc_curve(y, pd_)
    roc[calibrated] = pd.DataFrame({"fpr": fpr, "tpr": tpr})
    aucs[calibrated] = evaluate["auc"]
    return {
        "roc": plots.roc_figure(roc, aucs),
        "calibration": plots.calibration_figure(cal),
        "ks": plots.ks_figure(ks, champion),
        "pd_by_outcome": plots.score_distribution_figure(pd_, y),
        "gains": plots.lift_figure(gains_table(y, pd_)),
        **(
            {"fairness": plots.fairness_figure(pd.DataFrame(fairness))}
            if (fairness := _fairness_groups())
            else {}
        ),
    }


def _fairness_groups() -> list[dict]:
    """The fairness stage's plot rows ([] when the data set declares no protected attribute)."""
    path = paths.PLOTS / "fairness.json"
    return read_json(path) if path.is_file() else []


def _tuning_figures(params: Params, best: dict, trials: list[dict]) -> dict:
    """Optuna's history, and the hyperparameter importances when the study can be read."""
    figures = {"optuna_history": plots.optimisation_history_figure(trials, METRIC)}
    try:
        storage = open_storage(params.tune, paths.STUDY_JOURNAL)
        study = optuna.load_study(study_name=best["study_name"], storage=storage)
        figures["optuna_importance"] = plots.importance_figure(
            optuna.importance.get_param_importances(study)
        )
    except Exception as exc:  # too few trials, or the study's storage out of reach
        mlflow.set_tag("optuna.importance", f"not computed: {type(exc).__name__}: {exc}"[:250])
    return figures


def _tables(y: np.ndarray, pd_: np.ndarray) -> dict[str, pd.DataFrame]:
    tables = {
        "band_table": pd.DataFrame(read_json(paths.PLOTS / "band_table.json")),
        "gains_table": gains_table(y, pd_),
        "calibration_table": calibration_table(y, pd_),
    }
    if (groups := paths.FAIRNESS / "groups.json").is_file():
        tables["fairness_table"] = pd.DataFrame(read_json(groups))
    return tables


def run_name(dataset: str, champion: str, params: Params) -> str:
    """``[<dvc experiment>-]<data set>-<champion>-<params digest>``: differs when params do."""
    flat = json.dumps(flat_params(params), sort_keys=True, default=str)
    digest = hashlib.sha256(flat.encode()).hexdigest()[:7]
    parts = (os.environ.get("DVC_EXP_NAME", ""), dataset, champion, digest)
    return "-".join(p for p in parts if p)


EXPERIMENT_NOTE = """Pipeline runs of limitlab: one run per `dvc repro` or `dvc exp run` that
reached the `register` stage. Each run holds every params section, each stage's metrics under
`<stage>.<name>`, the figures under `plots/`, the band, gains and calibration tables, the
registered limit model, and (once per Optuna study) the tuning trials as child runs. The run's
description is the pipeline summary."""
MODEL_NOTE = """Probability of default and credit limit for consumer-finance applicants: takes
the raw applicant columns and returns PD, risk grade, decision, limit, product, the binding cap,
usage caps and four reasons. A version becomes @champion only through the promotion gates (see
its gate.* tags) or by hand with a reason."""


def _describe(client: MlflowClient, result: dict, summary: str, card: str, params: Params) -> None:
    """The run's description (the summary); the registered model's description and tags; the
    version's description (its model card, shortened to what the registry holds)."""
    client.set_tag(result["run_id"], "mlflow.note.content", f"```\n{summary}\n```")
    name, spec = result["model_name"], DatasetSpec.from_json(paths.SPEC)
    client.update_registered_model(name, description=MODEL_NOTE)
    for key, value in {"dataset": spec.name, "target": f"{spec.target} = {spec.bad_value!r}",
                       "owner": params.registry.owner}.items():  # fmt: skip
        client.set_registered_model_tag(name, key, value)
    client.update_model_version(name, result["model_version"], description=registry_text(card))


def registry_text(card: str, limit: int = DESCRIPTION_LIMIT) -> str:
    """The card as the registry can hold it (MLflow's SQL stores keep 5,000 characters of a
    version description): whole, or with the longest sections shortened from their end, every
    heading kept, and a pointer to the whole card."""
    if len(card) <= limit:
        return card
    cut = "- ... (shortened here: the whole card is the run's artifact model_card.md)"
    head, *parts = card.split("\n## ")
    sections = [part.rstrip("\n").split("\n") for part in parts]
    shortened: set[int] = set()

    def text() -> str:
        bodies = [lines + ([cut] if i in shortened else []) for i, lines in enumerate(sections)]
        return "\n\n## ".join([head.rstrip("\n"), *("\n".join(b) for b in bodies)]) + "\n"

    while len(text()) > limit:
        longest = max(range(len(sections)), key=lambda i: len("\n".join(sections[i])))
        if len(sections[longest]) <= 2:  # only headings left
            break
        sections[longest].pop()
        shortened.add(longest)
    return text()


def _accepted_dataset(spec: DatasetSpec, sha256: str) -> Dataset:
    """The accepted table as an MLflow dataset: with its profile up to ``PROFILED_ROWS`` rows;
    larger, by its schema and the raw file's digest (the table is not read whole)."""
    if parquet_rows(paths.ACCEPTED) <= PROFILED_ROWS:
        accepted = pd.read_parquet(paths.ACCEPTED)
        return mlflow.data.from_pandas(accepted, source=spec.path, name=spec.name, targets=BAD)
    head = next(parquet_batches(paths.ACCEPTED, 10_000))
    source = mlflow.data.dataset_source_registry.resolve_dataset_source(spec.path)
    return MetaDataset(source, name=spec.name, digest=sha256[:10], schema=_infer_schema(head))


def _log_model(model_name: str) -> tuple[str, str]:
    """Log the pyfunc bundle and register it; return (model URI in the run, version)."""
    scorer = Scorer.from_project()
    example = synthetic_applicants(
        load_split("train", sample_positions("train", EXAMPLE_ROWS, 0)), scorer
    )
    model_id = mlflow.initialize_logged_model(name=MODEL_NAME_IN_RUN).model_id
    signature = ModelSignature(
        applicant_schema(example),
        infer_signature(example, bundle_output(scorer, example, model_id, "name/1")).outputs,
    )
    info = mlflow.pyfunc.log_model(
        name=MODEL_NAME_IN_RUN,
        model_id=model_id,
        model_config={
            "model_id": model_id,
            "registered_name": model_name,
            "artifact_sha256": artifact_digests(ARTIFACTS),
        },
        python_model=str(Path(limitlab.__file__).parent / "serving" / "model_code.py"),
        artifacts={name: str(path) for name, path in ARTIFACTS.items()},
        code_paths=[str(Path(limitlab.__file__).parent)],
        signature=signature,
        input_example=example,
        pip_requirements=pinned_requirements(),
        registered_model_name=model_name,
    )
    version = str(info.registered_model_version)
    MlflowClient().set_model_version_tag(model_name, version, "model_id", model_id)
    return info.model_uri, version


def register_pipeline_run(params: Params) -> dict:
    """Log this pipeline execution to MLflow and register its model; return what was written."""
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    warnings.filterwarnings("ignore", message=".*Integer columns in Python cannot represent")
    warnings.filterwarnings("ignore", message=".*dataset source can be interpreted in multiple")
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    root = project_root()
    experiment_id = use_project_store(params.registry.experiment, root)
    spec = DatasetSpec.from_json(paths.SPEC)
    ingest_metrics = read_json(paths.metrics_path("ingest"))
    champion = read_json(paths.metrics_path("train"))["champion"]
    best = read_json(paths.BEST_PARAMS)
    client = MlflowClient()
    if not client.get_experiment(experiment_id).tags.get("mlflow.note.content"):
        client.set_experiment_tag(experiment_id, "mlflow.note.content", EXPERIMENT_NOTE)
    cleaned = clean_up_interrupted(client, experiment_id, params.registry.model_name)
    test_rows = pd.read_parquet(paths.split_path("test"))
    y = test_rows[BAD].to_numpy()
    new = pd.read_parquet(paths.DECISIONS, columns=["pd", "limit"])
    new_pd = new["pd"].to_numpy(float)
    fairness = read_json(paths.metrics_path("fairness"))
    name = run_name(spec.name, champion, params)
    lineage = lineage_tags(Path.cwd())
    with mlflow.start_run(experiment_id=experiment_id, run_name=name) as run:
        mlflow.set_tags(
            {
                PROCESS_TAG: process_claim(),
                **lineage,
                "dataset.name": spec.name,
                "dataset.path": spec.path,
                "dataset.sha256": ingest_metrics["sha256"],
                "champion": champion,
            }
        )
        log_params(flat_params(params))
        log_params({f"best.{k}": v for k, v in best["params"].items()})
        additive = read_json(paths.ADDITIVE_BEST_PARAMS)
        linear = read_json(paths.LINEAR_BEST_PARAMS)
        log_params({f"best.{family}.{k}": v for family, result in
                    {"additive": additive, **linear}.items()
                    for k, v in result.get("params", {}).items()})  # fmt: skip
        metrics = {}
        for stage in STAGES_WITH_METRICS:
            metrics.update(numeric_metrics(stage, read_json(paths.metrics_path(stage))))
        test = read_json(paths.metrics_path("evaluate"))
        mlflow.log_metrics(metrics)
        mlflow.log_input(_accepted_dataset(spec, ingest_metrics["sha256"]), context="training")
        log_figures(_figures(champion, params.train.families, y, new_pd))
        for table_name, table in _tables(y, new_pd).items():
            mlflow.log_table(table, f"tables/{table_name}.json")
        mlflow.log_artifacts(str(paths.PLOTS), "plots/data")
        mlflow.log_artifact(str(paths.metrics_path("ingest")), "data")
        if paths.POINTS_TABLE.is_file():
            mlflow.log_artifact(str(paths.POINTS_TABLE), "scorecard")
        if paths.ADDITIVE_POINTS.is_file():
            mlflow.log_artifact(str(paths.ADDITIVE_POINTS), "additive")
        for folder in (paths.BACKTEST, paths.MONITOR):
            mlflow.log_artifacts(str(folder), folder.name)
        for name in (
            "policy.json",
            "segments.json",
            "optimised_caps.json",
            "grade_band_table.json",
        ):
            mlflow.log_artifact(str(paths.LIMITS / name), "limits")
        trials = read_json(paths.TRIALS)
        log_figures(_tuning_figures(params, best, trials))
        timings = read_json(paths.TUNE_TIMINGS) if paths.TUNE_TIMINGS.is_file() else {}
        if "seconds" in timings:
            mlflow.log_metric("tune.seconds", timings["seconds"])
        mlflow.set_tag("optuna.study", best["study_name"])
        studies = [("xgboost", best["study_name"], trials, METRIC, timings.get("trials", {}))]
        if additive.get("tuned"):
            mlflow.set_tag("optuna.study.additive", additive["study_name"])
            studies.append(("additive", additive["study_name"], read_json(paths.ADDITIVE_TRIALS),
                            METRIC, timings.get("additive_trials", {})))  # fmt: skip
        linear_trials = read_json(paths.LINEAR_TRIALS)
        for family, result in linear.items():
            if result.get("tuned"):
                mlflow.set_tag(f"optuna.study.{family}", result["study_name"])
                studies.append((family, result["study_name"], linear_trials[family], LINEAR_METRIC,
                                timings.get("linear_trials", {}).get(family, {})))  # fmt: skip
        n_trials = 0
        for family, study, records, metric, when in studies:
            logged_by = trials_logged_by(client, experiment_id, study)
            if logged_by:  # the study was tuned by an earlier pipeline: link, do not copy
                mlflow.set_tag(f"trials.{family}.logged_by", logged_by)
            else:
                n_trials += log_trials(client, experiment_id, run.info.run_id, study, records,
                                       metric, when, prefix=family)  # fmt: skip
        model_uri, model_version = _log_model(params.registry.model_name)
        gates = apply_gates(
            client, params.registry, model_version, test, fairness, test_rows, y, new
        )
        mlflow.set_tag("registry.promoted", str(gates["promoted"]).lower())
        if gates["swap_set"]:
            _log_swap_set(gates["swap_set"])
    result = {
        "run_id": run.info.run_id,
        "run_name": run.info.run_name,
        "experiment_id": experiment_id,
        "model_name": params.registry.model_name,
        "model_version": model_version,
        "model_uri": model_uri,
        "registered_uri": f"models:/{params.registry.model_name}/{model_version}",
        "nested_trial_runs": n_trials,
        "cleaned_up": cleaned,
        **gates,
    }
    write_json(paths.REGISTERED, result)
    write_json(paths.REGISTERED_BUNDLE, bundle_record(params, ingest_metrics["sha256"], champion))
    card = model_card(params, result, lineage)
    paths.MODEL_CARD.write_text(card)
    client.log_text(result["run_id"], card, "model_card.md")
    _describe(client, result, summary_text(), card, params)
    return result


def _log_swap_set(swap: dict) -> None:
    """The swap set against the champion: a JSON artifact, a table, and its counts as metrics."""
    mlflow.log_dict(swap, "swap_set.json")
    cells = pd.DataFrame([{"cell": name, **cell} for name, cell in swap["cells"].items()])
    mlflow.log_table(cells, "tables/swap_set.json")
    metrics = {f"swap.{name}.count": cell["count"] for name, cell in swap["cells"].items()}
    metrics["swap.exposure_change"] = swap["exposure_change"]
    if swap["bad_rate_excess"] is not None:
        metrics["swap.bad_rate_excess"] = swap["bad_rate_excess"]
    mlflow.log_metrics(metrics)


def bundle_record(params: Params, data_sha256: str, champion: str) -> dict:
    """What the registered bundle holds, by content: the same inputs give the same record, so
    it can be the stage's DVC output (a fresh clone, whose store is empty, registers again)."""
    return {
        "model_name": params.registry.model_name,
        "champion": champion,
        "data_sha256": data_sha256,
        "artifact_sha256": artifact_digests(ARTIFACTS),
    }
