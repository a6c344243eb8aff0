"""Breakdowns: robots fail while driving, are recovered, and their parcels go back to the queue.

Each robot carries a failure clock: the driving time left before its next failure,
exponential with the scenario's mean time between failures, drawn again after every repair.
When a leg will use up the clock, a :class:`Failure` actor is started for it: when the robot
reaches the failing vertex it interrupts the robot's process with a :class:`Breakdown` cause.
The leg being driven is then cut there (:mod:`carreta.sim.model.operations`) and
:meth:`BreakdownService.bring_home` takes over: wait for help, tow or repair, bring the robot home,
hand its parcels back to the dispatcher; a towed robot is then repaired at its hub
(:meth:`BreakdownService.repair_at_hub`). The model is described in
:class:`carreta.sim.scenario.operations.Breakdowns`.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

import numpy as np
import simpy

from carreta.routing.router import Route
from carreta.sim.model.dispatch import Dispatcher
from carreta.sim.model.energy import drive_energy_wh
from carreta.sim.model.records import EventLog, OrderState
from carreta.sim.model.robot import Robot
from carreta.sim.model.vehicles import RobotState
from carreta.sim.scenario.operations import Breakdowns

__all__ = ["Breakdown", "BreakdownService", "Failure", "failure_vertex", "tow_time_s"]


@dataclass(frozen=True, slots=True)
class Breakdown:
    """The cause of the interrupt that stops a broken robot: who, where (street node), when."""

    robot_id: str
    node: int
    time_s: float


def tow_time_s(length_m: float, speed_kph: float) -> float:
    """Seconds to tow a robot ``length_m`` metres at ``speed_kph``."""
    return length_m / (speed_kph / 3.6)


def failure_vertex(drive_s: np.ndarray, to_failure_s: float) -> int | None:
    """The vertex of a leg at which its robot fails, or None if the leg ends first.

    ``drive_s`` is the driving time (waits excluded) at each vertex of the leg; the robot fails
    at the first vertex where it has driven ``to_failure_s`` seconds.
    """
    if to_failure_s > drive_s[-1]:
        return None
    return int(np.searchsorted(drive_s, to_failure_s, side="left"))


class Failure:
    """Breaks one robot down: when ``alarm`` fires, interrupts its process with a Breakdown."""

    def __init__(self, robot: Robot, alarm: simpy.Timeout, node: int) -> None:
        self.robot = robot
        self.alarm = alarm
        self.node = node

    def run(self) -> Generator[simpy.Event, Any, None]:
        """Wait for the alarm, then interrupt the robot."""
        yield self.alarm
        robot = self.robot
        assert robot.process is not None
        robot.process.interrupt(Breakdown(robot.robot_id, self.node, robot.env.now))


class BreakdownService:
    """One run's failure clocks and recoveries.

    Parameters
    ----------
    settings
        The scenario's breakdowns section (with a mean time between failures).
    rng
        The run's ``failures`` stream.
    dispatcher
        Takes the parcels of a broken robot back.
    log
        The run's event log.
    """

    def __init__(
        self,
        settings: Breakdowns,
        *,
        rng: np.random.Generator,
        dispatcher: Dispatcher,
        log: EventLog,
    ) -> None:
        assert settings.mean_time_between_failures_h is not None
        self.settings = settings
        self.mean_s = settings.mean_time_between_failures_h * 3600.0
        self.rng = rng
        self.dispatcher = dispatcher
        self.log = log
        self.to_failure_s: dict[str, float] = {}

    def arm(self, robot: Robot) -> None:
        """Draw the driving time until ``robot``'s next failure."""
        self.to_failure_s[robot.robot_id] = float(self.rng.exponential(self.mean_s))

    def plan_leg(self, robot: Robot, route: Route, steps: np.ndarray | None) -> int | None:
        """Run ``robot``'s clock over a leg of ``route``; return the vertex where it fails.

        ``steps`` maps the leg's vertices to the route's nodes (None: one to one); None is
        returned if the leg ends first. A failing leg stops the clock until the robot is
        repaired and :meth:`arm` ed again.
        """
        left = self.to_failure_s.get(robot.robot_id, float("inf"))
        if left > route.duration_s:
            self.to_failure_s[robot.robot_id] = left - route.duration_s
            return None
        self.to_failure_s[robot.robot_id] = float("inf")
        drive_s = route.cum_time_s if steps is None else route.cum_time_s[steps]
        return failure_vertex(drive_s, left)

    def start_failure(self, robot: Robot, *, delay_s: float, node: int) -> None:
        """Start the :class:`Failure` that stops ``robot`` at ``node`` in ``delay_s`` seconds.

        Call it before the robot yields the timeout of the leg's last stretch: the alarm is
        then scheduled first and wins if both fall at the same time.
        """
        alarm = robot.env.timeout(delay_s)
        robot.env.process(Failure(robot, alarm, node).run())

    def bring_home(self, robot: Robot, breakdown: Breakdown) -> Generator[simpy.Event, Any, bool]:
        """Get a broken robot and its parcels back to its hub; queue the parcels again.

        Returns whether the robot still needs its repair at the hub (:meth:`repair_at_hub`):
        True after a tow, False after a repair on the spot (the robot is then in service).
        """
        env = robot.env
        settings = self.settings
        robot.stats.breakdowns += 1
        self.log.add(env.now, "breakdown", robot_id=robot.robot_id, node=breakdown.node)
        robot.set_state(RobotState.BROKEN)
        yield env.timeout(settings.response_time_s)
        route = robot.router.route(breakdown.node, robot.hub.node)
        energy = drive_energy_wh(route.length_m, robot.spec.battery.consumption_wh_per_km)
        if settings.recovery == "repair_in_place" and robot.can_do(energy):
            robot.set_state(RobotState.REPAIR)
            yield env.timeout(settings.repair_in_place_s)
            self.log.add(env.now, "repaired", robot_id=robot.robot_id, node=breakdown.node)
            yield from robot.drive_to_hub(breakdown.node)
            self._return_parcels(robot)
            self.arm(robot)
            return False
        robot.set_state(RobotState.TOWED)
        self.log.add(env.now, "tow_start", robot_id=robot.robot_id, node=breakdown.node)
        yield env.timeout(tow_time_s(route.length_m, settings.towing_speed_kph))
        self.log.add(env.now, "tow_end", robot_id=robot.robot_id, node=robot.hub.node)
        self._return_parcels(robot)
        return True

    def repair_at_hub(self, robot: Robot) -> Generator[simpy.Event, Any, None]:
        """Repair a robot towed back to its hub, then put it back into service."""
        robot.set_state(RobotState.REPAIR)
        yield robot.env.timeout(self.settings.repair_time_h * 3600.0)
        self.log.add(robot.env.now, "repaired", robot_id=robot.robot_id, node=robot.hub.node)
        self.arm(robot)

    def _return_parcels(self, robot: Robot) -> None:
        tour = robot.tour
        if tour is not None:
            for order in tour.orders:
                if order.state is OrderState.ON_BOARD:
                    self.dispatcher.order_returned(order)
        robot.tour = None
