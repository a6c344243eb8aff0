"""The command line starts fast: importing it, or what ``carreta validate --schema-only`` needs,
loads no heavy library (``benchmarks/bench_startup.py`` times it; here only the imports are
checked)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

TINY = Path(__file__).resolve().parents[1] / "scenarios" / "tiny.yaml"

#: Libraries that take from 0.1 to 1 s each to import (together about 2 s).
HEAVY = (
    "dask",
    "geopandas",
    "matplotlib",
    "networkx",
    "numba",
    "numpy",
    "osmnx",
    "pandas",
    "pyarrow",
    "scipy",
    "shapely",
    "simpy",
    "tqdm",
)


def heavy_modules_after(statement: str) -> list[str]:
    """The heavy libraries a fresh interpreter has loaded after running ``statement``."""
    probe = (
        f"import sys\n{statement}\n"
        f"print('loaded:', *(name for name in {HEAVY!r} if name in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    last = done.stdout.splitlines()[-1].split()
    assert last[0] == "loaded:", done.stdout + done.stderr
    return last[1:]


@pytest.mark.parametrize(
    "statement",
    [
        "import carreta.sim.cli",
        "from carreta.sim.cli import app; import typer; typer.main.get_command(app)",
        "import carreta.routing.errors, carreta.routing.files, carreta.sim.errors",
        "import carreta.sim.scenario",
        "import carreta",
    ],
)
def test_light_imports_stay_light(statement: str) -> None:
    assert heavy_modules_after(statement) == []


@pytest.mark.parametrize(
    "args", [["--version"], ["validate", "--schema-only", str(TINY)]], ids=["version", "validate"]
)
def test_version_and_validate_load_no_heavy_library(args: list[str]) -> None:
    run = f"from carreta.sim.cli import main\ntry:\n    main({args!r})\nexcept SystemExit as end:\n"
    assert heavy_modules_after(run + "    assert end.code in (0, None), end.code") == []


def test_the_routing_layer_still_loads_on_first_use() -> None:
    loaded = heavy_modules_after("from carreta.routing import load_graph")
    # OSMnx (a second or more with scikit-learn) only once a file is parsed or a place fetched:
    # a cached network never needs it.
    assert "networkx" in loaded and "osmnx" not in loaded
    parse = (
        "from carreta.routing.network import _load_graphml\n"
        "try:\n    _load_graphml(__import__('pathlib').Path('/nonexistent.graphml'))\n"
        "except Exception:\n    pass"
    )
    assert "osmnx" in heavy_modules_after(parse)
    assert {"numpy", "scipy"} <= set(heavy_modules_after("from carreta.routing import Router"))
