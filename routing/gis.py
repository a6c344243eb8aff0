"""Build a routable street graph from a GIS line layer (a city's own street centreline).

Montpellier publishes its street network as a shapefile of 8,011 centreline segments in
Lambert-93 (``VilleMTP_MTP_FilaireVoies.zip``). Unlike OSM data it has no node ids: a segment is
a bare ``LineString``. :func:`graph_from_lines` joins the segments into a topology:

1. The layer is projected to a metric CRS (Lambert-93 for French data, else the UTM zone OSMnx
   picks) so that tolerances are in metres.
2. Every segment end is an endpoint; endpoints closer than ``tolerance_m`` (default 1.5 m) are
   clustered into one intersection (pairs found with a KD-tree, clusters are the connected
   components of the "closer than" relation). The intersection sits at the mean of its
   endpoints.
3. Each segment becomes an edge between its two intersections, with its own geometry (ends moved
   onto the intersections) in EPSG:4326, its ``length`` in metres measured in the metric CRS, its
   ``name`` (``LIB_OFF``), a ``highway`` class derived from the segment's type and occupation
   (:func:`highway_class`) and ``oneway`` from ``SENS_CIRCU`` (``SENS UNIQUE``: one way, in the
   digitised direction — 164 of 172 sampled one-way segments agree with OpenStreetMap).
4. Undershoots are joined (``join_m``, default 5 m): a segment end that touches no other segment
   but lies within ``join_m`` of a segment of the same profile is linked to it — the target is
   split at the nearest point and a straight connector (the dangling street's class and name)
   added. Impasses (``TYPVOI`` ``IMP``) are dead ends by name and never joined. Each join is
   listed in the report.
5. Segments longer than ``max_edge_m`` (50 m when loaded by :func:`load_gis_graph`) are cut
   into equal pieces, so that a hub or a door snapped to the nearest *node* lands within about
   25 m of its nearest street point (OSMnx's unsimplified graphs have such degree-2 nodes too).
   Edge lengths are those of the geometries once their ends sit on the intersections.
6. A :class:`GisJoinReport` says what could not be joined: segments dropped (motorway or tunnel
   for robots, no motor traffic for vans, collapsed to a point), the undershoots joined, dangling
   ends (intersections of degree 1: dead ends) and the segments left outside the largest
   strongly connected component (which :func:`~carreta.routing.profile.apply_profile` removes).

The result is an ordinary OSMnx ``nx.MultiDiGraph`` (``crs`` EPSG:4326, node ``x``/``y``), so
the same :func:`~carreta.routing.profile.apply_profile`, :class:`~carreta.routing.router.Router`
and simulation work on it unchanged.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final

import geopandas as gpd
import networkx as nx
import numpy as np
import shapely
from pyogrio.errors import DataSourceError

from carreta.routing._cache import cache_key, file_sha256
from carreta.routing.errors import NetworkError
from carreta.routing.gis_topology import (
    cluster_endpoints,
    column,
    cut_long,
    endpoints,
    join_undershoots,
    text,
)
from carreta.routing.profile import Profile, apply_profile, load_profiled

__all__ = [
    "GIS_REPORT_KEY",
    "GIS_SUFFIXES",
    "GisJoinReport",
    "gis_report",
    "graph_from_lines",
    "highway_class",
    "load_gis_graph",
    "read_layer",
]

logger = logging.getLogger(__name__)

#: File suffixes read as GIS layers (a ``.zip`` holds a zipped shapefile).
GIS_SUFFIXES: Final = (".zip", ".shp", ".gpkg", ".geojson", ".json", ".fgb")
#: Where the join report is stored in ``G.graph`` (a plain dict).
GIS_REPORT_KEY: Final = "carreta_gis_report"
_LAMBERT_93: Final = 2154
_MAX_LISTED: Final = 25
_SEGMENT: Final = "_carreta_segment"
#: Bumped when the way a layer is joined changes, so cached graphs are rebuilt.
_GIS_FORMAT: Final = 2

#: OSM-like ``highway`` class of a street type (``TYPVOI`` of the Montpellier layer).
STREET_TYPE_CLASSES: Final[Mapping[str, str]] = {
    "AUTO": "motorway",
    "TUN": "trunk",
    "BD": "primary",
    "AV": "secondary",
    "COUR": "secondary",
    "QUAI": "secondary",
    "RTE": "secondary",
    "PONT": "secondary",
    "VIAD": "secondary",
    "RDPT": "tertiary",
    "CARR": "tertiary",
    "PARK": "service",
}
#: ``highway`` class of an ``OCCUPATION`` value, which wins over the street type.
OCCUPATION_CLASSES: Final[Mapping[str, str]] = {
    "Piéton": "pedestrian",
    "Piste cyclable": "cycleway",
    "Chemin": "path",
    "Fluvial": "waterway",
}
_ROBOT_EXCLUDED: Final = frozenset({"motorway", "trunk", "waterway"})
_VAN_EXCLUDED: Final = frozenset({"cycleway", "path", "waterway"})


@dataclass(frozen=True)
class GisJoinReport:
    """What joining a line layer into a graph kept, merged and could not connect.

    Attributes
    ----------
    source
        The file read.
    profile
        The profile the graph was built for (``"robot"`` or ``"van"``).
    tolerance_m
        Endpoints closer than this were merged into one intersection, in metres.
    segments
        Line segments in the layer.
    segments_used
        Segments that became edges.
    segments_dropped
        Segments left out, by reason (``"motorway"``, ``"no_motor_traffic"``, ``"collapsed"``, ...).
    intersections
        Nodes of the joined graph.
    merged_endpoints
        Endpoints that were moved (by at most ``tolerance_m``) to join another one.
    join_m
        Dangling ends within this distance of another segment were linked to it, in metres.
    joined_ends
        Dangling ends so linked (undershoots: a street drawn stopping short of the one it meets).
    joins
        Each join: ``"<street> → <street it was linked to> (<gap> m)"``.
    cut_nodes
        Degree-2 nodes added by cutting long segments (not counted in ``intersections``).
    dangling_ends
        Intersections touched by a single segment after the joins (dead ends, or segments that
        stop farther than ``join_m`` from the street they should meet).
    components
        Weakly connected components of the joined graph.
    outside_largest_component
        Segments whose edges lie outside the largest strongly connected component (removed by
        the profile).
    outside_names
        Street names of those segments (at most 25, most frequent first).
    """

    source: str
    profile: str
    tolerance_m: float
    segments: int
    segments_used: int
    segments_dropped: dict[str, int] = field(default_factory=dict)
    intersections: int = 0
    merged_endpoints: int = 0
    join_m: float = 0.0
    joined_ends: int = 0
    joins: list[str] = field(default_factory=list)
    cut_nodes: int = 0
    dangling_ends: int = 0
    components: int = 0
    outside_largest_component: int = 0
    outside_names: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The report as plain Python values (JSON-safe)."""
        return asdict(self)


def read_layer(path: Path) -> gpd.GeoDataFrame:
    """Read a GIS layer with GeoPandas (``zip://`` for ``.zip`` archives).

    Raises
    ------
    NetworkError
        If the file cannot be read or has no CRS.
    """
    target = f"zip://{path}" if path.name.lower().endswith(".zip") else str(path)
    try:
        layer = gpd.read_file(target)
    except (DataSourceError, OSError, ValueError) as exc:
        raise NetworkError(f"{path}: cannot read GIS layer ({exc})") from exc
    if layer.crs is None:
        raise NetworkError(f"{path}: the GIS layer has no coordinate reference system")
    return layer


def highway_class(street_type: object, occupation: object) -> str:
    """OSM-like ``highway`` class of a segment from its type (``TYPVOI``) and ``OCCUPATION``.

    Occupation wins (``Piéton`` → ``pedestrian``); then the street type (``BD`` → ``primary``,
    ``AV`` → ``secondary``, ``AUTO`` → ``motorway``, ``TUN`` → ``trunk``, ...); anything else is
    ``residential``.
    """
    occupied = OCCUPATION_CLASSES.get(text(occupation))
    if occupied is not None:
        return occupied
    return STREET_TYPE_CLASSES.get(text(street_type).upper(), "residential")


def _drop_reason(highway: str, direction: str, profile: str) -> str | None:
    if profile == "robot":
        return highway if highway in _ROBOT_EXCLUDED else None
    if highway in _VAN_EXCLUDED or direction == "INTERDIT":
        return "no_motor_traffic"
    return None


def _metric(layer: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    if layer.crs.to_epsg() == _LAMBERT_93 or layer.crs.is_projected:
        return layer
    return layer.to_crs(layer.estimate_utm_crs())


def graph_from_lines(
    layer: gpd.GeoDataFrame,
    *,
    profile: str = "robot",
    tolerance_m: float = 1.5,
    join_m: float = 5.0,
    max_edge_m: float | None = None,
    source: str = "<layer>",
) -> nx.MultiDiGraph:
    """Join a line layer into a directed street graph (see the module docstring).

    Parameters
    ----------
    layer
        Line features with a CRS. Columns used when present: ``LIB_OFF`` (name), ``TYPVOI``
        and ``OCCUPATION`` (highway class), ``SENS_CIRCU`` (direction), ``IDARC`` (id).
    profile
        ``"robot"`` (every segment but motorways and tunnels) or ``"van"`` (segments open to
        motor traffic, one-way rules kept).
    tolerance_m
        Endpoints closer than this (metres) become one intersection.
    join_m
        A dangling segment end within this distance (metres) of another segment of the profile
        is linked to it (impasses excepted); at most ``tolerance_m``: no such joins.
    max_edge_m
        Segments longer than this (metres) are cut into equal pieces; ``None`` (the default
        here; :func:`load_gis_graph` cuts at 50 m): never.
    source
        Name of the data for messages and the report.

    Returns
    -------
    networkx.MultiDiGraph
        Unprojected (EPSG:4326) with OSMnx's attribute names; the :class:`GisJoinReport` is in
        ``G.graph["carreta_gis_report"]``. Two-way segments are two edges (``u→v`` and
        ``v→u``, the second with ``reversed=True``). Connectors of joined undershoots have a
        negative ``osmid``; the pieces of a cut segment share the segment's.

    Raises
    ------
    NetworkError
        If the layer holds no line geometries.
    """
    lines = layer[layer.geometry.notna()].explode(index_parts=False)
    lines = lines[lines.geom_type == "LineString"]
    if lines.empty:
        raise NetworkError(f"{source}: no line geometries in this layer (a street network?)")
    metric = _metric(lines).reset_index(drop=True)
    metric[_SEGMENT] = np.arange(len(metric))  # the id of a segment without IDARC, kept by pieces
    n_segments = len(metric)
    highways = [
        highway_class(street_type, occupation)
        for street_type, occupation in zip(
            column(metric, "TYPVOI"), column(metric, "OCCUPATION"), strict=True
        )
    ]
    directions = [text(value).upper() for value in column(metric, "SENS_CIRCU")]
    reasons = [
        _drop_reason(highway, direction, profile)
        for highway, direction in zip(highways, directions, strict=True)
    ]
    dropped: Counter[str] = Counter(reason for reason in reasons if reason is not None)
    kept = metric[[reason is None for reason in reasons]].reset_index(drop=True)
    kept, joins = join_undershoots(kept, tolerance_m=tolerance_m, join_m=join_m)
    cut_nodes = 0
    if max_edge_m is not None:
        kept, cut_nodes = cut_long(kept, max_edge_m)
    geoms = kept.geometry.to_numpy()
    ends = endpoints(geoms)
    labels, centre = cluster_endpoints(ends, tolerance_m)
    n_pieces = len(kept)
    start_node, end_node = labels[:n_pieces], labels[n_pieces:]
    merged = int(np.count_nonzero(np.linalg.norm(ends - centre[labels], axis=1) > 1e-6))
    # Lengths as drawn once the ends sit on their intersections (in the metric CRS).
    coords = shapely.get_coordinates(geoms)
    last = np.cumsum(shapely.get_num_coordinates(geoms)) - 1
    first = last - shapely.get_num_coordinates(geoms) + 1
    coords[first], coords[last] = centre[start_node], centre[end_node]
    lengths = shapely.length(
        shapely.linestrings(coords, indices=np.repeat(np.arange(n_pieces), last - first + 1))
    )
    wgs = gpd.GeoSeries(geoms, crs=kept.crs).to_crs(4326).to_numpy()
    centre_lonlat = gpd.GeoSeries(shapely.points(centre), crs=kept.crs).to_crs(4326)
    node_x, node_y = centre_lonlat.x.to_numpy(), centre_lonlat.y.to_numpy()

    graph = nx.MultiDiGraph(crs="epsg:4326", name=source)
    rows = zip(
        column(kept, "LIB_OFF"), column(kept, "TYPVOI"), column(kept, "OCCUPATION"),
        column(kept, "SENS_CIRCU"), column(kept, "IDARC"), kept[_SEGMENT].tolist(), strict=True,
    )  # fmt: skip
    for k, (name, street_type, occupation, direction_value, arc_id, segment) in enumerate(rows):
        u, v = int(start_node[k]), int(end_node[k])
        if u == v:
            dropped["collapsed"] += 1
            continue
        highway = highway_class(street_type, occupation)
        line = np.array(shapely.get_coordinates(wgs[k]))
        line[0], line[-1] = (node_x[u], node_y[u]), (node_x[v], node_y[v])
        geometry = shapely.LineString(line)
        oneway = text(direction_value).upper() == "SENS UNIQUE"
        attrs = {
            "osmid": int(arc_id) if isinstance(arc_id, int | np.integer) else int(segment),
            "name": text(name) or None,
            "highway": highway,
            "length": float(lengths[k]),
            "oneway": oneway,
        }
        graph.add_edge(u, v, reversed=False, geometry=geometry, **attrs)
        if not oneway or profile == "robot":
            graph.add_edge(v, u, reversed=True, geometry=geometry.reverse(), **attrs)
    for node in list(graph.nodes):
        graph.nodes[node].update(x=float(node_x[node]), y=float(node_y[node]))
    graph = nx.convert_node_labels_to_integers(graph, ordering="sorted")
    undirected = graph.to_undirected(as_view=True)
    for node in graph.nodes:
        graph.nodes[node]["street_count"] = len(set(undirected.neighbors(node)))
    report = _join_report(
        graph,
        source=source,
        profile=profile,
        tolerance_m=tolerance_m,
        segments=n_segments,
        dropped=dropped,
        merged=merged,
        joins=joins,
        join_m=join_m,
        cut_nodes=cut_nodes,
    )
    graph.graph[GIS_REPORT_KEY] = report.to_dict()
    logger.info(
        "%s: %d segments joined into %d intersections (%d undershoots joined within %.1f m, "
        "%d dangling ends, %d segments outside the largest strongly connected component)",
        source,
        report.segments_used,
        report.intersections,
        report.joined_ends,
        join_m,
        report.dangling_ends,
        report.outside_largest_component,
    )
    return graph


def _join_report(
    graph: nx.MultiDiGraph,
    *,
    source: str,
    profile: str,
    tolerance_m: float,
    segments: int,
    dropped: Counter[str],
    merged: int,
    joins: list[str],
    join_m: float,
    cut_nodes: int,
) -> GisJoinReport:
    largest: set[int] = max(nx.strongly_connected_components(graph), key=len, default=set())
    outside: Counter[str] = Counter()
    seen: set[int] = set()
    for u, v, data in graph.edges(data=True):
        if (u not in largest or v not in largest) and data["osmid"] not in seen:
            seen.add(data["osmid"])
            outside[data.get("name") or "(unnamed)"] += 1
    dangling = sum(1 for _, count in graph.nodes(data="street_count") if count == 1)
    return GisJoinReport(
        source=source,
        profile=profile,
        tolerance_m=tolerance_m,
        segments=segments,
        segments_used=segments - sum(dropped.values()),
        segments_dropped=dict(sorted(dropped.items())),
        intersections=graph.number_of_nodes() - cut_nodes,
        merged_endpoints=merged,
        join_m=join_m,
        joined_ends=len(joins),
        joins=joins,
        cut_nodes=cut_nodes,
        dangling_ends=dangling,
        components=nx.number_weakly_connected_components(graph),
        outside_largest_component=len(seen),
        outside_names=[name for name, _ in outside.most_common(_MAX_LISTED)],
    )


def load_gis_graph(
    path: Path,
    *,
    profile: Profile,
    robot_speed_kph: float,
    cache_dir: Path,
    tolerance_m: float = 1.5,
    join_m: float = 5.0,
    max_edge_m: float | None = 50.0,
) -> nx.MultiDiGraph:
    """Read a line layer, join it (:func:`graph_from_lines`) and profile it, cached.

    The joined graph and the profiled graph are pickled under ``cache_dir / "graphs"``, keyed
    by the file's SHA-256, the profile, the tolerance, the join distance and the cut length,
    like OSM files.

    Raises
    ------
    NetworkError
        If the file cannot be read or holds no lines.
    """
    key = cache_key("gis", _GIS_FORMAT, file_sha256(path), profile, tolerance_m, join_m, max_edge_m)
    profiled_file = cache_dir / "graphs" / f"gis-{profile}-{key}.pickle"

    def build() -> nx.MultiDiGraph:
        joined = graph_from_lines(
            read_layer(path),
            profile=profile,
            tolerance_m=tolerance_m,
            join_m=join_m,
            max_edge_m=max_edge_m,
            source=str(path),
        )
        graph, _ = apply_profile(joined, profile, robot_speed_kph=robot_speed_kph, source=str(path))
        return graph

    return load_profiled(
        path, profiled_file, build, profile=profile, robot_speed_kph=robot_speed_kph
    )


def gis_report(graph: nx.MultiDiGraph) -> GisJoinReport | None:
    """The join report of a graph built from a GIS layer (``None`` for other graphs)."""
    stored = graph.graph.get(GIS_REPORT_KEY)
    return GisJoinReport(**stored) if isinstance(stored, dict) else None
