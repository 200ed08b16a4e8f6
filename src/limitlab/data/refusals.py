"""Row refusals: each check marks rows and says why; a refused row is kept with its reasons.

Used by ingest, the account-panel checks and request validation, so every refusal reads the
same way: ``column: value ...; expected ...``, several joined by ``; ``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

Text = str | pd.Series | Callable[[], pd.Series | str]
MAX_ABS_VALUE = 1e15  # beyond any amount, ratio or count in credit data; keeps float32 finite


class RowRefusals:
    """Collects refusal reasons for the rows of one frame, and counts them by problem."""

    def __init__(self, index: pd.Index) -> None:
        self.index = index
        self.counts: dict[str, int] = {}
        self._parts: list[np.ndarray] = []

    def refuse(self, mask: pd.Series | np.ndarray, problem: str, text: Text) -> None:
        """Refuse the rows in ``mask`` with ``text`` (a string, a per-row Series, or a callable
        that builds one, called only when some row is refused)."""
        if isinstance(mask, np.ndarray) and mask.dtype == bool:
            hit = mask
        else:
            hit = pd.Series(mask, index=self.index).fillna(False).to_numpy(bool)
        if not hit.any():
            return
        self.counts[problem] = self.counts.get(problem, 0) + int(hit.sum())
        words = text() if callable(text) else text
        if isinstance(words, pd.Series):
            words = words.astype(object).to_numpy()
        self._parts.append(np.where(hit, words, ""))

    def reasons(self) -> pd.Series:
        """One '; '-joined reason per row ('' for a row nobody refused)."""
        if not self._parts:
            return pd.Series("", index=self.index, dtype=object)
        table = np.column_stack(self._parts)
        joined = np.full(len(table), "", dtype=object)
        hit = np.flatnonzero((table != "").any(axis=1))  # rows nobody refused stay ''
        joined[hit] = ["; ".join(r for r in table[i] if r) for i in hit]
        return pd.Series(joined, index=self.index, dtype=object)

    def refuse_bad_numbers(
        self, column: str, raw: pd.Series, typed: pd.Series, nonnegative: bool
    ) -> None:
        """Text that is not a number, infinite or out-of-range values, and (where the column
        cannot be negative) negative values, each with the column and the value as given."""

        def shown() -> pd.Series:
            return raw.astype("string").fillna("")

        not_number = f"{column}: '", "' is not a number"
        out_of_range = f"{column}: ", f" is out of range; expected within +-{MAX_ABS_VALUE:.0e}"
        negative = f"{column}: ", " is negative; expected >= 0"
        values = typed.to_numpy("float64", na_value=np.nan)
        dtype = raw.dtype  # numbers (not booleans, which are not numbers here): no text
        numeric = pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
        with np.errstate(invalid="ignore"):
            checks = [] if numeric else [
                (raw.notna().to_numpy() & np.isnan(values), "not_a_number", not_number)
            ]  # fmt: skip
            checks.append((np.abs(values) > MAX_ABS_VALUE, "out_of_range", out_of_range))
            if nonnegative:
                checks.append((values < 0, "negative", negative))
        for mask, problem, (before, after) in checks:
            self.refuse(mask, f"{column}:{problem}", lambda b=before, a=after: b + shown() + a)

    def split(self, frame: pd.DataFrame, reason_column: str) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Kept rows and refused rows (with their reasons in ``reason_column``)."""
        reasons = self.reasons()
        refused = (reasons != "").to_numpy()
        quarantine = frame[refused].assign(**{reason_column: reasons[refused].to_numpy()})
        return frame[~refused], quarantine
