"""Road crossings: where a leg crosses a major road, and the waits that adds to it.

Plain functions over arrays, no SimPy. A router's compiled edges are classified once
(:func:`major_roads`); then each leg's crossings come from its node path:

- a path node ``k`` (not the first or last) is a *crossing* when it touches a major road while
  the edges the robot arrives and leaves on are both not major: it goes straight over the road.
  Turning onto a major road (walking along its sidewalk) or off it is not a crossing.
- the robot waits at the node before crossing: the wait is inserted into the leg as a repeated
  vertex (same node twice, the second time later), so positions along the leg stay right and
  the leg is still one timeout.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import networkx as nx
import numpy as np

from carreta.routing.router import Router

__all__ = ["MajorRoads", "add_waits", "crossing_nodes", "major_roads", "sample_waits"]


@dataclass(frozen=True)
class MajorRoads:
    """Which compiled edges of a router are major roads, and which nodes touch one."""

    edge: np.ndarray  # bool per compiled edge
    node: np.ndarray  # bool per node index


def _is_major(data: dict[str, object], classes: Collection[str], names: Collection[str]) -> bool:
    highway, name = data.get("highway"), data.get("name")
    highways = highway if isinstance(highway, list) else [highway]
    street_names = name if isinstance(name, list) else [name]
    return any(h in classes for h in highways) or any(n in names for n in street_names)


def major_roads(
    graph: nx.MultiDiGraph, router: Router, *, classes: Collection[str], names: Collection[str]
) -> MajorRoads:
    """Classify the router's compiled edges (major road by ``highway`` class or ``name``)."""
    compiled = router.compiled
    sources = compiled.node_ids[compiled.sources]
    targets = compiled.node_ids[compiled.indices]
    edge = np.zeros(compiled.n_edges, dtype=bool)
    classes, names = set(classes), set(names)
    for k, (u, v, key) in enumerate(
        zip(sources.tolist(), targets.tolist(), compiled.edge_key.tolist(), strict=True)
    ):
        parallel = graph[u][v]
        data = parallel[key] if key in parallel else next(iter(parallel.values()))
        edge[k] = _is_major(data, classes, names)
    node = np.zeros(compiled.n_nodes, dtype=bool)
    node[compiled.sources[edge]] = True
    node[compiled.indices[edge]] = True
    return MajorRoads(edge, node)


def crossing_nodes(router: Router, roads: MajorRoads, nodes: np.ndarray) -> np.ndarray:
    """Positions ``k`` in the path ``nodes`` (graph ids) where the path crosses a major road."""
    if nodes.shape[0] < 3:
        return np.zeros(0, dtype=np.int64)
    index = np.asarray(router.index_of(nodes.tolist()), dtype=np.int64)
    compiled = router.compiled
    n = np.int64(compiled.n_nodes)
    keys = compiled.sources * n + compiled.indices
    positions = np.searchsorted(keys, index[:-1] * n + index[1:])
    major_edge = roads.edge[positions]
    inner = np.arange(1, nodes.shape[0] - 1)
    crossing = roads.node[index[inner]] & ~major_edge[inner - 1] & ~major_edge[inner]
    return inner[crossing]


def sample_waits(
    count: int, *, mean_s: float, max_s: float, rng: np.random.Generator
) -> np.ndarray:
    """``count`` waits in seconds: exponential of mean ``mean_s``, capped at ``max_s``."""
    if count == 0 or mean_s == 0:
        return np.zeros(count)
    return np.minimum(rng.exponential(mean_s, size=count), max_s)


def add_waits(
    nodes: np.ndarray, cum_time_s: np.ndarray, at: np.ndarray, waits_s: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The path with a wait at each position ``at``: the node repeated, later times shifted.

    Returns the new node ids and cumulative times (s since departure); the leg's duration is
    the last time, ``cum_time_s[-1] + waits_s.sum()``.
    """
    if at.shape[0] == 0:
        return nodes, cum_time_s
    repeat = np.ones(nodes.shape[0], dtype=np.int64)
    repeat[at] = 2
    new_nodes = np.repeat(nodes, repeat)
    shift = np.zeros(nodes.shape[0])
    shift[at] = waits_s
    before = np.cumsum(shift) - shift  # waits at earlier nodes
    arrive = cum_time_s + before
    times = np.repeat(arrive, repeat)
    # the second copy of a crossing node is the moment the robot leaves it
    second = np.cumsum(repeat) - 1
    times[second] = arrive + shift
    return new_nodes, times
