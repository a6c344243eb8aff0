"""Issue 6 on real data: the city's street network, pedestrian zones and real addresses."""

from __future__ import annotations

import itertools
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
import shapely

from carreta.routing import Snapper, load_graph
from carreta.routing.closures import ClosableRouter
from carreta.routing.errors import NoRouteError
from carreta.routing.gis import gis_report
from carreta.routing.zones import ZONE_ATTRIBUTE, read_zones, tag_zones, zone_edge_pairs

pytestmark = pytest.mark.slow

MONTPELLIER = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "montpellier"
STREETS = MONTPELLIER / "VilleMTP_MTP_FilaireVoies.zip"
ZONES = MONTPELLIER / "VilleMTP_MTP_ZonePietonne.geojson"
# Both ends of Rue de la Loge, inside the MOLIERE zone (the Écusson): by the Comédie and by
# Place Jean Jaurès.
LOGE_EAST = (3.87897, 43.60900)
LOGE_WEST = (3.87728, 43.61008)


@pytest.fixture(scope="module")
def city(carreta_cache_dir: Path) -> nx.MultiDiGraph:
    """The city's street centreline, robot profile, with its pedestrian zones tagged."""
    graph = load_graph(STREETS, profile="robot", cache_dir=carreta_cache_dir).copy()
    tag_zones(graph, read_zones(ZONES))
    return graph


@pytest.fixture(scope="module")
def ecusson() -> shapely.Geometry:
    """The MOLIERE pedestrian zone (the Écusson), slightly buffered (~5 m) for edge ends."""
    return read_zones(ZONES, names=["MOLIERE"])[0].polygon.buffer(5e-5)


def test_city_network_is_an_osmnx_graph_with_a_join_report(city: nx.MultiDiGraph) -> None:
    assert city.graph["crs"] == "epsg:4326"
    report = gis_report(city)
    assert report is not None and report.segments == 8011
    # Motorways, tunnels and the waterway are not for robots; everything else is joined.
    assert report.segments_dropped == {"motorway": 14, "trunk": 3, "waterway": 3}
    assert report.segments_used == 7991 and report.dangling_ends > 0
    # Undershoots joined within 5 m (impasses never), e.g. Rue Michelet onto the Comédie;
    # long segments cut into pieces of at most 50 m.
    assert 10 < report.joined_ends < 40 and report.join_m == 5.0
    assert "Rue Michelet → Place de la Comédie (4.6 m)" in report.joins
    assert not any(join.startswith("Impasse") for join in report.joins)
    assert report.cut_nodes > 5000
    assert max(length for _, _, length in city.edges(data="length")) <= 50.0 + 1e-9
    assert 0 < report.outside_largest_component < 50
    assert nx.is_strongly_connected(city)
    for u, v, data in list(city.edges(data=True))[:500]:
        line = data["geometry"]
        assert line.coords[0] == (city.nodes[u]["x"], city.nodes[u]["y"])
        assert line.coords[-1] == (city.nodes[v]["x"], city.nodes[v]["y"])
        assert data["length"] > 0 and data["travel_time"] > 0 and "highway" in data
    names = {name for _, _, name in city.edges(data="name")}
    assert {"Rue de la Loge", "Place de la Comédie"} <= names


def test_van_network_keeps_one_way_streets(carreta_cache_dir: Path) -> None:
    van = load_graph(STREETS, profile="van", cache_dir=carreta_cache_dir)
    one_way = [(u, v) for u, v, oneway in van.edges(data="oneway") if oneway]
    assert len(one_way) > 1000
    assert sum(van.has_edge(v, u) for u, v in one_way) < 0.1 * len(one_way)


def _route_edges(graph: nx.MultiDiGraph, nodes: list[int]) -> list[dict[str, object]]:
    edges = []
    for u, v in itertools.pairwise(nodes):
        edges.append(min(graph[u][v].values(), key=lambda data: data["travel_time"]))
    return edges


def _leaves(edges: list[dict[str, object]], zone: shapely.Geometry) -> bool:
    return any(not zone.contains(data["geometry"]) for data in edges if "geometry" in data)


def test_ecusson_route_stays_in_the_zone_on_pedestrian_streets(
    city: nx.MultiDiGraph, ecusson: shapely.Geometry, montpellier_robot: nx.MultiDiGraph
) -> None:
    snapper = Snapper(city)
    start, end = (snapper.snap_point(*point)[0] for point in (LOGE_EAST, LOGE_WEST))
    route = ClosableRouter(city).route(start, end)
    edges = _route_edges(city, route.nodes.tolist())
    assert not _leaves(edges, ecusson)
    assert {data["name"] for data in edges} & {"Rue de la Loge"}
    assert all(data["highway"] == "pedestrian" for data in edges)
    assert all(data.get(ZONE_ATTRIBUTE) == "MOLIERE" for data in edges)
    # The OSM drive network has no pedestrian streets: the same trip goes round the Écusson.
    osm = montpellier_robot
    osm_snapper = Snapper(osm)
    a, b = (osm_snapper.snap_point(*point)[0] for point in (LOGE_EAST, LOGE_WEST))
    osm_nodes = nx.shortest_path(osm, a, b, weight="travel_time")
    osm_edges = _route_edges(osm, osm_nodes)
    assert "Rue de la Loge" not in {str(data.get("name")) for data in osm_edges}
    outside = [
        n
        for n in osm_nodes
        if not ecusson.contains(shapely.Point(osm.nodes[n]["x"], osm.nodes[n]["y"]))
    ]
    assert outside  # it leaves the Écusson...
    assert nx.path_weight(osm, osm_nodes, "length") > 5 * route.length_m  # ...for a long detour


def test_zone_edges_can_be_closed_to_vans(city: nx.MultiDiGraph) -> None:
    router = ClosableRouter(city)
    snapper = Snapper(city)
    start, end = (snapper.snap_point(*point)[0] for point in (LOGE_EAST, LOGE_WEST))
    open_route = router.route(start, end)
    router.close("zone:MOLIERE", router.edge_positions(zone_edge_pairs(city, ["MOLIERE"])))
    with pytest.raises(Exception, match="no route"):  # both ends are inside the closed zone
        router.route(start, end)
    router.reopen("zone:MOLIERE")
    assert np.array_equal(router.route(start, end).nodes, open_route.nodes)


def test_vans_may_enter_the_zones_only_during_access_hours(carreta_cache_dir: Path) -> None:
    import simpy

    from carreta.sim.model.closures import ClosureScheduler
    from carreta.sim.model.records import EventLog
    from carreta.sim.model.streets import van_zone_windows
    from carreta.sim.scenario.streets import PedestrianZones

    van = load_graph(STREETS, profile="van", cache_dir=carreta_cache_dir).copy()
    tag_zones(van, read_zones(ZONES))
    zones = PedestrianZones(file=ZONES)  # default access 06:00-11:00
    windows = van_zone_windows(zones, van)
    assert [(w.start_s, w.end_s) for w in windows] == [(0.0, 6 * 3600.0), (11 * 3600.0, 86400.0)]
    router = ClosableRouter(van)
    env = simpy.Environment(initial_time=5 * 3600.0)
    scheduler = ClosureScheduler(env, windows, [router], EventLog(), on_change=lambda: None)
    env.process(scheduler.run())
    zone_pairs = set(zone_edge_pairs(van))
    snapper = Snapper(van)
    start, end = (snapper.snap_point(*point)[0] for point in (LOGE_EAST, (3.8745, 43.6115)))

    def uses_zone() -> bool:
        try:
            nodes = router.route(start, end).nodes.tolist()
        except NoRouteError:
            return False
        return bool(zone_pairs & set(itertools.pairwise(nodes)))

    seen = {}
    for hour in (5.5, 8.0, 12.0):
        env.run(until=hour * 3600.0)
        seen[hour] = uses_zone()
    assert seen == {5.5: False, 8.0: True, 12.0: False}


def test_address_points_are_cached_and_a_damaged_cache_is_rebuilt(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from carreta.sim.model.addresses import address_points
    from carreta.sim.scenario.demand import Destinations

    destinations = Destinations(
        kind="addresses",
        addresses_file=MONTPELLIER / "VilleMTP_MTP_PointAdresse.zip",
        area_file=ZONES,
        area_names=["MOLIERE"],
    )
    lons, lats = address_points(destinations, cache_dir=tmp_path)
    assert lons.shape == lats.shape and lons.shape[0] > 100
    [cached] = tmp_path.glob("addresses-*.npz")
    again = address_points(destinations, cache_dir=tmp_path)
    np.testing.assert_array_equal(again[0], lons)
    np.testing.assert_array_equal(again[1], lats)
    cached.write_bytes(cached.read_bytes()[:100])  # a damaged cache file
    with caplog.at_level("WARNING"):
        rebuilt = address_points(destinations, cache_dir=tmp_path)
    assert "rebuilding cache file" in caplog.text
    np.testing.assert_array_equal(rebuilt[0], lons)
    # Another area is another cache entry, not the first one's points.
    other = destinations.model_copy(update={"area_names": ["COMEDIE"]})
    comedie = address_points(other, cache_dir=tmp_path)
    assert len(list(tmp_path.glob("addresses-*.npz"))) == 2
    assert comedie[0].shape != lons.shape or not np.array_equal(comedie[0], lons)
