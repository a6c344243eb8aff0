"""Scenario sections describing the parcels to deliver: when, where and how heavy."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, model_validator

from carreta.sim.scenario.types import (
    BBox,
    FieldLocation,
    Latitude,
    Longitude,
    Number,
    ScenarioPath,
    Section,
    raise_problems,
)

__all__ = ["DEFAULT_HOURLY_PROFILE", "Demand", "Destinations", "WeightDistribution"]

DEFAULT_HOURLY_PROFILE: tuple[float, ...] = (
    *(0.0,) * 8,
    # 08  09    10    11    12   13   14   15    16   17   18
    6.0, 12.0, 14.0, 12.0, 8.0, 7.0, 9.0, 10.0, 9.0, 8.0, 5.0,
    *(0.0,) * 5,
)  # fmt: skip
"""Relative order weights per hour: none before 08:00 or from 19:00, a morning peak at 10:00."""

_KIND_FIELDS: dict[str, tuple[str, ...]] = {
    "nodes": (),
    "bbox": ("bbox",),
    "circle": ("center_lon", "center_lat", "radius_m"),
    "points_csv": ("points_csv",),
    "addresses": ("addresses_file",),
}


def _missing_file(path: Path) -> str | None:
    """Return a problem message if ``path`` is not an existing file, else ``None``."""
    if os.path.isfile(path):
        return None
    return f"no such file: {path}"


class Destinations(Section):
    """Where the generated orders' delivery doors are.

    Door points are drawn inside the area given by ``kind`` and snapped to the nearest street
    node; a point farther than ``max_snap_distance_m`` from any street is drawn again.

    Rules: the fields of the chosen ``kind`` are required and the fields of other kinds must be
    left out (``bbox`` for ``bbox``; ``center_lon``, ``center_lat`` and ``radius_m`` for
    ``circle``; ``points_csv`` for ``points_csv``; ``addresses_file`` for ``addresses``, with
    ``area_file`` and ``area_names`` optional); the files named must exist.
    """

    kind: Literal["nodes", "bbox", "circle", "points_csv", "addresses"] = Field(
        default="nodes",
        description=(
            "How door points are drawn. 'nodes': a street-network node chosen uniformly at "
            "random. 'bbox': a point uniform in the box `bbox`. 'circle': a point uniform in the "
            "disc of radius_m around (center_lon, center_lat). 'points_csv': a row of the file "
            "`points_csv`, chosen with probability proportional to its weight. 'addresses': "
            "a real postal address of `addresses_file`, uniformly (optionally only those "
            "inside the `area_names` polygons of `area_file`); a door farther than "
            "max_snap_distance_m from the street network is rejected (address_too_far), not "
            "drawn again."
        ),
    )
    bbox: BBox | None = Field(
        default=None,
        description="For kind 'bbox': the box [west, south, east, north] in degrees (WGS 84).",
    )
    center_lon: Longitude | None = Field(
        default=None, description="For kind 'circle': longitude of the centre, degrees east."
    )
    center_lat: Latitude | None = Field(
        default=None, description="For kind 'circle': latitude of the centre, degrees north."
    )
    radius_m: Number | None = Field(
        default=None, gt=0.0, description="For kind 'circle': radius of the disc in metres."
    )
    points_csv: ScenarioPath | None = Field(
        default=None,
        description=(
            "For kind 'points_csv': a CSV file with a header row and columns `lon`, `lat` "
            "(degrees, WGS 84) and optionally `weight` (non-negative; 1 if absent). "
            "Relative to the scenario file's folder."
        ),
    )
    addresses_file: ScenarioPath | None = Field(
        default=None,
        description=(
            "For kind 'addresses': a points file of postal addresses (zipped shapefile, "
            "GeoPackage, GeoJSON), e.g. Montpellier's VilleMTP_MTP_PointAdresse.zip. Relative "
            "to the scenario file's folder."
        ),
    )
    area_file: ScenarioPath | None = Field(
        default=None,
        description=(
            "For kind 'addresses': polygons (pedestrian zones, districts) restricting the "
            "addresses drawn to those inside `area_names`. Relative to the scenario file."
        ),
    )
    area_names: list[str] | None = Field(
        default=None,
        description=(
            "For kind 'addresses' with area_file: names of the polygons to keep (field NOM, "
            "name or LIBQUART), e.g. [MOLIERE] for the Écusson; default all of them."
        ),
    )
    access_speed_kph: Number | None = Field(
        default=None,
        gt=0.0,
        description=(
            "Walking pace (km/h) over the access distance from the street node to the door; "
            "that walk's time is added to the service time at the stop. None: the walk is "
            "part of the service time."
        ),
    )
    max_snap_distance_m: Number = Field(
        default=300.0,
        gt=0.0,
        description=(
            "Largest distance in metres between a drawn door point and the street node it is "
            "snapped to; farther points are drawn again."
        ),
    )

    @model_validator(mode="after")
    def _fields_match_kind(self) -> Destinations:
        problems: list[tuple[FieldLocation, str]] = []
        for kind, names in _KIND_FIELDS.items():
            for name in names:
                given = getattr(self, name) is not None
                if kind == self.kind and not given:
                    problems.append(((name,), f"required when kind is '{kind}'"))
                elif kind != self.kind and given:
                    problems.append(
                        ((name,), f"only used when kind is '{kind}', but kind is '{self.kind}'")
                    )
        if self.kind == "points_csv" and self.points_csv is not None:
            problem = _missing_file(self.points_csv)
            if problem:
                problems.append((("points_csv",), problem))
        problems += self._address_problems()
        raise_problems(problems)
        return self

    def _address_problems(self) -> list[tuple[FieldLocation, str]]:
        problems: list[tuple[FieldLocation, str]] = []
        area_given = self.area_file is not None or self.area_names is not None
        if self.kind != "addresses" and area_given:
            name = "area_file" if self.area_file is not None else "area_names"
            problems.append(((name,), f"only used when kind is 'addresses', not '{self.kind}'"))
        if self.area_names is not None and self.area_file is None:
            problems.append((("area_file",), "required when area_names is given"))
        for name in ("addresses_file", "area_file"):
            path = getattr(self, name)
            problem = None if path is None else _missing_file(path)
            if problem:
                problems.append(((name,), problem))
        return problems


class WeightDistribution(Section):
    """The distribution of parcel weights, in kg.

    'lognormal' has the given mean and standard deviation (of the weight itself, not of its
    logarithm); 'uniform' is uniform between min_kg and max_kg (mean_kg and sd_kg unused);
    'fixed' gives every parcel mean_kg. Drawn weights are clipped to [min_kg, max_kg].

    Rules: min_kg ≤ max_kg; for 'lognormal' and 'fixed', min_kg ≤ mean_kg ≤ max_kg; for
    'lognormal', sd_kg > 0.
    """

    distribution: Literal["lognormal", "uniform", "fixed"] = Field(
        default="lognormal", description="Shape of the distribution."
    )
    mean_kg: Number = Field(
        default=2.5,
        gt=0.0,
        description="Mean parcel weight in kg (assumption: typical e-commerce parcels).",
    )
    sd_kg: Number = Field(
        default=3.0, ge=0.0, description="Standard deviation of parcel weight in kg."
    )
    min_kg: Number = Field(default=0.1, ge=0.0, description="Lightest parcel in kg.")
    max_kg: Number = Field(
        default=30.0,
        gt=0.0,
        description="Heaviest parcel in kg (30 kg is the usual limit of parcel services).",
    )

    @model_validator(mode="after")
    def _consistent(self) -> WeightDistribution:
        problems: list[tuple[FieldLocation, str]] = []
        if self.min_kg > self.max_kg:
            problems.append((("max_kg",), f"must be at least min_kg ({self.min_kg:g})"))
        elif self.distribution != "uniform" and not self.min_kg <= self.mean_kg <= self.max_kg:
            problems.append(
                (
                    ("mean_kg",),
                    f"must lie between min_kg ({self.min_kg:g}) and max_kg ({self.max_kg:g})",
                )
            )
        if self.distribution == "lognormal" and self.sd_kg == 0:
            problems.append((("sd_kg",), "must be greater than 0 for a lognormal distribution"))
        raise_problems(problems)
        return self

    @property
    def heaviest_kg(self) -> float:
        """The heaviest parcel this distribution can produce, in kg."""
        return self.mean_kg if self.distribution == "fixed" else self.max_kg


def _twenty_four_items(value: object) -> object:
    if isinstance(value, list | tuple) and len(value) != 24:
        raise ValueError(f"must have exactly 24 weights, one per hour from 00:00, not {len(value)}")
    return value


HourlyProfile = Annotated[
    list[Annotated[Number, Field(ge=0.0)]],
    Field(min_length=24, max_length=24),
    BeforeValidator(_twenty_four_items),
]


class Demand(Section):
    """The parcels to deliver.

    Orders are either generated or read from ``orders_csv``. Generated orders arrive as a
    Poisson process whose rate in hour h of the day is ``orders_per_day × hourly_profile[h] /
    sum(hourly_profile)`` per hour; only the simulated hours produce orders, so a simulation
    shorter than the profile gets the matching share of ``orders_per_day``. An order is created
    when its parcel is ready at the hub; it must be delivered within ``time_window_min``.

    Rules: ``hourly_profile`` has 24 non-negative weights, at least one positive, and (unless
    ``orders_csv`` is given or ``orders_per_day`` is 0) a positive weight within the simulated
    hours; ``orders_csv`` must exist.
    """

    orders_per_day: Number = Field(
        default=1500.0,
        ge=0.0,
        description=(
            "Expected number of orders over the whole 24-hour profile (the actual count is random)."
        ),
    )
    hourly_profile: HourlyProfile = Field(
        default=list(DEFAULT_HOURLY_PROFILE),
        description=(
            "24 relative weights, one per hour of the day from 00:00 (item 0) to 23:00 "
            "(item 23); only their proportions matter. The default has no orders before 08:00 "
            "or from 19:00 and a morning peak, the usual shape of parcel delivery rounds."
        ),
    )
    destinations: Destinations = Field(
        default_factory=Destinations, description="Where the delivery doors are."
    )
    parcel_weight_kg: WeightDistribution = Field(
        default_factory=WeightDistribution, description="How heavy the parcels are."
    )
    time_window_min: Number = Field(
        default=120.0,
        gt=0.0,
        description=(
            "Promised delivery time in minutes: an order delivered more than this long after "
            "its creation counts as late (orders_csv may give each order its own due time)."
        ),
    )
    orders_csv: ScenarioPath | None = Field(
        default=None,
        description=(
            "Read the orders from this CSV file instead of generating them (orders_per_day, "
            "hourly_profile, destinations and parcel_weight_kg are then unused). Header row, "
            "one order per row, columns: `created_s` (seconds since midnight of "
            "simulation.date) or `created` ('HH:MM' or 'HH:MM:SS'); `lon`, `lat` (door, "
            "degrees WGS 84, snapped to the network within "
            "destinations.max_snap_distance_m); `weight_kg`; optional `due_s` or `due` (same "
            "forms as created; default created + time_window_min); optional `order_id` "
            "(default: row number). Relative to the scenario file's folder."
        ),
    )

    @model_validator(mode="after")
    def _consistent(self) -> Demand:
        problems: list[tuple[FieldLocation, str]] = []
        if sum(self.hourly_profile) <= 0:
            problems.append(
                (("hourly_profile",), "all 24 weights are 0: at least one must be positive")
            )
        if self.orders_csv is not None:
            problem = _missing_file(self.orders_csv)
            if problem:
                problems.append((("orders_csv",), problem))
        raise_problems(problems)
        return self

    @property
    def generates_orders(self) -> bool:
        """Whether orders are generated (rather than read from ``orders_csv``)."""
        return self.orders_csv is None
