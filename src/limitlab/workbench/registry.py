"""Load a registered limit model (scorer inside the MLflow pyfunc) with one-line errors."""

from __future__ import annotations

from pathlib import Path

import mlflow
from mlflow.exceptions import MlflowException

from limitlab.serving.scorer import Scorer
from limitlab.tracking.store import tracking_uri
from limitlab.workbench.compare import RunNotFoundError, client


def load_registered_scorer(root: Path, model_name: str, alias: str = "champion") -> Scorer:
    """The :class:`Scorer` of ``models:/<model_name>@<alias>`` in the project's store."""
    store = client(root)
    try:
        version = store.get_model_version_by_alias(model_name, alias)
    except MlflowException:
        try:
            aliases = sorted(store.get_registered_model(model_name).aliases)
        except MlflowException:
            names = [m.name for m in store.search_registered_models()]
            raise RunNotFoundError(
                f"registered model {model_name!r} is not in {tracking_uri(root)}; "
                f"registered models: {names}"
            ) from None
        raise RunNotFoundError(
            f"model {model_name!r} has no alias {alias!r}; its aliases: {aliases}"
        ) from None
    model = mlflow.pyfunc.load_model(f"models:/{model_name}/{version.version}")
    return model.unwrap_python_model().scorer
