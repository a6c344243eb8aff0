"""Time-dependent closures in a run: which edges close when, and the process that toggles them.

The scenario's closures (``streets.closures``) are resolved once against the street graph into
node pairs (:func:`closure_windows`); :class:`ClosureScheduler` then closes and reopens them in
every robot router (:class:`~carreta.routing.closures.ClosableRouter`) at their start and end times
and tells the dispatcher, which refreshes its reach tables.

How robots respect closures (see also docs/ecusson.md):

- **at each leg start** the robot asks its router for the leg again, so a leg planned before a
  closure started is re-planned around it (a cache hit when nothing changed);
- **a closure starting during a leg**: the leg's edges are checked against the windows that
  open before it ends (:meth:`ClosureScheduler.conflicts`); if the robot would be on a closed
  edge after the closure starts, the leg is planned around that closure already;
- **a destination cut off** by a closure (a door inside a closed square): the robot waits where
  it is until the next closure change, then tries again.

So no robot is ever on a closed edge while its closure is active, and routes use the edges
again as soon as it ends.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from typing import Any

import networkx as nx
import numpy as np
import shapely
import simpy

from carreta.routing.closures import ClosableRouter, closed_pairs, edges_in_polygon, edges_named
from carreta.sim.errors import ScenarioError
from carreta.sim.model.clock import delay_until
from carreta.sim.model.records import EventLog
from carreta.sim.scenario.streets import WEEKDAYS, Closure

__all__ = ["ClosureScheduler", "ClosureWindow", "closure_edges", "closure_windows"]


@dataclass(frozen=True)
class ClosureWindow:
    """One closure on the simulated day: its node pairs are closed from start to end (s)."""

    label: str
    start_s: float
    end_s: float
    pairs: tuple[tuple[int, int], ...]


def closure_edges(
    graph: nx.MultiDiGraph, closure: Closure, *, label: str, field: str
) -> list[tuple[int, int, int]]:
    """The graph edges ``(u, v, key)`` a closure covers (polygon, streets and edges together).

    Raises
    ------
    ScenarioError
        If a street name or an edge is not in the graph, or the closure covers no edge.
    """
    edges: list[tuple[int, int, int]] = []
    if closure.polygon is not None:
        edges += edges_in_polygon(graph, shapely.Polygon(closure.polygon))
    for k, name in enumerate(closure.streets):
        named = edges_named(graph, [name])
        if not named:
            raise ScenarioError(label, f"{field}.streets[{k}]", f"no street named {name!r}")
        edges += named
    for k, (u, v) in enumerate(closure.edges):
        found = [
            (a, b, key) for a, b in ((u, v), (v, u)) if graph.has_edge(a, b) for key in graph[a][b]
        ]
        if not found:
            raise ScenarioError(label, f"{field}.edges[{k}]", f"no edge between {u} and {v}")
        edges += found
    if not edges:
        raise ScenarioError(label, field, "the closure covers no street of the network")
    return edges


def closure_windows(
    graph: nx.MultiDiGraph, closures: Sequence[Closure], date: dt.date, *, label: str
) -> list[ClosureWindow]:
    """The closures in force on ``date`` (by weekday), with their node pairs resolved."""
    weekday = WEEKDAYS[date.weekday()]
    windows = []
    for i, closure in enumerate(closures):
        field = f"streets.closures[{i}]"
        pairs = tuple(closed_pairs(graph, closure_edges(graph, closure, label=label, field=field)))
        if weekday not in closure.weekdays:
            continue
        for hours in closure.hours:
            start_s, end_s = hours.seconds
            windows.append(ClosureWindow(f"{closure.name}@{start_s:.0f}", start_s, end_s, pairs))
    return windows


class ClosureScheduler:
    """Closes and reopens the closures' edges in every router at their start and end times.

    Parameters
    ----------
    env
        The run's environment.
    windows
        The day's closures.
    routers
        Every router robots use (one per robot speed).
    log
        Gets ``closure_start`` / ``closure_end`` events (value: closed directed edges).
    on_change
        Called after each change (the dispatcher refreshes its reach tables).
    """

    def __init__(
        self,
        env: simpy.Environment,
        windows: Sequence[ClosureWindow],
        routers: Sequence[ClosableRouter],
        log: EventLog,
        on_change: Callable[[], None],
    ) -> None:
        self.env = env
        self.windows = list(windows)
        self.routers = list(routers)
        self.log = log
        self.on_change = on_change
        self._positions = {
            id(router): [router.edge_positions(window.pairs) for window in self.windows]
            for router in self.routers
        }
        changes = {w.start_s for w in self.windows} | {w.end_s for w in self.windows}
        self.change_times = sorted(changes)

    def _apply(self) -> None:
        now = self.env.now
        for router in self.routers:
            positions = self._positions[id(router)]
            for w, window in enumerate(self.windows):
                active = window.start_s <= now < window.end_s
                if active and window.label not in router.active_closures:
                    router.close(window.label, positions[w])
                elif not active and window.label in router.active_closures:
                    router.reopen(window.label)
        self.on_change()

    def run(self) -> Generator[simpy.Event, Any, None]:
        """Apply the closures in force at the start, then every change as it comes."""
        self._apply()
        for w, window in enumerate(self.windows):
            if window.start_s <= self.env.now < window.end_s:
                self._log("closure_start", w)
        for time_s in self.change_times:
            if time_s <= self.env.now:
                continue
            yield self.env.timeout(delay_until(self.env.now, time_s))
            self._apply()
            for w, window in enumerate(self.windows):
                if window.start_s == time_s:
                    self._log("closure_start", w)
                if window.end_s == time_s:
                    self._log("closure_end", w)

    def _log(self, kind: str, w: int) -> None:
        pairs = self.windows[w].pairs
        self.log.add(self.env.now, kind, node=pairs[0][0] if pairs else -1, value=len(pairs))

    def until_next_change_s(self, now_s: float) -> float:
        """Seconds from ``now_s`` to the next closure change (a day if there is none)."""
        later = [t for t in self.change_times if t > now_s]
        return (later[0] - now_s) if later else 86_400.0

    def conflicts(
        self, router: ClosableRouter, nodes: np.ndarray, cum_time_s: np.ndarray, depart_s: float
    ) -> np.ndarray:
        """Compiled edge positions to avoid: closures that open while this leg would use them.

        ``nodes`` and ``cum_time_s`` describe the leg (a repeated node is a wait). Returns the
        positions of every closure that starts after ``depart_s`` and covers an edge the leg
        would still be on (or enter) after its start; empty if none.
        """
        end_s = depart_s + float(cum_time_s[-1])
        upcoming = [w for w, window in enumerate(self.windows) if depart_s < window.start_s < end_s]
        if not upcoming:
            return np.zeros(0, dtype=np.int64)
        moving = nodes[:-1] != nodes[1:]
        tails, heads = nodes[:-1][moving], nodes[1:][moving]
        leave_s = depart_s + cum_time_s[1:][moving]
        used = [
            router.edge_positions([(a, b)])
            for a, b in zip(tails.tolist(), heads.tolist(), strict=True)
        ]
        avoid: list[np.ndarray] = []
        for w in upcoming:
            window, closed = self.windows[w], self._positions[id(router)][w]
            late = [p for p, t in zip(used, leave_s.tolist(), strict=True) if t > window.start_s]
            if any(np.isin(p, closed).any() for p in late):
                avoid.append(closed)
        return np.unique(np.concatenate(avoid)) if avoid else np.zeros(0, dtype=np.int64)


def pairs_of(nodes: np.ndarray) -> list[tuple[int, int]]:
    """Consecutive distinct node pairs of a path (a repeated node is a wait, not an edge)."""
    return [(a, b) for a, b in itertools.pairwise(nodes.tolist()) if a != b]
