"""The typed model of ``params.yaml``: every knob, its default and its check."""

from __future__ import annotations

import codecs
from itertools import pairwise
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError

from limitlab.errors import InputError
from limitlab.io import flatten

DEFAULT_PARAMS = Path("params.yaml")


class ParamsError(InputError):
    """A ``params.yaml`` value is missing, unknown or out of range."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SyntheticParams(_Section):
    """Size and seed of the synthetic portfolio (``data.dataset: synthetic``)."""

    rows: int = Field(100_000, ge=1_000)
    seed: int = 7
    chunk_rows: int = Field(250_000, ge=1_000)
    write_panel: bool = False  # also write the 12-month account panel (rows x 12)


class AccountsParams(_Section):
    """The synthetic account panel (``data.dataset: behavioural``): accounts observed monthly."""

    accounts: int = Field(20_000, ge=500)
    months: int = Field(36, ge=25, le=240)
    seed: int = 11
    chunk_accounts: int = Field(50_000, ge=500)
    snapshot_every: int = Field(1, ge=1, le=12)
    macro_shock_month: int = Field(30, ge=1)  # a downturn from this month on
    macro_shock: float = Field(0.6, ge=0.0, le=3.0)


class DataParams(_Section):
    """Which data set to read and the role of its columns.

    ``dataset`` names a bundled spec (``credit_scoring``, ``german_credit``), the generated
    ``synthetic`` portfolio, or ``custom``.
    Any non-null column-role field overrides the bundled spec; for ``custom``, ``path``,
    ``target`` and ``bad_value`` are required.
    """

    dataset: str = "credit_scoring"
    path: str | None = None
    target: str | None = None
    bad_value: str | int | float | bool | None = None
    good_value: str | int | float | bool | None = None
    id: str | None = None
    protected: list[str] | None = None
    income: str | None = None
    debt: str | None = None
    requested_amount: str | None = None
    date: str | None = None
    truth: str | None = None
    numeric: list[str] | None = None
    categorical: list[str] | None = None
    exclude: list[str] | None = None
    nonnegative: list[str] | None = None
    monotone: dict[str, Literal[-1, 1]] | None = None
    encoding: str | None = None  # of a CSV file; None: UTF-8
    date_format: str | None = None  # strftime format of data.date, e.g. "%d/%m/%Y"
    max_quarantine_share: float = Field(0.2, ge=0.0, le=1.0)
    synthetic: SyntheticParams = SyntheticParams()
    accounts: AccountsParams = AccountsParams()

    @model_validator(mode="after")
    def _known_encoding(self) -> DataParams:
        if self.encoding is not None:
            try:
                codecs.lookup(self.encoding)
            except LookupError:
                raise ValueError(
                    f"encoding {self.encoding!r} is unknown; expected a Python codec name such "
                    "as 'utf-8', 'latin-1' or 'cp1252'"
                ) from None
        return self


class SplitParams(_Section):
    """Train / validation / test shares: by a seeded hash of each row's key (its id, else its
    row number), or out-of-time when ``data.date`` is set."""

    seed: int = 42
    valid_size: float = Field(0.2, gt=0.0, lt=1.0)
    test_size: float = Field(0.2, gt=0.0, lt=1.0)

    @model_validator(mode="after")
    def _shares_leave_training_data(self) -> SplitParams:
        if self.valid_size + self.test_size >= 0.9:
            raise ValueError(
                f"valid_size + test_size = {self.valid_size + self.test_size:g}; "
                "expected below 0.9 so that training data remains"
            )
        return self


class FeaturesParams(_Section):
    """Feature engineering: derived ratios and categorical encoding, fitted on the train split
    (on ``fit_rows`` of its rows, drawn with ``seed``, when it has more)."""

    derived_ratios: bool = True
    min_category_share: float = Field(0.01, ge=0.0, lt=0.5)
    fit_rows: int | None = Field(500_000, ge=1000)
    seed: int = 42


Trend = Literal["auto_asc_desc", "auto", "none"]


class ScorecardSearch(_Section):
    """Optuna search over the scorecard's binning (a study of its own).

    ``n_trials: 0`` keeps the fixed ``train.scorecard`` settings.
    """

    n_trials: int = Field(20, ge=0)
    max_n_bins: tuple[int, int] = (3, 10)
    min_bin_size: tuple[float, float] = (0.05, 0.2)
    monotonic_trend: list[Trend] = Field(["auto_asc_desc", "auto"], min_length=1)
    use_special_codes: list[bool] = Field([True, False], min_length=1)  # bin special codes apart

    @field_validator("max_n_bins")
    @classmethod
    def _bins(cls, bounds: tuple[int, int]) -> tuple[int, int]:
        return _search_range(bounds, 2, 50)

    @field_validator("min_bin_size")
    @classmethod
    def _sizes(cls, bounds: tuple[float, float]) -> tuple[float, float]:
        return _search_range(bounds, 0.0, 0.5)


class LogisticSearch(_Section):
    """Optuna search over the logistic regression's inverse regularisation ``C`` (log scale).

    ``n_trials: 0`` keeps the fixed ``train.logistic_c``.
    """

    n_trials: int = Field(20, ge=0)
    c: tuple[float, float] = (0.001, 10.0)

    @field_validator("c")
    @classmethod
    def _c(cls, bounds: tuple[float, float]) -> tuple[float, float]:
        return _search_range(bounds, 0.0, float("inf"))


class RandomForestSearch(_Section):
    """Optuna search over the random forest's tree depth, columns per split and leaf size.

    ``n_trials: 0`` keeps the fixed ``train.random_forest`` settings.
    """

    n_trials: int = Field(20, ge=0)
    max_depth: tuple[int, int] = (3, 12)
    colsample_bynode: tuple[float, float] = (0.1, 0.8)
    min_child_weight: tuple[float, float] = (0.5, 20.0)

    @field_validator("max_depth")
    @classmethod
    def _depth(cls, bounds: tuple[int, int]) -> tuple[int, int]:
        return _search_range(bounds, 0, 16)

    @field_validator("colsample_bynode")
    @classmethod
    def _columns(cls, bounds: tuple[float, float]) -> tuple[float, float]:
        return _search_range(bounds, 0.0, 1.0)

    @field_validator("min_child_weight")
    @classmethod
    def _leaf(cls, bounds: tuple[float, float]) -> tuple[float, float]:
        return _search_range(bounds, 0.0, float("inf"))


class SplineSearch(_Section):
    """Optuna search over the spline family's knots per column and its ridge penalty (log scale).

    ``n_trials: 0`` keeps the fixed ``train.spline`` settings.
    """

    n_trials: int = Field(20, ge=0)
    n_knots: tuple[int, int] = (3, 8)
    alpha: tuple[float, float] = (0.1, 100.0)

    @field_validator("n_knots")
    @classmethod
    def _knots(cls, bounds: tuple[int, int]) -> tuple[int, int]:
        return _search_range(bounds, 2, 30)

    @field_validator("alpha")
    @classmethod
    def _alpha(cls, bounds: tuple[float, float]) -> tuple[float, float]:
        return _search_range(bounds, 0.0, float("inf"))


def _search_range(bounds: tuple, low: float, high: float) -> tuple:
    """A search range ``[a, b]`` with ``low < a <= b <= high``."""
    if not (low < bounds[0] <= bounds[1] <= high):
        raise ValueError(f"[low, high] with {low} < low <= high <= {high}")
    return bounds


class TuneParams(_Section):
    """Optuna search over XGBoost hyper-parameters, and over the scorecard's binning and the
    logistic regression's regularisation, each family in a study of its own.

    ``storage``: null keeps the study in a journal file in ``models/tune``; a database URL
    (``postgresql://user@host:port/db``) uses Optuna's RDB storage with heartbeats, so a study can
    be shared by workers on many machines and a dead worker's trial is retried.
    """

    seed: int = 42
    n_trials: int = Field(30, ge=1)
    timeout_seconds: float | None = Field(None, gt=0)
    workers: int = Field(1, ge=1, le=64)
    storage: str | None = None
    heartbeat_seconds: int = Field(10, ge=1)
    grace_seconds: int = Field(30, ge=2)
    max_retries: int = Field(2, ge=0)
    sample_rows: int | None = Field(None, ge=1000)
    pruning: bool = True
    pruning_warmup_trials: int = Field(5, ge=0)
    early_stopping_rounds: int = Field(50, ge=1)
    max_estimators: int = Field(1000, ge=10)
    max_depth: tuple[int, int] = (2, 6)
    learning_rate: tuple[float, float] = (0.01, 0.3)
    min_child_weight: tuple[float, float] = (1.0, 20.0)
    subsample: tuple[float, float] = (0.6, 1.0)
    colsample_bytree: tuple[float, float] = (0.5, 1.0)
    reg_lambda: tuple[float, float] = (0.01, 20.0)
    additive_n_trials: int = Field(30, ge=0)  # the additive family's study (same space)
    change_alpha: float = Field(0.05, gt=0.0, lt=1.0)  # scorecard / logistic: leave train's
    # settings only for a validation log loss significantly lower (paired t-test)
    scorecard: ScorecardSearch = ScorecardSearch()
    logistic: LogisticSearch = LogisticSearch()
    random_forest: RandomForestSearch = RandomForestSearch()
    spline: SplineSearch = SplineSearch()


Family = Literal[
    "xgboost", "additive", "scorecard", "logistic", "spline", "random_forest", "ensemble"
]


class ScorecardParams(_Section):
    """Points scorecard: monotone optimal binning, WoE, logistic regression, PDO scaling."""

    pdo: float = Field(20.0, gt=0)
    odds: float = Field(50.0, gt=0)
    base_points: float = Field(600.0, gt=0)
    max_n_bins: int = Field(8, ge=2, le=50)
    min_bin_size: float = Field(0.05, gt=0.0, lt=0.5)
    monotonic_trend: Trend = "auto_asc_desc"
    # {column: [values]}: codes with a meaning of their own (0 = "no debt"), binned apart;
    # a column absent from the data is skipped. Missing values always get a bin of their own.
    special_codes: dict[str, list[float]] = {}
    use_special_codes: bool = True


class RandomForestParams(_Section):
    """XGBoost's random forest: bagged trees of one boosting round, leaves in log-odds (so its
    contributions are exact TreeSHAP like XGBoost's), monotone where the spec declares it."""

    n_estimators: int = Field(500, ge=10, le=5000)
    max_depth: int = Field(8, ge=1, le=16)
    colsample_bynode: float = Field(0.3, gt=0.0, le=1.0)
    subsample: float = Field(0.63, gt=0.0, le=1.0)  # rows per tree (a bootstrap's share)
    min_child_weight: float = Field(1.0, ge=0.0)


class SplineParams(_Section):
    """The spline family: a logistic GAM on cubic I-splines per column, monotone where the spec
    declares it (with ``train.monotone``), smoothed by a ridge penalty."""

    n_knots: int = Field(5, ge=3, le=30)  # quantile knots per numeric column, ends included
    alpha: float = Field(10.0, gt=0.0)  # ridge penalty (larger: smoother curves)


class TrainParams(_Section):
    """Model families, champion selection on out-of-fold predictions, and calibration."""

    seed: int = 42
    families: list[Family] = [
        "xgboost",
        "additive",
        "scorecard",
        "logistic",
        "spline",
        "random_forest",
        "ensemble",
    ]
    cv_folds: int = Field(5, ge=2, le=20)
    cv_repeats: int = Field(1, ge=1, le=10)
    sample_rows: int | None = Field(None, ge=1000)  # large data: fit on a stratified sample
    selection_metric: Literal["auc", "ks", "brier", "log_loss"] = "auc"
    simplicity: list[Family] = [
        "scorecard",
        "logistic",
        "spline",
        "additive",
        "xgboost",
        "random_forest",
        "ensemble",
    ]
    selection_alpha: float = Field(0.05, gt=0.0, lt=1.0)
    champion: Literal["auto"] | Family = "auto"
    monotone: bool = True
    calibration: Literal["isotonic", "platt", "none"] = "platt"
    final_fit: Literal["train", "train_and_valid"] = "train_and_valid"
    logistic_c: float = Field(1.0, gt=0)
    engine: Literal["local", "dask", "streamed"] = "local"
    stream_batch_rows: int = Field(500_000, ge=1000)  # engine streamed: rows read at a time
    dask_scheduler: str | None = None
    dask_workers: int = Field(2, ge=1)
    dask_threads_per_worker: int = Field(1, ge=1)
    scorecard: ScorecardParams = ScorecardParams()
    random_forest: RandomForestParams = RandomForestParams()
    spline: SplineParams = SplineParams()

    @model_validator(mode="after")
    def _champion_is_trained(self) -> TrainParams:
        if not self.families or len(set(self.families)) != len(self.families):
            raise ValueError(f"families = {self.families}; expected distinct family names")
        if "ensemble" in self.families and len(self.families) < 3:
            raise ValueError(f"families = {self.families}; the ensemble blends at least two "
                             "other families")  # fmt: skip
        if self.champion != "auto" and self.champion not in self.families:
            raise ValueError(f"champion {self.champion!r} is not in families {self.families}")
        return self


class EvaluateParams(_Section):
    """Evaluation on the test split."""

    calibration_bins: int = Field(10, ge=2, le=100)
    psi_bins: int = Field(10, ge=2, le=100)
    income_tiers: int = Field(3, ge=2, le=10)


class GradeParams(_Section):
    """One grade of the master scale.

    PDs above the previous grade's ``max_pd`` and up to this one get the grade; its limit is at
    most ``max_share`` of the product's maximum limit. ``central_pd`` defaults to the middle of
    the grade's PD range.
    """

    name: str
    max_pd: float = Field(gt=0.0, le=1.0)
    max_share: float = Field(ge=0.0, le=1.0)
    central_pd: float | None = Field(None, gt=0.0, lt=1.0)


class ProductParams(_Section):
    """A credit product: its band ladder, limits, pricing, risk parameters and usage rules."""

    ladder: list[float]
    min_limit: float = Field(ge=0.0)
    max_limit: float = Field(gt=0.0)
    term_months: int = Field(ge=1, le=480)
    annual_rate: float = Field(ge=0.0, le=2.0)
    margin: float = Field(ge=0.0, le=2.0)
    lgd: float = Field(ge=0.0, le=1.0)
    ccf: float = Field(ge=0.0, le=1.0)
    utilisation: float = Field(ge=0.0, le=1.0)
    daily_cap_share: float = Field(1.0, ge=0.0, le=1.0)
    monthly_cap_share: float = Field(1.0, ge=0.0, le=1.0)
    blocked_merchant_categories: list[str] = []

    @model_validator(mode="after")
    def _ladder_fits(self) -> ProductParams:
        ladder = self.ladder
        if not ladder or any(b <= a for a, b in pairwise(ladder)):
            raise ValueError(f"ladder = {ladder}; expected strictly increasing amounts")
        if ladder[0] <= 0:
            raise ValueError(f"ladder = {ladder}; expected positive amounts")
        if self.min_limit > self.max_limit:
            raise ValueError(f"min_limit {self.min_limit} > max_limit {self.max_limit}")
        return self


class RegulationParams(_Section):
    """A jurisdiction profile: an absolute per-borrower cap, a cap as a share of annual income."""

    absolute_cap: float | None = Field(None, gt=0.0)
    annual_income_share: float | None = Field(None, gt=0.0)


class AffordabilityParams(_Section):
    """Payment capacity from income and existing debt, and what to do when income is missing."""

    max_debt_service_ratio: float = Field(0.35, gt=0.0, le=1.0)
    debt_service_rate: float = Field(0.03, ge=0.0, le=1.0)
    missing_income: Literal["decline", "reduced_grade_cap"] = "reduced_grade_cap"
    missing_income_cap_share: float = Field(0.5, ge=0.0, le=1.0)


class SegmentRule(_Section):
    """One segmentation of customers, by ``bins`` of a numeric column or a ``values`` map.

    ``column`` is a data column, or a role: ``@income``, ``@debt``, ``@requested_amount``, or a
    ratio ``@debt_to_income`` / ``@amount_to_income``. ``adjustment`` multiplies the grade cap of
    a segment (1 when a label is not listed).
    """

    name: str
    column: str
    bins: list[float] | None = None
    labels: list[str]
    values: dict[str, str] | None = None
    adjustment: dict[str, float] = {}

    @model_validator(mode="after")
    def _one_rule(self) -> SegmentRule:
        if (self.bins is None) == (self.values is None):
            raise ValueError(f"segment {self.name!r}: expected exactly one of bins or values")
        if self.bins is not None and (
            len(self.bins) != len(self.labels) - 1 or self.bins != sorted(self.bins)
        ):
            raise ValueError(
                f"segment {self.name!r}: bins {self.bins} must be increasing inner edges, "
                f"one fewer than labels {self.labels}"
            )
        unknown = set(self.adjustment) - set(self.labels)
        if unknown:
            raise ValueError(f"segment {self.name!r}: adjustment for unknown labels {unknown}")
        if any(v < 0 for v in self.adjustment.values()):
            raise ValueError(f"segment {self.name!r}: adjustments must be >= 0")
        return self


ORDERING_OPS = ("<", "<=", ">", ">=")
SET_OPS = ("in", "not in")


class KnockoutRule(_Section):
    """A rule before the model: when ``column <op> value`` holds, the applicant is declined
    (``policy_decline``) with ``reason``, whatever the PD. A missing value never fires a rule.

    ``column`` is a data column or a role, as in segments (``@income``, ``@debt_to_income``...).
    ``in`` / ``not in`` take a list of values; ``<``, ``<=``, ``>``, ``>=`` a number; ``==`` and
    ``!=`` a number or a text.
    """

    name: str = Field(pattern=r"^[A-Za-z0-9_]+$")
    column: str
    op: Literal["<", "<=", ">", ">=", "==", "!=", "in", "not in"]
    value: bool | float | str | list[bool | float | str]
    reason: str = Field(min_length=1)

    @model_validator(mode="after")
    def _value_fits_op(self) -> KnockoutRule:
        is_list = isinstance(self.value, list)
        if self.op in SET_OPS and (not is_list or not self.value):
            raise ValueError(
                f"knock-out {self.name!r}: op {self.op!r} takes a non-empty list of values; "
                f"got {self.value!r}"
            )
        if self.op not in SET_OPS and is_list:
            raise ValueError(
                f"knock-out {self.name!r}: op {self.op!r} takes one value; got the list "
                f"{self.value!r} (use 'in' for a set of values)"
            )
        if self.op in ORDERING_OPS and (
            isinstance(self.value, bool) or not isinstance(self.value, float)
        ):
            raise ValueError(
                f"knock-out {self.name!r}: op {self.op!r} takes a number; got {self.value!r}"
            )
        return self

    @property
    def values(self) -> list[bool | float | str]:
        return self.value if isinstance(self.value, list) else [self.value]

    @property
    def numeric(self) -> bool:
        """Whether the rule compares numbers (it then needs a numeric column)."""
        return all(isinstance(v, float) and not isinstance(v, bool) for v in self.values)


class EconomicsParams(_Section):
    """Cost of funds and horizon of the expected loss and profit."""

    funding_rate: float = Field(0.04, ge=0.0, le=1.0)
    horizon_years: float = Field(1.0, gt=0.0, le=30.0)


class OptimiseParams(_Section):
    """Risk appetite of the profit-optimal band caps (either, both or neither constraint)."""

    max_el_rate: float | None = Field(None, gt=0.0, le=1.0)
    el_budget_share: float | None = Field(None, gt=0.0, le=1.0)


class ReasonsParams(_Section):
    """The reason catalogue: plain words for caps and for drivers of a higher PD.

    ``contributions``: ``exact`` TreeSHAP for the tree families, or ``saabas_approximate``
    (Saabas path attribution: faster, but not the exact Shapley values a reason must rest on).
    """

    contributions: Literal["exact", "saabas_approximate"] = "exact"
    caps: dict[str, str] = {}
    features: dict[str, str] = {}
    default_feature: str = "{feature} raised the estimated risk"


class LimitsParams(_Section):
    """The limit policy: master scale, products, affordability, regulation, segments, reasons."""

    product: str
    product_column: str | None = None
    regulation: str = "none"
    grades: list[GradeParams]
    products: dict[str, ProductParams]
    regulations: dict[str, RegulationParams] = {"none": RegulationParams()}
    affordability: AffordabilityParams = AffordabilityParams()
    segments: list[SegmentRule] = []
    knockouts: list[KnockoutRule] = []
    economics: EconomicsParams = EconomicsParams()
    optimise: OptimiseParams = OptimiseParams()
    reasons: ReasonsParams = ReasonsParams()

    @model_validator(mode="after")
    def _consistent(self) -> LimitsParams:
        pds = [g.max_pd for g in self.grades]
        if not pds or any(b <= a for a, b in pairwise(pds)):
            raise ValueError(
                f"grades max_pd = {pds}; expected strictly increasing, non-overlapping boundaries"
            )
        names = [g.name for g in self.grades]
        if len(set(names)) != len(names) or "decline" in names:
            raise ValueError(f"grade names = {names}; expected unique names other than 'decline'")
        lower = 0.0
        for grade in self.grades:
            if grade.central_pd is not None and not lower < grade.central_pd <= grade.max_pd:
                raise ValueError(
                    f"grade {grade.name!r} central_pd {grade.central_pd} is outside its range "
                    f"({lower}, {grade.max_pd}]"
                )
            lower = grade.max_pd
        rules = [r.name for r in self.knockouts]
        if len(set(rules)) != len(rules):
            raise ValueError(f"knock-out names = {rules}; expected unique names")
        if self.product not in self.products:
            raise ValueError(
                f"product {self.product!r} is not in the catalogue; expected one of "
                f"{sorted(self.products)}"
            )
        if self.regulation not in self.regulations:
            raise ValueError(
                f"regulation {self.regulation!r} is not a profile; expected one of "
                f"{sorted(self.regulations)}"
            )
        return self

    @property
    def central_pds(self) -> list[float]:
        lower = [0.0, *[g.max_pd for g in self.grades[:-1]]]
        return [
            g.central_pd if g.central_pd is not None else (lo + g.max_pd) / 2
            for g, lo in zip(self.grades, lower, strict=True)
        ]


class ReviewParams(_Section):
    """Limit review of existing accounts (behavioural data): guardrails of each action."""

    increase_max_pd: float = Field(0.04, gt=0.0, lt=1.0)
    increase_min_utilisation: float = Field(0.5, ge=0.0, le=1.0)
    decrease_min_pd: float = Field(0.07, gt=0.0, lt=1.0)
    decrease_tolerance: float = Field(0.1, ge=0.0, lt=1.0)
    freeze_pd: float = Field(0.25, gt=0.0, le=1.0)
    freeze_dpd: float = Field(60, ge=1)
    max_step_up: float = Field(0.5, gt=0.0, le=5.0)
    max_step_down: float = Field(0.5, gt=0.0, le=1.0)
    cooling_off_months: int = Field(6, ge=0)
    min_months_on_book: int = Field(6, ge=0)
    every_months: int = Field(3, ge=1, le=12)

    @model_validator(mode="after")
    def _thresholds_in_order(self) -> ReviewParams:
        if not self.increase_max_pd < self.decrease_min_pd <= self.freeze_pd:
            raise ValueError(
                f"increase_max_pd {self.increase_max_pd} < decrease_min_pd "
                f"{self.decrease_min_pd} <= freeze_pd {self.freeze_pd} does not hold; "
                "expected increasing PD thresholds"
            )
        return self


class UsageParams(_Section):
    """Usage caps in the backtest (behavioural data): the panel's monthly spending, spread over
    the month's days, meets each product's blocked merchant categories, daily and monthly caps.

    ``categories`` maps each spending column of the account panel to its merchant category;
    ``day_concentration`` is the Dirichlet weight of a day (smaller: spending on fewer days).
    """

    simulate: bool = True
    days_per_month: int = Field(30, ge=1, le=31)
    day_concentration: float = Field(0.3, gt=0.0, le=100.0)
    seed: int = 5
    categories: dict[str, str] = Field(
        default_factory=lambda: {
            "spend_groceries": "groceries",
            "spend_travel": "travel",
            "spend_online": "online_retail",
            "spend_cash_advance": "quasi_cash",
        },
        min_length=1,
    )


class NeedParams(_Section):
    """Need and usage models (data with an account panel): expected utilisation and CCF at
    default as regressions on the snapshot's behaviour, replacing the products' constants in the
    optimiser's economics (``fit: false`` keeps the constants)."""

    fit: bool = True
    max_iter: int = Field(200, ge=1, le=5000)
    learning_rate: float = Field(0.05, gt=0.0, le=1.0)
    max_leaf_nodes: int = Field(15, ge=2, le=1024)
    min_samples_leaf: int = Field(40, ge=1)
    min_undrawn_share: float = Field(0.05, ge=0.0, lt=1.0)  # CCF undefined on a full line
    min_rows: int = Field(50, ge=1)
    utilisation_bands: list[float] = Field(default_factory=lambda: [0.2, 0.4, 0.6], min_length=1)
    seed: int = 13

    @field_validator("utilisation_bands")
    @classmethod
    def _bands_increase(cls, bands: list[float]) -> list[float]:
        if any(b <= a for a, b in pairwise(bands)) or bands[0] <= 0 or bands[-1] >= 1:
            raise ValueError("strictly increasing shares between 0 and 1")
        return bands


class MonitorParams(_Section):
    """Monitoring report: PSI bins, binomial test level, the stress scenario; on behavioural
    data, vintage cohorts."""

    psi_bins: int = Field(10, ge=2, le=100)
    significance: float = Field(0.05, gt=0.0, lt=0.5)
    stress_pd_factor: float = Field(1.5, ge=1.0, le=10.0)
    stress_income_drop: float = Field(0.2, ge=0.0, lt=1.0)
    vintage_cohort_months: int = Field(6, ge=1, le=60)  # behavioural data: cohort width


class FairnessParams(_Section):
    """Fairness report: numeric protected attributes in bands, reference groups, thresholds."""

    default_bands: list[float] = Field(default_factory=lambda: [25.0, 35.0, 50.0, 65.0],
                                       min_length=1)  # fmt: skip
    bands: dict[str, list[float]] = Field(default_factory=dict)
    reference: dict[str, str] = Field(default_factory=dict)
    min_group_size: int = Field(30, ge=1)
    air_threshold: float = Field(0.8, gt=0.0, le=1.0)
    smd_threshold: float = Field(0.25, gt=0.0)
    proxy_auc_threshold: float = Field(0.7, ge=0.5, le=1.0)
    proxy_rows: int = Field(200_000, ge=1000)  # the proxy check's stratified sample of test rows


class GateRule(_Section):
    """A promotion gate on a report's figure: its threshold (null: not checked) and whether
    missing it ``block``s ``@champion`` or only ``warn``s (recorded in the gate's tag)."""

    threshold: float | None = None
    action: Literal["block", "warn"] = "warn"


class RegisterParams(_Section):
    """MLflow experiment, registered model, its owner and intended use, and the gates a version
    must pass to be champion."""

    experiment: str = "limitlab"
    model_name: str = "limitlab-pd"
    owner: str = "credit risk analytics"
    intended_use: str = (
        "Probability of default, risk grade and credit limit for consumer-finance applicants of "
        "the data set's population, decided under the limit policy it carries"
    )
    min_test_auc: float = Field(0.70, ge=0.5, le=1.0)
    max_test_ece: float = Field(0.08, gt=0.0, le=1.0)
    champion_tolerance: float = Field(0.01, ge=0.0, le=0.5)
    champion_alpha: float = Field(0.05, gt=0.0, lt=1.0)
    fairness_min_air: GateRule = GateRule(threshold=0.8)
    fairness_max_smd: GateRule = GateRule(threshold=0.5)
    fairness_max_proxy_auc: GateRule = GateRule()
    swap_max_bad_rate_excess: GateRule = GateRule(threshold=0.05)
    swap_min_cell: int = Field(30, ge=1)


CURRENT_STRATEGY = "current"  # the strategy of params.yaml as it stands: no overrides
STRATEGY_SECTIONS = ("limits", "review")


class StrategyCell(_Section):
    """One cell of a strategy test: its name, the strategy its accounts get, its share."""

    name: str = Field(pattern=r"^[A-Za-z0-9_-]+$")
    strategy: str
    share: float = Field(gt=0.0, le=1.0)


class StrategiesParams(_Section):
    """A champion/challenger test of limit strategies on randomly assigned accounts.

    A strategy is a named set of overrides of the ``limits`` and ``review`` sections
    (``current``: none). ``test`` names the test (null: no test) and salts the assignment; the
    first cell is the control the others are compared with. The test applies where the data
    set has an account or customer id.
    """

    test: str | None = Field(None, pattern=r"^[A-Za-z0-9_.-]+$")
    variants: dict[str, dict[str, dict[str, Any]]] = {}
    cells: list[StrategyCell] = []

    @model_validator(mode="after")
    def _cells_make_a_test(self) -> StrategiesParams:
        if self.test is None:
            return self
        names = [c.name for c in self.cells]
        if len(names) < 2 or len(set(names)) != len(names):
            raise ValueError(f"cells {names}: expected two or more cells with unique names")
        total = sum(c.share for c in self.cells)
        if abs(total - 1.0) > 1e-9:
            shares = {c.name: c.share for c in self.cells}
            raise ValueError(f"cell shares {shares} sum to {total:g}; expected 1")
        return self


def _merged(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``override`` laid over it: mappings merge key by key, the rest replaces."""
    out = dict(base)
    for key, value in override.items():
        both = isinstance(value, dict) and isinstance(base.get(key), dict)
        out[key] = _merged(base[key], value) if both else value
    return out


class Params(_Section):
    """All of ``params.yaml``. The ``register`` section is the attribute ``registry``."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    data: DataParams = DataParams()
    split: SplitParams = SplitParams()
    features: FeaturesParams = FeaturesParams()
    tune: TuneParams = TuneParams()
    train: TrainParams = TrainParams()
    evaluate: EvaluateParams = EvaluateParams()
    limits: LimitsParams
    review: ReviewParams = ReviewParams()
    usage: UsageParams = UsageParams()
    need: NeedParams = NeedParams()
    monitor: MonitorParams = MonitorParams()
    fairness: FairnessParams = FairnessParams()
    registry: RegisterParams = Field(RegisterParams(), alias="register")
    strategies: StrategiesParams = StrategiesParams()

    def strategy(self, name: str) -> tuple[LimitsParams, ReviewParams]:
        """The ``limits`` and ``review`` sections under a strategy's overrides."""
        return strategy_sections(self.limits, self.review, self.strategies, name)

    def check_strategies(self) -> None:
        """Every cell's strategy resolves (raises :class:`ParamsError` naming the key)."""
        if self.strategies.test is None:
            return
        for i, cell in enumerate(self.strategies.cells):
            if cell.strategy != CURRENT_STRATEGY and cell.strategy not in self.strategies.variants:
                known = [CURRENT_STRATEGY, *self.strategies.variants]
                raise ParamsError(
                    f"strategies.cells.{i}.strategy: value {cell.strategy!r} is not a strategy; "
                    f"expected one of {known}"
                )
        for name in dict.fromkeys(c.strategy for c in self.strategies.cells):
            self.strategy(name)


def strategy_sections(
    limits: LimitsParams, review: ReviewParams, strategies: StrategiesParams, name: str
) -> tuple[LimitsParams, ReviewParams]:
    """The ``limits`` and ``review`` sections under a strategy's overrides.

    Raises :class:`ParamsError` naming ``strategies.variants.<name>...`` for an unknown
    strategy, section or key, or a value out of range.
    """
    if name == CURRENT_STRATEGY:
        return limits, review
    where = f"strategies.variants.{name}"
    if name not in strategies.variants:
        known = [CURRENT_STRATEGY, *strategies.variants]
        raise ParamsError(f"{where}: strategy {name!r} is not defined; expected one of {known}")
    override = strategies.variants[name]
    unknown = sorted(set(override) - set(STRATEGY_SECTIONS))
    if unknown:
        raise ParamsError(f"{where}.{unknown[0]}: unknown section; a strategy overrides "
                          f"{list(STRATEGY_SECTIONS)}")  # fmt: skip
    out = []
    for section, current in (("limits", limits), ("review", review)):
        base = current.model_dump(mode="json")
        try:
            out.append(type(current).model_validate(_merged(base, override.get(section, {}))))
        except ValidationError as exc:
            lines = "\n  ".join(_describe(e, f"{where}.{section}") for e in exc.errors())
            raise ParamsError(f"invalid strategy {name!r}:\n  {lines}") from None
    return out[0], out[1]


def _describe(error: dict[str, Any], prefix: str = "") -> str:
    key = ".".join([prefix, *map(str, error["loc"])] if prefix else map(str, error["loc"]))
    key = key or "<root>"
    if error["type"] == "extra_forbidden":
        return f"{key}: unknown key (value {error['input']!r}); check the spelling"
    if error["type"] == "missing":
        return f"{key}: required key is missing"
    expected = error["msg"].removeprefix("Value error, ")
    return f"{key}: value {error.get('input')!r} is invalid; expected {expected}"


def parse_params(raw: dict[str, Any], source: str = "params") -> Params:
    """Validate a params mapping, raising :class:`ParamsError` naming key, value and expectation."""
    try:
        params = Params.model_validate(raw)
    except ValidationError as exc:
        lines = "\n  ".join(_describe(e) for e in exc.errors())
        raise ParamsError(f"{source}: invalid parameters:\n  {lines}") from None
    try:
        params.check_strategies()
    except ParamsError as exc:
        raise ParamsError(f"{source}: {exc}") from None
    return params


def load_params(path: Path | str = DEFAULT_PARAMS) -> Params:
    """Read and validate ``params.yaml``."""
    path = Path(path)
    if not path.is_file():
        raise ParamsError(f"{path}: params file not found (expected a YAML file of parameters)")
    # YAML 1.2, as DVC reads and writes params: `yes` and `no` stay strings.
    try:
        raw = YAML(typ="safe", pure=True).load(path.read_text()) or {}
    except UnicodeDecodeError as exc:
        raise ParamsError(f"{path}: byte {exc.start} is not valid UTF-8; expected a UTF-8 "
                          "YAML file") from None  # fmt: skip
    except MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown place"
        problem = " ".join(str(exc.problem or exc).split())
        raise ParamsError(f"{path}: not valid YAML at {where}: {problem}") from None
    if not isinstance(raw, dict):
        raise ParamsError(f"{path}: expected a mapping of sections, got {type(raw).__name__}")
    return parse_params(raw, source=str(path))


def flat_params(params: Params) -> dict[str, Any]:
    """Params as ``section.key`` names (``params.yaml``'s names), as logged to MLflow."""
    return flatten(params.model_dump(mode="json", by_alias=True))
