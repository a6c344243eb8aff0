"""Scenario section ``streets``: pedestrian zones, road crossings and time-dependent closures.

Everything here is off by default: a scenario without a ``streets`` section runs exactly as
before.
"""

from __future__ import annotations

import datetime as dt
import os
from typing import Literal

from pydantic import Field, model_validator

from carreta.sim.scenario.types import (
    FieldLocation,
    Latitude,
    Longitude,
    Number,
    ScenarioPath,
    Section,
    TimeOfDay,
    WholeNumber,
    raise_problems,
)

__all__ = ["WEEKDAYS", "Closure", "Crossings", "PedestrianZones", "Streets", "TimeWindow"]

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
#: Weekday names in ``datetime.date.weekday()`` order (Monday is 0).
WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
LonLat = tuple[Longitude, Latitude]


def _missing(path: object) -> str | None:
    return None if path is None or os.path.isfile(str(path)) else f"no such file: {path}"


class TimeWindow(Section):
    """A span of the day from ``start`` to ``end`` (local times, same day).

    Rules: ``end`` is after ``start``.
    """

    start: TimeOfDay = Field(description="Local time the window opens, 'HH:MM'.")
    end: TimeOfDay = Field(description="Local time the window closes, 'HH:MM'.")

    @model_validator(mode="after")
    def _ordered(self) -> TimeWindow:
        if self.end <= self.start:
            raise_problems([(("end",), f"must be after start ({self.start.strftime('%H:%M')})")])
        return self

    @property
    def seconds(self) -> tuple[float, float]:
        """``(start, end)`` in seconds since midnight."""
        return _seconds(self.start), _seconds(self.end)


def _seconds(value: dt.time) -> float:
    return value.hour * 3600.0 + value.minute * 60.0 + value.second


class PedestrianZones(Section):
    """Pedestrian zones: street edges whose midpoint lies in one of the polygons get a ``zone``.

    Robots move at most at ``speed_cap_kph`` on zone edges. Vans may use zone edges only
    during ``van_access`` (an empty list: never).

    Rules: ``file`` must exist.
    """

    file: ScenarioPath = Field(
        description=(
            "Polygons file (GeoJSON, GeoPackage or zipped shapefile) of the zones, e.g. "
            "Montpellier's VilleMTP_MTP_ZonePietonne.geojson. Relative to the scenario file."
        )
    )
    name_field: str | None = Field(
        default=None,
        description="Field holding the zone names; default the first of NOM, name, LIBQUART.",
    )
    names: list[str] | None = Field(
        default=None,
        description="Only these zones (e.g. [MOLIERE, COMEDIE]); default every zone in the file.",
    )
    speed_cap_kph: Number = Field(
        default=6.0,
        gt=0.0,
        description=(
            "Speed cap of robots inside a zone, km/h (Montpellier allows the droids walking "
            "pace, 6 km/h, in pedestrian streets)."
        ),
    )
    van_access: list[TimeWindow] = Field(
        default_factory=lambda: [TimeWindow(start=dt.time(6, 0), end=dt.time(11, 0))],
        description=(
            "When vans may drive in the zones (the usual morning delivery window, 06:00-11:00, "
            "by default); an empty list keeps vans out all day."
        ),
    )

    @model_validator(mode="after")
    def _file_exists(self) -> PedestrianZones:
        problem = _missing(self.file)
        if problem:
            raise_problems([(("file",), problem)])
        return self


class Crossings(Section):
    """Waits before crossing a major road.

    A robot crosses a major road at a path node that touches a major road while it arrives and
    leaves on streets that are not major (it goes straight over the road); turning onto or off
    a major road is not a crossing. Before crossing it waits a random time drawn from an
    exponential distribution of mean ``wait_mean_s``, capped at ``wait_max_s`` (random stream
    ``crossings``).
    """

    highway_classes: list[str] = Field(
        default_factory=lambda: ["trunk", "primary", "secondary"],
        description=(
            "OSM `highway` classes that are major roads (the city network maps boulevards to "
            "primary, avenues, quais and cours to secondary)."
        ),
    )
    street_names: list[str] = Field(
        default_factory=list,
        description="Streets that are major roads whatever their class (exact `name` values).",
    )
    wait_mean_s: Number = Field(default=20.0, ge=0.0, description="Mean wait, seconds.")
    wait_max_s: Number = Field(default=90.0, ge=0.0, description="Longest wait, seconds.")


class Closure(Section):
    """Streets closed to robots (and vans) at given hours on given weekdays.

    The closed edges are those inside ``polygon`` (by their midpoint), those named in
    ``streets`` and those listed in ``edges``, together. While a closure is active, routers
    treat its edges as absent: legs starting then are planned around them, and a leg that
    would reach a closed edge after the closure starts is planned around it too.

    Rules: at least one of ``polygon``, ``streets`` and ``edges``; a polygon has at least 3
    points.
    """

    name: str = Field(min_length=1, description="Name of the closure (events and logs).")
    polygon: list[LonLat] | None = Field(
        default=None,
        description="Closed area: a ring of [lon, lat] points (degrees, WGS 84).",
    )
    streets: list[str] = Field(
        default_factory=list, description="Closed streets, by their exact `name`."
    )
    edges: list[tuple[WholeNumber, WholeNumber]] = Field(
        default_factory=list, description="Closed edges as [u, v] node-id pairs (both ways)."
    )
    weekdays: list[Weekday] = Field(
        default_factory=lambda: list(WEEKDAYS),  # type: ignore[arg-type]
        description="Days of the week the closure applies: mon, tue, ... sun (default: all).",
    )
    hours: list[TimeWindow] = Field(
        min_length=1, description="When the streets are closed on those days."
    )

    @model_validator(mode="after")
    def _has_edges(self) -> Closure:
        problems: list[tuple[FieldLocation, str]] = []
        if self.polygon is None and not self.streets and not self.edges:
            problems.append(((), "needs polygon, streets or edges"))
        if self.polygon is not None and len(self.polygon) < 3:
            problems.append((("polygon",), "needs at least 3 points"))
        raise_problems(problems)
        return self


class Streets(Section):
    """Rules of the street network beyond its geometry (all off by default)."""

    zones: PedestrianZones | None = Field(default=None, description="Pedestrian zones.")
    crossings: Crossings | None = Field(
        default=None, description="Waits at major-road crossings; none if left out."
    )
    closures: list[Closure] = Field(
        default_factory=list, description="Time-dependent closures (school streets, markets)."
    )
