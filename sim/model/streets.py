"""Street rules in a run: road-crossing waits and time-dependent closures.

Zones are tagged on the graph when the world is built
(:func:`carreta.sim.model.world.prepare_graph`, so robot routers cap their speed there);
:func:`build_street_rules` makes the :class:`LegPlanner` every robot is built with and the
closure scheduler the engine starts. With no ``streets`` section there is neither and the run
is exactly as before.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import networkx as nx
import numpy as np
import simpy

from carreta.routing.closures import ClosableRouter
from carreta.routing.errors import NoRouteError
from carreta.routing.router import Route, Router
from carreta.routing.zones import zone_edge_pairs
from carreta.sim.model.closures import ClosureScheduler, ClosureWindow, closure_windows
from carreta.sim.model.crossings import (
    MajorRoads,
    add_waits,
    crossing_nodes,
    major_roads,
    sample_waits,
)
from carreta.sim.model.records import EventLog, PlannedLeg
from carreta.sim.model.world import prepare_graph
from carreta.sim.scenario.models import Scenario
from carreta.sim.scenario.streets import Crossings, PedestrianZones

__all__ = [
    "LegPlanner",
    "StreetRules",
    "build_street_rules",
    "build_van_zone_rules",
    "van_zone_windows",
]

_DAY_S = 86_400.0

logger = logging.getLogger(__name__)


class LegPlanner:
    """Plans each leg at its start: closures in force and coming, crossing waits."""

    def __init__(
        self,
        graph: nx.MultiDiGraph,
        *,
        scheduler: ClosureScheduler | None,
        crossings: Crossings | None,
        rng: np.random.Generator,
    ) -> None:
        self.graph = graph
        self.scheduler = scheduler
        self.crossings = crossings
        self.rng = rng
        self._roads: dict[int, MajorRoads] = {}

    def _major(self, router: Router) -> MajorRoads:
        roads = self._roads.get(id(router))
        if roads is None:
            assert self.crossings is not None
            roads = major_roads(
                self.graph,
                router,
                classes=self.crossings.highway_classes,
                names=self.crossings.street_names,
            )
            self._roads[id(router)] = roads
        return roads

    def _timed(self, router: Router, route: Route) -> tuple[np.ndarray, np.ndarray, int]:
        if self.crossings is None:
            return route.nodes, route.cum_time_s, 0
        at = crossing_nodes(router, self._major(router), route.nodes)
        waits = sample_waits(
            at.shape[0],
            mean_s=self.crossings.wait_mean_s,
            max_s=self.crossings.wait_max_s,
            rng=self.rng,
        )
        nodes, times = add_waits(route.nodes, route.cum_time_s, at, waits)
        return nodes, times, int(at.shape[0])

    def plan(
        self, router: Router, origin: int, destination: int, depart_s: float
    ) -> PlannedLeg | None:
        """The leg from ``origin`` to ``destination`` leaving at ``depart_s``.

        ``None`` if the closures in force cut the destination off (wait and try again).
        """
        try:
            route = router.route(origin, destination)
        except NoRouteError:
            return None
        nodes, times, crossings = self._timed(router, route)
        if self.scheduler is None or not isinstance(router, ClosableRouter):
            return PlannedLeg(route, nodes, times, crossings)
        for _ in range(3):  # each pass avoids at least one more closure
            avoid = self.scheduler.conflicts(router, nodes, times, depart_s)
            if avoid.shape[0] == 0:
                break
            try:
                route = router.route_avoiding(origin, destination, avoid)
            except NoRouteError:
                return None
            nodes, times, crossings = self._timed(router, route)
        return PlannedLeg(route, nodes, times, crossings)

    def until_next_change_s(self, now_s: float) -> float:
        """Seconds to wait for the next closure change (a day if there is none)."""
        return 86_400.0 if self.scheduler is None else self.scheduler.until_next_change_s(now_s)


@dataclass(frozen=True)
class StreetRules:
    """What :func:`build_street_rules` makes: the planner robots are built with (None: plain
    legs) and the closure scheduler whose process the engine starts (None: no closures)."""

    planner: LegPlanner | None = None
    scheduler: ClosureScheduler | None = None


def build_street_rules(
    env: simpy.Environment,
    scenario: Scenario,
    graph: nx.MultiDiGraph,
    routers: Sequence[Router],
    log: EventLog,
    *,
    on_change: Callable[[], None],
    rng: np.random.Generator,
    label: str,
) -> StreetRules:
    """The leg planner and closure scheduler of the scenario's ``streets`` section.

    ``routers`` are the robots' routers (the closable ones are closed and reopened);
    ``on_change`` is called after every change of the closures in force.

    Raises
    ------
    ScenarioError
        If a closure names a street or edge that is not in the network.
    """
    streets = scenario.streets
    if streets.crossings is None and not streets.closures:
        return StreetRules()
    windows = closure_windows(graph, streets.closures, scenario.simulation.date, label=label)
    scheduler = None
    if windows:
        closable = [router for router in _unique(routers) if isinstance(router, ClosableRouter)]
        scheduler = ClosureScheduler(env, windows, closable, log, on_change=on_change)
    planner = LegPlanner(graph, scheduler=scheduler, crossings=streets.crossings, rng=rng)
    logger.info(
        "street rules: %d closure windows today, crossings %s",
        len(windows),
        streets.crossings is not None,
    )
    return StreetRules(planner, scheduler)


def _unique(routers: Sequence[Router]) -> list[Router]:
    return list({id(router): router for router in routers}.values())


def van_zone_windows(zones: PedestrianZones, graph: nx.MultiDiGraph) -> list[ClosureWindow]:
    """Closures keeping vans out of the zones outside their access hours.

    ``graph`` must have its zones tagged (:func:`~carreta.sim.model.world.prepare_graph`).
    The windows cover the day minus ``zones.van_access``: with the default 06:00-11:00
    access, 00:00-06:00 and 11:00-24:00.
    """
    pairs = tuple(zone_edge_pairs(graph, zones.names))
    opened = sorted(window.seconds for window in zones.van_access)
    closed, cursor = [], 0.0
    for start_s, end_s in opened:
        if start_s > cursor:
            closed.append((cursor, start_s))
        cursor = max(cursor, end_s)
    if cursor < _DAY_S:
        closed.append((cursor, _DAY_S))
    return [
        ClosureWindow(f"zones-closed-to-vans@{start:.0f}", start, end, pairs)
        for start, end in closed
    ]


def build_van_zone_rules(
    env: simpy.Environment,
    scenario: Scenario,
    graph: nx.MultiDiGraph | None,
    routers: Sequence[Router],
    log: EventLog,
    *,
    label: str,
) -> StreetRules:
    """Rules keeping vans out of the pedestrian zones outside their access hours.

    ``graph`` is the vans' drive network (None: no vans) and ``routers`` the vans' routers on
    it (the :class:`~carreta.routing.closures.ClosableRouter` ones are closed). Vans built with
    the planner (closures only: vans wait at no crossing) never drive on a zone edge while the
    zone is closed to them. Empty without ``streets.zones`` or without vans.
    """
    zones = scenario.streets.zones
    if zones is None or graph is None or not routers:
        return StreetRules()
    tagged, _ = prepare_graph(scenario, graph, label=label)
    closable = [router for router in _unique(routers) if isinstance(router, ClosableRouter)]
    windows = van_zone_windows(zones, tagged)
    scheduler = ClosureScheduler(env, windows, closable, log, on_change=lambda: None)
    planner = LegPlanner(tagged, scheduler=scheduler, crossings=None, rng=np.random.default_rng(0))
    return StreetRules(planner, scheduler)
