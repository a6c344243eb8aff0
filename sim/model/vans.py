"""Delivery vans: the baseline robots are compared against, on the same orders.

Vans are :class:`~carreta.sim.model.robot.Robot` actors with a van
:class:`~carreta.sim.model.robot.RobotSpec` (kind ``"van"``), a router on the directed drive
network (``routing.load_graph(..., profile="van")``, OSMnx speeds scaled by the van's
``traffic_speed_fraction``) and their own :class:`~carreta.sim.model.records.Doors`: each order's
door snapped to the drive network, with the stop time ``parking_search_s + service_time_s + 2 ×
access / walk speed`` (the driver walks from the van to the door and back). The orders themselves
are drawn and snapped on the robot network as always, so robots and vans of one seed see the same
order table (created, lon, lat, weight).

Vans start from the scenario's hubs (snapped to the drive network) and are dispatched like
robots, but never charge during the day: an electric van's battery (keeping 5 % in reserve)
bounds its day; a diesel van's energy is its fuel, counted in litres per km for costs and CO2.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import networkx as nx
import numpy as np
import simpy

from carreta.routing import Snapper, load_graph
from carreta.routing.router import Router
from carreta.sim.errors import ScenarioError
from carreta.sim.model.dispatch import Dispatcher
from carreta.sim.model.energy import BatterySpec
from carreta.sim.model.records import Doors, EventLog, Leg, Order
from carreta.sim.model.robot import Hub, Robot, RobotSpec
from carreta.sim.model.world import HUB_MAX_SNAP_M, World, network_source
from carreta.sim.scenario.models import Scenario
from carreta.sim.scenario.vans import VanType

logger = logging.getLogger(__name__)

__all__ = ["VanNetwork", "build_vans", "load_van_network", "van_doors", "van_spec"]

VAN_RESERVE_FRACTION = 0.05
"""Share of an electric van's battery never planned for use."""


@dataclass
class VanNetwork:
    """The directed drive network with one router per traffic speed fraction."""

    graph: nx.MultiDiGraph
    snapper: Snapper
    node_lonlat: tuple[np.ndarray, np.ndarray, np.ndarray]
    _routers: dict[float, Router] = field(default_factory=dict)

    def router(self, traffic_speed_fraction: float) -> Router:
        """The router for vans reaching ``traffic_speed_fraction`` of the streets' speeds."""
        router = self._routers.get(traffic_speed_fraction)
        if router is None:
            graph = self.graph.copy()
            for _, _, data in graph.edges(data=True):
                data["speed_kph"] = float(data["speed_kph"]) * traffic_speed_fraction
                data["travel_time"] = float(data["travel_time"]) / traffic_speed_fraction
            router = Router(graph, weight="travel_time")
            self._routers[traffic_speed_fraction] = router
        return router

    def top_speed_kph(self) -> float:
        """The highest street speed of the network, km/h (before the traffic fraction)."""
        return max(float(data["speed_kph"]) for _, _, data in self.graph.edges(data=True))


def load_van_network(scenario: Scenario) -> VanNetwork:
    """Load the scenario's network with the van profile (from carreta.routing's cache when it can).

    Raises
    ------
    NetworkError
        If the network cannot be loaded.
    """
    graph = load_graph(
        network_source(scenario.network),
        profile="van",
        simplify=scenario.network.simplify,
        cache_dir=scenario.network.cache_dir,
    )
    node_ids = np.fromiter(graph.nodes, dtype=np.int64, count=len(graph))
    lons = np.array([data["x"] for _, data in graph.nodes(data=True)], dtype=float)
    lats = np.array([data["y"] for _, data in graph.nodes(data=True)], dtype=float)
    return VanNetwork(graph, Snapper(graph), (node_ids, lons, lats))


def van_doors(network: VanNetwork, orders: list[Order], van: VanType) -> Doors:
    """Where vans of type ``van`` stop for each order, and for how long (by list position)."""
    if not orders:
        return Doors(np.empty(0, dtype=np.int64), np.empty(0))
    snapped = network.snapper.snap(
        np.array([order.lon for order in orders]), np.array([order.lat for order in orders])
    )
    walk_s = 2.0 * snapped.distance_m / (van.walking_speed_kph / 3.6)
    stop_s = van.parking_search_s + van.service_time_s + walk_s
    return Doors(np.asarray(snapped.nodes, dtype=np.int64), np.asarray(stop_s, dtype=float))


def van_spec(van: VanType, *, top_speed_kph: float) -> RobotSpec:
    """The :class:`RobotSpec` of a van type.

    ``speed_kph`` is the van's top speed (for the tour planner's battery budget, which it makes
    conservative) and ``service_time_s`` its stop time before walking (for planning estimates).
    """
    electric = van.energy_source == "electric"
    capacity = van.battery_wh if electric else 0.0
    battery = BatterySpec(
        capacity_wh=capacity,
        consumption_wh_per_km=van.consumption_wh_per_km if electric else 0.0,
        reserve_wh=VAN_RESERVE_FRACTION * capacity,
        recharge_below_wh=0.0,
    )
    return RobotSpec(
        type_name=van.type,
        speed_kph=top_speed_kph * van.traffic_speed_fraction,
        payload_kg=van.payload_kg,
        parcel_slots=van.parcel_slots,
        service_time_s=van.parking_search_s + van.service_time_s,
        charge_power_w=None,
        battery=battery,
        kind="van",
        energy_source=van.energy_source,
        fuel_l_per_100km=0.0 if electric else van.fuel_l_per_100km,
    )


def _van_hubs(env: simpy.Environment, scenario: Scenario, network: VanNetwork) -> dict[str, Hub]:
    lons = np.array([hub.lon for hub in scenario.hubs])
    lats = np.array([hub.lat for hub in scenario.hubs])
    snapped = network.snapper.snap(lons, lats)
    hubs = {}
    for i, hub in enumerate(scenario.hubs):
        if snapped.distance_m[i] > HUB_MAX_SNAP_M:
            raise ScenarioError(
                "<scenario>",
                f"hubs[{i}]",
                f"hub '{hub.id}' is {snapped.distance_m[i]:.0f} m from the drive network of "
                f"the vans (limit {HUB_MAX_SNAP_M:.0f} m)",
            )
        hubs[hub.id] = Hub.create(
            env,
            hub_id=hub.id,
            node=int(snapped.nodes[i]),
            lonlat=(hub.lon, hub.lat),
            loading_time_per_parcel_s=hub.loading_time_per_parcel_s,
            chargers=0,  # vans charge or refuel outside the simulated day
            charger_power_w=hub.charger_power_w,
        )
    return hubs


def build_vans(
    env: simpy.Environment,
    scenario: Scenario,
    world: World,
    orders: list[Order],
    dispatcher: Dispatcher,
    log: EventLog,
    legs: list[Leg],
    *,
    first_number: int,
) -> list[Robot]:
    """The scenario's vans, registered with ``dispatcher``; numbered from ``first_number``.

    The van network is loaded on first use and kept on ``world`` for later runs.

    Raises
    ------
    NetworkError
        If the network cannot be loaded with the van profile.
    ScenarioError
        If a hub is farther than 500 m from the drive network.
    """
    groups = [group for group in scenario.fleet.vans if group.count > 0]
    if not groups:
        return []
    if world.vans is None:
        world.vans = load_van_network(scenario)
    network = world.vans
    hubs = _van_hubs(env, scenario, network)
    hub_ids = list(hubs)
    vans: list[Robot] = []
    top_speed_kph = network.top_speed_kph()
    for group in groups:
        router = network.router(group.traffic_speed_fraction)
        doors = van_doors(network, orders, group)
        spec = van_spec(group, top_speed_kph=top_speed_kph)
        for _ in range(group.count):
            hub = hubs[group.hub] if group.hub is not None else hubs[hub_ids[len(vans) % len(hubs)]]
            van = Robot(
                env=env,
                robot_id=f"{group.type}-{first_number + len(vans):04d}",
                spec=spec,
                hub=hub,
                router=router,
                log=log,
                legs=legs,
                dispatcher=dispatcher,
                charging_efficiency=scenario.energy.charging_efficiency_fraction,
                doors=doors,
            )
            vans.append(van)
            dispatcher.add_robot(van)
    logger.info("%d vans on the drive network", len(vans))
    return vans
