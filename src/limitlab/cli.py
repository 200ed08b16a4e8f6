"""The ``limitlab`` command: one sub-command per pipeline stage, plus ``summary``.

No logic lives here: each stage command loads ``params.yaml`` and calls its stage function.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from limitlab.allocator import keep_freed_memory
from limitlab.config import load_params
from limitlab.errors import LimitlabError, StateError
from limitlab.pipeline_lock import pipeline_lock
from limitlab.stages import STAGES

app = typer.Typer(
    add_completion=False,
    pretty_exceptions_enable=False,
    no_args_is_help=True,
    help="limitlab: credit-limit modelling. One command per pipeline stage, plus summary.",
)
PARAMS_OPTION = typer.Option(Path("params.yaml"), "--params", help="Parameters file.")
DATASET_OPTION = typer.Option(None, help="Data set (default: data.dataset in params).")
REPEATS_OPTION = typer.Option(5, min=1, help="Repeats of the K-fold split.")
FOLDS_OPTION = typer.Option(2, min=2, help="Folds K.")
TRIALS_OPTION = typer.Option(None, min=1, help="Optuna trials per fold (default: tune.n_trials).")
OUTPUT_OPTION = typer.Option(None, help="Write the result as JSON here.")


@app.callback()
def _start() -> None:
    keep_freed_memory()  # large batches reuse freed arrays' pages (see limitlab.allocator)


@contextmanager
def stop_on_bad_input() -> Iterator[None]:
    """Turn any refusal (:class:`LimitlabError`) into one red line on stderr and exit code 2."""
    try:
        yield
    except LimitlabError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        sys.exit(2)


def _run_stage(name: str, params: Path, **options: object) -> None:
    module = importlib.import_module(f"limitlab.stages.{name}")
    with stop_on_bad_input(), pipeline_lock():
        try:
            module.run(load_params(params), **options)
        except FileNotFoundError as exc:  # an input an earlier stage writes is not there
            missing = exc.filename or str(exc)
            raise StateError(
                f"{missing}: not found; `limitlab {name}` expected it from an earlier stage "
                "(run `dvc repro`, which runs the stages in order)"
            ) from None


def _add_stage(name: str, help_text: str) -> None:
    def command(params: Path = PARAMS_OPTION) -> None:
        _run_stage(name, params)

    app.command(name=name, help=help_text)(command)


def tune(
    workers: int = typer.Option(None, min=1, help="Worker processes (default tune.workers)."),
    params: Path = PARAMS_OPTION,
) -> None:
    """Tune XGBoost with Optuna: a resumable study, shared by N worker processes."""
    _run_stage("tune", params, workers=workers)


for _name, _help in STAGES.items():
    if _name == "tune":  # the one stage with an option of its own
        app.command(name="tune", help=_help)(tune)
    else:
        _add_stage(_name, _help)


@app.command()
def cv(
    dataset: str = DATASET_OPTION,
    repeats: int = REPEATS_OPTION,
    folds: int = FOLDS_OPTION,
    trials: int = TRIALS_OPTION,
    output: Path = OUTPUT_OPTION,
    params: Path = PARAMS_OPTION,
) -> None:
    """Repeated K-fold CV of every family, tuning inside each training fold (a benchmark)."""
    from limitlab.report import run_cross_validation

    with stop_on_bad_input():
        run_cross_validation(load_params(params), dataset, repeats, folds, trials, output)


@app.command()
def promote(
    version: str = typer.Argument(..., help="Registered model version to make @champion."),
    reason: str = typer.Option(..., "--reason", help="Why, recorded as a tag on the version."),
    params: Path = PARAMS_OPTION,
) -> None:
    """Promote a registered model version to @champion by hand, with a reason."""
    from mlflow.tracking import MlflowClient

    from limitlab.tracking.registry import promote as promote_version
    from limitlab.tracking.store import use_project_store

    with stop_on_bad_input():
        registry = load_params(params).registry
        use_project_store(registry.experiment)
        promote_version(MlflowClient(), registry.model_name, version, reason)
    typer.echo(f"{registry.model_name} version {version} is now @champion ({reason})")


@app.command()
def score(
    model: Annotated[str, typer.Option("--model", help="e.g. models:/limitlab-pd@champion")],
    input_path: Annotated[Path, typer.Option("--input", help="Applicants, CSV or Parquet.")],
    output: Annotated[Path, typer.Option("--output", help="Decisions, CSV or Parquet.")],
    chunk_size: Annotated[int, typer.Option(min=1, help="Rows per chunk.")] = 50_000,
    keep: Annotated[
        list[str] | None,
        typer.Option("--keep", help="Input column to copy to the output (repeat; default: id)."),
    ] = None,
    notices: Annotated[
        Path | None,
        typer.Option("--notices", help="Adverse-action notices (declines, counter-offers)."),
    ] = None,
) -> None:
    """Score a file with a registered model; refused rows go to <output>.quarantine.<ext>;
    with --notices, a notice with the principal reasons for each decline and counter-offer."""
    import mlflow

    from limitlab.serving.batch import quarantine_path, score_file
    from limitlab.tracking.store import tracking_uri

    mlflow.set_tracking_uri(tracking_uri())
    with stop_on_bad_input():
        counts = score_file(
            model, input_path, output, chunk_size, tuple(keep) if keep else None, notices
        )
    refused = counts["rows_quarantined"]
    typer.echo(
        f"read {counts['rows_read']:,}  scored {counts['rows_scored']:,} -> {output}  "
        + (f"quarantined {refused:,} -> {quarantine_path(output)}" if refused else "quarantined 0")
        + (f"  notices {counts['notices']:,} -> {notices}" if notices else "")
    )


@app.command()
def serve(
    model: Annotated[str, typer.Option("--model", help="Registry URI or model folder.")] = (
        "models:/limitlab-pd@champion"
    ),
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 5001,
    workers: Annotated[int, typer.Option(min=0, help="Server processes (0: one per core).")] = 0,
    max_rows: Annotated[int, typer.Option(min=1, help="Rows per request; more get 413.")] = 10_000,
    batch_rows: Annotated[
        int, typer.Option(min=1, help="Rows of concurrent requests scored in one call (1: alone).")
    ] = 256,
    batch_wait_ms: Annotated[
        float,
        typer.Option(
            min=0,
            max=1000,
            help="Under load, ms a call waits to gather the requests it last answered.",
        ),
    ] = 3.0,
) -> None:
    """Serve a registered model with MLflow's scoring server behind limitlab's request guard;
    concurrent small requests are scored together in one call of the model."""
    import os

    import mlflow

    from limitlab.serving.batch import load_limit_model
    from limitlab.serving.batching import BATCH_ROWS_VARIABLE, BATCH_WAIT_VARIABLE
    from limitlab.serving.pyfunc import MAX_ROWS_VARIABLE
    from limitlab.serving.server import MODEL_VARIABLE
    from limitlab.tracking.store import tracking_uri

    os.environ.setdefault("MLFLOW_TRACKING_URI", tracking_uri())
    mlflow.set_tracking_uri(os.environ["MLFLOW_TRACKING_URI"])
    with stop_on_bad_input():
        load_limit_model(model)  # an unknown alias or a changed file: one line, before binding
    os.environ.update({MODEL_VARIABLE: model, MAX_ROWS_VARIABLE: str(max_rows),
                       BATCH_ROWS_VARIABLE: str(batch_rows),
                       BATCH_WAIT_VARIABLE: str(batch_wait_ms)})  # fmt: skip
    workers = workers or os.cpu_count() or 1
    typer.echo(f"serving {model} on http://{host}:{port} with {workers} worker(s), "
               f"at most {max_rows:,} rows per request, concurrent requests joined up to "
               f"{batch_rows:,} rows, gathered up to {batch_wait_ms:g} ms under load")  # fmt: skip
    command = [sys.executable, "-m", "uvicorn", "--factory", "limitlab.serving.server:create_app",
               "--host", host, "--port", str(port), "--workers", str(workers),
               "--log-level", "warning"]  # fmt: skip
    os.execv(sys.executable, command)


@app.command()
def summary() -> None:
    """Print what the last pipeline run produced."""
    from limitlab.report import print_summary

    with stop_on_bad_input():
        print_summary()


if __name__ == "__main__":
    app()
