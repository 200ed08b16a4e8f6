import numpy as np
import pytest
from scipy.stats import ks_2samp

from limitlab.evaluation.metrics import (
    calibration_table,
    classification_metrics,
    expected_calibration_error,
    ks_statistic,
)


def sample(n: int = 4000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    pd_ = rng.uniform(0.01, 0.9, n)
    return (rng.uniform(size=n) < pd_).astype(int), pd_


def test_ks_matches_scipy_two_sample_statistic() -> None:
    y, p = sample()
    expected = ks_2samp(p[y == 1], p[y == 0]).statistic
    assert ks_statistic(y, p) == pytest.approx(expected, abs=1e-12)


def test_calibrated_scores_have_small_ece_and_shifted_ones_do_not() -> None:
    y, p = sample(20000)
    assert expected_calibration_error(y, p) < 0.02
    assert expected_calibration_error(y, np.clip(p + 0.1, 0, 1)) > 0.08


def test_metrics_of_a_perfect_ranking() -> None:
    y = np.array([0, 0, 1, 1])
    m = classification_metrics(y, np.array([0.1, 0.2, 0.8, 0.9]), bins=2)
    assert m["auc"] == 1.0 and m["gini"] == 1.0 and m["ks"] == 1.0
    assert m["brier"] == pytest.approx((0.01 + 0.04 + 0.04 + 0.01) / 4)


def test_calibration_bins_hold_equal_counts() -> None:
    y, p = sample(1000)
    table = calibration_table(y, p, bins=10)
    assert table["count"].tolist() == [100] * 10


def test_one_class_is_refused() -> None:
    with pytest.raises(ValueError, match="both classes"):
        classification_metrics(np.zeros(3), np.array([0.1, 0.2, 0.3]))
