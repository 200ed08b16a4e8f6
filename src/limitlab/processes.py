"""A process named so that it cannot be mistaken for a later one that reuses its pid."""

from __future__ import annotations

import psutil


def process_claim(process: psutil.Process | None = None) -> str:
    """``pid:start time`` of ``process`` (default: this one)."""
    process = process or psutil.Process()
    return f"{process.pid}:{process.create_time():.3f}"


def process_alive(claim: str) -> bool:
    """Whether the process of a :func:`process_claim` still runs."""
    try:
        pid, started = claim.split(":")
        return f"{psutil.Process(int(pid)).create_time():.3f}" == started
    except (ValueError, psutil.Error):
        return False
