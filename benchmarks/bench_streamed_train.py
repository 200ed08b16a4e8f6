"""XGBoost on every train row: read in batches into a QuantileDMatrix (``train.engine:
streamed``) against the whole feature matrix read into pandas and fitted in memory.

Builds a synthetic project up to the features stage (``limitlab generate``, ``ingest``,
``split``, ``features``), then fits the same XGBoost settings both ways, each in a process of
its own; prints wall time, peak resident memory (from ``wait4``; and up to the end of the fit,
before the test split is scored) and the test AUC of each.
    uv run python benchmarks/bench_streamed_train.py [--rows 1000000] [--trees 200]
Prints figures only; nothing here is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_scale import project, timed

FIT = """
import json, resource, sys, time
import pandas as pd
from sklearn.metrics import roc_auc_score
from limitlab.models.families import make_xgboost
from limitlab.models.streamed import fit_xgboost_streamed
way, trees = sys.argv[1], int(sys.argv[2])
model = make_xgboost({"max_depth": 4, "learning_rate": 0.1, "subsample": 0.8}, 42,
                     n_estimators=trees)
start = time.perf_counter()
if way == "streamed":
    model = fit_xgboost_streamed(model, "data/processed/train.parquet", 500_000)
else:
    frame = pd.read_parquet("data/processed/train.parquet")
    model.fit(frame.drop(columns=["_bad"]), frame["_bad"])
    del frame
fit = time.perf_counter() - start
fit_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # MB, before scoring
test = pd.read_parquet("data/processed/test.parquet")
auc = roc_auc_score(test["_bad"], model.predict_proba(test.drop(columns=["_bad"]))[:, 1])
print(json.dumps({"fit_seconds": round(fit, 1), "fit_peak_mb": fit_peak,
                  "test_auc": round(float(auc), 4)}))
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--trees", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = project(Path(tmp) / "project", args.rows, trials=1, tune_sample=None)
        for stage in ("generate", "ingest", "split", "features"):
            timed(["limitlab", stage], folder)
        split = json.loads((folder / "reports/metrics/split.json").read_text())
        print(f"{args.rows:,} synthetic rows ({split['train']['rows']:,} train, "
              f"{split['test']['rows']:,} test); XGBoost, {args.trees} trees of depth 4, "
              "2 threads")  # fmt: skip
        print(f"{'way':10} {'wall':>9} {'peak memory':>12} {'fit':>9} {'peak in fit':>12} "
              f"{'test AUC':>9}")  # fmt: skip
        for way in ("streamed", "in memory"):
            print(fitted(way, args.trees, folder))


def fitted(way: str, trees: int, folder: Path) -> str:
    """One fit in a process of its own: its table row (wall, peak memory, fit, peak memory up
    to the end of the fit, test AUC)."""
    out, err = folder / "fit.out", folder / "fit.err"
    with out.open("w") as stdout, err.open("w") as stderr:
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-c", FIT, way.split()[0], str(trees)],
                                cwd=folder, stdout=stdout, stderr=stderr)  # fmt: skip
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status):
        return f"{way:10} failed: {err.read_text().strip().splitlines()[-1]}"
    found = json.loads(out.read_text().strip().splitlines()[-1])
    return (
        f"{way:10} {wall:8.1f}s {usage.ru_maxrss / 1024:9,.0f} MB {found['fit_seconds']:8.1f}s "
        f"{found['fit_peak_mb']:9,.0f} MB {found['test_auc']:9.4f}"
    )


if __name__ == "__main__":
    main()
