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

import numpy as np
import simpy

from carreta.routing.router import Router
from carreta.sim.errors import ScenarioError
from carreta.sim.model.dispatch import Dispatcher
from carreta.sim.model.energy import BatterySpec
from carreta.sim.model.records import Doors, EventLog, Leg, Order
from carreta.sim.model.robot import LegPlanning, Robot
from carreta.sim.model.vehicles import ChargingHub, RobotSpec, VehicleKind
from carreta.sim.model.world import HUB_MAX_SNAP_M, VanNetwork, World
from carreta.sim.scenario.models import Scenario
from carreta.sim.scenario.vans import VanType

logger = logging.getLogger(__name__)

__all__ = ["build_vans", "van_doors", "van_routers", "van_spec"]

VAN_RESERVE_FRACTION = 0.05
"""Share of an electric van's battery never planned for use."""


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
        kind=VehicleKind.VAN,
        energy_source=van.energy_source,
        fuel_l_per_100km=0.0 if electric else van.fuel_l_per_100km,
    )


def _van_hubs(
    env: simpy.Environment, scenario: Scenario, network: VanNetwork
) -> dict[str, ChargingHub]:
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
        hubs[hub.id] = ChargingHub.create(
            env,
            hub_id=hub.id,
            node=int(snapped.nodes[i]),
            lonlat=(hub.lon, hub.lat),
            loading_time_per_parcel_s=hub.loading_time_per_parcel_s,
            chargers=0,  # vans charge or refuel outside the simulated day
            charger_power_w=hub.charger_power_w,
        )
    return hubs


def van_routers(scenario: Scenario, world: World) -> list[Router]:
    """The routers of the scenario's van groups, in order (none without vans)."""
    groups = [group for group in scenario.fleet.vans if group.count > 0]
    if not groups:
        return []
    network = world.van_network(scenario)
    return [network.router(group.traffic_speed_fraction) for group in groups]


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
    streets: LegPlanning | None = None,
) -> list[Robot]:
    """The scenario's vans, registered with ``dispatcher``; numbered from ``first_number``.

    The van network is loaded on first use and kept by ``world`` for later runs; ``streets``
    plans the vans' legs (the pedestrian zones' access hours, :func:`van_routers` give the
    routers it must close).

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
    network = world.van_network(scenario)
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
                streets=streets,
                run_end_s=scenario.simulation.window_h[1] * 3600.0,
            )
            vans.append(van)
            dispatcher.add_robot(van)
    logger.info("%d vans on the drive network", len(vans))
    return vans
