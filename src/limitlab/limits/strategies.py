"""Strategy test cells: accounts assigned at random, but reproducibly, to named strategies.

An account's draw is a number in [0, 1) from SHA-256 of the test name and its id (the same on
every machine and library version); cells take consecutive ranges of [0, 1) in their declared
order, by share. So an account never changes cell while the test runs, and changing the shares
of cells declared after its own never moves it (a last cell that grows keeps all its accounts).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from limitlab.errors import InputError

NO_CELL = ""


def id_texts(ids: pd.Series) -> np.ndarray:
    """Ids as the text that is hashed: whole numbers without a decimal part (``7`` and ``7.0``
    are one account), anything else as written."""
    values = pd.Series(ids).reset_index(drop=True)
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        numbers = values.astype("float64")
        whole = numbers.notna() & (numbers == np.floor(numbers))
        text = values.astype("string")
        text[whole] = numbers[whole].astype("int64").astype("string")
        return text.to_numpy(dtype=object)
    return values.astype("string").to_numpy(dtype=object)


def draws(ids: pd.Series, test: str) -> np.ndarray:
    """Each id's uniform draw in [0, 1) for ``test`` (hashed once per distinct id)."""
    texts = id_texts(ids)
    unique, inverse = np.unique(texts.astype(str), return_inverse=True)
    salt = test.encode() + b"\x1f"
    values = np.array(
        [int.from_bytes(hashlib.sha256(salt + u.encode()).digest()[:8], "big") for u in unique],
        dtype=np.float64,
    )
    return (values / 2.0**64)[inverse]


@dataclass(frozen=True)
class Cell:
    name: str
    strategy: str
    share: float


def assign_cells(ids: pd.Series, test: str, cells: Sequence[Cell]) -> np.ndarray:
    """The cell name of every id (shares sum to one, checked in params)."""
    edges = np.cumsum([c.share for c in cells])
    edges[-1] = np.inf  # a draw just below 1 never falls past the last cell by rounding
    index = np.searchsorted(edges, draws(ids, test), side="right")
    return np.asarray([c.name for c in cells], dtype=object)[index]


@dataclass(frozen=True)
class StrategyTest:
    """A running test: its name, cells and the id column that assigns them."""

    name: str
    cells: tuple[Cell, ...]
    id_column: str

    @property
    def control(self) -> Cell:
        return self.cells[0]

    def strategy_of(self, cell: str) -> str:
        return {c.name: c.strategy for c in self.cells}[cell]

    def assign(self, frame: pd.DataFrame) -> np.ndarray:
        """Cell of every row; an id that is missing is refused (no row is put in a cell by
        default)."""
        ids = frame[self.id_column]
        missing = np.flatnonzero(ids.isna().to_numpy())
        if len(missing):
            raise InputError(
                f"{self.id_column}: missing in {len(missing)} row(s) (first: row {missing[0]}); "
                f"expected an id to assign the cell of strategy test {self.name!r}"
            )
        return assign_cells(ids, self.name, self.cells)

    def to_json(self) -> dict:
        return {"name": self.name, "id_column": self.id_column,
                "cells": [c.__dict__ for c in self.cells]}  # fmt: skip

    @classmethod
    def from_json(cls, raw: dict) -> StrategyTest:
        cells = tuple(Cell(**c) for c in raw["cells"])
        return cls(name=raw["name"], cells=cells, id_column=raw["id_column"])
