"""Operations of a robot fleet during a run: supervision and breakdowns, used by the robots.

A robot built with ``operations`` hands two things to it: each leg's drive
(:meth:`FleetOperations.drive`, where help stops and failures happen) and each tour
(:meth:`FleetOperations.tour`, which adds the escort and catches a breakdown's interrupt to
recover). Without supervision and breakdowns there is no :class:`FleetOperations` at all and
robots run exactly as before. Vans are never given one.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import numpy as np
import simpy

from carreta.routing.router import Route
from carreta.sim.model.breakdowns import Breakdown, BreakdownService
from carreta.sim.model.dispatch import Dispatcher
from carreta.sim.model.energy import drive_energy_wh
from carreta.sim.model.records import EventLog, Leg, Tour
from carreta.sim.model.robot import Robot
from carreta.sim.model.supervision import (
    HelpRequest,
    SupervisionService,
    insert_pauses,
    vertex_steps,
)
from carreta.sim.scenario.models import Scenario

__all__ = ["FleetOperations", "build_operations"]


class FleetOperations:
    """One run's supervision (or None) and breakdowns (or None), used by its robots."""

    def __init__(
        self, supervision: SupervisionService | None, breakdowns: BreakdownService | None
    ) -> None:
        self.supervision = supervision
        self.breakdowns = breakdowns

    @property
    def quiet(self) -> bool:
        """Whether a tour, once started, is acted on by nobody but the robot's own escort: no
        breakdowns, and help (if any) from the escort walking with it (see
        :mod:`carreta.sim.model.robot`)."""
        return self.breakdowns is None and (self.supervision is None or self.supervision.escort)

    def draw_help(self, cum_length_m: np.ndarray) -> list[HelpRequest]:
        """The help a robot will need along a leg (none without supervision)."""
        return [] if self.supervision is None else self.supervision.draw(cum_length_m)

    def help_begins(self, robot: Robot, request: HelpRequest, *, node: int, now: float) -> None:
        """The escort starts helping ``robot`` (a quiet tour's leg)."""
        assert self.supervision is not None
        self.supervision.help_begins(robot, request, node=node, now=now)

    def help_ends(self, robot: Robot, request: HelpRequest, *, now: float) -> None:
        """The escort's help is over (a quiet tour's leg)."""
        assert self.supervision is not None
        self.supervision.help_ends(robot, request, now=now)

    # -- a tour --------------------------------------------------------------------------------
    def tour(
        self, robot: Robot, tour: Tour, body: Generator[simpy.Event, Any, None]
    ) -> Generator[simpy.Event, Any, None]:
        """Carry out ``body``, the robot's tour, with an escort if any; recover from a breakdown.

        An escort stays with a broken robot until it is back at its hub, not during a repair
        there.
        """
        guarded = self._recovering(robot, body)
        if self.supervision is not None and self.supervision.escort:
            robot.tour = tour  # its orders are the robot's while it waits for an escort
            towed = yield from self.supervision.escorted(robot, guarded)
        else:
            towed = yield from guarded
        if towed:
            assert self.breakdowns is not None
            yield from self.breakdowns.repair_at_hub(robot)

    def _recovering(
        self, robot: Robot, body: Generator[simpy.Event, Any, None]
    ) -> Generator[simpy.Event, Any, bool]:
        """Run ``body``; after a breakdown, bring the robot home. True if it needs a repair."""
        try:
            yield from body
        except simpy.Interrupt as interrupt:
            if self.breakdowns is None or not isinstance(interrupt.cause, Breakdown):
                raise
            return (yield from self.breakdowns.bring_home(robot, interrupt.cause))
        return False

    # -- a leg ---------------------------------------------------------------------------------
    def drive(self, robot: Robot, route: Route, leg: Leg) -> Generator[simpy.Event, Any, None]:
        """Drive ``leg`` (just booked for ``route``): stop for help, or break down, on the way.

        When the robot stops for help, the leg's vertices and times are rewritten with the
        stops; when it breaks down, the leg is cut at the failing vertex and the robot's
        distance and energy are given back for the part not driven, then the interrupt goes
        on up to :meth:`tour`.
        """
        env = robot.env
        nodes, times = leg.nodes, leg.cum_time_s
        steps = None if nodes is route.nodes else vertex_steps(route.nodes, nodes)  # waits?
        lengths = route.cum_length_m if steps is None else route.cum_length_m[steps]
        requests: list[HelpRequest] = []
        if self.supervision is not None:
            requests = self.supervision.draw(lengths)
        cut = None
        if self.breakdowns is not None:
            cut = self.breakdowns.plan_leg(robot, route, steps)
        if not requests and cut is None:
            yield env.timeout(float(times[-1]))
            return
        assert self.supervision is not None or not requests
        at = 0
        pauses: list[tuple[int, float]] = []
        try:
            for request in requests:
                if cut is not None and request.vertex >= cut:
                    break
                yield env.timeout(float(times[request.vertex] - times[at]))
                at = request.vertex
                assert self.supervision is not None
                stopped = yield from self.supervision.help(robot, request, node=int(nodes[at]))
                pauses.append((at, stopped))
            if cut is not None:
                assert self.breakdowns is not None
                delay = float(times[cut] - times[at])
                self.breakdowns.start_failure(robot, delay_s=delay, node=int(nodes[cut]))
            yield env.timeout(float(times[-1] - times[at]))
        except simpy.Interrupt as interrupt:
            if cut is None or not isinstance(interrupt.cause, Breakdown):
                raise
            self._cut(robot, route, leg, cut, float(lengths[cut]), pauses)
            raise
        leg.nodes, leg.cum_time_s = insert_pauses(nodes, times, pauses)

    @staticmethod
    def _cut(
        robot: Robot,
        route: Route,
        leg: Leg,
        cut: int,
        driven_m: float,
        pauses: list[tuple[int, float]],
    ) -> None:
        """End ``leg`` at vertex ``cut``: keep what was driven, give back the rest."""
        nodes, times = insert_pauses(leg.nodes, leg.cum_time_s, pauses)
        last = cut + len({vertex for vertex, _ in pauses})  # each stop added one vertex before
        leg.nodes, leg.cum_time_s = nodes[: last + 1], times[: last + 1]
        leg.length_m = driven_m
        undriven_m = route.length_m - driven_m
        energy = drive_energy_wh(undriven_m, robot.spec.battery.consumption_wh_per_km)
        robot.stats.distance_m -= undriven_m
        robot.stats.drive_energy_wh -= energy
        robot.battery_wh += energy

    def arm(self, robots: list[Robot]) -> None:
        """Draw each robot's driving time to its first failure (in the robots' order)."""
        if self.breakdowns is not None:
            for robot in robots:
                self.breakdowns.arm(robot)

    # -- checks --------------------------------------------------------------------------------
    def problems(self, end_s: float) -> list[str]:
        """Rules a run broke (see :meth:`.SupervisionService.problems`)."""
        return [] if self.supervision is None else self.supervision.problems(end_s)


def build_operations(
    env: simpy.Environment,
    scenario: Scenario,
    dispatcher: Dispatcher,
    log: EventLog,
    *,
    supervision_rng: np.random.Generator,
    failures_rng: np.random.Generator,
) -> FleetOperations | None:
    """The scenario's operations for its robots (not vans); None if it has none.

    The operator pool is sized for the scenario's robot count. Call
    :meth:`FleetOperations.arm` with the robots once they are built.
    """
    settings = scenario.operations
    robot_count = scenario.fleet.robot_count
    if not settings.enabled or robot_count == 0:
        return None
    supervision = None
    if settings.supervision.mode != "off":
        supervision = SupervisionService(
            env,
            settings.supervision,
            operators=settings.supervision.operator_count(robot_count),
            rng=supervision_rng,
            log=log,
        )
    breakdowns = None
    if settings.breakdowns.mean_time_between_failures_h is not None:
        breakdowns = BreakdownService(
            settings.breakdowns, rng=failures_rng, dispatcher=dispatcher, log=log
        )
    return FleetOperations(supervision, breakdowns)
