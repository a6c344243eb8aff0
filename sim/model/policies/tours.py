"""``tours``: every ``batch_interval_s``, capacitated multi-stop tours with time windows.

Each waiting order goes to the nearest hub with idle robots, and each hub plans tours for its
idle robots with the scenario's ``dispatch.planner`` (:mod:`carreta.sim.model.tours`). The
round's ``dispatch.time_budget_ms`` is shared between the hubs (and sectors) in proportion to
their orders. Large rounds are cut into angular sectors around the hub (cluster first, route
second).
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from carreta.sim.model.dispatch import Dispatcher
from carreta.sim.model.records import Order
from carreta.sim.model.robot import Robot
from carreta.sim.model.tours import TourProblem, Vehicle, plan_tours
from carreta.sim.scenario.models import Dispatch

__all__ = ["Tours"]

_SECTOR_ORDERS = {"insertion": 150, "builtin": 400, "pyvrp": 400}
"""Orders planned together in one tour-planning problem, by planner."""


@dataclass
class Tours:
    """The ``tours`` policy (see the module docstring)."""

    settings: Dispatch
    event_driven: ClassVar[bool] = False

    def assign(self, dispatcher: Dispatcher) -> None:
        """Split the most urgent waiting orders between the idle robot groups, plan each."""
        robots = dispatcher.idle_robots()
        if not robots or not dispatcher.waiting:
            return
        capacity = sum(min(r.spec.parcel_slots, self.settings.max_stops_per_tour) for r in robots)
        orders = heapq.nsmallest(
            capacity, dispatcher.waiting.values(), key=lambda order: order.due_s
        )
        groups: dict[tuple[str, str], list[Robot]] = {}
        for robot in robots:  # robots of one type at one hub share a router and a depot
            groups.setdefault((robot.hub.hub_id, robot.spec.type_name), []).append(robot)
        keys = list(groups)
        table = dispatcher.order_arrays
        seqs = table.seqs(orders)
        times = np.full((len(keys), len(orders)), np.inf)
        weights = table.weight_kg[seqs]
        doors: dict[tuple[int, int], np.ndarray] = {}  # one lookup per network, not per hub
        for g, key in enumerate(keys):
            lead = groups[key][0]
            out = lead.router.tree(lead.hub.node)
            network = (id(lead.router), id(lead.doors))
            nodes = doors.get(network)
            if nodes is None:
                nodes = doors[network] = np.asarray(
                    lead.router.index_of(lead.door_nodes(seqs, table).tolist())
                )
            times[g] = np.where(weights <= lead.spec.payload_kg, out.duration_s[nodes], np.inf)
        nearest = np.argmin(times, axis=0)
        reachable = np.isfinite(times)
        budget_ms_per_order = self.settings.time_budget_ms / len(orders)
        for g, key in enumerate(keys):
            picked = np.flatnonzero((nearest == g) & reachable[g])
            if picked.size:
                mine = [orders[k] for k in picked.tolist()]
                self._plan_hub(dispatcher, groups[key], mine, seqs[picked], budget_ms_per_order)

    def _plan_hub(
        self,
        dispatcher: Dispatcher,
        robots: list[Robot],
        orders: list[Order],
        seqs: np.ndarray,
        budget_ms_per_order: float,
    ) -> None:
        """Tours for idle robots of one type at one hub over ``orders`` (numbered ``seqs``);
        send them.

        Large rounds are cut into angular sectors around the hub of at most
        ``_SECTOR_ORDERS`` orders, each with its share of the robots (cluster first, route
        second), so a round's cost grows linearly with the fleet.
        """
        lead = robots[0]
        sector_orders = _SECTOR_ORDERS[self.settings.planner]
        if len(orders) <= sector_orders:
            self._plan_sector(dispatcher, robots, orders, seqs, budget_ms_per_order)
            return
        hub_lon, hub_lat = lead.hub.lonlat
        table = dispatcher.order_arrays
        angles = np.arctan2(table.lat[seqs] - hub_lat, table.lon[seqs] - hub_lon)
        by_angle = np.argsort(angles, kind="stable")
        sectors = -(-len(orders) // sector_orders)
        for k in range(sectors):
            part = by_angle[k * len(by_angle) // sectors : (k + 1) * len(by_angle) // sectors]
            crew = robots[k * len(robots) // sectors : (k + 1) * len(robots) // sectors]
            if part.size and crew:
                chosen = [orders[i] for i in part.tolist()]
                self._plan_sector(dispatcher, crew, chosen, seqs[part], budget_ms_per_order)

    def _plan_sector(
        self,
        dispatcher: Dispatcher,
        robots: list[Robot],
        orders: list[Order],
        seqs: np.ndarray,
        budget_ms_per_order: float,
    ) -> None:
        lead = robots[0]
        table = dispatcher.order_arrays
        problem = TourProblem(
            travel_s=_travel_matrix(lead, lead.door_nodes(seqs, table)),
            due_s=table.due_s[seqs],
            weight_kg=table.weight_kg[seqs],
            now_s=dispatcher.env.now,
            load_time_per_parcel_s=lead.hub.loading_time_per_parcel_s,
            service_time_s=lead.stop_times_s(seqs, table),
        )
        vehicles = [self._vehicle(robot) for robot in robots]
        tours = plan_tours(
            problem, vehicles, planner=self.settings.planner,
            time_budget_ms=budget_ms_per_order * len(orders),
            iterations=self.settings.local_search_iterations,
        )  # fmt: skip
        for robot, stops in zip(robots, tours, strict=True):
            chosen = [orders[k] for k in stops]
            routes = None
            while chosen:
                routes = dispatcher.affordable(robot, chosen)
                if routes is not None:
                    break
                chosen = chosen[:-1]  # the estimate was optimistic: drop the last stop
            if routes is not None:
                dispatcher.send(robot, chosen, routes)
            else:
                dispatcher.charge_if_short(robot, orders)

    def _vehicle(self, robot: Robot) -> Vehicle:
        battery = robot.spec.battery
        usable_wh = max(robot.battery_wh - battery.reserve_wh, 0.0)
        wh_per_s = battery.consumption_wh_per_km * robot.spec.speed_kph / 3600.0
        return Vehicle(
            max_stops=min(robot.spec.parcel_slots, self.settings.max_stops_per_tour),
            payload_kg=robot.spec.payload_kg,
            drive_budget_s=usable_wh / wh_per_s if wh_per_s > 0 else float("inf"),  # diesel
        )


def _travel_matrix(lead: Robot, doors: np.ndarray) -> np.ndarray:
    """Seconds between the hub (row and column 0) and the street nodes ``doors``, in that order.

    Routed once per distinct street node: in a dense day many parcels go to the same node, and
    a matrix costs the square of its nodes. Each entry is the router's own value for its pair.
    """
    nodes = np.concatenate(([lead.hub.node], doors))
    distinct, position = np.unique(nodes, return_inverse=True)
    if distinct.shape[0] == nodes.shape[0]:
        return lead.router.matrix(nodes.tolist(), nodes.tolist())
    table = lead.router.matrix(distinct.tolist(), distinct.tolist())
    return table[np.ix_(position, position)]
