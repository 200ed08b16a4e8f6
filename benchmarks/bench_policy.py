"""Time to decide N applicants with the limit policy alone (PD given), and to add reasons.

Usage: uv run python benchmarks/bench_policy.py [N]   (default 1,000,000). Prints figures only.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from limitlab.config import load_params
from limitlab.data.specs import DatasetSpec
from limitlab.limits import Policy, decide, principal_reasons

ROOT = Path(__file__).resolve().parents[1]


def synthetic_applicants(n: int, seed: int = 0) -> tuple[np.ndarray, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    income = rng.lognormal(4.8, 0.5, n)
    income[rng.uniform(size=n) < 0.08] = np.nan
    frame = pd.DataFrame(
        {
            "Income": income,
            "Debt": rng.exponential(300, n),
            "Records": rng.choice(["yes", "no"], n, p=[0.17, 0.83]),
            "Expenses": rng.uniform(35, 180, n),
        }
    )
    return rng.beta(1.2, 4, n), frame


def main(n: int) -> None:
    spec = DatasetSpec("bench", "-", "Status", "bad", income="Income", debt="Debt")
    params = load_params(ROOT / "params.yaml").limits
    policy = Policy.build(params, spec, ["Income", "Debt", "Records", "Expenses"])
    pd_, frame = synthetic_applicants(n)
    start = time.perf_counter()
    decisions = decide(pd_, frame, policy)
    decided = time.perf_counter() - start
    contributions = pd.DataFrame(
        np.random.default_rng(1).normal(size=(n, 12)), columns=[f"f{i}" for i in range(12)]
    )
    start = time.perf_counter()
    principal_reasons(decisions, contributions, policy)
    reasons = time.perf_counter() - start
    print(f"applicants          {n:,}")
    print(f"decide (policy)     {decided:.2f} s  ({n / decided:,.0f} per second)")
    print(f"reasons (12 feats)  {reasons:.2f} s  ({n / reasons:,.0f} per second)")
    print(f"approval rate       {(decisions['decision'] == 'approve').mean():.1%}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
