from pathlib import Path

import pytest
import yaml

from limitlab.config import DataParams, ParamsError, flat_params, load_params, parse_params
from limitlab.data.specs import resolve_spec

REPO = Path(__file__).resolve().parents[1]


def base_params() -> dict:
    return yaml.safe_load((REPO / "params.yaml").read_text())


def test_repository_params_load_and_flatten() -> None:
    params = load_params(REPO / "params.yaml")
    flat = flat_params(params)
    assert flat["data.dataset"] == "credit_scoring"
    assert flat["register.model_name"] == params.registry.model_name
    assert len(params.limits.grades) == 10


def test_missing_params_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ParamsError, match=r"nope\.yaml: params file not found"):
        load_params(tmp_path / "nope.yaml")


def test_invalid_value_names_key_value_and_expectation() -> None:
    raw = base_params()
    raw["split"]["test_size"] = 1.5
    with pytest.raises(ParamsError) as err:
        parse_params(raw)
    assert "split.test_size" in str(err.value)
    assert "1.5" in str(err.value)
    assert "less than 1" in str(err.value)


def test_unknown_key_is_refused_with_its_name() -> None:
    raw = base_params()
    raw["tune"]["n_trails"] = 5
    with pytest.raises(ParamsError, match=r"tune\.n_trails: unknown key"):
        parse_params(raw)


def test_unordered_master_scale_is_refused() -> None:
    raw = base_params()
    raw["limits"]["grades"][0]["max_pd"] = 0.5
    with pytest.raises(ParamsError, match="strictly increasing"):
        parse_params(raw)


def test_unknown_dataset_name_lists_choices() -> None:
    params = parse_params({**base_params(), "data": {"dataset": "nosuch"}})
    with pytest.raises(ParamsError, match=r"unknown dataset .nosuch.*credit_scoring"):
        resolve_spec(params.data)


def test_custom_dataset_requires_path_target_and_bad_value() -> None:
    params = parse_params({**base_params(), "data": {"dataset": "custom", "path": "x.csv"}})
    with pytest.raises(ParamsError, match=r"data\.target, data\.bad_value"):
        resolve_spec(params.data)


def test_bundled_spec_keeps_protected_out_of_features() -> None:
    spec = resolve_spec(parse_params(base_params()).data)
    assert {"Age", "Marital"} <= set(spec.protected)
    assert not {"Age", "Marital"} & set(spec.features)
    assert spec.income == "Income"


def test_a_yaml_syntax_error_or_duplicate_key_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "params.yaml"
    path.write_text("split:\n  seed: 1\n  seed: 2\n")
    with pytest.raises(ParamsError, match=r"params.yaml: not valid YAML at line 3, column 3: "
                       r'found duplicate key "seed"'):  # fmt: skip
        load_params(path)
    path.write_text("split:\n  seed: [1\n")
    with pytest.raises(ParamsError, match=r"not valid YAML at line 3, column 1: expected ','"):
        load_params(path)


def test_the_target_listed_as_a_feature_is_refused() -> None:
    from limitlab.data.specs import resolve_spec

    params = DataParams(dataset="custom", path="x.csv", target="y", bad_value=1,
                        numeric=["income", "y"])  # fmt: skip
    with pytest.raises(ParamsError, match=r"data.target 'y' is also listed in data.numeric"):
        resolve_spec(params)
