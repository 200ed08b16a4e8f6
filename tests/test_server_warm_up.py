"""A server worker answers its model's input example before its first request."""

from __future__ import annotations

import logging
from pathlib import Path

import mlflow
import pandas as pd
import pytest

from limitlab.serving.server import BatchedScoring


class Recorder(mlflow.pyfunc.PythonModel):
    """A model that keeps the size of every frame it scores and refuses a negative income."""

    def __init__(self) -> None:
        self.calls: list[int] = []

    def predict(self, context: object, model_input: pd.DataFrame) -> pd.DataFrame:
        self.calls.append(len(model_input))
        if (model_input["income"] < 0).any():
            raise ValueError("income: negative; expected 0 or more")
        return pd.DataFrame({"limit": model_input["income"] * 0.2})


def saved(tmp_path: Path, example: pd.DataFrame | None) -> mlflow.pyfunc.PyFuncModel:
    """The recorder saved and loaded as a real MLflow pyfunc model."""
    path = tmp_path / "model"
    mlflow.pyfunc.save_model(path, python_model=Recorder(), input_example=example)
    return mlflow.pyfunc.load_model(str(path))


def test_warm_up_scores_every_example_row_alone_and_the_whole_example(tmp_path: Path) -> None:
    example = pd.DataFrame({"income": [1000.0, 2500.0, 4000.0]})
    model = saved(tmp_path, example)
    model.unwrap_python_model().calls.clear()  # saving may score the example itself
    assert BatchedScoring(model).warm_up(model.input_example) == 4
    assert model.unwrap_python_model().calls == [1, 1, 1, 3]


def test_a_failed_warm_up_is_logged_and_the_server_still_starts(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    example = pd.DataFrame({"income": [1000.0, -5.0]})
    model = saved(tmp_path, example)
    with caplog.at_level(logging.WARNING, logger="limitlab.serving.server"):
        assert BatchedScoring(model).warm_up(model.input_example) == 1
    assert "warm-up on the model's input example stopped: income: negative" in caplog.text


def test_a_model_without_an_example_is_not_warmed_up(tmp_path: Path) -> None:
    model = saved(tmp_path, None)
    assert BatchedScoring(model).warm_up(model.input_example) == 0
    assert model.unwrap_python_model().calls == []
