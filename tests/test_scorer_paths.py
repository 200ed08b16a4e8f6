"""The scorer's fast paths decide exactly what the general path decides: the additive and
spline families read the PD and the reasons from one computation, and text read from Parquet
(pandas' Arrow strings) is encoded without a copy into Python objects."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb
from sklearn.pipeline import Pipeline

from limitlab.config import load_params
from limitlab.data.specs import DatasetSpec
from limitlab.features.transformers import build_feature_pipeline, raw_inputs
from limitlab.limits import Policy
from limitlab.limits.notices import NO_ADVERSE_ACTION
from limitlab.limits.reasons import REASON_COLUMNS, principal_reasons
from limitlab.models.additive import AdditiveBoosting
from limitlab.models.calibration import calibrated_out_of_fold
from limitlab.models.contributions import raw_feature_contributions, summed_to_raw
from limitlab.models.spline import SplineGAM
from limitlab.models.tree_shap import pred_contribs
from limitlab.serving.scorer import Scorer

from .conftest import REPO

SPEC = DatasetSpec(name="t", path="t.csv", target="s", bad_value="bad",
                   numeric=("Income", "Debt", "Age"), categorical=("Job", "Home"),
                   income="Income", debt="Debt", monotone={"Income": -1})  # fmt: skip


def applicants(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "Income": rng.lognormal(7.5, 0.5, n), "Debt": rng.choice([0.0, 300.0, 900.0], n),
        "Age": rng.integers(18, 80, n).astype(float),
        "Job": rng.choice(["fixed", "freelance", "partime"], n),
        "Home": rng.choice(["owner", "rent", "parents"], n),
    })  # fmt: skip
    frame.loc[rng.random(n) < 0.05, "Income"] = np.nan
    frame.loc[rng.random(n) < 0.05, "Job"] = None
    logit = -2 - 0.0004 * (frame["Income"].fillna(1500) - 1800) + 0.8 * (frame["Job"] == "partime")
    return frame, (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)


def fitted_scorer(family: str, contributions: str = "exact") -> Scorer:
    frame, y = applicants(3000, 0)
    features = build_feature_pipeline(SPEC).fit(raw_inputs(frame, SPEC))
    x = features.transform(raw_inputs(frame, SPEC))
    if family == "xgboost":
        model = xgb.XGBClassifier(n_estimators=60, max_depth=3, n_jobs=2, random_state=0)
        model.fit(x, y)
    elif family == "additive":
        model = AdditiveBoosting({"max_depth": 2}, 80, {"num__Income": -1}, seed=0).fit(x, y)
    else:
        model = SplineGAM(4, 1.0, {"num__Income": -1}).fit(x, y)
    pipeline = Pipeline([("features", features), ("model", model)])
    calibrated = calibrated_out_of_fold(pipeline, "platt", model.predict_proba(x)[:, 1], y)
    params = load_params(REPO / "params.yaml").limits
    reasons = params.reasons.model_copy(update={"contributions": contributions})
    params = params.model_copy(update={"segments": [], "knockouts": [], "reasons": reasons})
    policy = Policy.build(params, SPEC, list(frame.columns))
    return Scorer(spec=SPEC, model=calibrated, policy=policy)


@pytest.mark.parametrize("family", ["additive", "spline"])
def test_one_computation_decides_what_the_general_path_decides(family: str) -> None:
    scorer = fitted_scorer(family)
    frame, _ = applicants(800, 1)
    decided = scorer.decide(frame)
    inputs = raw_inputs(frame, SPEC)
    general = scorer.model.predict_proba(inputs)[:, 1]
    np.testing.assert_allclose(decided["pd"], general, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(decided["pd"], scorer.predict_pd(frame))
    # the reasons the general path gives: every family's contributions, summed per raw feature
    owed = (decided["adverse_action"] != NO_ADVERSE_ACTION).to_numpy()
    assert 0 < owed.sum() < len(frame)
    matrix = scorer.pipeline[0].transform(inputs)
    contributions = raw_feature_contributions(scorer.pipeline[-1], matrix.loc[owed])
    expected = principal_reasons(decided, contributions, scorer.policy, owed)
    pd.testing.assert_frame_equal(decided[REASON_COLUMNS], expected)
    assert decided.loc[~owed, "reason_1"].isna().all()
    assert (decided.loc[owed, "reason_2"] != "").any()  # model drivers were given


@pytest.mark.parametrize("family", ["additive", "spline"])
@pytest.mark.parametrize("text", ["string[pyarrow]", "str"])  # missing as NA, or as NaN
def test_text_read_as_arrow_strings_decides_as_python_text(family: str, text: str) -> None:
    scorer = fitted_scorer(family)
    frame, _ = applicants(500, 2)
    frame.loc[frame.index[:20], "Home"] = "castle"  # unseen in training
    arrow = frame.astype({"Job": text, "Home": text})
    assert arrow["Job"].isna().any()
    pd.testing.assert_frame_equal(scorer.decide(arrow), scorer.decide(frame))


def test_served_answer_has_null_reasons_where_none_are_owed() -> None:
    from limitlab.serving.pyfunc import OUTPUT_COLUMNS, bundle_output

    scorer = fitted_scorer("additive")
    frame, _ = applicants(300, 7)
    answer = bundle_output(scorer, frame, "m-1", "3")
    assert list(answer.columns) == [*OUTPUT_COLUMNS, "model_version", "model_id"]
    decided = scorer.decide(frame)
    owed = (decided["adverse_action"] != NO_ADVERSE_ACTION).to_numpy()
    assert 0 < owed.sum() < len(frame)
    for column in REASON_COLUMNS:
        values = answer[column].to_numpy(dtype=object)
        assert all(v is None for v in values[~owed])  # JSON null, never NaN
        assert list(values[owed]) == list(decided[column].to_numpy(dtype=object)[owed])
    assert (answer["model_version"] == "3").all() and (answer["model_id"] == "m-1").all()


def test_saabas_reasons_are_xgboost_own_approx_contribs_reasons() -> None:
    scorer = fitted_scorer("xgboost", "saabas_approximate")
    frame, _ = applicants(800, 3)
    decided = scorer.decide(frame)
    owed = (decided["adverse_action"] != NO_ADVERSE_ACTION).to_numpy()
    assert 0 < owed.sum() < len(frame)
    matrix = scorer.pipeline[0].transform(raw_inputs(frame, SPEC)).loc[owed]
    values = pred_contribs(scorer.pipeline[-1], matrix, approx=True)  # XGBoost's own routine
    contributions = summed_to_raw(values, list(matrix.columns), matrix.index)
    expected = principal_reasons(decided, contributions, scorer.policy, owed)
    gaps = np.diff(np.sort(contributions.to_numpy(), axis=1), axis=1).min(axis=1)
    clear = decided.index[owed][gaps > 1e-5]  # no tie closer than float32 rounding
    assert len(clear) > 0.9 * owed.sum()
    pd.testing.assert_frame_equal(decided.loc[clear, REASON_COLUMNS], expected.loc[clear])
    exact = fitted_scorer("xgboost").decide(frame)
    assert not exact[REASON_COLUMNS].equals(decided[REASON_COLUMNS])  # not the Shapley values
