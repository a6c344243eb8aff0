"""Scenario section for delivery vans, the baseline robots are compared against.

A van drives the directed drive network (one-way rules, speeds from OSM ``maxspeed`` tags or
French urban defaults, slowed by ``traffic_speed_fraction``) from the same hubs as the robots.
At each stop its driver searches for a parking place, walks from the van to the door and back
(the door's distance to the van network), and hands the parcel over. Vans take the same orders
as robots, dispatched by the same policy; they need no supervision and never break down.
Electric vans charge overnight, diesel vans refuel outside the simulated day.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from carreta.sim.scenario.types import Number, Section, WholeNumber

__all__ = ["VanType"]

Positive = Annotated[Number, Field(gt=0.0)]


class VanType(Section):
    """A group of identical delivery vans based at one hub (or spread over all hubs).

    Rules: ``hub`` must name a hub of the scenario; a van type may not share its name with a
    robot type.
    """

    type: str = Field(
        default="van",
        min_length=1,
        description="Name of the van model, used in results (van ids are built from it).",
    )
    count: WholeNumber = Field(ge=0, description="Number of vans of this type.")
    hub: str | None = Field(
        default=None,
        description=(
            "Id of the hub the vans start from and return to. None spreads them over all hubs "
            "in turn, like robots."
        ),
    )
    energy_source: Literal["diesel", "electric"] = Field(
        default="diesel", description="What the van runs on: its emission factor and price."
    )
    payload_kg: Positive = Field(
        default=700.0,
        description="Largest load in kg (assumption: a compact van carries 600-800 kg).",
    )
    parcel_slots: WholeNumber = Field(
        default=120,
        ge=1,
        description=(
            "Largest number of parcels on board (assumption: a courier's round is 100-150 "
            "parcels); dispatch.max_stops_per_tour still limits a tour."
        ),
    )
    traffic_speed_fraction: Annotated[Number, Field(gt=0.0, le=1.0)] = Field(
        default=0.5,
        description=(
            "Share of the street's speed (OSM maxspeed, else the French urban default of its "
            "class) a van averages in city-centre traffic, lights and junctions included "
            "(assumption: half)."
        ),
    )
    parking_search_s: Number = Field(
        default=120.0,
        ge=0.0,
        description=(
            "Time to find a place to stop at each delivery stop, in seconds (assumption; "
            "studies of delivery vehicles in Seattle found cruising for parking a sizeable "
            "share of urban delivery time)."
        ),
    )
    service_time_s: Number = Field(
        default=60.0,
        ge=0.0,
        description="Time at the door to hand the parcel over, in seconds (assumption).",
    )
    walking_speed_kph: Positive = Field(
        default=4.5,
        description=(
            "Walking pace of the driver carrying parcels, km/h (assumption); the driver walks "
            "from the van to the door and back."
        ),
    )
    fuel_l_per_100km: Number = Field(
        default=9.0,
        ge=0.0,
        description=(
            "For diesel vans: litres per 100 km in town (assumption: compact diesel vans use "
            "7-10 L/100 km in urban stop-and-go)."
        ),
    )
    consumption_wh_per_km: Number = Field(
        default=220.0,
        ge=0.0,
        description=(
            "For electric vans: energy per km from the battery, Wh/km (assumption: compact "
            "electric vans are rated about 200 Wh/km, WLTP)."
        ),
    )
    battery_wh: Positive = Field(
        default=45_000.0,
        description=(
            "For electric vans: usable battery energy, Wh (a compact electric van has about "
            "45 kWh); charged overnight, never during the simulated day."
        ),
    )
