import numpy as np
import pandas as pd
import pytest

from limitlab.data.specs import DatasetSpec
from limitlab.features.transformers import DerivedRatios, build_feature_pipeline, raw_inputs

SPEC = DatasetSpec(
    name="t",
    path="t.csv",
    target="status",
    bad_value="bad",
    numeric=("income", "debt", "amount", "age"),
    categorical=("job",),
    protected=("age",),
    income="income",
    debt="debt",
    requested_amount="amount",
)


def frame(income, debt, amount, job) -> pd.DataFrame:
    n = len(income)
    return pd.DataFrame(
        {"income": income, "debt": debt, "amount": amount, "age": [30.0] * n, "job": job}
    )


def test_ratios_leave_zero_or_missing_income_missing() -> None:
    x = frame([100.0, 0.0, np.nan], [50.0, 10.0, 5.0], [200.0, 1.0, 1.0], ["a", "b", "a"])
    out = DerivedRatios("income", "debt", "amount").fit(x).transform(x)
    assert out["debt_to_income"].tolist()[0] == 0.5
    assert out["amount_to_income"].tolist()[0] == 2.0
    assert out[["debt_to_income", "amount_to_income"]].iloc[1:].isna().all().all()


def test_a_vanishing_income_gives_a_missing_ratio_not_an_overflow() -> None:
    x = frame([1e-300, 1e-10], [1e15, 5.0], [1e15, 1.0], ["a", "b"])
    out = DerivedRatios("income", "debt", "amount").fit(x).transform(x)
    assert out["debt_to_income"].iloc[0] != out["debt_to_income"].iloc[0]  # NaN, not inf
    assert out["debt_to_income"].iloc[1] == pytest.approx(5e10)
    matrix = build_feature_pipeline(SPEC).fit(raw_inputs(x, SPEC)).transform(raw_inputs(x, SPEC))
    assert np.isfinite(matrix.astype("float32").to_numpy()).all()


def test_pipeline_learns_from_train_only_and_survives_unseen_levels() -> None:
    train = frame([100.0, 200.0, 300.0, np.nan], [0.0, 0.0, 0.0, 0.0], [1.0] * 4, ["a", "b"] * 2)
    pipe = build_feature_pipeline(SPEC, min_category_share=0.0).fit(raw_inputs(train, SPEC))
    test = frame([np.nan], [0.0], [1.0], ["never-seen"])
    out = pipe.transform(raw_inputs(test, SPEC))
    assert out["num__income"].iloc[0] == 200.0  # median of the training rows
    assert out["num__missingindicator_income"].iloc[0] == 1.0
    onehots = [c for c in out.columns if c.startswith("cat__")]
    assert out[onehots].sum(axis=1).iloc[0] == 0.0
    assert not any("age" in c for c in out.columns)  # protected: not a feature
    assert "num__debt_to_income" in out.columns


def test_missing_input_column_is_named() -> None:
    x = frame([1.0], [1.0], [1.0], ["a"]).drop(columns=["debt"])
    try:
        raw_inputs(x, SPEC)
    except ValueError as exc:
        assert "['debt']" in str(exc)
    else:
        raise AssertionError("expected a ValueError naming the missing column")


def test_category_names_are_safe_for_xgboost() -> None:
    spec = DatasetSpec(name="t", path="t.csv", target="s", bad_value="bad", categorical=("acct",))
    train = pd.DataFrame({"acct": ["... < 0 DM", "0 <= ... < 200 DM", "[none]"]})
    out = build_feature_pipeline(spec, min_category_share=0.0).fit_transform(train)
    assert all(not set("[]<") & set(name) for name in out.columns)
    assert list(out.columns) == ["cat__acct=..._0_DM", "cat__acct=0_=_..._200_DM", "cat__acct=none"]
