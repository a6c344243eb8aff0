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


def _validate_day() -> Any:
    spec = importlib.util.spec_from_file_location(
        "validate_day", ROOT / "benchmarks" / "validate_day.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_km_between_charges_recomputed_from_the_tables(grid_graphml: Path, tmp_path: Path) -> None:
    """A short grid day with a small battery: every robot charges (full charges and top-ups);
    the km driven between consecutive sessions, recomputed from the legs and events tables,
    stay within battery / consumption and match the battery levels logged at each session."""
    from carreta import simulate
    from carreta.sim.output.tables import events_table, legs_table, robots_table

    data = grid_scenario_data(grid_graphml, tmp_path)
    data["hubs"][0].update({"chargers": 2, "charger_power_w": 600})
    data["fleet"]["robots"] = [
        {
            "type": "droid",
            "count": 2,
            "speed_kph": 6.0,
            "battery_wh": 150.0,
            "consumption_wh_per_km": 80.0,
            "recharge_below_fraction": 0.5,
            "top_up_below_fraction": 0.9,
            "reserve_fraction": 0.05,
        }
    ]
    data["demand"].update({"orders_per_day": 36, "hourly_profile": [0] * 9 + [1, 1, 1] + [0] * 12})
    data["simulation"]["duration_h"] = 4.5
    scenario = validate_scenario(data, source="<charging grid>")
    result = simulate(scenario, world=grid_world(scenario), seed=3)
    events = events_table(result)
    intervals = _validate_day().km_between_charges(
        legs_table(result),
        events,
        robots_table(result),
        capacity_wh={"droid": 150.0},
        consumption_wh_per_km={"droid": 80.0},
    )
    kinds = set(events["kind"].dropna())
    assert {"charge_start", "top_up_start", "charge_end"} <= kinds
    assert set(intervals["robot_id"]) == {"droid-0001", "droid-0002"}
    sessions = intervals[intervals["interval"] > 0]
    assert len(sessions) >= 4 and intervals["km"].sum() > 1.875  # more than one battery's worth
    assert (intervals["km"] <= intervals["limit_km"] + 1e-9).all()
    assert intervals["limit_km"].iloc[0] == pytest.approx(150.0 / 80.0)
    assert intervals["balance_wh"].abs().max() < 1e-6
    # Recomputed km add up to each robot's distance.
    per_robot = intervals.groupby("robot_id")["km"].sum()
    robots = robots_table(result).set_index("robot_id")["distance_km"]
    assert per_robot.to_dict() == pytest.approx(robots.loc[per_robot.index].to_dict())


def test_gis_join_links_undershoots_but_not_impasses() -> None:
    """Circuity on the city's centreline: a street drawn stopping 3.5 m short of the one it meets
    is joined (the target split at the nearest point); an impasse ending 3 m from a street and
    a street ending 8 m away (beyond join_m) are not; long segments are cut into ≤ 50 m pieces
    without changing path lengths."""
    import geopandas as gpd
    import networkx as nx
    from shapely import LineString, Point

    from carreta.routing.gis import gis_report, graph_from_lines

    x, y = 770_000.0, 6_279_000.0
    lines = [
        LineString([(x, y), (x + 200, y)]),
        LineString([(x + 100, y + 3.5), (x + 100, y + 100)]),  # 3.5 m short of Rue A
        LineString([(x + 150, y + 3), (x + 150, y + 100)]),  # an impasse, 3 m from Rue A
        LineString([(x + 100, y + 100), (x + 150, y + 100)]),
        LineString([(x + 30, y + 8), (x + 30, y + 60)]),  # 8 m short: beyond join_m
    ]
    layer = gpd.GeoDataFrame(
        {
            "LIB_OFF": ["Rue A", "Rue B", "Impasse C", "Rue D", "Rue E"],
            "TYPVOI": ["RUE", "RUE", "IMP", "RUE", "RUE"],
        },
        geometry=lines,
        crs=2154,
    )
    corners = gpd.GeoSeries([Point(x, y), Point(x + 100, y + 100)], crs=2154).to_crs(4326)

    def node_at(graph: nx.MultiDiGraph, index: int) -> int:
        return min(
            graph.nodes,
            key=lambda n: (
                (graph.nodes[n]["x"] - corners.x[index]) ** 2
                + (graph.nodes[n]["y"] - corners.y[index]) ** 2
            ),
        )

    plain = graph_from_lines(layer, join_m=1.5)
    assert gis_report(plain).joined_ends == 0  # type: ignore[union-attr]
    assert not nx.has_path(plain, node_at(plain, 0), node_at(plain, 1))
    for max_edge_m in (None, 50.0):
        graph = graph_from_lines(layer, join_m=5.0, max_edge_m=max_edge_m)
        report = gis_report(graph)
        assert report is not None
        assert report.joins == ["Rue B → Rue A (3.5 m)"] and report.joined_ends == 1
        assert report.segments_used == 5 and report.components == 2  # Rue E stays apart
        length = nx.shortest_path_length(
            graph, node_at(graph, 0), node_at(graph, 1), weight="length"
        )
        assert length == pytest.approx(100 + 3.5 + 96.5)
        dead_ends = [n for n, count in graph.nodes(data="street_count") if count == 1]
        assert len(dead_ends) == 5  # Rue A's two ends, the impasse's end, Rue E's two ends
        if max_edge_m is not None:
            assert max(graph.edges[edge]["length"] for edge in graph.edges) <= 50.0 + 1e-9
            assert report.cut_nodes == 5 and report.intersections == 9
