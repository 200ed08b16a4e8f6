"""Grade and limit-band migration of the same accounts between two review dates."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from limitlab.evaluation.monitoring import migration_matrix


def migrations(
    snapshots: pd.DataFrame,
    months: tuple[int, int],
    decide_at: Callable[[pd.DataFrame], pd.DataFrame],
    account: str,
    grades: list[str],
    ladder: list[float],
) -> tuple[dict, pd.DataFrame, pd.DataFrame]:
    """Summary, grade matrix and band matrix between ``months[0]`` and ``months[1]``.

    ``decide_at(snapshots)`` returns the policy's ``grade`` and ``limit`` for each row; ``grades``
    is the grade order from safest to decline, so a move right of the diagonal is to a worse grade.
    """
    grade_at, band_at = {}, {}
    for month in months:
        at = snapshots[snapshots["snapshot_month"] == month].reset_index(drop=True)
        decided = decide_at(at)
        index = at[account]
        grade_at[month] = pd.Series(decided["grade"].to_numpy(), index=index)
        band_at[month] = pd.Series(decided["limit"].to_numpy(), index=index)
    first, last = months
    grade_matrix = migration_matrix(grade_at[first], grade_at[last], grades)
    band_matrix = migration_matrix(band_at[first], band_at[last], [0.0, *ladder])
    values = grade_matrix.to_numpy()
    total = int(values.sum())
    summary = {
        "from_month": first,
        "to_month": last,
        "accounts_at_both": total,
        "share_to_worse_grade": int(np.triu(values, 1).sum()) / total if total else None,
        "share_to_better_grade": int(np.tril(values, -1).sum()) / total if total else None,
    }
    return summary, grade_matrix, band_matrix
