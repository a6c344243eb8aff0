"""``carreta validate`` makes every check a run makes, without simulating (model/preflight.py):
size against memory, network, hubs (with the swapped-coordinates hint), doors, files, closures."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from carreta.sim.cli import main
from carreta.sim.errors import ScenarioError
from carreta.sim.model.preflight import check_size, estimate_size, preflight
from carreta.sim.scenario import Scenario, validate_scenario


def changed(base: Scenario, edit: Any) -> Scenario:
    data = copy.deepcopy(base.model_dump(mode="json", exclude_none=True))
    edit(data)
    return validate_scenario(data, source="grid.yaml")


def test_a_sound_scenario_passes_every_check(grid_scenario: Scenario) -> None:
    found = preflight(grid_scenario, label="grid.yaml")
    assert [line.split(":")[0] for line in found.checks] == ["size", "network", "doors"]
    assert found.size.robots == 3 and 10 <= found.size.orders <= 60


def test_the_size_estimate_follows_the_simulated_hours(grid_scenario: Scenario) -> None:
    whole = estimate_size(grid_scenario)  # the profile's two hours are inside the window

    def half(data: dict[str, Any]) -> None:
        data["simulation"]["start"] = "10:00"
        data["simulation"]["duration_h"] = 2.0

    assert estimate_size(changed(grid_scenario, half)).orders == round(whole.orders / 2)


def test_a_day_too_big_for_memory_stops_before_it_starts(
    grid_scenario: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    def huge(data: dict[str, Any]) -> None:
        data["demand"]["orders_per_day"] = 10**10

    scenario = changed(grid_scenario, huge)
    with pytest.raises(ScenarioError, match=r"grid.yaml: demand.orders_per_day: this day needs"):
        check_size(scenario, label="grid.yaml")
    assert check_size(scenario, label="grid.yaml", memory_check=False).orders > 10**9
    monkeypatch.setenv("CARRETA_MEMORY_CHECK", "off")
    assert check_size(scenario, label="grid.yaml").orders > 10**9


def test_a_hub_with_swapped_coordinates_gets_a_hint(grid_scenario: Scenario) -> None:
    def swap(data: dict[str, Any]) -> None:
        hub = data["hubs"][0]
        hub["lon"], hub["lat"] = hub["lat"], hub["lon"]

    with pytest.raises(ScenarioError, match=r"hubs\[0\]: .*did you swap longitude and latitude"):
        preflight(changed(grid_scenario, swap), label="grid.yaml")


def test_doors_off_the_network_are_named(grid_scenario: Scenario, tmp_path: Path) -> None:
    points = tmp_path / "doors.csv"
    points.write_text("lon,lat\n2.35,48.85\n", encoding="utf-8")  # Paris

    def far(data: dict[str, Any]) -> None:
        data["demand"]["destinations"] = {"kind": "points_csv", "points_csv": str(points)}

    with pytest.raises(ScenarioError, match=r"demand.destinations: no door lies within 300 m"):
        preflight(changed(grid_scenario, far), label="grid.yaml")


def test_validate_command_prints_the_checks_and_fails_in_one_line(
    grid_scenario: Scenario, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "grid.yaml"
    path.write_text(yaml.safe_dump(grid_scenario.model_dump(mode="json", exclude_none=True)))
    with pytest.raises(SystemExit) as done:
        main(["validate", str(path)])
    assert done.value.code in (0, None)
    out = capsys.readouterr().out
    assert "valid" in out and "network:" in out and "doors:" in out
    with pytest.raises(SystemExit) as done:
        main(["validate", str(path), "--set", "demand.orders_per_day=10000000000"])
    assert done.value.code == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith(f"carreta: error: {path}: demand.orders_per_day: this day needs")
    assert "\n" not in error


def test_commands_filling_one_empty_cache_at_once_leave_it_whole(
    grid_graphml: Path, tiny_osm: Path, tmp_path: Path
) -> None:
    """Two ``carreta validate`` started together on an empty cache folder all pass; the cache
    they leave is one complete entry (no temporary file), which the next command reads."""
    import subprocess
    import sys

    from synthetic import grid_scenario_data

    cache = tmp_path / "cache"
    path = tmp_path / "grid.yaml"
    document = grid_scenario_data(grid_graphml, cache)
    document["network"]["osm_file"] = str(tiny_osm)  # an OSM file: parsed once, then cached
    document["hubs"][0].update(lon=3.8760, lat=43.6100)
    path.write_text(yaml.safe_dump(document), "utf-8")
    command = [sys.executable, "-m", "carreta.sim.cli", "validate", str(path)]
    processes = [
        subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    errors = [process.communicate(timeout=120)[1] for process in processes]
    assert [process.returncode for process in processes] == [0] * 2, errors
    entries = sorted(entry for entry in cache.rglob("*") if entry.is_file())
    assert entries and not [entry for entry in entries if entry.name.endswith(".tmp")], entries
    stamps = {entry: entry.stat().st_mtime_ns for entry in entries}
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0 and "rebuilding" not in done.stderr, done.stderr
    assert {entry: entry.stat().st_mtime_ns for entry in entries} == stamps  # read, not rebuilt
