"""Vans as a baseline: same orders as robots, the drive network, stop times, costs, CO2 and
``carreta compare`` on the robots-versus-vans pair."""

from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from carreta.sim.model.engine import SimulationResult, check_invariants, simulate
from carreta.sim.model.world import World
from carreta.sim.output.compare import (
    DEMAND_COLUMNS,
    PER_PARCEL_KPIS,
    compare_kpis,
    same_orders,
)
from carreta.sim.output.costs import FleetDay, co2e_kg, day_costs
from carreta.sim.output.kpis import result_kpis
from carreta.sim.output.results import write_run
from carreta.sim.output.tables import legs_table, orders_table, robots_table
from carreta.sim.scenario.models import Scenario, load_scenario
from carreta.sim.scenario.operations import Costs
from carreta.sim.scenario.sections import Energy

ROOT = Path(__file__).resolve().parents[1]
PAIR = ROOT / "scenarios" / "robots_vs_vans"
VANS_ONLY = {"fleet.robots[0].count": 0, "fleet.vans": [{"count": 2}]}


@pytest.fixture(scope="module")
def by_van(tiny: Scenario, world: World) -> SimulationResult:
    """The tiny morning delivered by two diesel vans."""
    return simulate(tiny.with_overrides(VANS_ONLY), world=world)


@pytest.mark.slow
def test_robots_and_vans_see_the_same_orders(
    tiny: Scenario, world: World, by_van: SimulationResult
) -> None:
    robots = orders_table(simulate(tiny, world=world))
    vans = orders_table(by_van)
    columns = [*DEMAND_COLUMNS, "due_s", "node", "access_m"]
    pd.testing.assert_frame_equal(robots[columns], vans[columns])
    assert same_orders(robots, vans)
    assert not same_orders(robots, orders_table(simulate(tiny, world=world, seed=8)))


@pytest.mark.slow
def test_vans_drive_the_directed_drive_network(by_van: SimulationResult) -> None:
    check_invariants(by_van)
    assert by_van.world.vans is not None
    graph = by_van.world.vans.graph
    assert graph.graph["carreta_report"]["profile"] == "van"
    driven = 0
    for leg in by_van.legs:
        for u, v in itertools.pairwise(leg.nodes.tolist()):
            if u != v:
                assert graph.has_edge(u, v), f"{leg.robot_id} drove {u}→{v}, not a van street"
                driven += 1
    assert driven > 100
    robots = robots_table(by_van)
    assert robots["kind"].tolist() == ["van", "van"]
    assert (robots["deliveries"] > 0).all()
    assert robots["fuel_l"].to_numpy() == pytest.approx(robots["distance_km"].to_numpy() * 0.09)
    kpis = result_kpis(by_van)
    assert kpis["robots"] == 0 and kpis["vans"] == 2 and kpis["robot_km"] == 0
    assert kpis["van_km"] == kpis["vehicle_km"] == pytest.approx(robots["distance_km"].sum())
    assert kpis["co2_kg"] == pytest.approx(kpis["fuel_l"] * 3.1)
    assert kpis["energy_kwh"] == 0  # diesel


@pytest.mark.slow
def test_a_van_stop_is_parking_walking_and_handing_over(by_van: SimulationResult) -> None:
    assert by_van.world.vans is not None
    legs = legs_table(by_van)
    orders = orders_table(by_van)
    delivered = orders[orders["state"] == "delivered"]
    snapped = by_van.world.vans.snapper.snap(
        delivered["lon"].to_numpy(), delivered["lat"].to_numpy()
    )
    expected = 120.0 + 60.0 + 2.0 * snapped.distance_m / (4.5 / 3.6)
    for k, order in enumerate(delivered.itertuples()):
        mine = legs[(legs["robot_id"] == order.robot_id) & (legs["kind"] == "to_stop")]
        arrived = mine.loc[mine["arrive_s"] < order.delivered_s, "arrive_s"].max()
        assert order.delivered_s - arrived == pytest.approx(expected[k])
        last = mine.loc[mine["arrive_s"] == arrived, "nodes"].iloc[0][-1]
        assert last == snapped.nodes[k]  # the van stopped at the door's drive-network node
    assert np.median(snapped.distance_m) < 150


@pytest.mark.slow
def test_an_electric_van_uses_grid_energy(tiny: Scenario, world: World) -> None:
    electric = {**VANS_ONLY, "fleet.vans": [{"count": 2, "energy_source": "electric"}]}
    kpis = result_kpis(simulate(tiny.with_overrides(electric), world=world))
    assert kpis["fuel_l"] == 0
    assert kpis["energy_kwh"] == pytest.approx(kpis["van_km"] * 0.220 / 0.9)
    assert kpis["co2_kg"] == pytest.approx(kpis["energy_kwh"] * 0.052)


def test_day_costs_add_up() -> None:
    costs, energy = Costs(), Energy()
    fleet = FleetDay(
        window_h=10.0, robots=4, operators=1, diesel_vans=1, electric_vans=1, van_km=100.0,
        grid_kwh=20.0, diesel_l=9.0,
    )  # fmt: skip
    day = day_costs(fleet, costs, energy)
    robot = 25_000.0 / (5.0 * 250.0) + 2.0 * 10.0
    vans = 30_000.0 / (6.0 * 250.0) + 40_000.0 / (6.0 * 250.0) + 100.0 * 0.08
    assert day.vehicles_eur == pytest.approx(4 * robot + vans)
    assert day.staff_eur == pytest.approx(10.0 * (1 * 25.0 + 2 * 25.0))
    assert day.energy_eur == pytest.approx(20.0 * 0.20 + 9.0 * 1.45)
    assert day.total_eur == pytest.approx(day.vehicles_eur + day.staff_eur + day.energy_eur)
    assert co2e_kg(20.0, 9.0, energy) == pytest.approx(20.0 * 0.052 + 9.0 * 3.1)


def test_compare_kpis_gives_differences_and_changes() -> None:
    table = compare_kpis({"vans": 0, "km_per_delivery": 1.0}, {"km_per_delivery": 1.5, "vans": 3})
    rows = table.set_index("kpi")
    assert rows.loc["km_per_delivery", "difference"] == pytest.approx(0.5)
    assert rows.loc["km_per_delivery", "change"] == pytest.approx(0.5)
    assert np.isnan(rows.loc["vans", "change"])  # from 0: no relative change
    assert table["kpi"].tolist() == ["km_per_delivery", "vans"]  # per-parcel KPIs first


# -- the shipped pair and carreta compare -------------------------------------------------------


def test_the_pair_differs_only_in_its_fleet() -> None:
    robots = load_scenario(PAIR / "robots.yaml")
    vans = load_scenario(PAIR / "vans.yaml")
    skip = {"name", "description", "fleet"}
    assert robots.model_dump(exclude=skip) == vans.model_dump(exclude=skip)
    assert (robots.fleet.robot_count, robots.fleet.van_count) == (20, 0)
    assert (vans.fleet.robot_count, vans.fleet.van_count) == (0, 14)
    assert robots.operations.supervision.mode == "remote"
    assert robots.operations.breakdowns.mean_time_between_failures_h is not None


def carreta(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the ``carreta`` command line in a subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "carreta.sim.cli", *args],
        capture_output=True, text=True, cwd=ROOT, check=False, timeout=300,
    )  # fmt: skip


@pytest.mark.slow
def test_carreta_compare_shows_robots_against_vans(tmp_path: Path, carreta_cache_dir: Path) -> None:
    shorter = {  # the pair's morning, to keep the test fast
        "network.cache_dir": str(carreta_cache_dir),
        "demand.orders_per_day": 300,
        "simulation.duration_h": 5.0,
    }
    runs = {}
    for side in ("robots", "vans"):
        scenario = load_scenario(PAIR / f"{side}.yaml", overrides=shorter)
        runs[side] = write_run(simulate(scenario), tmp_path / side)
    done = carreta("compare", str(runs["robots"]), str(runs["vans"]))
    assert done.returncode == 0, done.stderr
    lines = {line.split()[0]: line.split()[1:] for line in done.stdout.splitlines() if line}
    for name in PER_PARCEL_KPIS:
        robots_value, vans_value = (float(text.replace(",", "")) for text in lines[name][:2])
        assert robots_value > 0 and vans_value > 0, name
    co2 = [float(text.replace(",", "")) for text in lines["co2_g_per_delivery"][:2]]
    assert co2[1] > 10 * co2[0]  # diesel against French grid electricity
    assert "same orders" in done.stdout
    assert done.stdout.index("km_per_delivery") < done.stdout.index("orders_created")


def test_carreta_compare_rejects_a_folder_that_is_not_a_run(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    for bad in (tmp_path / "missing", tmp_path / "empty"):
        done = carreta("compare", str(bad), str(bad))
        assert done.returncode == 2
        assert len(done.stderr.strip().splitlines()) == 1
        assert str(bad) in done.stderr and "Traceback" not in done.stderr


ECUSSON = ROOT / "scenarios" / "ecusson_phase3.yaml"
ZONES = ROOT.parent / "shared" / "data" / "montpellier" / "VilleMTP_MTP_ZonePietonne.geojson"


@pytest.mark.slow
def test_simulate_keeps_vans_out_of_the_zones_outside_their_access_hours(
    carreta_cache_dir: Path,
) -> None:
    """Through the public API, on the city's streets with doors in the Écusson: from 11:00,
    when the pedestrian zones are closed to vans (access 06:00-11:00), no van drives a zone edge
    and orders inside wait; with access all day, vans drive through the zones."""
    import networkx as nx

    from carreta.routing.zones import read_zones, tag_zones, zone_edge_pairs

    def day(access: list[dict[str, str]]) -> SimulationResult:
        overrides = {
            "network.cache_dir": str(carreta_cache_dir),
            "fleet.robots[0].count": 0,
            "fleet.vans": [{"type": "van", "count": 3}],
            "demand.orders_per_day": 300,
            "demand.hourly_profile": [1] * 24,
            "simulation.start": "11:00",
            "simulation.duration_h": 2.0,
            "streets.zones.van_access": access,
            "streets.closures": [],
        }
        return simulate(load_scenario(ECUSSON, overrides=overrides))

    closed = day([{"start": "06:00", "end": "11:00"}])
    open_all_day = day([{"start": "00:00", "end": "23:59"}])
    assert closed.world.vans is not None
    graph: nx.MultiDiGraph = closed.world.vans.graph.copy()
    tag_zones(graph, read_zones(ZONES))
    zone_pairs = set(zone_edge_pairs(graph))

    def zone_edges_driven(result: SimulationResult) -> int:
        return sum(
            len(zone_pairs & set(itertools.pairwise(leg.nodes.tolist()))) for leg in result.legs
        )

    assert zone_edges_driven(open_all_day) > 0  # the zones are on the vans' way
    assert zone_edges_driven(closed) == 0
    delivered = {
        name: sum(order.state == "delivered" for order in result.orders)
        for name, result in (("closed", closed), ("open", open_all_day))
    }
    assert delivered["closed"] < delivered["open"]  # doors inside wait for the zone to open
