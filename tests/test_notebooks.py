"""The notebooks are stored clean and run to completion (with small settings), so they never rot.

Each notebook has one cell tagged ``parameters``; the test inserts a cell after it that overrides
them (as papermill does), then executes the notebook with nbclient in a ``python3`` kernel whose
working directory is ``notebooks/``.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
ALL = ("01_quickstart.ipynb", "02_explore_a_run.ipynb", "03_sweep_analysis.ipynb")


@pytest.mark.parametrize("name", ALL)
def test_notebook_is_stored_without_outputs(name: str) -> None:
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and all(c.outputs == [] and c.execution_count is None for c in code)
    tagged = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, "exactly one cell tagged 'parameters'"


def execute(name: str, overrides: dict[str, object]) -> nbformat.NotebookNode:
    """Run the notebook with ``overrides`` injected after its parameters cell."""
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    index = next(
        i for i, cell in enumerate(notebook.cells) if "parameters" in cell.metadata.get("tags", [])
    )
    source = "\n".join(f"{key} = {value!r}" for key, value in overrides.items())
    injected = nbformat.v4.new_code_cell(source)
    injected.metadata["tags"] = ["injected-parameters"]
    notebook.cells.insert(index + 1, injected)
    client = NotebookClient(
        notebook,
        kernel_name="python3",
        timeout=300,
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    client.execute()
    return notebook


def _text(notebook: nbformat.NotebookNode) -> str:
    parts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            parts.append(output.get("text", ""))
            parts.append(str(output.get("data", {}).get("text/plain", "")))
    return "\n".join(parts)


@pytest.fixture
def shared_cache(monkeypatch: pytest.MonkeyPatch, carreta_cache_dir: Path, tmp_path: Path) -> Path:
    """Kernels inherit the environment: they use the session's network cache, and the folders
    the notebooks make with ``tempfile`` go below the test's ``tmp_path``."""
    monkeypatch.setenv("CARRETA_CACHE_DIR", str(carreta_cache_dir))
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    return carreta_cache_dir


@pytest.mark.slow
def test_quickstart_runs_and_writes_a_run(tmp_path: Path, shared_cache: Path) -> None:
    out = tmp_path / "quickstart-run"
    notebook = execute(
        "01_quickstart.ipynb", {"SCENARIO": "scenarios/tiny.yaml", "OUT_DIR": str(out)}
    )
    assert (out / "kpis.json").is_file() and (out / "orders.parquet").is_file()
    text = _text(notebook)
    assert "orders delivered" in text and "kpis.json" in text


@pytest.mark.slow
def test_explore_a_run_reads_tables_maps_districts_hours(
    tiny_run_dir: Path, shared_cache: Path
) -> None:
    before = sorted(p.name for p in tiny_run_dir.iterdir())
    notebook = execute("02_explore_a_run.ipynb", {"RUN_DIR": str(tiny_run_dir)})
    text = _text(notebook)
    assert "map_deliveries.png" in text and "MONTPELLIER CENTRE" in text
    images = [
        output
        for cell in notebook.cells
        for output in cell.get("outputs", [])
        if "image/png" in output.get("data", {})
    ]
    assert len(images) >= 4
    assert sorted(p.name for p in tiny_run_dir.iterdir()) == before  # the run is left alone


@pytest.mark.slow
def test_sweep_analysis_compares_fleet_sizes(shared_cache: Path) -> None:
    notebook = execute(
        "03_sweep_analysis.ipynb",
        {"SCENARIO": "scenarios/tiny.yaml", "FLEET_SIZES": [1, 3], "REPLICATES": 2, "WORKERS": 1},
    )
    text = _text(notebook)
    assert "4 runs completed, 0 failed" in text
    assert "on_frontier" in text and "Cheapest per order delivered on time" in text
