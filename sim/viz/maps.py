"""Maps of a run: streets, hubs, deliveries, routes and districts (matplotlib).

Figures are built with :class:`matplotlib.figure.Figure` directly, never through pyplot, so
plotting neither needs a display nor changes the caller's matplotlib backend. Maps are drawn in
a local equirectangular projection in kilometres around the run's activity, so hexagons are
regular and the scale bar is true; every map carries the OpenStreetMap credit.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import matplotlib
import numpy as np
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.collections import LineCollection
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from pandas.api.types import is_string_dtype
from shapely.geometry import Point

from carreta.sim.output.rundir import Run, RunDirError, StreetLines
from carreta.sim.scenario.sections import OSM_CREDIT

__all__ = ["LocalProjection", "plot_deliveries_map", "plot_districts", "plot_routes_map"]

logger = logging.getLogger(__name__)

KM_PER_DEGREE_LAT = 110.574
KM_PER_DEGREE_LON_EQUATOR = 111.320
STREET_COLOUR = "#b4b4b4"
DPI = 150


@dataclass(frozen=True)
class LocalProjection:
    """Degrees to kilometres east and north of (``lon0``, ``lat0``) — fine at city scale."""

    lon0: float
    lat0: float

    @classmethod
    def around(cls, bounds: tuple[float, float, float, float]) -> LocalProjection:
        """The projection centred on a (west, south, east, north) box."""
        west, south, east, north = bounds
        return cls((west + east) / 2.0, (south + north) / 2.0)

    def __call__(self, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(x km, y km) of degree arrays."""
        scale = KM_PER_DEGREE_LON_EQUATOR * math.cos(math.radians(self.lat0))
        x = (np.asarray(lon, float) - self.lon0) * scale
        y = (np.asarray(lat, float) - self.lat0) * KM_PER_DEGREE_LAT
        return x, y


def new_map(
    bounds: tuple[float, float, float, float],
    *,
    size: tuple[float, float] = (10.0, 9.0),
    attribution: str = OSM_CREDIT,
) -> tuple[Figure, Axes, LocalProjection]:
    """A figure with one map axes framed on ``bounds`` (no ticks)."""
    projection = LocalProjection.around(bounds)
    fig = Figure(figsize=size, dpi=DPI, layout="constrained")
    ax = fig.subplots()
    frame_map(ax, projection, bounds, attribution=attribution)
    return fig, ax, projection


def frame_map(
    ax: Axes,
    projection: LocalProjection,
    bounds: tuple[float, float, float, float],
    *,
    attribution: str = OSM_CREDIT,
) -> None:
    """Frame ``ax`` on ``bounds``: equal aspect, no ticks, scale bar and the street network's
    credit line (a run's is :attr:`Run.attribution`)."""
    west, south, east, north = bounds
    (x0, x1), (y0, y1) = projection(np.array([west, east]), np.array([south, north]))
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_facecolor("#f7f7f5")
    _scale_bar(ax, x0, x1, y0, y1)
    ax.text(
        0.995, 0.005, attribution, transform=ax.transAxes, ha="right", va="bottom", fontsize=8,
        color="#333333", bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "none", "pad": 2},
        zorder=10,
    )  # fmt: skip


def _scale_bar(ax: Axes, x0: float, x1: float, y0: float, y1: float) -> None:
    width = x1 - x0
    length = max(k for k in (0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0) if k <= width / 4 or k == 0.1)
    left, bottom = x0 + 0.03 * width, y0 + 0.04 * (y1 - y0)
    ax.plot([left, left + length], [bottom, bottom], color="black", linewidth=3, zorder=10)
    label = f"{length:g} km" if length >= 1 else f"{length * 1000:.0f} m"
    ax.text(left + length / 2, bottom + 0.012 * (y1 - y0), label, ha="center", va="bottom",
            fontsize=9, zorder=10)  # fmt: skip


def draw_streets(ax: Axes, streets: StreetLines, projection: LocalProjection) -> None:
    """The street network as thin grey lines."""
    segments = [np.column_stack(projection(line[:, 0], line[:, 1])) for line in streets.lines]
    ax.add_collection(
        LineCollection(segments, colors=STREET_COLOUR, linewidths=0.45, zorder=1, rasterized=True)
    )


def draw_hubs(ax: Axes, run: Run, projection: LocalProjection, *, label: bool = True) -> None:
    """Hubs as large black-edged stars with their ids."""
    if not run.hubs:
        return
    x, y = projection(np.array([h.lon for h in run.hubs]), np.array([h.lat for h in run.hubs]))
    ax.scatter(x, y, marker="*", s=420, c="#ffcc00", edgecolors="black", linewidths=1.2,
               zorder=8, label="hub")  # fmt: skip
    if label:
        for hub, hx, hy in zip(run.hubs, x, y, strict=True):
            ax.annotate(hub.hub_id, (hx, hy), xytext=(9, 7), textcoords="offset points",
                        fontsize=10, fontweight="bold", zorder=9,
                        bbox={"facecolor": "white", "alpha": 0.75, "edgecolor": "none",
                              "pad": 1.5})  # fmt: skip


def plot_deliveries_map(
    run: Run, streets: StreetLines, bounds: tuple[float, float, float, float], path: Path
) -> Path:
    """Hub(s) and the day's delivered orders as a hexagon density map; undelivered as dots."""
    fig, ax, projection = new_map(bounds, attribution=run.attribution)
    draw_streets(ax, streets, projection)
    orders = run.orders
    delivered = orders[orders["state"] == "delivered"]
    missed = orders[orders["state"] != "delivered"]
    x, y = projection(delivered["lon"].to_numpy(float), delivered["lat"].to_numpy(float))
    xlim, ylim = ax.get_xlim(), ax.get_ylim()
    cell_km = max(xlim[1] - xlim[0], ylim[1] - ylim[0]) / 30.0
    if len(delivered):
        cells = ax.hexbin(
            x, y, gridsize=30, extent=(*xlim, *ylim), mincnt=1, cmap="YlOrRd", alpha=0.85,
            linewidths=0.2, edgecolors="white", zorder=3,
        )  # fmt: skip
        bar = fig.colorbar(cells, ax=ax, shrink=0.7, pad=0.01)
        bar.set_label(f"delivered orders per hexagon (≈{cell_km * 1000:.0f} m across)")
        bar.locator = MaxNLocator(integer=True)
        bar.update_ticks()
    if len(missed):
        mx, my = projection(missed["lon"].to_numpy(float), missed["lat"].to_numpy(float))
        ax.scatter(mx, my, s=5, c="#3b4cc0", alpha=0.45, linewidths=0, zorder=4,
                   label=f"not delivered by the end ({len(missed):,})")  # fmt: skip
    draw_hubs(ax, run, projection)
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.legend(loc="upper left", fontsize=9, framealpha=0.9)
    ax.set_title(
        f"Deliveries of the day: {len(delivered):,} of {len(orders):,} orders delivered\n"
        f"{run.title}",
        fontsize=13,
    )
    return _save(fig, path)


def plot_routes_map(
    run: Run, streets: StreetLines, bounds: tuple[float, float, float, float], path: Path
) -> Path:
    """Every leg every robot drove, one colour per robot."""
    fig, ax, projection = new_map(bounds, attribution=run.attribution)
    draw_streets(ax, streets, projection)
    robot_ids = sorted(run.legs["robot_id"].astype(str).unique())
    palette = matplotlib.colormaps["tab10" if len(robot_ids) <= 10 else "tab20"]
    for i, robot_id in enumerate(robot_ids):
        legs = run.legs[run.legs["robot_id"].astype(str) == robot_id]
        segments = [
            np.column_stack(projection(np.asarray(lons, float), np.asarray(lats, float)))
            for lons, lats in zip(legs["lons"], legs["lats"], strict=True)
        ]
        km = float(legs["length_m"].sum()) / 1000.0
        ax.add_collection(
            LineCollection(
                segments, colors=[palette(i % palette.N)], linewidths=1.6, alpha=0.55, zorder=3,
                label=f"{robot_id} ({km:.1f} km)" if len(robot_ids) <= 12 else None,
            )
        )  # fmt: skip
    draw_hubs(ax, run, projection)
    if 0 < len(robot_ids) <= 12:
        ax.legend(loc="upper left", fontsize=8, framealpha=0.9, title="robot (distance driven)")
    else:
        ax.text(0.01, 0.99, f"one colour per robot ({len(robot_ids)} robots)", fontsize=9,
                transform=ax.transAxes, ha="left", va="top", zorder=10,
                bbox={"facecolor": "white", "alpha": 0.85, "edgecolor": "#cccccc"})  # fmt: skip
    total_km = float(run.legs["length_m"].sum()) / 1000.0
    ax.set_title(
        f"Robots' routes: {len(robot_ids)} robots, {len(run.legs):,} legs, {total_km:,.1f} km\n"
        f"{run.title}",
        fontsize=13,
    )
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
) -> Path:
    """A choropleth of deliveries per district beside a bar chart of the same counts."""
    counts = deliveries_per_district(run, districts, name)
    west, south, east, north = districts.total_bounds
    bounds = (float(west), float(south), float(east), float(north))
    projection = LocalProjection.around(bounds)
    fig = Figure(figsize=(15, 7.5), dpi=DPI, layout="constrained")
    ax, bars = fig.subplots(1, 2, width_ratios=(1.25, 1))
    frame_map(ax, projection, bounds, attribution=run.attribution)
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
        ax.text(cx[0], cy[0], f"{label}\n{int(value):,}", ha="center", va="center", fontsize=8,
                zorder=6, bbox={"facecolor": "white", "alpha": 0.7, "edgecolor": "none",
                                "pad": 1})  # fmt: skip
    draw_hubs(ax, run, projection, label=False)
    mappable = ScalarMappable(norm=norm, cmap=cmap)
    fig.colorbar(mappable, ax=ax, shrink=0.6, pad=0.01, label="delivered orders")
    ax.set_title("Delivered orders per district", fontsize=13)
    names = list(counts)[::-1]
    bars.barh(names, [counts[n] for n in names], color="#2c7fb8")
    for i, n in enumerate(names):
        bars.text(counts[n], i, f" {counts[n]:,}", va="center", fontsize=9)
    bars.set_xlabel("delivered orders")
    bars.set_title(f"{sum(counts.values()):,} deliveries by district — {run.title}", fontsize=12)
    bars.spines[["top", "right"]].set_visible(False)
    bars.margins(x=0.15)
    return _save(fig, path)


def _save(fig: Figure, path: Path) -> Path:
    fig.savefig(path, dpi=DPI, facecolor="white")
    logger.info("wrote %s", path)
    return path
