"""Scenario sections for the hubs and the robot fleet.

Defaults describe a TwinswHeel droid as used in the Carreta trial in Montpellier (La Poste and STEF,
from September 2021): about 6 km/h among pedestrians, up to 300 kg in 1 m³, 70 kg unladen
(usine-digitale.fr and francebleu.fr, September 2021). The battery and consumption figures are
assumptions, stated in the field descriptions.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, model_validator

from carreta.sim.scenario.types import (
    FieldLocation,
    Latitude,
    Longitude,
    Number,
    Section,
    WholeNumber,
    raise_problems,
)
from carreta.sim.scenario.vans import VanType

__all__ = ["Fleet", "Hub", "RobotType", "VanType"]

Fraction = Annotated[Number, Field(ge=0.0, le=1.0)]


class Hub(Section):
    """A depot where robots start, load parcels and recharge.

    Rules: hub ids are unique within the scenario.
    """

    id: str = Field(
        min_length=1,
        description="Name of the hub, unique in the scenario; fleet.robots[i].hub refers to it.",
    )
    lon: Longitude = Field(description="Longitude of the hub in degrees east (WGS 84).")
    lat: Latitude = Field(description="Latitude of the hub in degrees north (WGS 84).")
    loading_time_per_parcel_s: Number = Field(
        default=20.0,
        ge=0.0,
        description="Time to load one parcel into a robot at the hub, in seconds.",
    )
    chargers: WholeNumber = Field(
        default=2,
        ge=0,
        description=(
            "Number of charging points at the hub; robots queue for a free one. "
            "0 means robots cannot recharge at this hub."
        ),
    )
    charger_power_w: Number = Field(
        default=1000.0,
        gt=0.0,
        description="Power delivered by one charging point, in watts.",
    )


class RobotType(Section):
    """A group of identical robots based at one hub (or spread over all hubs).

    Rules: ``hub`` must name a hub of the scenario; ``reserve_fraction`` must not exceed
    ``recharge_below_fraction``.
    """

    type: str = Field(
        default="twinswheel",
        min_length=1,
        description="Name of the robot model, used in results (robot ids are built from it).",
    )
    count: WholeNumber = Field(ge=0, description="Number of robots of this type.")
    hub: str | None = Field(
        default=None,
        description=(
            "Id of the hub the robots start from and return to. None (the default) spreads the "
            "robots over all hubs in turn (round-robin, in the order the hubs are listed)."
        ),
    )
    speed_kph: Number = Field(
        default=6.0,
        gt=0.0,
        description=(
            "Travel speed in km/h, used on every street. 6 km/h is the walking pace announced "
            "for the TwinswHeel droids of the Carreta trial in Montpellier."
        ),
    )
    payload_kg: Number = Field(
        default=300.0,
        gt=0.0,
        description=(
            "Largest total parcel weight carried at once, in kg (TwinswHeel: up to 300 kg in 1 m³)."
        ),
    )
    parcel_slots: WholeNumber = Field(
        default=24,
        ge=1,
        description="Largest number of parcels carried at once (lockers or slots in the body).",
    )
    battery_wh: Number = Field(
        default=2000.0,
        gt=0.0,
        description=(
            "Usable battery energy in Wh. Assumption: about 4 h of operation at an average draw "
            "of about 0.5 kW, i.e. 2 kWh."
        ),
    )
    consumption_wh_per_km: Number = Field(
        default=83.0,
        gt=0.0,
        description=(
            "Energy used per km driven, in Wh/km, including the draw of sensors and computers "
            "while moving. Assumption: 0.5 kW at 6 km/h is about 83 Wh/km (a range of 24 km)."
        ),
    )
    charge_power_w: Number | None = Field(
        default=None,
        gt=0.0,
        description=(
            "Largest power the robot accepts while charging, in watts. None: charge at the "
            "hub's charger_power_w. Otherwise the lower of the two applies."
        ),
    )
    service_time_s: Number = Field(
        default=120.0,
        ge=0.0,
        description=(
            "Time spent at each delivery stop, in seconds: park, notify the customer, who "
            "unlocks the compartment and takes the parcel. Assumption: 2 minutes."
        ),
    )
    recharge_below_fraction: Fraction = Field(
        default=0.25,
        description=(
            "A robot back at its hub goes to charge when its battery is below this fraction "
            "of battery_wh (0 to 1)."
        ),
    )
    top_up_below_fraction: Fraction | None = Field(
        default=None,
        description=(
            "Opportunity charging: a robot waiting idle at its hub below this fraction of "
            "battery_wh plugs into a free charger and charges until it gets a command or is "
            "full. A top-up gives way at once to a robot that must charge (below "
            "recharge_below_fraction or short for the waiting work). None: no top-ups."
        ),
    )
    reserve_fraction: Fraction = Field(
        default=0.05,
        description=(
            "Fraction of battery_wh never planned for use: a trip is only given to a robot "
            "that can finish it and get back to its hub with at least this much left (0 to 1)."
        ),
    )

    @model_validator(mode="after")
    def _reserve_below_recharge(self) -> RobotType:
        if self.reserve_fraction > self.recharge_below_fraction:
            raise_problems(
                [
                    (
                        ("reserve_fraction",),
                        f"must not exceed recharge_below_fraction "
                        f"({self.recharge_below_fraction:g}), or robots would never recharge",
                    )
                ]
            )
        return self


class Fleet(Section):
    """The robots, and the vans they may be compared with: one entry per type and hub.

    Rules: at least one robot or van in total; a van type's name differs from every robot
    type's name (robots and vans of one hub are planned per type).
    """

    robots: list[RobotType] = Field(
        min_length=1,
        description="Robot groups; each entry gives a robot model, how many and where they start.",
    )
    vans: list[VanType] = Field(
        default_factory=list,
        description=(
            "Delivery-van groups (none by default): the baseline robots are compared against. "
            "A vans-only fleet keeps its robot groups at count 0."
        ),
    )

    @model_validator(mode="after")
    def _has_robots(self) -> Fleet:
        vans = sum(group.count for group in self.vans)
        if sum(group.count for group in self.robots) + vans == 0:
            location: FieldLocation = ("robots",)
            raise_problems([(location, "the fleet has no robots: every count is 0")])
        robot_types = {group.type for group in self.robots}
        for index, group in enumerate(self.vans):
            if group.type in robot_types:
                location = ("vans", index, "type")
                raise_problems([(location, f"{group.type!r} is already a robot type's name")])
        return self

    @property
    def robot_count(self) -> int:
        """Total number of robots over all groups."""
        return sum(group.count for group in self.robots)

    @property
    def van_count(self) -> int:
        """Total number of vans over all groups."""
        return sum(group.count for group in self.vans)
