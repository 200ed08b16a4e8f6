"""Out-of-fold predictions: every training row scored by models that never saw it.

Repeated stratified K-fold on the train split (the validation split stays with tuning: Optuna's
choice and XGBoost's early stopping; the test split stays untouched until ``evaluate``). With
repeats, a row's out-of-fold PD is the mean over its repeats.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from sklearn.model_selection import RepeatedStratifiedKFold

from limitlab.errors import InputError

FitPredict = Callable[[np.ndarray, np.ndarray], np.ndarray]


def fold_indices(
    y: np.ndarray, folds: int, repeats: int, seed: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """(fit rows, scored rows) per fold, stratified by the outcome, the same for a seed."""
    fewest = int(np.bincount(np.asarray(y, dtype=int), minlength=2).min())
    if fewest < folds:
        raise InputError(
            f"train.cv_folds = {folds} but the training rows hold only {fewest} of one class; "
            f"expected at most {fewest} folds (or more data)"
        )
    splitter = RepeatedStratifiedKFold(n_splits=folds, n_repeats=repeats, random_state=seed)
    return list(splitter.split(np.zeros(len(y)), y))


def out_of_fold(
    fit_predict: FitPredict, n_rows: int, folds: list[tuple[np.ndarray, np.ndarray]]
) -> np.ndarray:
    """Mean PD of each row over the folds that scored it; ``fit_predict(fit_rows, scored_rows)``
    fits on the first and returns PDs for the second."""
    total, count = np.zeros(n_rows), np.zeros(n_rows)
    for fit_rows, scored_rows in folds:
        if np.intersect1d(fit_rows, scored_rows).size:
            raise ValueError("a fold scores rows it was fitted on; expected disjoint rows")
        total[scored_rows] += np.asarray(fit_predict(fit_rows, scored_rows), dtype=float)
        count[scored_rows] += 1
    if (count == 0).any():
        raise ValueError(f"{int((count == 0).sum())} rows were never scored out of fold")
    return total / count
