"""Batch-scoring throughput against raw XGBoost predict, and model-server latency on loopback.

Needs a finished `make repro` (a registered @champion). Usage:
    uv run python benchmarks/bench_serving.py [ROWS]      (default 1,000,000)
Prints figures only; nothing here is asserted.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd

from limitlab.features.transformers import raw_inputs
from limitlab.serving.batch import score_file
from limitlab.tracking.store import tracking_uri

ROOT = Path(__file__).resolve().parents[1]
MODEL = "models:/limitlab-pd@champion"


def applicants(n: int, columns: list[str]) -> pd.DataFrame:
    test = pd.read_parquet(ROOT / "data/interim/splits/test.parquet")
    rows = test[columns].sample(n, replace=True, random_state=0).reset_index(drop=True)
    numeric = [c for c in columns if pd.api.types.is_numeric_dtype(rows[c])]
    return rows.astype({c: "float64" for c in numeric})


def batch(n: int) -> None:
    model = mlflow.pyfunc.load_model(MODEL)
    scorer = model.unwrap_python_model().scorer
    frame = applicants(n, model.metadata.get_input_schema().input_names())
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "apps.parquet"
        frame.to_parquet(source, index=False)
        start = time.perf_counter()
        counts = score_file(MODEL, source, Path(tmp) / "out.parquet", chunk_size=100_000)
        batch_seconds = time.perf_counter() - start
    matrix = scorer.pipeline[:-1].transform(raw_inputs(frame, scorer.spec))
    start = time.perf_counter()
    scorer.pipeline[-1].predict_proba(matrix)
    raw_seconds = time.perf_counter() - start
    print(f"batch scoring {counts['rows_scored']:,} rows (validate, PD, limit, reasons, I/O): "
          f"{batch_seconds:.1f} s, {n / batch_seconds:,.0f} rows/s")  # fmt: skip
    print(
        f"raw model predict_proba on the transformed matrix: {raw_seconds:.2f} s, "
        f"{n / raw_seconds:,.0f} rows/s; ratio {batch_seconds / raw_seconds:.1f}x"
    )


def latency() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"  # uvicorn
    env = {**os.environ, "PATH": path, "MLFLOW_TRACKING_URI": tracking_uri(ROOT)}
    server = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "models", "serve", "-m", MODEL, "--env-manager", "local",
         "--host", "127.0.0.1", "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):
            try:
                urllib.request.urlopen(f"{base}/ping", timeout=2)
                break
            except OSError:
                time.sleep(0.5)
        columns = mlflow.pyfunc.load_model(MODEL).metadata.get_input_schema().input_names()
        for size, repeats in ((1, 200), (1000, 50)):
            body = json.dumps(
                {
                    "dataframe_split": json.loads(
                        applicants(size, columns).to_json(orient="split", index=False)
                    )
                }
            ).encode()
            timings = []
            for _ in range(repeats):
                request = urllib.request.Request(
                    f"{base}/invocations", body, {"Content-Type": "application/json"}
                )
                start = time.perf_counter()
                urllib.request.urlopen(request, timeout=60).read()
                timings.append(time.perf_counter() - start)
            ms = np.array(timings) * 1000
            print(f"server, {size:>5}-row request x {repeats}: median {np.median(ms):.1f} ms, "
                  f"p99 {np.quantile(ms, 0.99):.1f} ms")  # fmt: skip
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


if __name__ == "__main__":
    mlflow.set_tracking_uri(tracking_uri(ROOT))
    batch(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
    latency()
