"""The package's shape: layers import one way, no module imports itself back, no print.

Layers, bottom to top (docs/architecture.md draws them)::

    carreta.routing                      pure graph code
    carreta.sim.errors, carreta.sim      the user-error family; the (empty) package
    carreta.sim.scenario                 scenario models, reading, overrides, docs
    carreta.sim.model                    world builder, SimPy actors, policies
    carreta.sim.output                   tables, KPIs, costs, results folder, compare
    carreta.sim.viz | carreta.sim.sweep  plots and replay | parameter sweeps (not each other)
    carreta.sim.plan                     planning searches over sweeps (fleet, chargers, hubs)
    carreta.sim.cli                      the command line

A module may import its own layer and those below, never one above nor a sibling at its level.
Every import counts: module level, inside functions (the CLI's lazy imports) and under
``TYPE_CHECKING``. The modules form no import cycle either.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from pathlib import Path

import networkx as nx
import pytest

ROOT = Path(__file__).resolve().parents[1]

#: (prefix, rank): a module belongs to the longest matching prefix.
LAYERS: tuple[tuple[str, int], ...] = (
    ("carreta.routing", 0),
    ("carreta.sim", 1),
    ("carreta.sim.errors", 1),
    ("carreta.sim.scenario", 2),
    ("carreta.sim.model", 3),
    ("carreta.sim.output", 4),
    ("carreta.sim.viz", 5),
    ("carreta.sim.sweep", 5),
    ("carreta.sim.plan", 6),
    ("carreta.sim.cli", 7),
)


def module_sources() -> dict[str, str]:
    """Every module of the ``carreta.sim`` and ``carreta.routing`` packages -> its source."""
    sources = {}
    for folder in ("sim", "routing"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            sources[".".join(["carreta", *parts])] = path.read_text("utf-8")
    return sources


def _imports(module: str, source: str, modules: set[str]) -> Iterator[tuple[str, int]]:
    """(imported carreta module, line) for every import in ``source``, wherever it is."""
    is_package = any(other.startswith(module + ".") for other in modules)
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("carreta."):
                    yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            if not base.startswith("carreta.") and base != "carreta":
                continue
            for alias in node.names:
                child = f"{base}.{alias.name}"
                yield (child if child in modules else base), node.lineno


def import_graph(sources: Mapping[str, str]) -> nx.DiGraph:
    """Module -> imported module, with the line of the first such import."""
    modules = set(sources)
    graph = nx.DiGraph()
    graph.add_nodes_from(modules)
    for module, source in sources.items():
        for target, line in _imports(module, source, modules):
            if target in modules and target != module and not graph.has_edge(module, target):
                graph.add_edge(module, target, line=line)
    return graph


def layer_of(module: str) -> tuple[str, int]:
    """The layer (prefix, rank) a module belongs to."""
    matches = [(prefix, rank) for prefix, rank in LAYERS if module == prefix or
               module.startswith(prefix + ".")]  # fmt: skip
    return max(matches, key=lambda match: len(match[0]))


def layer_violations(sources: Mapping[str, str]) -> list[str]:
    """Imports that go up a layer or sideways between the layers of one rank."""
    problems = []
    for module, target, line in import_graph(sources).edges(data="line"):
        (own, rank), (their, their_rank) = layer_of(module), layer_of(target)
        if their_rank > rank or (their_rank == rank and own != their and rank > 1):
            problems.append(f"{module}:{line} imports {target} ({their} is not below {own})")
    return sorted(problems)


def import_cycles(sources: Mapping[str, str]) -> list[list[str]]:
    """Groups of modules that import each other, directly or not."""
    graph = import_graph(sources)
    return sorted(sorted(group) for group in nx.strongly_connected_components(graph)
                  if len(group) > 1)  # fmt: skip


def test_layers_import_one_way() -> None:
    assert layer_violations(module_sources()) == []


def test_modules_form_no_import_cycle() -> None:
    assert import_cycles(module_sources()) == []


@pytest.mark.parametrize(
    ("module", "added"),
    [
        ("carreta.sim.model.robot", "from carreta.sim.output.kpis import orders_table"),
        ("carreta.sim.scenario.models", "import carreta.sim.cli"),
        ("carreta.routing.router", "from carreta.sim.model.records import Order"),
        ("carreta.sim.viz.plots", "from carreta.sim.sweep.report import summarise_runs"),
    ],
)
def test_an_upward_import_is_caught_even_under_type_checking(module: str, added: str) -> None:
    sources = dict(module_sources())
    sources[module] += f"\nfrom typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    {added}\n"
    problems = layer_violations(sources)
    assert len(problems) == 1 and problems[0].startswith(module + ":")


def test_an_import_cycle_is_caught() -> None:
    sources = dict(module_sources())
    sources["carreta.sim.model.records"] += (
        "\ndef _late() -> None:\n    import carreta.sim.model.robot\n"
    )
    cycles = import_cycles(sources)
    assert len(cycles) == 1
    assert {"carreta.sim.model.records", "carreta.sim.model.robot"} <= set(cycles[0])


def test_routing_never_imports_the_simulation_or_simpy() -> None:
    offenders = {}
    for module, source in module_sources().items():
        if not module.startswith("carreta.routing"):
            continue
        names = set()
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                names.add(node.module)
        bad = sorted(n for n in names if n.split(".")[0] in {"sim", "simpy"} or
                     n.startswith("carreta.sim"))  # fmt: skip
        if bad:
            offenders[module] = bad
    assert offenders == {}


def test_no_generic_top_level_import_names() -> None:
    """Library code imports ``carreta.sim`` / ``carreta.routing``, never ``sim`` / ``routing``."""
    offenders = []
    folders = ("sim", "routing", "tests", "benchmarks")
    paths = [
        *ROOT.glob("*.py"),
        *(path for folder in folders for path in (ROOT / folder).rglob("*.py")),
    ]
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            if any(name.split(".")[0] in {"sim", "routing"} for name in names):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []


def test_class_names_are_unique_across_the_package() -> None:
    seen: dict[str, list[str]] = {}
    for module, source in module_sources().items():
        for node in ast.parse(source).body:
            if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                seen.setdefault(node.name, []).append(module)
    assert {name: where for name, where in seen.items() if len(where) > 1} == {}


def test_no_print_in_library_code() -> None:
    """Library code logs; only the command-line modules talk to the user."""
    offenders = []
    for module, source in module_sources().items():
        if module.startswith("carreta.sim.cli"):
            continue
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "print":
                offenders.append(f"{module}:{node.lineno}")
    assert offenders == []
