"""What a map of a run shows besides the run: pedestrian zones, districts, street labels.

:func:`map_context` reads the polygons a run's scenario names (``streets.zones.file``, the
demand's ``area_file``) and, when the run lies in Montpellier, the city's districts
(:func:`~carreta.sim.output.rundir.default_districts_file`). :func:`street_labels` picks the
streets and squares worth naming in an extent: the longest named streets inside it and the
squares (``Place``, ``Esplanade``, ...) the network names, each placed along its longest
stretch. Both are plain data; :mod:`carreta.sim.viz.maps` draws them.

A polygons file that has moved or cannot be read leaves the map without that layer (logged):
a map never fails for want of context.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
import shapely
from shapely import affinity
from shapely.geometry import LineString, MultiLineString, box

from carreta.routing.errors import NetworkError
from carreta.routing.zones import read_zones
from carreta.sim.output.rundir import Run, StreetLines, default_districts_file

__all__ = ["Area", "MapContext", "StreetLabel", "map_context", "street_labels"]

logger = logging.getLogger(__name__)

#: Street names starting with these words name squares: labelled flat at their centre.
SQUARE_WORDS: Final = ("place", "esplanade", "square", "parvis", "pl.", "piazza", "plaza")
#: Street kinds labelled first at equal length (main streets read the city).
MAIN_WORDS: Final = (
    "boulevard",
    "avenue",
    "cours",
    "quai",
    "allée",
    "allées",
    "bd",
    "rue nationale",
)
#: Credit of the city's open-data layers, after what they are ("Pedestrian zones, districts").
CITY_CREDIT: Final = "© Ville de Montpellier open data (Licence Ouverte)"


@dataclass(frozen=True)
class Area:
    """A named polygon (EPSG:4326 degrees)."""

    name: str
    polygon: Any  # a shapely Polygon or MultiPolygon


@dataclass(frozen=True)
class MapContext:
    """Layers drawn under a run: pedestrian zones, district boundaries, their credit lines."""

    zones: tuple[Area, ...] = ()
    districts: tuple[Area, ...] = ()
    credits: tuple[str, ...] = field(default=())

    @property
    def empty(self) -> bool:
        """Whether there is nothing to draw."""
        return not self.zones and not self.districts


@dataclass(frozen=True)
class StreetLabel:
    """A street or square to name: where (lon, lat), its direction and its length inside."""

    name: str
    lon: float
    lat: float
    angle_deg: float  # direction of the street at the label, in the local km projection
    length_km: float
    square: bool


def _areas(path: Path, *, name_field: str | None, names: list[str] | None) -> list[Area]:
    try:
        zones = read_zones(path, name_field=name_field, names=names)
    except NetworkError as error:
        logger.warning("map context: %s", error)
        return []
    return [Area(zone.name, zone.polygon) for zone in zones]


def _credits(sources: list[tuple[str, Path]]) -> tuple[str, ...]:
    """One credit line for the city's layers (``Pedestrian zones, districts © Ville de
    Montpellier ...``), one per other file (``Pedestrian zones: zones.geojson``)."""
    city = list(dict.fromkeys(kind for kind, path in sources if path.name.startswith("VilleMTP")))
    lines = [f"{', '.join(city).capitalize()} {CITY_CREDIT}"] if city else []
    lines += [
        f"{kind.capitalize()}: {path.name}"
        for kind, path in sources
        if not path.name.startswith("VilleMTP")
    ]
    return tuple(dict.fromkeys(lines))


def map_context(run: Run, *, districts_file: Path | None = None) -> MapContext:
    """The zones and districts to draw under ``run``.

    Parameters
    ----------
    run
        The run (its resolved scenario names the zone and area files).
    districts_file
        District polygons (default: Montpellier's quartiers when on this machine). They are
        drawn only if one of them contains a hub or an order of the run.
    """
    scenario = run.scenario
    zones: list[Area] = []
    sources: list[tuple[str, Path]] = []
    seen: set[Path] = set()
    zone_section = (scenario.get("streets") or {}).get("zones") or {}
    if zone_section.get("file"):
        path = Path(zone_section["file"])
        zones += _areas(path, name_field=zone_section.get("name_field"),
                        names=zone_section.get("names"))  # fmt: skip
        seen.add(path.resolve())
        sources.append(("pedestrian zones", path))
    destinations = (scenario.get("demand") or {}).get("destinations") or {}
    area_file = destinations.get("area_file")
    if area_file and Path(area_file).resolve() not in seen:
        path = Path(area_file)
        zones += _areas(path, name_field=None, names=destinations.get("area_names"))
        sources.append(("delivery areas", path))
    districts: list[Area] = []
    source = districts_file if districts_file is not None else default_districts_file()
    if source is not None and Path(source).is_file():
        candidates = _areas(Path(source), name_field=None, names=None)
        if candidates and _touches_run(run, candidates):
            districts = candidates
            sources.append(("districts", Path(source)))
    return MapContext(tuple(zones), tuple(districts), _credits(sources))


def _touches_run(run: Run, areas: Iterable[Area]) -> bool:
    lons = [hub.lon for hub in run.hubs] + run.orders["lon"].head(200).tolist()
    lats = [hub.lat for hub in run.hubs] + run.orders["lat"].head(200).tolist()
    points = shapely.points(np.asarray(lons, float), np.asarray(lats, float))
    return any(bool(shapely.contains(area.polygon, points).any()) for area in areas)


def is_square(name: str) -> bool:
    """Whether a street name names a square (``Place de la Comédie``)."""
    return name.lower().startswith(SQUARE_WORDS)


def street_labels(
    streets: StreetLines,
    bounds: tuple[float, float, float, float],
    *,
    km_per_degree: tuple[float, float],
    streets_max: int = 30,
    squares_max: int = 12,
) -> list[StreetLabel]:
    """The named streets and squares to label inside ``bounds``, most important first.

    Streets rank by their length inside the extent (boulevards, avenues, cours and quais
    first at equal length: a 1.5 factor); squares by their length too, at most
    ``squares_max``. A street is labelled at the middle of its longest connected stretch.

    Parameters
    ----------
    streets
        The drawn streets with their names (unnamed lines are skipped).
    bounds
        (west, south, east, north) degrees of the map.
    km_per_degree
        Kilometres per degree of longitude and of latitude (the map's projection).
    """
    frame = box(*bounds)
    kx, ky = km_per_degree
    pieces: dict[str, list[np.ndarray]] = {}
    for line, name in zip(streets.lines, streets.names, strict=True):
        if name and len(line) >= 2:
            pieces.setdefault(name, []).append(np.asarray(line, float))
    candidates: list[tuple[float, StreetLabel]] = []
    for name, lines in pieces.items():
        clipped = shapely.intersection(MultiLineString([line.tolist() for line in lines]), frame)
        merged = shapely.line_merge(clipped) if not clipped.is_empty else clipped
        parts = [g for g in getattr(merged, "geoms", [merged]) if isinstance(g, LineString)]
        parts = [g for g in parts if not g.is_empty]
        if not parts:
            continue
        local = [affinity.scale(g, kx, ky, origin=(0, 0)) for g in parts]
        total_km = float(sum(g.length for g in local))
        longest = int(np.argmax([g.length for g in local]))
        stretch, stretch_km = parts[longest], local[longest]
        middle = stretch.interpolate(0.5, normalized=True)
        a = stretch_km.interpolate(max(0.0, 0.5 - 0.08), normalized=True)
        b = stretch_km.interpolate(min(1.0, 0.5 + 0.08), normalized=True)
        angle = math.degrees(math.atan2(b.y - a.y, b.x - a.x))
        if angle > 90:
            angle -= 180
        elif angle <= -90:
            angle += 180
        square = is_square(name)
        label = StreetLabel(name, middle.x, middle.y, 0.0 if square else angle,
                            float(stretch_km.length), square)  # fmt: skip
        weight = 1.5 if name.lower().startswith(MAIN_WORDS) else 1.0
        candidates.append((total_km * weight, label))
    candidates.sort(key=lambda item: (-item[0], item[1].name))
    squares = [label for _, label in candidates if label.square][:squares_max]
    lines_ = [label for _, label in candidates if not label.square][:streets_max]
    # Interleave so the de-overlapping keeps some of each kind.
    ordered: list[StreetLabel] = []
    for i in range(max(len(squares), len(lines_))):
        ordered += lines_[i : i + 1] + (squares[i // 2 : i // 2 + 1] if i % 2 == 0 else [])
    return list(dict.fromkeys(ordered + squares + lines_))
