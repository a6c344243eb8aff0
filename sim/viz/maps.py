"""Maps of a run: streets, hubs, deliveries, routes and districts (matplotlib).

Figures are built with :class:`matplotlib.figure.Figure` directly, never through pyplot, so
plotting neither needs a display nor changes the caller's matplotlib backend. Maps are drawn in
a local equirectangular projection in kilometres around the run's activity, so hexagons are
regular and the scale bar is true (:mod:`~carreta.sim.viz.map_frame`). Each map shows its
context: the street network light beneath, the pedestrian zones and districts the scenario
names (:mod:`~carreta.sim.viz.map_layers`), the main streets and squares by name (labels never
overlap each other, the hubs or the scale bar), the hubs with their names, a scale bar, a north
arrow and the credit of every layer. The figure takes the shape of the map (no white bands) and
legends sit outside the map. Routes are coloured by hub, robot group, hour or traffic, with a
legend a reader can follow (:func:`route_colouring`).
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Literal

import geopandas as gpd
import matplotlib
import numpy as np
import pandas as pd
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.collections import LineCollection
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator
from pandas.api.types import is_string_dtype
from shapely.geometry import Point

from carreta.sim.output.rundir import Run, RunDirError, StreetLines
from carreta.sim.viz.map_frame import (
    DPI,
    ZONE_FILL,
    LocalProjection,
    district_labels,
    draw_context,
    draw_hubs,
    draw_streets,
    frame_map,
    hub_handle,
    new_map,
    place_labels,
    plain,
    rings,
    shaped_bounds,
)
from carreta.sim.viz.map_layers import MapContext, map_context, street_labels

__all__ = [
    "ZONE_FILL",
    "LocalProjection",
    "MapContext",
    "RouteColours",
    "map_context",
    "new_map",
    "place_labels",
    "plot_deliveries_map",
    "plot_districts",
    "plot_routes_map",
    "route_colouring",
    "route_groups",
    "shaped_bounds",
]

logger = logging.getLogger(__name__)

#: How routes are coloured: by hub, by robot group (type), by hour of departure, by traffic
#: (robot passes per street), or "auto" (hubs if several, else groups if several, else
#: traffic).
RouteColours = Literal["auto", "hub", "group", "hour", "traffic"]
#: Classes of robot passes per street segment (both directions) on the traffic map.
TRAFFIC_CLASSES = ((1, 2), (3, 9), (10, 29), (30, 99), (100, None))


def _legs_xy(legs: pd.DataFrame, projection: LocalProjection) -> list[np.ndarray]:
    return [
        np.column_stack(projection(np.asarray(lons, float), np.asarray(lats, float)))
        for lons, lats in zip(legs["lons"], legs["lats"], strict=True)
    ]


def _hour_bins(depart_s: np.ndarray) -> np.ndarray:
    """Edges (seconds) of the departure-time bins: whole hours, 1 h or 2 h wide."""
    first = math.floor(float(np.nanmin(depart_s)) / 3600.0)
    last = math.floor(float(np.nanmax(depart_s)) / 3600.0) + 1
    width = 1 if last - first <= 6 else 2
    return np.arange(first, last + width, width, dtype=float) * 3600.0


def route_colouring(run: Run, colour_by: RouteColours = "auto") -> RouteColours:
    """``colour_by`` with ``auto`` resolved: ``hub`` when the run has several hubs, else
    ``group`` when it has several robot groups (``type``), else ``traffic``."""
    if colour_by != "auto":
        return colour_by
    if run.robots["hub_id"].astype(str).nunique() > 1:
        return "hub"
    if run.robots["type"].astype(str).nunique() > 1:
        return "group"
    return "traffic"


def route_groups(
    run: Run, colour_by: RouteColours = "auto"
) -> tuple[str, list[tuple[str, str, np.ndarray]]]:
    """How the legs are split for colouring: a legend title and (label, colour, leg mask).

    ``colour_by`` is ``hub``, ``group`` (robot type) or ``hour`` (of departure, 1 h or 2 h
    classes), or ``auto`` (:func:`route_colouring`).

    Raises
    ------
    ValueError
        For ``traffic``, which colours street segments (:func:`draw_traffic`), not legs.
    """
    legs = run.legs
    robots = run.robots.assign(robot_id=run.robots["robot_id"].astype(str))
    robot_ids = legs["robot_id"].astype(str)
    colour_by = route_colouring(run, colour_by)
    if colour_by == "traffic":
        raise ValueError("traffic colours street segments, not legs: use draw_traffic")
    if colour_by in ("hub", "group"):
        column = "hub_id" if colour_by == "hub" else "type"
        of_robot = dict(zip(robots["robot_id"], robots[column].astype(str), strict=True))
        keys = robot_ids.map(of_robot).fillna("?").to_numpy(str)
        names = sorted(set(keys))
        palette = matplotlib.colormaps["tab10" if len(names) <= 10 else "tab20"]
        groups = [
            (name, matplotlib.colors.to_hex(palette(i % palette.N)), keys == name)
            for i, name in enumerate(names)
        ]
        return ("hub" if colour_by == "hub" else "robot group"), groups
    depart = legs["depart_s"].to_numpy(float)
    edges = _hour_bins(depart)
    cmap = matplotlib.colormaps["viridis"]
    groups = []
    count = len(edges) - 1
    for i in range(count):
        mask = (depart >= edges[i]) & (depart < edges[i + 1])
        start, end = int(edges[i] // 3600), int(edges[i + 1] // 3600)
        colour = matplotlib.colors.to_hex(cmap(0.9 * i / max(count - 1, 1)))
        groups.append((f"{start:02d}:00–{end:02d}:00", colour, mask))
    return "leaving between", groups


def traffic_segments(run: Run) -> tuple[np.ndarray, np.ndarray]:
    """Each street segment the robots drove (node to node, either way) and its passes.

    Returns an (n, 2, 2) array of segment ends (lon, lat degrees) and the n pass counts.
    """
    passes: dict[tuple[int, int], int] = {}
    ends: dict[tuple[int, int], tuple[float, float, float, float]] = {}
    for nodes, lons, lats in zip(run.legs["nodes"], run.legs["lons"], run.legs["lats"],
                                 strict=True):  # fmt: skip
        for i in range(len(nodes) - 1):
            u, v = int(nodes[i]), int(nodes[i + 1])
            key = (u, v) if u < v else (v, u)
            passes[key] = passes.get(key, 0) + 1
            if key not in ends:
                ends[key] = (float(lons[i]), float(lats[i]), float(lons[i + 1]), float(lats[i + 1]))
    if not passes:
        return np.empty((0, 2, 2)), np.empty(0, np.int64)
    coords = np.array([ends[key] for key in passes], float).reshape(-1, 2, 2)
    return coords, np.fromiter(passes.values(), np.int64, len(passes))


def draw_traffic(ax: Axes, run: Run, projection: LocalProjection) -> list[Artist]:
    """Streets the robots drove, coloured and widened by passes (:data:`TRAFFIC_CLASSES`);
    returns the legend handles, one per class present."""
    coords, passes = traffic_segments(run)
    cmap = matplotlib.colormaps["plasma_r"]
    handles: list[Artist] = []
    for i, (low, high) in enumerate(TRAFFIC_CLASSES):
        mask = (passes >= low) & (passes <= (high if high is not None else np.inf))
        if not mask.any():
            continue
        colour = matplotlib.colors.to_hex(cmap(0.12 + 0.8 * i / (len(TRAFFIC_CLASSES) - 1)))
        width = 0.9 + 0.9 * i
        x, y = projection(coords[mask, :, 0], coords[mask, :, 1])
        lines = LineCollection(list(np.stack([x, y], axis=-1)), colors=colour, linewidths=width,
                               capstyle="round", zorder=3 + 0.1 * i)  # fmt: skip
        ax.add_collection(lines)
        label = f"{low}–{high}" if high is not None else f"{low} or more"
        handles.append(Line2D([], [], color=colour, linewidth=width + 1,
                              label=f"{label} ({int(mask.sum()):,} segments)"))  # fmt: skip
    return handles


def plot_deliveries_map(
    run: Run,
    streets: StreetLines,
    bounds: tuple[float, float, float, float],
    path: Path,
    *,
    context: MapContext | None = None,
    labels: bool = True,
) -> Path:
    """Hub(s) and the day's delivered orders as a hexagon density map; undelivered as dots.

    ``context`` (default :func:`map_context` of the run) gives the zones and districts drawn
    under the orders; ``labels`` names the main streets and squares.
    """
    context = map_context(run) if context is None else context
    fig, ax, projection = new_map(bounds, attribution=_credit(run, context), extra_width_in=1.2)
    draw_streets(ax, streets, projection)
    handles = draw_context(ax, context, projection)
    orders = run.orders
    delivered = orders[orders["state"] == "delivered"]
    missed = orders[orders["state"] != "delivered"]
    x, y = projection(delivered["lon"].to_numpy(float), delivered["lat"].to_numpy(float))
    xlim, ylim = ax.get_xlim(), ax.get_ylim()
    cell_km = max(xlim[1] - xlim[0], ylim[1] - ylim[0]) / 30.0
    if len(delivered):
        cells = ax.hexbin(
            x, y, gridsize=30, extent=(*xlim, *ylim), mincnt=1, cmap="YlOrRd", alpha=0.8,
            linewidths=0.2, edgecolors="white", zorder=3,
        )  # fmt: skip
        bar = fig.colorbar(cells, ax=ax, shrink=0.75, pad=0.01, aspect=30)
        bar.set_label(f"delivered orders per hexagon (≈{cell_km * 1000:.0f} m across)")
        bar.locator = MaxNLocator(integer=True)
        bar.update_ticks()
    if len(missed):
        mx, my = projection(missed["lon"].to_numpy(float), missed["lat"].to_numpy(float))
        ax.scatter(mx, my, s=9, c="#3b4cc0", alpha=0.7, linewidths=0, zorder=4)
        handles.insert(0, Line2D([], [], marker="o", linestyle="", color="#3b4cc0",
                                 label=f"not delivered by the end ({len(missed):,})"))  # fmt: skip
    draw_hubs(ax, run, projection)
    handles.insert(0, hub_handle())
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 4),
               fontsize=9, frameon=False)  # fmt: skip
    ax.set_title(
        f"Deliveries of the day: {len(delivered):,} of {len(orders):,} orders delivered\n"
        f"{plain(run.title)}",
        fontsize=13,
    )
    if labels:
        _label(fig, ax, streets, context, projection)
    return _save(fig, path)


def _credit(run: Run, context: MapContext) -> str:
    return plain("\n".join((run.attribution, *context.credits)))


def _label(
    fig: Figure, ax: Axes, streets: StreetLines, context: MapContext, projection: LocalProjection
) -> None:
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    kx, ky = projection.km_per_degree
    shown = (projection.lon0 + x0 / kx, projection.lat0 + y0 / ky,
             projection.lon0 + x1 / kx, projection.lat0 + y1 / ky)  # fmt: skip
    chosen = street_labels(streets, shown, km_per_degree=projection.km_per_degree)
    place_labels(fig, ax, chosen, projection, districts=district_labels(context, shown))


def plot_routes_map(
    run: Run,
    streets: StreetLines,
    bounds: tuple[float, float, float, float],
    path: Path,
    *,
    colour_by: RouteColours = "auto",
    context: MapContext | None = None,
    labels: bool = True,
) -> Path:
    """Every leg every robot drove, coloured by hub, robot group or departure hour.

    ``colour_by`` chooses (default ``auto``, :func:`route_colouring`: by hub if several, by
    robot group if several, else by traffic, the robot passes per street segment); the legend,
    outside the map, gives each colour's legs and kilometres (or segments). ``context`` and
    ``labels`` as in :func:`plot_deliveries_map`.
    """
    context = map_context(run) if context is None else context
    fig, ax, projection = new_map(bounds, attribution=_credit(run, context), extra_width_in=2.6)
    draw_streets(ax, streets, projection)
    handles = draw_context(ax, context, projection)
    lengths = run.legs["length_m"].to_numpy(float)
    colour_by = route_colouring(run, colour_by)
    route_handles: list[Artist] = []
    groups: list[tuple[str, str, np.ndarray]] = []
    if colour_by == "traffic":
        title = "robot passes per street segment\n(both directions, whole day)"
        route_handles = draw_traffic(ax, run, projection)
    else:
        title, groups = route_groups(run, colour_by)
    for name, colour, mask in groups:
        if not mask.any():
            continue
        legs = run.legs[mask]
        ax.add_collection(LineCollection(_legs_xy(legs, projection), colors=colour,
                                         linewidths=1.5, alpha=0.7, zorder=3))  # fmt: skip
        km = float(np.nansum(lengths[mask])) / 1000.0
        text = plain(f"{name}: {int(mask.sum()):,} legs, {km:,.1f} km")
        route_handles.append(Line2D([], [], color=colour, linewidth=3, label=text))
    draw_hubs(ax, run, projection)
    fig.legend(handles=route_handles, title=title, loc="outside right upper", fontsize=9,
               title_fontsize=10, frameon=False, alignment="left")  # fmt: skip
    handles.insert(0, hub_handle())
    fig.legend(handles=handles, loc="outside lower center", ncols=len(handles), fontsize=9,
               frameon=False)  # fmt: skip
    total_km = float(np.nansum(lengths)) / 1000.0
    ax.set_title(
        f"Robots' routes: {len(run.robots)} robots, {len(run.legs):,} legs, {total_km:,.1f} km\n"
        f"{plain(run.title)}",
        fontsize=13,
    )
    if labels:
        _label(fig, ax, streets, context, projection)
    return _save(fig, path)


def district_name_column(districts: gpd.GeoDataFrame, source: Path) -> str:
    """The column that names the polygons: a known name column, else the first text column."""
    known = ("LIBQUART", "NOM", "nom", "name", "NAME", "Name", "libelle", "LIBELLE", "label")
    for column in known:
        if column in districts.columns:
            return column
    for column in districts.columns:
        if column != "geometry" and is_string_dtype(districts[column]):  # object, str or string
            return str(column)
    raise RunDirError(f"{source}: no text column to name the polygons by")


def read_districts(path: Path) -> gpd.GeoDataFrame:
    """A polygons file (any format GeoPandas reads) in EPSG:4326.

    Raises
    ------
    RunDirError
        If the file is missing, unreadable, or holds no polygons.
    """
    if not path.is_file():
        raise RunDirError(f"{path}: no such districts file")
    try:
        districts = gpd.read_file(path)
    except (OSError, ValueError, RuntimeError) as error:
        raise RunDirError(
            f"{path}: cannot read polygons ({' '.join(str(error).split())})"
        ) from error
    districts = districts[districts.geometry.notna()]
    districts = districts[districts.geom_type.isin(["Polygon", "MultiPolygon"])]
    if districts.empty:
        raise RunDirError(f"{path}: no polygons in this file")
    if districts.crs is None:
        districts = districts.set_crs("EPSG:4326")
    return districts.to_crs("EPSG:4326")


def deliveries_per_district(run: Run, districts: gpd.GeoDataFrame, name: str) -> dict[str, int]:
    """Delivered orders per polygon (spatial join on the door's position), largest first.

    Orders outside every polygon are counted under ``"outside"`` when there are any.
    """
    delivered = run.orders[run.orders["state"] == "delivered"]
    points = gpd.GeoDataFrame(
        {"order_id": delivered["order_id"].to_numpy()},
        geometry=[Point(xy) for xy in zip(delivered["lon"], delivered["lat"], strict=True)],
        crs="EPSG:4326",
    )
    joined = gpd.sjoin(points, districts[[name, "geometry"]], how="left", predicate="within")
    joined = joined.drop_duplicates(subset="order_id")
    counts = joined[name].fillna("outside").astype(str).value_counts()
    result = {str(d): int(counts.get(str(d), 0)) for d in districts[name].astype(str)}
    if counts.get("outside", 0):
        result["outside"] = int(counts["outside"])
    return dict(sorted(result.items(), key=lambda item: -item[1]))


def plot_districts(
    run: Run,
    streets: StreetLines,
    districts: gpd.GeoDataFrame,
    name: str,
    path: Path,
    *,
    context: MapContext | None = None,
) -> Path:
    """A choropleth of deliveries per district beside a bar chart of the same counts.

    The pedestrian zones of ``context`` (default :func:`map_context` of the run) are outlined
    on the map.
    """
    context = map_context(run) if context is None else context
    counts = deliveries_per_district(run, districts, name)
    west, south, east, north = districts.total_bounds
    bounds = (float(west), float(south), float(east), float(north))
    projection = LocalProjection.around(bounds)
    fig = Figure(figsize=(14, 7.5), dpi=DPI, layout="constrained")
    ax, bars = fig.subplots(1, 2, width_ratios=(1.7, 1))
    frame_map(ax, projection, bounds, attribution=_credit(run, context))
    draw_streets(ax, streets, projection)
    values = np.array([counts.get(str(d), 0) for d in districts[name].astype(str)], float)
    norm = Normalize(0, max(values.max(), 1.0))
    cmap = matplotlib.colormaps["Blues"]
    for geometry, value, label in zip(districts.geometry, values, districts[name], strict=True):
        polygons = getattr(geometry, "geoms", [geometry])
        for polygon in polygons:
            px, py = projection(*np.asarray(polygon.exterior.coords, float)[:, :2].T)
            ax.fill(px, py, color=cmap(norm(value)), alpha=0.75, zorder=2, linewidth=0)
            ax.plot(px, py, color="#334455", linewidth=0.8, zorder=4)
        cx, cy = projection(np.array([geometry.representative_point().x]),
                            np.array([geometry.representative_point().y]))  # fmt: skip
        ax.text(cx[0], cy[0], plain(f"{label}\n{int(value):,}"), ha="center", va="center",
                fontsize=8, zorder=6, bbox={"facecolor": "white", "alpha": 0.7, "edgecolor": "none",
                                "pad": 1})  # fmt: skip
    for zone in context.zones:
        for ring in rings(zone.polygon):
            zx, zy = projection(ring[:, 0], ring[:, 1])
            ax.plot(zx, zy, color="#8fe08f", linewidth=1.0, zorder=5)
    draw_hubs(ax, run, projection, label=False)
    handles: list[Artist] = [hub_handle()]
    if context.zones:
        handles.append(Line2D([], [], color="#8fe08f", label="pedestrian zone"))
    ax.legend(
        handles=handles,
        loc="upper left",
        bbox_to_anchor=(0.0, -0.005),
        ncols=2,
        fontsize=9,
        frameon=False,
    )  # below the map, covering nothing
    mappable = ScalarMappable(norm=norm, cmap=cmap)
    fig.colorbar(mappable, ax=ax, shrink=0.6, pad=0.01, label="delivered orders")
    ax.set_title("Delivered orders per district", fontsize=13)
    names = list(counts)[::-1]
    bars.barh([plain(n) for n in names], [counts[n] for n in names], color="#2c7fb8")
    for i, n in enumerate(names):
        bars.text(counts[n], i, f" {counts[n]:,}", va="center", fontsize=9)
    bars.set_xlabel("delivered orders")
    bars.set_title(
        f"{sum(counts.values()):,} deliveries by district — {plain(run.title)}", fontsize=12
    )
    bars.spines[["top", "right"]].set_visible(False)
    bars.margins(x=0.15)
    return _save(fig, path)


def _save(fig: Figure, path: Path) -> Path:
    fig.savefig(path, dpi=DPI, facecolor="white", bbox_inches="tight", pad_inches=0.08)
    logger.info("wrote %s", path)
    return path
