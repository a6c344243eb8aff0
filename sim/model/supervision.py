"""Supervision: remote operators (or walking escorts) as a scarce SimPy resource.

Plain functions decide where along a leg a robot needs help (:func:`draw_help`) and rewrite the
leg's timeline with the stops it made (:func:`insert_pauses`); :class:`OperatorPool` is the
shared resource, a first-come-first-served resource (SimPy's ``Resource`` with O(log n) work per
request, :mod:`carreta.sim.model.resources`) that measures how long its operators were held;
:class:`SupervisionService` holds one run's pool, its random stream and the help robots received.

The model is described in :class:`carreta.sim.scenario.operations.Supervision`. Each help request
is a stop at a street node of the leg: the robot waits for a free operator, then is helped for the
drawn duration, then drives on. An operator is held exactly for the duration of the help
(remote) or for a whole tour (escort); :meth:`SupervisionService.problems` checks that against the
pool's own measurement.
"""

from __future__ import annotations

import math
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import simpy
from simpy.resources.resource import Release

from carreta.sim.model.records import EventLog, insert_pauses, vertex_steps
from carreta.sim.model.resources import FastResource
from carreta.sim.model.robot import Robot
from carreta.sim.model.vehicles import RobotState
from carreta.sim.scenario.operations import Supervision

T = TypeVar("T")

__all__ = [
    "HelpRequest",
    "SupervisionService",
    "draw_help",
    "insert_pauses",
    "lognormal_durations_s",
    "supervised_speed_kph",
    "vertex_steps",
]


@dataclass(frozen=True, slots=True)
class HelpRequest:
    """One need for help on a leg: at vertex ``vertex`` of the leg, for ``duration_s``."""

    vertex: int
    duration_s: float
    kind: str  # "intervention" or "takeover"


def supervised_speed_kph(speed_kph: float, settings: Supervision) -> float:
    """A robot's speed under ``settings``: capped at the escort's pace in 'escort' mode."""
    if settings.mode == "escort":
        return min(speed_kph, settings.walking_speed_kph)
    return speed_kph


def lognormal_durations_s(
    mean_s: float, sd_s: float, count: int, *, rng: np.random.Generator
) -> np.ndarray:
    """``count`` lognormal durations with mean ``mean_s`` and standard deviation ``sd_s``.

    The moments are those of the duration itself, not of its logarithm; ``sd_s == 0`` gives
    ``mean_s`` every time (and draws nothing).
    """
    if sd_s == 0:
        return np.full(count, float(mean_s))
    return rng.lognormal(*_lognormal_parameters(mean_s, sd_s), size=count)


def _lognormal_parameters(mean_s: float, sd_s: float) -> tuple[float, float]:
    """(mu, sigma) of the normal logarithm of a lognormal with this mean and sd."""
    sigma2 = math.log1p((sd_s / mean_s) ** 2)
    return math.log(mean_s) - sigma2 / 2.0, math.sqrt(sigma2)


def _one_duration_s(mean_s: float, sd_s: float, rng: np.random.Generator) -> float:
    return (
        float(mean_s) if sd_s == 0 else float(rng.lognormal(*_lognormal_parameters(mean_s, sd_s)))
    )


def draw_help(
    cum_length_m: np.ndarray, settings: Supervision, *, rng: np.random.Generator
) -> list[HelpRequest]:
    """Where and for how long a robot needs help along one leg.

    Parameters
    ----------
    cum_length_m
        Metres driven at each vertex of the leg (non-decreasing, 0 first).
    settings
        Rates per km and duration moments of interventions and take-overs.
    rng
        The run's ``supervision`` stream.

    Returns
    -------
    list of HelpRequest
        A Poisson number of requests for the leg's km at the two kinds' total rate, each a
        take-over with probability ``takeovers_per_km / total`` (the same as two independent
        Poisson processes), each at a uniform distance along the leg and taking effect at the
        first vertex at or beyond it; sorted by vertex.
    """
    length_m = float(cum_length_m[-1])
    per_km = settings.interventions_per_km + settings.takeovers_per_km
    if length_m <= 0 or per_km <= 0:
        return []
    count = int(rng.poisson(per_km * length_m / 1000.0))
    if count == 0:
        return []
    share = settings.takeovers_per_km / per_km
    if count == 1:  # the common case, drawn without arrays
        taken = rng.random() < share
        vertex = int(np.searchsorted(cum_length_m, rng.uniform(0.0, length_m), side="left"))
        if taken:
            duration = _one_duration_s(settings.takeover_mean_s, settings.takeover_sd_s, rng)
        else:
            duration = _one_duration_s(
                settings.intervention_mean_s, settings.intervention_sd_s, rng
            )
        return [HelpRequest(vertex, duration, "takeover" if taken else "intervention")]
    takeover = rng.random(count) < share
    at = np.searchsorted(cum_length_m, rng.uniform(0.0, length_m, size=count), side="left")
    durations = np.empty(count)
    durations[~takeover] = lognormal_durations_s(
        settings.intervention_mean_s, settings.intervention_sd_s, int((~takeover).sum()), rng=rng
    )
    durations[takeover] = lognormal_durations_s(
        settings.takeover_mean_s, settings.takeover_sd_s, int(takeover.sum()), rng=rng
    )
    requests = [
        HelpRequest(vertex, duration, "takeover" if taken else "intervention")
        for vertex, duration, taken in zip(
            at.tolist(), durations.tolist(), takeover.tolist(), strict=True
        )
    ]
    requests.sort(key=lambda request: request.vertex)
    return requests


class OperatorPool(FastResource):
    """Operators as a SimPy resource that measures how long they were held, in seconds.

    First come, first served; a request, grant or release takes O(log n) work however many
    operators there are (:class:`carreta.sim.model.resources.FastResource`).
    """

    def __init__(self, env: simpy.Environment, capacity: int) -> None:
        super().__init__(env, capacity=capacity)
        self.held_s = 0.0

    def _do_get(self, event: Release) -> None:
        request = event.request
        if request in self.users and request.usage_since is not None:
            self.held_s += self._env.now - request.usage_since
        super()._do_get(event)

    def held_until_s(self, now_s: float) -> float:
        """Operator-seconds held so far, counting the holds still open up to ``now_s``."""
        open_s = sum(now_s - float(request.usage_since or now_s) for request in self.users)
        return self.held_s + open_s


class SupervisionService:
    """One run's operators, the help robots ask for, and how long they needed it.

    Parameters
    ----------
    env
        The run's environment.
    settings
        The scenario's supervision section (mode 'remote' or 'escort').
    operators
        Size of the pool.
    rng
        The run's ``supervision`` stream.
    log
        The run's event log.
    """

    def __init__(
        self,
        env: simpy.Environment,
        settings: Supervision,
        *,
        operators: int,
        rng: np.random.Generator,
        log: EventLog,
    ) -> None:
        self.env = env
        self.settings = settings
        self.pool = OperatorPool(env, operators)
        self.rng = rng
        self.log = log
        self.needed_s = 0.0  # operator time robots needed, for help that is over
        self.holding_since: dict[str, float] = {}  # robot id -> start of the help it gets now

    @property
    def escort(self) -> bool:
        """Whether operators walk with the robots (one per robot for a whole tour)."""
        return self.settings.mode == "escort"

    def draw(self, cum_length_m: np.ndarray) -> list[HelpRequest]:
        """The help a robot will need on a leg (see :func:`draw_help`)."""
        return draw_help(cum_length_m, self.settings, rng=self.rng)

    def help(
        self, robot: Robot, request: HelpRequest, *, node: int
    ) -> Generator[simpy.Event, Any, float]:
        """Stop at street node ``node``, wait for an operator (remote) and be helped.

        Returns the seconds stopped (waiting plus help).
        """
        env = self.env
        stopped = env.now
        if self.escort:  # the escort is already there
            self.help_begins(robot, request, node=node, now=stopped)
            yield env.timeout(request.duration_s)
        else:
            self.log.add(stopped, f"help:{request.kind}", robot_id=robot.robot_id, node=node)
            with self.pool.request() as claim:
                if not claim.triggered:  # every operator is busy: wait for one
                    robot.set_state(RobotState.WAITING_HELP)
                    yield claim
                    robot.stats.waiting_help_s += env.now - stopped
                robot.set_state(RobotState.INTERVENTION)
                self.holding_since[robot.robot_id] = env.now
                yield env.timeout(request.duration_s)
                del self.holding_since[robot.robot_id]
                self.needed_s += request.duration_s
        self.help_ends(robot, request, now=env.now)
        return env.now - stopped

    def help_begins(self, robot: Robot, request: HelpRequest, *, node: int, now: float) -> None:
        """The escort starts helping ``robot`` at street node ``node`` at time ``now``."""
        self.log.add(now, f"help:{request.kind}", robot_id=robot.robot_id, node=node)
        robot.set_state(RobotState.INTERVENTION, now=now)

    def help_ends(self, robot: Robot, request: HelpRequest, *, now: float) -> None:
        """``robot`` has been helped (at time ``now``) and drives on."""
        robot.stats.help_s += request.duration_s
        if request.kind == "takeover":
            robot.stats.takeovers += 1
        else:
            robot.stats.interventions += 1
        robot.set_state(RobotState.DRIVING, now=now)

    def escorted(
        self, robot: Robot, body: Generator[simpy.Event, Any, T]
    ) -> Generator[simpy.Event, Any, T]:
        """Wait at the hub for a free escort, then run ``body`` (a tour) with them.

        Returns what ``body`` returns.
        """
        env = self.env
        asked = env.now
        with self.pool.request() as claim:
            if not claim.triggered:  # every escort is out: wait for one
                robot.set_state(RobotState.WAITING_HELP)
                yield claim
                robot.stats.waiting_help_s += env.now - asked
            self.holding_since[robot.robot_id] = env.now
            self.log.add(env.now, "escort_start", robot_id=robot.robot_id, node=robot.hub.node)
            result = yield from body
            self.log.add(env.now, "escort_end", robot_id=robot.robot_id, node=robot.hub.node)
            held = env.now - self.holding_since.pop(robot.robot_id)
            self.needed_s += held
            robot.stats.escorted_s += held
        return result

    def problems(self, end_s: float) -> list[str]:
        """Broken rules at the end of a run: operators held longer than robots needed them."""
        needed = self.needed_s + sum(end_s - since for since in self.holding_since.values())
        held = self.pool.held_until_s(end_s)
        found = []
        if abs(held - needed) > 1e-6 * max(needed, 1.0):
            found.append(f"operators held {held:.3f} s but robots needed them {needed:.3f} s")
        if self.pool.count != len(self.holding_since):
            found.append(
                f"{self.pool.count} operators busy at the end for "
                f"{len(self.holding_since)} robots that need one"
            )
        return found
