"""The simulator against queueing theory (issue 15, docs/validation.md): an M/D/c day on the
synthetic grid, one door at a fixed trip time, compared with the exact mean wait and utilisation
of ``benchmarks/validate_queueing.py``."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path
from typing import Any

import pytest
from synthetic import HUB_ROW_COLUMN, grid_scenario_data, grid_world, node_lonlat

from carreta.sim.scenario import validate_scenario

ROOT = Path(__file__).resolve().parents[1]


def _queueing() -> Any:
    spec = importlib.util.spec_from_file_location(
        "validate_queueing", ROOT / "benchmarks" / "validate_queueing.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_exact_wait_matches_pollaczek_khinchine_for_one_server() -> None:
    """M/D/1: Wq = ρD / (2(1 − ρ)), the Pollaczek-Khinchine formula."""
    queueing = _queueing()
    for rho in (0.3, 0.6, 0.9):
        exact = queueing.mdc_mean_wait_s(arrival_rate_per_s=rho / 100.0, service_s=100.0, servers=1)
        assert exact == pytest.approx(rho * 100.0 / (2 * (1 - rho)), rel=1e-6)


def test_exact_wait_is_below_mmc_and_rejects_unstable() -> None:
    """M/D/c waits about half the M/M/c (Erlang C) wait; a load ≥ c is refused."""
    queueing = _queueing()
    servers, service_s, rho = 4, 600.0, 0.8
    rate = rho * servers / service_s
    offered = rate * service_s
    terms = sum(offered**k / math.factorial(k) for k in range(servers))
    last = offered**servers / math.factorial(servers) / (1 - rho)
    erlang_c_wait = last / (terms + last) / (servers / service_s - rate)
    exact = queueing.mdc_mean_wait_s(arrival_rate_per_s=rate, service_s=service_s, servers=servers)
    assert 0.4 * erlang_c_wait < exact < 0.6 * erlang_c_wait
    with pytest.raises(ValueError, match="unstable"):
        queueing.mdc_mean_wait_s(arrival_rate_per_s=1.0, service_s=4.0, servers=4)


def test_mdc_day_on_the_grid_matches_theory(grid_graphml: Path, tmp_path: Path) -> None:
    """2 robots, a door 2 blocks from the hub, ρ ≈ 0.7: replicates' 95 % intervals of the mean
    wait and the utilisation contain the exact M/D/c values."""
    queueing = _queueing()
    row, column = HUB_ROW_COLUMN
    lon, lat = node_lonlat(row + 2, column)
    door = tmp_path / "door.csv"
    door.write_text(f"lon,lat\n{lon},{lat}\n")
    data = grid_scenario_data(grid_graphml, tmp_path)
    data["hubs"][0].update({"loading_time_per_parcel_s": 0, "chargers": 0})
    data["fleet"]["robots"] = [
        {
            "type": "droid",
            "count": 2,
            "speed_kph": 6.0,
            "parcel_slots": 1,
            "battery_wh": 1e9,
            "service_time_s": 120,
            "reserve_fraction": 0.0,
        }
    ]
    data["demand"] = {
        "orders_per_day": 24 * 12.0,  # 12 an hour
        "hourly_profile": [1] * 24,
        "destinations": {"kind": "points_csv", "points_csv": str(door)},
        "time_window_min": 1440,
    }
    data["dispatch"] = {"policy": "nearest_idle"}
    data["simulation"] = {"start": "00:00", "duration_h": 24, "seed": 1}
    scenario = validate_scenario(data, source="<mdc grid>")
    world = grid_world(scenario)
    report = queueing.validate(scenario, world, replicates=30)
    assert 0.5 < report["exact_utilisation"] < 0.9
    for key, exact in (
        ("wait_s", report["exact_wait_s"]),
        ("utilisation", report["exact_utilisation"]),
    ):
        mean, low, high = report[key]
        assert low <= exact <= high, (key, exact, mean, low, high)
