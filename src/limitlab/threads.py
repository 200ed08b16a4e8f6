"""Independent numpy work on the machine's cores.

numpy releases the GIL inside each operation, so independent columns (or blocks of rows)
computed in threads take less time on two cores, as XGBoost's own predict uses them.
Small batches (a server's requests) stay in the calling thread. Each task writes its own part of
the result: the answer does not depend on the number of threads.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from functools import cache
from typing import Any, TypeVar

T = TypeVar("T")

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


def in_background(call: Callable[..., T], rows: int, *args: Any) -> Callable[[], T]:
    """Start ``call(*args)`` on another core when ``rows`` is large (else call it now); the
    returned function gives its result (or raises its error). ``call`` must not use this
    module's pool itself: two such calls waiting on it could hold every thread."""
    if rows < MIN_ROWS or cores() < 2:
        done: Future[T] = Future()
        try:
            done.set_result(call(*args))
        except Exception as exc:  # raised where the result is read, as from a thread
            done.set_exception(exc)
        return done.result
    return _pool(os.getpid()).submit(call, *args).result
