"""What a robot (or van) is, apart from its process: kind, states, fixed characteristics,
running totals, and the hub it works from with its chargers.

Plain data and enums; the actor itself is :class:`carreta.sim.model.robot.Robot`. Tables,
plots and the replay read the canonical states and kinds from here.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import simpy

from carreta.sim.model.energy import BatterySpec
from carreta.sim.model.resources import FastPreemptiveResource

__all__ = [
    "BUSY_STATES",
    "DOWN_STATES",
    "TOP_UP",
    "ChargeRequest",
    "ChargingHub",
    "RobotSpec",
    "RobotState",
    "RobotStats",
    "VehicleKind",
]


class VehicleKind(enum.StrEnum):
    """What a :class:`Robot` actor is: a robot, or a van (:mod:`carreta.sim.model.vans`)."""

    ROBOT = "robot"
    VAN = "van"


class RobotState(enum.StrEnum):
    """The states of a robot (or van), in display order; each change is logged as
    ``state:<value>``. Operations add ``waiting_help`` and ``intervention``
    (:mod:`~carreta.sim.model.supervision`), ``broken``, ``towed`` and ``repair``
    (:mod:`~carreta.sim.model.breakdowns`)."""

    IDLE = "idle"
    LOADING = "loading"
    DRIVING = "driving"
    SERVING = "serving"
    WAITING_HELP = "waiting_help"
    INTERVENTION = "intervention"
    WAITING_CHARGER = "waiting_charger"
    CHARGING = "charging"
    BROKEN = "broken"
    TOWED = "towed"
    REPAIR = "repair"


DOWN_STATES = (RobotState.BROKEN, RobotState.TOWED, RobotState.REPAIR)
"""States of a robot out of service after a breakdown (their time is RobotStats.down_s)."""

BUSY_STATES = (
    RobotState.LOADING,
    RobotState.DRIVING,
    RobotState.SERVING,
    RobotState.WAITING_HELP,
    RobotState.INTERVENTION,
)
"""States of a robot on a tour (their time is RobotStats.busy_s)."""


@dataclass
class ChargingHub:
    """A depot on the street graph with a pool of chargers.

    The chargers are a SimPy resource with priorities: a robot that must charge takes its turn
    first and ends a top-up (``TOP_UP`` priority) if no charger is free. It is SimPy's
    preemptive resource on a heap (:mod:`carreta.sim.model.resources`): the same choices, with
    O(log n) work per request however many robots share the hub.
    """

    hub_id: str
    node: int
    lonlat: tuple[float, float]
    loading_time_per_parcel_s: float
    charger_power_w: float
    chargers: FastPreemptiveResource | None

    @classmethod
    def create(
        cls,
        env: simpy.Environment,
        *,
        hub_id: str,
        node: int,
        lonlat: tuple[float, float],
        loading_time_per_parcel_s: float,
        chargers: int,
        charger_power_w: float,
    ) -> ChargingHub:
        """A hub with ``chargers`` charging points (none: robots cannot charge there)."""
        pool = FastPreemptiveResource(env, capacity=chargers) if chargers > 0 else None
        return cls(hub_id, node, lonlat, loading_time_per_parcel_s, charger_power_w, pool)


TOP_UP = 1
"""Charger priority of a top-up; a robot that must charge asks with priority 0 and preempts it."""


@dataclass(frozen=True)
class ChargeRequest:
    """A command to charge now (sent when a robot cannot afford the work that is waiting)."""


@dataclass(frozen=True, slots=True)
class RobotSpec:
    """The fixed characteristics of a robot type."""

    type_name: str
    speed_kph: float
    payload_kg: float
    parcel_slots: int
    service_time_s: float
    charge_power_w: float | None
    battery: BatterySpec
    kind: VehicleKind = VehicleKind.ROBOT
    energy_source: str = "electric"  # or "diesel" (vans)
    fuel_l_per_100km: float = 0.0  # diesel vans


@dataclass
class RobotStats:
    """Time and energy accounting of one robot, in seconds, metres and Wh."""

    busy_s: float = 0.0
    idle_s: float = 0.0
    charging_s: float = 0.0
    waiting_charger_s: float = 0.0
    distance_m: float = 0.0
    drive_energy_wh: float = 0.0
    charged_wh: float = 0.0
    grid_energy_wh: float = 0.0
    tours: int = 0
    deliveries: int = 0
    min_battery_wh: float = float("inf")
    crossings: int = 0  # major roads crossed (streets.crossings)
    interventions: int = 0  # routine remote help received (carreta.sim.model.supervision)
    takeovers: int = 0  # fixed-obstacle take-overs received
    help_s: float = 0.0  # time being helped (interventions and take-overs)
    waiting_help_s: float = 0.0  # time stopped waiting for a free operator or escort
    escorted_s: float = 0.0  # time accompanied by a walking escort
    breakdowns: int = 0  # failures (carreta.sim.model.breakdowns)
    down_s: float = 0.0  # time broken, towed or in repair
