"""The scorer: fitted feature pipeline + PD model + limit policy, applied to raw applicants.

The pipeline's ``evaluate`` and ``limits`` stages and the registered MLflow model all call
:meth:`Scorer.decide`, so the decisions a data scientist sees are the ones a server returns.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd

from limitlab import paths
from limitlab.data.specs import DatasetSpec
from limitlab.features.transformers import raw_inputs
from limitlab.limits.policy import Policy, assign_limits


@dataclass
class Scorer:
    """Everything needed to turn a raw applicant row into a PD and a limit."""

    spec: DatasetSpec
    features: Any
    model: Any
    policy: Policy

    @classmethod
    def load(
        cls, spec_path: Path, features_path: Path, model_path: Path, policy_path: Path
    ) -> Scorer:
        return cls(
            spec=DatasetSpec.from_json(spec_path),
            features=joblib.load(features_path),
            model=joblib.load(model_path),
            policy=Policy.from_json(policy_path),
        )

    @classmethod
    def from_project(cls, family: str, root: Path = Path(".")) -> Scorer:
        """The scorer of a trained model family in a project folder."""
        return cls.load(
            root / paths.SPEC,
            root / paths.FEATURES_MODEL,
            root / paths.model_path(family),
            root / paths.POLICY,
        )

    def predict_pd(self, frame: pd.DataFrame) -> np.ndarray:
        """Probability of default of each raw applicant row."""
        matrix = self.features.transform(raw_inputs(frame, self.spec))
        return self.model.predict_proba(matrix)[:, 1].astype("float64")

    def decide(self, frame: pd.DataFrame) -> pd.DataFrame:
        """PD, grade, caps, limit, decision and binding cap of each raw applicant row."""
        pd_ = self.predict_pd(frame)
        income = frame[self.spec.income].to_numpy(float) if self.spec.income else None
        debt = frame[self.spec.debt].to_numpy(float) if self.spec.debt else None
        return assign_limits(pd_, self.policy, income=income, debt=debt)
