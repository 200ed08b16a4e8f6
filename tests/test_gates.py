"""The promotion gate's paired comparison of a new version with the champion."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm
from sklearn.isotonic import IsotonicRegression

from limitlab.config import RegisterParams
from limitlab.evaluation.metrics import classification_metrics, paired_auc_test
from limitlab.stages.register import decision_line
from limitlab.tracking.registry import versus_champion


def delong_by_pairs(y: np.ndarray, a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """DeLong's test written out from its definition: the pairwise kernel psi over every
    (bad, good) pair, its row means, and their covariances."""
    variances = []
    components = []
    for s in (a, b):
        pos, neg = s[y == 1], s[y == 0]
        psi = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])
        components.append((psi.mean(axis=1), psi.mean(axis=0), psi.mean()))
    (a10, a01, auc_a), (b10, b01, auc_b) = components
    m, n = len(a10), len(a01)
    var_a = a10.var(ddof=1) / m + a01.var(ddof=1) / n
    var_b = b10.var(ddof=1) / m + b01.var(ddof=1) / n
    cov = np.cov(a10, b10)[0, 1] / m + np.cov(a01, b01)[0, 1] / n
    variances.append(var_a + var_b - 2 * cov)
    z = (auc_a - auc_b) / np.sqrt(variances[0])
    return auc_a - auc_b, float(2 * norm.sf(abs(z)))


def test_paired_auc_test_matches_the_pairwise_definition() -> None:
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 300)
    a = np.round(y + rng.normal(0, 1.0, 300), 1)  # rounded: ties count one half
    b = np.round(y + rng.normal(0, 1.5, 300), 1)
    got = paired_auc_test(y, a, b)
    difference, p_value = delong_by_pairs(y, a, b)
    assert got["difference"] == pytest.approx(difference, abs=1e-12)
    assert got["p_value"] == pytest.approx(p_value, rel=1e-9)
    assert paired_auc_test(y, a, a)["p_value"] == 1.0


def outcomes_and_champion(n: int = 4000) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    true_pd = 1 / (1 + np.exp(-rng.normal(-1.5, 1.2, n)))
    return (rng.random(n) < true_pd).astype(int), true_pd


def test_a_version_worse_on_auc_and_ece_is_refused_even_within_the_tolerance() -> None:
    y, champion = outcomes_and_champion()
    rng = np.random.default_rng(1)
    noisier = np.clip(champion * 1.15 + rng.normal(0, 0.002, len(y)), 0, 1)  # over-predicts
    new, old = classification_metrics(y, noisier), classification_metrics(y, champion)
    assert old["auc"] - 0.01 < new["auc"] < old["auc"] and new["ece"] > old["ece"]
    passed, why = versus_champion(RegisterParams(), "3", y, noisier, champion)
    assert not passed and why.startswith("worse on both discrimination and calibration: AUC")
    assert "champion v3" in why and "DeLong p=" in why


def test_a_significantly_lower_auc_is_refused_and_an_equal_model_passes() -> None:
    y, champion = outcomes_and_champion()
    rng = np.random.default_rng(2)
    blurred = champion + rng.normal(0, 0.15, len(y))
    recalibrated = IsotonicRegression(out_of_bounds="clip").fit(blurred, y).predict(blurred)
    new, old = classification_metrics(y, recalibrated), classification_metrics(y, champion)
    assert new["auc"] < old["auc"] - 0.03 and new["ece"] < old["ece"]  # worse on AUC only
    rules = RegisterParams(champion_tolerance=0.5)  # only the paired test can refuse it
    passed, why = versus_champion(rules, "3", y, recalibrated, champion)
    assert not passed and why.startswith("AUC significantly lower (alpha 0.05)")
    passed, why = versus_champion(RegisterParams(), "3", y, champion, champion)
    assert passed and why.startswith("not worse: AUC")


def test_the_decision_line_names_the_failed_gates() -> None:
    result = {"model_name": "m", "model_version": "4", "promoted": False, "gates": {
        "min_test_auc": {"passed": True, "why": "test AUC 0.8 minimum 0.7"},
        "vs_champion": {"passed": False, "why": "worse on both discrimination and calibration"},
    }}  # fmt: skip
    assert decision_line(result) == (
        "m v4: @challenger only, not promoted (vs_champion: worse on both discrimination and "
        "calibration)"
    )
