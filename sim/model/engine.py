"""One simulated day: build the SimPy environment and its actors, run, check invariants.

``simulate(scenario)`` returns a :class:`SimulationResult` held in memory;
:mod:`carreta.sim.output.results` writes it to a run directory. Each run has its own
``simpy.Environment`` and random streams, so two runs can share a process (and a
:class:`~carreta.sim.model.world.World`) without interfering.
"""

from __future__ import annotations

import gc
import logging
import math
import time
import zlib
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from operator import attrgetter, itemgetter
from typing import Any

import numpy as np
import simpy

from carreta.sim.model.clock import delay_until
from carreta.sim.model.demand import generate_orders, read_orders
from carreta.sim.model.dispatch import Dispatcher
from carreta.sim.model.energy import BatterySpec
from carreta.sim.model.operations import FleetOperations, build_operations
from carreta.sim.model.policies import make_policy
from carreta.sim.model.records import EventLog, Leg, Order, OrderState, Tour
from carreta.sim.model.robot import LegPlanning, Robot, TourOperations
from carreta.sim.model.streets import build_street_rules, build_van_zone_rules
from carreta.sim.model.supervision import supervised_speed_kph
from carreta.sim.model.vans import build_vans, van_routers
from carreta.sim.model.vehicles import ChargingHub, RobotSpec
from carreta.sim.model.world import World, build_world
from carreta.sim.scenario.models import RobotType, Scenario

logger = logging.getLogger(__name__)

ProgressCallback = Callable[[float, float], None]
"""Called with (simulated seconds done, simulated seconds in all) as the run advances."""

STREAMS = ("demand", "service", "failures", "supervision", "crossings")


def random_stream(seed: int, name: str) -> np.random.Generator:
    """The named random stream of a run: independent of the others, stable across versions.

    Streams are keyed by a hash of their name, so adding a stream never changes another.
    """
    key = zlib.crc32(name.encode("utf-8"))
    return np.random.default_rng(np.random.SeedSequence(entropy=seed, spawn_key=(key,)))


@contextmanager
def gc_frozen() -> Iterator[None]:
    """Keep Python's cyclic garbage collector off the run: every object that exists on entry is
    frozen, and the automatic collector is paused until the run ends.

    A day allocates many short-lived objects (events, routes, legs) while a large heap built
    before it (street graph, router, the day's orders) stays alive; each full collection would
    walk that heap again, about a third of a 1,000-robot day. :func:`gc.freeze` moves it to a
    generation the collector skips until exit. The objects made during the run are mostly
    freed by reference counting; the few cycles among them (SimPy processes and their events,
    about 0.4 per order: 108,000 objects in a 300,000-order day) wait for the end of the run,
    where the collector runs again. Pausing it saves its full collections over the run's own
    objects: 9 % of a 300,000-order day (23.7 s frozen, 21.6 s paused, the same peak memory).
    Process-wide: runs in parallel threads only share the benefit, never lose objects.
    """
    enabled = gc.isenabled()
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
        gc.unfreeze()


def scheduled_events(env: simpy.Environment) -> int:
    """How many events ``env`` has scheduled so far.

    SimPy numbers every scheduled event from a counter (``Environment._eid``); reading it costs
    nothing during the run, unlike counting in an overridden ``schedule``. Returns -1 if a
    future SimPy drops the counter.
    """
    counter = getattr(env, "_eid", None)
    if counter is None:
        return -1
    return int(repr(counter)[len("count(") : -1])


class InvariantError(RuntimeError):
    """A run broke one of the model's invariants: a bug, never a user error."""


@dataclass
class SimulationResult:
    """Everything a run produced, in memory."""

    scenario: Scenario
    seed: int
    world: World
    orders: list[Order]
    robots: list[Robot]
    hubs: dict[str, ChargingHub]
    events: EventLog
    legs: list[Leg]
    start_s: float
    end_s: float
    wall_time_s: float = 0.0
    routing_time_s: float = 0.0
    sim_events: int = 0
    timings: dict[str, float] = field(default_factory=dict)
    operations: FleetOperations | None = None  # supervision and breakdowns, if the scenario has any
    dispatcher: Dispatcher | None = None  # holds the orders still waiting at the end


class OrderSource:
    """Releases each order to the dispatcher at its creation time."""

    def __init__(self, env: simpy.Environment, orders: list[Order], dispatcher: Dispatcher):
        self.env = env
        self.orders = orders
        self.dispatcher = dispatcher

    def run(self) -> Generator[simpy.Event, Any, None]:
        """One timeout per distinct creation time, landing on it exactly (never before)."""
        env, arrived = self.env, self.dispatcher.order_arrived
        for order in self.orders:
            if order.created_s > env.now:
                yield env.timeout(delay_until(env.now, order.created_s))
            arrived(order)


def _progress_monitor(
    env: simpy.Environment, start_s: float, end_s: float, progress: ProgressCallback
) -> Generator[simpy.Event, Any, None]:
    step = max((end_s - start_s) / 200.0, 1.0)
    while True:
        progress(env.now - start_s, end_s - start_s)
        yield env.timeout(step)


def _robot_speed_kph(scenario: Scenario, group: RobotType) -> float:
    """The speed of a robot group, km/h, as its supervision allows."""
    return supervised_speed_kph(group.speed_kph, scenario.operations.supervision)


def _build_robots(
    env: simpy.Environment,
    scenario: Scenario,
    world: World,
    hubs: dict[str, ChargingHub],
    dispatcher: Dispatcher,
    log: EventLog,
    legs: list[Leg],
    *,
    streets: LegPlanning | None,
    operations: TourOperations | None,
) -> list[Robot]:
    robots: list[Robot] = []
    hub_ids = list(hubs)
    spread = 0
    for group in scenario.fleet.robots:
        capacity = group.battery_wh
        speed_kph = _robot_speed_kph(scenario, group)
        spec = RobotSpec(
            type_name=group.type,
            speed_kph=speed_kph,
            payload_kg=group.payload_kg,
            parcel_slots=group.parcel_slots,
            service_time_s=group.service_time_s,
            charge_power_w=group.charge_power_w,
            battery=BatterySpec(
                capacity_wh=capacity,
                consumption_wh_per_km=group.consumption_wh_per_km,
                reserve_wh=group.reserve_fraction * capacity,
                recharge_below_wh=group.recharge_below_fraction * capacity,
                top_up_below_wh=(group.top_up_below_fraction or 0.0) * capacity,
            ),
        )
        router = world.router(speed_kph)
        for _ in range(group.count):
            if group.hub is not None:
                hub = hubs[group.hub]
            else:
                hub = hubs[hub_ids[spread % len(hub_ids)]]
                spread += 1
            robot = Robot(
                env=env,
                robot_id=f"{group.type}-{len(robots) + 1:04d}",
                spec=spec,
                hub=hub,
                router=router,
                log=log,
                legs=legs,
                dispatcher=dispatcher,
                charging_efficiency=scenario.energy.charging_efficiency_fraction,
                streets=streets,
                operations=operations,
                run_end_s=scenario.simulation.window_h[1] * 3600.0,
            )
            robots.append(robot)
            dispatcher.add_robot(robot)
    return robots


def simulate(
    scenario: Scenario,
    *,
    world: World | None = None,
    seed: int | None = None,
    progress: ProgressCallback | None = None,
    label: str = "<scenario>",
) -> SimulationResult:
    """Run one simulated day of ``scenario``.

    Parameters
    ----------
    scenario
        A validated scenario.
    world
        The network and hubs, if already built (:func:`carreta.sim.model.world.build_world`).
    seed
        Overrides ``simulation.seed``.
    progress
        Called now and then with (simulated seconds done, simulated seconds in all).
    label
        The scenario file, for error messages.

    Raises
    ------
    NetworkError, ScenarioError
        If the network cannot be loaded, a hub is off the network, or an orders file is bad.
    InvariantError
        If the run breaks an invariant (a bug).
    """
    started = time.perf_counter()
    timings: dict[str, float] = {}
    seed = scenario.simulation.seed if seed is None else seed
    if world is None:
        world = build_world(scenario, label=label)
    timings["network_s"] = time.perf_counter() - started
    start_h, end_h = scenario.simulation.window_h
    start_s, end_s = start_h * 3600.0, end_h * 3600.0
    env = simpy.Environment(initial_time=start_s)
    log = EventLog(keep=scenario.outputs.events)
    legs: list[Leg] = []
    if scenario.demand.generates_orders:
        orders = generate_orders(
            scenario, world.snapper, world.node_lonlat, rng=random_stream(seed, "demand")
        )
    else:
        orders = read_orders(scenario, world.snapper)
    timings["demand_s"] = time.perf_counter() - started - timings["network_s"]
    hubs = {
        hub.id: ChargingHub.create(
            env,
            hub_id=hub.id,
            node=world.hub_nodes[hub.id],
            lonlat=(hub.lon, hub.lat),
            loading_time_per_parcel_s=hub.loading_time_per_parcel_s,
            chargers=hub.chargers,
            charger_power_w=hub.charger_power_w,
        )
        for hub in scenario.hubs
    }
    # The actors, each given what it uses; the processes start below, in a fixed order.
    dispatcher = Dispatcher(env, scenario.dispatch, log, policy=make_policy(scenario.dispatch))
    street_rules = build_street_rules(
        env, scenario, world.graph,
        [world.router(_robot_speed_kph(scenario, group)) for group in scenario.fleet.robots],
        log, on_change=dispatcher.refresh_reach, rng=random_stream(seed, "crossings"), label=label,
    )  # fmt: skip
    operations = build_operations(
        env, scenario, dispatcher, log,
        supervision_rng=random_stream(seed, "supervision"),
        failures_rng=random_stream(seed, "failures"),
    )  # fmt: skip
    robots = _build_robots(
        env, scenario, world, hubs, dispatcher, log, legs,
        streets=street_rules.planner, operations=operations,
    )  # fmt: skip
    van_rules = build_van_zone_rules(
        env, scenario, world.van_network(scenario).graph if scenario.fleet.van_count else None,
        van_routers(scenario, world), log, label=label,
    )  # fmt: skip
    vans = build_vans(
        env, scenario, world, orders, dispatcher, log, legs,
        first_number=len(robots) + 1, streets=van_rules.planner,
    )  # fmt: skip
    routers = {id(robot.router): robot.router for robot in [*robots, *vans]}
    for router in routers.values():
        router.timed = True  # the run's routing time counts single routes too
    routing_before = sum(router.query_s for router in routers.values())
    for seq, order in enumerate(orders):
        order.seq = seq
    dispatcher.prepare(orders)
    for rules in (street_rules, van_rules):
        if rules.scheduler is not None:
            env.process(rules.scheduler.run())
    if operations is not None:
        operations.arm(robots)
    robots += vans  # vans get no operations, and of the street rules only the zones
    timings["setup_s"] = time.perf_counter() - started - sum(timings.values())
    env.process(OrderSource(env, orders, dispatcher).run())
    env.process(dispatcher.run())
    for robot in robots:
        robot.start()
    if progress is not None:
        env.process(_progress_monitor(env, start_s, end_s, progress))
    sim_started = time.perf_counter()
    with gc_frozen():
        env.run(until=end_s)
    timings["simulate_s"] = time.perf_counter() - sim_started
    if progress is not None:
        progress(end_s - start_s, end_s - start_s)
    for robot in robots:
        robot.close()
    result = SimulationResult(
        scenario=scenario,
        seed=seed,
        world=world,
        orders=orders,
        robots=robots,
        hubs=hubs,
        events=log,
        legs=legs,
        start_s=start_s,
        end_s=end_s,
        wall_time_s=time.perf_counter() - started,
        routing_time_s=sum(router.query_s for router in routers.values()) - routing_before,
        sim_events=scheduled_events(env),
        timings=timings,
        operations=operations,
        dispatcher=dispatcher,
    )
    check_invariants(result)
    # Quiet tours book their steps ahead of the clock (sim/model/robot.py): put the log and the
    # legs in time order (stable: the order of each robot's own rows is kept).
    log.rows.sort(key=itemgetter(0))
    legs.sort(key=attrgetter("depart_s"))
    return result


def check_invariants(result: SimulationResult) -> None:
    """Raise :class:`InvariantError` if the run broke a rule of the model.

    Every order is in exactly one known state, delivered orders have ordered timestamps, no
    battery went below zero, event times never go backwards, and each robot's distance equals
    the sum of its legs' lengths. Every open order is accounted for (waiting in the
    dispatcher's queue, or with the one robot it is assigned to), and operators were held
    exactly as long as robots needed them.
    """
    _check_orders_accounted(result)
    if result.operations is not None:
        for problem in result.operations.problems(result.end_s):
            raise InvariantError(problem)
    known = set(OrderState)
    ids = [order.order_id for order in result.orders]
    if len(set(ids)) != len(ids):
        raise InvariantError("duplicate order ids")
    for order in result.orders:
        if order.state not in known:
            raise InvariantError(f"order {order.order_id} in unknown state {order.state!r}")
        if order.state is OrderState.DELIVERED and not (
            order.created_s <= order.assigned_s <= order.picked_s <= order.delivered_s
        ):
            raise InvariantError(f"order {order.order_id} has times out of order")
        if order.state is OrderState.REJECTED and not order.reason:
            raise InvariantError(f"order {order.order_id} rejected without a reason")
    last_s: dict[str, float] = {}  # each actor's rows are appended in time order
    for time_s, robot_id, *_ in result.events.rows:
        if time_s < last_s.get(robot_id, -math.inf):
            raise InvariantError(f"event times go backwards ({robot_id or 'dispatcher'})")
        last_s[robot_id] = time_s
    per_robot: dict[str, float] = {}
    for leg in result.legs:
        per_robot[leg.robot_id] = per_robot.get(leg.robot_id, 0.0) + leg.length_m
    for robot in result.robots:
        if robot.stats.min_battery_wh < -1e-6:
            raise InvariantError(
                f"{robot.robot_id}: battery went to {robot.stats.min_battery_wh:.3f} Wh"
            )
        legs_m = per_robot.get(robot.robot_id, 0.0)
        if abs(legs_m - robot.stats.distance_m) > 1e-6 * max(legs_m, 1.0):
            raise InvariantError(
                f"{robot.robot_id}: distance {robot.stats.distance_m} m != legs {legs_m} m"
            )


def _check_orders_accounted(result: SimulationResult) -> None:
    """Raise :class:`InvariantError` if an open order is nowhere: every order is either
    final, waiting in the dispatcher's queue, or assigned to (or on board) exactly one robot."""
    if result.dispatcher is None:
        return
    holders: dict[int, str] = {}
    for robot in result.robots:
        tours = [robot.command] if isinstance(robot.command, Tour) else []
        tours += [robot.tour] if robot.tour is not None else []
        for tour in tours:
            for order in tour.orders:
                if order.is_open and holders.setdefault(order.order_id, robot.robot_id) != (
                    robot.robot_id
                ):
                    raise InvariantError(f"order {order.order_id} is with two robots")
    waiting = result.dispatcher.waiting
    for order in result.orders:
        queued = order.order_id in waiting
        if (order.state is OrderState.WAITING) != queued:
            raise InvariantError(f"order {order.order_id} ({order.state}) lost from the queue")
        if order.state in (OrderState.ASSIGNED, OrderState.ON_BOARD) and (
            holders.get(order.order_id) != order.robot_id
        ):
            raise InvariantError(f"order {order.order_id} ({order.state}) is with no robot")
