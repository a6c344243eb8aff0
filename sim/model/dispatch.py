"""The dispatcher: which robot takes which orders, and when.

Policies (``dispatch.policy`` in the scenario):

``nearest_idle``
    First come, first served: as soon as an order is created or a robot becomes idle, the oldest
    waiting order goes to the idle robot whose hub reaches its door soonest; one order per trip.
``batch``
    Every ``batch_interval_s``, an optimal assignment of waiting orders to idle robots
    (:func:`scipy.optimize.linear_sum_assignment`) minimising expected lateness first, then
    travel time on the router's matrix; one order per trip.
``tours``
    Every ``batch_interval_s``, each waiting order goes to the nearest hub with idle robots, and
    each hub plans capacitated multi-stop tours with time windows for its idle robots
    (:mod:`carreta.sim.model.tours`: insertion then local search).

Whatever the policy, a robot is only sent on a trip its battery can finish with its reserve
left; a robot that cannot afford the waiting work is sent to charge. Orders that no robot could
ever serve (too heavy, unreachable, beyond range with a full battery) are rejected on arrival.
"""

from __future__ import annotations

import heapq
from collections.abc import Generator
from itertools import islice
from typing import Any

import numpy as np
import simpy
from scipy.optimize import linear_sum_assignment

from carreta.routing.errors import NoRouteError
from carreta.routing.router import Route
from carreta.sim.model.reach import Reach, build_reach
from carreta.sim.model.records import EventLog, Order, OrderState, Tour
from carreta.sim.model.robot import ChargeRequest, Robot
from carreta.sim.model.tours import TourProblem, Vehicle, plan_tours
from carreta.sim.scenario.models import Dispatch

_INFEASIBLE = 1e12
_SECTOR_ORDERS = 150  # orders planned together in one tour-planning problem


class Dispatcher:
    """Holds the waiting orders and the idle robots, and assigns one to the other."""

    def __init__(self, env: simpy.Environment, settings: Dispatch, log: EventLog) -> None:
        self.env = env
        self.settings = settings
        self.log = log
        self.robots: list[Robot] = []
        self.waiting: dict[int, Order] = {}  # insertion order = creation order
        self.idle: dict[str, dict[str, Robot]] = {}  # hub id -> robot id -> robot
        self.idle_count = 0  # robots in ``idle``
        self._first_come = settings.policy == "nearest_idle"
        self._wake = env.event()
        self.reach = Reach({}, [], [], [])

    # -- notifications ----------------------------------------------------------------------
    def add_robot(self, robot: Robot) -> None:
        """Register a robot (before the run starts)."""
        self.robots.append(robot)
        self.idle.setdefault(robot.hub.hub_id, {})

    def prepare(self, orders: list[Order]) -> None:
        """Compute once what each robot group can reach of the day's doors (see
        carreta.sim.model.reach)."""
        self.reach = build_reach(self.robots, orders)

    def order_arrived(self, order: Order) -> None:
        """A new order: reject it if no robot could ever serve it, else queue it."""
        self.log.add(self.env.now, "order_created", order_id=order.order_id, node=order.node)
        reason = self.reach.reasons[order.seq]
        if reason or order.state is OrderState.REJECTED:  # e.g. the door is off the streets
            order.state = OrderState.REJECTED
            order.reason = order.reason or reason
            self._log_rejection(order)
            return
        self.waiting[order.order_id] = order
        self._poke()

    def robot_idle(self, robot: Robot) -> None:
        """A robot is back at its hub, ready for a command."""
        self.idle[robot.hub.hub_id][robot.robot_id] = robot
        self.idle_count += 1
        self._poke()

    def _take(self, robot: Robot) -> None:
        """An idle robot was given a command."""
        del self.idle[robot.hub.hub_id][robot.robot_id]
        self.idle_count -= 1

    def _poke(self) -> None:
        """Wake the first-come-first-served dispatcher (it returns at once if nothing fits)."""
        if self._first_come and not self._wake.triggered:
            self._wake.succeed()

    def order_returned(self, order: Order) -> None:
        """A parcel brought back to its hub by a broken robot: queue it again, first in line.

        It has waited longer than most; its ``attempts`` already count the failed trip and
        ``returned`` counts the returns.
        """
        order.state = OrderState.WAITING
        order.robot_id = ""
        order.assigned_s = np.nan
        order.picked_s = np.nan
        order.returned += 1
        self.waiting = {order.order_id: order, **self.waiting}
        self.log.add(self.env.now, "order_returned", order_id=order.order_id, node=order.node)
        self._poke()

    def _log_rejection(self, order: Order) -> None:
        self.log.add(self.env.now, "order_rejected", order_id=order.order_id, node=order.node)

    # -- feasibility ------------------------------------------------------------------------
    def _round_trip(self, robot: Robot, order: Order) -> tuple[float, float] | None:
        """(duration s hub → door, energy Wh hub → door → hub) for ``robot``; None if no route."""
        return self.reach.trip(robot, order)

    def _affordable(self, robot: Robot, orders: list[Order]) -> list[Route] | None:
        """The routes of a tour over ``orders`` if the robot's battery covers them (an exact
        check on the routes it will drive), else None."""
        try:
            routes = robot.tour_routes(orders)
        except NoRouteError:
            return None
        return routes if robot.can_do(robot.tour_energy_wh(routes)) else None

    # -- the process ------------------------------------------------------------------------
    def run(self) -> Generator[simpy.Event, Any, None]:
        """Assign on every notification (nearest_idle) or every batch interval (others)."""
        env = self.env
        if self._first_come:
            while True:
                yield self._wake
                self._wake = env.event()
                self._assign_first_come()
        assign = self._assign_batch if self.settings.policy == "batch" else self._assign_tours
        while True:
            yield env.timeout(self.settings.batch_interval_s)
            assign()

    def _send(self, robot: Robot, orders: list[Order], routes: list[Route]) -> None:
        self._take(robot)
        tour = Tour(robot.robot_id, robot.hub.hub_id, orders, self.env.now, routes=routes)
        for order in orders:
            del self.waiting[order.order_id]
            order.state = OrderState.ASSIGNED
            order.assigned_s = self.env.now
            order.robot_id = robot.robot_id
            order.hub_id = robot.hub.hub_id
            order.attempts += 1
            self.log.add(
                self.env.now, "assign", robot_id=robot.robot_id, order_id=order.order_id,
                node=order.node,
            )  # fmt: skip
        robot.give(tour)

    def _idle_robots(self) -> list[Robot]:
        return [robot for robots in self.idle.values() for robot in robots.values()]

    def _assign_first_come(self, *, scan_limit: int = 64) -> None:
        """Oldest orders first, each to the idle robot whose hub reaches its door soonest.

        At most ``scan_limit`` waiting orders are looked at per call, so a long queue costs no
        more than a short one; an idle robot that could carry an order but cannot afford it is
        sent to charge.
        """
        if not self.waiting or not self.idle_count:
            return
        for order_id in list(islice(self.waiting, scan_limit)):
            if not self.idle_count:
                return
            order = self.waiting[order_id]
            best: tuple[float, Robot, list[Route]] | None = None
            for robots in self.idle.values():
                short: list[Robot] = []  # could carry the order but not afford it: to charge
                for robot in robots.values():
                    if order.weight_kg > robot.spec.payload_kg:
                        continue
                    trip = self._round_trip(robot, order)
                    if trip is None:
                        continue
                    routes = self._affordable(robot, [order]) if robot.can_do(trip[1]) else None
                    if routes is None:
                        short.append(robot)
                        continue
                    if best is None or trip[0] < best[0]:
                        best = (trip[0], robot, routes)
                    break  # robots of one hub are equally near: the first that fits will do
                for robot in short:
                    self._charge(robot)
            if best is not None:
                self._send(best[1], [order], best[2])

    def _assign_batch(self) -> None:
        robots = self._idle_robots()
        if not robots or not self.waiting:
            return
        orders = list(self.waiting.values())[: 4 * len(robots)]
        cost = np.full((len(robots), len(orders)), _INFEASIBLE)
        for r, robot in enumerate(robots):
            for o, order in enumerate(orders):
                if order.weight_kg > robot.spec.payload_kg:
                    continue
                trip = self._round_trip(robot, order)
                if trip is None or not robot.can_do(trip[1]):
                    continue
                delivered = (
                    self.env.now + robot.hub.loading_time_per_parcel_s + trip[0]
                    + robot.spec.service_time_s
                )  # fmt: skip
                lateness = max(delivered - order.due_s, 0.0)
                cost[r, o] = 1000.0 * lateness + trip[0]
        rows, cols = linear_sum_assignment(cost)
        for row, col in zip(rows.tolist(), cols.tolist(), strict=True):
            if cost[row, col] >= _INFEASIBLE:
                continue
            routes = self._affordable(robots[row], [orders[col]])
            if routes is not None:
                self._send(robots[row], [orders[col]], routes)
        for r, robot in enumerate(robots):
            if robot.robot_id in self.idle[robot.hub.hub_id] and np.all(cost[r] >= _INFEASIBLE):
                self._charge_if_short(robot, orders)

    def _assign_tours(self) -> None:
        """Split the most urgent waiting orders between the idle robot groups, plan each."""
        robots = self._idle_robots()
        if not robots or not self.waiting:
            return
        capacity = sum(min(r.spec.parcel_slots, self.settings.max_stops_per_tour) for r in robots)
        orders = heapq.nsmallest(capacity, self.waiting.values(), key=lambda order: order.due_s)
        groups: dict[tuple[str, str], list[Robot]] = {}
        for robot in robots:  # robots of one type at one hub share a router and a depot
            groups.setdefault((robot.hub.hub_id, robot.spec.type_name), []).append(robot)
        keys = list(groups)
        times = np.full((len(keys), len(orders)), np.inf)
        for g, key in enumerate(keys):
            lead = groups[key][0]
            out = lead.router.tree(lead.hub.node)
            nodes = lead.router.index_of([lead.door_node(order) for order in orders])
            carried = np.array([order.weight_kg <= lead.spec.payload_kg for order in orders])
            times[g] = np.where(carried, out.duration_s[nodes], np.inf)
        nearest = np.argmin(times, axis=0)
        for g, key in enumerate(keys):
            mine = [o for k, o in enumerate(orders) if nearest[k] == g and np.isfinite(times[g, k])]
            if mine:
                self._plan_hub(groups[key], mine)

    def _plan_hub(self, robots: list[Robot], orders: list[Order]) -> None:
        """Tours for idle robots of one type at one hub over ``orders``; send them.

        Large rounds are cut into angular sectors around the hub of at most
        ``_SECTOR_ORDERS`` orders, each with its share of the robots (cluster first, route
        second), so a round's cost grows linearly with the fleet.
        """
        lead = robots[0]
        if len(orders) <= _SECTOR_ORDERS:
            self._plan_sector(robots, orders)
            return
        hub_lon, hub_lat = lead.hub.lonlat
        angles = np.arctan2([o.lat - hub_lat for o in orders], [o.lon - hub_lon for o in orders])
        by_angle = [orders[k] for k in np.argsort(angles, kind="stable")]
        sectors = -(-len(orders) // _SECTOR_ORDERS)
        for k in range(sectors):
            part = by_angle[k * len(by_angle) // sectors : (k + 1) * len(by_angle) // sectors]
            crew = robots[k * len(robots) // sectors : (k + 1) * len(robots) // sectors]
            if part and crew:
                self._plan_sector(crew, part)

    def _plan_sector(self, robots: list[Robot], orders: list[Order]) -> None:
        lead = robots[0]
        nodes = [lead.hub.node, *(lead.door_node(order) for order in orders)]
        problem = TourProblem(
            travel_s=lead.router.matrix(nodes, nodes),
            due_s=np.array([order.due_s for order in orders]),
            weight_kg=np.array([order.weight_kg for order in orders]),
            now_s=self.env.now,
            load_time_per_parcel_s=lead.hub.loading_time_per_parcel_s,
            service_time_s=lead.spec.service_time_s,
        )
        vehicles = [self._vehicle(robot) for robot in robots]
        tours = plan_tours(problem, vehicles, iterations=self.settings.local_search_iterations)
        for robot, stops in zip(robots, tours, strict=True):
            chosen = [orders[k] for k in stops]
            routes = None
            while chosen:
                routes = self._affordable(robot, chosen)
                if routes is not None:
                    break
                chosen = chosen[:-1]  # the estimate was optimistic: drop the last stop
            if routes is not None:
                self._send(robot, chosen, routes)
            else:
                self._charge_if_short(robot, orders)

    def _vehicle(self, robot: Robot) -> Vehicle:
        battery = robot.spec.battery
        usable_wh = max(robot.battery_wh - battery.reserve_wh, 0.0)
        wh_per_s = battery.consumption_wh_per_km * robot.spec.speed_kph / 3600.0
        return Vehicle(
            max_stops=min(robot.spec.parcel_slots, self.settings.max_stops_per_tour),
            payload_kg=robot.spec.payload_kg,
            drive_budget_s=usable_wh / wh_per_s if wh_per_s > 0 else float("inf"),  # diesel
        )

    def _charge_if_short(self, robot: Robot, orders: list[Order]) -> None:
        """Charge ``robot`` if some order it could carry is beyond its battery now."""
        for order in orders:
            if order.order_id not in self.waiting or order.weight_kg > robot.spec.payload_kg:
                continue
            trip = self._round_trip(robot, order)
            if trip is not None and not robot.can_do(trip[1]):
                self._charge(robot)
                return

    def _charge(self, robot: Robot) -> None:
        """Send an idle robot to charge (if its hub has chargers and it is not full)."""
        if robot.hub.chargers is None:
            return
        if robot.battery_wh >= robot.spec.battery.capacity_wh - 1e-9:
            return
        self._take(robot)
        self.log.add(self.env.now, "send_to_charge", robot_id=robot.robot_id)
        robot.give(ChargeRequest())
