"""Snapping points to the nearest street node, checked against brute-force great-circle search."""

from __future__ import annotations

import networkx as nx
import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carreta.routing import NetworkError, SnapError, Snapper, SnapResult

EARTH_RADIUS_M = 6_371_009.0


def haversine_matrix_m(
    lons: npt.NDArray[np.float64],
    lats: npt.NDArray[np.float64],
    node_lons: npt.NDArray[np.float64],
    node_lats: npt.NDArray[np.float64],
) -> npt.NDArray[np.float64]:
    """Great-circle distance (m) from every point (rows) to every node (columns)."""
    phi1, phi2 = np.radians(lats)[:, None], np.radians(node_lats)[None, :]
    dlmb = np.radians(node_lons[None, :] - lons[:, None])
    h = np.sin((phi2 - phi1) / 2) ** 2 + np.cos(phi1) * np.cos(phi2) * np.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(h))


def node_arrays(
    graph: nx.MultiDiGraph,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    ids = np.array(list(graph.nodes), dtype=np.int64)
    lons = np.array([graph.nodes[node]["x"] for node in ids], dtype=float)
    lats = np.array([graph.nodes[node]["y"] for node in ids], dtype=float)
    return ids, lons, lats


def test_nodes_snap_to_themselves(tiny_graph: nx.MultiDiGraph) -> None:
    ids, lons, lats = node_arrays(tiny_graph)
    result = Snapper(tiny_graph).snap(lons, lats)
    assert isinstance(result, SnapResult)
    assert result.nodes.dtype == np.int64 and result.distance_m.dtype == np.float64
    assert result.nodes.tolist() == ids.tolist()
    assert np.all(result.distance_m < 1e-6)


@pytest.mark.slow
def test_matches_brute_force_on_montpellier(montpellier_robot: nx.MultiDiGraph) -> None:
    ids, node_lons, node_lats = node_arrays(montpellier_robot)
    rng = np.random.default_rng(20241030)
    lons = rng.uniform(node_lons.min() - 0.01, node_lons.max() + 0.01, 400)
    lats = rng.uniform(node_lats.min() - 0.01, node_lats.max() + 0.01, 400)
    result = Snapper(montpellier_robot).snap(lons, lats)

    distances = haversine_matrix_m(lons, lats, node_lons, node_lats)
    best = distances.min(axis=1)
    np.testing.assert_allclose(result.distance_m, best, rtol=0, atol=1e-3)
    position = {int(node): i for i, node in enumerate(ids)}
    chosen = distances[np.arange(len(lons)), [position[int(n)] for n in result.nodes]]
    np.testing.assert_allclose(chosen, best, rtol=0, atol=1e-3)


@pytest.mark.slow
def test_ten_thousand_points_in_one_call(montpellier_robot: nx.MultiDiGraph) -> None:
    ids, lons, lats = node_arrays(montpellier_robot)
    rng = np.random.default_rng(7)
    pick = rng.integers(0, len(ids), 10_000)
    # ~1 m of noise keeps every point far closer to its own node than to any other
    jitter = rng.normal(0.0, 1e-5, (2, pick.size))
    result = Snapper(montpellier_robot).snap(lons[pick] + jitter[0], lats[pick] + jitter[1])
    assert result.nodes.shape == (10_000,)
    assert np.mean(result.nodes == ids[pick]) > 0.99
    assert float(np.median(result.distance_m)) < 3.0


@pytest.mark.slow
def test_far_point_names_index_position_and_distance(montpellier_robot: nx.MultiDiGraph) -> None:
    snapper = Snapper(montpellier_robot)
    lons = [3.8767, 3.8790, 3.5, 3.4]  # the last two are ~50 km south-west of the extract
    lats = [43.6108, 43.6050, 43.2, 43.1]
    with pytest.raises(SnapError) as caught:
        snapper.snap(lons, lats, max_distance_m=500)
    message = str(caught.value)
    assert message.startswith("point 2 (3.500000, 43.200000) is 4")
    assert " km from the nearest street node (limit 500 m)" in message
    assert message.endswith("1 more points are too far")
    within = snapper.snap(lons[:2], lats[:2], max_distance_m=500)
    assert np.all(within.distance_m <= 500)


def test_snap_error_is_a_network_error(tiny_graph: nx.MultiDiGraph) -> None:
    with pytest.raises(NetworkError, match=r"point 0 \(3\.900000, 43\.610000\) is 1\.6 km"):
        Snapper(tiny_graph).snap_point(3.9, 43.61, max_distance_m=1000)


def test_snap_point(tiny_graph: nx.MultiDiGraph) -> None:
    node, distance_m = Snapper(tiny_graph).snap_point(3.8781, 43.6101)
    assert (type(node), type(distance_m)) == (int, float)
    assert node == 2 and 10 < distance_m < 20


def test_bad_points(tiny_graph: nx.MultiDiGraph) -> None:
    snapper = Snapper(tiny_graph)
    with pytest.raises(SnapError, match=r"point 1 .* not a valid longitude/latitude"):
        snapper.snap([3.87, np.nan], [43.6, 43.6])
    with pytest.raises(SnapError, match="point 0"):
        snapper.snap([3.87], [95.0])
    with pytest.raises(ValueError, match="equal length"):
        snapper.snap([3.87, 3.88], [43.6])
    empty = snapper.snap([], [])
    assert empty.nodes.shape == (0,) and empty.distance_m.shape == (0,)


def test_bad_graphs() -> None:
    with pytest.raises(NetworkError, match="empty"):
        Snapper(nx.MultiDiGraph())
    graph = nx.MultiDiGraph()
    graph.add_node("a", x=3.87, y=43.6)
    with pytest.raises(NetworkError, match="integer ids"):
        Snapper(graph)
    graph = nx.MultiDiGraph()
    graph.add_node(1, x=3.87)
    with pytest.raises(NetworkError, match="'y'"):
        Snapper(graph)


@settings(max_examples=200, deadline=None)
@given(
    lon=st.floats(min_value=3.86, max_value=3.89),
    lat=st.floats(min_value=43.60, max_value=43.62),
)
def test_snapped_node_is_the_nearest(lon: float, lat: float) -> None:
    graph = nx.MultiDiGraph()
    for node, (x, y) in enumerate([(3.870, 43.605), (3.875, 43.610), (3.880, 43.612)], start=10):
        graph.add_node(node, x=x, y=y)
    ids, node_lons, node_lats = node_arrays(graph)
    node, distance_m = Snapper(graph).snap_point(lon, lat)
    distances = haversine_matrix_m(np.array([lon]), np.array([lat]), node_lons, node_lats)[0]
    assert distance_m == pytest.approx(distances.min(), abs=1e-3)
    assert distances[list(ids).index(node)] == pytest.approx(distances.min(), abs=1e-3)
