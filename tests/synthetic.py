"""A small street grid built in code, shaped like an OSMnx graph, and a scenario on it.

Unit tests of the simulation engine run on it in a fraction of a second, without the Montpellier
extract: :func:`grid_graph` is what ``osmnx.graph_from_place`` would return for a district of
square blocks (EPSG:4326, ``x``/``y`` in degrees, ``length`` in metres, ``highway``, ``oneway``,
``speed_kph``, ``travel_time``); :func:`grid_scenario` is a valid scenario whose network is that
graph saved as GraphML; :func:`grid_world` builds the simulation's world from it through the
public entry points (:func:`carreta.routing.apply_profile`, :func:`build_world`).

The fixtures using them are in ``conftest.py`` (``grid_graph``, ``grid_scenario``,
``grid_world``).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import networkx as nx
import osmnx as ox

from carreta.routing import apply_profile
from carreta.sim.model.world import World, build_world
from carreta.sim.scenario import Scenario, validate_scenario

#: South-west corner of the grid (near Place de la Comédie), degrees.
ORIGIN_LONLAT = (3.8760, 43.6080)
#: Rows and columns of street nodes.
GRID_SIZE = 6
#: Distance between neighbouring nodes, metres.
BLOCK_M = 120.0
#: Earth radius OSMnx uses for great-circle lengths, metres.
EARTH_RADIUS_M = 6_371_009.0
#: Street classes by row/column index and the speeds OSMnx would give them (km/h).
SPEEDS_KPH = {"secondary": 50.0, "tertiary": 40.0, "residential": 30.0}


def node_id(row: int, column: int) -> int:
    """OSM-like id of the node at ``row`` (south to north) and ``column`` (west to east)."""
    return 1_000 + row * GRID_SIZE + column


def node_lonlat(row: int, column: int) -> tuple[float, float]:
    """Longitude and latitude of a grid node, degrees."""
    lon0, lat0 = ORIGIN_LONLAT
    dlat = math.degrees(BLOCK_M / EARTH_RADIUS_M)
    dlon = dlat / math.cos(math.radians(lat0))
    return lon0 + column * dlon, lat0 + row * dlat


def _highway(index: int) -> str:
    """A main street through the middle, tertiary streets every third line, else residential."""
    if index == GRID_SIZE // 2:
        return "secondary"
    return "tertiary" if index % 3 == 0 else "residential"


def grid_graph() -> nx.MultiDiGraph:
    """A ``GRID_SIZE`` × ``GRID_SIZE`` grid of streets ``BLOCK_M`` apart, as OSMnx builds them.

    Streets are two-way (one edge each way, the second ``reversed=True``) except the
    northernmost row, a one-way street driven west to east, as in OSM. Each edge has
    ``osmid``, ``name``, ``highway``, ``oneway``, ``reversed``, ``length`` (m), ``speed_kph``
    and ``travel_time`` (s); each node ``x``, ``y`` (degrees) and ``street_count``.
    """
    graph = nx.MultiDiGraph(crs="EPSG:4326")
    for row in range(GRID_SIZE):
        for column in range(GRID_SIZE):
            lon, lat = node_lonlat(row, column)
            graph.add_node(node_id(row, column), x=lon, y=lat)
    way = 0

    def street(start: tuple[int, int], end: tuple[int, int], highway: str, name: str) -> None:
        nonlocal way
        way += 1
        (lon1, lat1), (lon2, lat2) = node_lonlat(*start), node_lonlat(*end)
        length = float(ox.distance.great_circle(lat1, lon1, lat2, lon2))
        speed = SPEEDS_KPH[highway]
        oneway = start[0] == end[0] == GRID_SIZE - 1
        attrs = {
            "osmid": 50_000 + way,
            "name": name,
            "highway": highway,
            "oneway": oneway,
            "length": length,
            "speed_kph": speed,
            "travel_time": length / (speed / 3.6),
        }
        graph.add_edge(node_id(*start), node_id(*end), reversed=False, **attrs)
        if not oneway:
            graph.add_edge(node_id(*end), node_id(*start), reversed=True, **attrs)

    for row in range(GRID_SIZE):
        for column in range(GRID_SIZE - 1):
            street((row, column), (row, column + 1), _highway(row), f"Rue {row}")
    for column in range(GRID_SIZE):
        for row in range(GRID_SIZE - 1):
            street((row, column), (row + 1, column), _highway(column), f"Avenue {column}")
    for node in graph.nodes:
        graph.nodes[node]["street_count"] = len(
            set(graph.predecessors(node)) | set(graph.succ[node])
        )
    return graph


def write_grid_graphml(folder: Path) -> Path:
    """Save :func:`grid_graph` as ``folder / "grid.graphml"`` (what ``network.osm_file`` reads)."""
    path = folder / "grid.graphml"
    ox.save_graphml(grid_graph(), path)
    return path


#: Hub at the centre of the grid.
HUB_ROW_COLUMN = (GRID_SIZE // 2, GRID_SIZE // 2)


def grid_scenario_data(graphml: Path, cache_dir: Path) -> dict[str, Any]:
    """The document of a small day on the grid: 3 robots at the central hub, about 30 orders
    between 09:00 and 11:00 to random street nodes, 'tours' dispatch, 08:30 to 12:00."""
    hub_lon, hub_lat = node_lonlat(*HUB_ROW_COLUMN)
    return {
        "name": "grid",
        "description": "Three robots on a synthetic 6 x 6 street grid (tests/synthetic.py).",
        "network": {"osm_file": str(graphml), "cache_dir": str(cache_dir)},
        "hubs": [{"id": "centre", "lon": hub_lon, "lat": hub_lat}],
        "fleet": {"robots": [{"type": "droid", "count": 3}]},
        "demand": {
            "orders_per_day": 30,
            "hourly_profile": [0] * 9 + [1, 1] + [0] * 13,
            "destinations": {"kind": "nodes"},
            "parcel_weight_kg": {"mean_kg": 3.0, "sd_kg": 2.0, "max_kg": 20.0},
        },
        "dispatch": {"policy": "tours", "batch_interval_s": 300, "max_stops_per_tour": 4},
        "simulation": {"start": "08:30", "duration_h": 3.5, "seed": 5},
    }


def grid_scenario(graphml: Path, cache_dir: Path) -> Scenario:
    """:func:`grid_scenario_data`, validated."""
    return validate_scenario(grid_scenario_data(graphml, cache_dir), source="<grid scenario>")


def grid_world(scenario: Scenario) -> World:
    """The world of a scenario on the grid, built from :func:`grid_graph` in memory.

    The graph gets the robot profile (every street two-way, the first robot group's speed) as
    :func:`carreta.routing.load_graph` would give it, then :func:`build_world` places the hubs.
    """
    speed_kph = scenario.fleet.robots[0].speed_kph
    graph, _ = apply_profile(grid_graph(), "robot", robot_speed_kph=speed_kph, source="grid")
    return build_world(scenario, graph=graph, label="<grid scenario>")
