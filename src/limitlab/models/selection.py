"""Choosing the champion family on validation data (never on test)."""

from __future__ import annotations

LOWER_IS_BETTER = frozenset({"brier", "log_loss"})


def choose_champion(valid: dict[str, dict[str, float]], metric: str, champion: str) -> str:
    """``champion`` when it names a family; for ``auto`` the family best on ``metric``."""
    if champion != "auto":
        return champion
    sign = -1 if metric in LOWER_IS_BETTER else 1
    return max(valid, key=lambda family: sign * valid[family][metric])
