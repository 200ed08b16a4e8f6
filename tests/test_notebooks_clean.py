"""Notebooks are stored clean: no outputs, no execution counts, and they import limitlab."""

from __future__ import annotations

import json

import pytest

from .conftest import NOTEBOOKS

BOOKS = sorted(NOTEBOOKS.glob("*.ipynb"))


def test_the_numbered_notebooks_exist_in_order() -> None:
    names = [b.stem for b in BOOKS]
    assert names == [
        "01-explore-data",
        "02-compare-experiments",
        "03-limit-policy-what-if",
        "04-explain-decisions",
        "05-monitor-portfolio",
    ]


@pytest.mark.parametrize("path", BOOKS, ids=lambda p: p.stem)
def test_notebook_is_stored_without_outputs(path) -> None:
    book = json.loads(path.read_text())
    dirty = [
        i
        for i, cell in enumerate(book["cells"])
        if cell["cell_type"] == "code" and (cell.get("outputs") or cell.get("execution_count"))
    ]
    assert not dirty, (
        f"{path.name}: cells {dirty} hold outputs or execution counts; clear them before "
        "committing (JupyterLab: Edit > Clear Outputs of All Cells)"
    )


@pytest.mark.parametrize("path", BOOKS, ids=lambda p: p.stem)
def test_notebook_opens_with_its_purpose_and_imports_the_package(path) -> None:
    cells = json.loads(path.read_text())["cells"]
    assert cells[0]["cell_type"] == "markdown"
    intro = "".join(cells[0]["source"])
    assert "**For:**" in intro and "**Reads:**" in intro
    code = "".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    assert "from limitlab" in code
    assert "def " not in code and "class " not in code, "logic belongs in src/limitlab"
