"""The scorer: fitted feature pipeline + PD model + limit policy, applied to raw applicants.

The pipeline's ``limits`` stage and the registered MLflow model both call :meth:`Scorer.decide`,
so the decisions a data scientist sees are the ones a server returns.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from limitlab import paths
from limitlab.data.lookup import text_column
from limitlab.data.specs import DatasetSpec
from limitlab.errors import InputError
from limitlab.features.compiled import CompiledTransform, compile_transform
from limitlab.features.transformers import raw_inputs
from limitlab.limits.decide import decide_coded
from limitlab.limits.notices import ADVERSE_ACTIONS, notice_codes
from limitlab.limits.policy import Policy
from limitlab.limits.reasons import driver_order, principal_reasons
from limitlab.limits.review import review_accounts
from limitlab.models.additive import AdditiveBoosting
from limitlab.models.calibration import CalibratedPD
from limitlab.models.contributions import (
    raw_feature_contributions,
    source_feature,
    summed_to_raw,
)
from limitlab.models.raw_tables import RawFeatureTables, compile_raw_tables
from limitlab.models.spline import SplineGAM
from limitlab.threads import in_background


@dataclass(frozen=True)
class Scored:
    """Applicant rows scored: the calibrated PD, the model matrix (None where the PD was read
    from raw columns) and, for the additive and spline families, each model column's (or, with
    ``per_raw_feature``, each raw feature's) contribution to the log-odds (rows x columns)."""

    pd: np.ndarray
    matrix: pd.DataFrame | None
    margins: np.ndarray | None = None
    margin_columns: tuple[str, ...] = ()
    per_raw_feature: bool = False

    def take(self, rows: np.ndarray) -> Scored:
        margins = None if self.margins is None else self.margins[rows]
        matrix = None if self.matrix is None else self.matrix.iloc[rows].reset_index(drop=True)
        return Scored(self.pd[rows], matrix, margins, self.margin_columns, self.per_raw_feature)

    def raw_contributions(self, rows: np.ndarray, index: pd.Index) -> pd.DataFrame:
        """The margins summed per raw feature: of ``rows`` (labelled ``index[rows]``), or of
        every row where they are summed already (ranking them all costs less than gathering
        some; the reasons read only the rows that need them)."""
        if self.per_raw_feature:
            columns = list(self.margin_columns)
            return pd.DataFrame(self.margins, columns=columns, index=index, copy=False)
        margins = np.take(self.margins, rows, axis=0)
        return summed_to_raw(margins, list(self.margin_columns), index[rows])


@dataclass
class Scorer:
    """Everything needed to turn a raw applicant row into a PD, a limit and its reasons.

    ``model`` is the champion: a :class:`~limitlab.models.calibration.CalibratedPD` around a
    family pipeline (``features`` then ``model``).
    """

    spec: DatasetSpec
    model: CalibratedPD
    policy: Policy

    @classmethod
    def load(cls, spec_path: Path, model_path: Path, policy_path: Path) -> Scorer:
        return cls(
            spec=DatasetSpec.from_json(spec_path),
            model=joblib.load(model_path),
            policy=Policy.from_json(policy_path),
        )

    @classmethod
    def from_project(cls, root: Path = Path(".")) -> Scorer:
        """The champion's scorer in a project folder (after ``train`` and ``limits``)."""
        return cls.load(root / paths.SPEC, root / paths.CHAMPION, root / paths.POLICY)

    @property
    def pipeline(self) -> Pipeline:
        """The champion's family pipeline (uncalibrated)."""
        return self.model.pipeline

    @property
    def input_columns(self) -> list[str]:
        """Raw columns an applicant row must carry: model features and policy columns."""
        return list(dict.fromkeys([*self.spec.input_columns, *self.policy.required_columns]))

    @property
    def reason_features(self) -> list[str]:
        """The raw features whose contributions can be reasons (ratios included); for the
        ensemble, those of its members."""
        members = getattr(self.pipeline[-1], "members", None)
        pipelines = list(members.values()) if members else [self.pipeline]
        names = [str(n) for p in pipelines for n in p[:-1].get_feature_names_out()]
        return list(dict.fromkeys(source_feature(n) for n in names))

    def applicant_columns(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The raw columns the scorer reads, typed as at ingest (numbers as float64)."""
        extra = [c for c in self.policy.required_columns if c not in self.spec.input_columns]
        return pd.concat([raw_inputs(frame, self.spec), frame[extra]], axis=1)

    @cached_property
    def _compiled(self) -> CompiledTransform | None:
        return compile_transform(self.pipeline[0])

    @property
    def features(self) -> Callable[[pd.DataFrame], pd.DataFrame]:
        """The feature transform compiled to numpy from the fitted pipeline where its shape
        allows (the same matrix, tested), else scikit-learn's own."""
        return self._compiled.transform if self._compiled else self.pipeline[:-1].transform

    @cached_property
    def raw_tables(self) -> RawFeatureTables | None:
        model = self.pipeline[-1]
        if self._compiled is None or not isinstance(model, AdditiveBoosting):
            return None
        return compile_raw_tables(self._compiled, model)

    def _scored(self, frame: pd.DataFrame) -> Scored:
        inputs = raw_inputs(frame, self.spec, keep_text=self._compiled is not None)
        tables = self.raw_tables
        if tables is not None:  # the additive family: PD and reasons from raw columns at once
            margins = tables.margins(inputs)
            pd_ = np.asarray(self.model.calibrate(tables.pd_from_margins(margins)), "float64")
            return Scored(pd_, None, margins, tuple(tables.features), per_raw_feature=True)
        matrix = self.features(inputs)
        model, margins, columns = self.pipeline[-1], None, ()
        if isinstance(model, AdditiveBoosting | SplineGAM):  # the PD and its reasons at once
            margins, columns = model.column_margins(matrix), tuple(model.columns_)
            raw = model.proba_from_margins(margins)[:, 1]
        else:
            raw = model.predict_proba(matrix)[:, 1]
        pd_ = np.asarray(self.model.calibrate(raw), dtype="float64")
        return Scored(pd_, matrix, margins, columns)

    def predict_pd(self, frame: pd.DataFrame) -> np.ndarray:
        """Probability of default of each raw applicant row."""
        return self._scored(frame).pd

    def decide(self, frame: pd.DataFrame) -> pd.DataFrame:
        """PD, grade, product, limit, binding cap, usage caps, EL, profit, the adverse action
        (``decline``, ``counter-offer`` or ``none``) and, where there is one, four reasons: the
        model's drivers are computed for those rows alone.

        Under a strategy test (the policy's ``test``) each row is decided by its cell's
        strategy, and ``cell`` and ``strategy`` say which.
        """
        frame = frame.reset_index(drop=True)
        test = self.policy.test
        cells = test.assign(frame) if test else None
        scored = self._scored(frame)
        if test is None:
            return self._decide(frame, scored, self.policy)
        parts = []
        for cell in test.cells:
            rows = np.flatnonzero(cells == cell.name)
            if len(rows):
                part = self._decide(frame.iloc[rows].reset_index(drop=True), scored.take(rows),
                                    self.policy.for_strategy(cell.strategy))  # fmt: skip
                part.index = rows
                parts.append(part.assign(cell=cell.name, strategy=cell.strategy))
        return pd.concat(parts).sort_index()

    def _decide(self, frame: pd.DataFrame, scored: Scored, policy: Policy) -> pd.DataFrame:
        drivers = None
        if scored.per_raw_feature:  # every row's drivers ranked on another core meanwhile
            drivers = in_background(driver_order, len(frame), scored.margins, False)
        decisions, codes = decide_coded(scored.pd, frame, policy)
        asked = policy.requested_amount
        kind = notice_codes(decisions, frame.get(asked) if asked else None, codes)
        decisions["adverse_action"] = text_column(np.take(ADVERSE_ACTIONS, kind), decisions.index)
        needed = kind != 0
        modelled = needed & ~codes.knocked  # a knock-out's reasons are its rules
        contributions = None
        if modelled.any() and scored.margins is not None:
            rows = np.flatnonzero(modelled)
            contributions = scored.raw_contributions(rows, decisions.index)
        elif modelled.any():
            approx = policy.params.reasons.contributions == "saabas_approximate"
            contributions = raw_feature_contributions(
                self.pipeline[-1], scored.matrix.loc[modelled], approx
            )
        top = drivers() if drivers is not None and contributions is not None else None
        reasons = principal_reasons(decisions, contributions, policy, needed, codes, top)
        return pd.concat([decisions, reasons], axis=1)

    def review(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Account snapshots in; the decision columns plus the review action, new limit and
        reasons (behavioural data, whose policy carries review rules and account roles); under
        a strategy test, each account under its cell's strategy."""
        if self.policy.review is None or not self.policy.account:
            raise InputError(
                "this model's policy has no limit-review rules; expected a model trained on "
                "behavioural data (data.dataset: behavioural)"
            )
        frame = frame.reset_index(drop=True)
        decisions = self.decide(frame)
        strategies = decisions.get("strategy")
        parts = []
        for name in [None] if strategies is None else strategies.unique():
            rows = np.arange(len(frame)) if name is None else np.flatnonzero(strategies == name)
            policy = self.policy if name is None else self.policy.for_strategy(name)
            ladder = policy.product(policy.params.product).ladder
            part = review_accounts(frame.iloc[rows], decisions.iloc[rows], policy.account,
                                   ladder, policy.review)  # fmt: skip
            part.index = rows
            parts.append(part)
        return pd.concat([decisions, pd.concat(parts).sort_index()], axis=1)
