"""Feature transformers: derived affordability ratios, imputation and encoding."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder
from sklearn.utils.validation import _check_feature_names_in, check_is_fitted, validate_data

from limitlab.data.refusals import MAX_ABS_VALUE
from limitlab.data.specs import DatasetSpec
from limitlab.errors import InputError

MISSING_FLAG = "missingindicator_"  # prefix SimpleImputer(add_indicator=True) gives its flags


def _ratio(numerator: pd.Series, denominator: pd.Series) -> pd.Series:
    num = numerator.astype("float64").to_numpy(dtype="float64", na_value=np.nan)
    den = denominator.astype("float64").to_numpy(dtype="float64", na_value=np.nan)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        ratio = num / np.where(den > 0, den, np.nan)
    ratio[~(np.abs(ratio) <= MAX_ABS_VALUE)] = np.nan
    return pd.Series(ratio, index=numerator.index)


class DerivedRatios(TransformerMixin, BaseEstimator):
    """Add ``debt_to_income`` and ``amount_to_income`` where the role columns are named.

    A zero, missing or vanishing income (a ratio beyond +-1e15) gives a missing ratio, imputed
    later, never an infinity.

    Parameters
    ----------
    income, debt, requested_amount : str or None
        Column names of monthly income, existing debt and requested amount.
    """

    def __init__(
        self,
        income: str | None = None,
        debt: str | None = None,
        requested_amount: str | None = None,
    ) -> None:
        self.income = income
        self.debt = debt
        self.requested_amount = requested_amount

    def ratio_columns(self) -> dict[str, tuple[str, str]]:
        pairs = {}
        if self.income and self.debt:
            pairs["debt_to_income"] = (self.debt, self.income)
        if self.income and self.requested_amount:
            pairs["amount_to_income"] = (self.requested_amount, self.income)
        return pairs

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.string = True  # categorical columns pass through
        return tags

    def fit(self, X: pd.DataFrame, y: object = None) -> DerivedRatios:
        validate_input(self, X, reset=True)
        pairs = self.ratio_columns()
        columns = list(X.columns) if isinstance(X, pd.DataFrame) else []
        missing = [c for pair in pairs.values() for c in pair if c not in columns]
        if missing:
            raise InputError(f"DerivedRatios: column(s) {missing} not in the input {columns}")
        self.derived_ = list(pairs)
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        check_is_fitted(self, "derived_")
        checked = validate_input(self, X, reset=False)
        if not self.derived_:
            return X.copy() if isinstance(X, pd.DataFrame) else checked
        out = X.copy()
        for name, (num, den) in self.ratio_columns().items():
            out[name] = _ratio(X[num], X[den])
        return out

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        check_is_fitted(self, "derived_")
        names = _check_feature_names_in(self, input_features)
        return np.asarray([*names, *self.derived_], dtype=object)


def validate_input(estimator: BaseEstimator, X: Any, reset: bool) -> Any:
    """scikit-learn's input checks; a DataFrame keeps its columns and types (only the names
    and the column count are checked), anything else becomes a 2-d array."""
    if isinstance(X, pd.DataFrame):
        validate_data(estimator, X, reset=reset, skip_check_array=True)
        if len(X) == 0:
            raise InputError(f"{type(estimator).__name__}: 0 rows; expected at least one")
        return X
    return validate_data(estimator, X, reset=reset, dtype=None, ensure_all_finite="allow-nan")


_UNSAFE = re.compile(r"[^0-9A-Za-z_.=+-]+")


def category_feature_name(feature: str, category: object) -> str:
    """One-hot column name with only safe characters (XGBoost refuses ``[``, ``]`` and ``<``)."""
    text = _UNSAFE.sub("_", str(category)).strip("_") or "blank"
    return f"{feature}={text}"


def build_feature_pipeline(
    spec: DatasetSpec, derived_ratios: bool = True, min_category_share: float = 0.01
) -> Pipeline:
    """The unfitted feature pipeline for ``spec``: raw applicant columns in, a float matrix out.

    Numeric columns are median-imputed with a missing-value indicator; categorical columns are
    one-hot encoded, rare levels (below ``min_category_share``) pooled, unseen levels ignored.
    """
    ratios = DerivedRatios(spec.income, spec.debt, spec.requested_amount)
    derived = list(ratios.ratio_columns()) if derived_ratios else []
    numeric = [*spec.numeric_features, *derived]
    encode = Pipeline(
        [
            ("fill", SimpleImputer(strategy="constant", fill_value="missing")),
            (
                "onehot",
                OneHotEncoder(
                    handle_unknown="infrequent_if_exist",
                    min_frequency=min_category_share or None,
                    sparse_output=False,
                    feature_name_combiner=category_feature_name,
                ),
            ),
        ]
    )
    columns = ColumnTransformer(
        [
            ("num", SimpleImputer(strategy="median", add_indicator=True), numeric),
            ("cat", encode, spec.categorical_features),
        ],
        remainder="drop",
        verbose_feature_names_out=True,
    )
    steps = [("ratios", ratios)] if derived_ratios else []
    pipeline = Pipeline([*steps, ("columns", columns)])
    return pipeline.set_output(transform="pandas")


def raw_inputs(frame: pd.DataFrame, spec: DatasetSpec, keep_text: bool = False) -> pd.DataFrame:
    """The raw applicant columns the feature pipeline needs, typed as at ingest.

    ``keep_text`` leaves text columns in pandas' string type (the compiled transform reads them
    as they are; scikit-learn's encoders need Python objects, a costly copy on large frames).
    """
    missing = [c for c in spec.input_columns if c not in frame.columns]
    if missing:
        raise InputError(
            f"applicant data lacks column(s) {missing}; expected columns {spec.input_columns}"
        )
    out = {}
    for column in spec.input_columns:
        values = frame[column]
        if column not in spec.categorical:
            out[column] = values.astype("float64").to_numpy(dtype="float64", na_value=np.nan)
        elif keep_text and pd.api.types.is_string_dtype(values.dtype):
            out[column] = values
        else:
            out[column] = values.astype(object).where(values.notna(), np.nan)
    return pd.DataFrame(out, index=frame.index, copy=False)  # columns as they are: no 2-d copy
