"""The layers stay apart: ``routing`` is pure graph code and never imports ``sim`` or SimPy."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def imported_modules(path: Path) -> set[str]:
    """Top-level names of every module imported by the Python file ``path``."""
    tree = ast.parse(path.read_text("utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_routing_never_imports_the_simulation() -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(imported_modules(path) & {"sim", "simpy"})
        for path in (ROOT / "routing").rglob("*.py")
    }
    assert {path: names for path, names in offenders.items() if names} == {}


def test_no_print_in_library_code() -> None:
    """Library code logs; only the command-line modules talk to the user."""
    offenders = []
    for path in [*(ROOT / "routing").rglob("*.py"), *(ROOT / "sim").rglob("*.py")]:
        if path.name.startswith("cli"):
            continue
        tree = ast.parse(path.read_text("utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "print":
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []
