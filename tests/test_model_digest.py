"""A registered model's files are checked against the digests logged with it before any is
unpickled."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import joblib
import pytest

from limitlab.config import load_params
from limitlab.data.specs import DatasetSpec
from limitlab.errors import StateError
from limitlab.limits import Policy
from limitlab.serving.pyfunc import LimitModel, artifact_digests

from .conftest import REPO

SPEC = DatasetSpec(name="t", path="t.csv", target="s", bad_value="bad", numeric=("Income",),
                   income="Income")  # fmt: skip


def bundle(tmp_path: Path) -> dict[str, str]:
    files = {"spec": tmp_path / "spec.json", "model": tmp_path / "champion.joblib",
             "policy": tmp_path / "policy.json"}  # fmt: skip
    SPEC.to_json(files["spec"])
    joblib.dump({"stands for": "a fitted model"}, files["model"])
    limits = load_params(REPO / "params.yaml").limits
    Policy.build(limits, SPEC, ["Income"]).to_json(files["policy"])
    return {name: str(path) for name, path in files.items()}


def test_files_as_registered_load(tmp_path: Path) -> None:
    files = bundle(tmp_path)
    config = {"artifact_sha256": artifact_digests(files)}
    model = LimitModel()
    model.load_context(SimpleNamespace(artifacts=files, model_config=config))
    assert model.scorer.spec == SPEC


def test_a_changed_model_file_is_refused_before_it_is_unpickled(tmp_path: Path) -> None:
    files = bundle(tmp_path)
    digests = artifact_digests(files)
    joblib.dump({"something": "else"}, files["model"])
    with pytest.raises(
        StateError, match=r"model artifact\(s\) \['model'\] differ from the digests"
    ):
        LimitModel().load_context(
            SimpleNamespace(artifacts=files, model_config={"artifact_sha256": digests})
        )
