"""Unit and property tests of :class:`carreta.routing.router.Router` on small graphs built in code.

networkx is the oracle: whatever the backend, a route must cost exactly what
``nx.shortest_path_length`` says, follow edges of the graph, and fail loudly (``NoRouteError``,
``UnknownNodeError``) rather than return ``None``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable
from typing import cast

import networkx as nx
import numpy as np
import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from carreta.routing.errors import CarretaError, NetworkError, NoRouteError, UnknownNodeError
from carreta.routing.router import Backend, Route, Router

BACKENDS: tuple[Backend, ...] = ("ch", "scipy")

# (u, v, travel_time s, length m)
Edge = tuple[int, int, float, float]


def street_graph(edges: Iterable[Edge], nodes: Iterable[int] = ()) -> nx.MultiDiGraph:
    """A MultiDiGraph with OSMnx attribute names; every edge listed once (one-way)."""
    graph = nx.MultiDiGraph()
    graph.add_nodes_from(nodes)
    for u, v, travel_time, length in edges:
        graph.add_edge(u, v, travel_time=travel_time, length=length)
    return graph


def two_way(edges: Iterable[Edge]) -> list[Edge]:
    """Each edge and its reverse."""
    return [e for u, v, t, m in edges for e in ((u, v, t, m), (v, u, t, m))]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> Backend:
    """Each test runs on both router backends."""
    return cast(Backend, request.param)


@pytest.fixture
def square() -> nx.MultiDiGraph:
    """A block 10 -- 20 -- 30 -- 40 -- 10 of two-way streets (60 s, 100 m each), plus a one-way
    diagonal 10 -> 30 (100 s, 140 m) and a one-way spur 30 -> 50 (10 s, 20 m)."""
    block = two_way([(10, 20, 60.0, 100.0), (20, 30, 60.0, 100.0), (30, 40, 60.0, 100.0)])
    block += two_way([(40, 10, 60.0, 100.0)])
    return street_graph([*block, (10, 30, 100.0, 140.0), (30, 50, 10.0, 20.0)])


# -- unit tests ---------------------------------------------------------------------------------


def test_route_follows_the_cheapest_of_parallel_edges(backend: Backend) -> None:
    graph = street_graph([(1, 2, 30.0, 100.0), (1, 2, 12.0, 250.0), (1, 2, 45.0, 80.0)])

    route = Router(graph, backend=backend).route(1, 2)

    assert route.nodes.tolist() == [1, 2]
    assert route.duration_s == 12.0
    assert route.length_m == 250.0  # the length of the edge actually taken, not the shortest


def test_one_way_street_is_not_driven_backwards(backend: Backend, square: nx.MultiDiGraph) -> None:
    router = Router(square, backend=backend)

    assert router.route(10, 30).nodes.tolist() == [10, 30]
    back = router.route(30, 10)
    assert back.duration_s == 120.0
    assert back.nodes.tolist() in ([30, 20, 10], [30, 40, 10])
    with pytest.raises(NoRouteError):
        router.route(50, 30)  # the spur is one-way out


def test_unreachable_destination_raises_no_route_error(
    backend: Backend, square: nx.MultiDiGraph
) -> None:
    square.add_node(99)  # isolated
    router = Router(square, backend=backend)

    for origin, destination in [(50, 10), (10, 99), (99, 10)]:
        with pytest.raises(NoRouteError) as caught:
            router.route(origin, destination)
        assert (caught.value.origin, caught.value.destination) == (origin, destination)
        assert str(caught.value) == f"no route from node {origin} to node {destination}"
        with pytest.raises(NoRouteError):
            router.duration(origin, destination)
    assert isinstance(caught.value, CarretaError)
    assert isinstance(caught.value, LookupError)


def test_unknown_node_raises_with_the_node_in_the_message(
    backend: Backend, square: nx.MultiDiGraph
) -> None:
    router = Router(square, backend=backend)

    with pytest.raises(UnknownNodeError, match=r"^node 12345 is not in the street graph$"):
        router.route(10, 12345)
    with pytest.raises(UnknownNodeError, match="12345"):
        router.route(12345, 10)
    with pytest.raises(UnknownNodeError, match="'rue de la Loge'"):
        router.duration("rue de la Loge", 10)
    with pytest.raises(UnknownNodeError, match="None"):
        router.route(None, 10)
    with pytest.raises(UnknownNodeError, match=r"10\.5"):
        router.route(10.5, 20)  # not node 10
    with pytest.raises(UnknownNodeError, match="'10'"):
        router.route("10", 20)
    with pytest.raises(UnknownNodeError, match=r"\[10\]"):
        router.route([10], 20)  # type: ignore[arg-type]
    with pytest.raises(UnknownNodeError, match="777"):
        router.matrix([10, 20], [30, 777])
    assert 12345 not in router
    assert 10 in router
    assert np.int64(10) in router


def test_numpy_integer_node_ids_are_accepted(backend: Backend, square: nx.MultiDiGraph) -> None:
    router = Router(square, backend=backend)

    assert router.route(np.int64(10), np.int32(20)).duration_s == 60.0
    indices = router.index_of([np.int64(40), 20])
    assert router.node_ids[indices].tolist() == [40, 20]


def test_route_to_itself_is_a_single_node(backend: Backend, square: nx.MultiDiGraph) -> None:
    route = Router(square, backend=backend).route(20, 20)

    assert route.nodes.tolist() == [20]
    assert (route.origin, route.destination) == (20, 20)
    assert route.duration_s == 0.0
    assert route.length_m == 0.0
    assert route.position_at(0.0) == (0, 1.0)
    assert route.position_at(50.0) == (0, 1.0)


def test_zero_travel_time_edges_are_free_but_keep_their_length(backend: Backend) -> None:
    # 1 -> 2 -> 3 -> 4 costs nothing (a ferry-like free link), 1 -> 4 directly costs 1 s.
    graph = street_graph(
        [(1, 2, 0.0, 10.0), (2, 3, 0.0, 20.0), (3, 4, 0.0, 30.0), (1, 4, 1.0, 5.0)]
    )

    route = Router(graph, backend=backend).route(1, 4)

    assert route.nodes.tolist() == [1, 2, 3, 4]
    assert route.duration_s == 0.0
    assert route.cum_time_s.tolist() == [0.0, 0.0, 0.0, 0.0]
    assert route.cum_length_m.tolist() == [0.0, 10.0, 30.0, 60.0]
    assert route.position_at(0.0) == (2, 1.0)
    assert Router(graph, backend=backend).matrix([1], [4]).tolist() == [[0.0]]


def test_zero_weight_cycle_is_not_driven_round(backend: Backend) -> None:
    # Found by hypothesis: the contraction hierarchy once returned -1 -> 0 -> 1 -> 0, a free
    # detour that still doubled the length walked.
    graph = street_graph([(0, 1, 0.0, 7.0), (1, 0, 0.0, 7.0), (-1, 0, 0.0, 3.0)])

    route = Router(graph, backend=backend).route(-1, 0)

    assert route.nodes.tolist() == [-1, 0]
    assert route.length_m == 3.0


def test_zero_weight_cycle_does_not_loop(backend: Backend) -> None:
    cycle = two_way([(1, 2, 0.0, 1.0), (2, 3, 0.0, 1.0), (3, 1, 0.0, 1.0)])
    graph = street_graph([*cycle, (3, 4, 5.0, 1.0), (4, 1, 0.0, 1.0)])

    route = Router(graph, backend=backend).route(2, 4)

    assert route.duration_s == 5.0
    assert route.nodes[-2:].tolist() == [3, 4]
    assert len(set(route.nodes.tolist())) == route.nodes.shape[0]


def test_route_arrays_are_read_only(backend: Backend, square: nx.MultiDiGraph) -> None:
    route = Router(square, backend=backend).route(10, 50)

    assert route.nodes.dtype == np.int64
    for array in (route.nodes, route.cum_time_s, route.cum_length_m):
        with pytest.raises(ValueError, match="read-only"):
            array[0] = 1
    with pytest.raises(AttributeError):
        route.nodes = np.array([1])  # type: ignore[misc]


def test_route_reads_each_attribute_once_from_its_packed_path(
    backend: Backend, square: nx.MultiDiGraph
) -> None:
    """A route's attributes are made when first read and are the same objects afterwards; a
    route built from its arrays, or pickled and loaded, has the same ones."""
    import pickle

    route = Router(square, backend=backend).route(10, 50)

    assert route.nodes is route.nodes and route.cum_time_s is route.cum_time_s
    assert route.nodes.tolist() == [10, 30, 50]
    assert (route.origin, route.destination) == (10, 50)
    assert route.duration_s == route.cum_time_s[-1] == 110.0
    assert route.length_m == route.cum_length_m[-1] == 160.0
    for other in (
        Route(route.nodes, route.cum_time_s, route.cum_length_m),
        pickle.loads(pickle.dumps(route)),
    ):
        for name in ("nodes", "cum_time_s", "cum_length_m"):
            assert np.array_equal(getattr(other, name), getattr(route, name))
        for name in ("origin", "destination", "duration_s", "length_m"):
            assert getattr(other, name) == getattr(route, name)
    assert repr(route) == (
        "Route(origin=10, destination=50, nodes=3, duration_s=110.0, length_m=160.0)"
    )
    with pytest.raises(AttributeError, match="immutable"):
        del route.nodes
    with pytest.raises(ValueError, match="a node at least"):
        Route(np.array([], dtype=np.int64), np.array([]), np.array([]))


def test_repeated_route_is_served_from_the_cache(backend: Backend, square: nx.MultiDiGraph) -> None:
    router = Router(square, backend=backend, cache_size=2)

    first = router.route(10, 50)
    again = router.route(np.int64(10), 50)

    assert again is first
    info = router.cache_info()
    assert info == {**info, "hits": 1, "misses": 1, "size": 1, "capacity": 2, "trees": 0}
    router.route(20, 40)
    router.route(40, 20)  # evicts (10, 50), the least recently used
    assert router.route(10, 50) is not first
    assert router.cache_info()["misses"] == 4
    assert router.cache_info()["size"] == 2


def test_cache_can_be_disabled(backend: Backend, square: nx.MultiDiGraph) -> None:
    router = Router(square, backend=backend, cache_size=0)

    first = router.route(10, 50)
    second = router.route(10, 50)

    assert second is not first
    assert second.nodes.tolist() == first.nodes.tolist() == [10, 30, 50]
    info = router.cache_info()
    assert info == {**info, "hits": 0, "misses": 2, "size": 0, "capacity": 0}


def test_position_at_interpolates_along_the_route(backend: Backend) -> None:
    graph = street_graph([(1, 2, 10.0, 10.0), (2, 3, 20.0, 10.0), (3, 4, 30.0, 10.0)])
    route = Router(graph, backend=backend).route(1, 4)

    assert route.cum_time_s.tolist() == [0.0, 10.0, 30.0, 60.0]
    assert route.position_at(-5.0) == (0, 0.0)
    assert route.position_at(0.0) == (0, 0.0)
    assert route.position_at(5.0) == (0, 0.5)
    assert route.position_at(10.0) == (1, 0.0)
    assert route.position_at(25.0) == (1, 0.75)
    assert route.position_at(45.0) == (2, 0.5)
    assert route.position_at(60.0) == (2, 1.0)
    assert route.position_at(1e9) == (2, 1.0)


def test_route_can_minimise_length(backend: Backend) -> None:
    # Fast but long (1 -> 2 -> 3) against slow but short (1 -> 3).
    graph = street_graph([(1, 2, 10.0, 500.0), (2, 3, 10.0, 500.0), (1, 3, 100.0, 300.0)])

    by_time = Router(graph, backend=backend).route(1, 3)
    by_length = Router(graph, weight="length", backend=backend).route(1, 3)

    assert by_time.nodes.tolist() == [1, 2, 3]
    assert by_length.nodes.tolist() == [1, 3]
    assert by_length.duration_s == 300.0  # the routing weight, metres here
    assert by_length.length_m == 300.0


def test_graph_changes_after_construction_are_not_seen(
    backend: Backend, square: nx.MultiDiGraph
) -> None:
    router = Router(square, backend=backend)
    square.add_edge(50, 10, travel_time=1.0, length=1.0)

    with pytest.raises(NoRouteError):
        router.route(50, 10)


def test_matrix_shape_and_unreachable_pairs(backend: Backend, square: nx.MultiDiGraph) -> None:
    square.add_node(99)
    router = Router(square, backend=backend)

    table = router.matrix([10, 50, 99, 10], [30, 10, 50])

    assert table.shape == (4, 3)
    expected = [
        [100.0, 0.0, 110.0],
        [math.inf, math.inf, 0.0],
        [math.inf, math.inf, math.inf],
        [100.0, 0.0, 110.0],
    ]
    assert table.tolist() == expected
    square_table = router.matrix([10, 20, 30])
    assert square_table.shape == (3, 3)
    assert np.diag(square_table).tolist() == [0.0, 0.0, 0.0]
    assert router.matrix([], [10, 20]).shape == (0, 2)
    assert router.matrix([10, 20], []).shape == (2, 0)


def test_backends_give_identical_routes_and_matrices(square: nx.MultiDiGraph) -> None:
    ch = Router(square, backend="ch")
    scipy = Router(square, backend="scipy")
    nodes = list(square.nodes)

    for origin in nodes:
        for destination in nodes:
            if not nx.has_path(square, origin, destination):
                continue
            a, b = ch.route(origin, destination), scipy.route(origin, destination)
            assert a.duration_s == b.duration_s
            assert a.length_m == b.length_m
    np.testing.assert_array_equal(ch.matrix(nodes), scipy.matrix(nodes))


def test_invalid_graphs_are_rejected(backend: Backend) -> None:
    with pytest.raises(NetworkError, match="no nodes"):
        Router(nx.MultiDiGraph(), backend=backend)
    with pytest.raises(NetworkError, match=r"invalid travel_time of -1\.0"):
        Router(street_graph([(1, 2, -1.0, 10.0)]), backend=backend)
    with pytest.raises(NetworkError, match="invalid"):
        Router(street_graph([(1, 2, math.nan, 10.0)]), backend=backend)
    graph = nx.MultiDiGraph()
    graph.add_edge(1, 2, length=10.0)
    with pytest.raises(NetworkError, match="travel_time"):
        Router(graph, backend=backend)


def test_unknown_backend_is_a_value_error(square: nx.MultiDiGraph) -> None:
    with pytest.raises(ValueError, match="'dijkstra'"):
        Router(square, backend="dijkstra")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown hierarchy 'metis'"):
        Router(square, hierarchy="metis")  # type: ignore[arg-type]


def test_auto_hierarchy_is_dissection_on_a_grid_and_greedy_on_streets() -> None:
    """``hierarchy="auto"`` (the default) builds the dissection hierarchy on a 40 x 40 street
    grid (its nested-dissection contraction adds 11 node pairs a node, past ``AUTO_FILL``) and
    the greedy one on a tree of streets (under one a node); routes stay networkx's."""
    from carreta.routing.ch import ContractionHierarchy

    grid = nx.grid_2d_graph(40, 40)
    graph = street_graph(
        two_way(
            (40 * a + b, 40 * c + d, 10.0 + (a * c + b) % 7, 50.0) for (a, b), (c, d) in grid.edges
        )
    )
    router = Router(graph, backend="ch")
    hierarchy = router._engine
    assert isinstance(hierarchy, ContractionHierarchy)
    assert hierarchy.method == "dissection" and hierarchy.fill > ContractionHierarchy.AUTO_FILL
    rng = np.random.default_rng(3)
    for origin, destination in rng.integers(0, 1600, (100, 2)).tolist():
        expected = nx.shortest_path_length(graph, origin, destination, weight="travel_time")
        route = router.route(origin, destination)
        assert_route_is_a_shortest_path(graph, route, origin, destination, expected)
    tree = street_graph(two_way((k, k // 2, 5.0, 20.0) for k in range(1, 200)))
    streets = Router(tree, backend="ch")._engine
    assert isinstance(streets, ContractionHierarchy)
    assert streets.method == "greedy" and streets.fill < 1.0


def test_dissection_order_must_rank_every_node_once(square: nx.MultiDiGraph) -> None:
    from carreta.routing.ch import ContractionHierarchy

    compiled = Router(square, backend="scipy").compiled
    with pytest.raises(ValueError, match="order must rank the 5 nodes"):
        ContractionHierarchy(compiled, method="dissection", order=[0, 1, 2, 3, 3])
    with pytest.raises(ValueError, match="method must be"):
        ContractionHierarchy(compiled, method="witness")


# -- property tests against networkx ------------------------------------------------------------

weights = st.one_of(
    st.just(0.0),
    st.integers(min_value=0, max_value=20).map(float),
    st.floats(min_value=0.0, max_value=1_000.0, allow_nan=False, allow_infinity=False),
)


@st.composite
def random_street_graphs(draw: st.DrawFn) -> nx.MultiDiGraph:
    """Directed multigraphs with 1-12 arbitrary integer node ids, parallel edges, self-loops,
    zero weights, and anything from disconnected to dense."""
    ids = st.integers(min_value=-(2**62), max_value=2**62)
    nodes = draw(st.lists(ids, min_size=1, max_size=12, unique=True))
    index = st.integers(min_value=0, max_value=len(nodes) - 1)
    edge = st.tuples(index, index, weights, st.floats(min_value=0.0, max_value=500.0))
    edges = draw(st.lists(edge, max_size=4 * len(nodes)))
    # Repeat some edges with other weights: parallel streets.
    parallel = (
        draw(st.lists(st.tuples(st.sampled_from(edges), weights), max_size=6)) if edges else []
    )
    all_edges = [(nodes[u], nodes[v], t, m) for u, v, t, m in edges]
    all_edges += [(nodes[u], nodes[v], t, m) for (u, v, _, m), t in parallel]
    return street_graph(all_edges, nodes=nodes)


def describe(graph: nx.MultiDiGraph) -> str:
    """The graph as Python source (nodes, then (u, v, travel_time, length) edges)."""
    edges = [(u, v, d["travel_time"], d["length"]) for u, v, d in graph.edges(data=True)]
    return f"nodes={list(graph.nodes)!r}\nedges={edges!r}"


def cheapest_edge(graph: nx.MultiDiGraph, u: int, v: int) -> tuple[float, float]:
    """(travel_time, length) of the cheapest parallel edge u -> v (shortest among ties)."""
    return min((d["travel_time"], d["length"]) for d in graph[u][v].values())


def assert_route_is_a_shortest_path(
    graph: nx.MultiDiGraph, route: Route, origin: int, destination: int, expected_s: float
) -> None:
    nodes = route.nodes.tolist()
    assert nodes[0] == route.origin == origin
    assert nodes[-1] == route.destination == destination
    assert math.isclose(route.duration_s, expected_s, rel_tol=1e-9, abs_tol=1e-12)
    assert len(set(nodes)) == len(nodes), "a shortest path never visits a node twice"
    time_s, length_m = 0.0, 0.0
    for k, (u, v) in enumerate(itertools.pairwise(nodes)):
        assert graph.has_edge(u, v), f"{u} -> {v} is not a street"
        edge_s, edge_m = cheapest_edge(graph, u, v)
        time_s += edge_s
        length_m += edge_m
        assert math.isclose(route.cum_time_s[k + 1], time_s, rel_tol=1e-9, abs_tol=1e-12)
        assert math.isclose(route.cum_length_m[k + 1], length_m, rel_tol=1e-9, abs_tol=1e-12)
    assert route.cum_time_s[0] == route.cum_length_m[0] == 0.0
    assert np.all(np.diff(route.cum_time_s) >= 0)
    assert np.all(np.diff(route.cum_length_m) >= 0)
    assert route.cum_time_s.shape == route.cum_length_m.shape == route.nodes.shape


def all_routers(graph: nx.MultiDiGraph, **options: int) -> list[Router]:
    """A router of each backend (the greedy contraction hierarchy for ``"ch"``), and the
    contraction hierarchy built by nested dissection (METIS's order when pymetis is installed,
    and the built-in breadth-first-level order)."""
    from carreta.routing import _cch_numba
    from carreta.routing.ch import ContractionHierarchy

    routers = [Router(graph, backend=b, hierarchy="greedy", **options) for b in BACKENDS]
    routers.append(Router(graph, backend="ch", hierarchy="dissection", **options))
    levels = Router(graph, backend="ch", hierarchy="greedy", **options)
    compiled = levels.compiled
    ptr, adj = _cch_numba._undirected(compiled.n_nodes, compiled.sources, compiled.indices)
    order = _cch_numba.dissection_order(compiled.n_nodes, ptr, adj)
    hierarchy = ContractionHierarchy(compiled, method="dissection", order=order)
    levels._use_engine(hierarchy)
    routers.append(levels)
    return routers


PROPERTY_SETTINGS = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@PROPERTY_SETTINGS
@given(graph=random_street_graphs())
def test_routes_match_networkx_on_random_graphs(graph: nx.MultiDiGraph) -> None:
    note(describe(graph))
    oracle = dict(nx.all_pairs_dijkstra_path_length(graph, weight="travel_time"))
    for router in all_routers(graph):
        for origin in graph.nodes:
            for destination in graph.nodes:
                expected = oracle[origin].get(destination)
                if expected is None:
                    with pytest.raises(NoRouteError):
                        router.route(origin, destination)
                    continue
                route = router.route(origin, destination)
                assert_route_is_a_shortest_path(graph, route, origin, destination, expected)


@PROPERTY_SETTINGS
@given(graph=random_street_graphs(), data=st.data())
def test_matrix_matches_networkx_on_random_graphs(
    graph: nx.MultiDiGraph, data: st.DataObject
) -> None:
    note(describe(graph))
    nodes = list(graph.nodes)
    origins = data.draw(st.lists(st.sampled_from(nodes), max_size=8), label="origins")
    destinations = data.draw(st.lists(st.sampled_from(nodes), max_size=8), label="destinations")
    oracle = dict(nx.all_pairs_dijkstra_path_length(graph, weight="travel_time"))
    expected = np.array(
        [[oracle[o].get(d, math.inf) for d in destinations] for o in origins]
    ).reshape(len(origins), len(destinations))
    for router in all_routers(graph):
        table = router.matrix(origins, destinations)
        assert table.shape == expected.shape
        np.testing.assert_allclose(table, expected, rtol=1e-9, atol=1e-12)
        full = router.matrix(nodes)
        assert full.shape == (len(nodes), len(nodes))
        np.testing.assert_array_equal(
            np.isinf(full), [[d not in oracle[o] for d in nodes] for o in nodes]
        )


@PROPERTY_SETTINGS
@given(graph=random_street_graphs())
def test_bidirectional_queries_match_networkx_on_random_graphs(graph: nx.MultiDiGraph) -> None:
    """With no room for precomputed search spaces, the hierarchy searches both ways per query."""
    from carreta.routing.ch import ContractionHierarchy

    note(describe(graph))
    oracle = dict(nx.all_pairs_dijkstra_path_length(graph, weight="travel_time"))
    compiled = Router(graph, backend="scipy").compiled
    hierarchy = ContractionHierarchy(compiled, max_space_entries=0)
    assert not hierarchy.uses_spaces
    index = {int(node): i for i, node in enumerate(compiled.node_ids)}
    for origin in graph.nodes:
        for destination in graph.nodes:
            packed = hierarchy.path(index[origin], index[destination])
            expected = oracle[origin].get(destination)
            if expected is None:
                assert packed.shape == (3, 0)
                continue
            route = Route.from_packed(packed)
            assert_route_is_a_shortest_path(graph, route, origin, destination, expected)


def test_expansion_table_keeps_to_its_bounds() -> None:
    """No room beyond the original edges: only they are stored, and the paths stay the same."""
    from carreta.routing.ch import ContractionHierarchy

    grid = nx.grid_2d_graph(6, 6)
    graph = street_graph(
        two_way((6 * a + b, 6 * c + d, 10.0 + (a + b) % 3, 50.0) for (a, b), (c, d) in grid.edges)
    )
    compiled = Router(graph, backend="scipy").compiled
    full = ContractionHierarchy(compiled)
    bare = ContractionHierarchy(compiled, max_expanded_entries=0)
    assert full.shortcuts > 0 and full._table.shape[0] > compiled.n_edges
    assert bare._table.shape[0] == compiled.n_edges
    for s, t in itertools.product(range(compiled.n_nodes), repeat=2):
        assert np.array_equal(full.path(s, t), bare.path(s, t))
    with pytest.raises(ValueError, match="max_expanded must be at least 1"):
        ContractionHierarchy(compiled, max_expanded=0)


@PROPERTY_SETTINGS
@given(graph=random_street_graphs(), max_expanded=st.sampled_from([1, 2, 3, 64]))
def test_stored_expansions_are_the_unpacked_shortcuts(
    graph: nx.MultiDiGraph, max_expanded: int
) -> None:
    """Each hierarchy edge stored in a row (see ``_ch_numba.expansions``) holds what unpacking
    it edge by edge gives, those standing for more than ``max_expanded`` edges are not stored,
    and paths are the same, bit for bit, whatever is stored (the bound is lowered to keep the
    table within four entries a hierarchy edge)."""
    from carreta.routing.ch import ContractionHierarchy

    note(describe(graph))
    compiled = Router(graph, backend="scipy").compiled
    hierarchy = ContractionHierarchy(compiled, max_expanded=max_expanded)
    rows, table = hierarchy._hierarchy, hierarchy._table
    expand = rows[:, 4:].astype(np.int64)  # (start, count) of each edge's stored original edges

    def unpacked(e: int) -> list[int]:
        if rows[e, 2] < 0:
            return [e]
        return unpacked(int(rows[e, 2])) + unpacked(int(rows[e, 3]))

    floats = table.view(np.float64)
    stored = expand[expand[:, 0] >= 0, 1]
    limit = stored.max() if stored.size else 1  # max_expanded, or less if over the budget
    assert 1 <= limit <= max_expanded
    for e in range(rows.shape[0]):
        edges = unpacked(e)
        start, count = expand[e]
        assert count == len(edges)
        assert (start >= 0) == (count <= limit)
        if start >= 0:
            heads = hierarchy._node_ids[rows[edges, 1]]
            assert table[start : start + count, 0].tolist() == heads.tolist()
            assert floats[start : start + count, 1].tolist() == compiled.weight[edges].tolist()
            assert floats[start : start + count, 2].tolist() == compiled.length_m[edges].tolist()
    reference = ContractionHierarchy(compiled, max_expanded=1)
    for s in range(compiled.n_nodes):
        for t in range(compiled.n_nodes):
            assert np.array_equal(hierarchy.path(s, t), reference.path(s, t))


@PROPERTY_SETTINGS
@given(graph=random_street_graphs())
def test_batched_routes_are_the_routes_one_by_one(graph: nx.MultiDiGraph) -> None:
    """``Router.routes`` answers each pair as ``route`` does (None where it raises), on every
    engine: the search spaces, the bidirectional search, the elimination-tree search, Dijkstra
    trees (whose ties depend on which end a tree was grown from: there, an equally short path)."""
    from carreta.routing.ch import ContractionHierarchy

    note(describe(graph))
    pairs = [(o, d) for o in graph.nodes for d in graph.nodes]
    origins, destinations = [o for o, _ in pairs], [d for _, d in pairs]
    routers = all_routers(graph, cache_size=0)
    bidirectional = Router(graph, backend="ch", cache_size=0)
    bidirectional._use_engine(ContractionHierarchy(bidirectional.compiled, max_space_entries=0))
    routers.append(bidirectional)
    for router in routers:
        batched = router.routes(origins, destinations)
        assert len(batched) == len(pairs)
        for (origin, destination), route in zip(pairs, batched, strict=True):
            try:
                expected = router.route(origin, destination)
            except NoRouteError:
                assert route is None
                continue
            assert route is not None
            assert not route.nodes.flags.writeable and not route.cum_time_s.flags.writeable
            if router.backend == "scipy":
                assert route.duration_s == pytest.approx(expected.duration_s, rel=1e-9, abs=1e-12)
                continue
            np.testing.assert_array_equal(route.nodes, expected.nodes)
            np.testing.assert_array_equal(route.cum_time_s, expected.cum_time_s)
            np.testing.assert_array_equal(route.cum_length_m, expected.cum_length_m)


def test_batched_routes_run_beside_other_threads() -> None:
    """Threads batching routes at once, beside ``route`` on the main thread, get its answers."""
    from concurrent.futures import ThreadPoolExecutor

    graph = grid(30)
    router = Router(graph, backend="ch")
    rng = np.random.default_rng(3)
    nodes = np.array(list(graph.nodes))
    batches = [rng.choice(nodes, size=(2, 300)).tolist() for _ in range(8)]
    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(router.routes, *batch) for batch in batches]
        expected = [[router.route(o, d) for o, d in zip(*batch, strict=True)] for batch in batches]
        found = [future.result() for future in futures]
    for got, want in zip(found, expected, strict=True):
        for route, reference in zip(got, want, strict=True):
            assert route is not None
            np.testing.assert_array_equal(route.nodes, reference.nodes)
            np.testing.assert_array_equal(route.cum_time_s, reference.cum_time_s)


def test_query_time_counts_batched_routes_and_matrices(
    backend: Backend, square: nx.MultiDiGraph
) -> None:
    """``query_s`` (the run's routing time) counts every call that computes, whichever thread
    made it; a single route only while ``timed`` is on."""
    router = Router(square, backend=backend)
    times = [router.query_s]
    router.routes([10, 20], [30, 50])
    times.append(router.query_s)
    router.matrix([10, 20, 30])
    times.append(router.query_s)
    router.route(40, 50)
    assert router.query_s == times[-1]
    router.timed = True
    router.route(20, 40)
    times.append(router.query_s)
    assert times == sorted(set(times)), times  # each call added time
    assert Router(square, backend=backend, timed=True).timed


def test_batched_routes_need_as_many_origins_as_destinations(square: nx.MultiDiGraph) -> None:
    with pytest.raises(ValueError, match="2 origins for 1 destinations"):
        Router(square).routes([10, 20], [30])


# -- bounded caches and memory ---------------------------------------------------------------


def grid(side: int) -> nx.MultiDiGraph:
    """A ``side`` x ``side`` grid of two-way streets with uneven travel times."""
    rng = np.random.default_rng(side)
    edges: list[Edge] = []
    for row in range(side):
        for column in range(side):
            node = row * side + column
            if column + 1 < side:
                edges.append((node, node + 1, float(rng.integers(5, 30)), 100.0))
            if row + 1 < side:
                edges.append((node, node + side, float(rng.integers(5, 30)), 100.0))
    return street_graph(two_way(edges))


def test_tree_cache_keeps_the_most_recently_used(backend: Backend) -> None:
    router = Router(grid(5), backend=backend, tree_cache_size=2)
    base = router.nbytes
    first = router.tree(0)
    second = router.tree(1)
    assert router.nbytes == base + first.nbytes + second.nbytes
    assert router.tree(0) is first  # used again: now the most recent
    router.tree(2)  # evicts tree 1, the least recently used
    assert router.cache_info()["trees"] == 2
    assert router.tree(0) is first
    assert router.tree(1) is not second  # grown again, same answer
    assert np.array_equal(router.tree(1).duration_s, second.duration_s)
    assert router.cache_info()["trees"] == 2


def test_tree_cache_can_be_disabled(backend: Backend) -> None:
    router = Router(grid(3), backend=backend, tree_cache_size=0)
    assert router.tree(0) is not router.tree(0)
    assert router.cache_info()["trees"] == 0


def test_nbytes_counts_cached_routes(backend: Backend) -> None:
    router = Router(grid(4), backend=backend, cache_size=1)
    base = router.nbytes
    route = router.route(0, 15)
    held = route.nodes.nbytes + route.cum_time_s.nbytes + route.cum_length_m.nbytes
    assert router.nbytes >= base + held
    router.route(15, 0)  # the cache holds one route: the first goes
    other = router.route(15, 0)
    held_now = other.nodes.nbytes + other.cum_time_s.nbytes + other.cum_length_m.nbytes
    assert router.cache_info()["size"] == 1
    assert router.nbytes - base in range(held_now, held_now + 1_000_000)


def test_router_accepts_compiled_arrays() -> None:
    from carreta.routing.compiled import compile_arrays

    tails = np.array([0, 1, 1, 2, 0, 2])
    heads = np.array([1, 2, 0, 1, 1, 2])  # a parallel 0 -> 1 and a self-loop 2 -> 2
    weight = np.array([5.0, 3.0, 5.0, 3.0, 4.0, 1.0])
    compiled = compile_arrays(np.array([10, 20, 30]), tails, heads, weight)
    assert compiled.n_edges == 4  # cheapest 0 -> 1 kept, self-loop dropped
    for backend in BACKENDS:
        router = Router(compiled, backend=backend)
        route = router.route(10, 30)
        assert route.nodes.tolist() == [10, 20, 30]
        assert route.duration_s == 7.0
    with pytest.raises(NetworkError, match="outside"):
        compile_arrays(np.array([10, 20]), np.array([0]), np.array([2]), np.array([1.0]))
    with pytest.raises(NetworkError, match="invalid"):
        compile_arrays(np.array([10, 20]), np.array([0]), np.array([1]), np.array([-1.0]))
