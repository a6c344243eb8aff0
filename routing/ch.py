"""Contraction hierarchies over a :class:`~routing.compiled.CompiledGraph` (needs numba)."""

from __future__ import annotations

import logging
import time

import numpy as np

from routing import _ch_numba
from routing.compiled import CompiledGraph

logger = logging.getLogger(__name__)


def _upward_csr(
    n: int, tail: np.ndarray, head: np.ndarray, weight: np.ndarray, edge_id: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """CSR arrays of the edges ``tail -> head`` grouped by ``tail``."""
    order = np.argsort(tail, kind="stable")
    ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(tail, minlength=n), out=ptr[1:])
    return ptr, head[order].copy(), weight[order].copy(), edge_id[order].copy()


class ContractionHierarchy:
    """A contraction hierarchy of one compiled graph: exact routes and matrices.

    Parameters
    ----------
    compiled
        The compiled street graph; its weights are the ones minimised.
    witness_limit
        Nodes a witness search may settle before giving up (and adding a possibly superfluous
        shortcut). Larger: slower preprocessing, fewer shortcuts, faster queries.
    """

    def __init__(self, compiled: CompiledGraph, *, witness_limit: int = 500) -> None:
        started = time.perf_counter()
        self.compiled = compiled
        n = compiled.n_nodes
        rank, src, dst, weight, child_a, child_b = _ch_numba.preprocess(
            n, compiled.sources, compiled.indices, compiled.weight, witness_limit
        )
        self.rank = rank
        # Search in rank order, highest first: the nodes every query touches (the top of the
        # hierarchy) then share cache lines. ``new_of[i]`` is node i's index in that order.
        order = np.argsort(-rank, kind="stable")
        self._new_of = np.empty(n, dtype=np.int64)
        self._new_of[order] = np.arange(n, dtype=np.int64)
        src, dst = self._new_of[src], self._new_of[dst]
        edge_id = np.arange(src.shape[0], dtype=np.int64)
        up = rank[order][dst] > rank[order][src]
        # Forward search: upward edges from their tail. Backward search: downward edges,
        # walked against their direction from their head.
        self._forward = _upward_csr(n, src[up], dst[up], weight[up], edge_id[up])
        down = ~up
        self._backward = _upward_csr(n, dst[down], src[down], weight[down], edge_id[down])
        capacity = max(self._forward[1].shape[0], self._backward[1].shape[0]) + 1
        self._dist = np.full((2, n), np.inf)
        self._int_work = np.full((7, n + 1), -1, dtype=np.int64)
        self._heap_keys = np.empty((2, capacity))
        self._heap_values = np.empty((2, capacity), dtype=np.int64)
        self._hierarchy = np.vstack((src, dst, child_a, child_b))
        self.shortcuts = int(src.shape[0] - compiled.n_edges)
        # An optimal path can repeat a node only through a cycle that weighs nothing, or less
        # than the rounding noise of a path's sum (< 1e-9 of all weights for < 4e6 edges); a
        # graph whose lightest edge weighs more than that (Montpellier: 0.03 s) skips the check.
        w = compiled.weight
        cut_cycles = bool(w.shape[0] > 0 and w.min() <= 1e-9 * w.sum())
        self._route_args = (
            *self._forward, *self._backward, self._hierarchy,
            compiled.node_ids[order], self._new_of[compiled.indices], compiled.weight,
            compiled.length_m,
            self._dist, self._int_work, self._heap_keys, self._heap_values, cut_cycles,
        )  # fmt: skip
        self.build_s = time.perf_counter() - started
        logger.debug(
            "contraction hierarchy: %d nodes, %d edges, %d shortcuts in %.2f s",
            n,
            compiled.n_edges,
            self.shortcuts,
            self.build_s,
        )

    def path(self, s: int, t: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Node ids, cumulative weights and cumulative lengths of the path ``s -> t``.

        ``s`` and ``t`` are node indices; the returned nodes are graph node ids. Empty arrays
        when ``t`` is unreachable from ``s``.
        """
        new_of = self._new_of
        result: tuple[np.ndarray, np.ndarray, np.ndarray] = _ch_numba.route(
            new_of[s], new_of[t], *self._route_args
        )
        return result

    def matrix(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """Shortest-path weights from each of ``rows`` to each of ``cols`` (inf if none)."""
        f_ptr, f_to, f_w, _ = self._forward
        b_ptr, b_to, b_w, _ = self._backward
        out: np.ndarray = _ch_numba.many_to_many(
            self._new_of[rows], self._new_of[cols], self.compiled.n_nodes,
            f_ptr, f_to, f_w, b_ptr, b_to, b_w,
        )  # fmt: skip
        return out

    @property
    def nbytes(self) -> int:
        """Memory held by the hierarchy, in bytes."""
        arrays = [self.rank, self._new_of, self._hierarchy, self._dist, self._int_work]
        arrays += [self._heap_keys, self._heap_values]
        arrays += list(self._forward) + list(self._backward)
        return int(sum(a.nbytes for a in arrays))
