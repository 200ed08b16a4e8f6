"""Swap set: a new model's decisions against the current champion's on the same applicants.

Cells: swap-ins (approved now, declined before), swap-outs (declined now, approved before),
both declined, and both approved with the limit up, down or unchanged; per cell the count,
the realised bad rate, and the exposure (sum of limits) under each model.
"""

from __future__ import annotations

import numpy as np

CELLS = ("swap_in", "swap_out", "both_declined", "limit_up", "limit_down", "limit_same")


def swap_cells(
    y: np.ndarray,
    new_limit: np.ndarray,
    old_limit: np.ndarray,
) -> dict[str, np.ndarray]:
    """A boolean mask per cell; an applicant is approved when the limit is positive."""
    new_limit, old_limit = np.asarray(new_limit, float), np.asarray(old_limit, float)
    if not len(y) == len(new_limit) == len(old_limit):
        raise ValueError(
            f"{len(y)} outcomes, {len(new_limit)} new and {len(old_limit)} old limits; "
            "expected one of each per applicant"
        )
    new_ok, old_ok = new_limit > 0, old_limit > 0
    both = new_ok & old_ok
    return {
        "swap_in": new_ok & ~old_ok,
        "swap_out": ~new_ok & old_ok,
        "both_declined": ~new_ok & ~old_ok,
        "limit_up": both & (new_limit > old_limit),
        "limit_down": both & (new_limit < old_limit),
        "limit_same": both & (new_limit == old_limit),
    }


def swap_set(y: np.ndarray, new_limit: np.ndarray, old_limit: np.ndarray) -> dict:
    """Per cell: count, realised bad rate (None for an empty cell), exposure new and old; and
    the total exposure change and the swap-ins' bad rate less the swap-outs'."""
    y = np.asarray(y, float)
    new_limit, old_limit = np.asarray(new_limit, float), np.asarray(old_limit, float)
    cells = {}
    for name, mask in swap_cells(y, new_limit, old_limit).items():
        count = int(mask.sum())
        cells[name] = {
            "count": count,
            "bad_rate": float(y[mask].mean()) if count else None,
            "exposure_new": float(new_limit[mask].sum()),
            "exposure_old": float(old_limit[mask].sum()),
        }
    ins, outs = cells["swap_in"]["bad_rate"], cells["swap_out"]["bad_rate"]
    return {
        "applicants": len(y),
        "cells": cells,
        "exposure_new": float(new_limit.sum()),
        "exposure_old": float(old_limit.sum()),
        "exposure_change": float(new_limit.sum() - old_limit.sum()),
        "bad_rate_excess": None if ins is None or outs is None else ins - outs,
    }


def swap_line(swap: dict) -> str:
    """One line: swap-ins and -outs with their bad rates, limits up / down, exposure change."""
    c = swap["cells"]

    def rate(cell: str) -> str:
        found = c[cell]["bad_rate"]
        return "-" if found is None else f"{found:.1%}"

    return (
        f"swap-ins {c['swap_in']['count']:,} (bad rate {rate('swap_in')}), swap-outs "
        f"{c['swap_out']['count']:,} (bad rate {rate('swap_out')}), limit up "
        f"{c['limit_up']['count']:,} / down {c['limit_down']['count']:,} / same "
        f"{c['limit_same']['count']:,}, both declined {c['both_declined']['count']:,}; "
        f"exposure {swap['exposure_change']:+,.0f}"
    )
