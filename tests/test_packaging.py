"""The wheel holds exactly the ``carreta`` namespace and works installed away from the checkout.

The checkout keeps its folders (``sim/``, ``routing/``) at the top and setuptools maps them into
``carreta`` (``package-dir`` and an explicit ``packages`` list in pyproject.toml). Nothing else
checks that list: a new subpackage missing from it works in the editable install and is absent
from the wheel. So a wheel is built from a copy of the checkout (the build writes ``build/`` and
``*.egg-info`` next to the sources), inspected, and installed into a fresh virtual environment.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
PACKAGE_FOLDERS = ("sim", "routing")  # the checkout's folders installed under carreta/
NOT_SHIPPED = ("tests", "benchmarks", "notebooks", "scenarios", "docs", "sim", "routing")
REQUIRED_FILES = (
    "carreta/__init__.py",
    "carreta/py.typed",
    "carreta/sim/viz/templates/replay.html",
)


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without anything that would put the checkout on ``sys.path``."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    return {**env, "PYTHONNOUSERSITE": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1", **extra}


def run(command: list[str], *, cwd: Path, env: dict[str, str] | None = None) -> str:
    """Run ``command``; fail the test with its output unless it exits 0; return its stdout."""
    done = subprocess.run(
        command,
        cwd=cwd,
        env=env or clean_env(),
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert done.returncode == 0, f"{command} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def package_folders() -> dict[str, Path]:
    """Every folder under sim/ and routing/ with an ``__init__.py``, by its import name."""
    found = {"carreta": ROOT}
    for top in PACKAGE_FOLDERS:
        for init in sorted((ROOT / top).rglob("__init__.py")):
            relative = init.parent.relative_to(ROOT)
            if "__pycache__" not in relative.parts:
                found[".".join(("carreta", *relative.parts))] = init.parent
    return found


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A wheel built with pip from a copy of the checkout (with build isolation, as a user's
    ``pip install`` would; pip takes setuptools from its cache or the package index)."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "carreta-src"
    shutil.copytree(
        ROOT,
        source,
        ignore=shutil.ignore_patterns(
            ".*", "__pycache__", "*.egg-info", "build", "dist", "results", "*.pyc"
        ),
    )
    out = work / "dist"
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(source)],
        cwd=work)  # fmt: skip
    (built,) = out.glob("carreta-*.whl")
    return built


@pytest.fixture(scope="module")
def wheel_names(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as archive:
        return archive.namelist()


def test_the_wheel_holds_only_the_carreta_namespace(wheel_names: list[str]) -> None:
    tops = {name.split("/")[0] for name in wheel_names}
    dist_info = {top for top in tops if top.endswith(".dist-info")}
    assert len(dist_info) == 1 and tops - dist_info == {"carreta"}
    for required in REQUIRED_FILES:
        assert required in wheel_names, required
    inside = {name.split("/")[1] for name in wheel_names if name.startswith("carreta/")}
    assert inside.isdisjoint({"tests", "benchmarks", "notebooks", "scenarios", "docs"}), inside
    assert not [name for name in wheel_names if "__pycache__" in name or name.endswith(".pyc")]


def test_every_package_folder_is_listed_in_pyproject() -> None:
    """A folder with an ``__init__.py`` under sim/ or routing/ that is missing from
    ``[tool.setuptools] packages`` would be left out of the wheel."""
    settings = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["tool"]["setuptools"]
    assert settings["package-dir"] == {"carreta": "."}
    listed = set(settings["packages"])
    found = set(package_folders())
    assert found - listed == set(), "add these to [tool.setuptools] packages"
    assert listed - found == set(), "listed in [tool.setuptools] packages but not a folder"


def test_every_module_of_the_checkout_is_in_the_wheel(wheel_names: list[str]) -> None:
    expected = {"carreta/__init__.py"}
    for top in PACKAGE_FOLDERS:
        for module in (ROOT / top).rglob("*.py"):
            if "__pycache__" not in module.parts:
                expected.add("carreta/" + module.relative_to(ROOT).as_posix())
    missing = expected - set(wheel_names)
    assert missing == set(), "modules the wheel lacks (is their folder a listed package?)"


def test_the_wheel_installed_in_a_fresh_venv_works_outside_the_checkout(
    wheel: Path, tmp_path: Path
) -> None:
    """Installed from the wheel (dependencies from the system's site-packages, nothing
    downloaded), ``carreta`` and all its public names import from the venv, not from the
    editable checkout, and its command line runs from another folder."""
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], cwd=tmp_path)
    bin_dir = venv / ("Scripts" if os.name == "nt" else "bin")
    python = bin_dir / "python"
    run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)],
        cwd=tmp_path)  # fmt: skip
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    code = (
        "import carreta, carreta.sim.cli; "
        "[getattr(carreta, name) for name in carreta.__all__]; "  # every public name imports
        "print(carreta.__version__); print(carreta.__file__)"
    )
    version, location = run([str(python), "-c", code], cwd=elsewhere).split()
    # The checkout's editable install is in the system site-packages too; the venv's wins.
    assert Path(location).resolve().is_relative_to(venv.resolve()), location
    assert not Path(location).resolve().is_relative_to(ROOT)
    expected = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]["version"]
    assert version == expected
    assert run([str(bin_dir / "carreta"), "--version"], cwd=elsewhere).split()[-1] == version
    scenario = ROOT / "scenarios" / "tiny.yaml"
    said = run([str(bin_dir / "carreta"), "validate", str(scenario)], cwd=elsewhere)
    assert said.startswith(f"{scenario}: valid") and "3 robot(s)" in said
