"""``nearest_idle``: first come, first served, one order per trip.

As soon as an order is created or a robot becomes idle, the oldest waiting order goes to the
idle robot whose hub reaches its door soonest.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import islice
from typing import ClassVar

from carreta.routing.router import Route
from carreta.sim.model.dispatch import Dispatcher
from carreta.sim.model.robot import Robot
from carreta.sim.scenario.models import Dispatch

__all__ = ["NearestIdle"]


@dataclass
class NearestIdle:
    """The ``nearest_idle`` policy (see the module docstring)."""

    settings: Dispatch
    scan_limit: int = 64  # waiting orders looked at per call
    event_driven: ClassVar[bool] = True

    def assign(self, dispatcher: Dispatcher) -> None:
        """Oldest orders first, each to the idle robot whose hub reaches its door soonest.

        At most :attr:`scan_limit` waiting orders are looked at per call, so a long queue costs no
        more than a short one; an idle robot that could carry an order but cannot afford it is
        sent to charge.
        """
        if not dispatcher.waiting or not dispatcher.idle_count:
            return
        for order_id in list(islice(dispatcher.waiting, self.scan_limit)):
            if not dispatcher.idle_count:
                return
            order = dispatcher.waiting[order_id]
            best: tuple[float, Robot, list[Route]] | None = None
            for robots in dispatcher.idle.values():
                short: list[Robot] = []  # could carry the order but not afford it: to charge
                for robot in robots.values():
                    if order.weight_kg > robot.spec.payload_kg:
                        continue
                    trip = dispatcher.trip(robot, order)
                    if trip is None:
                        continue
                    routes = (
                        dispatcher.affordable(robot, [order]) if robot.can_do(trip[1]) else None
                    )
                    if routes is None:
                        short.append(robot)
                        continue
                    if best is None or trip[0] < best[0]:
                        best = (trip[0], robot, routes)
                    break  # robots of one hub are equally near: the first that fits will do
                for robot in short:
                    dispatcher.send_to_charge(robot)
            if best is not None:
                dispatcher.send(best[1], [order], best[2])
