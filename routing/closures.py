"""Street closures that come and go over the day, routed exactly without rebuilding the router.

A closure (a school street at 8:00-8:30, the Wednesday market, a pedestrian zone closed to vans
outside its access hours) blocks a set of edges for a while. :class:`ClosableRouter` is a
:class:`~carreta.routing.router.Router` whose edges can be closed and reopened by name:

- **Exact.** Closures only ever *increase* weights (a closed edge weighs ``inf``). So the
  contraction-hierarchy path on the base weights, if it uses no closed edge, is still a shortest
  path with the closures (every path got no cheaper, and this one kept its cost). Only when it
  does use a closed edge does the router fall back to an exact Dijkstra (scipy) on the graph
  without the closed edges.
- **Fast.** Closing edges rebuilds nothing: it marks them in a boolean mask and derives the
  reduced CSR arrays (an ``O(edges)`` copy, milliseconds), against seconds for a new contraction
  hierarchy (``benchmarks/bench_closures.py``).
- **Never stale.** Every change bumps :attr:`ClosableRouter.version`. Routes, shortest-path
  trees and the fallback engine are cached per *closure state* (the set of active closures), so
  a route computed during the market is never served after it, and the base cache (no closure
  active) survives the day's closures untouched.
- **Bounded.** At most ``state_cache_size`` closure states are kept (least recently used out;
  the one in force is never dropped), each with caches bounded like the router's, and
  :attr:`ClosableRouter.nbytes` counts them all.

A closed pair of nodes means the cheapest compiled edge ``u→v`` is closed: callers close a
pair only when every parallel edge between them is closed (:func:`closed_pairs`).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass

import networkx as nx
import numpy as np
import shapely

from carreta.routing.compiled import CompiledGraph
from carreta.routing.errors import NoRouteError
from carreta.routing.router import Engine, Route, Router, TreeCache, _DijkstraTrees, _routes_nbytes
from carreta.routing.zones import edge_midpoints

__all__ = ["ClosableRouter", "closed_pairs", "edges_in_polygon", "edges_named"]

Edge = tuple[int, int, int]


def edges_in_polygon(graph: nx.MultiDiGraph, polygon: shapely.Geometry) -> list[Edge]:
    """Edges ``(u, v, key)`` whose midpoint lies inside ``polygon`` (EPSG:4326)."""
    edges, points = edge_midpoints(graph)
    inside = shapely.contains_xy(polygon, points[:, 0], points[:, 1])
    return [edge for edge, flag in zip(edges, inside.tolist(), strict=True) if flag]


def _names(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple):
        return [str(item) for item in value]
    return []


def edges_named(graph: nx.MultiDiGraph, names: Iterable[str]) -> list[Edge]:
    """Edges ``(u, v, key)`` whose ``name`` (or one of its names) is in ``names``."""
    wanted = set(names)
    return [
        (u, v, key)
        for u, v, key, name in graph.edges(keys=True, data="name")
        if wanted.intersection(_names(name))
    ]


def closed_pairs(graph: nx.MultiDiGraph, edges: Iterable[Edge]) -> list[tuple[int, int]]:
    """Node pairs ``(u, v)`` all of whose parallel edges are among ``edges``."""
    chosen: dict[tuple[int, int], set[int]] = {}
    for u, v, key in edges:
        chosen.setdefault((u, v), set()).add(key)
    return [pair for pair, keys in chosen.items() if keys >= set(graph[pair[0]][pair[1]])]


@dataclass
class _ClosedState:
    """The router's view of one set of active closures: reduced graph and its caches."""

    blocked: np.ndarray  # bool per compiled edge
    compiled: CompiledGraph  # the graph without the blocked edges
    engine: _DijkstraTrees
    routes: OrderedDict[tuple[int, int], Route]
    trees: TreeCache

    @property
    def nbytes(self) -> int:
        """Memory held by the state's arrays and caches, in bytes."""
        trees = sum(tree.nbytes for tree in self.trees.values())
        return (
            self.blocked.nbytes
            + self.compiled.nbytes
            + self.engine.nbytes
            + _routes_nbytes(self.routes)
            + trees
        )


def _without(compiled: CompiledGraph, blocked: np.ndarray) -> CompiledGraph:
    keep = ~blocked
    indptr = np.zeros_like(compiled.indptr)
    np.cumsum(np.bincount(compiled.sources[keep], minlength=compiled.n_nodes), out=indptr[1:])
    return CompiledGraph(
        node_ids=compiled.node_ids,
        indptr=indptr,
        indices=compiled.indices[keep],
        weight=compiled.weight[keep],
        length_m=compiled.length_m[keep],
        edge_key=compiled.edge_key[keep],
        weight_name=compiled.weight_name,
    )


class ClosableRouter(Router):
    """A :class:`~carreta.routing.router.Router` with named, reversible edge closures.

    Takes the same arguments as :class:`~carreta.routing.router.Router`, and
    ``state_cache_size``: how many closure states (sets of active closures, with their reduced
    graph and caches) to keep, least recently used out. See the module docstring for why routes
    stay exact and caches never go stale.
    """

    def __init__(
        self, graph: nx.MultiDiGraph, *, state_cache_size: int = 8, **options: object
    ) -> None:
        super().__init__(graph, **options)  # type: ignore[arg-type]
        self.version = 0
        self._closures: dict[str, np.ndarray] = {}
        self._state_cache_size = max(int(state_cache_size), 1)
        self._states: OrderedDict[frozenset[str], _ClosedState] = OrderedDict()
        self._state: _ClosedState | None = None
        n = np.int64(self.compiled.n_nodes)
        self._pair_keys = self.compiled.sources * n + self.compiled.indices
        self._id_order = np.argsort(self.compiled.node_ids, kind="stable")
        self._sorted_ids = self.compiled.node_ids[self._id_order]
        self.fallbacks = 0  # routes that needed the exact Dijkstra fallback

    # -- closures ---------------------------------------------------------------------------
    def edge_positions(self, pairs: Iterable[tuple[Hashable, Hashable]]) -> np.ndarray:
        """Positions in the compiled arrays of the edges ``u→v`` (unknown pairs are skipped)."""
        tails, heads = [], []
        for u, v in pairs:
            if u in self and v in self:
                tails.append(self._one_index(u))
                heads.append(self._one_index(v))
        return self._positions(np.asarray(tails, dtype=np.int64), np.asarray(heads, dtype=np.int64))

    def _positions(self, tails: np.ndarray, heads: np.ndarray) -> np.ndarray:
        keys = tails * np.int64(self.compiled.n_nodes) + heads
        found = np.searchsorted(self._pair_keys, keys)
        found = np.minimum(found, max(self._pair_keys.shape[0] - 1, 0))
        hit = self._pair_keys[found] == keys if keys.shape[0] else np.zeros(0, dtype=bool)
        return np.unique(found[hit])

    def close(self, label: str, positions: np.ndarray) -> None:
        """Close the compiled edges at ``positions`` under ``label`` (replacing a previous one)."""
        self._closures[label] = np.asarray(positions, dtype=np.int64)
        self._switch()

    def reopen(self, label: str) -> None:
        """Reopen the edges closed under ``label`` (nothing happens if it is not active)."""
        if self._closures.pop(label, None) is not None:
            self._switch()

    @property
    def active_closures(self) -> tuple[str, ...]:
        """Labels of the closures in force, sorted."""
        return tuple(sorted(self._closures))

    @property
    def blocked(self) -> np.ndarray:
        """Boolean mask over the compiled edges: closed now."""
        if self._state is None:
            return np.zeros(self.compiled.n_edges, dtype=bool)
        return self._state.blocked

    def _switch(self) -> None:
        self.version += 1
        if not self._closures:
            self._state = None
            return
        key = frozenset(self._closures)
        state = self._states.get(key)
        if state is None or not np.array_equal(state.blocked, self._mask()):
            state = self._closed_state(self._mask())
            self._states[key] = state
            if len(self._states) > self._state_cache_size:
                self._states.popitem(last=False)  # never the newest, the one in force
        else:
            self._states.move_to_end(key)
        self._state = state

    def _mask(self) -> np.ndarray:
        blocked = np.zeros(self.compiled.n_edges, dtype=bool)
        for positions in self._closures.values():
            blocked[positions] = True
        return blocked

    def _closed_state(self, blocked: np.ndarray) -> _ClosedState:
        reduced = _without(self.compiled, blocked)
        engine = _DijkstraTrees(reduced, cache_size=max(self._cache_size // 16, 8))
        return _ClosedState(blocked, reduced, engine, OrderedDict(), OrderedDict())

    @property
    def nbytes(self) -> int:
        """Memory of the router (see :attr:`Router.nbytes`) and of every kept closure state."""
        lookups = self._pair_keys.nbytes + self._id_order.nbytes + self._sorted_ids.nbytes
        closures = sum(positions.nbytes for positions in self._closures.values())
        states = sum(state.nbytes for state in self._states.values())
        return super().nbytes + lookups + closures + states

    def cache_info(self) -> dict[str, int]:
        """As :meth:`Router.cache_info`, plus the closure states kept and their capacity."""
        return {
            **super().cache_info(),
            "states": len(self._states),
            "state_capacity": self._state_cache_size,
        }

    # -- queries ----------------------------------------------------------------------------
    def _uses_blocked(self, route: Route, blocked: np.ndarray) -> bool:
        if route.nodes.shape[0] < 2:
            return False
        index = self._id_order[np.searchsorted(self._sorted_ids, route.nodes)]  # ids of a route
        keys = index[:-1] * np.int64(self.compiled.n_nodes) + index[1:]
        return bool(blocked[np.searchsorted(self._pair_keys, keys)].any())

    def route(self, origin: Hashable, destination: Hashable) -> Route:
        """The shortest path with the closures in force (see :meth:`Router.route`)."""
        state = self._state
        if state is None:
            return super().route(origin, destination)
        key = (self._one_index(origin), self._one_index(destination))
        cached = state.routes.get(key)
        if cached is not None:
            state.routes.move_to_end(key)
            self.hits += 1
            return cached
        try:
            base = super().route(origin, destination)
        except NoRouteError:
            base = None
        if base is not None and not self._uses_blocked(base, state.blocked):
            result = base
        else:
            result = self._fallback(state, origin, destination, key)
        state.routes[key] = result
        if len(state.routes) > self._cache_size:
            state.routes.popitem(last=False)
        return result

    def routes(
        self, origins: Iterable[Hashable], destinations: Iterable[Hashable]
    ) -> list[Route | None]:
        """:meth:`Router.routes` with the closures in force: a path that crosses a closed edge
        is None (:meth:`route` finds its detour). Reads the closures, changes nothing."""
        found = super().routes(origins, destinations)
        state = self._state
        if state is None:
            return found
        return [
            None if route is None or self._uses_blocked(route, state.blocked) else route
            for route in found
        ]

    def _fallback(
        self, state: _ClosedState, origin: Hashable, destination: Hashable, key: tuple[int, int]
    ) -> Route:
        self.fallbacks += 1
        started = time.perf_counter()
        packed = state.engine.path(*key)
        self._query_s += time.perf_counter() - started
        if packed.shape[1] == 0:
            raise NoRouteError(origin, destination)
        return Route.from_packed(packed)

    def route_avoiding(
        self, origin: Hashable, destination: Hashable, positions: Sequence[int] | np.ndarray
    ) -> Route:
        """The shortest path with the closures in force *and* the edges at ``positions`` closed.

        Not cached: for the rare leg that would run into a closure starting on the way.

        Raises
        ------
        UnknownNodeError, NoRouteError
            As :meth:`route`.
        """
        blocked = self.blocked.copy()
        blocked[np.asarray(positions, dtype=np.int64)] = True
        route = self.route(origin, destination)
        if not self._uses_blocked(route, blocked):
            return route
        key = (self._one_index(origin), self._one_index(destination))
        return self._fallback(self._closed_state(blocked), origin, destination, key)

    def _tables(
        self,
    ) -> tuple[Engine, CompiledGraph, TreeCache]:
        """Those of the current closure state (see :meth:`Router._tables`)."""
        state = self._state
        if state is None:
            return super()._tables()
        return state.engine, state.compiled, state.trees
