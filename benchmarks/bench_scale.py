"""Scale benchmark on the synthetic portfolio: every stage's wall time and peak memory, two
overhead ratios and Optuna throughput. Prints a table and writes JSON; asserts nothing.

    uv run python benchmarks/bench_scale.py                    # 100,000 and 1,000,000 rows
    uv run python benchmarks/bench_scale.py --rows 100000      # one size
    uv run python benchmarks/bench_scale.py --ten-million      # adds 10,000,000 rows (train on
                                                               # a 300,000-row sample)
    uv run python benchmarks/bench_scale.py --output other.json

Each size runs in a throw-away project folder: `limitlab <stage>` as its own process (peak
memory is that process's maximum resident set, from wait4). Ratios, measured in the same run:
- train: `limitlab train` (XGBoost only, no calibration) against a process that reads the same
  feature matrix and calls raw `xgboost.train` on a QuantileDMatrix with the same parameters;
- scoring: `Scorer.decide` (raw columns -> features -> PD -> limit -> four reasons) against the
  champion's raw prediction (XGBoost's `Booster.predict`, for the additive family too, or the
  model's `predict_proba`; the fastest of three calls) on the already-built feature matrix,
  with exact and approximate reasons (one call after a warm-up on 1,000 rows).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
SCORED_ROWS = 1_000_000  # test rows of the scoring ratio (all of them below 5,000,000 rows)
STAGES = ("generate", "ingest", "split", "features", "tune", "train", "evaluate", "need",
          "limits", "backtest", "monitor", "fairness", "register")  # fmt: skip
RAW_TRAIN = """
import json, sys, pandas as pd, xgboost as xgb
frame = pd.read_parquet("data/processed/train.parquet")
best = json.load(open("models/tune/best_params.json"))
x, y = frame.drop(columns=["_bad"]), frame["_bad"]
dtrain = xgb.QuantileDMatrix(x, y)
params = {"objective": "binary:logistic", "tree_method": "hist", "eval_metric": "auc",
          "nthread": %(threads)d, "seed": 42, **best["params"]}
cols = list(x.columns)
if best["monotone"]:
    params["monotone_constraints"] = "(" + ",".join(str(best["monotone"].get(c, 0))
                                                   for c in cols) + ")"
xgb.train(params, dtrain, num_boost_round=best["n_estimators"])
"""


def timed(args: list[str], cwd: Path) -> dict:
    """Run a command; wall seconds and the peak resident memory of its process (MB)."""
    tools = str(Path(sys.executable).parent)  # the environment's commands, activated or not
    env = {**os.environ, "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
           "PATH": f"{tools}{os.pathsep}{os.environ.get('PATH', '')}"}  # fmt: skip
    start = time.perf_counter()
    proc = subprocess.Popen(args, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)  # fmt: skip
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    stderr = proc.stderr.read().decode() if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{args} failed in {cwd}:\n{stderr[-3000:]}")
    return {"seconds": round(seconds, 2), "peak_mb": round(usage.ru_maxrss / 1024, 1)}


def project(
    folder: Path, rows: int, trials: int, tune_sample: int | None, train_sample: int | None = None
) -> Path:
    folder.mkdir(parents=True)
    shutil.copy2(ROOT / "dvc.yaml", folder / "dvc.yaml")  # marks the project root for MLflow
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["data"]["dataset"] = "synthetic"
    params["data"]["synthetic"].update({"rows": rows, "chunk_rows": 250_000})
    params["tune"].update(
        {"n_trials": trials, "additive_n_trials": trials, "sample_rows": tune_sample}
    )
    for family in ("scorecard", "logistic", "spline", "random_forest"):
        params["tune"][family]["n_trials"] = trials  # every family's study: the same trials
    params["train"]["sample_rows"] = train_sample
    (folder / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    variant = json.loads(json.dumps(params))
    variant["train"].update({"families": ["xgboost"], "calibration": "none"})
    (folder / "train_only_xgboost.yaml").write_text(yaml.safe_dump(variant, sort_keys=False))
    return folder


def stage_table(folder: Path) -> dict:
    return {stage: timed(["limitlab", stage], folder) for stage in STAGES}


def train_ratio(folder: Path) -> dict:
    from limitlab.models.families import N_THREADS

    saved = folder / "train_outputs_saved"  # the full champion's stage outputs, put back after
    shutil.copytree(folder / "models/train", saved / "train")
    shutil.copy2(folder / "reports/metrics/train.json", saved / "train.json")
    stage = timed(["limitlab", "train", "--params", "train_only_xgboost.yaml"], folder)
    raw = timed([sys.executable, "-c", RAW_TRAIN % {"threads": N_THREADS}], folder)
    shutil.rmtree(folder / "models/train")
    shutil.move(saved / "train", folder / "models/train")
    shutil.move(saved / "train.json", folder / "reports/metrics/train.json")
    saved.rmdir()
    return {"stage": stage, "raw_xgboost_train": raw,
            "ratio": round(stage["seconds"] / raw["seconds"], 3)}  # fmt: skip


def scoring_ratio(folder: Path) -> dict:
    import dataclasses

    import pandas as pd
    import xgboost as xgb

    from limitlab.features.transformers import raw_inputs
    from limitlab.limits.policy import Policy
    from limitlab.models.additive import AdditiveBoosting
    from limitlab.serving.scorer import Scorer

    cwd = Path.cwd()
    os.chdir(folder)
    try:
        scorer = Scorer.from_project()
        test = pd.read_parquet("data/interim/splits/test.parquet").iloc[:SCORED_ROWS]
    finally:
        os.chdir(cwd)
    model = scorer.pipeline[-1]
    # the matrix the champion itself reads (raw columns for the ensemble, whose members
    # carry their own feature pipelines), built before the clock starts
    matrix = scorer.features(raw_inputs(test, scorer.spec))
    booster = model.model_ if isinstance(model, AdditiveBoosting) else model  # XGBoost's own
    raw = float("inf")
    for _ in range(3):  # the fastest of three calls: the first one pays for warming up
        start = time.perf_counter()
        if isinstance(booster, xgb.XGBModel):
            booster.get_booster().predict(xgb.DMatrix(matrix))
        else:
            model.predict_proba(matrix)
        raw = min(raw, time.perf_counter() - start)
    out = {"rows": len(test), "champion": type(model).__name__,
           "raw_predict_seconds": round(raw, 3),
           "raw_predict_rows_per_second": round(len(matrix) / raw)}  # fmt: skip
    for method in ("exact", "saabas_approximate"):
        reasons = scorer.policy.params.reasons.model_copy(update={"contributions": method})
        params = scorer.policy.params.model_copy(update={"reasons": reasons})
        policy: Policy = dataclasses.replace(scorer.policy, params=params)
        variant = dataclasses.replace(scorer, policy=policy)
        variant.decide(test.iloc[:1000])  # warm up (imports, caches), then one timed call
        start = time.perf_counter()
        variant.decide(test)
        seconds = time.perf_counter() - start
        out[method] = {"seconds": round(seconds, 3), "ratio": round(seconds / raw, 2),
                       "rows_per_second": round(len(test) / seconds)}  # fmt: skip
    return out


def trials_per_minute(folder: Path, trials: int) -> dict:
    out = {}
    params = yaml.safe_load((folder / "params.yaml").read_text())
    params["tune"].update({"n_trials": trials, "seed": 1234})
    (folder / "tune_bench.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    for workers in (1, 2):
        (folder / "models/tune/study.journal").unlink(missing_ok=True)
        run = timed(["limitlab", "tune", "--params", "tune_bench.yaml", "--workers",
                     str(workers)], folder)  # fmt: skip
        result = json.loads((folder / "models/tune/timings.json").read_text())
        records = result["trials"].values()
        span = (max(r["end_ms"] for r in records) - min(r["start_ms"] for r in records)) / 1000
        out[f"{workers}_workers"] = {
            "trials": trials,
            "tuning_seconds": result["seconds"],  # includes starting workers and loading data
            "trial_span_seconds": round(span, 2),  # first trial start to last trial end
            "trials_per_minute": round(trials * 60 / span, 1),
            "process": run,
        }
    return out


def truth(folder: Path) -> dict:
    evaluate = json.loads((folder / "reports/metrics/evaluate.json").read_text())
    return {k: round(v, 4) for k, v in evaluate["truth"].items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--ten-million", action="store_true", help="add 10,000,000 rows")
    parser.add_argument(
        "--trials", type=int, default=10, help="Optuna trials of every family's study"
    )
    parser.add_argument(
        "--tune-sample",
        type=int,
        default=200_000,
        help="tune.sample_rows (rows of train and of valid used for tuning)",
    )
    parser.add_argument(
        "--train-sample",
        type=int,
        default=300_000,
        help="train.sample_rows above 1,000,000 rows (the families' fits and out-of-fold PDs)",
    )
    parser.add_argument("--throughput-trials", type=int, default=60)
    parser.add_argument("--no-throughput", action="store_true", help="skip trials per minute")
    parser.add_argument("--output", type=Path, default=ROOT / "benchmarks/results.json")
    args = parser.parse_args()
    sizes = [*args.rows, *([10_000_000] if args.ten_million else [])]
    results: dict = {"machine": {"cpus": os.cpu_count()}, "sizes": {}}
    with tempfile.TemporaryDirectory(prefix="limitlab-bench-") as tmp:
        for rows in sizes:
            train_sample = args.train_sample if rows > 1_000_000 else None
            folder = project(Path(tmp) / f"rows-{rows}", rows, args.trials, args.tune_sample,
                             train_sample)  # fmt: skip
            print(f"\n== {rows:,} rows ==", flush=True)
            entry = {"stages": stage_table(folder)}
            for stage, m in entry["stages"].items():
                print(f"  {stage:<9} {m['seconds']:>9.1f} s  {m['peak_mb']:>9,.0f} MB", flush=True)
            entry["truth"] = truth(folder)
            entry["train_ratio"] = (
                train_ratio(folder)
                if train_sample is None
                else {"skipped": "train.sample_rows is set: the stage fits a sample"}
            )
            entry["scoring_ratio"] = scoring_ratio(folder)
            if rows == sizes[0] and not args.no_throughput:
                entry["tuning_throughput"] = trials_per_minute(folder, args.throughput_trials)
            results["sizes"][str(rows)] = entry
            print(json.dumps({k: v for k, v in entry.items() if k != "stages"}, indent=1),
                  flush=True)  # fmt: skip
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    print_table(results)
    print(f"\nwritten: {args.output}")


def print_table(results: dict) -> None:
    sizes = list(results["sizes"])
    print("\nstage       " + "".join(f"{int(s):>14,} rows      " for s in sizes))
    for stage in STAGES:
        cells = [results["sizes"][s]["stages"][stage] for s in sizes]
        print(f"{stage:<11} " + "".join(f"{c['seconds']:>9.1f} s {c['peak_mb']:>8,.0f} MB  "
                                          for c in cells))  # fmt: skip
    total = [sum(m["seconds"] for m in results["sizes"][s]["stages"].values()) for s in sizes]
    print(f"{'total':<11} " + "".join(f"{t:>9.1f} s              " for t in total))


if __name__ == "__main__":
    main()
