"""``carreta network``: inspect a street network and route on it from the command line.

Errors are not handled here: :func:`carreta.sim.cli.main` turns every user error into one line and
exit code 2. Like every sub-command module, this one imports only typer and the standard library
at import time; the routing layer (OSMnx, networkx, scipy) is imported when a command runs.
"""

from __future__ import annotations

import enum
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from carreta.routing.errors import SnapError

if TYPE_CHECKING:
    import networkx as nx

    from carreta.routing.profile import NetworkReport, Profile
    from carreta.routing.router import Route

__all__ = ["LonLat", "load_graph", "network_app", "parse_lon_lat"]

network_app = typer.Typer(
    help="Inspect street networks and route on them.",
    no_args_is_help=True,
)


class ProfileName(enum.StrEnum):
    """Movement profiles offered on the command line."""

    robot = "robot"
    van = "van"


@dataclass(frozen=True, slots=True)
class LonLat:
    """A point given as ``LON,LAT`` in degrees (EPSG:4326)."""

    lon: float
    lat: float

    def __str__(self) -> str:
        return f"{self.lon:.6f}, {self.lat:.6f}"


def parse_lon_lat(text: str) -> LonLat:
    """Parse ``"LON,LAT"`` (degrees); raise :class:`typer.BadParameter` (a usage error)."""
    parts = text.split(",")
    try:
        lon, lat = (float(part) for part in parts)
    except ValueError:
        raise typer.BadParameter(f"expected LON,LAT in degrees, got {text!r}") from None
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise typer.BadParameter(f"{text!r} is not a longitude,latitude pair in degrees")
    return LonLat(lon, lat)


SourceArgument = Annotated[
    str,
    typer.Argument(
        help="OSM XML (.osm, .osm.bz2, .xml) or GraphML file, or a place name to download.",
        metavar="SOURCE",
        show_default=False,
    ),
]
ProfileOption = Annotated[
    ProfileName, typer.Option("--profile", help="Who moves: robot (two-way) or van.")
]
CacheOption = Annotated[
    Path | None,
    typer.Option(
        "--cache-dir",
        help="Cache folder (default: $CARRETA_CACHE_DIR, else ~/.cache/carreta).",
        file_okay=False,
        show_default=False,
    ),
]


def load_graph(
    source: str,
    *,
    profile: Profile,
    simplify: bool = True,
    cache_dir: str | os.PathLike[str] | None = None,
) -> nx.MultiDiGraph:
    """Load and profile a street network: :func:`carreta.routing.load_graph`, imported on call.

    Raises
    ------
    NetworkError
        If the network cannot be loaded (see :func:`carreta.routing.load_graph`).
    """
    from carreta.routing.network import load_graph as load_profiled_graph

    return load_profiled_graph(source, profile=profile, simplify=simplify, cache_dir=cache_dir)


def _format_duration(seconds: float) -> str:
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes}:{rest:02d}"


def _report_lines(report: NetworkReport) -> list[str]:
    west, south, east, north = report.bbox
    return [
        f"source     {report.source}",
        f"profile    {report.profile}",
        f"nodes      {report.nodes:,}",
        f"edges      {report.edges:,}",
        f"streets    {report.street_km:,.1f} km ({report.directed_km:,.1f} km of directed edges)",
        f"bbox       {west:.6f}, {south:.6f}, {east:.6f}, {north:.6f} (west, south, east, north)",
        f"dropped    {report.dropped_nodes:,} nodes, {report.dropped_edges:,} edges outside "
        "the largest strongly connected component",
    ]


@network_app.command("info")
def info(
    source: SourceArgument,
    profile: ProfileOption = ProfileName.robot,
    simplify: Annotated[
        bool, typer.Option("--simplify/--no-simplify", help="Simplify the OSM topology.")
    ] = True,
    cache_dir: CacheOption = None,
) -> None:
    """Print the size, km of street, bounding box and dropped nodes of a street network."""
    from carreta.routing.profile import graph_report

    graph = load_graph(source, profile=profile.value, simplify=simplify, cache_dir=cache_dir)
    for line in _report_lines(graph_report(graph)):
        typer.echo(line)


def _route(graph: nx.MultiDiGraph, origin: int, destination: int) -> Route:
    """Fastest route (``travel_time``) between two nodes; raises NoRouteError.

    A one-off query needs one Dijkstra search, so the scipy backend (no preprocessing) is used.
    """
    from carreta.routing.router import Router

    return Router(graph, weight="travel_time", backend="scipy").route(origin, destination)


@network_app.command("route")
def route(
    source: SourceArgument,
    origin: Annotated[LonLat, typer.Option("--from", parser=parse_lon_lat, metavar="LON,LAT")],
    destination: Annotated[LonLat, typer.Option("--to", parser=parse_lon_lat, metavar="LON,LAT")],
    profile: ProfileOption = ProfileName.robot,
    max_snap_m: Annotated[
        float,
        typer.Option("--max-snap-m", min=0.0, help="Farthest a point may be from the network (m)."),
    ] = 500.0,
    cache_dir: CacheOption = None,
) -> None:
    """Route between two points: duration, length, nodes and how far each point was snapped."""
    from carreta.routing.snap import Snapper, format_distance

    graph = load_graph(source, profile=profile.value, cache_dir=cache_dir)
    snapped = Snapper(graph).snap([origin.lon, destination.lon], [origin.lat, destination.lat])
    for option, point, distance_m in zip(
        ("--from", "--to"), (origin, destination), snapped.distance_m, strict=True
    ):
        if distance_m > max_snap_m:
            raise SnapError(
                f"{option} point ({point}) is {format_distance(float(distance_m))} from the "
                f"nearest street node of {source} (limit {format_distance(max_snap_m)}, "
                "see --max-snap-m)"
            )
    start, end = (int(node) for node in snapped.nodes)
    result = _route(graph, start, end)
    typer.echo(f"from       {origin} → node {start} (snapped {snapped.distance_m[0]:.0f} m)")
    typer.echo(f"to         {destination} → node {end} (snapped {snapped.distance_m[1]:.0f} m)")
    typer.echo(f"profile    {profile.value}")
    typer.echo(f"duration   {_format_duration(result.duration_s)} (min:s)")
    typer.echo(f"length     {result.length_m / 1000:.2f} km")
    typer.echo(f"nodes      {len(result.nodes)}")
