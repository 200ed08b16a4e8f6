"""Registry aliases: every new version is ``@challenger``; ``@champion`` only through the gates
(or by hand, with a reason). Gate results are tags on the version."""

from __future__ import annotations

import mlflow
import numpy as np
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from limitlab.config import RegisterParams
from limitlab.errors import InputError, StateError
from limitlab.evaluation.metrics import classification_metrics

CHAMPION = "champion"
CHALLENGER = "challenger"


def current_champion(client: MlflowClient, name: str) -> str | None:
    try:
        return str(client.get_model_version_by_alias(name, CHAMPION).version)
    except MlflowException:
        return None


def champion_auc_on(name: str, test: pd.DataFrame, y: np.ndarray) -> float:
    """Test AUC of the current ``@champion`` on this run's test rows (raises if it cannot score)."""
    model = mlflow.pyfunc.load_model(f"models:/{name}@{CHAMPION}")
    columns = model.metadata.get_input_schema().input_names()
    missing = [c for c in columns if c not in test.columns]
    if missing:
        raise InputError(f"the test data lacks its input column(s) {missing[:5]}")
    numeric = {c: "float64" for c in columns if pd.api.types.is_numeric_dtype(test[c])}
    predictions = model.predict(test[columns].astype(numeric))
    return classification_metrics(y, predictions["pd"].to_numpy(float))["auc"]


def gate_results(
    evaluate: dict, rules: RegisterParams, champion: str | None, champion_auc: float | str | None
) -> dict[str, tuple[bool, str]]:
    """Each gate: (passed, why)."""
    auc, ece = evaluate["auc"], evaluate["ece"]
    gates = {
        "min_test_auc": (
            auc >= rules.min_test_auc,
            f"test AUC {auc:.4f}, minimum {rules.min_test_auc}",
        ),
        "max_test_ece": (
            ece <= rules.max_test_ece,
            f"test ECE {ece:.4f}, maximum {rules.max_test_ece}",
        ),
    }
    if champion is None:
        gates["vs_champion"] = (True, "no champion yet")
    elif isinstance(champion_auc, str):
        gates["vs_champion"] = (False, f"champion v{champion} cannot be compared: {champion_auc}")
    else:
        floor = champion_auc - rules.champion_tolerance
        gates["vs_champion"] = (
            auc >= floor,
            f"test AUC {auc:.4f} vs champion v{champion} {champion_auc:.4f} on the same test "
            f"data (tolerance {rules.champion_tolerance})",
        )
    return gates


def apply_gates(
    client: MlflowClient,
    rules: RegisterParams,
    version: str,
    evaluate: dict,
    test: pd.DataFrame,
    y: np.ndarray,
) -> dict:
    """Alias the new version ``@challenger``; promote it when every gate passes. Tag the results."""
    name = rules.model_name
    champion = current_champion(client, name)
    champion_auc: float | str | None = None
    if champion is not None:
        try:
            champion_auc = champion_auc_on(name, test, y)
        except Exception as exc:  # any failure to score means: not comparable
            champion_auc = f"{type(exc).__name__}: {exc}"[:300]
    gates = gate_results(evaluate, rules, champion, champion_auc)
    client.set_registered_model_alias(name, CHALLENGER, version)
    for gate, (passed, why) in gates.items():
        client.set_model_version_tag(
            name, version, f"gate.{gate}", f"{'pass' if passed else 'fail'}: {why}"
        )
    promoted = all(passed for passed, _ in gates.values())
    client.set_model_version_tag(name, version, "gates", "passed" if promoted else "failed")
    if promoted:
        client.set_registered_model_alias(name, CHAMPION, version)
        client.set_model_version_tag(name, version, "promoted", "by gates")
    return {"promoted": promoted, "previous_champion": champion,
            "gates": {g: {"passed": p, "why": w} for g, (p, w) in gates.items()}}  # fmt: skip


def promote(client: MlflowClient, name: str, version: str, reason: str) -> None:
    """Make ``version`` the champion by hand, recording the reason and the previous champion."""
    try:
        client.get_model_version(name, version)
    except MlflowException:
        try:
            known = sorted(int(v.version) for v in client.search_model_versions(f"name = '{name}'"))
        except MlflowException:
            known = []
        raise StateError(
            f"registered model {name!r} has no version {version!r}; expected one of {known}"
        ) from None
    previous = current_champion(client, name)
    client.set_registered_model_alias(name, CHAMPION, version)
    client.set_model_version_tag(name, version, "promoted", f"by hand: {reason}")
    client.set_model_version_tag(name, version, "previous_champion", previous or "none")
