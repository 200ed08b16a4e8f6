"""Freed memory is kept for the next array: column-sized arrays allocated and freed again fault
their pages in once, not every time (counted in a fresh process: the setting is the process's)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

CHURN = """
import json, resource, sys
import numpy as np
from limitlab.allocator import keep_freed_memory
kept = keep_freed_memory() if sys.argv[1] == "keep" else None
def churn():
    for _ in range(20):
        arrays = [np.ones(200_000) for _ in range(10)]  # ten 1.6 MB columns, then freed
        del arrays
churn()
faults = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_minflt
start = faults()
churn()
print(json.dumps({"kept": kept, "faults": faults() - start}))
"""


def churn(mode: str, **env: str) -> dict:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    clean.pop("LIMITLAB_KEEP_FREED_MEMORY", None)
    done = subprocess.run([sys.executable, "-c", CHURN, mode], env={**clean, **env},
                          capture_output=True, text=True, check=True)  # fmt: skip
    return json.loads(done.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator")
def test_freed_arrays_pages_are_reused() -> None:
    default, kept = churn("default"), churn("keep")
    assert kept["kept"] is True
    assert default["faults"] > 10_000  # every round maps and faults its arrays anew
    assert kept["faults"] < default["faults"] / 20


def test_the_users_own_settings_win() -> None:
    assert churn("keep", LIMITLAB_KEEP_FREED_MEMORY="0")["kept"] is False
    assert churn("keep", MALLOC_TRIM_THRESHOLD_="131072")["kept"] is False
