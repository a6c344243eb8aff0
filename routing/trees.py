"""Shortest-path trees: the cost from one node to every node (or from every node to it).

A hub starts or ends most legs of a delivery day; one tree per hub answers "how long from the hub
to this door, and back?" for every door with an array lookup, without a route query.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse.csgraph import dijkstra

from carreta.routing.compiled import CompiledGraph


@dataclass(frozen=True, eq=False)
class ShortestPathTree:
    """Costs of the shortest paths between ``root`` and every node, indexed like the router.

    Attributes
    ----------
    root
        Index of the root node.
    reverse
        False: paths from the root to each node; True: from each node to the root.
    duration_s
        Shortest-path weight (seconds for ``travel_time``); ``inf`` where unreachable.
    length_m
        Length in metres of that same path; ``inf`` where unreachable.
    predecessor
        Next node towards the root along the tree (``-9999`` at the root and where unreachable).
    """

    root: int
    reverse: bool
    duration_s: np.ndarray
    length_m: np.ndarray
    predecessor: np.ndarray

    @property
    def nbytes(self) -> int:
        """Memory held by the arrays, in bytes."""
        return int(self.duration_s.nbytes + self.length_m.nbytes + self.predecessor.nbytes)


def _edge_positions(compiled: CompiledGraph, tails: np.ndarray, heads: np.ndarray) -> np.ndarray:
    """Positions in the CSR arrays of the edges ``tails[k] -> heads[k]`` (all must exist)."""
    n = np.int64(compiled.n_nodes)
    keys = compiled.sources * n + compiled.indices  # sorted: CSR rows, columns sorted within
    return np.searchsorted(keys, tails.astype(np.int64) * n + heads.astype(np.int64))


def shortest_path_tree(
    compiled: CompiledGraph, root: int, *, reverse: bool = False
) -> ShortestPathTree:
    """Grow the shortest-path tree of ``root`` (node index) with scipy's Dijkstra.

    Lengths along the tree are summed by pointer jumping (``log2(depth)`` vectorised rounds).
    """
    graph = compiled.csr_matrix()
    if reverse:
        graph = graph.transpose().tocsr()
    dist_rows, pred_rows = dijkstra(graph, indices=[root], return_predecessors=True)
    dist, pred = dist_rows[0], pred_rows[0].astype(np.int64)
    # Sum the compiled weights along the tree (the exact figures a route would report).
    has_parent = pred >= 0
    nodes = np.flatnonzero(has_parent)
    parents = pred[nodes]
    tails, heads = (nodes, parents) if reverse else (parents, nodes)
    positions = _edge_positions(compiled, tails, heads)
    step_weight = np.zeros(compiled.n_nodes)
    step_length = np.zeros(compiled.n_nodes)
    step_weight[nodes] = compiled.weight[positions]
    step_length[nodes] = compiled.length_m[positions]
    jump = np.where(has_parent, pred, np.arange(compiled.n_nodes))
    jump[root] = root
    while True:
        step_weight += np.where(jump != np.arange(compiled.n_nodes), step_weight[jump], 0.0)
        step_length += np.where(jump != np.arange(compiled.n_nodes), step_length[jump], 0.0)
        next_jump = jump[jump]
        if np.array_equal(next_jump, jump):
            break
        jump = next_jump
    unreachable = ~np.isfinite(dist)
    step_weight[unreachable] = np.inf
    step_length[unreachable] = np.inf
    for array in (step_weight, step_length, pred):
        array.setflags(write=False)
    return ShortestPathTree(root, reverse, step_weight, step_length, pred)
