"""``batch``: every ``batch_interval_s``, an optimal assignment, one order per trip.

Waiting orders go to idle robots by :func:`scipy.optimize.linear_sum_assignment`, minimising
expected lateness first, then travel time; a robot that could carry an order but not afford it
is sent to charge.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from scipy.optimize import linear_sum_assignment

from carreta.sim.model.dispatch import Dispatcher
from carreta.sim.scenario.models import Dispatch

__all__ = ["Batch"]

_INFEASIBLE = 1e12


@dataclass
class Batch:
    """The ``batch`` policy (see the module docstring)."""

    settings: Dispatch
    event_driven: ClassVar[bool] = False

    def assign(self, dispatcher: Dispatcher) -> None:
        """One optimal assignment of the oldest waiting orders to the idle robots."""
        robots = dispatcher.idle_robots()
        if not robots or not dispatcher.waiting:
            return
        orders = list(dispatcher.waiting.values())[: 4 * len(robots)]
        cost = np.full((len(robots), len(orders)), _INFEASIBLE)
        for r, robot in enumerate(robots):
            for o, order in enumerate(orders):
                if order.weight_kg > robot.spec.payload_kg:
                    continue
                trip = dispatcher.trip(robot, order)
                if trip is None or not robot.can_do(trip[1]):
                    continue
                delivered = (
                    dispatcher.env.now + robot.hub.loading_time_per_parcel_s + trip[0]
                    + robot.spec.service_time_s
                )  # fmt: skip
                lateness = max(delivered - order.due_s, 0.0)
                cost[r, o] = 1000.0 * lateness + trip[0]
        rows, cols = linear_sum_assignment(cost)
        for row, col in zip(rows.tolist(), cols.tolist(), strict=True):
            if cost[row, col] >= _INFEASIBLE:
                continue
            routes = dispatcher.affordable(robots[row], [orders[col]])
            if routes is not None:
                dispatcher.send(robots[row], [orders[col]], routes)
        for r, robot in enumerate(robots):
            if robot.robot_id in dispatcher.idle[robot.hub.hub_id] and np.all(
                cost[r] >= _INFEASIBLE
            ):
                dispatcher.charge_if_short(robot, orders)
