"""Train / validation / test: stratified by outcome and seeded, or out-of-time by date."""

from __future__ import annotations

import pandas as pd
from sklearn.model_selection import train_test_split

from limitlab.config import SplitParams
from limitlab.data.columns import BAD, ROW
from limitlab.data.specs import DataError, DatasetSpec


def split_frame(frame: pd.DataFrame, spec: DatasetSpec, p: SplitParams) -> dict[str, pd.DataFrame]:
    """The three parts; by date (oldest rows train, newest test) when the spec has a date."""
    if spec.date:
        ordered = frame.sort_values([spec.date, ROW], kind="mergesort").reset_index(drop=True)
        n = len(ordered)
        n_test, n_valid = round(n * p.test_size), round(n * p.valid_size)
        cut_valid, cut_test = n - n_test - n_valid, n - n_test
        return {
            "train": ordered.iloc[:cut_valid],
            "valid": ordered.iloc[cut_valid:cut_test],
            "test": ordered.iloc[cut_test:],
        }
    try:
        rest, test = train_test_split(
            frame, test_size=p.test_size, stratify=frame[BAD], random_state=p.seed
        )
        train, valid = train_test_split(
            rest,
            test_size=p.valid_size / (1 - p.test_size),
            stratify=rest[BAD],
            random_state=p.seed,
        )
    except ValueError as exc:
        bad = int(frame[BAD].sum())
        raise DataError(
            f"cannot split {len(frame)} rows ({bad} bad, {len(frame) - bad} good) by outcome "
            f"with split.valid_size {p.valid_size} and split.test_size {p.test_size} ({exc}); "
            "expected enough rows of each class for all three parts"
        ) from None
    return {"train": train, "valid": valid, "test": test}


def check_both_classes(parts: dict[str, pd.DataFrame]) -> None:
    """Refuse a part that holds only good or only bad rows."""
    for name, part in parts.items():
        if part[BAD].nunique() < 2:
            raise DataError(
                f"split {name!r} has {len(part)} rows of one class only; expected both good and "
                "bad rows (more data, or other split.valid_size / split.test_size)"
            )
