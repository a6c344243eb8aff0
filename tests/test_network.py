"""Loading street networks: sources, profiles, reports, caching and bad input."""

from __future__ import annotations

import bz2
from pathlib import Path
from typing import Any

import networkx as nx
import osmnx as ox
import pytest
from shapely.geometry import LineString

from carreta.routing import NetworkError, NetworkReport, apply_profile, graph_report, load_graph
from carreta.routing.profile import VAN_SPEEDS_KPH

NO_WAYS_OSM = """<?xml version="1.0" encoding="UTF-8"?>
<osm version="0.6"><node id="1" lat="43.61" lon="3.87"/><node id="2" lat="43.62" lon="3.88"/></osm>
"""


def _has_twin(graph: nx.MultiDiGraph, u: Any, v: Any) -> bool:
    return u == v or graph.has_edge(v, u)


def _edge_set(graph: nx.MultiDiGraph) -> set[tuple[Any, Any, float]]:
    return {(u, v, round(length, 6)) for u, v, length in graph.edges(data="length")}


# -- sources --------------------------------------------------------------------------------------


def test_osm_xml_bz2_and_str_path_give_the_same_graph(tiny_osm: Path, tmp_path: Path) -> None:
    packed = tmp_path / "tiny.osm.bz2"
    packed.write_bytes(bz2.compress(tiny_osm.read_bytes()))
    plain = load_graph(tiny_osm, cache_dir=tmp_path / "cache")
    compressed = load_graph(str(packed), cache_dir=tmp_path / "cache")
    assert _edge_set(plain) == _edge_set(compressed)
    assert sorted(plain.nodes) == [1, 2, 3, 5, 6, 7]
    assert plain.graph["crs"].lower() == "epsg:4326"


def test_no_simplify_keeps_every_osm_node(tiny_osm: Path, tmp_path: Path) -> None:
    graph = load_graph(tiny_osm, simplify=False, cache_dir=tmp_path)
    assert sorted(graph.nodes) == [1, 2, 3, 4, 5, 6, 7]


def test_graphml_round_trip_keeps_graph_and_report(tiny_osm: Path, tmp_path: Path) -> None:
    graph = load_graph(tiny_osm, cache_dir=tmp_path / "cache")
    path = tmp_path / "tiny.graphml"
    ox.save_graphml(graph, path)
    assert graph_report(ox.load_graphml(path)) == graph_report(graph)
    again = load_graph(path, cache_dir=tmp_path / "cache")
    assert _edge_set(again) == _edge_set(graph)
    assert graph_report(again).source == str(path)


def test_van_profile_refuses_a_robot_graph(tiny_osm: Path, tmp_path: Path) -> None:
    path = tmp_path / "robot.graphml"
    ox.save_graphml(load_graph(tiny_osm, cache_dir=tmp_path), path)
    with pytest.raises(NetworkError, match="robot profile"):
        load_graph(path, profile="van", cache_dir=tmp_path)


# -- profiles -------------------------------------------------------------------------------------


def test_robot_profile_makes_every_edge_two_way(tiny_graph: nx.MultiDiGraph) -> None:
    before = tiny_graph.number_of_edges()
    graph, report = apply_profile(tiny_graph, "robot", robot_speed_kph=6.0)
    assert tiny_graph.number_of_edges() == before, "input graph must not change"
    assert all(_has_twin(graph, u, v) for u, v in graph.edges())
    assert graph.number_of_edges() == before + 2  # reverse of the curve and of the dead end
    assert not any(oneway for _, _, oneway in graph.edges(data="oneway"))
    for _, _, data in graph.edges(data=True):
        assert data["speed_kph"] == 6.0
        assert data["travel_time"] == pytest.approx(data["length"] / (6.0 / 3.6))
    assert (report.nodes, report.dropped_nodes, report.dropped_edges) == (6, 0, 0)


def test_robot_reverse_edge_reverses_geometry(tiny_graph: nx.MultiDiGraph) -> None:
    graph, _ = apply_profile(tiny_graph, "robot")
    curves = [d for _, _, d in graph.edges(data=True) if d["name"] == "Rue Courbe"]
    forward = next(d for d in curves if not d["reversed"])
    backward = next(d for d in curves if d["reversed"])
    assert len(curves) == 2
    assert list(backward["geometry"].coords) == list(forward["geometry"].coords)[::-1]
    assert isinstance(backward["geometry"], LineString)
    assert graph.has_edge(2, 1) and graph.number_of_edges(2, 1) == 2  # straight + curve


def test_van_profile_keeps_one_ways_and_drops_the_dead_end(tiny_graph: nx.MultiDiGraph) -> None:
    graph, report = apply_profile(tiny_graph, "van")
    assert 6 not in graph
    assert (report.nodes, report.dropped_nodes, report.dropped_edges) == (5, 1, 1)
    assert graph.number_of_edges(1, 2) == 2 and graph.number_of_edges(2, 1) == 1
    assert nx.is_strongly_connected(graph)
    for _, _, data in graph.edges(data=True):
        assert data["speed_kph"] == VAN_SPEEDS_KPH[data["highway"]]
        assert data["travel_time"] == pytest.approx(data["length"] / (data["speed_kph"] / 3.6))


def test_van_uses_maxspeed_tags(tiny_osm: Path, tmp_path: Path) -> None:
    graph = load_graph(tiny_osm, profile="van", cache_dir=tmp_path)
    speeds = {d["highway"]: d["speed_kph"] for _, _, d in graph.edges(data=True)}
    assert speeds["tertiary"] == 20.0  # tagged maxspeed=20
    assert speeds["residential"] == 30.0  # French urban default
    assert 5 not in graph  # behind the one-way 2→5


def test_report_counts_streets_once(tiny_graph: nx.MultiDiGraph) -> None:
    graph, report = apply_profile(tiny_graph, "robot")
    directed_m = sum(length for _, _, length in graph.edges(data="length"))
    assert report.directed_km == pytest.approx(directed_m / 1000)
    assert report.street_km == pytest.approx(report.directed_km / 2)
    van, van_report = apply_profile(tiny_graph, "van")
    one_way_m = sum(d["length"] for u, v, d in van.edges(data=True) if d["oneway"])
    two_way_m = sum(d["length"] for u, v, d in van.edges(data=True) if not d["oneway"])
    assert van_report.street_km == pytest.approx((one_way_m + two_way_m / 2) / 1000)
    assert report.bbox == (3.8760, 43.6100, 3.8800, 43.6115)


def test_report_is_stored_as_plain_dict(tiny_graph: nx.MultiDiGraph) -> None:
    graph, report = apply_profile(tiny_graph, "robot", source="tiny")
    stored = graph.graph["carreta_report"]
    assert type(stored) is dict
    assert NetworkReport.from_dict(stored) == report == graph_report(graph)
    assert report.source == "tiny"


def test_graph_report_without_profile(tiny_graph: nx.MultiDiGraph) -> None:
    report = graph_report(tiny_graph)
    assert (report.profile, report.nodes, report.edges, report.dropped_nodes) == ("none", 6, 12, 0)


@pytest.mark.slow
def test_montpellier_reports_are_consistent(
    montpellier_robot: nx.MultiDiGraph, montpellier_van: nx.MultiDiGraph
) -> None:
    robot, van = graph_report(montpellier_robot), graph_report(montpellier_van)
    # The extract holds 5,315 nodes and 11,195 edges with retain_all (see SOURCE.md).
    assert robot.nodes + robot.dropped_nodes == 5_315
    assert van.nodes + van.dropped_nodes == 5_315
    assert van.edges + van.dropped_edges == 11_195
    assert van.nodes == 5_082  # largest strongly connected component, per SOURCE.md
    assert nx.is_strongly_connected(montpellier_robot)
    assert nx.is_strongly_connected(montpellier_van)
    assert all(_has_twin(montpellier_robot, u, v) for u, v in montpellier_robot.edges())
    assert sum(not _has_twin(montpellier_van, u, v) for u, v in montpellier_van.edges()) > 100
    west, south, east, north = robot.bbox
    assert 3.82 < west < east < 3.93 and 43.55 < south < north < 43.64
    assert robot.street_km == pytest.approx(robot.directed_km / 2, rel=0.01)
    assert van.street_km < van.directed_km


# -- cache ----------------------------------------------------------------------------------------


def _forbid_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: object, **kwargs: object) -> nx.MultiDiGraph:
        raise AssertionError("the OSM file was parsed again instead of read from the cache")

    monkeypatch.setattr(ox, "graph_from_xml", fail)


@pytest.mark.slow
def test_cache_hit_skips_parsing_and_is_equal(
    montpellier_osm: Path,
    montpellier_robot: nx.MultiDiGraph,
    carreta_cache_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _forbid_parsing(monkeypatch)
    again = load_graph(montpellier_osm, profile="robot", cache_dir=carreta_cache_dir)
    assert _edge_set(again) == _edge_set(montpellier_robot)
    assert graph_report(again) == graph_report(montpellier_robot)


def test_cache_writes_leave_no_temporary_file(tiny_osm: Path, tmp_path: Path) -> None:
    """Cache files are written atomically: a temporary sibling, then a rename. (Checked in a
    cache of its own: the session's cache is shared with parallel workers that may be writing.)"""
    load_graph(tiny_osm, profile="robot", cache_dir=tmp_path / "cache")
    load_graph(tiny_osm, profile="van", cache_dir=tmp_path / "cache")
    written = [path for path in (tmp_path / "cache").rglob("*") if path.is_file()]
    assert len(written) == 3  # the parsed file and the two profiled graphs
    assert not [path for path in written if path.name.endswith(".tmp")]


def test_other_profile_reuses_the_parsed_file(
    tiny_osm: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    load_graph(tiny_osm, profile="robot", cache_dir=tmp_path)
    _forbid_parsing(monkeypatch)
    van = load_graph(tiny_osm, profile="van", cache_dir=tmp_path)
    assert graph_report(van).profile == "van"


def test_cache_hit_applies_the_requested_robot_speed(tiny_osm: Path, tmp_path: Path) -> None:
    slow = load_graph(tiny_osm, robot_speed_kph=4.0, cache_dir=tmp_path)
    fast = load_graph(tiny_osm, robot_speed_kph=8.0, cache_dir=tmp_path)
    assert slow.edges[1, 2, 0]["travel_time"] == pytest.approx(
        2 * fast.edges[1, 2, 0]["travel_time"]
    )


def test_changed_file_is_parsed_again(tiny_osm: Path, tmp_path: Path) -> None:
    first = load_graph(tiny_osm, cache_dir=tmp_path / "cache")
    tiny_osm.write_text(
        tiny_osm.read_text(encoding="utf-8").replace('lon="3.8800"', 'lon="3.8810"'),
        encoding="utf-8",
    )
    second = load_graph(tiny_osm, cache_dir=tmp_path / "cache")
    assert second.nodes[5]["x"] == 3.881 != first.nodes[5]["x"]


def test_damaged_cache_file_is_rebuilt(
    tiny_osm: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    first = load_graph(tiny_osm, cache_dir=tmp_path)
    cache_files = list((tmp_path / "graphs").glob("*.pickle"))
    assert len(cache_files) == 2  # the parsed file and the profiled graph
    for path in cache_files:
        path.write_bytes(b"not a pickle")
    second = load_graph(tiny_osm, cache_dir=tmp_path)
    assert _edge_set(second) == _edge_set(first)
    assert "rebuilding cache file" in caplog.text


# -- bad input ------------------------------------------------------------------------------------

BAD_FILES = {
    "text.osm": ("hello, I am not XML\n", "not an OSM XML file"),
    "renamed.osm": ('{"elements": []}', "not an OSM XML file"),
    "no_ways.osm": (NO_WAYS_OSM, "no streets"),
    "notes.txt": ("a text file", "unknown network file type"),
    "extract.osm.pbf": ("PBF", "PBF is not supported"),
    "broken.osm.bz2": ("not bzip2 data", "cannot read OSM XML"),
    "broken.graphml": ("<graphml", "not a GraphML file"),
    "other.graphml": ('<?xml version="1.0"?><html/>', "cannot load GraphML"),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_file_is_one_line_network_error(name: str, tmp_path: Path) -> None:
    content, expected = BAD_FILES[name]
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(NetworkError, match=expected) as caught:
        load_graph(path, cache_dir=tmp_path / "cache")
    message = str(caught.value)
    assert message.startswith(str(path)) and "\n" not in message


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(NetworkError, match="no such file"):
        load_graph(tmp_path / "missing.osm", cache_dir=tmp_path)
    with pytest.raises(NetworkError, match="no such file"):
        load_graph("data/missing.osm.bz2", cache_dir=tmp_path)
    with pytest.raises(NetworkError, match="not a file"):
        load_graph(tmp_path, cache_dir=tmp_path)


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"profile": "bicycle"}, "unknown profile 'bicycle'"),
        ({"robot_speed_kph": 0.0}, "robot_speed_kph must be a positive number"),
        ({"robot_speed_kph": float("nan")}, "robot_speed_kph must be a positive number"),
    ],
)
def test_bad_options(options: dict[str, Any], expected: str, tiny_osm: Path) -> None:
    with pytest.raises(NetworkError, match=expected):
        load_graph(tiny_osm, **options)


def test_empty_and_projected_graphs_are_refused(tiny_graph: nx.MultiDiGraph) -> None:
    with pytest.raises(NetworkError, match="empty"):
        apply_profile(nx.MultiDiGraph(crs="epsg:4326"), "robot")
    tiny_graph.graph["crs"] = "epsg:2154"
    with pytest.raises(NetworkError, match="projected"):
        apply_profile(tiny_graph, "robot")


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        ("negative_length", "has an invalid length -5.0"),
        ("nan_length", "has an invalid length nan"),
        ("latitude_out_of_range", "has no longitude/latitude"),
    ],
)
def test_a_graphml_with_impossible_values_names_the_file_and_the_element(
    damage: str, expected: str, tmp_path: Path, grid_graph: nx.MultiDiGraph
) -> None:
    graph = grid_graph
    u, v, key = next(iter(graph.edges(keys=True)))
    if damage == "negative_length":
        graph.edges[u, v, key]["length"] = -5.0
    elif damage == "nan_length":
        graph.edges[u, v, key]["length"] = float("nan")
    else:
        graph.nodes[u]["y"] = 143.6
    path = tmp_path / "grid.graphml"
    ox.save_graphml(graph, path)
    with pytest.raises(NetworkError) as caught:
        load_graph(path, cache_dir=tmp_path / "cache")
    message = str(caught.value)
    assert message.startswith(f"{path}: ") and expected in message and "\n" not in message


def test_ways_without_a_usable_van_speed_are_named(
    grid_graph: nx.MultiDiGraph, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever OSMnx leaves without a speed (an unreadable maxspeed on a class it has no
    figure for) is one NetworkError naming the ways, not NaN weights in the router."""
    real = ox.add_edge_speeds

    def leaves_one_without_speed(graph: nx.MultiDiGraph, **options: object) -> nx.MultiDiGraph:
        graph = real(graph, **options)
        u, v, key = next(iter(graph.edges(keys=True)))
        graph.edges[u, v, key]["speed_kph"] = float("nan")
        graph.edges[u, v, key]["osmid"] = 4242
        return graph

    monkeypatch.setattr(ox, "add_edge_speeds", leaves_one_without_speed)
    with pytest.raises(
        NetworkError, match=r"grid: 1 ways have no usable speed for vans \(OSM ways 4242\)"
    ):
        apply_profile(grid_graph, "van", source="grid")
