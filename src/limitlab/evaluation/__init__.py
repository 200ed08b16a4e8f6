"""Discrimination and calibration metrics, and the data behind the plots."""

from limitlab.evaluation.metrics import (
    calibration_table,
    classification_metrics,
    expected_calibration_error,
    ks_statistic,
    ks_table,
    roc_points,
)

__all__ = [
    "calibration_table",
    "classification_metrics",
    "expected_calibration_error",
    "ks_statistic",
    "ks_table",
    "roc_points",
]
