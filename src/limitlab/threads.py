"""Independent numpy work on the machine's cores.

numpy releases the GIL inside each operation, so independent columns (or blocks of rows)
computed in threads take about half the time on two cores, as XGBoost's own predict uses them.
Small batches (a server's requests) stay in the calling thread. Each task writes its own part of
the result: the answer does not depend on the number of threads.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from itertools import pairwise

MIN_ROWS = 50_000  # below this a thread's start-up costs more than it saves


def cores() -> int:
    """The cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


@cache
def _pool(pid: int) -> ThreadPoolExecutor:
    """One pool per process: a pool's threads do not survive a fork."""
    return ThreadPoolExecutor(max_workers=cores(), thread_name_prefix=f"limitlab-{pid}")


def run_each(task: Callable[[int], None], count: int, rows: int) -> None:
    """``task(0)`` .. ``task(count - 1)``, on the machine's cores when ``rows`` is large; the
    first error a task raises is raised here."""
    if rows < MIN_ROWS or count < 2 or cores() < 2:
        for i in range(count):
            task(i)
        return
    list(_pool(os.getpid()).map(task, range(count)))


def row_blocks(rows: int) -> list[slice]:
    """``rows`` split into one block per core (one block when small)."""
    parts = 1 if rows < MIN_ROWS else cores()
    bounds = [rows * i // parts for i in range(parts + 1)]
    return [slice(a, b) for a, b in pairwise(bounds)]
