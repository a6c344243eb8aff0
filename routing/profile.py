"""Movement profiles (robot, van) applied to an OSMnx street graph, and the network report.

A profile decides which directions of a street can be used and how fast:

``robot``
    Sidewalk delivery robots move along both sides of every street, so one-way rules do not
    apply: every edge ``u→v`` without a reverse twin (same length, opposite direction) gets one,
    and every edge is marked ``oneway=False``. Every edge runs at the robot's speed.
``van``
    The directed drive network as OSM describes it, with speeds from ``maxspeed`` tags and
    French urban defaults per highway class where the tag is missing.

Both keep only the largest strongly connected component, so that every node can reach every
other node, and record what was dropped in a :class:`NetworkReport`.
"""

from __future__ import annotations

import ast
import logging
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final, Literal, get_args

import networkx as nx
from pyproj import CRS
from pyproj.exceptions import CRSError

from carreta.routing._cache import load_or_build_pickle
from carreta.routing.errors import NetworkError

__all__ = [
    "PROFILES",
    "VAN_SPEEDS_KPH",
    "NetworkReport",
    "Profile",
    "apply_profile",
    "graph_report",
]

logger = logging.getLogger(__name__)

Profile = Literal["robot", "van"]
#: The profile names accepted by :func:`apply_profile`.
PROFILES: Final[tuple[str, ...]] = get_args(Profile)

#: Speeds (km/h) for van edges without a usable ``maxspeed`` tag, per OSM ``highway`` class.
#: French urban defaults: 50 km/h in town, 30 km/h zones on residential streets.
VAN_SPEEDS_KPH: Final[Mapping[str, float]] = MappingProxyType(
    {
        "motorway": 110.0,
        "motorway_link": 70.0,
        "trunk": 70.0,
        "trunk_link": 50.0,
        "primary": 50.0,
        "primary_link": 40.0,
        "secondary": 50.0,
        "secondary_link": 40.0,
        "tertiary": 40.0,
        "tertiary_link": 30.0,
        "unclassified": 30.0,
        "residential": 30.0,
        "living_street": 20.0,
        "service": 20.0,
        "road": 30.0,
    }
)
#: Van speed (km/h) for highway classes missing from :data:`VAN_SPEEDS_KPH` and never tagged.
VAN_FALLBACK_SPEED_KPH: Final = 30.0

REPORT_KEY: Final = "carreta_report"
_TWIN_TOLERANCE_M: Final = 0.01


@dataclass(frozen=True, slots=True)
class NetworkReport:
    """What a profiled street network contains and what loading it dropped.

    Attributes
    ----------
    source
        Where the network came from (file path, place name or bbox).
    profile
        ``"robot"``, ``"van"``, or ``"none"`` for a graph no profile was applied to.
    nodes, edges
        Size of the graph (directed edges, parallel edges counted).
    street_km
        Length of street in km, each street counted once whichever directions it allows
        (a two-way street's two directed edges count once).
    directed_km
        Sum of the ``length`` of every directed edge, in km.
    bbox
        ``(west, south, east, north)`` of the nodes, in degrees (EPSG:4326).
    dropped_nodes, dropped_edges
        Nodes and directed edges removed because they lie outside the largest strongly
        connected component (edges counted after the profile's own changes).
    """

    source: str
    profile: str
    nodes: int
    edges: int
    street_km: float
    directed_km: float
    bbox: tuple[float, float, float, float]
    dropped_nodes: int
    dropped_edges: int

    def to_dict(self) -> dict[str, Any]:
        """Return the report as a dict of plain Python values (safe for GraphML and JSON)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> NetworkReport:
        """Rebuild a report from :meth:`to_dict` output (bbox may be a list)."""
        values = dict(data)
        values["bbox"] = tuple(float(value) for value in values["bbox"])
        return cls(**values)


def _check_geographic(graph: nx.MultiDiGraph, source: str) -> None:
    crs = graph.graph.get("crs", "epsg:4326")
    try:
        epsg = CRS.from_user_input(crs).to_epsg()
    except CRSError as exc:
        raise NetworkError(f"{source}: unreadable graph CRS {crs!r} ({exc})") from exc
    if epsg != 4326:
        raise NetworkError(
            f"{source}: graph is projected ({crs}); carreta needs an unprojected graph "
            "in EPSG:4326 (lon/lat)"
        )
    for node, data in graph.nodes(data=True):
        if "x" not in data or "y" not in data:
            raise NetworkError(f"{source}: node {node} has no x/y coordinates")


def _check_lengths(graph: nx.MultiDiGraph, source: str) -> None:
    for u, v, data in graph.edges(data=True):
        if "length" not in data:
            raise NetworkError(f"{source}: edge {u}→{v} has no 'length' attribute")


def _edges_without_twin(graph: nx.MultiDiGraph) -> list[tuple[Any, Any, Any]]:
    """Return the edges ``u→v`` (``u ≠ v``) with no unmatched reverse edge of the same length.

    Parallel edges are matched one to one: two ``u→v`` edges of 100 m and one ``v→u`` edge of
    100 m leave one ``u→v`` edge without a twin.
    """
    by_pair: dict[tuple[Any, Any], list[tuple[Any, float]]] = defaultdict(list)
    for u, v, key, length in graph.edges(keys=True, data="length", default=0.0):
        if u != v:
            by_pair[(u, v)].append((key, float(length)))
    lonely = []
    for (u, v), forward in by_pair.items():
        backward = [length for _, length in by_pair.get((v, u), [])]
        for key, length in forward:
            match = next(
                (i for i, other in enumerate(backward) if abs(other - length) <= _TWIN_TOLERANCE_M),
                None,
            )
            if match is None:
                lonely.append((u, v, key))
            else:
                backward.pop(match)
    return lonely


def _street_km(graph: nx.MultiDiGraph) -> float:
    """Length of street in km, counting a street once whether it has one or two directions."""
    total_m = 0.0
    loops: set[tuple[Any, float]] = set()
    for u, v, length in graph.edges(data="length", default=0.0):
        if u == v:  # a two-way loop is two identical self-loops: count distinct lengths once
            loops.add((u, round(float(length), 1)))
        else:
            total_m += float(length)
    lonely_m = sum(
        float(graph.edges[u, v, key].get("length", 0.0)) for u, v, key in _edges_without_twin(graph)
    )
    paired_m = total_m - lonely_m
    return (lonely_m + paired_m / 2 + sum(length for _, length in loops)) / 1000.0


def _reversed_edge_data(data: Mapping[str, Any]) -> dict[str, Any]:
    reverse = dict(data)
    if "geometry" in reverse:
        reverse["geometry"] = reverse["geometry"].reverse()
    flag = reverse.get("reversed", False)
    reverse["reversed"] = [not item for item in flag] if isinstance(flag, list) else not flag
    reverse["oneway"] = False
    return reverse


def _make_two_way(graph: nx.MultiDiGraph) -> int:
    """Add a reverse twin for every edge that lacks one; mark every edge ``oneway=False``.

    Returns the number of edges added.
    """
    lonely = _edges_without_twin(graph)
    for u, v, key in lonely:
        graph.add_edge(v, u, **_reversed_edge_data(graph.edges[u, v, key]))
    for _, _, data in graph.edges(data=True):
        data["oneway"] = False
    return len(lonely)


def set_robot_speeds(graph: nx.MultiDiGraph, speed_kph: float) -> None:
    """Set ``speed_kph`` and ``travel_time`` (s) on every edge for a constant speed, in place."""
    metres_per_second = speed_kph / 3.6
    for _, _, data in graph.edges(data=True):
        data["speed_kph"] = speed_kph
        data["travel_time"] = float(data["length"]) / metres_per_second


def _set_van_speeds(graph: nx.MultiDiGraph, *, source: str = "<graph>") -> nx.MultiDiGraph:
    """OSMnx speeds (``maxspeed``, else :data:`VAN_SPEEDS_KPH`, else the fallback) and travel
    times for vans.

    Raises
    ------
    NetworkError
        Naming ``source`` and the OSM ways whose speed is still not a positive number (a
        ``maxspeed`` OSMnx cannot read and no fallback), instead of NaN weights further on.
    """
    import osmnx as ox  # here, not at import: importing OSMnx takes a second or more

    try:
        graph = ox.add_edge_speeds(
            graph, hwy_speeds=dict(VAN_SPEEDS_KPH), fallback=VAN_FALLBACK_SPEED_KPH
        )
    except (ValueError, TypeError) as exc:
        raise NetworkError(
            f"{source}: cannot set van speeds ({' '.join(str(exc).split())})"
        ) from exc
    bad = sorted(
        {str(data.get("osmid", f"{u}-{v}")) for u, v, data in graph.edges(data=True)
         if not (isinstance(data.get("speed_kph"), float | int) and data["speed_kph"] > 0)}
    )  # fmt: skip
    if bad:
        shown = ", ".join(bad[:5]) + (", …" if len(bad) > 5 else "")
        raise NetworkError(
            f"{source}: {len(bad)} ways have no usable speed for vans (OSM ways {shown}): give "
            "them a maxspeed or a known highway class"
        )
    return ox.add_edge_travel_times(graph)


def check_profile(profile: str, robot_speed_kph: float) -> None:
    """Raise :class:`NetworkError` for an unknown profile or a robot speed that is not > 0."""
    if profile not in PROFILES:
        raise NetworkError(f"unknown profile {profile!r}: expected one of {', '.join(PROFILES)}")
    if not robot_speed_kph > 0 or robot_speed_kph == float("inf"):
        raise NetworkError(f"robot_speed_kph must be a positive number, got {robot_speed_kph!r}")


def load_profiled(
    path: Path,
    cached: Path,
    build: Callable[[], nx.MultiDiGraph],
    *,
    profile: Profile,
    robot_speed_kph: float,
) -> nx.MultiDiGraph:
    """The profiled graph of the file ``path``, pickled at ``cached`` (built by ``build`` on a
    miss). The robot speed is not part of the cache key: a cached robot graph gets it again,
    and its report names ``path``."""
    graph, hit = load_or_build_pickle(cached, build)
    if hit:
        logger.info("loaded %s (%s profile) from cache %s", path, profile, cached)
        if profile == "robot":
            set_robot_speeds(graph, robot_speed_kph)
        graph.graph[REPORT_KEY] = {**(stored_report(graph) or {}), "source": str(path)}
    return graph


def stored_report(graph: nx.MultiDiGraph) -> dict[str, Any] | None:
    """Return the report dict stored in ``graph.graph`` (parsed if GraphML made it a string)."""
    stored = graph.graph.get(REPORT_KEY)
    if isinstance(stored, str):
        try:
            stored = ast.literal_eval(stored)
        except (ValueError, SyntaxError):
            return None
    return stored if isinstance(stored, dict) else None


def apply_profile(
    graph: nx.MultiDiGraph,
    profile: Profile | str,
    *,
    robot_speed_kph: float = 6.0,
    source: str | None = None,
) -> tuple[nx.MultiDiGraph, NetworkReport]:
    """Return a copy of ``graph`` prepared for a movement profile, and its report.

    Parameters
    ----------
    graph
        Unprojected OSMnx street graph (EPSG:4326) with ``length`` (m) on every edge. It is
        not modified.
    profile
        ``"robot"`` (every street two-way, constant speed) or ``"van"`` (one-way rules, speeds
        from ``maxspeed`` or :data:`VAN_SPEEDS_KPH`).
    robot_speed_kph
        Robot speed in km/h, used by the robot profile.
    source
        Name of the data source for the report; defaults to the one already stored in the
        graph, else ``"<graph>"``.

    Returns
    -------
    tuple of (networkx.MultiDiGraph, NetworkReport)
        The largest strongly connected component with ``speed_kph`` (km/h) and
        ``travel_time`` (s) on every edge, and its report (also stored as a plain dict in
        ``G.graph["carreta_report"]``).

    Raises
    ------
    NetworkError
        If the profile or speed is invalid, the graph is empty, projected, lacks node
        coordinates or edge lengths, or is a robot graph asked for the van profile.
    """
    check_profile(profile, robot_speed_kph)
    previous = stored_report(graph) or {}
    name = source or str(previous.get("source", "<graph>"))
    if graph.number_of_edges() == 0:
        raise NetworkError(f"{name}: the street network is empty (no OSM ways with streets)")
    if profile == "van" and previous.get("profile") == "robot":
        raise NetworkError(
            f"{name}: graph was built for the robot profile (one-way rules removed); "
            "load the OSM data again for the van profile"
        )
    _check_geographic(graph, name)
    _check_lengths(graph, name)

    import osmnx as ox  # here, not at import: a cached graph never needs it

    work = graph.copy()
    work.graph.setdefault("crs", "epsg:4326")  # OSMnx functions expect it
    if profile == "robot":
        added = _make_two_way(work)
        logger.debug("%s: added %d reverse edges for the robot profile", name, added)
    nodes_before, edges_before = work.number_of_nodes(), work.number_of_edges()
    work = ox.truncate.largest_component(work, strongly=True)
    if profile == "robot":
        set_robot_speeds(work, robot_speed_kph)
    else:
        work = _set_van_speeds(work, source=name)

    dropped_nodes = nodes_before - work.number_of_nodes()
    dropped_edges = edges_before - work.number_of_edges()
    if dropped_nodes:
        logger.info(
            "%s (%s): dropped %d nodes and %d edges outside the largest strongly connected "
            "component",
            name,
            profile,
            dropped_nodes,
            dropped_edges,
        )
    work.graph[REPORT_KEY] = {
        "source": name,
        "profile": profile,
        "dropped_nodes": dropped_nodes,
        "dropped_edges": dropped_edges,
    }
    report = graph_report(work)
    work.graph[REPORT_KEY] = report.to_dict()
    return work, report


def graph_report(graph: nx.MultiDiGraph) -> NetworkReport:
    """Describe a street graph: size, km of street, bounding box and what loading dropped.

    Sizes, lengths and bbox are computed from ``graph`` now; source, profile and dropped counts
    come from the report stored by :func:`apply_profile` (``"none"`` and 0 without one).

    Parameters
    ----------
    graph
        Unprojected street graph with ``x``/``y`` (degrees) on nodes and ``length`` (m) on edges.

    Returns
    -------
    NetworkReport

    Raises
    ------
    NetworkError
        If the graph has no nodes.
    """
    stored = stored_report(graph) or {}
    if graph.number_of_nodes() == 0:
        raise NetworkError(f"{stored.get('source', '<graph>')}: the street network is empty")
    xs = [float(x) for _, x in graph.nodes(data="x")]
    ys = [float(y) for _, y in graph.nodes(data="y")]
    directed_m = sum(float(length) for _, _, length in graph.edges(data="length", default=0.0))
    return NetworkReport(
        source=str(stored.get("source", graph.graph.get("name", "<graph>"))),
        profile=str(stored.get("profile", "none")),
        nodes=graph.number_of_nodes(),
        edges=graph.number_of_edges(),
        street_km=_street_km(graph),
        directed_km=directed_m / 1000.0,
        bbox=(min(xs), min(ys), max(xs), max(ys)),
        dropped_nodes=int(stored.get("dropped_nodes", 0)),
        dropped_edges=int(stored.get("dropped_edges", 0)),
    )
