"""The public ``carreta`` namespace: the facade's names, its version, no generic top-level names.

Adding a public name to ``carreta/__init__.py`` (the checkout's root ``__init__.py``) means adding
it to ``EXPECTED`` here: the facade is an interface users import from, so changes are deliberate.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import subprocess
import sys
from pathlib import Path

import pytest

import carreta

EXPECTED = {
    "CarretaError",
    "NetworkError",
    "NoRouteError",
    "ResultsExistError",
    "Route",
    "Router",
    "Run",
    "RunDirError",
    "Scenario",
    "ScenarioError",
    "SimulationResult",
    "SnapError",
    "UnknownNodeError",
    "__version__",
    "load_graph",
    "load_run",
    "load_scenario",
    "simulate",
    "write_run",
}


def test_all_lists_exactly_the_public_names() -> None:
    assert set(carreta.__all__) == EXPECTED
    assert len(carreta.__all__) == len(EXPECTED), "a name is listed twice"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_public_name_resolves_and_is_in_dir(name: str) -> None:
    assert getattr(carreta, name) is not None
    assert name in dir(carreta)


def test_names_come_from_the_subpackages_that_define_them() -> None:
    """The facade re-exports objects: ``carreta.simulate is carreta.sim.model.simulate``."""
    from carreta.routing import Router, load_graph
    from carreta.sim.model import simulate
    from carreta.sim.scenario import Scenario, load_scenario

    assert carreta.Router is Router and carreta.load_graph is load_graph
    assert carreta.simulate is simulate
    assert carreta.Scenario is Scenario and carreta.load_scenario is load_scenario


def test_errors_form_one_family() -> None:
    for name in ("NetworkError", "NoRouteError", "SnapError", "UnknownNodeError", "ScenarioError"):
        assert issubclass(getattr(carreta, name), carreta.CarretaError), name


def test_version_is_the_installed_distributions() -> None:
    assert carreta.__version__ == importlib.metadata.version("carreta")


def test_an_unknown_attribute_raises_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no_such_name"):
        _ = carreta.no_such_name  # type: ignore[attr-defined]


def test_subpackages_import_under_the_carreta_namespace() -> None:
    sim = importlib.import_module("carreta.sim")
    routing = importlib.import_module("carreta.routing")
    assert sim.__name__ == "carreta.sim" and routing.__name__ == "carreta.routing"
    assert isinstance(routing.Router, type)
    assert Path(sim.__file__).parent.parent == Path(carreta.__file__).parent


def test_import_carreta_is_lazy() -> None:
    """``import carreta`` (and so ``carreta --version``) does not load SimPy, OSMnx or pandas."""
    code = (
        "import sys, carreta; "
        "print(' '.join(m for m in ('simpy', 'osmnx', 'pandas', 'carreta.sim.model') "
        "if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == ""


@pytest.mark.parametrize("name", ["sim", "routing"])
def test_no_generic_top_level_module_outside_the_checkout(name: str, tmp_path: Path) -> None:
    """Installing carreta claims no top-level ``sim`` or ``routing``: from another folder they do
    not import (inside the checkout the folders themselves are on the path)."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    done = subprocess.run(
        [sys.executable, "-c", f"import {name}"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        check=False,
        timeout=60,
    )
    assert done.returncode == 1
    assert f"ModuleNotFoundError: No module named '{name}'" in done.stderr
