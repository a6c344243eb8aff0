"""Robots (and vans): the actors that move parcels (their data: :mod:`.vehicles`).

A robot's process waits at its hub for a command from the dispatcher (a :class:`Tour` or a
:class:`ChargeRequest`), then loads, drives one SimPy timeout per leg, serves each stop, comes
back and, when its battery is low, queues for one of the hub's chargers.

A *quiet* tour is one nothing outside the robot can change once it has started: no street
rules (closures, crossings), no breakdowns, help (if any) given on the spot by the robot's
escort. Its whole course is known at departure, so when it ends before the run does it is
carried out at once: every change (states, legs, energy, deliveries, log rows) is booked at its
own simulated time, and the robot's process wakes once, at the tour's end, instead of twice a
stop. The steps are the same generator (:meth:`Robot._quiet_steps`) in both ways of running it,
and the help along every leg is drawn at departure in both, so a run is the same whichever way
a tour went; only the order in which the event log's rows were appended differs, and the
engine sorts them by time at the end of the run.

A robot gets everything it uses when it is built: whom to tell that it is idle
(:class:`IdleListener`, the dispatcher), its leg planner (:class:`LegPlanning`, street rules)
and its operations (:class:`TourOperations`, supervision and breakdowns), each a small
``Protocol`` so that this module imports none of them.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

import numpy as np
import simpy

from carreta.routing.router import Route, Router
from carreta.sim.model.clock import delay_until
from carreta.sim.model.energy import (
    can_afford,
    charge_time_s,
    drive_energy_wh,
    grid_energy_wh,
)
from carreta.sim.model.records import (
    Doors,
    EventLog,
    Leg,
    Order,
    OrderArrays,
    OrderState,
    PlannedLeg,
    Tour,
    insert_pauses,
    vertex_steps,
)
from carreta.sim.model.vehicles import (
    DOWN_STATES,
    TOP_UP,
    ChargeRequest,
    ChargingHub,
    RobotSpec,
    RobotState,
    RobotStats,
)

__all__ = ["IdleListener", "LegPlanning", "Robot", "TourOperations"]


_STATE_CLOCKS: dict[str, str] = {
    "idle": "idle_s",
    "charging": "charging_s",
    "waiting_charger": "waiting_charger_s",
    **dict.fromkeys(DOWN_STATES, "down_s"),
}
"""The RobotStats field that counts the time in a state; any other state is ``busy_s``."""

_STATE_KINDS: dict[str, str] = {state: "state:" + state for state in RobotState}
"""The event kind logged on entering each state."""


class IdleListener(Protocol):
    """Who is told that a robot waits at its hub for a command (the dispatcher)."""

    def robot_idle(self, robot: Robot) -> None: ...


class LegPlanning(Protocol):
    """Plans each leg at its start (street rules: closures, crossing waits)."""

    def plan(
        self, router: Router, origin: int, destination: int, depart_s: float
    ) -> PlannedLeg | None: ...

    def until_next_change_s(self, now_s: float) -> float: ...


class TourOperations(Protocol):
    """Supervision and breakdowns around a robot's tours and legs.

    ``quiet``: whether nothing but the robot's own escort acts on a tour once it has left
    (no breakdowns, no help from a shared pool of operators); its tours are then carried out
    by :meth:`Robot._quiet_steps` with the help drawn by :meth:`draw_help` and booked by
    :meth:`help_begins` and :meth:`help_ends`.
    """

    @property
    def quiet(self) -> bool: ...

    def tour(
        self, robot: Robot, tour: Tour, body: Generator[simpy.Event, Any, None]
    ) -> Generator[simpy.Event, Any, None]: ...

    def drive(self, robot: Robot, route: Route, leg: Leg) -> Generator[simpy.Event, Any, None]: ...

    def draw_help(self, cum_length_m: np.ndarray) -> Sequence[Any]: ...

    def help_begins(self, robot: Robot, request: Any, *, node: int, now: float) -> None: ...

    def help_ends(self, robot: Robot, request: Any, *, now: float) -> None: ...


@dataclass
class Robot:
    """One robot and its process; see the module docstring.

    Everything it uses is given here, when it is built (the world builder,
    :func:`carreta.sim.model.engine.simulate`, does it); :meth:`start` starts its process.
    """

    env: simpy.Environment
    robot_id: str
    spec: RobotSpec
    hub: ChargingHub
    router: Router
    log: EventLog
    legs: list[Leg]
    dispatcher: IdleListener
    charging_efficiency: float
    streets: LegPlanning | None = None  # closures and crossings; None: plain legs
    doors: Doors | None = None  # vans: doors on their own network; None: order.node
    operations: TourOperations | None = None  # supervision, breakdowns; None: none
    run_end_s: float = -math.inf  # the run's end: quiet tours before it run at once
    battery_wh: float = field(init=False)
    state: RobotState = field(init=False, default=RobotState.IDLE)
    tour: Tour | None = field(init=False, default=None)
    stats: RobotStats = field(init=False, default_factory=RobotStats)
    process: simpy.Process | None = field(init=False, default=None)  # set by start()
    command: Tour | ChargeRequest | None = field(init=False, default=None)  # not yet taken up
    _inbox: simpy.Event = field(init=False)  # succeeds with the next command
    _state_since: float = field(init=False)
    _on_leg: tuple[Route, Leg, float] | None = field(init=False, default=None)  # + min battery
    _clock: float = field(init=False, default=0.0)  # the time of a quiet tour's current step
    quiet_tours: int = field(init=False, default=0)  # tours carried out at once
    at_once: ClassVar[bool] = True  # False: every tour by the general path (tests compare)

    def __post_init__(self) -> None:
        self._inbox = self.env.event()
        self.battery_wh = self.spec.battery.capacity_wh
        self.stats.min_battery_wh = self.battery_wh
        self._state_since = self.env.now

    def start(self) -> simpy.Process:
        """Start this robot's process (:meth:`run`); the interrupts of breakdowns go to it."""
        self.process = self.env.process(self.run())
        return self.process

    # -- state accounting -------------------------------------------------------------------
    def _set_state(self, state: RobotState, *, log: bool = True, now: float | None = None) -> None:
        now = self.env.now if now is None else now
        clock = _STATE_CLOCKS.get(self.state, "busy_s")
        setattr(self.stats, clock, getattr(self.stats, clock) + now - self._state_since)
        self.state = state
        self._state_since = now
        if log and self.log.keep:
            self.log.add(now, _STATE_KINDS[state], robot_id=self.robot_id)

    def close(self) -> None:
        """End the run for this robot: cut a leg still under way at the current time (the
        run's end) and account for the time since the last state change."""
        if self._on_leg is not None:
            self._cut_leg(*self._on_leg)
        self._set_state(self.state, log=False)

    def _cut_leg(self, route: Route, leg: Leg, min_battery_wh: float) -> None:
        """Keep of ``leg`` the vertices passed by now (the run's end) and give back the
        distance and energy of the rest, which were booked at departure.

        The edge under way when the run ends counts from the next run's point of view: the
        leg's length is that of the edges completed, so km and energy match its node path.
        Help stops under way are not inserted (their length is known only when they end).
        """
        elapsed_s = self.env.now - leg.depart_s
        times = leg.cum_time_s
        if elapsed_s >= float(times[-1]):
            return
        passed = max(int(np.searchsorted(times, elapsed_s, side="right")), 1)
        lengths = route.cum_length_m[vertex_steps(route.nodes, leg.nodes)]
        driven_m = float(lengths[passed - 1])
        undriven_m = leg.length_m - driven_m
        energy_wh = drive_energy_wh(undriven_m, self.spec.battery.consumption_wh_per_km)
        leg.nodes, leg.cum_time_s = leg.nodes[:passed], times[:passed]
        leg.length_m, leg.cut_s = driven_m, self.env.now
        self.stats.distance_m -= undriven_m
        self.stats.drive_energy_wh -= energy_wh
        self.battery_wh += energy_wh
        self.stats.min_battery_wh = min(min_battery_wh, self.battery_wh)

    def give(self, command: Tour | ChargeRequest) -> None:
        """Hand a command to this robot, idle at its hub (the dispatcher's side)."""
        self.command = command
        self._inbox.succeed(command)

    def set_state(self, state: RobotState, *, now: float | None = None) -> None:
        """Enter ``state`` (logged as ``state:<name>``) now or at simulated time ``now``; used by
        :mod:`carreta.sim.model.operations`."""
        self._set_state(state, now=now)

    # -- planning helpers (no SimPy) --------------------------------------------------------
    def tour_routes(self, orders: list[Order]) -> list[Route]:
        """The legs of a tour over ``orders``: hub → each stop in order → hub.

        Raises
        ------
        NoRouteError
            If a stop cannot be reached or left.
        """
        nodes = [self.hub.node, *(self.door_node(order) for order in orders), self.hub.node]
        return [self.router.route(a, b) for a, b in itertools.pairwise(nodes)]

    def door_node(self, order: Order) -> int:
        """The street node where this vehicle stops for ``order`` (on its own network)."""
        return order.node if self.doors is None else int(self.doors.nodes[order.seq])

    def door_nodes(self, seqs: np.ndarray, orders: OrderArrays) -> np.ndarray:
        """:meth:`door_node` of the orders numbered ``seqs`` (``Order.seq``), as an array."""
        return orders.node[seqs] if self.doors is None else self.doors.nodes[seqs]

    def stop_times_s(self, seqs: np.ndarray, orders: OrderArrays) -> np.ndarray:
        """:meth:`stop_time_s` of the orders numbered ``seqs``, as an array."""
        if self.doors is None:
            return self.spec.service_time_s + orders.access_s[seqs]
        return self.doors.stop_time_s[seqs]

    def stop_time_s(self, order: Order) -> float:
        """Seconds spent at the stop of ``order``."""
        if self.doors is None:
            return self.spec.service_time_s + order.access_s
        return float(self.doors.stop_time_s[order.seq])

    def tour_energy_wh(self, routes: list[Route]) -> float:
        """Energy the legs need, in Wh."""
        length = sum(route.length_m for route in routes)
        return drive_energy_wh(length, self.spec.battery.consumption_wh_per_km)

    def can_do(self, energy_wh: float) -> bool:
        """Whether the battery covers ``energy_wh`` and keeps its reserve."""
        return can_afford(self.battery_wh, energy_wh, self.spec.battery)

    # -- the process ------------------------------------------------------------------------
    def run(self) -> Generator[simpy.Event, Any, None]:
        """Wait for commands and carry them out, forever (the run stops at its end time)."""
        while True:
            if self.battery_wh < self.spec.battery.recharge_below_wh and self.hub.chargers:
                yield from self._charge()
            self._set_state(RobotState.IDLE)
            self._inbox = self.env.event()
            self.dispatcher.robot_idle(self)
            if self._may_top_up():
                yield from self._top_up()
            command = yield self._inbox
            self.command = None
            if isinstance(command, ChargeRequest):
                if self.hub.chargers and self.battery_wh < self.spec.battery.capacity_wh:
                    yield from self._charge()
                continue
            if self.operations is None:
                yield from self._do_tour(command)
            else:
                yield from self.operations.tour(self, command, self._do_tour(command))

    def _do_tour(self, tour: Tour) -> Generator[simpy.Event, Any, None]:
        quiet = self.operations is None or self.operations.quiet
        if self.at_once and self.streets is None and quiet:
            yield from self._quiet_tour(tour)
            return
        env = self.env
        self.tour = tour
        self.stats.tours += 1
        routes = tour.routes or self.tour_routes(tour.orders)
        self._set_state(RobotState.LOADING)
        for order in tour.orders:
            order.state = OrderState.ON_BOARD
            order.picked_s = env.now
            self.log.add(env.now, "load", robot_id=self.robot_id, order_id=order.order_id)
        yield env.timeout(self.hub.loading_time_per_parcel_s * len(tour.orders))
        hub_distance = 0.0
        for order, route in zip(tour.orders, routes, strict=False):
            route = yield from self._drive(route, "to_stop")
            hub_distance += route.length_m
            self._set_state(RobotState.SERVING)
            yield env.timeout(self.stop_time_s(order))
            order.state = OrderState.DELIVERED
            order.delivered_s = env.now
            order.distance_m = hub_distance
            self.stats.deliveries += 1
            self.log.add(
                env.now, "deliver", robot_id=self.robot_id, order_id=order.order_id,
                node=order.node,
            )  # fmt: skip
        yield from self._drive(routes[-1], "to_hub")
        self.tour = None

    def _drive(self, route: Route, kind: str) -> Generator[simpy.Event, Any, Route]:
        """One leg: energy and distance are booked at departure, for the whole leg.

        With street rules the leg is planned again at its start (closures, crossing waits);
        returns the route driven.
        """
        env = self.env
        self._set_state(RobotState.DRIVING)
        nodes, cum_time_s, drive_s = route.nodes, route.cum_time_s, route.duration_s
        if self.streets is not None:
            route, nodes, cum_time_s = yield from self._plan_leg(route)
            drive_s = float(cum_time_s[-1])  # with the waits at crossings
        leg = self._depart(route, kind, nodes, cum_time_s, env.now)
        try:
            if self.operations is None:
                yield env.timeout(drive_s)
            else:  # stops for help or a breakdown on the way
                yield from self.operations.drive(self, route, leg)
        finally:  # arrived, or broke down (the breakdown cut the leg itself)
            self._on_leg = None
        self.log.add(env.now, "arrive", robot_id=self.robot_id, node=route.destination)
        return route

    def _depart(
        self, route: Route, kind: str, nodes: np.ndarray, cum_time_s: np.ndarray, now: float
    ) -> Leg:
        """Start a leg at ``now``: book its distance and energy, record it, log the departure."""
        stats = self.stats
        length_m = route.length_m
        energy = drive_energy_wh(length_m, self.spec.battery.consumption_wh_per_km)
        self.battery_wh -= energy
        stats.drive_energy_wh += energy
        stats.distance_m += length_m
        min_battery_wh = stats.min_battery_wh
        stats.min_battery_wh = min(stats.min_battery_wh, self.battery_wh)
        leg = Leg(self.robot_id, kind, now, nodes, cum_time_s, length_m)
        self.legs.append(leg)
        if self.log.keep:
            self.log.add(now, "depart", robot_id=self.robot_id, node=route.origin, value=length_m)
        self._on_leg = (route, leg, min_battery_wh)
        return leg

    # -- quiet tours (see the module docstring) ---------------------------------------------
    def _quiet_tour(self, tour: Tour) -> Generator[simpy.Event, Any, None]:
        """Carry out a quiet tour: at once if it ends before the run, else step by step."""
        env = self.env
        routes = tour.routes or self.tour_routes(tour.orders)
        operations = self.operations
        helps = [operations.draw_help(route.cum_length_m) for route in routes] if operations else []
        stops_s = [self.stop_time_s(order) for order in tour.orders]
        # An upper bound of the tour's end (every term >= 0), with a margin for rounding.
        length_s = self.hub.loading_time_per_parcel_s * len(tour.orders) + sum(stops_s)
        length_s += sum(route.duration_s for route in routes)
        length_s += sum(request.duration_s for requests in helps for request in requests)
        self._clock = env.now
        steps = self._quiet_steps(tour, routes, helps, stops_s)
        if env.now + length_s * (1.0 + 1e-9) + 1.0 < self.run_end_s:
            for delay in steps:  # every step booked at its own time, now
                self._clock += delay
            self.quiet_tours += 1
            self.tour = tour
            yield env.timeout(delay_until(env.now, self._clock))
            self.tour = None
        else:  # the run may end during the tour: one SimPy timeout per step
            for delay in steps:
                yield env.timeout(delay)
                self._clock = env.now

    def _quiet_steps(
        self,
        tour: Tour,
        routes: list[Route],
        helps: list[Sequence[Any]],
        stops_s: list[float],
    ) -> Iterator[float]:
        """The steps of a quiet tour, done at ``self._clock``; yields the delay to the next.

        The same bookings, in the same order and at the same times, as :meth:`_do_tour` with
        :meth:`_drive` and the escort's help of :mod:`carreta.sim.model.operations`.
        """
        robot_id, log = self.robot_id, self.log
        keep = log.keep  # log rows are kept (outputs.events)
        self.tour = tour
        self.stats.tours += 1
        now = self._clock
        self._set_state(RobotState.LOADING, now=now)
        for order in tour.orders:
            order.state = OrderState.ON_BOARD
            order.picked_s = now
            if keep:
                log.add(now, "load", robot_id=robot_id, order_id=order.order_id)
        yield self.hub.loading_time_per_parcel_s * len(tour.orders)
        hub_distance = 0.0
        last = len(tour.orders)
        for k, route in enumerate(routes):
            yield from self._quiet_leg(route, "to_stop" if k < last else "to_hub", helps, k)
            if k == last:
                break
            order = tour.orders[k]
            hub_distance += route.length_m
            self._set_state(RobotState.SERVING, now=self._clock)
            yield stops_s[k]
            now = self._clock
            order.state = OrderState.DELIVERED
            order.delivered_s = now
            order.distance_m = hub_distance
            self.stats.deliveries += 1
            if keep:
                log.add(now, "deliver", robot_id=robot_id, order_id=order.order_id, node=order.node)
        self.tour = None

    def _quiet_leg(
        self, route: Route, kind: str, helps: list[Sequence[Any]], k: int
    ) -> Iterator[float]:
        """One leg of a quiet tour, with the escort's help at the vertices drawn for it."""
        self._set_state(RobotState.DRIVING, now=self._clock)
        nodes, times = route.nodes, route.cum_time_s
        leg = self._depart(route, kind, nodes, times, self._clock)
        requests = helps[k] if helps else ()
        if requests:
            operations = self.operations
            assert operations is not None
            at = 0
            pauses: list[tuple[int, float]] = []
            for request in requests:
                yield float(times[request.vertex] - times[at])
                at = request.vertex
                stopped = self._clock
                operations.help_begins(self, request, node=int(nodes[at]), now=stopped)
                yield request.duration_s
                operations.help_ends(self, request, now=self._clock)
                pauses.append((at, self._clock - stopped))
            yield float(times[-1] - times[at])
            leg.nodes, leg.cum_time_s = insert_pauses(nodes, times, pauses)
        else:
            yield route.duration_s  # times[-1]
        self._on_leg = None
        if self.log.keep:
            self.log.add(self._clock, "arrive", robot_id=self.robot_id, node=route.destination)

    def drive_to_hub(self, origin: int) -> Generator[simpy.Event, Any, None]:
        """Drive from street node ``origin`` back to the hub (after a repair on the spot)."""
        yield from self._drive(self.router.route(origin, self.hub.node), "to_hub")

    def _plan_leg(
        self, route: Route
    ) -> Generator[simpy.Event, Any, tuple[Route, np.ndarray, np.ndarray]]:
        """Plan the leg now; while a closure cuts the destination off, wait for the next change."""
        assert self.streets is not None
        while True:
            leg = self.streets.plan(self.router, route.origin, route.destination, self.env.now)
            if leg is not None:
                break
            self.log.add(self.env.now, "wait_closure", robot_id=self.robot_id, node=route.origin)
            yield self.env.timeout(self.streets.until_next_change_s(self.env.now))
        self.stats.crossings += leg.crossings
        return leg.route, leg.nodes, leg.cum_time_s

    def _charge_power_w(self) -> float:
        power = self.hub.charger_power_w
        if self.spec.charge_power_w is not None:
            power = min(power, self.spec.charge_power_w)
        return power

    def _book_charge(self, charged_wh: float) -> None:
        self.battery_wh = min(self.battery_wh + charged_wh, self.spec.battery.capacity_wh)
        self.stats.charged_wh += charged_wh
        self.stats.grid_energy_wh += grid_energy_wh(charged_wh, self.charging_efficiency)
        self.log.add(self.env.now, "charge_end", robot_id=self.robot_id, value=charged_wh)

    def _charge(self) -> Generator[simpy.Event, Any, None]:
        env = self.env
        assert self.hub.chargers is not None
        self._set_state(RobotState.WAITING_CHARGER)
        with self.hub.chargers.request() as request:
            yield request
            self._set_state(RobotState.CHARGING)
            self.log.add(env.now, "charge_start", robot_id=self.robot_id, value=self.battery_wh)
            power = self._charge_power_w()
            yield env.timeout(charge_time_s(self.battery_wh, self.spec.battery, power))
            self._book_charge(self.spec.battery.capacity_wh - self.battery_wh)

    def _may_top_up(self) -> bool:
        """Idle below the top-up level, with a charger free and nobody waiting for one."""
        chargers = self.hub.chargers
        return (
            self.battery_wh < self.spec.battery.top_up_below_wh
            and chargers is not None
            and chargers.count < chargers.capacity
            and not chargers.queue
            and not self._inbox.triggered
        )

    def _top_up(self) -> Generator[simpy.Event, Any, None]:
        """Charge on a free charger while idle, until a command comes, the battery is full or a
        robot that must charge needs the charger; the robot stays available all along."""
        env = self.env
        assert self.hub.chargers is not None
        with self.hub.chargers.request(priority=TOP_UP, preempt=False) as request:
            yield request  # free: granted at once
            if self._inbox.triggered:  # a command came in the same instant
                return
            self._set_state(RobotState.CHARGING)
            self.log.add(env.now, "top_up_start", robot_id=self.robot_id, value=self.battery_wh)
            power, started = self._charge_power_w(), env.now
            full_s = charge_time_s(self.battery_wh, self.spec.battery, power)
            try:
                yield self._inbox | env.timeout(full_s)
            except simpy.Interrupt as interrupt:
                if not isinstance(interrupt.cause, simpy.resources.resource.Preempted):
                    raise
            charged = min(power * (env.now - started) / 3600.0, full_s * power / 3600.0)
            self._book_charge(charged)
        self._set_state(RobotState.IDLE)
