"""Compile an ``nx.MultiDiGraph`` into flat arrays (CSR) for fast routing.

The street graph stays the networkx object users know; this module turns it, once, into integer
node indices and compressed sparse rows, keeping for every ordered node pair only the cheapest of
any parallel edges (the one a shortest path would take).
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from dataclasses import dataclass

import networkx as nx
import numpy as np
import scipy.sparse as sp

from carreta.routing.errors import NetworkError


@dataclass(frozen=True, eq=False)
class CompiledGraph:
    """A street graph as arrays: node ``i`` is ``node_ids[i]``; edges sorted by (source, target).

    Attributes
    ----------
    node_ids
        Graph node id of each index (int64, OSM ids for OSMnx graphs).
    indptr, indices
        CSR structure: the edges leaving index ``i`` are ``indptr[i]:indptr[i+1]``, their targets
        ``indices[...]``.
    weight
        Routing weight of each edge (for example seconds for ``travel_time``).
    length_m
        Length in metres of the same (cheapest-by-weight) edge.
    edge_key
        The MultiDiGraph key of the chosen parallel edge.
    weight_name
        The edge attribute the weights were read from.
    """

    node_ids: np.ndarray
    indptr: np.ndarray
    indices: np.ndarray
    weight: np.ndarray
    length_m: np.ndarray
    edge_key: np.ndarray
    weight_name: str

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return int(self.node_ids.shape[0])

    @property
    def n_edges(self) -> int:
        """Number of compiled edges (parallel edges merged)."""
        return int(self.indices.shape[0])

    @property
    def sources(self) -> np.ndarray:
        """Source index of each edge (int64)."""
        return np.repeat(np.arange(self.n_nodes, dtype=np.int64), np.diff(self.indptr))

    def csr_matrix(self, weight: np.ndarray | None = None) -> sp.csr_matrix:
        """The graph as a scipy CSR matrix of ``weight`` (default: the routing weight).

        Zero weights stay explicit zeros, which :mod:`scipy.sparse.csgraph` reads as edges of
        weight 0 (only absent entries are "no edge"), so distances over them are exactly 0.
        """
        data = self.weight if weight is None else weight
        shape = (self.n_nodes, self.n_nodes)
        return sp.csr_matrix((data, self.indices, self.indptr), shape=shape)

    @property
    def nbytes(self) -> int:
        """Memory held by the arrays, in bytes."""
        arrays = (
            self.node_ids,
            self.indptr,
            self.indices,
            self.weight,
            self.length_m,
            self.edge_key,
        )
        return int(sum(a.nbytes for a in arrays))


def compile_graph(graph: nx.MultiDiGraph, *, weight: str = "travel_time") -> CompiledGraph:
    """Compile ``graph`` into CSR arrays for the edge attribute ``weight``.

    Parameters
    ----------
    graph
        A directed street graph; every edge needs ``weight`` (non-negative, finite) and ``length``.
    weight
        Edge attribute to minimise, e.g. ``"travel_time"`` (s) or ``"length"`` (m).

    Raises
    ------
    NetworkError
        If the graph is empty or an edge lacks the weight or has a negative or non-finite one.
    """
    if graph.number_of_nodes() == 0:
        raise NetworkError("the street graph has no nodes")
    node_ids = np.fromiter(graph.nodes, dtype=np.int64, count=graph.number_of_nodes())
    index: dict[Hashable, int] = {node: i for i, node in enumerate(graph.nodes)}
    m = graph.number_of_edges()
    src = np.empty(m, dtype=np.int64)
    dst = np.empty(m, dtype=np.int64)
    w = np.empty(m, dtype=np.float64)
    length = np.empty(m, dtype=np.float64)
    keys = np.empty(m, dtype=np.int64)
    for k, (u, v, key, data) in enumerate(graph.edges(keys=True, data=True)):
        value = data.get(weight)
        if value is None:
            raise NetworkError(f"edge ({u}, {v}, {key}) has no '{weight}' attribute")
        value = float(value)
        if not math.isfinite(value) or value < 0:
            raise NetworkError(f"edge ({u}, {v}, {key}) has an invalid {weight} of {value}")
        src[k] = index[u]
        dst[k] = index[v]
        w[k] = value
        length[k] = float(data.get("length", 0.0))
        keys[k] = key if isinstance(key, int) else 0
    return compile_arrays(node_ids, src, dst, w, length_m=length, edge_key=keys, weight_name=weight)


def compile_arrays(
    node_ids: np.ndarray,
    tails: np.ndarray,
    heads: np.ndarray,
    weight: np.ndarray,
    *,
    length_m: np.ndarray | None = None,
    edge_key: np.ndarray | None = None,
    weight_name: str = "weight",
) -> CompiledGraph:
    """Compile edge arrays (node indices ``0..n-1``) into a :class:`CompiledGraph`.

    Self-loops are dropped and of parallel edges the cheapest is kept, as in
    :func:`compile_graph`.

    Parameters
    ----------
    node_ids
        Graph node id of each index (int64).
    tails, heads
        Node index of each edge's start and end.
    weight
        Routing weight of each edge (non-negative, finite; e.g. seconds).
    length_m
        Length of each edge in metres (default: the weight).
    edge_key
        Parallel-edge key of each edge (default 0).
    weight_name
        Name of the weight, recorded on the result.

    Raises
    ------
    NetworkError
        If there are no nodes, an index is out of range or a weight is negative or not finite.
    """
    n = int(node_ids.shape[0])
    if n == 0:
        raise NetworkError("the street graph has no nodes")
    src = np.asarray(tails, dtype=np.int64)
    dst = np.asarray(heads, dtype=np.int64)
    w = np.asarray(weight, dtype=np.float64)
    length = w.copy() if length_m is None else np.asarray(length_m, dtype=np.float64)
    keys = np.zeros(src.shape[0], dtype=np.int64) if edge_key is None else np.asarray(edge_key)
    if src.shape[0] and (min(src.min(), dst.min()) < 0 or max(src.max(), dst.max()) >= n):
        raise NetworkError(f"an edge refers to a node index outside 0..{n - 1}")
    if not np.all(np.isfinite(w) & (w >= 0)):
        raise NetworkError(f"an edge has an invalid {weight_name} (negative or not finite)")
    keep = src != dst  # a self-loop is never part of a shortest path
    src, dst, w, length, keys = src[keep], dst[keep], w[keep], length[keep], keys[keep]
    # Cheapest parallel edge first, then keep the first of each (source, target) pair.
    order = np.lexsort((length, w, dst, src))
    src, dst, w, length, keys = src[order], dst[order], w[order], length[order], keys[order]
    first = np.ones(src.shape[0], dtype=bool)
    first[1:] = (src[1:] != src[:-1]) | (dst[1:] != dst[:-1])
    src, dst, w, length, keys = src[first], dst[first], w[first], length[first], keys[first]
    indptr = np.zeros(node_ids.shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(src, minlength=node_ids.shape[0]), out=indptr[1:])
    return CompiledGraph(
        node_ids=node_ids,
        indptr=indptr,
        indices=dst,
        weight=w,
        length_m=length,
        edge_key=keys,
        weight_name=weight_name,
    )
