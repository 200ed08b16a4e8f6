"""A limit policy is data: the validated ``limits`` params bound to a data set's columns.

It is written to ``policy.json`` beside the model and read back unchanged by serving.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from limitlab.config import (
    CURRENT_STRATEGY,
    KnockoutRule,
    LimitsParams,
    ParamsError,
    ProductParams,
    ReviewParams,
    SegmentRule,
    StrategiesParams,
    strategy_sections,
)
from limitlab.data.specs import DatasetSpec
from limitlab.limits.strategies import Cell, StrategyTest

RATIO_ROLES = {
    "@debt_to_income": ("debt", "income"),
    "@amount_to_income": ("requested_amount", "income"),
}
ROLES = ("income", "debt", "requested_amount")


@dataclass(frozen=True)
class Policy:
    """Limit params plus the data columns that play the income, debt and amount roles."""

    params: LimitsParams
    income: str | None = None
    debt: str | None = None
    requested_amount: str | None = None
    skipped_segments: tuple[str, ...] = ()
    skipped_knockouts: tuple[str, ...] = ()
    review: ReviewParams | None = None
    account: dict[str, str] | None = None
    test: StrategyTest | None = None
    variants: dict[str, Policy] = field(default_factory=dict)  # strategy name -> its policy

    @classmethod
    def build_with_strategies(
        cls,
        limits: LimitsParams,
        review: ReviewParams,
        declared: StrategiesParams,
        spec: DatasetSpec,
        columns: list[str],
    ) -> tuple[Policy, str | None]:
        """The policy and, where the data set has an account or customer id, the strategy
        test ``declared``, with one policy per strategy; else the reason the test is not
        applied (None when no test is declared)."""
        policy = cls.build(limits, spec, columns, review=review)
        if declared.test is None:
            return policy, None
        id_column = (spec.account or {}).get("id") or spec.id
        if id_column is None or id_column not in columns:
            return policy, f"data set {spec.name!r} has no account or customer id column"
        cells = tuple(Cell(c.name, c.strategy, c.share) for c in declared.cells)
        variants = {}
        for name in dict.fromkeys(c.strategy for c in cells):
            if name != CURRENT_STRATEGY:
                sections = strategy_sections(limits, review, declared, name)
                variants[name] = cls.build(sections[0], spec, columns, review=sections[1])
        test = StrategyTest(declared.test, cells, id_column)
        return cls(**{**policy.__dict__, "test": test, "variants": variants}), None

    def for_strategy(self, name: str) -> Policy:
        """The policy a strategy's accounts get (this one for ``current``)."""
        return self if name == CURRENT_STRATEGY else self.variants[name]

    @classmethod
    def build(
        cls,
        params: LimitsParams,
        spec: DatasetSpec | None,
        columns: list[str],
        review: ReviewParams | None = None,
    ) -> Policy:
        """Bind params to a data set; segment and knock-out rules whose columns are absent are
        skipped (reported as not applied).

        ``review`` rules are kept when the data set has account roles (behavioural data).
        Raises :class:`ParamsError` when a knock-out compares a column with the wrong kind of
        value (a number with a categorical column, a text with a numeric one).
        """
        roles = {r: getattr(spec, r) if spec else None for r in ROLES}
        account = dict(spec.account) if spec and spec.account else None
        extra = {"review": review, "account": account} if account and review else {}
        draft = cls(params=params, **roles)
        kept, skipped = [], []
        for rule in params.segments:
            needed = draft.segment_columns(rule)
            ok = needed is not None and all(c in columns for c in needed)
            (kept if ok else skipped).append(rule)
        knockouts, skipped_rules = [], []
        for rule in params.knockouts:
            needed = draft.segment_columns(rule)
            ok = needed is not None and all(c in columns for c in needed)
            if ok and spec is not None:
                _check_knockout_type(rule, needed, spec)
            (knockouts if ok else skipped_rules).append(rule)
        trimmed = params.model_copy(update={"segments": kept, "knockouts": knockouts})
        return cls(
            params=trimmed,
            **roles,
            skipped_segments=tuple(r.name for r in skipped),
            skipped_knockouts=tuple(r.name for r in skipped_rules),
            **extra,
        )

    def segment_columns(self, rule: SegmentRule | KnockoutRule) -> list[str] | None:
        """Data columns a segment or knock-out rule reads, or None when a role it names is not
        in the data."""
        if rule.column in RATIO_ROLES:
            cols = [getattr(self, role) for role in RATIO_ROLES[rule.column]]
            return None if None in cols else cols
        if rule.column.startswith("@"):
            column = getattr(self, rule.column[1:], None) if rule.column[1:] in ROLES else None
            return None if column is None else [column]
        return [rule.column]

    def rule_values(self, frame: pd.DataFrame, rule: SegmentRule | KnockoutRule) -> pd.Series:
        """The values a rule reads: its column, or a ratio of two role columns (NaN where the
        denominator is not positive)."""
        columns = self.segment_columns(rule) or []
        if rule.column in RATIO_ROLES:
            num, den = (pd.to_numeric(frame[c], errors="coerce").to_numpy(float, na_value=np.nan)
                        for c in columns)  # fmt: skip
            with np.errstate(invalid="ignore", over="ignore"):  # as pandas: inf, NaN
                ratio = num / np.where(den > 0, den, np.nan)
            return pd.Series(ratio, index=frame.index, copy=False)
        return frame[columns[0]]

    @property
    def required_columns(self) -> list[str]:
        """Columns an applicant row must carry for the policy (besides the model's features)."""
        cols = [c for c in (self.income, self.debt, self.requested_amount) if c]
        for rule in [*self.params.segments, *self.params.knockouts]:
            cols += self.segment_columns(rule) or []
        if self.params.product_column:
            cols.append(self.params.product_column)
        if self.review and self.account:
            cols += [c for role, c in self.account.items() if role != "id"]
        for variant in self.variants.values():
            cols += variant.required_columns
        if self.test is not None:
            cols.append(self.test.id_column)
        return list(dict.fromkeys(cols))

    def product(self, name: str) -> ProductParams:
        return self.params.products[name]

    def to_json(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self._payload(), indent=2) + "\n")

    def _payload(self) -> dict:
        return {
            "params": self.params.model_dump(mode="json", by_alias=True),
            "roles": {r: getattr(self, r) for r in ROLES},
            "skipped_segments": list(self.skipped_segments),
            "skipped_knockouts": list(self.skipped_knockouts),
            "review": self.review.model_dump(mode="json") if self.review else None,
            "account": self.account,
            "test": self.test.to_json() if self.test else None,
            "variants": {name: v._payload() for name, v in self.variants.items()},
        }

    @classmethod
    def from_json(cls, path: Path) -> Policy:
        return cls._from_payload(json.loads(Path(path).read_text()))

    @classmethod
    def _from_payload(cls, raw: dict) -> Policy:
        return cls(
            params=LimitsParams.model_validate(raw["params"]),
            **raw["roles"],
            skipped_segments=tuple(raw["skipped_segments"]),
            skipped_knockouts=tuple(raw.get("skipped_knockouts", ())),
            review=ReviewParams.model_validate(raw["review"]) if raw.get("review") else None,
            account=raw.get("account"),
            test=StrategyTest.from_json(raw["test"]) if raw.get("test") else None,
            variants={k: cls._from_payload(v) for k, v in raw.get("variants", {}).items()},
        )


def _check_knockout_type(rule: KnockoutRule, columns: list[str], spec: DatasetSpec) -> None:
    """A number compares with a numeric column (or ratio), a text with a categorical one; the
    outcome (or a true PD) is never an input of a rule."""
    outcome = [c for c in columns if c in {spec.target, spec.truth}]
    if outcome:
        raise ParamsError(
            f"limits.knockouts.{rule.name}: column {outcome[0]!r} is the outcome the model "
            "predicts; expected a column known when the applicant applies"
        )
    if rule.column not in RATIO_ROLES and columns[0] not in {*spec.numeric, *spec.categorical}:
        return  # an undeclared column: compared as it comes
    numeric_column = rule.column in RATIO_ROLES or columns[0] in spec.numeric
    if rule.numeric == numeric_column:
        return
    kind = "numeric" if numeric_column else "categorical"
    wanted = "numbers" if numeric_column else "texts (quoted in YAML)"
    raise ParamsError(
        f"limits.knockouts.{rule.name}: column {rule.column!r} is {kind}, value "
        f"{rule.value!r} is not; expected {wanted}"
    )
