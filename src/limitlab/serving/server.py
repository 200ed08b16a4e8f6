"""`limitlab serve`: MLflow's scoring server for a registered model, behind a request guard.

The guard answers what MLflow would answer with the request echoed back or a stack trace: a
body that is not JSON (or not UTF-8), a JSON body without exactly one table key, a repeated
column, and a request with more rows than the limit (413, naming the limit). A CSV body is
passed on as a JSON table of its text, so the model's own validation reads every value. Every
JSON table without ``params`` is parsed as MLflow's server parses it and scored through the
:mod:`~limitlab.serving.batching` batcher, which joins concurrent requests into one call of the
same pyfunc model; every other request goes to MLflow's server unchanged. Error answers lose any
``stack_trace`` field on the way out.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import logging
import os
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import pandas as pd

from limitlab.errors import StateError
from limitlab.serving.batching import (
    BATCH_ROWS,
    BATCH_ROWS_VARIABLE,
    BATCH_WAIT,
    BATCH_WAIT_VARIABLE,
    Batcher,
)
from limitlab.serving.pyfunc import max_rows

MODEL_VARIABLE = "LIMITLAB_SERVE_MODEL"
TABLE_KEYS = ("dataframe_split", "dataframe_records")
JSON_TYPES = ("application/json",)
CSV_TYPE = "text/csv"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]
log = logging.getLogger(__name__)


def table_rows(payload: Any) -> int:
    """Rows in a decoded JSON request; raises ValueError naming what was expected."""
    if not isinstance(payload, dict):
        raise ValueError(
            f"expected a JSON object with one of the keys {list(TABLE_KEYS)}, "
            f"got a JSON {type(payload).__name__}"
        )
    keys = [k for k in TABLE_KEYS if k in payload]
    if len(keys) != 1:
        raise ValueError(
            f"expected exactly one of the keys {list(TABLE_KEYS)}, got keys {sorted(payload)[:10]}"
        )
    table = payload[keys[0]]
    if keys[0] == "dataframe_split":
        shape = 'expected "dataframe_split" to be {"columns": [...], "data": [[...], ...]}'
        if not isinstance(table, dict) or not isinstance(table.get("data"), list):
            raise ValueError(shape)
        columns = table.get("columns")
        if not isinstance(columns, list):
            raise ValueError(f"{shape}; the column names are missing")
        repeated = sorted({str(c) for c in columns if columns.count(c) > 1})
        if repeated:
            raise ValueError(f"column(s) {repeated} appear more than once; expected each once")
        return len(table["data"])
    if keys[0] == "dataframe_records":
        if not isinstance(table, list) or not all(isinstance(r, dict) for r in table):
            raise ValueError('expected "dataframe_records" to be a list of objects, one per row')
        return len(table)
    if isinstance(table, list):
        return len(table)
    if isinstance(table, dict):  # column -> values
        lengths = [len(v) if isinstance(v, list) else 1 for v in table.values()]
        return max(lengths, default=0)
    raise ValueError(f'expected "{keys[0]}" to hold rows, got a JSON {type(table).__name__}')


def read_json_body(body: bytes, limit: int | None) -> tuple[int, str] | dict:
    """A JSON body's decoded table request, or ``(status, message)`` to refuse it."""
    try:
        payload = json.loads(body)
    except UnicodeDecodeError as exc:
        return 400, f"request body is not UTF-8 (byte {exc.start}); expected UTF-8 JSON"
    except json.JSONDecodeError as exc:
        return 400, (
            f"request body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        )
    try:
        rows = table_rows(payload)
    except ValueError as exc:
        return 400, str(exc)
    if limit is not None and rows > limit:
        return 413, (
            f"{rows:,} rows in one request; the limit is {limit:,} (score files with "
            "`limitlab score`)"
        )
    return payload


def csv_as_json(body: bytes, limit: int | None) -> tuple[int, str] | bytes:
    """A CSV body as a JSON ``dataframe_split`` of its text, or ``(status, message)``.

    The values stay text: the model's validation parses numbers and names what does not parse.
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return 400, f"request body is not UTF-8 (byte {exc.start}); expected UTF-8 CSV"
    header = next(csv.reader(io.StringIO(text)), [])
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        return 400, f"column(s) {repeated} appear more than once; expected each once"
    try:
        frame = pd.read_csv(io.StringIO(text), dtype=str)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        first = " ".join(str(exc).split())[:200]
        return 400, f"request body cannot be read as CSV ({first}); expected a header and rows"
    if limit is not None and len(frame) > limit:
        return 413, (
            f"{len(frame):,} rows in one request; the limit is {limit:,} (score files with "
            "`limitlab score`)"
        )
    table = json.loads(frame.to_json(orient="split", index=False))
    return json.dumps({"dataframe_split": table}).encode()


def without_stack_trace(body: bytes) -> bytes:
    """An error body with its ``stack_trace`` field removed (other bodies unchanged)."""
    try:
        payload = json.loads(body)
    except ValueError:
        return body
    if isinstance(payload, dict) and "stack_trace" in payload:
        payload.pop("stack_trace")
        return json.dumps(payload).encode()
    return body


async def answer(send: Send, status: int, message: str) -> None:
    code = "REQUEST_LIMIT_EXCEEDED" if status == 413 else "BAD_REQUEST"
    await respond(send, status, json.dumps({"error_code": code, "message": message}).encode())


class RequestGuard:
    """ASGI middleware in front of MLflow's scoring server (see the module docstring)."""

    def __init__(self, app: App, limit: int | None, scoring: BatchedScoring | None = None) -> None:
        self.app = app
        self.limit = limit
        self.scoring = scoring

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") != "/invocations":
            await self.app(scope, receive, send)
            return
        body = await read_body(receive)
        headers = dict(scope.get("headers") or [])
        content_type = headers.get(b"content-type", b"").decode("latin-1").split(";")[0].strip()
        if content_type == CSV_TYPE:
            converted = csv_as_json(body, self.limit)
            if isinstance(converted, tuple):
                await answer(send, *converted)
                return
            body, content_type = converted, JSON_TYPES[0]
            scope = {**scope, "headers": with_content_type(scope, content_type, len(body))}
        if content_type in JSON_TYPES:
            payload = read_json_body(body, self.limit)
            if isinstance(payload, tuple):
                await answer(send, *payload)
                return
            if self.scoring is not None and plain_json(headers) and "params" not in payload:
                await respond(send, *await self.scoring.answer(payload))
                return
        await self.app(scope, replay(body), clean_errors(send))


def plain_json(headers: dict[bytes, bytes]) -> bool:
    """A JSON content type with no parameter but ``charset=utf-8`` (others go to MLflow)."""
    parts = headers.get(b"content-type", b"").decode("latin-1").lower().split(";")[1:]
    return all(p.strip().replace(" ", "") in ("", "charset=utf-8") for p in parts)


class BatchedScoring:
    """``/invocations`` for one pyfunc model: MLflow's parsing, the model's ``predict`` through a
    :class:`~limitlab.serving.batching.Batcher`, MLflow's answer format and error bodies."""

    def __init__(
        self,
        model: Any,
        batch_rows: int = BATCH_ROWS,
        timeout: float | None = None,
        wait: float = BATCH_WAIT,
    ) -> None:
        self.schema = model.metadata.get_input_schema()
        self.predict = model.predict
        self.batcher = Batcher(model.predict, batch_rows, records, wait)
        self.timeout = timeout

    def warm_up(self, example: pd.DataFrame | None) -> int:
        """Answer the model's input example, row by row and whole, before the first request,
        so that no client pays for a worker's first calls (lazy imports, first code paths);
        the number of calls made. A failure is logged, not raised: requests then get the
        model's own answer."""
        from mlflow.pyfunc.scoring_server import infer_and_parse_data
        from mlflow.utils.proto_json_utils import NumpyEncoder

        if not isinstance(example, pd.DataFrame) or example.empty:
            return 0
        tables = [example.iloc[[i]] for i in range(len(example))] + [example]
        for calls, table in enumerate(tables):
            payload = {"dataframe_split": json.loads(table.to_json(orient="split", index=False))}
            try:
                frame = infer_and_parse_data(payload, self.schema)
                json.dumps({"predictions": records(self.predict(frame))}, cls=NumpyEncoder)
            except Exception as exc:
                log.warning("warm-up on the model's input example stopped: %s", exc)
                return calls
        return len(tables)

    async def answer(self, payload: dict) -> tuple[int, bytes]:
        """``(status, JSON body)`` for a decoded request."""
        from mlflow.exceptions import MlflowException
        from mlflow.pyfunc.scoring_server import infer_and_parse_data
        from mlflow.utils.proto_json_utils import NumpyEncoder

        try:
            frame = infer_and_parse_data(payload, self.schema)
            if not isinstance(frame, pd.DataFrame):
                frame = pd.DataFrame(frame)
            rows = await asyncio.wait_for(self.batcher.score(frame), self.timeout)
        except MlflowException as exc:
            return exc.get_http_status_code(), without_stack_trace(exc.serialize_as_json().encode())
        except TimeoutError:
            return 504, b"Request processing time exceeded limit"
        except Exception:
            log.exception("scoring failed")
            message = {"error_code": "INTERNAL_ERROR",
                       "message": "internal error while scoring; see the server log"}  # fmt: skip
            return 500, json.dumps(message).encode()
        return 200, json.dumps({"predictions": rows}, cls=NumpyEncoder).encode()


def records(decisions: pd.DataFrame) -> list[dict]:
    """Decisions as the JSON-ready records MLflow's server answers with, one per row."""
    return decisions.to_dict(orient="records")


async def respond(send: Send, status: int, body: bytes) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def with_content_type(scope: Scope, content_type: str, length: int) -> list:
    kept = [(k, v) for k, v in scope.get("headers") or []
            if k.lower() not in (b"content-type", b"content-length")]  # fmt: skip
    return [*kept, (b"content-type", content_type.encode()),
            (b"content-length", str(length).encode())]  # fmt: skip


async def read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


def replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


def clean_errors(send: Send) -> Send:
    """Hold an error answer until its body is complete, then send it without a stack trace."""
    start: Message | None = None
    parts: list[bytes] = []

    async def wrapped(message: Message) -> None:
        nonlocal start
        if message["type"] == "http.response.start" and message["status"] >= 400:
            start = message
            return
        if start is None or message["type"] != "http.response.body":
            await send(message)
            return
        parts.append(message.get("body", b""))
        if message.get("more_body"):
            return
        body = without_stack_trace(b"".join(parts))
        headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(body)).encode()))
        await send({**start, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return wrapped


def batch_rows() -> int:
    """Rows per joint scoring call, from the environment (1: every request alone)."""
    value = os.environ.get(BATCH_ROWS_VARIABLE, "").strip() or str(BATCH_ROWS)
    if not value.isdigit() or int(value) < 1:
        raise StateError(f"{BATCH_ROWS_VARIABLE}={value!r}; expected a positive whole number")
    return int(value)


def batch_wait() -> float:
    """Seconds a call under load waits to gather requests, from the environment (in ms)."""
    value = os.environ.get(BATCH_WAIT_VARIABLE, "").strip() or str(BATCH_WAIT * 1000)
    try:
        milliseconds = float(value)
    except ValueError:
        milliseconds = -1.0
    if not 0 <= milliseconds <= 1000:
        raise StateError(f"{BATCH_WAIT_VARIABLE}={value!r}; expected milliseconds from 0 to 1000")
    return milliseconds / 1000


def create_app() -> App:
    """The guarded server for the model named by ``LIMITLAB_SERVE_MODEL`` (uvicorn factory)."""
    from mlflow.environment_variables import MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT
    from mlflow.pyfunc import load_model, scoring_server

    model = load_model(os.environ[MODEL_VARIABLE])
    timeout = MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT.get()
    scoring = BatchedScoring(model, batch_rows(), timeout, batch_wait())
    scoring.warm_up(model.input_example)
    return RequestGuard(scoring_server.init(model), max_rows(), scoring)
