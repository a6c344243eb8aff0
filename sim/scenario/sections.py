"""Scenario sections for the network source, dispatch policy, simulated day, energy and outputs."""

from __future__ import annotations

import datetime as dt
import importlib.util
import os
from pathlib import Path
from typing import Literal, TypeAlias

from pydantic import Field, model_validator

from carreta.sim.scenario.types import (
    BBox,
    CalendarDate,
    Flag,
    Number,
    ScenarioPath,
    Section,
    TimeOfDay,
    WholeNumber,
    hours_of_day,
    raise_problems,
)

__all__ = ["Dispatch", "Energy", "NetworkSource", "Outputs", "Simulation"]


OSM_CREDIT = "Street network © OpenStreetMap contributors (ODbL)"
"""The credit line of an OpenStreetMap network (file, place or bbox)."""


class NetworkSource(Section):
    """Where the street network comes from.

    The first usable source wins: ``gis_file`` if the file exists, then ``osm_file`` if it
    exists, otherwise ``place`` (downloaded once with OSMnx and cached), otherwise ``bbox``
    (downloaded likewise). So a
    scenario can name a local extract and keep ``place`` as the fallback for machines without it.

    Rules: at least one of ``gis_file``, ``osm_file``, ``place`` and ``bbox``; a named
    ``gis_file`` or ``osm_file`` that is missing is an error, unless ``if_file_missing`` is
    ``download`` and there is a place or bbox to download.
    """

    gis_file: ScenarioPath | None = Field(
        default=None,
        description=(
            "A GIS line layer of street centrelines (zipped shapefile .zip, .shp, .gpkg, "
            ".geojson), e.g. Montpellier's VilleMTP_MTP_FilaireVoies.zip: segment ends within "
            "1.5 m are joined into intersections (docs/ecusson.md). Used before osm_file when "
            "the file exists. Relative to the scenario file's folder."
        ),
    )
    osm_file: ScenarioPath | None = Field(
        default=None,
        description=(
            "A local extract: OSM XML (.osm, .xml, optionally .bz2-compressed) or GraphML "
            "(.graphml). Relative to the scenario file's folder."
        ),
    )
    place: str | None = Field(
        default=None,
        min_length=1,
        description="A place name geocoded by OSMnx (Nominatim), e.g. 'Montpellier, France'.",
    )
    bbox: BBox | None = Field(
        default=None,
        description="A box [west, south, east, north] in degrees (WGS 84) to download.",
    )
    if_file_missing: Literal["error", "download"] = Field(
        default="error",
        description=(
            "When gis_file or osm_file is named but not on this machine: 'error' stops with one "
            "line naming the file; 'download' uses place (or bbox) instead, downloaded once "
            "through OSMnx and then cached, and says so in a warning."
        ),
    )
    simplify: Flag = Field(
        default=True,
        description="Merge chains of degree-2 nodes into single edges (OSMnx simplification).",
    )
    cache_dir: ScenarioPath | None = Field(
        default=None,
        description=(
            "Folder for downloaded networks. None: OSMnx's own cache setting. Relative to the "
            "scenario file's folder."
        ),
    )
    attribution: str | None = Field(
        default=None,
        min_length=1,
        description=(
            "Credit line for the street network, written in results and shown on maps and the "
            "replay. None: OpenStreetMap's for an OSM source, the file's name for a gis_file "
            "(give its owner and licence here)."
        ),
    )

    @model_validator(mode="after")
    def _has_source(self) -> NetworkSource:
        download = self.place is not None or self.bbox is not None
        if self.gis_file is None and self.osm_file is None and not download:
            raise_problems([((), "needs a source: give gis_file, osm_file, place or bbox")])
        for field, path in (("gis_file", self.gis_file), ("osm_file", self.osm_file)):
            if path is None or os.path.isfile(path):
                continue
            if self.if_file_missing == "error":
                hint = (
                    " (or set network.if_file_missing: download to download the place instead)"
                    if download
                    else ""
                )
                raise_problems([((field,), f"no such file: {path}{hint}")])
            if not download:
                problem = f"no such file: {path} (and no place or bbox to download instead)"
                raise_problems([((field,), problem)])
        return self

    def source_kind(self) -> Literal["gis_file", "osm_file", "place", "bbox"]:
        """Return the source that will be used now: the file if it exists, else place, else bbox."""
        if self.gis_file is not None and os.path.isfile(self.gis_file):
            return "gis_file"
        if self.osm_file is not None and os.path.isfile(self.osm_file):
            return "osm_file"
        return "place" if self.place is not None else "bbox"

    def credit(self) -> str:
        """The credit line of the source that will be used now (see ``attribution``)."""
        if self.attribution is not None:
            return self.attribution
        if self.source_kind() == "gis_file":
            assert self.gis_file is not None
            return f"Street network: {Path(self.gis_file).name}"
        return OSM_CREDIT


DispatchPolicyName: TypeAlias = Literal["nearest_idle", "batch", "tours"]
"""The dispatch policies (the registry :data:`carreta.sim.model.policies.POLICIES` implements
exactly these)."""

TourPlannerName: TypeAlias = Literal["builtin", "insertion", "pyvrp"]
"""The tour planners of policy 'tours' (:func:`carreta.sim.model.tours.plan_tours`)."""


class Dispatch(Section):
    """How orders are assigned to robots.

    'nearest_idle': first come, first served: as soon as an order is created or a robot comes
    back, the oldest waiting order goes to the idle robot that can reach its door soonest; one
    order per trip (hub → door → hub). 'batch': every ``batch_interval_s``, an optimal
    assignment of waiting orders to idle robots (least lateness first, then travel time); one
    order per trip. 'tours': every ``batch_interval_s``, each waiting order goes to the nearest
    hub with idle robots, and each hub plans multi-stop tours of up to ``max_stops_per_tour``
    stops for its idle robots with ``planner``, minimising driving seconds plus 10 × seconds
    late (loading and service included); orders that fit no tour wait for the next round. A
    trip never exceeds the robot's parcel_slots or payload_kg, nor what its battery can drive.

    Rules: planner 'pyvrp' needs PyVRP installed (``pip install carreta[vrp]``).
    """

    policy: DispatchPolicyName = Field(
        default="tours", description="Dispatch policy (see above); tours serves the default day."
    )
    batch_interval_s: Number = Field(
        default=120.0,
        gt=0.0,
        description="For 'batch' and 'tours': seconds between two dispatch rounds.",
    )
    max_stops_per_tour: WholeNumber = Field(
        default=8,
        ge=1,
        description="For 'tours': most delivery stops in one trip.",
    )
    planner: TourPlannerName = Field(
        default="builtin",
        description=(
            "For 'tours': how tours are planned. 'builtin': ruin and recreate (strings of "
            "stops removed from neighbouring tours and put back where they cost least) with "
            "simulated annealing, for time_budget_ms; deterministic (its budget is counted in "
            "work calibrated to milliseconds), so a seed reproduces the run. 'insertion': "
            "cheapest insertion, then local_search_iterations of 2-opt and relocate moves "
            "(fast; its plans cost 20-65 % more on waves of 25-200 orders). 'pyvrp': the PyVRP "
            "solver (the vrp extra) for time_budget_ms on the wall clock, with hard deadlines; "
            "a run is then not reproducible. docs/benchmarks.md compares them."
        ),
    )
    time_budget_ms: Number = Field(
        default=200.0,
        gt=0.0,
        description=(
            "For 'tours' with planner 'builtin' or 'pyvrp': planning time of one dispatch "
            "round, all hubs together (each hub's share in proportion to its orders), in "
            "milliseconds. 'builtin' stops sooner when its plan has not improved for a while, "
            "and at the latest at 3 × this on the wall clock (a slow machine)."
        ),
    )
    local_search_iterations: WholeNumber = Field(
        default=200,
        ge=0,
        description=(
            "For 'tours' with planner 'insertion': improvement moves applied per hub and round; "
            "0 keeps the first tours."
        ),
    )

    @model_validator(mode="after")
    def _planner_installed(self) -> Dispatch:
        if self.planner == "pyvrp" and importlib.util.find_spec("pyvrp") is None:
            problem = "'pyvrp' needs PyVRP: pip install 'carreta[vrp]' (or choose 'builtin')"
            raise_problems([(("planner",), problem)])
        return self


class Simulation(Section):
    """The simulated day.

    Rules: the simulated window, from ``start`` for ``duration_h`` hours, ends by midnight of
    ``date``.
    """

    date: CalendarDate = Field(
        default=dt.date(2026, 11, 25),
        description="Calendar day simulated, YYYY-MM-DD (default a Wednesday, a working day).",
    )
    start: TimeOfDay = Field(
        default=dt.time(7, 0),
        description="Local time the simulation starts, 'HH:MM' (quote it in YAML).",
    )
    duration_h: Number = Field(
        default=13.0,
        gt=0.0,
        le=24.0,
        description=(
            "Simulated hours from start. Orders still open at the end are reported as undelivered."
        ),
    )
    seed: WholeNumber = Field(
        default=1,
        ge=0,
        description=(
            "Seed of every random stream of the run (demand, service times, ...). The same "
            "seed gives the same orders whatever the fleet."
        ),
    )

    @model_validator(mode="after")
    def _within_the_day(self) -> Simulation:
        start_h, end_h = hours_of_day(self.start, self.duration_h)
        if end_h > 24.0 + 1e-9:
            raise_problems(
                [
                    (
                        ("duration_h",),
                        f"must be at most {24.0 - start_h:g}: starting at "
                        f"{self.start.strftime('%H:%M')}, the simulation must end by midnight",
                    )
                ]
            )
        return self

    @property
    def window_h(self) -> tuple[float, float]:
        """The simulated window ``(start_h, end_h)`` in hours since midnight of :attr:`date`."""
        return hours_of_day(self.start, self.duration_h)


class Energy(Section):
    """Figures that turn charged energy and burnt diesel into emissions and cost."""

    grid_co2_g_per_kwh: Number = Field(
        default=52.0,
        ge=0.0,
        description=(
            "Grid carbon intensity in g CO2e per kWh drawn from the grid. 52 is the order of "
            "the French average consumption mix over its life cycle (ADEME Base Empreinte, "
            "about 50-60 g in recent years); RTE reports 32 g/kWh for direct emissions of "
            "French production in 2023."
        ),
    )
    energy_price_eur_per_kwh: Number = Field(
        default=0.20,
        ge=0.0,
        description="Price of grid electricity in EUR/kWh (assumption: French business tariff).",
    )
    charging_efficiency_fraction: Number = Field(
        default=0.9,
        gt=0.0,
        le=1.0,
        description="Energy stored in the battery per unit drawn from the grid (0 to 1).",
    )
    diesel_co2e_kg_per_l: Number = Field(
        default=3.1,
        ge=0.0,
        description=(
            "Emissions of burning one litre of diesel, well to wheel, in kg CO2e per litre "
            "(ADEME Base Carbone: about 3.1 for road diesel, upstream included)."
        ),
    )
    diesel_price_eur_per_l: Number = Field(
        default=1.45,
        ge=0.0,
        description=(
            "Price of diesel for a business, EUR per litre excluding VAT (assumption: about "
            "1.75 EUR at the pump in France in 2024, VAT included)."
        ),
    )


class Outputs(Section):
    """Where and what a run writes. Each run makes its own new folder under ``dir``."""

    dir: ScenarioPath = Field(
        default=Path("results"),
        validate_default=True,
        description=(
            "Base folder of the results; each run writes a new folder inside it. Relative to "
            "the scenario file's folder."
        ),
    )
    events: Flag = Field(default=True, description="Write the event log (events.parquet).")
    trips_geojson: Flag = Field(
        default=True, description="Write the robots' trips as timed GeoJSON (trips.geojson)."
    )
