"""Integration: the router against networkx on the real Montpellier extract.

For the simplified (~5k nodes) and the unsimplified (~31k nodes) graph, with the robot and the van
profile: 1,000 random routes (fixed seed) cost what networkx's Dijkstra says and can be walked
edge by edge; a 100 x 100 matrix matches networkx; the scipy backend agrees with the contraction
hierarchy. networkx runs once per origin (``single_source_dijkstra_path_length``), so the oracle
costs 100 single-source searches per graph.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

from carreta.routing import load_graph
from carreta.routing.router import Route, Router

pytestmark = pytest.mark.slow

SEED = 20241030
ROUTE_ORIGINS = 50
DESTINATIONS_PER_ORIGIN = 20  # 50 x 20 = 1,000 routes per graph
MATRIX_SIZE = 100
BACKEND_PAIRS = 200
TOLERANCE_S = 1e-3  # per route; the backends are exact, so this only absorbs float rounding


@dataclass(frozen=True)
class Case:
    """One graph, its contraction-hierarchy router, random nodes and networkx's answers."""

    graph: nx.MultiDiGraph
    router: Router
    origins: list[int]  # MATRIX_SIZE nodes; the first ROUTE_ORIGINS also start routes
    destinations: list[int]  # MATRIX_SIZE nodes
    oracle: dict[int, dict[int, float]]  # networkx travel time from each origin to every node

    def route_pairs(self) -> list[tuple[int, int]]:
        """The 1,000 (origin, destination) pairs of the route tests (fixed by the seed)."""
        rng = np.random.default_rng(SEED + 1)
        nodes = np.array(sorted(self.graph.nodes))
        return [
            (origin, int(destination))
            for origin in self.origins[:ROUTE_ORIGINS]
            for destination in rng.choice(nodes, DESTINATIONS_PER_ORIGIN, replace=False)
        ]


@pytest.fixture(
    scope="module",
    params=[(True, "robot"), (True, "van"), (False, "robot"), (False, "van")],
    ids=["simplified-robot", "simplified-van", "unsimplified-robot", "unsimplified-van"],
)
def case(request: pytest.FixtureRequest, montpellier_osm: Path, carreta_cache_dir: Path) -> Case:
    """The Montpellier graph for one (simplify, profile), routed and answered by networkx."""
    simplify, profile = request.param
    if simplify:
        graph = request.getfixturevalue(f"montpellier_{profile}")
    else:
        graph = load_graph(
            montpellier_osm, profile=profile, simplify=False, cache_dir=carreta_cache_dir
        )
    rng = np.random.default_rng(SEED)
    nodes = np.array(sorted(graph.nodes))
    origins = [int(n) for n in rng.choice(nodes, MATRIX_SIZE, replace=False)]
    destinations = [int(n) for n in rng.choice(nodes, MATRIX_SIZE, replace=False)]
    oracle = {
        origin: nx.single_source_dijkstra_path_length(graph, origin, weight="travel_time")
        for origin in origins
    }
    router = Router(graph, backend="ch")
    return Case(graph, router, origins, destinations, oracle)


def walk(graph: nx.MultiDiGraph, route: Route) -> tuple[float, float]:
    """(travel_time s, length m) of walking ``route`` on ``graph`` along the cheapest edges.

    Fails if two consecutive nodes are not joined by a street.
    """
    time_s = length_m = 0.0
    for u, v in itertools.pairwise(route.nodes.tolist()):
        assert graph.has_edge(u, v), f"{u} -> {v} is not a street of the graph"
        edge_s, edge_m = min((d["travel_time"], d["length"]) for d in graph[u][v].values())
        time_s += edge_s
        length_m += edge_m
    return time_s, length_m


def test_routes_cost_what_networkx_says(case: Case) -> None:
    pairs = case.route_pairs()
    assert len(pairs) == 1_000

    for origin, destination in pairs:
        route = case.router.route(origin, destination)
        expected = case.oracle[origin][destination]  # the graph is strongly connected
        assert route.duration_s == pytest.approx(expected, abs=TOLERANCE_S), (origin, destination)


def test_routes_can_be_walked_on_the_graph(case: Case) -> None:
    for origin, destination in case.route_pairs():
        route = case.router.route(origin, destination)

        assert (route.origin, route.destination) == (origin, destination)
        time_s, length_m = walk(case.graph, route)
        assert route.duration_s == pytest.approx(time_s, rel=1e-9)
        assert route.length_m == pytest.approx(length_m, rel=1e-9)
        assert np.all(np.diff(route.cum_time_s) >= 0)


def test_matrix_matches_networkx(case: Case) -> None:
    table = case.router.matrix(case.origins, case.destinations)

    expected = np.array([[case.oracle[o][d] for d in case.destinations] for o in case.origins])
    assert table.shape == (MATRIX_SIZE, MATRIX_SIZE)
    np.testing.assert_allclose(table, expected, rtol=0, atol=TOLERANCE_S)


def test_scipy_backend_agrees_with_contraction_hierarchy(case: Case) -> None:
    scipy_router = Router(case.graph, backend="scipy")
    nodes = np.array(sorted(case.graph.nodes))
    rng = np.random.default_rng(SEED + 2)
    origins = rng.choice(nodes, BACKEND_PAIRS)
    destinations = rng.choice(nodes, BACKEND_PAIRS)

    for origin, destination in zip(origins.tolist(), destinations.tolist(), strict=True):
        by_ch = case.router.route(origin, destination)
        by_scipy = scipy_router.route(origin, destination)
        assert by_scipy.duration_s == pytest.approx(by_ch.duration_s, rel=1e-9)
        assert walk(case.graph, by_scipy)[0] == pytest.approx(by_scipy.duration_s, rel=1e-9)
    some = [int(n) for n in nodes[:: max(nodes.shape[0] // 30, 1)][:30]]
    np.testing.assert_allclose(
        scipy_router.matrix(some, case.destinations[:30]),
        case.router.matrix(some, case.destinations[:30]),
        rtol=1e-9,
    )


def test_auto_hierarchy_is_greedy_on_montpellier(case: Case) -> None:
    """The default hierarchy (``"auto"``) on Montpellier's streets is the greedy one: their
    nested-dissection contraction adds few node pairs (1.3-2.5 a node)."""
    from carreta.routing.ch import ContractionHierarchy

    hierarchy = case.router._engine
    assert isinstance(hierarchy, ContractionHierarchy)
    assert hierarchy.method == "greedy"
    assert 1.0 < hierarchy.fill < 3.0 < ContractionHierarchy.AUTO_FILL


def test_dissection_hierarchy_costs_what_networkx_says(case: Case) -> None:
    """The hierarchy built in a nested-dissection order: the same costs, walkable routes, the
    same matrix."""
    router = Router(case.graph, backend="ch", hierarchy="dissection")
    for origin, destination in case.route_pairs():
        route = router.route(origin, destination)
        expected = case.oracle[origin][destination]
        assert route.duration_s == pytest.approx(expected, abs=TOLERANCE_S), (origin, destination)
        assert walk(case.graph, route)[0] == pytest.approx(route.duration_s, rel=1e-9)
    table = router.matrix(case.origins, case.destinations)
    expected_table = [[case.oracle[o][d] for d in case.destinations] for o in case.origins]
    np.testing.assert_allclose(table, expected_table, rtol=0, atol=TOLERANCE_S)
