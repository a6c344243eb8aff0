"""``tours``: every ``batch_interval_s``, capacitated multi-stop tours with time windows.

Each waiting order goes to the nearest hub with idle robots, and each hub plans tours for its
idle robots with the scenario's ``dispatch.planner`` (:mod:`carreta.sim.model.tours`). The
round's ``dispatch.time_budget_ms`` is shared between the hubs (and sectors) in proportion to
their orders. Large rounds are cut into angular sectors around the hub (cluster first, route
second). The sectors of a round share no robot and no order: they are planned side by side on
up to :func:`planning_threads` threads (the compiled planners and router release Python's lock;
a thread also routes the legs of the tours it planned) and their tours are sent in the sectors'
order, each sector while the next are still being planned, so a day is the same on any number
of threads.
"""

from __future__ import annotations

import functools
import heapq
import logging
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import ClassVar, TypeAlias, cast

import numpy as np

from carreta.routing.router import Route
from carreta.sim.model.dispatch import Dispatcher
from carreta.sim.model.records import Order
from carreta.sim.model.robot import Robot
from carreta.sim.model.tour_kernels import numba_available
from carreta.sim.model.tours import TourProblem, Vehicle, plan_tours
from carreta.sim.scenario.models import Dispatch

__all__ = ["Tours"]

logger = logging.getLogger(__name__)

_SECTOR_ORDERS = {"insertion": 150, "builtin": 400, "pyvrp": 400}
"""Orders planned together in one tour-planning problem, by planner."""


@dataclass
class Tours:
    """The ``tours`` policy (see the module docstring)."""

    settings: Dispatch
    event_driven: ClassVar[bool] = False

    def assign(self, dispatcher: Dispatcher) -> None:
        """Split the most urgent waiting orders between the idle robot groups, plan each."""
        robots = dispatcher.idle_robots()
        if not robots or not dispatcher.waiting:
            return
        capacity = sum(min(r.spec.parcel_slots, self.settings.max_stops_per_tour) for r in robots)
        orders = heapq.nsmallest(
            capacity, dispatcher.waiting.values(), key=lambda order: order.due_s
        )
        groups: dict[tuple[str, str], list[Robot]] = {}
        for robot in robots:  # robots of one type at one hub share a router and a depot
            groups.setdefault((robot.hub.hub_id, robot.spec.type_name), []).append(robot)
        keys = list(groups)
        table = dispatcher.order_arrays
        seqs = table.seqs(orders)
        times = np.full((len(keys), len(orders)), np.inf)
        weights = table.weight_kg[seqs]
        doors: dict[tuple[int, int], np.ndarray] = {}  # one lookup per network, not per hub
        for g, key in enumerate(keys):
            lead = groups[key][0]
            out = lead.router.tree(lead.hub.node)
            network = (id(lead.router), id(lead.doors))
            nodes = doors.get(network)
            if nodes is None:
                nodes = doors[network] = np.asarray(
                    lead.router.index_of(lead.door_nodes(seqs, table).tolist())
                )
            times[g] = np.where(weights <= lead.spec.payload_kg, out.duration_s[nodes], np.inf)
        nearest = np.argmin(times, axis=0)
        reachable = np.isfinite(times)
        budget_ms_per_order = self.settings.time_budget_ms / len(orders)
        sectors: list[_Sector] = []
        for g, key in enumerate(keys):
            picked = np.flatnonzero((nearest == g) & reachable[g])
            if picked.size:
                mine = [orders[k] for k in picked.tolist()]
                sectors += self._sectors(dispatcher, groups[key], mine, seqs[picked])
        # Sectors share no robot and no order: they are planned side by side, and each is sent
        # (in order) while the next ones are still being planned.
        plans = self._plans(dispatcher, sectors, budget_ms_per_order)
        for sector, (tours, legs) in zip(sectors, plans, strict=True):
            self._send(dispatcher, sector, tours, legs)

    def _sectors(
        self, dispatcher: Dispatcher, robots: list[Robot], orders: list[Order], seqs: np.ndarray
    ) -> list[_Sector]:
        """The planning problems of one robot group at one hub over ``orders`` (numbered
        ``seqs``).

        Large rounds are cut into angular sectors around the hub of at most
        ``_SECTOR_ORDERS`` orders, each with its share of the robots (cluster first, route
        second), so a round's cost grows linearly with the fleet.
        """
        lead = robots[0]
        sector_orders = _SECTOR_ORDERS[self.settings.planner]
        if len(orders) <= sector_orders:
            return [_Sector(robots, orders, seqs)]
        hub_lon, hub_lat = lead.hub.lonlat
        table = dispatcher.order_arrays
        angles = np.arctan2(table.lat[seqs] - hub_lat, table.lon[seqs] - hub_lon)
        by_angle = np.argsort(angles, kind="stable")
        count = -(-len(orders) // sector_orders)
        sectors = []
        for k in range(count):
            part = by_angle[k * len(by_angle) // count : (k + 1) * len(by_angle) // count]
            crew = robots[k * len(robots) // count : (k + 1) * len(robots) // count]
            if part.size and crew:
                sectors.append(_Sector(crew, [orders[i] for i in part.tolist()], seqs[part]))
        return sectors

    def _plans(
        self, dispatcher: Dispatcher, sectors: list[_Sector], budget_ms_per_order: float
    ) -> Iterator[_Plan]:
        """The tours of every sector and their legs (see :func:`_legs`), in order, each as soon
        as it is planned; on up to :func:`planning_threads` threads.

        A sector's plan depends only on its own problem (the search's budget is counted in
        work, not time) and sending a sector's tours touches only its robots and orders, so
        the plans are the same on any number of threads.
        """
        threads = min(len(sectors), planning_threads())
        plan = functools.partial(self._plan, dispatcher, budget_ms_per_order=budget_ms_per_order)
        if threads <= 1:
            yield from map(plan, sectors)
            return
        with ThreadPoolExecutor(threads, thread_name_prefix="carreta-plan") as pool:
            yield from pool.map(plan, sectors)

    def _plan(
        self, dispatcher: Dispatcher, sector: _Sector, *, budget_ms_per_order: float
    ) -> _Plan:
        robots, seqs = sector.robots, sector.seqs
        lead = robots[0]
        table = dispatcher.order_arrays
        doors = lead.door_nodes(seqs, table)
        problem = TourProblem(
            travel_s=_travel_matrix(lead, doors),
            due_s=table.due_s[seqs],
            weight_kg=table.weight_kg[seqs],
            now_s=dispatcher.env.now,
            load_time_per_parcel_s=lead.hub.loading_time_per_parcel_s,
            service_time_s=lead.stop_times_s(seqs, table),
        )
        vehicles = [self._vehicle(robot) for robot in robots]
        tours = plan_tours(
            problem, vehicles, planner=self.settings.planner,
            time_budget_ms=budget_ms_per_order * len(sector.orders),
            iterations=self.settings.local_search_iterations,
        )  # fmt: skip
        return tours, _legs(lead, doors, tours)

    @staticmethod
    def _send(
        dispatcher: Dispatcher,
        sector: _Sector,
        tours: list[list[int]],
        legs: list[list[Route | None]] | None,
    ) -> None:
        """Send each robot of ``sector`` its tour, cut to what its battery covers.

        A tour's ``legs`` routed on the planning thread are those
        :meth:`Dispatcher.affordable` would route; a missing one (None: no path, or a closure
        in the way) or a tour the battery does not cover goes through it.
        """
        orders = sector.orders
        charge_if_short = None
        for k, (robot, stops) in enumerate(zip(sector.robots, tours, strict=True)):
            chosen = [orders[i] for i in stops]
            routes = None
            planned = legs[k] if legs is not None and chosen else None
            if planned is not None and all(leg is not None for leg in planned):
                ready = cast(list[Route], planned)
                if robot.can_do(robot.tour_energy_wh(ready)):
                    routes = ready
                else:
                    chosen = chosen[:-1]  # as below: the estimate was optimistic
            while chosen and routes is None:
                routes = dispatcher.affordable(robot, chosen)
                if routes is None:
                    chosen = chosen[:-1]  # the estimate was optimistic: drop the last stop
            if routes is not None:
                dispatcher.send(robot, chosen, routes)
            else:
                if charge_if_short is None:  # the sector's robots are of one group
                    charge_if_short = dispatcher.charger_for_group(robot, orders)
                charge_if_short(robot)

    def _vehicle(self, robot: Robot) -> Vehicle:
        battery = robot.spec.battery
        usable_wh = max(robot.battery_wh - battery.reserve_wh, 0.0)
        wh_per_s = battery.consumption_wh_per_km * robot.spec.speed_kph / 3600.0
        return Vehicle(
            max_stops=min(robot.spec.parcel_slots, self.settings.max_stops_per_tour),
            payload_kg=robot.spec.payload_kg,
            drive_budget_s=usable_wh / wh_per_s if wh_per_s > 0 else float("inf"),  # diesel
        )


_Plan: TypeAlias = tuple[list[list[int]], list[list[Route | None]] | None]
"""A sector's tours (stops as positions in its orders) and each tour's legs, or None."""


def _legs(
    lead: Robot, doors: np.ndarray, tours: list[list[int]]
) -> list[list[Route | None]] | None:
    """The legs hub → each stop → hub of every tour (stops are positions in ``doors``; none for
    an empty tour), routed in one call on this (planning) thread; None when the router cannot
    do so beside the main thread (its Dijkstra backend keeps caches)."""
    router = lead.router
    if router.backend != "ch":
        return None
    hub = lead.hub.node
    origins: list[int] = []
    destinations: list[int] = []
    for tour in tours:
        if tour:
            stops = doors[tour].tolist()
            origins += [hub, *stops]
            destinations += [*stops, hub]
    found = router.routes(origins, destinations)
    legs, start = [], 0
    for tour in tours:
        count = len(tour) + 1 if tour else 0
        legs.append(found[start : start + count])
        start += count
    return legs


@dataclass(frozen=True, slots=True)
class _Sector:
    """One planning problem of a round: idle robots of one group at one hub, and orders."""

    robots: list[Robot]
    orders: list[Order]
    seqs: np.ndarray  # the orders' Order.seq


def planning_threads() -> int:
    """Threads a round's planning problems are solved on: ``CARRETA_PLANNING_THREADS`` if set,
    else the CPUs this process may use, at most 4 (1 without numba, whose kernels release
    Python's lock)."""
    setting = os.environ.get("CARRETA_PLANNING_THREADS", "").strip()
    if setting:
        try:
            return max(int(setting), 1)
        except ValueError:
            logger.warning("CARRETA_PLANNING_THREADS=%r is not a whole number: 1 thread", setting)
            return 1
    if not numba_available():
        return 1
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        usable = os.cpu_count() or 1
    return min(usable, 4)


def _travel_matrix(lead: Robot, doors: np.ndarray) -> np.ndarray:
    """Seconds between the hub (row and column 0) and the street nodes ``doors``, in that order.

    Routed once per distinct street node: in a dense day many parcels go to the same node, and
    a matrix costs the square of its nodes. Each entry is the router's own value for its pair.
    """
    nodes = np.concatenate(([lead.hub.node], doors))
    distinct, position = np.unique(nodes, return_inverse=True)
    if distinct.shape[0] == nodes.shape[0]:
        return lead.router.matrix(nodes.tolist(), nodes.tolist())
    table = lead.router.matrix(distinct.tolist(), distinct.tolist())
    return table[position][:, position]  # two 1-D gathers: half the time of np.ix_
