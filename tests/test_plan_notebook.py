"""notebooks/04_plan.ipynb is stored clean and reads a plan's folder to the end.

A small plan on the synthetic grid (tests/test_plan.py's) makes the folder in seconds; the
notebook is executed like the others (tests/test_notebooks.py's ``execute``).
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from test_notebooks import NOTEBOOKS, _text, execute
from test_plan import cli, write_base, write_plan

NAME = "04_plan.ipynb"


def test_plan_notebook_is_stored_without_outputs() -> None:
    notebook = nbformat.read(NOTEBOOKS / NAME, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and all(c.outputs == [] and c.execution_count is None for c in code)
    tagged = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, "exactly one cell tagged 'parameters'"


@pytest.mark.slow
def test_plan_notebook_explains_a_plan(
    tmp_path: Path, grid_graphml: Path, carreta_cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_base(tmp_path, grid_graphml, carreta_cache_dir)
    plan_file = write_plan(tmp_path)
    out = tmp_path / "plan"
    assert cli("plan", plan_file, "--out", out, "--holdout", "2") == 0
    monkeypatch.setenv("CARRETA_CACHE_DIR", str(carreta_cache_dir))
    notebook = execute(NAME, {"PLAN_DIR": str(out)})
    text = _text(notebook)
    assert "runs used by the search" in text and "held-out (2 fresh replicates)" in text
    assert "Target: on_time_share >= 0.95" in text
