"""The canvas of every map: projection, frame, scale bar, north arrow, streets, zones, hubs, labels.

Maps are drawn in a local equirectangular projection in kilometres (:class:`LocalProjection`), so
the scale bar is true. :func:`new_map` gives a figure shaped like its extent (no white bands);
:func:`frame_map` adds the scale bar, the north arrow and the credit of every layer;
:func:`draw_context` the pedestrian zones and district boundaries; :func:`place_labels` names the
streets, squares and districts without any two labels overlapping (nor a hub, the scale bar, the
arrow or the credit). Text from the data is shown as it is (:func:`plain`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from matplotlib import patheffects
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.text import Text
from shapely.geometry import Polygon

from carreta.sim.output.rundir import Run, StreetLines
from carreta.sim.scenario.sections import OSM_CREDIT
from carreta.sim.viz.map_layers import MapContext, StreetLabel

__all__ = [
    "DPI",
    "ZONE_EDGE",
    "ZONE_FILL",
    "LocalProjection",
    "district_labels",
    "draw_context",
    "draw_hubs",
    "draw_streets",
    "frame_map",
    "hub_handle",
    "new_map",
    "place_labels",
    "plain",
    "rings",
    "shaped_bounds",
]

KM_PER_DEGREE_LAT = 110.574
KM_PER_DEGREE_LON_EQUATOR = 111.320
STREET_COLOUR = "#bdbdbd"
ZONE_FILL = "#cfe8c6"
ZONE_EDGE = "#5d9c59"
DISTRICT_COLOUR = "#6d5f8f"
LABEL_COLOUR = "#3c3c3c"
DPI = 150
#: Width of the map itself, inches (the figure adds its title, legend and colour bar).
MAP_WIDTH_IN = 9.0
#: A map is never flatter or taller than this (height / width): the extent is widened instead.
ASPECT_RANGE = (0.5, 1.4)
_HALO = [patheffects.withStroke(linewidth=2.6, foreground="white")]


def plain(text: object) -> str:
    """``text`` shown as it is: a ``$`` in a name never starts matplotlib's math mode."""
    return str(text).replace("$", r"\$")


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

    @property
    def km_per_degree(self) -> tuple[float, float]:
        """Kilometres per degree of longitude and of latitude."""
        return KM_PER_DEGREE_LON_EQUATOR * math.cos(math.radians(self.lat0)), KM_PER_DEGREE_LAT

    def __call__(self, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(x km, y km) of degree arrays."""
        kx, ky = self.km_per_degree
        x = (np.asarray(lon, float) - self.lon0) * kx
        y = (np.asarray(lat, float) - self.lat0) * ky
        return x, y


def shaped_bounds(bounds: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    """``bounds`` widened (never cut) so that height / width lies in :data:`ASPECT_RANGE`."""
    west, south, east, north = bounds
    kx, ky = LocalProjection.around(bounds).km_per_degree
    width, height = (east - west) * kx, (north - south) * ky
    low, high = ASPECT_RANGE
    if height < low * width:
        extra = (low * width - height) / ky / 2.0
        south, north = south - extra, north + extra
    elif height > high * width:
        extra = (height / high - width) / kx / 2.0
        west, east = west - extra, east + extra
    return west, south, east, north


def new_map(
    bounds: tuple[float, float, float, float],
    *,
    size: tuple[float, float] | None = None,
    attribution: str = OSM_CREDIT,
    extra_width_in: float = 0.0,
) -> tuple[Figure, Axes, LocalProjection]:
    """A figure with one map axes framed on ``bounds`` (no ticks).

    Without ``size`` the figure takes the map's shape (:data:`MAP_WIDTH_IN` wide plus
    ``extra_width_in`` for a legend or colour bar beside it), so no white band is left.
    """
    bounds = shaped_bounds(bounds)
    projection = LocalProjection.around(bounds)
    if size is None:
        kx, ky = projection.km_per_degree
        aspect = (bounds[3] - bounds[1]) * ky / ((bounds[2] - bounds[0]) * kx)
        size = (MAP_WIDTH_IN + extra_width_in, MAP_WIDTH_IN * aspect + 0.9)
    fig = Figure(figsize=size, dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
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
    """Frame ``ax`` on ``bounds``: equal aspect, no ticks, scale bar, north arrow and the
    street network's credit line (a run's is :attr:`Run.attribution`)."""
    west, south, east, north = bounds
    (x0, x1), (y0, y1) = projection(np.array([west, east]), np.array([south, north]))
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_facecolor("#f7f7f5")
    for spine in ax.spines.values():
        spine.set_color("#888888")
    _scale_bar(ax, x0, x1, y0, y1)
    ax.annotate(
        "N", xy=(0.975, 0.975), xytext=(0.975, 0.905), xycoords="axes fraction",
        ha="center", va="center", fontsize=10, fontweight="bold", zorder=10,
        arrowprops={"arrowstyle": "-|>", "color": "black", "linewidth": 1.4},
        gid="north-arrow",
    )  # fmt: skip
    ax.text(
        0.995, 0.005, attribution, transform=ax.transAxes, ha="right", va="bottom", fontsize=7.5,
        color="#333333", bbox={"facecolor": "white", "alpha": 0.85, "edgecolor": "none", "pad": 2},
        zorder=10, gid="credit",
    )  # fmt: skip


def _scale_bar(ax: Axes, x0: float, x1: float, y0: float, y1: float) -> None:
    width = x1 - x0
    steps = (0.05, 0.1, 0.2, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0)
    length = max(k for k in steps if k <= width / 5 or k == steps[0])
    left, bottom = x0 + 0.025 * width, y0 + 0.035 * (y1 - y0)
    ax.plot([left, left + length], [bottom, bottom], color="black", linewidth=3, zorder=10,
            solid_capstyle="butt", gid="scale-bar")  # fmt: skip
    label = f"{length:g} km" if length >= 1 else f"{length * 1000:.0f} m"
    ax.text(left + length / 2, bottom + 0.012 * (y1 - y0), label, ha="center", va="bottom",
            fontsize=9, zorder=10, path_effects=_HALO, gid="scale-label")  # fmt: skip


def draw_streets(ax: Axes, streets: StreetLines, projection: LocalProjection) -> None:
    """The street network as thin light grey lines."""
    segments = [np.column_stack(projection(line[:, 0], line[:, 1])) for line in streets.lines]
    ax.add_collection(
        LineCollection(segments, colors=STREET_COLOUR, linewidths=0.5, zorder=1, rasterized=True)
    )


def rings(geometry: shapely.Geometry) -> list[np.ndarray]:
    polygons = getattr(geometry, "geoms", [geometry])
    return [np.asarray(p.exterior.coords, float)[:, :2] for p in polygons if isinstance(p, Polygon)]


def draw_context(
    ax: Axes, context: MapContext, projection: LocalProjection, *, district_names: bool = True
) -> list[Artist]:
    """Pedestrian zones (filled, under the streets) and district boundaries (dashed).

    Returns the legend handles of what was drawn. District names are returned as texts to
    place later (:func:`place_labels`) when ``district_names``.
    """
    handles: list[Artist] = []
    for zone in context.zones:
        for ring in rings(zone.polygon):
            x, y = projection(ring[:, 0], ring[:, 1])
            ax.fill(x, y, facecolor=ZONE_FILL, edgecolor="none", alpha=0.8, zorder=0.5)
            ax.plot(x, y, color=ZONE_EDGE, linewidth=0.9, zorder=1.5)
    if context.zones:
        handles.append(Patch(facecolor=ZONE_FILL, edgecolor=ZONE_EDGE, label="pedestrian zone"))
    for district in context.districts:
        for ring in rings(district.polygon):
            x, y = projection(ring[:, 0], ring[:, 1])
            ax.plot(x, y, color=DISTRICT_COLOUR, linewidth=1.2, linestyle=(0, (5, 3)),
                    alpha=0.8, zorder=2)  # fmt: skip
    if context.districts:
        handles.append(Line2D([], [], color=DISTRICT_COLOUR, linewidth=1.2,
                              linestyle=(0, (5, 3)), label="district boundary"))  # fmt: skip
    return handles


def district_labels(
    context: MapContext, bounds: tuple[float, float, float, float]
) -> list[StreetLabel]:
    frame = shapely.box(*bounds)
    labels = []
    for district in context.districts:
        inside = shapely.intersection(district.polygon, frame)
        if inside.is_empty or inside.area < 0.15 * frame.area:
            continue
        point = inside.representative_point()
        labels.append(StreetLabel(district.name, point.x, point.y, 0.0, 0.0, square=True))
    return labels if len(labels) > 1 else []  # one district filling the map: no need to say


def draw_hubs(ax: Axes, run: Run, projection: LocalProjection, *, label: bool = True) -> None:
    """Hubs as large black-edged stars with their names."""
    if not run.hubs:
        return
    x, y = projection(np.array([h.lon for h in run.hubs]), np.array([h.lat for h in run.hubs]))
    ax.scatter(x, y, marker="*", s=420, c="#ffcc00", edgecolors="black", linewidths=1.2,
               zorder=8, label="hub", gid="hubs")  # fmt: skip
    if label:
        for hub, hx, hy in zip(run.hubs, x, y, strict=True):
            ax.annotate(plain(f"hub {hub.hub_id}"), (hx, hy), xytext=(10, 8),
                        textcoords="offset points", fontsize=10, fontweight="bold", zorder=9,
                        bbox={"facecolor": "white", "alpha": 0.85, "edgecolor": "#444444",
                              "linewidth": 0.6, "pad": 2}, gid="hub-label")  # fmt: skip


def _rotated_box(extent: tuple[float, float, float, float], angle_deg: float) -> Polygon:
    """The outline of a text of (cx, cy, width, height) pixels turned by ``angle_deg``."""
    cx, cy, width, height = extent
    box = shapely.box(cx - width / 2, cy - height / 2, cx + width / 2, cy + height / 2)
    return shapely.affinity.rotate(box, angle_deg, origin=(cx, cy))


def place_labels(
    fig: Figure,
    ax: Axes,
    labels: Sequence[StreetLabel],
    projection: LocalProjection,
    *,
    districts: Sequence[StreetLabel] = (),
) -> list[Text]:
    """Name streets, squares and districts, skipping any label that would overlap one placed
    before it, a hub, the scale bar, the north arrow or the credit, or run off the map.

    Runs the figure's layout first (label boxes are measured in pixels). Returns the labels
    kept, in order.
    """
    fig.draw_without_rendering()
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    frame = ax.get_window_extent(renderer)
    frame_box = shapely.box(frame.x0 + 2, frame.y0 + 2, frame.x1 - 2, frame.y1 - 2)
    taken: list[Polygon] = []
    for artist in ax.get_children():
        if artist.get_gid() in {"credit", "scale-label", "north-arrow", "hub-label", "legend"}:
            extent = artist.get_window_extent(renderer)
            taken.append(shapely.box(extent.x0 - 3, extent.y0 - 3, extent.x1 + 3, extent.y1 + 3))
        elif artist.get_gid() == "scale-bar":
            extent = artist.get_window_extent(renderer)
            taken.append(shapely.box(extent.x0 - 4, extent.y0 - 4, extent.x1 + 4, extent.y1 + 4))
        elif artist.get_gid() == "hubs" and hasattr(artist, "get_offsets"):
            radius = 16 * fig.dpi / 72  # a star of s=420 points² is about 20 points wide
            for hx, hy in ax.transData.transform(artist.get_offsets()):
                taken.append(shapely.box(hx - radius, hy - radius, hx + radius, hy + radius))
    kept: list[Text] = []
    styled = [(label, "square" if label.square else "street") for label in labels]
    styled += [(label, "district") for label in districts]
    for label, kind in styled:
        x, y = projection(np.array([label.lon]), np.array([label.lat]))
        style = {
            "district": {"fontsize": 11, "color": DISTRICT_COLOUR, "fontweight": "bold",
                         "alpha": 0.85},
            "square": {"fontsize": 7.5, "color": LABEL_COLOUR, "fontstyle": "italic"},
            "street": {"fontsize": 7.5, "color": LABEL_COLOUR},
        }[kind]  # fmt: skip
        text = ax.text(
            float(x[0]), float(y[0]), plain(label.name), rotation=label.angle_deg,
            rotation_mode="anchor", ha="center", va="center", zorder=7, clip_on=True,
            path_effects=_HALO, **style,  # type: ignore[arg-type]
        )  # fmt: skip
        text.set_rotation(0)
        flat = text.get_window_extent(renderer)
        text.set_rotation(label.angle_deg)
        centre = ax.transData.transform((float(x[0]), float(y[0])))
        outline = _rotated_box((centre[0], centre[1], flat.width + 4, flat.height + 2),
                               label.angle_deg)  # fmt: skip
        pixels_per_km = frame.width / float(np.diff(ax.get_xlim())[0])
        too_long = kind == "street" and flat.width > 1.15 * label.length_km * pixels_per_km
        if (
            too_long
            or not frame_box.contains(outline)
            or any(outline.intersects(other) for other in taken)
        ):
            text.remove()
            continue
        taken.append(outline)
        kept.append(text)
    return kept


def hub_handle() -> Line2D:
    return Line2D([], [], marker="*", markersize=15, linestyle="", markerfacecolor="#ffcc00",
                  markeredgecolor="black", label="hub")  # fmt: skip
