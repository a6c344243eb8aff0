"""Contraction hierarchies over a :class:`~carreta.routing.compiled.CompiledGraph` (needs numba)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

import numba
import numpy as np

from carreta.routing import _cch_numba, _ch_numba
from carreta.routing.compiled import CompiledGraph

logger = logging.getLogger(__name__)


def dissection_order(compiled: CompiledGraph) -> np.ndarray:
    """Each node's rank (0 first contracted) in a nested-dissection order of the graph's
    undirected structure: METIS's (``pymetis``, multilevel bisection) when installed, else the
    breadth-first-level separators of :func:`carreta.routing._cch_numba.dissection_order`.

    On the 180 x 180 grid METIS takes 0.1 s and its order makes queries about 20 % faster
    (38,000 edge relaxations a query against 47,000); on a 200,000-node street graph the
    breadth-first separators are poor (10 million shortcuts against METIS's 6.8 million).
    """
    n = compiled.n_nodes
    return _order(n, *_cch_numba._undirected(n, compiled.sources, compiled.indices))


def _order(n: int, ptr: np.ndarray, adj: np.ndarray) -> np.ndarray:
    """:func:`dissection_order` of the undirected graph ``(ptr, adj)``."""
    try:
        import pymetis
    except ImportError:
        rank: np.ndarray = _cch_numba.dissection_order(n, ptr, adj)
        return rank
    _, iperm = pymetis.nested_dissection(pymetis.CSRAdjacency(ptr, adj))
    return np.asarray(iperm, dtype=np.int64)  # iperm[v]: v's place in the elimination order


class ContractionHierarchy:
    """A contraction hierarchy of one compiled graph: exact routes and matrices.

    Parameters
    ----------
    compiled
        The compiled street graph; its weights are the ones minimised.
    witness_limit
        Nodes a witness search may settle before giving up (and adding a possibly superfluous
        shortcut). Larger: slower preprocessing, fewer shortcuts, faster queries.
    simulation_limit
        The same bound for the searches that only estimate a node's priority.
    max_space_entries
        Most entries (hubs, 16 bytes each) the precomputed search spaces may hold, and at most
        256 a node; past that, point-to-point queries use a bidirectional search instead.
    max_expanded
        Hierarchy edges standing for at most this many original edges keep them in a row
        (24 bytes an entry), so a path unpacks by copying; 1 keeps only the original edges'.
    max_expanded_entries
        Most entries that table may hold beside the original edges', and at most four a
        hierarchy edge: ``max_expanded`` is halved until they fit.
    method
        ``"auto"`` builds the ``"dissection"`` hierarchy where the graph has no road hierarchy
        to exploit — its nested-dissection contraction adds at least :attr:`AUTO_FILL` node
        pairs a node (street grids: 16-20; Montpellier's street graphs: 1.3-2.5), which is where
        greedy contraction's witness searches get slow (a 180 x 180 grid: 4.5-4.9 s against
        0.6-0.7 s) — and the ``"greedy"`` one elsewhere; the dissection order it computes to
        decide (0.07 s on Montpellier's 32,000-node graphs) is reused. ``"greedy"`` contracts
        the least important node first, with witness searches
        (``witness_limit``, ``simulation_limit``), and keeps every node's search spaces: the
        fastest queries. ``"dissection"`` orders the nodes by nested dissection
        (:func:`dissection_order`), contracts with no witness search and customises (see
        :mod:`carreta.routing._cch_numba`): a build several times faster (Montpellier's
        unsimplified graphs: 0.11-0.15 s against 0.33-0.53 s; a 180 x 180 grid: 0.6-0.7 s
        against 4.5-4.9 s; a 220,000-node street graph: 5.3 s against 22 s), queries slower
        (they walk the elimination tree: 1.6-1.9x on Montpellier's graphs, 1.1x on the street
        graph, 12x on the grid).
    order
        With ``"dissection"`` (and ``"auto"``), each node's rank in the order to use instead (0
        first).
    """

    AUTO_FILL = 8.0
    """With ``method="auto"``: the node pairs a node the dissection contraction must add
    (computed by :func:`carreta.routing._cch_numba.symbolic`) from which the dissection hierarchy is
    built. Measured: 1.3-2.5 on Montpellier's four graphs (where the greedy hierarchy builds in
    0.7-1.2x RoutingKit's time and routes in 0.4-0.7x), 16 on a 220,000-node jittered street
    grid and 20 on a 180 x 180 grid (where it builds in 1.2x and 7.8x)."""

    def __init__(
        self,
        compiled: CompiledGraph,
        *,
        witness_limit: int = 500,
        simulation_limit: int = 100,
        max_space_entries: int = 16_000_000,
        max_expanded: int = 64,
        max_expanded_entries: int = 4_000_000,
        method: str = "auto",
        order: np.ndarray | None = None,
    ) -> None:
        if max_expanded < 1:
            raise ValueError(f"max_expanded must be at least 1, not {max_expanded}")
        if method not in ("auto", "greedy", "dissection"):
            raise ValueError(f"method must be 'auto', 'greedy' or 'dissection', not {method!r}")
        started = time.perf_counter()
        self.compiled = compiled
        n = compiled.n_nodes
        w = compiled.weight
        total = float(w.sum())
        parent: np.ndarray | None = None
        given = None if order is None else np.asarray(order, np.int64)
        if given is not None and (
            given.shape != (n,) or not np.array_equal(np.sort(given), np.arange(n))
        ):
            raise ValueError(f"order must rank the {n} nodes 0..{n - 1}, each once")
        self.fill = np.nan  # node pairs a node the dissection contraction adds, when computed
        structure = None
        if method != "greedy":  # the dissection's structure: built, or weighed by "auto"
            ptr, adj = _cch_numba._undirected(n, compiled.sources, compiled.indices)
            given = _order(n, ptr, adj) if given is None else given
            structure = _cch_numba.symbolic(n, ptr, adj, given)
            self.fill = float(structure[4])
            if method == "auto":
                method = "dissection" if self.fill >= self.AUTO_FILL else "greedy"
        self.method = method
        if method == "greedy":
            rank, src, dst, weight, child_a, child_b = _ch_numba.preprocess(
                n, compiled.sources, compiled.indices, w, witness_limit, simulation_limit
            )
            searchable = np.ones(src.shape[0], dtype=np.bool_)
        else:
            tight = bool(w.shape[0] > 0 and w.min() > 1e-9 * total)  # no zero-weight cycle
            rank, src, dst, weight, child_a, child_b, searchable, parent = _cch_numba.contract(
                n, compiled.sources, compiled.indices, w, 1e-9 * total, given, tight, structure
            )
        self.rank = rank
        if src.shape[0] >= np.iinfo(np.int32).max:
            raise ValueError(f"graph too large for the contraction hierarchy: {src.shape[0]} edges")
        # Forward search: upward edges from their tail. Backward search: downward edges,
        # walked against their direction from their head. Both live in the same edge arrays.
        # (A customised hierarchy leaves out the edges no shortest path needs.) One row per
        # edge (src, dst, child_a, child_b, start, count), the last two filled by
        # ``expansions`` below: unpacking reads all it needs of an edge from one row.
        self._new_of, self._ptr, self._to, self._w, self._edge, self._hierarchy = (
            _ch_numba.search_graphs(rank, src, dst, weight, child_a, child_b, searchable)
        )
        order = np.empty(n, dtype=np.int64)  # the node at each index
        order[self._new_of] = np.arange(n, dtype=np.int64)
        self.shortcuts = int(src.shape[0] - compiled.n_edges)
        # Point-to-point queries read every node's pruned upward search spaces, computed once
        # here (tens to hundreds of hubs a node): scanning two of them beats a bidirectional
        # search. Past ``max_space_entries`` (large, hierarchy-poor graphs) they are dropped
        # and queries run the bidirectional search instead. A sample of unpruned spaces tells
        # the graphs far past it (220,000-node street grid: 60x) before the spaces are built.
        budget = min(max_space_entries, 256 * n)
        args = (n, self._ptr, self._to, self._w, self._edge)
        if parent is not None or _ch_numba.unpruned_space_estimate(*args, 128) > 10 * budget:
            self._space_ptr = np.zeros((2, 0), dtype=np.int64)
            self._space = np.empty((2, 0), dtype=np.int32)
            self._space_dist = np.empty(0)
        else:
            spaces = _ch_numba.search_spaces(*args, 1e-9 * total, budget)
            self._space_ptr, self._space, self._space_dist = spaces
        self.uses_spaces = bool(self._space_ptr.shape[1] > 0)
        # An optimal path can repeat a node only through a cycle that weighs nothing, or less
        # than the rounding noise of a path's sum (< 1e-9 of all weights for < 4e6 edges); a
        # graph whose lightest edge weighs more than that (Montpellier: 0.03 s) skips the check.
        cut_cycles = bool(w.shape[0] > 0 and w.min() <= 1e-9 * total)
        self._node_ids = compiled.node_ids[order].astype(np.int64, copy=False)  # id of each index
        # The original edges of the hierarchy edges standing for few, in a row: a path unpacks
        # by copying (unsimplified robot graph: 15.8 -> 8.1 µs a route, +10 MB; street-200k:
        # 435 -> 374 µs, +47 MB). The grid's dissection hierarchy (1.4 million edges) keeps
        # those of up to 8 edges in 4 million entries: 3.5 µs less a route than up to 4 in 2
        # million, +32 MB.
        m = self._hierarchy.shape[0]
        budget = compiled.n_edges + min(max_expanded_entries, 4 * m)
        self._table = _ch_numba.expansions(
            self._hierarchy, compiled.weight, compiled.length_m, self._node_ids, max_expanded,
            min(budget, np.iinfo(np.int32).max),
        )  # fmt: skip
        self._work = np.full((6, n + 1), -1, dtype=np.int32)
        self._cut_cycles = cut_cycles
        self._search: tuple[np.ndarray, ...] = ()
        self._parent = np.empty(0, dtype=np.int64)
        self._etree: tuple[np.ndarray, ...] = ()  # route_etree's graph
        self._route: Callable[..., np.ndarray]
        self._route_args: tuple[object, ...]
        if parent is not None:
            # Each node's parent in the elimination tree, in search order (-1 at a root).
            self._parent = np.full(n, -1, dtype=np.int64)
            self._parent[self._new_of] = np.where(parent >= 0, self._new_of[parent], -1)
            self._etree = (self._ptr, self._to, self._w, self._edge, self._parent)
            self._search = (np.full((2, n), np.inf),)
            self._route = _cch_numba.route_etree
            self._route_args = (
                self._etree, self._search[0], self._hierarchy, self._table, self._node_ids,
                self._work, cut_cycles,
            )  # fmt: skip
        elif self.uses_spaces:
            self._route = _ch_numba.route
            self._route_args = (
                self._space_ptr, self._space, self._space_dist, self._hierarchy, self._table,
                self._node_ids, self._work, cut_cycles,
            )  # fmt: skip
        else:
            m = self._to.shape[0]
            self._search = (
                np.full((2, n), np.inf),
                np.empty((2, m + 1)),
                np.empty((2, m + 1), dtype=np.int64),
                np.empty((2, n + 1), dtype=np.int64),
            )
            self._route = _ch_numba.route_bidirectional
            self._route_args = (
                (self._ptr, self._to, self._w, self._edge), self._search, self._hierarchy,
                self._table, self._node_ids, self._work, cut_cycles,
            )  # fmt: skip
        # Python ints: indexing a list is cheaper than a numpy array, and numba unboxes them faster.
        self._new_index: list[int] = self._new_of.tolist()
        # The compiled entry point for these argument types, called directly: a dispatcher call
        # first matches the types of its ten arguments (about 0.3 µs of a 6 µs route, Montpellier).
        dispatcher: Any = self._route
        self._route = dispatcher.compile(tuple(numba.typeof(a) for a in (0, 0, *self._route_args)))
        self.build_s = time.perf_counter() - started
        logger.debug(
            "contraction hierarchy: %d nodes, %d edges, %d shortcuts in %.2f s",
            n,
            compiled.n_edges,
            self.shortcuts,
            self.build_s,
        )

    @property
    def entry(self) -> tuple[Callable[..., np.ndarray], Sequence[int], tuple[object, ...]]:
        """What :meth:`path` calls, for a caller that calls it directly (one Python call less
        per query): ``(kernel, new_index, args)``, the path ``s -> t`` being
        ``kernel(new_index[s], new_index[t], *args)``."""
        return self._route, self._new_index, self._route_args

    def path(self, s: int, t: int) -> np.ndarray:
        """The path ``s -> t`` packed in one int64 array ``(3, k)``: graph node ids in row 0,
        the float64 bits of the cumulative weights and lengths in rows 1-2 (see
        :meth:`Route.from_packed <carreta.routing.router.Route.from_packed>`).

        ``s`` and ``t`` are node indices. ``(3, 0)`` when ``t`` is unreachable from ``s``.
        """
        new_index = self._new_index
        packed: np.ndarray = self._route(new_index[s], new_index[t], *self._route_args)
        return packed

    def paths(self, sources: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`path` of each pair ``(sources[k], targets[k])`` (node indices), in one
        compiled call that releases Python's lock and uses its own work arrays: several threads
        may call it at once (and beside :meth:`path`).

        Returns ``(packed, ptr)``: pair ``k``'s packed path is ``packed[:, ptr[k]:ptr[k + 1]]``,
        empty when unreachable.
        """
        s, t = self._new_of[sources], self._new_of[targets]
        work = np.full_like(self._work, -1)
        tail = (self._hierarchy, self._table, self._node_ids, work, self._cut_cycles)
        if self.uses_spaces:
            spaces = (self._space_ptr, self._space, self._space_dist)
            result: tuple[np.ndarray, np.ndarray] = _ch_numba.route_many(s, t, *spaces, *tail)
            return result
        graph = (self._ptr, self._to, self._w, self._edge)
        if self._parent.shape[0] > 0:
            own = np.full_like(self._search[0], np.inf)
            result = _cch_numba.route_etree_many(s, t, self._etree, own, *tail)
            return result
        dist, keys, values, touched = self._search
        search = (np.full_like(dist, np.inf), np.empty_like(keys), np.empty_like(values),
                  np.empty_like(touched))  # fmt: skip
        result = _ch_numba.route_bidirectional_many(s, t, graph, search, *tail)
        return result

    def matrix(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """Shortest-path weights from each of ``rows`` to each of ``cols`` (inf if none).

        With the stored search spaces, a join of their hub labels (each entry the up-down sum
        :meth:`path` minimises for its pair); without, the bucket algorithm over upward
        searches.
        """
        if self.uses_spaces:
            labels: np.ndarray = _ch_numba.label_matrix(
                self._new_of[rows], self._new_of[cols], self.compiled.n_nodes,
                self._space_ptr, self._space, self._space_dist,
            )  # fmt: skip
            return labels
        out: np.ndarray = _ch_numba.many_to_many(
            self._new_of[rows], self._new_of[cols], self.compiled.n_nodes,
            self._ptr, self._to, self._w, self._edge,
        )  # fmt: skip
        return out

    @property
    def nbytes(self) -> int:
        """Memory held by the hierarchy, in bytes."""
        arrays = [self.rank, self._new_of, self._ptr, self._to, self._w, self._edge]
        arrays += [self._hierarchy, self._space_ptr, self._space, self._space_dist, self._work]
        arrays += [self._table, self._node_ids, self._parent, *self._search]
        return int(sum(a.nbytes for a in arrays)) + 8 * len(self._new_index)
