"""Raw applicant in, PD / grade / limit out: one scorer for the pipeline and for MLflow."""

from limitlab.serving.scorer import Scorer

__all__ = ["Scorer"]
