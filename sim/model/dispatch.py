"""The dispatcher: the waiting orders and idle robots of a run, and the moves between them.

Which robot takes which orders is the dispatch *policy*'s choice (``dispatch.policy`` in the
scenario): a class of :mod:`carreta.sim.model.policies`, looked up by name in its registry and
given to the :class:`Dispatcher` when it is built. The dispatcher calls the policy on every
notification (an order arrived, a robot became idle) when the policy is event-driven, else every
``batch_interval_s``; the policy decides with the dispatcher's helpers (:meth:`Dispatcher.trip`,
:meth:`Dispatcher.affordable`) and acts through :meth:`Dispatcher.send` and
:meth:`Dispatcher.send_to_charge`.

Whatever the policy, a robot is only sent on a trip its battery can finish with its reserve
left; a robot that cannot afford the waiting work is sent to charge. Orders that no robot could
ever serve (too heavy, unreachable, beyond range with a full battery) are rejected on arrival.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any, ClassVar, Protocol

import numpy as np
import simpy

from carreta.routing.errors import NoRouteError
from carreta.routing.router import Route
from carreta.sim.model.reach import Reach, build_reach
from carreta.sim.model.records import EventLog, Order, OrderArrays, OrderState, Tour
from carreta.sim.model.robot import Robot
from carreta.sim.model.vehicles import ChargeRequest
from carreta.sim.scenario.models import Dispatch

__all__ = ["DispatchPolicy", "Dispatcher"]


class DispatchPolicy(Protocol):
    """Decides which idle robots take which waiting orders (see :mod:`carreta.sim.model.policies`).

    ``event_driven`` policies are called on every notification (an order arrived, a robot
    became idle, a parcel came back); the others every ``dispatch.batch_interval_s``.
    """

    event_driven: ClassVar[bool]

    def assign(self, dispatcher: Dispatcher) -> None:
        """Send idle robots of ``dispatcher`` on tours (or to charge) now."""
        ...


class Dispatcher:
    """Holds the waiting orders and the idle robots, and assigns one to the other."""

    def __init__(
        self,
        env: simpy.Environment,
        settings: Dispatch,
        log: EventLog,
        *,
        policy: DispatchPolicy,
    ) -> None:
        self.env = env
        self.settings = settings
        self.log = log
        self.policy = policy
        self.robots: list[Robot] = []
        self.waiting: dict[int, Order] = {}  # insertion order = creation order
        self.idle: dict[str, dict[str, Robot]] = {}  # hub id -> robot id -> robot
        self.idle_count = 0  # robots in ``idle``
        self._first_come = policy.event_driven
        self._wake = env.event()
        self.reach = Reach({}, [], [], [])
        self._orders: list[Order] = []
        self.order_arrays = OrderArrays.of([])  # the day's, by seq (see prepare)

    # -- notifications ----------------------------------------------------------------------
    def add_robot(self, robot: Robot) -> None:
        """Register a robot (before the run starts)."""
        self.robots.append(robot)
        self.idle.setdefault(robot.hub.hub_id, {})

    def prepare(self, orders: list[Order]) -> None:
        """Compute once what each robot group can reach of the day's doors (see
        carreta.sim.model.reach)."""
        self._orders = orders
        self.order_arrays = OrderArrays.of(orders)
        self.reach = build_reach(self.robots, orders)

    def refresh_reach(self) -> None:
        """Recompute the reach on the routers' current closures (after a closure change).

        Rejection reasons stay those of the open network: a closure lasts a while, it never
        makes an order unservable for the day (its door is just unreachable until it ends).
        """
        fresh = build_reach(self.robots, self._orders)
        self.reach = Reach(fresh.group_of, fresh.out_s, fresh.round_trip_wh, self.reach.reasons)

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
    def trip(self, robot: Robot, order: Order) -> tuple[float, float] | None:
        """(duration s hub → door, energy Wh hub → door → hub) for ``robot``; None if no route."""
        return self.reach.trip(robot, order)

    def affordable(self, robot: Robot, orders: list[Order]) -> list[Route] | None:
        """The routes of a tour over ``orders`` if the robot's battery covers them (an exact
        check on the routes it will drive), else None."""
        try:
            routes = robot.tour_routes(orders)
        except NoRouteError:
            return None
        return routes if robot.can_do(robot.tour_energy_wh(routes)) else None

    # -- the process ------------------------------------------------------------------------
    def run(self) -> Generator[simpy.Event, Any, None]:
        """Call the policy on every notification (event-driven) or every batch interval."""
        env, assign = self.env, self.policy.assign
        if self._first_come:
            while True:
                yield self._wake
                self._wake = env.event()
                assign(self)
        while True:
            yield env.timeout(self.settings.batch_interval_s)
            assign(self)

    def send(self, robot: Robot, orders: list[Order], routes: list[Route]) -> None:
        """Give idle ``robot`` the tour over ``orders`` along ``routes``."""
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

    def idle_robots(self) -> list[Robot]:
        """The idle robots, hub by hub."""
        return [robot for robots in self.idle.values() for robot in robots.values()]

    def charge_if_short(self, robot: Robot, orders: list[Order]) -> None:
        """Charge ``robot`` if some order it could carry is beyond its battery now."""
        self.charger_for_group(robot, orders)(robot)

    def charger_for_group(self, lead: Robot, orders: list[Order]) -> Callable[[Robot], None]:
        """:meth:`charge_if_short` for the robots of ``lead``'s group (hub and type) over the
        same ``orders``, in O(1) a robot after one sort.

        The orders it could carry and reach are sorted once by round-trip energy, farthest
        first; for each robot the farthest one still waiting decides (a robot is short of some
        order exactly when it is short of that one). Orders only leave the queue during a
        round, so the pointer to it only moves forward.
        """
        table = self.order_arrays
        seqs = table.seqs(orders)
        energy = self.reach.round_trip_wh[self.reach.group_of[lead.robot_id]][seqs]
        fits = np.flatnonzero((table.weight_kg[seqs] <= lead.spec.payload_kg) & np.isfinite(energy))
        fits = fits[np.argsort(-energy[fits], kind="stable")]  # farthest first, ties in order
        candidates = [orders[k] for k in fits.tolist()]
        energies = energy[fits].tolist()
        first = 0

        def charge_if_short(robot: Robot) -> None:
            nonlocal first
            while first < len(candidates) and candidates[first].order_id not in self.waiting:
                first += 1
            if first < len(candidates) and not robot.can_do(energies[first]):
                self.send_to_charge(robot)

        return charge_if_short

    def send_to_charge(self, robot: Robot) -> None:
        """Send an idle robot to charge (if its hub has chargers and it is not full)."""
        if robot.hub.chargers is None:
            return
        if robot.battery_wh >= robot.spec.battery.capacity_wh - 1e-9:
            return
        self._take(robot)
        self.log.add(self.env.now, "send_to_charge", robot_id=robot.robot_id)
        robot.give(ChargeRequest())
