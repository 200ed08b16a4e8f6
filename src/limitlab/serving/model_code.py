"""Model-from-code entry point that MLflow runs when it loads the registered limit model."""

from mlflow.models import set_model

from limitlab.serving.pyfunc import LimitModel

set_model(LimitModel())
