"""Scoring with limits and four reasons against the raw predict of the same model, per family.

For XGBoost (exact TreeSHAP and the approximate Saabas attribution, each beside XGBoost's own
routine for the same values), the random forest (exact TreeSHAP), the additive family (exact
contributions from lookup tables) and the spline family (exact contributions: its curves): the
full path (feature transform, PD, policy, adverse-action reasons) and, beside it, the
contributions of every row alone (what reasons on every row would add). Needs a finished `make
repro` (the trained families and the policy). Usage:
    uv run python benchmarks/bench_reasons.py [ROWS]   (default 200,000 rows)
The raw predict of the additive family is XGBoost's own, on the same matrix.
The first line scores with the C allocator's defaults; the rest keep freed memory for reuse, as
limitlab's command line, server and MLflow model do (:mod:`limitlab.allocator`).
Prints figures only; nothing here is asserted.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd

from limitlab import paths
from limitlab.allocator import keep_freed_memory
from limitlab.data.lookup import text_column
from limitlab.data.specs import DatasetSpec
from limitlab.features.compiled import compile_transform
from limitlab.features.transformers import raw_inputs
from limitlab.limits.decide import decide_coded
from limitlab.limits.notices import notice_kind
from limitlab.limits.policy import Policy
from limitlab.limits.reasons import principal_reasons
from limitlab.models.additive import AdditiveBoosting
from limitlab.models.calibration import calibrated_out_of_fold
from limitlab.models.contributions import raw_feature_contributions
from limitlab.models.tree_shap import pred_contribs
from limitlab.serving.scorer import Scorer

ROOT = Path(__file__).resolve().parents[1]
REPEATS = 5
CASES = (
    ("xgboost", "exact"),
    ("xgboost", "saabas_approximate"),
    ("random_forest", "exact"),
    ("additive", "exact"),
    ("spline", "exact"),
)


def scorer_for(family: str, contributions: str) -> Scorer:
    """The family's pipeline, calibrated on its out-of-fold PDs, with the project's policy."""
    oof = pd.read_parquet(ROOT / paths.OUT_OF_FOLD)
    pipeline = joblib.load(ROOT / paths.model_path(family))
    model = calibrated_out_of_fold(pipeline, "platt", oof[family].to_numpy(), oof["_bad"])
    policy = Policy.from_json(ROOT / paths.POLICY)
    reasons = policy.params.reasons.model_copy(update={"contributions": contributions})
    policy = dataclasses.replace(
        policy, params=policy.params.model_copy(update={"reasons": reasons})
    )
    return Scorer(DatasetSpec.from_json(ROOT / paths.SPEC), model, policy)


def raw_predict(model: Any) -> Callable[[pd.DataFrame], Any]:
    """The model's own prediction: XGBoost's for the additive family (whose PD limitlab reads
    from its lookup tables), the family's ``predict_proba`` otherwise."""
    return (
        model.model_.predict_proba if isinstance(model, AdditiveBoosting) else model.predict_proba
    )


def timed(call: Callable[..., Any], *args: Any) -> tuple[float, Any]:
    """Seconds of the fastest of five calls (one when a call takes over 2 s): on 2 shared
    cores a single call's time varies by half."""
    best = float("inf")
    for _ in range(REPEATS):
        start = time.perf_counter()
        found = call(*args)
        best = min(best, time.perf_counter() - start)
        if best > 2.0:
            break
    return best, found


def main(n: int) -> None:
    test = pd.read_parquet(ROOT / paths.split_path("test"))
    frame = test.sample(n, replace=True, random_state=0).reset_index(drop=True)
    print(f"{n:,} applicants (test rows resampled), 2 threads; ratio = seconds / raw predict "
          f"(fastest of {REPEATS} calls)")  # fmt: skip
    print("family         reasons             raw predict   scoring (reasons where owed)   "
          "contributions, all rows   scoring rows/s")  # fmt: skip
    scorer = scorer_for("additive", "exact")
    matrix = scorer.pipeline[:-1].transform(raw_inputs(frame, scorer.spec))
    raw, _ = timed(raw_predict(scorer.pipeline[-1]), matrix)
    full, _ = timed(scorer.decide, frame)
    print(f"{'additive':14} {'exact':18} {raw:7.2f} s   {full:7.2f} s {full / raw:6.1f}x   "
          "(the C allocator's defaults: freed pages returned, faulted in again)")  # fmt: skip
    keep_freed_memory()  # as limitlab's command line, server and MLflow model run
    for family, mode in CASES:
        scorer = scorer_for(family, mode)
        matrix = scorer.pipeline[:-1].transform(raw_inputs(frame, scorer.spec))
        raw, _ = timed(raw_predict(scorer.pipeline[-1]), matrix)
        full, decided = timed(scorer.decide, frame)
        owed = float((decided["adverse_action"] != "none").mean())
        approx = mode == "saabas_approximate"
        every, _ = timed(raw_feature_contributions, scorer.pipeline[-1], matrix, approx)
        print(f"{family:14} {mode:18} {raw:7.2f} s   {full:7.2f} s {full / raw:6.1f}x ({owed:.0%} "
              f"owed)   {every:7.2f} s {every / raw:6.1f}x   {n / full:12,.0f}")  # fmt: skip
        if family == "xgboost":  # the same values from XGBoost's own routine
            alone, _ = timed(pred_contribs, scorer.pipeline[-1], matrix, approx)
            label = "(approx_contribs)" if approx else "(pred_contribs)"
            print(f"{'':14} {label:18} {raw:7.2f} s   {'':28} {alone:7.2f} s "
                  f"{alone / raw:6.1f}x")  # fmt: skip
    steps(frame)


def steps(frame: pd.DataFrame) -> None:
    """Where the additive family's full path goes, step by step (the steps of
    ``Scorer.decide``, called one by one: its PD and contributions read from raw columns)."""
    scorer = scorer_for("additive", "exact")
    model, policy, tables = scorer.pipeline[-1], scorer.policy, scorer.raw_tables
    compiled = compile_transform(scorer.pipeline[0]) is not None
    seconds, inputs = timed(raw_inputs, frame, scorer.spec, compiled)
    out = {"raw columns": seconds}
    out["raw-feature tables"], margins = timed(tables.margins, inputs)
    out["PD from the tables"], raw = timed(tables.pd_from_margins, margins)
    pd_ = scorer.model.calibrate(raw)
    out["policy (decision frame)"], (decided, codes) = timed(decide_coded, pd_, frame, policy)
    asked = frame.get(policy.requested_amount) if policy.requested_amount else None
    out["notice kinds"], kind = timed(notice_kind, decided, asked, codes)
    rows = np.flatnonzero((kind != "") & ~codes.knocked)
    every = pd.DataFrame(margins, columns=tables.features, index=decided.index)
    out["reasons"], _ = timed(
        principal_reasons, decided, every.iloc[rows], policy, kind != "", codes
    )
    matrix = scorer.features(inputs)
    out["XGBoost's own predict"], _ = timed(raw_predict(model), matrix)
    answer = scorer.decide(frame)
    arrays = {c: answer[c].to_numpy() for c in answer.columns}
    out["of all: the answer's frame alone"], _ = timed(frame_of, arrays, answer.index)
    print(f"\nadditive family, step by step ({len(frame):,} rows, fastest of {REPEATS} calls):")
    for step, value in out.items():
        print(f"  {step:32} {value * 1000:7.1f} ms")
    text = sum(v.dtype == object for v in arrays.values())
    print(f"  (the answer has {len(arrays)} columns, {text} of them text; its frame alone is the "
          "cost of building them from ready arrays)")  # fmt: skip


def frame_of(arrays: dict[str, np.ndarray], index: pd.Index) -> pd.DataFrame:
    """A frame of ready columns, text as object columns as the scorer builds them (pandas
    would otherwise copy text into Arrow strings): a floor under any policy and reasons code."""
    return pd.DataFrame(
        {c: text_column(v, index) if v.dtype == object else v for c, v in arrays.items()},
        index=index,
        copy=False,  # as the scorer builds it: each column kept as it is
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200_000)
