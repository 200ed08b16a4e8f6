"""Need and usage models: how much of a limit an account will draw, and how much more by default.

From the account panel, each behavioural snapshot (an account at month ``s``) gets two outcomes:

- ``utilisation_next_12m``: the mean drawn share of the limit over months ``s+1 .. s+12`` while
  the account is open (the expected utilisation the economics price);
- ``ccf_at_default``: for an account that defaults in that window, the credit conversion factor
  ``(u_default - u_s) / (1 - u_s)``, floored at 0 (``u``: balance / limit), where at least
  ``min_undrawn_share`` of the limit was undrawn at ``s`` (otherwise undefined).

Two gradient-boosted regressors (scikit-learn's ``HistGradientBoostingRegressor``) learn them
from the snapshot's behavioural columns on the train split; their predictions, clipped to
[0, 1], replace the product's ``utilisation`` and ``ccf`` constants in the economics.
Utilisation is modelled as a share of the limit, as the constants are: a new limit is drawn at
the same expected share. Applicants are grouped by expected utilisation (``utilisation_bands``)
so that the optimiser can give a line that will hardly be drawn a lower cap than one that will.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
from scipy import stats
from sklearn.ensemble import HistGradientBoostingRegressor

from limitlab.config import NeedParams
from limitlab.errors import InputError
from limitlab.limits.economics import Usage
from limitlab.limits.policy import Policy

UTILISATION = "utilisation_next_12m"
CCF = "ccf_at_default"
AT_DEFAULT = "utilisation_at_default"
TARGETS = (UTILISATION, CCF, AT_DEFAULT)
MODEL_FILE = "need.joblib"


def need_targets(
    snapshots: pd.DataFrame,
    panel: pd.DataFrame,
    id_column: str,
    horizon: int,
    min_undrawn_share: float,
) -> pd.DataFrame:
    """The outcomes of every snapshot row, in its order (NaN where the panel has none).

    ``snapshots`` holds ``id_column`` and ``snapshot_month``; ``panel`` one row per open
    account-month: ``id_column``, ``month``, ``limit``, ``balance``, ``defaulted``.
    """
    ids = pd.Index(panel[id_column].unique())
    last = int(panel["month"].max())
    account = ids.get_indexer(panel[id_column])
    month = panel["month"].to_numpy(int)
    util = np.full((len(ids), last + 2), np.nan)
    limit = panel["limit"].to_numpy(float)
    util[account, month] = np.divide(panel["balance"].to_numpy(float), limit,
                                     out=np.full(len(panel), np.nan), where=limit > 0)  # fmt: skip
    default_month = np.zeros(len(ids), dtype=int)
    hit = panel["defaulted"].to_numpy() == 1
    default_month[account[hit]] = month[hit]
    row = ids.get_indexer(snapshots[id_column])
    known = row >= 0
    row = np.where(known, row, 0)
    s = snapshots["snapshot_month"].to_numpy(int)
    ahead = np.minimum(s[:, None] + np.arange(1, horizon + 1), last + 1)
    window = np.where(known[:, None], util[row[:, None], ahead], np.nan)
    with warnings.catch_warnings():  # a row with no month ahead has no outcome: NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        future = np.nanmean(window, axis=1)
    dm = default_month[row]
    defaults = known & (dm > s) & (dm <= s + horizon)
    now = util[row, np.minimum(s, last + 1)]
    at_default = np.where(defaults, util[row, dm], np.nan)
    undrawn = 1.0 - now
    ccf = np.where(
        defaults & (undrawn >= min_undrawn_share),
        np.clip((at_default - now) / np.where(undrawn > 0, undrawn, 1.0), 0.0, 1.0),
        np.nan,
    )
    return pd.DataFrame({UTILISATION: future, CCF: ccf, AT_DEFAULT: at_default},
                        index=snapshots.index)  # fmt: skip


def _regressor(section: NeedParams) -> HistGradientBoostingRegressor:
    return HistGradientBoostingRegressor(
        max_iter=section.max_iter,
        learning_rate=section.learning_rate,
        max_leaf_nodes=section.max_leaf_nodes,
        min_samples_leaf=section.min_samples_leaf,
        early_stopping=False,
        random_state=section.seed,
    )


def need_groups(utilisation: np.ndarray, bands: list[float]) -> np.ndarray:
    """The need group of each expected utilisation: ``under_0.2``, ``0.2_to_0.4``, ...,
    ``0.6_and_over`` (each from its lower band, inclusive, to the next, exclusive)."""
    inner = [f"{a:g}_to_{b:g}" for a, b in pairwise(bands)]
    edges = [f"under_{bands[0]:g}", *inner, f"{bands[-1]:g}_and_over"]
    return np.asarray(edges, dtype=object)[np.searchsorted(bands, utilisation, side="right")]


@dataclass
class NeedModels:
    """The expected-utilisation and CCF regressors, the columns they read, and the utilisation
    bands that group applicants for need-based caps."""

    features: list[str]
    utilisation: HistGradientBoostingRegressor
    ccf: HistGradientBoostingRegressor
    bands: list[float]

    def groups(self, usage: Usage) -> np.ndarray:
        """The need group of each applicant."""
        return need_groups(usage.utilisation, self.bands)

    @classmethod
    def fit(cls, frame: pd.DataFrame, targets: pd.DataFrame, features: list[str],
            section: NeedParams) -> NeedModels:  # fmt: skip
        """Fit both on the rows whose outcome is known; too few rows is refused, naming them."""
        x = frame[features].to_numpy(float)
        models = {}
        for name, column in (("utilisation", UTILISATION), ("ccf", CCF)):
            rows = targets[column].notna().to_numpy()
            if rows.sum() < section.min_rows:
                raise InputError(
                    f"need: {int(rows.sum())} train rows have a known {column}; expected at "
                    f"least need.min_rows = {section.min_rows}"
                )
            models[name] = _regressor(section).fit(x[rows], targets[column].to_numpy()[rows])
        return cls(features, models["utilisation"], models["ccf"], list(section.utilisation_bands))

    def predict(self, frame: pd.DataFrame) -> Usage:
        """Expected utilisation and CCF of every row, clipped to [0, 1]."""
        missing = [c for c in self.features if c not in frame.columns]
        if missing:
            raise InputError(f"need models: data lacks column(s) {missing}")
        x = frame[self.features].to_numpy(float)
        return Usage(np.clip(self.utilisation.predict(x), 0.0, 1.0),
                     np.clip(self.ccf.predict(x), 0.0, 1.0))  # fmt: skip

    def save(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        joblib.dump(self, folder / MODEL_FILE)
        return folder / MODEL_FILE

    @staticmethod
    def load(folder: Path) -> NeedModels | None:
        """The fitted models, or None where the stage did not apply."""
        path = folder / MODEL_FILE
        return joblib.load(path) if path.is_file() else None


def fit_report(predicted: np.ndarray, observed: np.ndarray, baseline: float) -> dict:
    """MAE, RMSE and R^2 of the model and of a constant on the rows with an outcome."""
    rows = ~np.isnan(observed)
    if not rows.any():
        return {"rows": 0, "why": "no test row has this outcome"}
    y, p = observed[rows], predicted[rows]

    def scores(guess: np.ndarray) -> dict:
        sse = float(((y - guess) ** 2).sum())
        sst = float(((y - y.mean()) ** 2).sum())
        return {"mae": float(np.abs(y - guess).mean()), "rmse": float(np.sqrt(sse / len(y))),
                "r2": 1.0 - sse / sst if sst > 0 else 0.0}  # fmt: skip

    return {"rows": int(rows.sum()), "observed_mean": float(y.mean()), "model": scores(p),
            "constant": {"value": baseline, **scores(np.full(len(y), baseline))}}  # fmt: skip


def realised_rows(decisions: pd.DataFrame, bad: np.ndarray, outcomes: pd.DataFrame,
                  policy: Policy) -> pd.DataFrame:  # fmt: skip
    """What each decision's limit earned and lost over the snapshot's next 12 months.

    Net interest on the limit at its realised mean utilisation; for a defaulter, a loss of LGD x
    the utilisation at default x the limit (each row priced with its own product).
    """
    products = [policy.product(name) for name in decisions["product"]]
    margin = np.array([p.margin for p in products])
    lgd = np.array([p.lgd for p in products])
    economics = policy.params.economics
    limit = decisions["limit"].to_numpy(float)
    util = outcomes[UTILISATION].fillna(0.0).to_numpy()
    at_default = outcomes[AT_DEFAULT].fillna(0.0).to_numpy()
    income = (margin - economics.funding_rate) * util * limit * economics.horizon_years
    lost = np.where(np.asarray(bad) == 1, lgd * at_default * limit, 0.0)
    return pd.DataFrame({"net_interest": income, "realised_loss": lost,
                         "realised_profit": income - lost})  # fmt: skip


def realised_totals(rows: pd.DataFrame) -> dict:
    """Net interest, realised loss and realised profit of a set of decisions."""
    return {k: float(rows[k].sum()) for k in ("net_interest", "realised_loss", "realised_profit")}


def clustered_difference(a: np.ndarray, b: np.ndarray, clusters: np.ndarray) -> dict:
    """Total of ``a - b`` with a 95% interval and p-value, rows summed per cluster (an account's
    snapshots share its outcome) and clusters treated as independent."""
    per_cluster = pd.Series(np.asarray(a) - np.asarray(b)).groupby(np.asarray(clusters)).sum()
    total = float(per_cluster.sum())
    se = float(np.sqrt(len(per_cluster)) * per_cluster.std(ddof=1)) if len(per_cluster) > 1 else 0.0
    p = float(2 * stats.norm.sf(abs(total) / se)) if se > 0 else (1.0 if total == 0 else 0.0)
    return {"difference": total, "ci95": [total - 1.96 * se, total + 1.96 * se], "p_value": p,
            "clusters": len(per_cluster)}  # fmt: skip
