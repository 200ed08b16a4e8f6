"""scikit-learn's estimator checks on every estimator of ours.

A check that cannot apply is listed by name with the reason, and reported as an expected failure.
"""

from __future__ import annotations

import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.utils.estimator_checks import parametrize_with_checks

from limitlab.config import ScorecardParams
from limitlab.features.transformers import DerivedRatios
from limitlab.models.calibration import CalibratedPD
from limitlab.models.families import ScorecardModel
from limitlab.models.spline import SplineGAM

SCORECARD_CANNOT = {
    "check_classifier_data_not_an_array": "optbinning needs string column names, not 0, 1, ...",
}


def expected_failures(estimator: object) -> dict[str, str]:
    return SCORECARD_CANNOT if isinstance(estimator, ScorecardModel) else {}


@parametrize_with_checks(
    [
        DerivedRatios(),
        ScorecardModel(params=ScorecardParams(max_n_bins=4)),
        SplineGAM(n_knots=4, alpha=1.0),
        CalibratedPD(LogisticRegression(), "platt"),
        CalibratedPD(LogisticRegression(), "isotonic"),
    ],
    expected_failed_checks=expected_failures,
)
def test_sklearn_estimator_checks(estimator: object, check: object) -> None:
    check(estimator)


def test_bad_calibration_method_is_refused_in_fit_not_init() -> None:
    model = CalibratedPD(LogisticRegression(), "sigmoid")  # construction accepts anything
    with pytest.raises(ValueError, match="calibration method 'sigmoid'; expected one of"):
        model.fit([[0.0], [1.0], [2.0], [3.0]], [0, 1, 0, 1])
