"""The additive family: gradient boosting with one feature per tree and monotone constraints.

XGBoost's interaction constraints (``[[f] for f in columns]``) keep every tree on one model
column, so the log-odds is a sum of one step function per column. At fit time those functions are
compiled into lookup tables: for each column, its split points and the summed contribution in
each interval between them (and for a missing value). A tree on one column has an exact TreeSHAP
value of its own output less its cover-weighted mean, so a table lookup gives exactly what
``pred_contribs`` gives, at the cost of one vectorised comparison per split point; the tables
also read as points per feature, like a scorecard's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from limitlab.data.lookup import interval_index
from limitlab.models.families import make_xgboost
from limitlab.models.rowwise import row_sums
from limitlab.models.targets import check_binary_target

LN2 = float(np.log(2.0))


@dataclass(frozen=True)
class ColumnTable:
    """One column's step function: ``values[i]`` applies from ``splits[i - 1]`` (inclusive) up
    to ``splits[i]`` (exclusive); ``missing`` to a missing value. float32 splits, as XGBoost's."""

    splits: np.ndarray
    values: np.ndarray
    missing: float

    def lookup(self, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Each value's contribution (into ``out`` when given)."""
        x = np.asarray(x, dtype=np.float32)
        values = np.asarray(self.values, dtype=np.float64)  # a column without trees: [0]
        out = np.take(values, interval_index(self.splits, x, side="right"), out=out)
        missing = np.isnan(x)
        if missing.any():
            out[missing] = self.missing
        return out


def _tree_output(nodes: dict[str, dict], x: float) -> float:
    """The leaf value a one-column tree gives ``x`` (NaN follows each node's missing branch)."""
    node = nodes[next(iter(nodes))]
    while node["Feature"] != "Leaf":
        if np.isnan(x):
            node = nodes[node["Missing"]]
        else:
            node = nodes[node["Yes"] if np.float32(x) < np.float32(node["Split"]) else node["No"]]
    return float(node["Gain"])


def _cover_mean(nodes: dict[str, dict]) -> float:
    leaves = [n for n in nodes.values() if n["Feature"] == "Leaf"]
    cover = np.array([n["Cover"] for n in leaves])
    return float(np.dot(cover, [n["Gain"] for n in leaves]) / cover.sum())


def compile_tables(booster: Any, columns: list[str]) -> tuple[dict[str, ColumnTable], float]:
    """Lookup tables of every column and the bias (base margin plus every tree's mean output)."""
    frame = booster.trees_to_dataframe()
    config = json.loads(booster.save_config())
    base = float(str(config["learner"]["learner_model_param"]["base_score"]).strip("[]"))
    bias = float(np.log(base / (1 - base)))
    trees: dict[str, list[dict[str, dict]]] = {c: [] for c in columns}
    for _, tree in frame.groupby("Tree", sort=True):
        nodes = {row["ID"]: row for row in tree.to_dict("records")}
        bias += _cover_mean(nodes)
        used = {n["Feature"] for n in nodes.values()} - {"Leaf"}
        if len(used) > 1:
            raise ValueError(f"a tree splits on {sorted(used)}; expected one column per tree")
        if used:
            trees[used.pop()].append(nodes)
    tables = {}
    for column, column_trees in trees.items():
        splits = np.unique(np.array([n["Split"] for t in column_trees for n in t.values()
                                     if n["Feature"] != "Leaf"], dtype=np.float32))  # fmt: skip
        points = np.concatenate([[splits[0] - 1 if len(splits) else 0.0], splits])
        means = [_cover_mean(t) for t in column_trees]
        values = np.array([sum(_tree_output(t, float(p)) - m for t, m in
                               zip(column_trees, means, strict=True)) for p in points])  # fmt: skip
        missing = sum(_tree_output(t, np.nan) - m for t, m in zip(column_trees, means, strict=True))
        tables[column] = ColumnTable(splits, values, float(missing))
    return tables, bias


class AdditiveBoosting(ClassifierMixin, BaseEstimator):
    """XGBoost with one model column per tree; exact contributions from lookup tables.

    Parameters
    ----------
    params : dict or None
        XGBoost hyper-parameters (from the additive family's Optuna study).
    n_estimators : int
    monotone : dict or None
        ``{column: 1 or -1}``, as for the xgboost family.
    seed : int
    """

    def __init__(
        self,
        params: dict[str, Any] | None = None,
        n_estimators: int = 100,
        monotone: dict[str, int] | None = None,
        seed: int = 0,
    ) -> None:
        self.params = params
        self.n_estimators = n_estimators
        self.monotone = monotone
        self.seed = seed

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> AdditiveBoosting:
        y = check_binary_target(y)
        self.classes_ = np.unique(y)
        self.columns_ = list(X.columns)
        self.model_ = make_xgboost(
            dict(self.params or {}), self.seed, self.monotone, n_estimators=self.n_estimators,
            interaction_constraints=one_column_per_tree(self.columns_),
        ).fit(X, (y == self.classes_[1]).astype(int))  # fmt: skip
        self.tables_, self.bias_ = compile_tables(self.model_.get_booster(), self.columns_)
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """From the lookup tables (XGBoost's own prediction to float32 rounding, tested), so
        that a PD and its reasons come from one computation."""
        return self.proba_from_margins(self.column_margins(X))

    def proba_from_margins(self, margins: np.ndarray) -> np.ndarray:
        """``[1 - PD, PD]`` of rows whose per-column contributions are ``margins``."""
        pd_ = expit(self.bias_ + row_sums(margins))
        return np.column_stack([1.0 - pd_, pd_])

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return self.classes_[(self.predict_proba(X)[:, 1] > 0.5).astype(int)]

    def column_margins(self, X: pd.DataFrame) -> np.ndarray:
        """Exact TreeSHAP contribution of each model column to each row's log-odds, as a
        rows x columns array."""
        check_is_fitted(self, "tables_")
        values = np.asarray(X[self.columns_].to_numpy(np.float32), order="F")
        out = np.empty(values.shape, order="F")
        for j, column in enumerate(self.columns_):
            self.tables_[column].lookup(values[:, j], out=out[:, j])
        return out

    def contributions(self, X: pd.DataFrame) -> pd.DataFrame:
        """Exact TreeSHAP contribution of each model column to each row's log-odds."""
        return pd.DataFrame(self.column_margins(X), columns=self.columns_, index=X.index)

    def points_table(self, pdo: float = 20.0) -> pd.DataFrame:
        """Column, interval and log-odds contribution of every step, with points (``pdo``
        points double the odds of good; higher is safer), as a scorecard's table reads."""
        rows = []
        for column, table in self.tables_.items():
            edges = [None, *(float(s) for s in table.splits), None]  # None: unbounded
            for i, value in enumerate(table.values):
                rows.append({"column": column, "from": edges[i], "to": edges[i + 1],
                             "missing": False, "log_odds": float(value)})  # fmt: skip
            rows.append({"column": column, "from": None, "to": None, "missing": True,
                         "log_odds": table.missing})  # fmt: skip
        out = pd.DataFrame(rows)
        out["points"] = -out["log_odds"] * pdo / LN2
        return out


def one_column_per_tree(columns: list[str]) -> list[list[str]]:
    """XGBoost interaction constraints that keep each tree on one column."""
    return [[c] for c in columns]
