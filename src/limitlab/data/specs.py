"""Dataset specs: the role of each column of a data set."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from limitlab.config import DataParams, ParamsError
from limitlab.errors import InputError

Scalar = str | int | float | bool


class DataError(InputError):
    """A data file cannot be used as a whole (missing, empty, wrong columns, one class...)."""


@dataclass(frozen=True)
class DatasetSpec:
    """Column roles of a data set.

    ``numeric`` and ``categorical`` hold the candidate model inputs. Protected attributes are
    kept in the data for fairness reports but are not features; ``exclude`` drops columns from
    the features too. ``income``, ``debt`` and ``requested_amount`` feed derived ratios and the
    affordability cap; values in them must not be negative.
    """

    name: str
    path: str
    target: str
    bad_value: Scalar
    good_value: Scalar | None = None
    id: str | None = None
    numeric: tuple[str, ...] = ()
    categorical: tuple[str, ...] = ()
    protected: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    nonnegative: tuple[str, ...] = ()
    income: str | None = None
    debt: str | None = None
    requested_amount: str | None = None
    date: str | None = None
    truth: str | None = None
    encoding: str | None = None  # of a CSV file; None: UTF-8
    date_format: str | None = None  # of the date column; None: ISO dates (YYYY-MM-DD)
    monotone: dict[str, int] = field(default_factory=dict)
    account: dict[str, str] = field(default_factory=dict)

    @property
    def features(self) -> list[str]:
        """Model input columns: numeric and categorical, less protected and excluded ones."""
        dropped = set(self.protected) | set(self.exclude) | {self.truth}
        return [c for c in (*self.numeric, *self.categorical) if c not in dropped]

    @property
    def numeric_features(self) -> list[str]:
        return [c for c in self.features if c in self.numeric]

    @property
    def categorical_features(self) -> list[str]:
        return [c for c in self.features if c in self.categorical]

    @property
    def input_columns(self) -> list[str]:
        """Raw columns an applicant row must carry: the features and the limit-policy roles."""
        roles = [c for c in (self.income, self.debt, self.requested_amount) if c]
        return list(dict.fromkeys([*self.features, *roles]))

    @property
    def declared_columns(self) -> list[str]:
        """Every column the spec names; each must exist in the file."""
        named = [self.target, self.id, self.income, self.debt, self.requested_amount, self.date,
                 self.truth, *self.account.values()]  # fmt: skip
        listed = [*self.numeric, *self.categorical, *self.protected, *self.nonnegative]
        return list(dict.fromkeys(c for c in [*named, *listed] if c))

    def to_json(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(self), indent=2) + "\n")

    @classmethod
    def from_json(cls, path: Path) -> DatasetSpec:
        raw: dict[str, Any] = json.loads(Path(path).read_text())
        tuples = {k: tuple(v) for k, v in raw.items() if isinstance(v, list)}
        return cls(**{**raw, **tuples})


_CREDIT_SCORING_NUMERIC = (
    "Seniority", "Time", "Age", "Expenses", "Income", "Assets", "Debt", "Amount", "Price",
)  # fmt: skip

BUNDLED: dict[str, DatasetSpec] = {
    "credit_scoring": DatasetSpec(
        name="credit_scoring",
        path="data/raw/credit_scoring.csv",
        target="Status",
        bad_value="bad",
        good_value="good",
        numeric=_CREDIT_SCORING_NUMERIC,
        categorical=("Home", "Marital", "Records", "Job"),
        protected=("Marital", "Age"),
        nonnegative=_CREDIT_SCORING_NUMERIC,
        income="Income",
        debt="Debt",
        requested_amount="Amount",
        # PD does not rise with income, tenure or assets; does not fall with debt or arrears.
        monotone={
            "Income": -1,
            "Seniority": -1,
            "Assets": -1,
            "Debt": 1,
            "debt_to_income": 1,
            "Records=yes": 1,
        },
    ),
    "german_credit": DatasetSpec(
        name="german_credit",
        path="data/raw/german_credit.csv",
        target="creditability",
        bad_value="bad",
        good_value="good",
        numeric=(
            "duration_in_month",
            "credit_amount",
            "installment_rate_in_percentage_of_disposable_income",
            "present_residence_since",
            "age_in_years",
            "number_of_existing_credits_at_this_bank",
            "number_of_people_being_liable_to_provide_maintenance_for",
        ),
        categorical=(
            "status_of_existing_checking_account",
            "credit_history",
            "purpose",
            "savings_account_and_bonds",
            "present_employment_since",
            "personal_status_and_sex",
            "other_debtors_or_guarantors",
            "property",
            "other_installment_plans",
            "housing",
            "job",
            "telephone",
            "foreign_worker",
        ),
        protected=("personal_status_and_sex", "age_in_years"),
        nonnegative=("duration_in_month", "credit_amount", "age_in_years"),
        requested_amount="credit_amount",
        monotone={"duration_in_month": 1},
    ),
}

_SYNTHETIC_NUMERIC = (
    "age", "tenure_months", "income_monthly", "existing_debt", "revolving_utilisation",
    "delinquencies_24m", "inquiries_6m", "open_lines", "requested_amount",
    "utilisation_mean_12m", "utilisation_mean_3m", "utilisation_trend_12m", "payment_ratio_12m",
    "max_dpd_12m", "months_in_arrears_12m", "spend_monthly_12m", "cash_advance_share_12m",
    "travel_share_12m", "spend_volatility_12m",
)  # fmt: skip

BUNDLED["synthetic"] = DatasetSpec(
    name="synthetic",
    path="data/synthetic/applications",
    target="default_12m",
    bad_value=1,
    good_value=0,
    id="customer_id",
    numeric=_SYNTHETIC_NUMERIC,
    categorical=("employment", "housing"),
    protected=("age",),
    nonnegative=("income_monthly", "existing_debt", "requested_amount", "tenure_months"),
    income="income_monthly",
    debt="existing_debt",
    requested_amount="requested_amount",
    truth="true_pd",
    monotone={"delinquencies_24m": 1, "max_dpd_12m": 1, "cash_advance_share_12m": 1},
)
_BEHAVIOURAL_NUMERIC = (
    "months_on_book", "income_monthly", "dpd_now", "utilisation_3m", "utilisation_6m",
    "utilisation_12m", "utilisation_trend_12m", "payment_ratio_3m", "payment_ratio_12m",
    "max_dpd_3m", "max_dpd_12m", "months_in_arrears_12m", "spend_3m", "spend_12m",
    "cash_advance_share_3m", "cash_advance_share_12m",
)  # fmt: skip

BUNDLED["behavioural"] = DatasetSpec(
    name="behavioural",
    path="data/synthetic/snapshots",
    target="default_next_12m",
    bad_value=1,
    good_value=0,
    numeric=_BEHAVIOURAL_NUMERIC,
    categorical=("employment", "housing"),
    exclude=("account_id", "snapshot_month", "limit", "balance"),
    nonnegative=("income_monthly", "limit", "balance", "months_on_book", "dpd_now"),
    income="income_monthly",
    date="snapshot",
    monotone={"dpd_now": 1, "max_dpd_3m": 1, "max_dpd_12m": 1, "months_in_arrears_12m": 1},
    account={
        "id": "account_id",
        "current_limit": "limit",
        "balance": "balance",
        "dpd": "dpd_now",
        "months_on_book": "months_on_book",
        "utilisation": "utilisation_3m",
    },
)
SYNTHETIC_DIR = Path("data/synthetic")

_ROLE_FIELDS = (
    "path", "target", "bad_value", "good_value", "id", "income", "debt", "requested_amount",
    "date", "truth", "encoding", "date_format",
)  # fmt: skip
_LIST_FIELDS = ("numeric", "categorical", "protected", "exclude", "nonnegative")
_DICT_FIELDS = ("monotone",)


def resolve_spec(params: DataParams) -> DatasetSpec:
    """Combine the bundled spec named by ``data.dataset`` with the overrides in ``params``.

    For ``custom`` data, ``data.path``, ``data.target`` and ``data.bad_value`` are required;
    column types not given are inferred at ingest.
    """
    overrides: dict[str, Any] = {k: getattr(params, k) for k in _ROLE_FIELDS}
    overrides.update({k: tuple(getattr(params, k)) for k in _LIST_FIELDS if getattr(params, k)})
    overrides.update({k: dict(getattr(params, k)) for k in _DICT_FIELDS if getattr(params, k)})
    overrides = {k: v for k, v in overrides.items() if v is not None}
    if params.dataset == "custom":
        missing = [f"data.{k}" for k in ("path", "target", "bad_value") if k not in overrides]
        if missing:
            raise ParamsError(
                f"data.dataset is 'custom' but {', '.join(missing)} is not set; "
                "expected the file path, the target column and its bad value"
            )
        base = DatasetSpec(
            name=Path(overrides["path"]).stem,
            path=overrides["path"],
            target=overrides["target"],
            bad_value=overrides["bad_value"],
        )
        spec = replace(base, **overrides)
        roles = [spec.income, spec.debt, spec.requested_amount]
        extra_nonneg = tuple(c for c in roles if c and c not in spec.nonnegative)
        return _target_not_a_feature(replace(spec, nonnegative=(*spec.nonnegative, *extra_nonneg)))
    if params.dataset not in BUNDLED:
        choices = ", ".join([*BUNDLED, "custom"])
        raise ParamsError(
            f"data.dataset: unknown dataset {params.dataset!r}; expected one of {choices}"
        )
    return _target_not_a_feature(replace(BUNDLED[params.dataset], **overrides))


def _target_not_a_feature(spec: DatasetSpec) -> DatasetSpec:
    """Refuse a spec that lists its target (or its id) among the model inputs."""
    for role, column in (("target", spec.target), ("id", spec.id)):
        if column and column in (*spec.numeric, *spec.categorical):
            raise ParamsError(
                f"data.{role} {column!r} is also listed in data.numeric or data.categorical; "
                f"expected the {role} kept out of the model inputs"
            )
    return spec
