"""Closures on the router (exact, never stale), the GIS join, and crossing arithmetic."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
from shapely.geometry import LineString

from carreta.routing import load_graph
from carreta.routing.closures import ClosableRouter, closed_pairs, edges_named
from carreta.routing.errors import NetworkError, NoRouteError
from carreta.routing.gis import gis_report, graph_from_lines
from carreta.routing.profile import apply_profile
from carreta.sim.model.crossings import add_waits, crossing_nodes, major_roads

STREETS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "montpellier"
STREETS = STREETS / "VilleMTP_MTP_FilaireVoies.zip"


@pytest.fixture(scope="module")
def city(carreta_cache_dir: Path) -> nx.MultiDiGraph:
    return load_graph(STREETS, profile="robot", cache_dir=carreta_cache_dir)


@pytest.mark.slow
def test_closed_routes_are_exact_and_caches_never_stale(city: nx.MultiDiGraph) -> None:
    router = ClosableRouter(city)
    names = ["Rue de la Loge", "Grand Rue Jean Moulin", "Boulevard du Jeu de Paume"]
    edges = edges_named(city, names)
    without = city.copy()
    without.remove_edges_from(edges)
    rng = np.random.default_rng(0)
    nodes = np.array(list(city.nodes))
    pairs = [tuple(rng.choice(nodes, 2)) for _ in range(150)]
    before = {pair: router.route(*pair).duration_s for pair in pairs}  # fills the base cache
    tree_before = router.tree(pairs[0][0]).duration_s.copy()
    version = router.version
    router.close("works", router.edge_positions(closed_pairs(city, edges)))
    assert router.version > version and router.active_closures == ("works",)
    for s, t in pairs:
        expected = nx.shortest_path_length(without, s, t, weight="travel_time")
        route = router.route(s, t)
        assert route.duration_s == pytest.approx(expected, abs=1e-6)
        closed = {(u, v) for u, v, _ in edges}
        assert not closed & set(
            zip(route.nodes[:-1].tolist(), route.nodes[1:].tolist(), strict=True)
        )
    assert router.fallbacks > 0  # some routes did need the exact fallback
    batched = router.routes([s for s, _ in pairs], [t for _, t in pairs])
    for (s, t), found in zip(pairs, batched, strict=True):  # None: route() finds the detour
        if found is not None:
            np.testing.assert_array_equal(found.nodes, router.route(s, t).nodes)
    assert 0 < sum(found is None for found in batched) < len(pairs)
    table = router.matrix(nodes[:6], nodes[6:12])
    for i in range(6):
        for j in range(6):
            expected = nx.shortest_path_length(
                without, nodes[i], nodes[6 + j], weight="travel_time"
            )
            assert table[i, j] == pytest.approx(expected, abs=1e-6)
    tree = router.tree(pairs[0][0])
    expected_tree = nx.single_source_dijkstra_path_length(
        without, pairs[0][0], weight="travel_time"
    )
    index = router.index_of(list(expected_tree))
    assert np.allclose(tree.duration_s[index], list(expected_tree.values()))
    router.reopen("works")
    assert {pair: router.route(*pair).duration_s for pair in pairs} == before
    assert np.array_equal(router.tree(pairs[0][0]).duration_s, tree_before)


def test_route_avoiding_a_coming_closure(tiny_graph: nx.MultiDiGraph) -> None:
    graph, _ = apply_profile(tiny_graph, "robot")
    router = ClosableRouter(graph)
    assert router.route(1, 2).nodes.tolist() == [1, 2]
    avoided = router.route_avoiding(1, 2, router.edge_positions([(1, 2)]))
    assert avoided.nodes.tolist() == [1, 4, 3, 2]
    router.close("all", router.edge_positions([(1, 2), (1, 4)]))
    with pytest.raises(NoRouteError):
        router.route(1, 2)


def test_closures_on_a_street_grid_route_as_networkx() -> None:
    """On a 40 x 40 street grid the default hierarchy is the dissection one: with 300 edges
    closed, then reopened, routes cost what networkx finds on the graph as it then is."""
    from carreta.routing.ch import ContractionHierarchy

    graph = nx.MultiDiGraph()
    for (a, b), (c, d) in nx.grid_2d_graph(40, 40).edges:
        for (x, y), (z, w) in (((a, b), (c, d)), ((c, d), (a, b))):
            graph.add_edge(40 * x + y, 40 * z + w, travel_time=10.0 + (x * w + y) % 7, length=50.0)
    router = ClosableRouter(graph)
    hierarchy = router._engine
    assert isinstance(hierarchy, ContractionHierarchy) and hierarchy.method == "dissection"
    rng = np.random.default_rng(1)
    edges = list(graph.edges(keys=True))
    closed = [edges[i] for i in rng.choice(len(edges), 300, replace=False)]
    router.close("works", router.edge_positions([(u, v) for u, v, _ in closed]))
    open_graph = graph.copy()
    open_graph.remove_edges_from(closed)
    for current, reopen in ((open_graph, False), (graph, True)):
        if reopen:
            router.reopen("works")
        for origin, destination in rng.integers(0, 1600, (150, 2)).tolist():
            try:
                expected = nx.shortest_path_length(current, origin, destination, "travel_time")
            except nx.NetworkXNoPath:
                with pytest.raises(NoRouteError):
                    router.route(origin, destination)
                continue
            route = router.route(origin, destination)
            assert route.duration_s == pytest.approx(expected, abs=1e-9)


def _layer(lines: list[LineString], **columns: list[object]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(columns, geometry=lines, crs=2154)


def test_segment_ends_within_the_tolerance_are_joined() -> None:
    x, y = 770_000.0, 6_279_000.0
    lines = [
        LineString([(x, y), (x + 100, y)]),
        LineString([(x + 100.8, y + 0.5), (x + 100, y + 100)]),  # stops 0.9 m short: joined
        LineString([(x + 100, y + 100), (x, y)]),
        LineString([(x + 100, y + 100), (x + 150, y + 150)]),  # a dead end
        LineString([(x + 300, y), (x + 400, y)]),  # an island
    ]
    layer = _layer(
        lines,
        LIB_OFF=["Rue A", "Rue B", "Boulevard C", "Impasse D", "Rue E"],
        TYPVOI=["RUE", "RUE", "BD", "IMP", "RUE"],
        SENS_CIRCU=["DOUBLE SENS", "SENS UNIQUE", "DOUBLE SENS", "DOUBLE SENS", "DOUBLE SENS"],
    )
    van = graph_from_lines(layer, profile="van", tolerance_m=1.5)
    report = gis_report(van)
    assert report is not None
    assert report.intersections == 6 and report.merged_endpoints == 2
    assert report.dangling_ends == 3 and report.components == 2
    assert report.outside_largest_component == 1 and report.outside_names == ["Rue E"]
    highways = {
        name: hw
        for _, _, name, hw in [(u, v, d["name"], d["highway"]) for u, v, d in van.edges(data=True)]
    }
    assert highways["Boulevard C"] == "primary" and highways["Rue A"] == "residential"
    one_way = [(u, v) for u, v, name in van.edges(data="name") if name == "Rue B"]
    assert len(one_way) == 1
    robot, _ = apply_profile(graph_from_lines(layer, profile="robot"), "robot")
    assert robot.number_of_nodes() == 4  # the triangle plus the dead end, both ways


def test_add_waits_repeats_the_node_and_shifts_later_times() -> None:
    nodes, times = add_waits(
        np.array([1, 2, 3, 4]),
        np.array([0.0, 10.0, 20.0, 30.0]),
        np.array([1, 2]),
        np.array([5.0, 7.0]),
    )
    assert nodes.tolist() == [1, 2, 2, 3, 3, 4]
    assert times.tolist() == [0.0, 10.0, 15.0, 25.0, 32.0, 42.0]


def test_crossing_is_going_straight_over_a_major_road(tiny_graph: nx.MultiDiGraph) -> None:
    graph, _ = apply_profile(tiny_graph, "robot")
    router = ClosableRouter(graph)
    roads = major_roads(graph, router, classes=["tertiary"], names=[])  # Rue B (2-3) is major
    # 1 → 2 → 5: node 2 touches Rue B, arrives on Rue A and leaves on Avenue E: a crossing.
    assert crossing_nodes(router, roads, np.array([1, 2, 5])).tolist() == [1]
    # 1 → 2 → 3 turns onto Rue B: not a crossing; 4 → 1 → 2: node 1 is not on a major road.
    assert crossing_nodes(router, roads, np.array([1, 2, 3])).tolist() == []
    assert crossing_nodes(router, roads, np.array([4, 1, 2])).tolist() == []


@pytest.mark.slow
def test_city_network_is_cached_like_osm_files(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    first = load_graph(STREETS, profile="robot", cache_dir=tmp_path)
    caplog.set_level("INFO", logger="carreta.routing")
    second = load_graph(STREETS, profile="robot", robot_speed_kph=4.0, cache_dir=tmp_path)
    assert "from cache" in caplog.text
    assert second.number_of_edges() == first.number_of_edges()
    assert {d["speed_kph"] for _, _, d in second.edges(data=True)} == {4.0}


def test_a_polygons_file_is_not_a_street_network(tmp_path: Path) -> None:
    zones = STREETS.parent / "VilleMTP_MTP_ZonePietonne.geojson"
    with pytest.raises(NetworkError, match="no line geometries") as caught:
        load_graph(zones, cache_dir=tmp_path)
    assert str(caught.value).startswith(str(zones)) and "\n" not in str(caught.value)


def test_closure_states_are_bounded_and_counted(tiny_graph: nx.MultiDiGraph) -> None:
    graph, _ = apply_profile(tiny_graph, "robot")
    router = ClosableRouter(graph, state_cache_size=2)
    open_bytes = router.nbytes
    expected = {label: nx.DiGraph(graph) for label in ("a", "b", "c")}
    for label, pair in zip(("a", "b", "c"), [(1, 2), (1, 4), (2, 3)], strict=True):
        expected[label].remove_edge(*pair)
        router.close(label, router.edge_positions([pair]))
        router.route(1, 3)
        router.reopen(label)
    assert router.cache_info()["states"] == 2  # "a" was dropped, least recently used
    router.close("a", router.edge_positions([(1, 2)]))  # rebuilt, still exact
    assert router.nbytes > open_bytes  # the states and their caches are counted
    assert router.cache_info()["states"] == 2
    length = nx.shortest_path_length(expected["a"], 1, 3, weight="travel_time")
    assert router.route(1, 3).duration_s == pytest.approx(length)
    assert router.route(1, 3).nodes[:2].tolist() != [1, 2]
