"""``carreta run`` and ``carreta validate``: results folders, reproducibility, errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "scenarios" / "tiny.yaml"
GOLDEN = Path(__file__).resolve().parent / "golden" / "tiny_kpis.json"


def carreta(*args: str, cache: Path) -> subprocess.CompletedProcess[str]:
    """Run the installed ``carreta`` command line in a subprocess."""
    env = {**os.environ, "CARRETA_CACHE_DIR": str(cache)}
    return subprocess.run(
        [sys.executable, "-m", "carreta.sim.cli", *args],
        capture_output=True, text=True, env=env, cwd=ROOT, check=False, timeout=600,
    )  # fmt: skip


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory: pytest.TempPathFactory, carreta_cache_dir: Path) -> list[Path]:
    """The tiny scenario run twice with the same seed, through the command line."""
    base = tmp_path_factory.mktemp("cli-runs")
    runs = []
    for name in ("first", "second"):
        done = carreta("run", str(TINY), "--out", str(base / name), cache=carreta_cache_dir)
        assert done.returncode == 0, done.stderr
        assert "on_time_share" in done.stdout
        assert "OpenStreetMap" in done.stdout
        runs.append(base / name)
    return runs


@pytest.mark.slow
def test_a_run_writes_every_table(two_runs: list[Path]) -> None:
    run = two_runs[0]
    expected = {
        "scenario.resolved.yaml", "manifest.json", "kpis.json", "orders.parquet",
        "robots.parquet", "events.parquet", "legs.parquet", "trips.geojson",
    }  # fmt: skip
    assert expected <= {path.name for path in run.iterdir()}
    manifest = json.loads((run / "manifest.json").read_text("utf-8"))
    assert manifest["status"] == "completed"
    assert manifest["seed"] == 7
    assert manifest["versions"]["simpy"]
    orders = pd.read_parquet(run / "orders.parquet")
    kpis = json.loads((run / "kpis.json").read_text("utf-8"))
    assert len(orders) == kpis["orders_created"]
    assert (orders["state"] == "delivered").sum() == kpis["orders_delivered"]
    assert not any(path.name.startswith(".") for path in run.parent.iterdir())  # no temp left


@pytest.mark.slow
def test_same_seed_gives_byte_identical_kpis_and_orders(two_runs: list[Path]) -> None:
    first, second = two_runs
    for name in ("kpis.json", "orders.parquet", "robots.parquet", "events.parquet"):
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


@pytest.mark.slow
def test_golden_kpis(two_runs: list[Path]) -> None:
    """The tiny scenario reproduces its saved KPIs exactly.

    After an intended change of the model, regenerate with
    ``CARRETA_UPDATE_GOLDEN=1 pytest tests/test_cli_run.py::test_golden_kpis`` and explain the
    change in the commit message.
    """
    kpis = json.loads((two_runs[0] / "kpis.json").read_text("utf-8"))
    if os.environ.get("CARRETA_UPDATE_GOLDEN") == "1":
        GOLDEN.write_text(json.dumps(kpis, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    assert kpis == json.loads(GOLDEN.read_text("utf-8"))


@pytest.mark.slow
def test_an_existing_results_folder_is_never_overwritten(
    two_runs: list[Path], carreta_cache_dir: Path
) -> None:
    run = two_runs[0]
    before = {path.name: path.read_bytes() for path in run.iterdir()}
    done = carreta("run", str(TINY), "--out", str(run), cache=carreta_cache_dir)
    assert done.returncode == 2
    assert "already exists" in done.stderr
    assert "Traceback" not in done.stderr
    assert {path.name: path.read_bytes() for path in run.iterdir()} == before


@pytest.mark.slow
def test_seed_option_changes_the_demand(tmp_path: Path, carreta_cache_dir: Path) -> None:
    done = carreta(
        "run", str(TINY), "--out", str(tmp_path / "s3"), "--seed", "3", cache=carreta_cache_dir
    )
    assert done.returncode == 0, done.stderr
    manifest = json.loads((tmp_path / "s3" / "manifest.json").read_text("utf-8"))
    assert manifest["seed"] == 3
    resolved = (tmp_path / "s3" / "scenario.resolved.yaml").read_text("utf-8")
    assert "seed: 3" in resolved


def test_validate_accepts_the_shipped_scenarios(carreta_cache_dir: Path) -> None:
    for path in sorted((ROOT / "scenarios").glob("*.yaml")):
        if path.name.startswith("sweep"):
            continue
        done = carreta("validate", str(path), cache=carreta_cache_dir)
        assert done.returncode == 0, done.stderr
        assert "valid" in done.stdout


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            TINY.read_text("utf-8").replace("count: 3", "count: 3\n      speed_kph: 0"),
            "fleet.robots[0].speed_kph: must be greater than 0",
        ),
        ("name: [unclosed\n", "invalid YAML"),
        ("", "empty"),
    ],
    ids=["zero-speed", "bad-yaml", "empty-file"],
)
def test_a_bad_scenario_is_one_line_and_exit_code_2(
    tmp_path: Path, carreta_cache_dir: Path, text: str, message: str
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(text, encoding="utf-8")
    for command in ("validate", "run"):
        done = carreta(command, str(bad), cache=carreta_cache_dir)
        assert done.returncode == 2
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1, done.stderr
        assert str(bad) in lines[0] and message in lines[0]
        assert "Traceback" not in done.stderr
