"""Batch-scoring throughput against raw XGBoost predict, and model-server latency and load on
loopback: MLflow's server alone and behind limitlab's guard, with one worker and one per core.

Needs a finished `make repro` (a registered @champion). Usage:
    uv run python benchmarks/bench_serving.py [ROWS] [--server-only]   (default 1,000,000 rows)
Prints figures only; nothing here is asserted.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
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


def start_server(command: list[str]) -> tuple[subprocess.Popen, str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"  # uvicorn
    env = {**os.environ, "PATH": path, "MLFLOW_TRACKING_URI": tracking_uri(ROOT)}
    server = subprocess.Popen(
        [*command, "--host", "127.0.0.1", "--port", str(port)], env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    for _ in range(240):
        try:
            urllib.request.urlopen(f"{base}/ping", timeout=2)
            break
        except OSError:
            time.sleep(0.5)
    return server, base


def timed_post(url: str, body: bytes) -> float:
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    start = time.perf_counter()
    urllib.request.urlopen(request, timeout=120).read()
    return time.perf_counter() - start


def kept_alive_post(connection: http.client.HTTPConnection, body: bytes) -> float:
    """One request on a kept-alive connection, as a calling system holds one per client."""
    start = time.perf_counter()
    connection.request("POST", "/invocations", body, {"Content-Type": "application/json"})
    response = connection.getresponse()
    response.read()
    if response.status != 200:
        raise RuntimeError(f"the server answered {response.status}; expected 200")
    return time.perf_counter() - start


def figures(label: str, seconds: list[float], wall: float | None = None) -> None:
    ms = np.array(seconds) * 1000
    rate = f", {len(seconds) / wall:.1f} requests/s" if wall else ""
    print(f"{label}: p50 {np.median(ms):.0f} ms, p99 {np.quantile(ms, 0.99):.0f} ms{rate}")


def latency(clients: int = 20, per_client: int = 50) -> None:
    """Sequential requests, then ``clients`` concurrent one-row clients (closed loop): 1,000
    requests, so the p99 is the tenth-slowest answer rather than the fifth."""
    from concurrent.futures import ThreadPoolExecutor

    columns = mlflow.pyfunc.load_model(MODEL).metadata.get_input_schema().input_names()
    rows = applicants(1000, columns)
    one = [split_body(rows.iloc[[i]]) for i in range(clients * per_client)]
    thousand = split_body(rows)
    mlflow_serve = [sys.executable, "-m", "mlflow", "models", "serve", "-m", MODEL,
                    "--env-manager", "local"]  # fmt: skip
    guarded = [sys.executable, "-m", "limitlab.cli", "serve", "--model", MODEL]
    servers = {
        "mlflow models serve (1 worker)": mlflow_serve,
        "limitlab serve --workers 1": [*guarded, "--workers", "1"],
        f"limitlab serve (default: {os.cpu_count()} workers)": guarded,
    }
    for name, command in servers.items():
        server, base = start_server(command)
        url = f"{base}/invocations"
        try:
            timed_post(url, one[0])  # warm-up
            figures(f"{name}, 1-row requests one at a time x 200",
                    [timed_post(url, one[i]) for i in range(200)])  # fmt: skip
            figures(f"{name}, 1000-row requests one at a time x 20",
                    [timed_post(url, thousand) for _ in range(20)])  # fmt: skip

            def client(k: int, base: str = base) -> list[float]:
                connection = http.client.HTTPConnection(base.removeprefix("http://"), timeout=120)
                try:
                    return [kept_alive_post(connection, one[k * per_client + i])
                            for i in range(per_client)]  # fmt: skip
                finally:
                    connection.close()

            start = time.perf_counter()
            with ThreadPoolExecutor(clients) as pool:
                seconds = [t for ts in pool.map(client, range(clients)) for t in ts]
            label = f"{name}, {clients} concurrent keep-alive clients x {per_client} 1-row requests"
            figures(label,
                    seconds, time.perf_counter() - start)  # fmt: skip
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)


def split_body(rows: pd.DataFrame) -> bytes:
    table = json.loads(rows.to_json(orient="split", index=False))
    return json.dumps({"dataframe_split": table}).encode()


def one_call(rows: int = 1, repeats: int = 200) -> None:
    """Where one model call goes for ``rows`` rows, step by step (median of ``repeats`` calls):
    what the server does between reading a request and writing its answer."""
    from mlflow.pyfunc.scoring_server import infer_and_parse_data
    from mlflow.utils.proto_json_utils import NumpyEncoder

    from limitlab.limits.decide import decide
    from limitlab.serving.pyfunc import bundle_output
    from limitlab.serving.server import records
    from limitlab.serving.validate import validate_applicants

    model = mlflow.pyfunc.load_model(MODEL)
    limit_model = model.unwrap_python_model()
    scorer, schema = limit_model.scorer, model.metadata.get_input_schema()
    frame = applicants(rows, schema.input_names())
    payload = json.loads(split_body(frame))
    parsed = infer_and_parse_data(payload, schema)
    typed, _ = validate_applicants(parsed, scorer)
    scored = scorer._scored(typed)
    answer = bundle_output(scorer, typed, limit_model.model_id, limit_model.version)

    def median_ms(call: Callable[[], object]) -> float:
        seconds = []
        for _ in range(repeats):
            start = time.perf_counter()
            call()
            seconds.append(time.perf_counter() - start)
        return float(np.median(seconds) * 1000)

    whole = median_ms(lambda: model.predict(parsed))
    ours = median_ms(lambda: limit_model.predict(None, parsed))
    steps = {
        "parse the JSON request (MLflow)": median_ms(lambda: infer_and_parse_data(payload, schema)),
        "MLflow's input checks": whole - ours,
        "limitlab's row checks": median_ms(lambda: validate_applicants(parsed, scorer)),
        "raw columns, features, PD": median_ms(lambda: scorer._scored(typed)),
        "limit policy": median_ms(lambda: decide(scored.pd, typed, scorer.policy)),
    }
    decided = median_ms(lambda: scorer.decide(typed))
    steps["notice, reasons"] = decided - steps["raw columns, features, PD"] - steps["limit policy"]
    steps["answer columns"] = ours - steps["limitlab's row checks"] - decided
    steps["answer as JSON"] = median_ms(
        lambda: json.dumps({"predictions": records(answer)}, cls=NumpyEncoder)
    )
    print(f"\none model call, {rows} row(s), {type(scorer.pipeline[-1]).__name__} champion "
          f"(median of {repeats} calls):")  # fmt: skip
    for step, ms in steps.items():
        print(f"  {step:34} {ms:6.2f} ms")
    print(f"  {'model.predict in all':34} {whole:6.2f} ms")


if __name__ == "__main__":
    mlflow.set_tracking_uri(tracking_uri(ROOT))
    arguments = [a for a in sys.argv[1:] if not a.startswith("--")]
    if "--server-only" not in sys.argv:
        batch(int(arguments[0]) if arguments else 1_000_000)
    one_call(1)
    one_call(20)
    latency()
