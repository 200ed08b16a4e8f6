"""The outcome of a PD model: binary, one label for good and one for bad."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import column_or_1d

from limitlab.errors import InputError


def check_binary_target(y: Any) -> np.ndarray:
    """``y`` as a 1-d array of two classes; refuse anything else, naming what was given."""
    y = column_or_1d(y, warn=True)
    kind = type_of_target(y, input_name="y", raise_unknown=True)
    if kind != "binary":
        raise InputError(
            f"Only binary classification is supported. The type of the target is {kind}; "
            "a PD model expects two classes (good and bad)"
        )
    if len(np.unique(y)) < 2:
        raise InputError(
            f"y holds one class only ({np.unique(y).tolist()}); a PD model expects both good "
            "and bad rows"
        )
    return y
