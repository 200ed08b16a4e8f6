"""``dvc.yaml`` against the stage modules: each stage's params and code deps are exactly what its
module declares, and the declarations are exactly what its code reads.

What a stage reads is found in its source: ``params.<section>[.<key>]`` attribute chains (a stage
that hands the whole ``params`` to a function reads every section), and the ``limitlab`` modules
it imports, followed through every import of theirs.
"""

from __future__ import annotations

import ast
import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from limitlab.config import Params
from limitlab.stages import STAGES

REPO = Path(__file__).resolve().parents[1]
SRC = REPO / "src" / "limitlab"
SECTIONS = {name: field.alias or name for name, field in Params.model_fields.items()}
PACKAGE_MARKERS = {"limitlab", "limitlab.stages"}  # imported on the way; hold no logic


def dvc_stages() -> dict:
    return yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]


def module_file(module: str) -> Path | None:
    base = SRC.parent.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def imported_modules(path: Path) -> set[str]:
    """``limitlab`` modules a file imports (anywhere in it, lazy imports included)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("limitlab")}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("limitlab"):
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.add(sub if module_file(sub) else node.module)
    return found


def import_closure(module: str) -> set[str]:
    seen, todo = set(), [module]
    while todo:
        current = todo.pop()
        if current in seen or module_file(current) is None:
            continue
        seen.add(current)
        todo.extend(imported_modules(module_file(current)))
    return seen - PACKAGE_MARKERS


def source_entry(module: str) -> str:
    """``limitlab.data.specs`` -> ``data``; ``limitlab.io`` -> ``io.py``;
    ``limitlab.stages.tune`` -> ``stages/tune.py``."""
    parts = module.split(".")[1:]
    if parts[0] == "stages" or len(parts) == 1:
        return "/".join(parts) + ".py"
    return parts[0]


def covers(entry: str, path: str) -> bool:
    return entry == "." or path == entry or path.startswith(entry.rstrip("/") + "/")


def params_read(path: Path) -> set[tuple[str, ...]]:
    """``params.a.b`` chains in a stage's source, as yaml names; ('*',) for a bare ``params``."""
    tree = ast.parse(path.read_text())
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    chains = set()
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Name) and node.id == "params"):
            continue
        if isinstance(parents.get(node), ast.arg | ast.FunctionDef):
            continue
        chain, current = [], node
        while isinstance(parents.get(current), ast.Attribute):
            current = parents[current]
            chain.append(current.attr)
        if not chain:
            chains.add(("*",))
            continue
        section, *keys = chain
        chains.add((SECTIONS.get(section, section), *keys[:1]))
    return chains


def declared_covers(declared: str, chain: tuple[str, ...]) -> bool:
    return tuple(declared.split(".")) == chain[: len(declared.split("."))]


@pytest.mark.parametrize("stage", list(STAGES))
def test_dvc_yaml_repeats_the_stage_declarations(stage: str) -> None:
    module = importlib.import_module(f"limitlab.stages.{stage}")
    entry = dvc_stages()[stage]
    assert entry["cmd"] == f"limitlab {stage}"
    assert sorted(entry.get("params", [])) == sorted(module.PARAMS), (
        f"dvc.yaml stage {stage!r}: params should be {sorted(module.PARAMS)}"
    )
    code = sorted(d for d in entry["deps"] if d.startswith("src/"))
    own = f"stages/{stage}.py"
    entries = set(module.CODE) | ({own} if not any(covers(c, own) for c in module.CODE) else set())
    expected = sorted(f"src/limitlab/{c}".rstrip("/.") for c in entries)
    assert code == expected, f"dvc.yaml stage {stage!r}: code deps should be {expected}"


@pytest.mark.parametrize("stage", list(STAGES))
def test_stage_declares_the_params_its_code_reads(stage: str) -> None:
    module = importlib.import_module(f"limitlab.stages.{stage}")
    chains = params_read(Path(module.__file__))
    if ("*",) in chains:  # the whole Params handed on: every section is read
        assert sorted(module.PARAMS) == sorted(SECTIONS.values())
        return
    unread = [d for d in module.PARAMS if not any(declared_covers(d, c) for c in chains)]
    undeclared = [c for c in chains if not any(declared_covers(d, c) for d in module.PARAMS)]
    assert not undeclared, f"stage {stage!r} reads {undeclared} but PARAMS does not declare them"
    assert not unread, f"stage {stage!r} declares {unread} in PARAMS but never reads them"


@pytest.mark.parametrize("stage", list(STAGES))
def test_stage_declares_the_code_it_imports(stage: str) -> None:
    module = importlib.import_module(f"limitlab.stages.{stage}")
    own = f"stages/{stage}.py"
    used = {source_entry(m) for m in import_closure(module.__name__)} - {own}
    missing = sorted(u for u in used if not any(covers(c, u) for c in module.CODE))
    unused = sorted(c for c in module.CODE if not any(covers(c, u) for u in used))
    assert not missing, f"stage {stage!r} runs code in {missing} that CODE does not declare"
    assert not unused, f"stage {stage!r} declares {unused} in CODE but imports none of it"


FEATURES_READERS = {"features_path", "load_xy"}  # data/processed/<split>.parquet
SPLIT_READERS = {"split_path", "load_split", "split_batches", "sample_positions", "in_batches"}


def loop_values(tree: ast.AST) -> dict[str, set[str]]:
    """Names bound by a ``for`` over a literal tuple of strings: ``for n in ("train", "valid")``."""
    found: dict[str, set[str]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.comprehension | ast.For) and isinstance(node.target, ast.Name):
            items = node.iter.elts if isinstance(node.iter, ast.Tuple | ast.List) else []
            if items and all(isinstance(i, ast.Constant) and isinstance(i.value, str)
                             for i in items):  # fmt: skip
                found.setdefault(node.target.id, set()).update(i.value for i in items)
    return found


def split_files_read(path: Path) -> set[str]:
    """The split and feature files a stage's source names by a literal split name (directly or
    through a loop over literal names)."""
    tree = ast.parse(path.read_text())
    loops, files = loop_values(tree), set()
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and node.args):
            continue
        func = (
            node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        )
        arg = node.args[0]
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            names = {arg.value}
        else:
            names = loops.get(arg.id, set()) if isinstance(arg, ast.Name) else set()
        folder = ("data/processed" if func in FEATURES_READERS
                  else "data/interim/splits" if func in SPLIT_READERS else None)  # fmt: skip
        files |= {f"{folder}/{n}.parquet" for n in names} if folder else set()
    return files


@pytest.mark.parametrize("stage", list(STAGES))
def test_stage_declares_the_split_files_it_reads(stage: str) -> None:
    entry = dvc_stages()[stage]
    declared = [str(next(iter(d)) if isinstance(d, dict) else d)
                for d in [*entry["deps"], *entry.get("outs", [])]]  # fmt: skip
    read = split_files_read(SRC / "stages" / f"{stage}.py")
    missing = sorted(f for f in read if not any(covers(d, f) for d in declared))
    assert not missing, f"dvc.yaml stage {stage!r} reads {missing} but does not declare them"


def test_metrics_and_plots_are_declared_once() -> None:
    pipeline = yaml.safe_load((REPO / "dvc.yaml").read_text())
    metrics = pipeline["metrics"]
    assert len(metrics) == len(set(metrics)), f"metrics listed twice: {metrics}"
    outs = {str(next(iter(o)) if isinstance(o, dict) else o)
            for s in pipeline["stages"].values() for o in s.get("outs", [])}  # fmt: skip
    for path in metrics:
        assert path in outs, f"metrics file {path} is no stage's output"


def test_every_stage_module_is_short_and_in_dvc_yaml() -> None:
    assert list(dvc_stages()) == list(STAGES)
    for stage in STAGES:
        lines = len((SRC / "stages" / f"{stage}.py").read_text().splitlines())
        assert lines < 150, f"stages/{stage}.py has {lines} lines; a stage module stays thin"


def test_committed_lock_matches_the_code_params_and_data() -> None:
    """``dvc.lock`` records the hashes of the code, params and raw data each stage ran with; a
    lock left behind by a change would make a fresh clone's ``make repro`` rewrite it."""
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run([str(bin_dir / "dvc"), "status", "--json"], cwd=REPO, env=env,
                          capture_output=True, text=True, check=True)  # fmt: skip
    tracked = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True,
                             check=True).stdout.split()  # fmt: skip

    outputs = [next(iter(o)) if isinstance(o, dict) else o
               for stage in dvc_stages().values() for o in stage.get("outs", [])]  # fmt: skip

    def derived(path: str) -> bool:  # written by a stage, or a folder holding such outputs
        path = path.rstrip("/")
        return any(o == path or o.startswith(path + "/") or path.startswith(o + "/")
                   for o in outputs)  # fmt: skip

    def source(path: str) -> bool:  # in git and written by no stage: code, params, raw data
        in_git = path in tracked or any(t.startswith(path.rstrip("/") + "/") for t in tracked)
        return in_git and not derived(path)

    stale = {}
    for stage, changes in json.loads(done.stdout or "{}").items():
        for change in changes:
            deps = change.get("changed deps", {}) if isinstance(change, dict) else {}
            changed = [p for p, what in deps.items() if isinstance(what, dict) or source(p)]
            if changed:
                stale[stage] = changed
    assert not stale, f"dvc.lock is stale for {stale}; run `make repro` and commit dvc.lock"
