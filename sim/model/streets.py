"""Street rules in a run: pedestrian-zone speeds, road-crossing waits and closures.

:func:`prepare_graph` tags the zones on the run's graph (before routers are built, so robot
routers cap their speed there); :func:`start_street_rules` gives every robot a
:class:`LegPlanner` and starts the closure scheduler. With no ``streets`` section neither does
anything and the run is exactly as before.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import networkx as nx
import numpy as np
import simpy

from carreta.routing.closures import ClosableRouter
from carreta.routing.errors import NetworkError, NoRouteError
from carreta.routing.router import Route, Router
from carreta.routing.zones import read_zones, tag_zones, zone_edge_pairs
from carreta.sim.errors import ScenarioError
from carreta.sim.model.closures import ClosureScheduler, ClosureWindow, closure_windows
from carreta.sim.model.crossings import (
    MajorRoads,
    add_waits,
    crossing_nodes,
    major_roads,
    sample_waits,
)
from carreta.sim.model.dispatch import Dispatcher
from carreta.sim.model.reach import Reach, build_reach
from carreta.sim.model.records import EventLog, Order
from carreta.sim.model.robot import Robot
from carreta.sim.scenario.models import Scenario
from carreta.sim.scenario.streets import Crossings, PedestrianZones

__all__ = [
    "LegPlanner",
    "PlannedLeg",
    "prepare_graph",
    "start_street_rules",
    "start_van_zone_rules",
    "van_zone_windows",
]

_DAY_S = 86_400.0

logger = logging.getLogger(__name__)


def prepare_graph(
    scenario: Scenario, graph: nx.MultiDiGraph, *, label: str
) -> tuple[nx.MultiDiGraph, float | None]:
    """Tag the scenario's pedestrian zones on a copy of ``graph``; return it and the zone speed.

    Returns ``graph`` itself and ``None`` when the scenario has no zones.

    Raises
    ------
    ScenarioError
        If the zones file cannot be read or a zone name is not in it.
    """
    zones = scenario.streets.zones
    if zones is None:
        return graph, None
    try:
        polygons = read_zones(zones.file, name_field=zones.name_field, names=zones.names)
    except NetworkError as exc:
        field = "names" if "no zone named" in str(exc) else "file"
        raise ScenarioError(label, f"streets.zones.{field}", str(exc)) from None
    tagged = graph.copy()
    tag_zones(tagged, polygons)
    return tagged, zones.speed_cap_kph


@dataclass(frozen=True)
class PlannedLeg:
    """A leg as driven: its route, node path and times with waits, and crossings made."""

    route: Route
    nodes: np.ndarray
    cum_time_s: np.ndarray
    crossings: int


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


def refresh_reach(dispatcher: Dispatcher, orders: list[Order], reasons: list[str]) -> None:
    """Recompute the dispatcher's reach on the routers' current closures.

    Rejection reasons stay those of the open network: a closure lasts a while, it never makes
    an order unservable for the day (its door is just unreachable until it ends).
    """
    fresh = build_reach(dispatcher.robots, orders)
    dispatcher.reach = Reach(fresh.group_of, fresh.out_s, fresh.round_trip_wh, reasons)


def start_street_rules(
    env: simpy.Environment,
    scenario: Scenario,
    graph: nx.MultiDiGraph,
    robots: list[Robot],
    dispatcher: Dispatcher,
    orders: list[Order],
    log: EventLog,
    *,
    rng: np.random.Generator,
    label: str,
) -> ClosureScheduler | None:
    """Give robots a :class:`LegPlanner` and start the closure scheduler (if the scenario asks).

    Raises
    ------
    ScenarioError
        If a closure names a street or edge that is not in the network.
    """
    streets = scenario.streets
    if streets.crossings is None and not streets.closures:
        return None
    windows = closure_windows(graph, streets.closures, scenario.simulation.date, label=label)
    scheduler = None
    if windows:
        routers = list(
            {
                id(r.router): r.router for r in robots if isinstance(r.router, ClosableRouter)
            }.values()
        )
        reasons = list(dispatcher.reach.reasons)
        scheduler = ClosureScheduler(
            env, windows, routers, log, on_change=lambda: refresh_reach(dispatcher, orders, reasons)
        )
        env.process(scheduler.run())
    planner = LegPlanner(graph, scheduler=scheduler, crossings=streets.crossings, rng=rng)
    for robot in robots:
        robot.streets = planner
    logger.info(
        "street rules: %d closure windows today, crossings %s",
        len(windows),
        streets.crossings is not None,
    )
    return scheduler


def van_zone_windows(zones: PedestrianZones, graph: nx.MultiDiGraph) -> list[ClosureWindow]:
    """Closures keeping vans out of the zones outside their access hours.

    ``graph`` must have its zones tagged (:func:`prepare_graph`). The windows cover the day
    minus ``zones.van_access``: with the default 06:00-11:00 access, 00:00-06:00 and
    11:00-24:00.
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


def start_van_zone_rules(
    env: simpy.Environment,
    scenario: Scenario,
    graph: nx.MultiDiGraph,
    vans: list[Robot],
    log: EventLog,
    *,
    label: str,
) -> ClosureScheduler | None:
    """Keep vans out of the pedestrian zones outside their access hours.

    ``graph`` is the vans' drive network; the vans' routers must be
    :class:`~carreta.routing.closures.ClosableRouter` built on it. Each van gets a
    :class:`LegPlanner` (closures only: vans wait at no crossing), so a van never drives on a
    zone edge while the zone is closed to it. Does nothing without ``streets.zones`` or vans.
    """
    zones = scenario.streets.zones
    if zones is None or not vans:
        return None
    tagged, _ = prepare_graph(scenario, graph, label=label)
    routers = list(
        {id(v.router): v.router for v in vans if isinstance(v.router, ClosableRouter)}.values()
    )
    windows = van_zone_windows(zones, tagged)
    scheduler = ClosureScheduler(env, windows, routers, log, on_change=lambda: None)
    env.process(scheduler.run())
    planner = LegPlanner(tagged, scheduler=scheduler, crossings=None, rng=np.random.default_rng(0))
    for van in vans:
        van.streets = planner
    return scheduler
