"""The ``limitlab`` command: one sub-command per pipeline stage, plus ``summary``.

No logic lives here: each command loads ``params.yaml`` and calls its stage.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import typer

from limitlab.config import ParamsError, load_params
from limitlab.data.specs import DataError

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)
ParamsOption = typer.Option(Path("params.yaml"), "--params", help="Parameters file.")


def _run(stage: Callable, params_path: Path) -> None:
    try:
        stage(load_params(params_path))
    except (ParamsError, DataError) as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        sys.exit(2)


@app.command()
def ingest(params: Path = ParamsOption) -> None:
    """Validate raw data; write kept rows and a quarantine of refused rows with reasons."""
    from limitlab.stages import run_ingest

    _run(run_ingest, params)


@app.command()
def split(params: Path = ParamsOption) -> None:
    """Split kept rows into train / validation / test (stratified, or by date)."""
    from limitlab.stages import run_split

    _run(run_split, params)


@app.command()
def features(params: Path = ParamsOption) -> None:
    """Fit the feature pipeline on train and transform every split."""
    from limitlab.stages import run_features

    _run(run_features, params)


@app.command()
def tune(params: Path = ParamsOption) -> None:
    """Tune XGBoost with Optuna (resumable study in a journal file)."""
    from limitlab.stages import run_tune

    _run(run_tune, params)


@app.command()
def train(params: Path = ParamsOption) -> None:
    """Fit the tuned XGBoost and the logistic baseline; choose the champion on validation."""
    from limitlab.stages import run_train

    _run(run_train, params)


@app.command()
def evaluate(params: Path = ParamsOption) -> None:
    """Test metrics for every model family; data for the ROC, calibration and KS plots."""
    from limitlab.stages import run_evaluate

    _run(run_evaluate, params)


@app.command()
def limits(params: Path = ParamsOption) -> None:
    """Grades and limits for the test split; the band table."""
    from limitlab.stages import run_limits

    _run(run_limits, params)


@app.command()
def register(params: Path = ParamsOption) -> None:
    """Log the pipeline execution to MLflow and register the model."""
    from limitlab.tracking.register import run_register

    _run(run_register, params)


@app.command()
def summary() -> None:
    """Print what the last pipeline run produced."""
    from limitlab.report import print_summary

    print_summary()


if __name__ == "__main__":
    app()
