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
    (:mod:`sim.tours`: insertion then local search).

Whatever the policy, a robot is only sent on a trip its battery can finish with its reserve
left; a robot that cannot afford the waiting work is sent to charge. Orders that no robot could
ever serve (too heavy, unreachable, beyond range with a full battery) are rejected on arrival.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import numpy as np
import simpy
from scipy.optimize import linear_sum_assignment

from routing.errors import NoRouteError
from sim.energy import drive_energy_wh
from sim.records import EventLog, Order, OrderState, Tour
from sim.robot import ChargeRequest, Robot
from sim.scenario import Dispatch
from sim.tours import TourProblem, Vehicle, plan_tours

_INFEASIBLE = 1e12


class Dispatcher:
    """Holds the waiting orders and the idle robots, and assigns one to the other."""

    def __init__(self, env: simpy.Environment, settings: Dispatch, log: EventLog) -> None:
        self.env = env
        self.settings = settings
        self.log = log
        self.robots: list[Robot] = []
        self.waiting: dict[int, Order] = {}  # insertion order = creation order
        self.idle: dict[str, dict[str, Robot]] = {}  # hub id -> robot id -> robot
        self._wake = env.event()

    # -- notifications ----------------------------------------------------------------------
    def add_robot(self, robot: Robot) -> None:
        """Register a robot (before the run starts)."""
        self.robots.append(robot)
        self.idle.setdefault(robot.hub.hub_id, {})

    def order_arrived(self, order: Order) -> None:
        """A new order: reject it if no robot could ever serve it, else queue it."""
        self.log.add(self.env.now, "order_created", order_id=order.order_id, node=order.node)
        if order.state is OrderState.REJECTED:  # e.g. the door is too far from any street
            self._log_rejection(order)
            return
        reason = self._rejection_reason(order)
        if reason:
            order.state = OrderState.REJECTED
            order.reason = reason
            self._log_rejection(order)
            return
        self.waiting[order.order_id] = order
        self._poke()

    def robot_idle(self, robot: Robot) -> None:
        """A robot is back at its hub, ready for a command."""
        self.idle[robot.hub.hub_id][robot.robot_id] = robot
        self._poke()

    def _poke(self) -> None:
        if self.settings.policy == "nearest_idle" and not self._wake.triggered:
            self._wake.succeed()

    def _log_rejection(self, order: Order) -> None:
        self.log.add(self.env.now, "order_rejected", order_id=order.order_id, node=order.node)

    # -- feasibility ------------------------------------------------------------------------
    def _round_trip(self, robot: Robot, order: Order) -> tuple[float, float] | None:
        """(duration s, energy Wh) of hub → door → hub for ``robot``, or None if no route."""
        try:
            out = robot.router.route(robot.hub.node, order.node)
            back = robot.router.route(order.node, robot.hub.node)
        except NoRouteError:
            return None
        energy = drive_energy_wh(
            out.length_m + back.length_m, robot.spec.battery.consumption_wh_per_km
        )
        return out.duration_s, energy

    def _rejection_reason(self, order: Order) -> str:
        """Why no robot of the fleet could ever deliver ``order`` ('' if one could)."""
        reasons = set()
        for robot in self._one_robot_per_kind():
            if order.weight_kg > robot.spec.payload_kg:
                reasons.add("over_payload")
                continue
            trip = self._round_trip(robot, order)
            if trip is None:
                reasons.add("no_route")
                continue
            battery = robot.spec.battery
            if trip[1] > battery.capacity_wh - battery.reserve_wh:
                reasons.add("beyond_range")
                continue
            return ""
        for reason in ("over_payload", "no_route", "beyond_range"):
            if reason in reasons:
                return reason
        return "no_robot"

    def _one_robot_per_kind(self) -> list[Robot]:
        seen: dict[tuple[str, str], Robot] = {}
        for robot in self.robots:
            seen.setdefault((robot.spec.type_name, robot.hub.hub_id), robot)
        return list(seen.values())

    # -- the process ------------------------------------------------------------------------
    def run(self) -> Generator[simpy.Event, Any, None]:
        """Assign on every notification (nearest_idle) or every batch interval (others)."""
        while True:
            if self.settings.policy == "nearest_idle":
                yield self._wake
                self._wake = self.env.event()
                self._assign_first_come()
            else:
                yield self.env.timeout(self.settings.batch_interval_s)
                if self.settings.policy == "batch":
                    self._assign_batch()
                else:
                    self._assign_tours()
            self._send_low_robots_to_charge()

    def _send(self, robot: Robot, orders: list[Order]) -> None:
        del self.idle[robot.hub.hub_id][robot.robot_id]
        tour = Tour(robot.robot_id, robot.hub.hub_id, orders, planned_s=self.env.now)
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
        robot.inbox.put(tour)

    def _idle_robots(self) -> list[Robot]:
        return [robot for robots in self.idle.values() for robot in robots.values()]

    def _assign_first_come(self) -> None:
        for order in list(self.waiting.values()):
            if not any(self.idle.values()):
                return
            best: tuple[float, Robot] | None = None
            for robots in self.idle.values():
                for robot in robots.values():
                    if order.weight_kg > robot.spec.payload_kg:
                        continue
                    trip = self._round_trip(robot, order)
                    if trip is None or not robot.can_do(trip[1]):
                        continue
                    if best is None or trip[0] < best[0]:
                        best = (trip[0], robot)
                    break  # robots of one hub are equally near: the first that fits will do
            if best is not None:
                self._send(best[1], [order])

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
        for r, o in zip(rows, cols, strict=True):
            if cost[r, o] < _INFEASIBLE:
                self._send(robots[r], [orders[o]])

    def _assign_tours(self) -> None:
        robots = self._idle_robots()
        if not robots or not self.waiting:
            return
        capacity = sum(min(r.spec.parcel_slots, self.settings.max_stops_per_tour) for r in robots)
        orders = sorted(self.waiting.values(), key=lambda order: order.due_s)[: 2 * capacity]
        hubs = {robot.hub.hub_id: robot for robot in robots}  # one robot stands for its hub
        hub_ids = list(hubs)
        times = np.vstack(
            [
                hubs[h].router.matrix([hubs[h].hub.node], [o.node for o in orders])[0]
                for h in hub_ids
            ]
        )
        nearest = np.argmin(times, axis=0)
        for h, hub_id in enumerate(hub_ids):
            mine = [order for k, order in enumerate(orders) if nearest[k] == h]
            if mine:
                self._plan_hub(list(self.idle[hub_id].values()), mine)

    def _plan_hub(self, robots: list[Robot], orders: list[Order]) -> None:
        lead = robots[0]
        nodes = [lead.hub.node, *(order.node for order in orders)]
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
            while chosen:
                tour = Tour(robot.robot_id, robot.hub.hub_id, chosen, planned_s=self.env.now)
                if robot.can_do(robot.tour_energy_wh(robot.tour_routes(tour))):
                    break
                chosen = chosen[:-1]  # the estimate was optimistic: drop the last stop
            if chosen:
                self._send(robot, chosen)

    def _vehicle(self, robot: Robot) -> Vehicle:
        battery = robot.spec.battery
        usable_wh = max(robot.battery_wh - battery.reserve_wh, 0.0)
        wh_per_s = battery.consumption_wh_per_km * robot.spec.speed_kph / 3600.0
        return Vehicle(
            max_stops=min(robot.spec.parcel_slots, self.settings.max_stops_per_tour),
            payload_kg=robot.spec.payload_kg,
            drive_budget_s=usable_wh / wh_per_s,
        )

    def _send_low_robots_to_charge(self) -> None:
        """Idle robots that cannot afford the oldest waiting order they could carry: charge."""
        if not self.waiting:
            return
        for robot in self._idle_robots():
            if robot.hub.chargers is None:
                continue
            if robot.battery_wh >= robot.spec.battery.capacity_wh - 1e-9:
                continue
            for order in self.waiting.values():
                if order.weight_kg > robot.spec.payload_kg:
                    continue
                trip = self._round_trip(robot, order)
                if trip is not None and not robot.can_do(trip[1]):
                    del self.idle[robot.hub.hub_id][robot.robot_id]
                    self.log.add(self.env.now, "send_to_charge", robot_id=robot.robot_id)
                    robot.inbox.put(ChargeRequest())
                break
