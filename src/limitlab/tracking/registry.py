"""Registry aliases: every new version is ``@challenger``; ``@champion`` only through the gates
(or by hand, with a reason). Gate results are tags on the version: ``pass``, ``warn`` (a gate
set to warn that was missed: promotion goes on) or ``fail``."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from limitlab.config import RegisterParams
from limitlab.errors import StateError
from limitlab.evaluation.metrics import classification_metrics, paired_auc_test
from limitlab.evaluation.swap import swap_set
from limitlab.processes import process_alive
from limitlab.tracking.gates import FAIL, PASS, Gate, fairness_gates, swap_gate

CHAMPION = "champion"
CHALLENGER = "challenger"
GATES_TAG = "gates"
INCOMPLETE = "incomplete: registration interrupted"
PROCESS_TAG = "limitlab.process"


def current_champion(client: MlflowClient, name: str) -> str | None:
    try:
        return str(client.get_model_version_by_alias(name, CHAMPION).version)
    except MlflowException:
        return None


_SCORE_IN_OWN_PROCESS = """
import sys
import mlflow
import pandas as pd
uri, inputs, output = sys.argv[1:]
model = mlflow.pyfunc.load_model(uri)
columns = model.metadata.get_input_schema().input_names()
test = pd.read_parquet(inputs)
missing = [c for c in columns if c not in test.columns]
if missing:
    sys.exit(f"the test data lacks its input column(s) {missing[:5]}")
numeric = {c: "float64" for c in columns if pd.api.types.is_numeric_dtype(test[c])}
model.predict(test[columns].astype(numeric))[["pd", "decision", "limit"]].to_parquet(output)
"""


def champion_decisions_on(name: str, test: pd.DataFrame) -> pd.DataFrame:
    """PD, decision and limit of the current ``@champion`` for this run's test rows.

    The champion is scored in a process of its own, where its bundled code is the code that
    runs (as under ``mlflow models serve``): a champion registered by an earlier limitlab still
    loads after the package's classes have changed.
    """
    with tempfile.TemporaryDirectory() as folder:
        inputs, output = Path(folder) / "test.parquet", Path(folder) / "pd.parquet"
        test.to_parquet(inputs, index=False)
        env = {**os.environ, "MLFLOW_TRACKING_URI": mlflow.get_tracking_uri()}
        done = subprocess.run(
            [sys.executable, "-c", _SCORE_IN_OWN_PROCESS, f"models:/{name}@{CHAMPION}",
             str(inputs), str(output)],
            env=env, capture_output=True, text=True, check=False, cwd=folder,
        )  # fmt: skip
        if done.returncode != 0:
            lines = (done.stderr or "").strip().splitlines() or ["no output"]
            raise StateError(f"the champion could not score the test rows: {lines[-1]}")
        return pd.read_parquet(output)


def versus_champion(
    rules: RegisterParams, champion: str, y: np.ndarray, new_pd: np.ndarray, old_pd: np.ndarray
) -> tuple[bool, str]:
    """The challenger against the champion on the same rows: refused when worse on both AUC and
    ECE, when its AUC is lower by more than the tolerance, or lower with DeLong's paired test
    significant at ``champion_alpha``."""
    new, old = classification_metrics(y, new_pd), classification_metrics(y, old_pd)
    test = paired_auc_test(y, new_pd, old_pd)
    worse_auc, worse_ece = new["auc"] < old["auc"], new["ece"] > old["ece"]
    figures = (
        f"AUC {new['auc']:.4f} vs {old['auc']:.4f} (DeLong p={test['p_value']:.3f}), ECE "
        f"{new['ece']:.4f} vs {old['ece']:.4f}, champion v{champion}, same test rows"
    )
    if worse_auc and worse_ece:
        return False, f"worse on both discrimination and calibration: {figures}"
    if worse_auc and test["p_value"] < rules.champion_alpha:
        return False, f"AUC significantly lower (alpha {rules.champion_alpha}): {figures}"
    if new["auc"] < old["auc"] - rules.champion_tolerance:
        return False, f"AUC lower by more than {rules.champion_tolerance}: {figures}"
    return True, f"not worse: {figures}"


def gate_results(
    evaluate: dict, rules: RegisterParams, champion: str | None, comparison: tuple[bool, str]
) -> dict[str, Gate]:
    """The test-metric gates and the comparison with the champion: (pass | fail, why)."""
    auc, ece = evaluate["auc"], evaluate["ece"]
    checks = {
        "min_test_auc": (auc >= rules.min_test_auc,
                         f"test AUC {auc:.4f}, minimum {rules.min_test_auc}"),
        "max_test_ece": (ece <= rules.max_test_ece,
                         f"test ECE {ece:.4f}, maximum {rules.max_test_ece}"),
        "vs_champion": (True, "no champion yet") if champion is None else comparison,
    }  # fmt: skip
    return {gate: (PASS if ok else FAIL, why) for gate, (ok, why) in checks.items()}


def compare_with_champion(
    rules: RegisterParams, champion: str, test: pd.DataFrame, y: np.ndarray, new: pd.DataFrame
) -> tuple[tuple[bool, str], dict | None]:
    """The paired comparison with the champion, and the swap set of the two models' limits
    (None when the champion cannot score these rows)."""
    try:
        old = champion_decisions_on(rules.model_name, test)
    except Exception as exc:  # any failure to score means: not comparable
        why = f"champion v{champion} cannot be compared: {type(exc).__name__}: {exc}"[:300]
        return (False, why), None
    old_pd = old["pd"].to_numpy(float)
    comparison = versus_champion(rules, champion, y, new["pd"].to_numpy(float), old_pd)
    swap = swap_set(y, new["limit"].to_numpy(float), old["limit"].to_numpy(float))
    return comparison, {"champion_version": champion, **swap}


def apply_gates(
    client: MlflowClient,
    rules: RegisterParams,
    version: str,
    evaluate: dict,
    fairness: dict,
    test: pd.DataFrame,
    y: np.ndarray,
    new: pd.DataFrame,
) -> dict:
    """Alias the new version ``@challenger``; promote it when no gate fails. Tag the results.

    ``new`` holds the new version's ``pd`` and ``limit`` for the rows of ``test`` (outcomes
    ``y``); ``fairness`` is the fairness stage's metrics.
    """
    name = rules.model_name
    champion = current_champion(client, name)
    comparison, swap = (True, ""), None
    if champion is not None:
        comparison, swap = compare_with_champion(rules, champion, test, y, new)
    gates = {
        **gate_results(evaluate, rules, champion, comparison),
        **fairness_gates(rules, fairness),
        **swap_gate(
            rules,
            swap,
            "no champion to compare"
            if champion is None
            else "not computed: the champion could not score the test rows",
        ),
    }
    client.set_registered_model_alias(name, CHALLENGER, version)
    for gate, (status, why) in gates.items():
        client.set_model_version_tag(name, version, f"gate.{gate}", f"{status}: {why}")
    promoted = all(status != FAIL for status, _ in gates.values())
    client.set_model_version_tag(name, version, GATES_TAG, "passed" if promoted else "failed")
    if promoted:
        client.set_registered_model_alias(name, CHAMPION, version)
        client.set_model_version_tag(name, version, "promoted", "by gates")
    return {
        "promoted": promoted,
        "previous_champion": champion,
        "gates": {g: {"passed": s != FAIL, "status": s, "why": w} for g, (s, w) in gates.items()},
        "swap_set": swap,
    }


def promote(client: MlflowClient, name: str, version: str, reason: str) -> None:
    """Make ``version`` the champion by hand, recording the reason and the previous champion."""
    try:
        found = client.get_model_version(name, version)
    except MlflowException:
        try:
            known = sorted(int(v.version) for v in client.search_model_versions(f"name = '{name}'"))
        except MlflowException:
            known = []
        raise StateError(
            f"registered model {name!r} has no version {version!r}; expected one of {known}"
        ) from None
    if found.tags.get(GATES_TAG) not in {"passed", "failed"}:
        raise StateError(
            f"{name} version {version} was not fully registered (gates "
            f"{found.tags.get(GATES_TAG, 'never checked')}); expected a version whose "
            "registration finished: run `dvc repro` to register a complete one"
        )
    previous = current_champion(client, name)
    client.set_registered_model_alias(name, CHAMPION, version)
    client.set_model_version_tag(name, version, "promoted", f"by hand: {reason}")
    client.set_model_version_tag(name, version, "previous_champion", previous or "none")


def clean_up_interrupted(client: MlflowClient, experiment_id: str, name: str) -> dict:
    """Close what a killed ``register`` left: runs still RUNNING whose process has ended are
    marked FAILED, and model versions without gate results are tagged incomplete (they can
    never be promoted). Returns the run ids and versions it closed."""
    runs = client.search_runs([experiment_id], filter_string="attributes.status = 'RUNNING'")
    stale = [r for r in runs if not process_alive(r.data.tags.get(PROCESS_TAG, ""))]
    for found in stale:
        client.set_tag(found.info.run_id, "limitlab.interrupted", "true")
        client.set_terminated(found.info.run_id, status="FAILED")
    try:
        versions = client.search_model_versions(f"name = '{name}'")
    except MlflowException:
        versions = []
    half_made = [v.version for v in versions if GATES_TAG not in v.tags]
    for version in half_made:
        client.set_model_version_tag(name, version, GATES_TAG, INCOMPLETE)
    return {"runs_failed": [r.info.run_id for r in stale], "versions_incomplete": half_made}
