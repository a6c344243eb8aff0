"""The :class:`Router`: a street graph compiled once, for many concurrent trips.

Two interchangeable backends answer the same questions exactly (networkx is the oracle in tests):

``"ch"``
    Contraction hierarchies compiled with numba (the ``fast`` extra). Preprocessing takes about a
    second on Montpellier's unsimplified graph; a random point-to-point route then costs a few
    microseconds and a 1,000 x 1,000 matrix a fraction of a second.
``"scipy"``
    Plain Dijkstra from :mod:`scipy.sparse.csgraph` with a bounded cache of shortest-path trees,
    kept for machines without numba. It suits the simulation's shape (many legs start or end at a
    hub), not random all-to-all queries.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import FrozenInstanceError
from time import perf_counter
from typing import TYPE_CHECKING, Generic, Literal, TypeAlias, TypeVar, overload

import networkx as nx
import numpy as np

from carreta.routing.compiled import CompiledGraph, compile_graph
from carreta.routing.errors import NoRouteError, UnknownNodeError
from carreta.routing.trees import ShortestPathTree, shortest_path_tree

if TYPE_CHECKING:
    from carreta.routing.ch import ContractionHierarchy

logger = logging.getLogger(__name__)

Backend = Literal["auto", "ch", "scipy"]
Hierarchy = Literal["auto", "greedy", "dissection"]  # how the "ch" backend builds its hierarchy
T = TypeVar("T")
_new_object = object.__new__  # Router.route makes its Route without a call to from_packed


def numba_available() -> bool:
    """Whether the compiled contraction-hierarchy backend can be used."""
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return True


def pack_path(nodes: np.ndarray, cum: np.ndarray) -> np.ndarray:
    """One int64 array ``(3, k)`` of a path's node ids and, as float64 bits, its ``(2, k)``
    cumulative weights and lengths: the form :meth:`Route.from_packed` reads."""
    packed = np.empty((3, nodes.shape[0]), dtype=np.int64)
    packed[0] = nodes
    packed[1:].view(np.float64)[:] = cum
    return packed


def _hold(route: Route, packed: np.ndarray) -> None:
    """Fill a new ``route`` with its packed path, made read-only: all a route holds until one of
    its other attributes is first read (see :class:`_Filled`)."""
    packed.setflags(write=False)
    attributes = route.__dict__
    attributes["_packed"] = packed
    attributes["nodes"] = packed[0]


class _Filled(Generic[T]):
    """:class:`Route` attributes made from the packed path when one of them is first read, then
    kept in the instance (later reads are plain attribute reads): ``fill(packed, attributes)``
    adds a group of them. A route is made per query and most callers read only some of them: a
    route made by :meth:`Route.from_packed` costs its node ids alone (the call that makes all
    seven took about a µs more, on Montpellier's simplified graph)."""

    __slots__ = ("fill", "name")

    def __init__(self, fill: Callable[[np.ndarray, dict[str, object]], None]) -> None:
        self.fill = fill
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, route: None, owner: type | None = None) -> _Filled[T]: ...
    @overload
    def __get__(self, route: Route, owner: type | None = None) -> T: ...
    def __get__(self, route: Route | None, owner: type | None = None) -> T | _Filled[T]:
        if route is None:
            return self
        attributes = route.__dict__
        self.fill(attributes["_packed"], attributes)
        value: T = attributes[self.name]
        return value


def _cumulative(packed: np.ndarray, attributes: dict[str, object]) -> None:
    """The cumulative weights and lengths: views of rows 1-2, whose bits are float64."""
    floats = packed.view(np.float64)
    attributes["cum_time_s"] = floats[1]
    attributes["cum_length_m"] = floats[2]


def _ends(packed: np.ndarray, attributes: dict[str, object]) -> None:
    """The end nodes and the totals, as Python scalars (``item()``: no numpy one on the way)."""
    floats = packed.view(np.float64)
    attributes["origin"] = packed.item(0, 0)
    attributes["destination"] = packed.item(0, -1)
    attributes["duration_s"] = floats.item(1, -1)
    attributes["length_m"] = floats.item(2, -1)


class Route:
    """One shortest path, immutable.

    Attributes
    ----------
    nodes
        Graph node ids along the path, origin first (read-only int64 array).
    cum_time_s
        Cumulative routing weight at each node, 0 at the origin (seconds for ``travel_time``).
    cum_length_m
        Cumulative length at each node, in metres.
    origin, destination
        The first and last node ids.
    duration_s
        Total routing weight (seconds when routed on ``travel_time``).
    length_m
        Total length in metres.

    The arrays are read-only views of one packed array (see :meth:`from_packed`). The node ids
    are made with the route, the other attributes when one of them is first read; each is kept,
    so it is the same object at every read.
    """

    nodes: np.ndarray  # made with the route: every caller reads it
    cum_time_s: _Filled[np.ndarray] = _Filled(_cumulative)
    cum_length_m: _Filled[np.ndarray] = _Filled(_cumulative)
    origin: _Filled[int] = _Filled(_ends)
    destination: _Filled[int] = _Filled(_ends)
    duration_s: _Filled[float] = _Filled(_ends)
    length_m: _Filled[float] = _Filled(_ends)

    def __init__(self, nodes: np.ndarray, cum_time_s: np.ndarray, cum_length_m: np.ndarray) -> None:
        nodes = np.asarray(nodes, dtype=np.int64)
        cum = np.vstack((cum_time_s, cum_length_m)).astype(np.float64, copy=False)
        if nodes.ndim != 1 or nodes.shape[0] == 0 or cum.shape != (2, nodes.shape[0]):
            raise ValueError(
                "a route needs a node at least, and a cumulative time and length at each"
            )
        _hold(self, pack_path(nodes, cum))

    @classmethod
    def from_arrays(cls, nodes: np.ndarray, cum: np.ndarray) -> Route:
        """A route from its node ids and a (2, k) array of cumulative weights and lengths."""
        return cls.from_packed(pack_path(nodes, cum))

    @classmethod
    def from_packed(cls, packed: np.ndarray) -> Route:
        """A route from a packed path: an int64 array ``(3, k)``, ``k >= 1``, node ids in row 0
        and the float64 bits of the cumulative weights and lengths in rows 1-2 (see
        :func:`pack_path`), as the routing engines return it (one array a query, not three).

        ``packed`` is made read-only and kept; the route's attributes but its node ids are read
        from it when first asked for (a route is made per query: this was most of the Python
        cost of one).
        """
        route = object.__new__(cls)
        _hold(route, packed)
        return route

    def __setattr__(self, name: str, value: object) -> None:
        raise FrozenInstanceError(f"cannot assign to field {name!r}: a Route is immutable")

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"cannot delete field {name!r}: a Route is immutable")

    def __repr__(self) -> str:
        return (
            f"Route(origin={self.origin}, destination={self.destination}, "
            f"nodes={self.nodes.shape[0]}, duration_s={self.duration_s:.1f}, "
            f"length_m={self.length_m:.1f})"
        )

    def position_at(self, elapsed_s: float) -> tuple[int, float]:
        """Where a traveller is ``elapsed_s`` seconds after leaving the origin.

        Returns the index ``k`` of the edge being traversed (from ``nodes[k]`` to ``nodes[k+1]``)
        and the fraction of it already done; at or past the end, the last edge with fraction 1.
        A one-node route returns ``(0, 1.0)``.
        """
        if self.nodes.shape[0] < 2 or elapsed_s >= self.cum_time_s[-1]:
            return max(self.nodes.shape[0] - 2, 0), 1.0
        k = int(np.searchsorted(self.cum_time_s, elapsed_s, side="right")) - 1
        k = max(k, 0)
        span = self.cum_time_s[k + 1] - self.cum_time_s[k]
        fraction = 0.0 if span <= 0 else (elapsed_s - self.cum_time_s[k]) / span
        return k, float(min(max(fraction, 0.0), 1.0))


class Router:
    """Shortest paths and travel-time matrices on one street graph for one edge weight.

    Parameters
    ----------
    graph
        The street graph (an ``nx.MultiDiGraph`` with integer node ids, ``length`` and ``weight``
        on every edge). It is compiled at construction; later changes to it are not seen. A
        :class:`~carreta.routing.compiled.CompiledGraph` (e.g. from
        :func:`~carreta.routing.compiled.compile_arrays`) is used as it is.
    weight
        Edge attribute to minimise: ``"travel_time"`` (s, the default) or ``"length"`` (m).
        Ignored for a compiled graph, which carries its own.
    backend
        ``"ch"`` (numba contraction hierarchies), ``"scipy"`` (cached Dijkstra trees) or ``"auto"``
        (``"ch"`` when numba is installed).
    cache_size
        How many routes (and, for ``"scipy"``, shortest-path trees) to keep; the least recently
        used go first.
    tree_cache_size
        How many shortest-path trees (:meth:`tree`) to keep, least recently used first out; each
        holds three arrays over all nodes (0.8 MB on Montpellier's unsimplified graph).
    timed
        Whether :meth:`route` adds its time to :attr:`query_s` (the attribute ``timed`` can be
        set later; the simulation sets it). Off by default: the two clock reads cost about 5 %
        of a route on Montpellier's simplified graph. Calls for many routes, matrices and trees
        are always counted.
    hierarchy
        How the ``"ch"`` backend builds its contraction hierarchy: ``"greedy"`` (the fastest
        queries), ``"dissection"`` (a nested-dissection order: a build several times faster,
        queries 1.1-1.9x slower on street graphs and more on grids) or ``"auto"`` (the
        default: dissection where the graph has no road hierarchy, as street grids, greedy
        elsewhere, as Montpellier's streets); see
        :class:`~carreta.routing.ch.ContractionHierarchy`.

    Raises
    ------
    NetworkError
        If the graph is empty or an edge lacks a valid weight.
    """

    def __init__(
        self,
        graph: nx.MultiDiGraph | CompiledGraph,
        *,
        weight: str = "travel_time",
        backend: Backend = "auto",
        cache_size: int = 4096,
        tree_cache_size: int = 64,
        timed: bool = False,
        hierarchy: Hierarchy = "auto",
    ) -> None:
        if isinstance(graph, CompiledGraph):
            self.compiled: CompiledGraph = graph
            weight = graph.weight_name
        else:
            self.compiled = compile_graph(graph, weight=weight)
        self.weight = weight
        self._index = {int(node): i for i, node in enumerate(self.compiled.node_ids)}
        if hierarchy not in ("auto", "greedy", "dissection"):
            raise ValueError(
                f"unknown hierarchy {hierarchy!r}: use 'auto', 'greedy' or 'dissection'"
            )
        if backend == "auto":
            backend = "ch" if numba_available() else "scipy"
        self.backend: str = backend
        self._cache_size = cache_size
        self._routes: OrderedDict[tuple[int, int], Route] = OrderedDict()
        self.hits = 0
        self.misses = 0
        self.timed = timed
        self._query_s = 0.0  # see query_s: the calling (simulation) thread's share
        self._threads_query_s = 0.0  # the share of calls that may come from other threads
        self._threads_lock = threading.Lock()
        self._tree_cache_size = tree_cache_size
        self._trees: TreeCache = OrderedDict()
        if backend == "ch":
            from carreta.routing.ch import ContractionHierarchy

            self._use_engine(ContractionHierarchy(self.compiled, method=hierarchy))
        elif backend == "scipy":
            self._use_engine(_DijkstraTrees(self.compiled, cache_size=max(cache_size // 16, 8)))
        else:
            raise ValueError(f"unknown router backend {backend!r}: use 'auto', 'ch' or 'scipy'")

    def _use_engine(self, engine: Engine) -> None:
        """Answer queries with ``engine``. Bound once, as route() is called per leg: route()
        calls what the engine's ``entry`` gives, a contraction hierarchy's compiled kernel
        itself (see :attr:`ContractionHierarchy.entry
        <carreta.routing.ch.ContractionHierarchy.entry>`)."""
        self._engine: Engine = engine
        self._kernel, self._new_index, self._kernel_args = engine.entry

    # -- node ids ---------------------------------------------------------------------------
    @property
    def node_ids(self) -> np.ndarray:
        """The graph's node ids in index order."""
        return self.compiled.node_ids

    def index_of(self, nodes: Iterable[Hashable] | Hashable) -> np.ndarray | int:
        """Internal index of one node id, or an int64 array of them for an iterable.

        Raises
        ------
        UnknownNodeError
            If a node is not in the graph.
        """
        if isinstance(nodes, Iterable) and not isinstance(nodes, str | bytes):
            return np.fromiter((self._one_index(n) for n in nodes), dtype=np.int64)
        return self._one_index(nodes)

    def _one_index(self, node: Hashable) -> int:
        # Looked up like ``node in graph``: numpy integers match, ``10.5`` or ``"10"`` do not.
        try:
            return self._index[node]  # type: ignore[index]
        except (KeyError, TypeError):
            raise UnknownNodeError(f"node {node!r} is not in the street graph") from None

    def __contains__(self, node: object) -> bool:
        try:
            return node in self._index
        except TypeError:
            return False

    # -- queries ----------------------------------------------------------------------------
    def route(self, origin: Hashable, destination: Hashable) -> Route:
        """The shortest path from ``origin`` to ``destination`` (graph node ids).

        Raises
        ------
        UnknownNodeError
            If either node is not in the graph.
        NoRouteError
            If the destination cannot be reached.
        """
        index = self._index
        try:
            s = index[origin]  # type: ignore[index]
            t = index[destination]  # type: ignore[index]
        except (KeyError, TypeError):
            s, t = self._one_index(origin), self._one_index(destination)  # raises the error
        capacity = self._cache_size
        if capacity:
            key = (s, t)
            routes = self._routes
            cached = routes.get(key)
            if cached is not None:
                routes.move_to_end(key)
                self.hits += 1
                return cached
        self.misses += 1
        new_index = self._new_index
        if self.timed:
            started = perf_counter()
            packed = self._kernel(new_index[s], new_index[t], *self._kernel_args)
            self._query_s += perf_counter() - started
        else:
            packed = self._kernel(new_index[s], new_index[t], *self._kernel_args)
        if not packed.size:
            raise NoRouteError(origin, destination)
        # What Route.from_packed does, without the class method's look-up and call (5 % of a
        # route on the simplified robot graph, in-process A/B, 2 x 9 alternated passes).
        result: Route = _new_object(Route)
        _hold(result, packed)
        if capacity:
            routes[key] = result
            if len(routes) > capacity:
                routes.popitem(last=False)
        return result

    def routes(
        self, origins: Iterable[Hashable], destinations: Iterable[Hashable]
    ) -> list[Route | None]:
        """The shortest path from each origin to the destination beside it, None where
        :meth:`route` would not answer with this path (no path; see also
        :meth:`ClosableRouter.routes <carreta.routing.closures.ClosableRouter.routes>`).

        The same routes as :meth:`route`, computed in one call and neither read from nor kept
        in the route cache. With the ``"ch"`` backend the search releases Python's lock and
        shares no state with :meth:`route`: threads may call it beside the main one (the
        ``tours`` policy routes each planned tour's legs on its planning thread).

        Raises
        ------
        UnknownNodeError
            If a node is not in the graph.
        """
        sources = np.asarray(self.index_of(list(origins)), dtype=np.int64)
        targets = np.asarray(self.index_of(list(destinations)), dtype=np.int64)
        if sources.shape != targets.shape:
            raise ValueError(f"{sources.shape[0]} origins for {targets.shape[0]} destinations")
        engine = self._engine
        if not isinstance(engine, _DijkstraTrees):
            started = perf_counter()
            packed, ptr = engine.paths(sources, targets)
            self._count_from_thread(perf_counter() - started)
            packed.setflags(write=False)  # the routes' arrays are views of it
            bounds = ptr.tolist()
            return [
                Route.from_packed(packed[:, lo:hi]) if hi > lo else None
                for lo, hi in itertools.pairwise(bounds)
            ]
        found: list[Route | None] = []
        started = perf_counter()
        for s, t in zip(sources.tolist(), targets.tolist(), strict=True):
            path = engine.path(s, t)
            found.append(Route.from_packed(path) if path.shape[1] else None)
        self._count_from_thread(perf_counter() - started)
        return found

    @property
    def query_s(self) -> float:
        """Seconds spent computing routes, matrices and trees (cache misses), summed over the
        threads that asked: the planning threads' matrices and legs count too; :meth:`route`
        calls count only while :attr:`timed` is on."""
        return self._query_s + self._threads_query_s

    def _count_from_thread(self, seconds: float) -> None:
        """Add to :attr:`query_s` from a call that may run on several threads at once (a
        ``+=`` on a shared attribute from two threads can lose one of them)."""
        with self._threads_lock:
            self._threads_query_s += seconds

    def duration(self, origin: Hashable, destination: Hashable) -> float:
        """Shortest-path weight from ``origin`` to ``destination`` (seconds for travel_time).

        Raises
        ------
        UnknownNodeError, NoRouteError
            As :meth:`route`.
        """
        return self.route(origin, destination).duration_s

    def matrix(
        self, origins: Iterable[Hashable], destinations: Iterable[Hashable] | None = None
    ) -> np.ndarray:
        """Shortest-path weights from every origin (rows) to every destination (columns).

        Unreachable pairs are ``inf`` (a matrix is a table, not a route). ``destinations``
        defaults to ``origins``.

        Raises
        ------
        UnknownNodeError
            If a node is not in the graph.
        """
        rows = np.asarray(self.index_of(list(origins)), dtype=np.int64)
        cols = rows if destinations is None else self.index_of(list(destinations))
        cols = np.asarray(cols, dtype=np.int64)
        if rows.shape[0] == 0 or cols.shape[0] == 0:
            return np.zeros((rows.shape[0], cols.shape[0]))
        engine, _, _ = self._tables()
        started = perf_counter()
        table = engine.matrix(rows, cols)
        self._count_from_thread(perf_counter() - started)  # planning threads call it
        return table

    def tree(self, node: Hashable, *, reverse: bool = False) -> ShortestPathTree:
        """The shortest-path tree from ``node`` to every node (``reverse``: to ``node``).

        Trees are cached (a hub's is grown once; the ``tree_cache_size`` most recently used are
        kept); read a node's cost with :meth:`index_of`, e.g.
        ``tree.duration_s[router.index_of(door)]``.

        Raises
        ------
        UnknownNodeError
            If ``node`` is not in the graph.
        """
        _, compiled, trees = self._tables()
        key = (self._one_index(node), reverse)
        cached = trees.get(key)
        if cached is None:
            started = perf_counter()
            cached = shortest_path_tree(compiled, key[0], reverse=reverse)
            self._query_s += perf_counter() - started
            if self._tree_cache_size > 0:
                trees[key] = cached
                if len(trees) > self._tree_cache_size:
                    trees.popitem(last=False)
        else:
            trees.move_to_end(key)
        return cached

    def _tables(
        self,
    ) -> tuple[Engine, CompiledGraph, TreeCache]:
        """The engine, compiled graph and tree cache that answer matrices and trees now.

        A subclass whose weights change over the day
        (:class:`carreta.routing.closures.ClosableRouter`) returns those of its current state.
        """
        return self._engine, self.compiled, self._trees

    # -- bookkeeping ------------------------------------------------------------------------
    @property
    def nbytes(self) -> int:
        """Approximate memory held by the compiled graph, the engine and every cache, in bytes.

        Cached routes count their arrays; Python object overheads are not counted.
        """
        trees = sum(tree.nbytes for tree in self._trees.values())
        routes = _routes_nbytes(self._routes)
        return self.compiled.nbytes + self._engine.nbytes + trees + routes

    def cache_info(self) -> dict[str, int]:
        """Route-cache statistics: hits, misses, current size and capacity."""
        return {
            "hits": self.hits,
            "misses": self.misses,
            "size": len(self._routes),
            "capacity": self._cache_size,
            "trees": len(self._trees),
            "tree_capacity": self._tree_cache_size,
        }

    def __repr__(self) -> str:
        return (
            f"Router(nodes={self.compiled.n_nodes}, edges={self.compiled.n_edges}, "
            f"weight={self.weight!r}, backend={self.backend!r})"
        )


class _DijkstraTrees:
    """Pure-scipy engine: bounded caches of forward and backward shortest-path trees.

    A route is read from a cached tree rooted at its origin (forward) or at its destination
    (backward, on the reversed graph); on a miss, the tree is grown from whichever end has been
    asked for more often, so a hub that starts or ends many legs gets its tree once.
    """

    def __init__(self, compiled: CompiledGraph, *, cache_size: int) -> None:
        self.compiled = compiled
        self._forward = compiled.csr_matrix()
        self._backward = self._forward.transpose().tocsr()
        self._sources = compiled.sources
        self._trees: dict[bool, OrderedDict[int, tuple[np.ndarray, np.ndarray]]] = {
            True: OrderedDict(),
            False: OrderedDict(),
        }
        self._asked: dict[bool, defaultdict[int, int]] = {
            True: defaultdict(int),
            False: defaultdict(int),
        }
        self._cache_size = cache_size

    @property
    def entry(self) -> tuple[Callable[..., np.ndarray], Sequence[int], tuple[object, ...]]:
        """:meth:`path` as :attr:`ContractionHierarchy.entry
        <carreta.routing.ch.ContractionHierarchy.entry>` gives its kernel (indices unchanged)."""
        return self.path, range(self.compiled.n_nodes), ()

    def _tree(self, root: int, *, forward: bool) -> tuple[np.ndarray, np.ndarray]:
        from scipy.sparse.csgraph import dijkstra

        cache = self._trees[forward]
        tree = cache.get(root)
        if tree is None:
            graph = self._forward if forward else self._backward
            dist, pred = dijkstra(graph, indices=[root], return_predecessors=True)
            tree = (dist[0], pred[0])
            cache[root] = tree
            if len(cache) > self._cache_size:
                cache.popitem(last=False)
        else:
            cache.move_to_end(root)
        return tree

    def _edge(self, u: int, v: int) -> int:
        start, stop = self.compiled.indptr[u], self.compiled.indptr[u + 1]
        return int(start + np.searchsorted(self.compiled.indices[start:stop], v))

    def path(self, s: int, t: int) -> np.ndarray:
        """The path from index ``s`` to ``t``, packed (see :func:`pack_path`); ``(3, 0)`` if
        there is none."""
        self._asked[True][s] += 1
        self._asked[False][t] += 1
        if t in self._trees[False] and s not in self._trees[True]:
            forward = False
        elif s in self._trees[True]:
            forward = True
        else:
            forward = self._asked[True][s] >= self._asked[False][t]
        root, leaf = (s, t) if forward else (t, s)
        dist, pred = self._tree(root, forward=forward)
        if not np.isfinite(dist[leaf]):
            return np.empty((3, 0), dtype=np.int64)
        chain = [leaf]
        while chain[-1] != root:
            chain.append(int(pred[chain[-1]]))
        nodes = np.array(chain[::-1] if forward else chain, dtype=np.int64)
        edges = [self._edge(a, b) for a, b in itertools.pairwise(nodes)]
        edge_array = np.array(edges, dtype=np.int64)
        cum = np.zeros((2, nodes.shape[0]))
        np.cumsum(self.compiled.weight[edge_array], out=cum[0, 1:])
        np.cumsum(self.compiled.length_m[edge_array], out=cum[1, 1:])
        return pack_path(self.compiled.node_ids[nodes], cum)

    def matrix(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        from scipy.sparse.csgraph import dijkstra

        if np.unique(rows).shape[0] <= np.unique(cols).shape[0]:
            unique, inverse = np.unique(rows, return_inverse=True)
            table = dijkstra(self._forward, indices=unique)
            return np.asarray(table[inverse][:, cols])
        unique, inverse = np.unique(cols, return_inverse=True)
        table = dijkstra(self._backward, indices=unique)
        return np.asarray(table[inverse][:, rows].T)

    @property
    def nbytes(self) -> int:
        trees = sum(d.nbytes + p.nbytes for c in self._trees.values() for d, p in c.values())
        matrices = sum(
            m.data.nbytes + m.indices.nbytes + m.indptr.nbytes
            for m in (self._forward, self._backward)
        )
        return int(trees + matrices)


Engine: TypeAlias = "ContractionHierarchy | _DijkstraTrees"
"""What answers routes, matrices and trees: contraction hierarchies or Dijkstra trees."""
TreeCache: TypeAlias = OrderedDict[tuple[int, bool], ShortestPathTree]
"""Shortest-path trees by (root index, reverse), least recently used first."""


def _routes_nbytes(routes: OrderedDict[tuple[int, int], Route]) -> int:
    """Bytes held by the arrays of cached routes (``cum_length_m`` shares ``cum_time_s``'s base)."""
    return sum(
        route.nodes.nbytes + route.cum_time_s.nbytes + route.cum_length_m.nbytes
        for route in routes.values()
    )
