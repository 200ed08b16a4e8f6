"""Freed memory kept for reuse by the C allocator, in limitlab's own processes.

Deciding a large batch allocates and frees hundreds of column-sized numpy arrays. glibc's
``malloc`` maps an array above its mmap threshold (128 KB at start) to fresh pages, and hands the
heap back to the system whenever more than its trim threshold is free at the top; either way
the next array's pages fault in anew. On 200,000 applicants that is about 16,000 page faults, a
quarter of the time of a decision. Raising both thresholds keeps freed memory for the next array
(at most ``TRIM_THRESHOLD`` of it idle). The command line, the model server and the MLflow model
set this when they start; a notebook may call :func:`keep_freed_memory` itself.

``LIMITLAB_KEEP_FREED_MEMORY=0`` leaves the allocator as it is, and so does a ``MALLOC_*``
setting of the user's own; another C library than glibc is left alone.
"""

from __future__ import annotations

import ctypes
import os
import sys

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters
MMAP_THRESHOLD = 32 * 2**20  # the largest glibc accepts: larger arrays are still mapped
TRIM_THRESHOLD = 256 * 2**20
USER_SETTINGS = ("MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TOP_PAD_")


def keep_freed_memory() -> bool:
    """Raise glibc's mmap and trim thresholds for this process; True when they were set."""
    if os.environ.get("LIMITLAB_KEEP_FREED_MEMORY", "1") == "0":
        return False
    if any(name in os.environ for name in USER_SETTINGS) or not sys.platform.startswith("linux"):
        return False
    mallopt = getattr(ctypes.CDLL(None), "mallopt", None)  # glibc's, if this process has it
    if mallopt is None:
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    )
