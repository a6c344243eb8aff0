"""Lint, format and type checks are part of the test suite (ruff and mypy, pinned in the ``test``
extra and configured in pyproject.toml), so the README's one test command checks them too."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(command: list[str], *, env: dict[str, str] | None = None) -> None:
    done = subprocess.run(
        [sys.executable, "-m", *command],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize(
    "command",
    [["ruff", "check", "."], ["ruff", "format", "--check", "."]],
    ids=["ruff-check", "ruff-format"],
)
def test_ruff_passes(command: list[str]) -> None:
    _run(command)


def test_mypy_passes(tmp_path: Path) -> None:
    """mypy checks the ``carreta`` namespace as it is installed.

    The checkout's folders become ``carreta.sim`` and ``carreta.routing`` through setuptools'
    ``package-dir`` mapping, which mypy cannot follow in an editable install; a ``carreta``
    symlink to the checkout, on ``MYPYPATH``, gives it the same names.
    """
    (tmp_path / "carreta").symlink_to(ROOT, target_is_directory=True)
    env = {**os.environ, "MYPYPATH": str(tmp_path)}
    _run(
        [
            "mypy",
            "--config-file", str(ROOT / "pyproject.toml"),
            "--cache-dir", str(tmp_path / ".mypy_cache"),
            "-m", "carreta", "-p", "carreta.routing", "-p", "carreta.sim",
        ],
        env=env,
    )  # fmt: skip
