"""Pedestrian zones: polygons that tag the street edges inside them and cap robot speeds there.

Montpellier publishes its pedestrian zones as polygons (``VilleMTP_MTP_ZonePietonne.geojson``,
field ``NOM``: MOLIERE is the Écusson, COMEDIE the Place de la Comédie, ...). An edge belongs to
a zone when the midpoint of its geometry (halfway along the line) lies inside the zone's
polygon: an edge that only touches the zone's border at one end stays outside. Zone edges get a
``zone`` attribute with the zone's name; other edges have none.

Rules the simulation applies to zone edges:

- robots move at most at the zone speed (6 km/h in Montpellier, walking pace among
  pedestrians): :func:`cap_zone_speeds` lowers ``speed_kph`` and recomputes ``travel_time``;
- vans may enter only during access hours: :func:`zone_edge_pairs` gives the edges that a
  :class:`~carreta.routing.closures.ClosableRouter` closes outside those hours.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import geopandas as gpd
import networkx as nx
import numpy as np
import shapely

from carreta.routing.errors import NetworkError
from carreta.routing.gis import read_layer

__all__ = [
    "ZONE_ATTRIBUTE",
    "Zone",
    "cap_zone_speeds",
    "edge_midpoints",
    "read_zones",
    "tag_zones",
    "zone_edge_pairs",
]

logger = logging.getLogger(__name__)

#: Edge attribute holding the name of the zone an edge lies in.
ZONE_ATTRIBUTE: Final = "zone"
#: Name fields tried, in order, when a polygons file is read without naming one.
NAME_FIELDS: Final = ("NOM", "name", "LIBQUART", "nom", "NAME")


@dataclass(frozen=True)
class Zone:
    """A named polygon in EPSG:4326 (lon/lat degrees)."""

    name: str
    polygon: shapely.Geometry


def _name_field(layer: gpd.GeoDataFrame, requested: str | None, path: Path) -> str:
    if requested is not None:
        if requested not in layer.columns:
            raise NetworkError(f"{path}: no field {requested!r} in the polygons file")
        return requested
    for candidate in NAME_FIELDS:
        if candidate in layer.columns:
            return candidate
    raise NetworkError(f"{path}: no name field (tried {', '.join(NAME_FIELDS)})")


def read_zones(
    path: str | Path, *, name_field: str | None = None, names: Sequence[str] | None = None
) -> list[Zone]:
    """Read named polygons (zones, districts) from a GIS file, in EPSG:4326.

    Parameters
    ----------
    path
        Any file GeoPandas reads (GeoJSON, GeoPackage, zipped shapefile).
    name_field
        Field holding the names; default the first of :data:`NAME_FIELDS` present.
    names
        Keep only these names (all polygons of a name are merged into one zone).

    Raises
    ------
    NetworkError
        If the file cannot be read, has no polygons or name field, or a requested name is not
        in it (the message lists the names it has).
    """
    path = Path(path)
    layer = read_layer(path)
    layer = layer[layer.geometry.notna() & layer.geom_type.isin(["Polygon", "MultiPolygon"])]
    if layer.empty:
        raise NetworkError(f"{path}: no polygons in this file")
    field = _name_field(layer, name_field, path)
    layer = layer.to_crs(4326)
    available = sorted({str(value) for value in layer[field]})
    wanted = available if names is None else list(names)
    missing = [name for name in wanted if name not in available]
    if missing:
        raise NetworkError(
            f"{path}: no zone named {missing[0]!r} in field {field} (names: {', '.join(available)})"
        )
    zones = []
    for name in wanted:
        parts = layer.geometry[layer[field].astype(str) == name].to_numpy()
        zones.append(Zone(name, shapely.union_all(parts)))
    return zones


def edge_midpoints(graph: nx.MultiDiGraph) -> tuple[list[tuple[int, int, int]], np.ndarray]:
    """Every edge ``(u, v, key)`` and the lon/lat of its midpoint (halfway along its geometry).

    Edges without a ``geometry`` are straight lines between their nodes. The midpoint is taken
    in degrees, which at Montpellier's latitude moves it by well under a metre on a street.
    """
    edges: list[tuple[int, int, int]] = []
    geometries: list[Any] = []
    for u, v, key, geometry in graph.edges(keys=True, data="geometry"):
        edges.append((u, v, key))
        geometries.append(geometry)
    points = np.empty((len(edges), 2))
    shaped = np.array([g is not None for g in geometries], dtype=bool)
    if shaped.any():  # one vectorised call for every edge with a geometry
        lines = np.array([g for g in geometries if g is not None], dtype=object)
        middles = shapely.line_interpolate_point(lines, 0.5, normalized=True)
        points[shaped, 0], points[shaped, 1] = shapely.get_x(middles), shapely.get_y(middles)
    nodes = graph.nodes
    for k in np.flatnonzero(~shaped).tolist():
        a, b = nodes[edges[k][0]], nodes[edges[k][1]]
        points[k] = ((a["x"] + b["x"]) / 2.0, (a["y"] + b["y"]) / 2.0)
    return edges, points


def tag_zones(graph: nx.MultiDiGraph, zones: Iterable[Zone]) -> dict[str, int]:
    """Set the ``zone`` attribute of every edge whose midpoint lies in a zone, in place.

    An edge in several overlapping zones gets the first one listed. Edges outside every zone
    lose any ``zone`` attribute they had.

    Returns
    -------
    dict
        Number of directed edges tagged per zone name.
    """
    edges, points = edge_midpoints(graph)
    label = np.full(len(edges), -1, dtype=np.int64)
    zone_list = list(zones)
    for z, zone in reversed(list(enumerate(zone_list))):
        inside = shapely.contains_xy(zone.polygon, points[:, 0], points[:, 1])
        label[inside] = z
    counts = dict.fromkeys((zone.name for zone in zone_list), 0)
    # The edges in the order edge_midpoints listed them (networkx iterates in insertion order).
    for (_, _, data), z in zip(graph.edges(data=True), label.tolist(), strict=True):
        if z < 0:
            data.pop(ZONE_ATTRIBUTE, None)
        else:
            data[ZONE_ATTRIBUTE] = zone_list[z].name
            counts[zone_list[z].name] += 1
    logger.info("zone edges: %s", counts)
    return counts


def cap_zone_speeds(graph: nx.MultiDiGraph, speed_kph: float) -> int:
    """Cap ``speed_kph`` at ``speed_kph`` on zone edges and recompute their ``travel_time`` (s).

    Returns the number of edges slowed down.

    Raises
    ------
    NetworkError
        If ``speed_kph`` is not a positive number.
    """
    if not speed_kph > 0:
        raise NetworkError(f"zone speed must be positive, got {speed_kph!r}")
    slowed = 0
    for _, _, data in graph.edges(data=True):
        if data.get(ZONE_ATTRIBUTE) is None or float(data.get("speed_kph", 0.0)) <= speed_kph:
            continue
        data["speed_kph"] = speed_kph
        data["travel_time"] = float(data["length"]) / (speed_kph / 3.6)
        slowed += 1
    return slowed


def zone_edge_pairs(
    graph: nx.MultiDiGraph, names: Iterable[str] | None = None
) -> list[tuple[int, int]]:
    """The ``(u, v)`` node pairs of the edges tagged with one of ``names`` (default: any zone)."""
    wanted = None if names is None else set(names)
    return [
        (u, v)
        for u, v, zone in graph.edges(data=ZONE_ATTRIBUTE)
        if zone is not None and (wanted is None or zone in wanted)
    ]
