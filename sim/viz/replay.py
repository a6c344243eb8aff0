"""``carreta replay``: one self-contained HTML file that replays a run's day on its streets.

The page is ours alone: a template, a stylesheet and a vanilla-JavaScript player drawing on a
``<canvas>`` (``sim/viz/templates/replay.*``), with no network access and no third-party code. The
run's data goes into one ``<script type="application/json">`` block, written with ``<``, ``>``
and ``&`` escaped as ``\\u003c``, ``\\u003e`` and ``\\u0026`` so no text from the data (a street
name, a robot id) can close the block; the player reads it with ``JSON.parse`` and shows text
with ``textContent`` only.

The payload is compact: coordinates are integers of 1e-5 degree (about 1 m) relative to an
origin, times integers of 0.1 s from the start of the run, and both are delta-encoded along each
street and leg; a leg refers to the vertices it passes by index into one shared table. Each robot
carries its legs (positions are interpolated from the per-vertex times), its state changes and
the orders it was serving; the page binary-searches them every frame.

Around the robots the page shows the pedestrian zones and districts the scenario names
(:func:`~carreta.sim.viz.map_layers.map_context`), doors on the street node a robot stops at,
robots at a hub as one counted badge, two small charts of the day (robots by state, orders
open, from :mod:`~carreta.sim.output.timeline` at :data:`CHART_POINTS` times) with the current
time marked, and the tour of a robot clicked on. It opens at the first activity of the day.
"""

from __future__ import annotations

import html
import itertools
import json
import logging
import math
import re
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd

from carreta.routing.files import write_text_atomic
from carreta.sim.errors import ResultsExistError
from carreta.sim.output.rundir import (
    BUSY_STATES,
    ROBOT_STATES,
    Run,
    activity_bounds,
    load_run,
    load_run_graph,
    street_lines,
)
from carreta.sim.output.timeline import (
    order_stage_times,
    orders_over_time,
    robot_state_changes,
    robots_over_time,
)
from carreta.sim.scenario.sections import OSM_CREDIT
from carreta.sim.viz.charts import STATE_COLOURS, STATE_LABELS
from carreta.sim.viz.map_layers import MapContext, map_context, street_labels

__all__ = [
    "QUANTUM_DEG",
    "build_payload",
    "embed_json",
    "render_html",
    "write_new_page",
    "write_replay",
]

logger = logging.getLogger(__name__)

#: Coordinates are stored as integers of this many degrees.
QUANTUM_DEG = 1e-5
#: Times are stored as integers of this many seconds (from the start of the run).
TIME_QUANTUM_S = 0.1
PAYLOAD_VERSION = 2
#: Points of the in-page charts over the day (robots by state, open orders).
CHART_POINTS = 360


def _delta(values: Sequence[int] | np.ndarray) -> list[int]:
    array = np.asarray(values, dtype=np.int64)
    if array.size == 0:
        return []
    return np.concatenate([array[:1], np.diff(array)]).tolist()


def _quantise(degrees: np.ndarray, origin: int) -> np.ndarray:
    return np.rint(np.asarray(degrees, float) / QUANTUM_DEG).astype(np.int64) - origin


def _ticks(run: Run, seconds: np.ndarray | Sequence[float]) -> np.ndarray:
    return np.rint((np.asarray(seconds, float) - run.start_s) / TIME_QUANTUM_S).astype(np.int64)


def _interleave(x: np.ndarray, y: np.ndarray) -> list[int]:
    """[x0, y0, x1-x0, y1-y0, ...] of two integer arrays."""
    pairs = np.column_stack([x, y]).astype(np.int64)
    pairs[1:] = np.diff(pairs, axis=0)
    return pairs.ravel().tolist()


class _Names:
    """Street names of graph edges, interned in one table (index 0 is the empty name)."""

    def __init__(self, graph: nx.MultiDiGraph | None) -> None:
        self.graph = graph
        self.table: list[str] = [""]
        self._index: dict[str, int] = {"": 0}
        self._edge: dict[tuple[int, int], int] = {}

    def of(self, name: object) -> int:
        if isinstance(name, list):
            name = " / ".join(str(part) for part in name)
        text = "" if name is None or (isinstance(name, float) and math.isnan(name)) else str(name)
        if text not in self._index:
            self._index[text] = len(self.table)
            self.table.append(text)
        return self._index[text]

    def edge(self, u: int, v: int) -> int:
        key = (u, v)
        if key not in self._edge:
            data = self.graph.get_edge_data(u, v) if self.graph is not None else None
            if not data:
                self._edge[key] = 0
            else:
                shortest = min(data.values(), key=lambda d: float(d.get("length", math.inf)))
                self._edge[key] = self.of(shortest.get("name"))
        return self._edge[key]


def _loaded_orders(run: Run) -> dict[str, np.ndarray]:
    """Per robot, the ids of the orders it loaded, in loading order (from the ``load`` events)."""
    if run.events is None:
        return {}
    loads = run.events[run.events["kind"] == "load"].sort_values("time_s", kind="stable")
    return {
        str(robot_id): group["order_id"].to_numpy(np.int64)
        for robot_id, group in loads.groupby(loads["robot_id"].astype(str), sort=False)
    }


def _order_intervals(
    run: Run, legs: Any, loaded: np.ndarray, delivered_at: dict[int, float]
) -> list[list[int]]:
    """[start tick, end tick, order id] per stop: from leaving for the stop to delivering.

    A robot serves its tour's orders in the order it loaded them, one ``to_stop`` leg each, so
    the k-th such leg leads to the k-th order loaded. An order still on board at the end of the
    run ends one tick after it.
    """
    starts = _ticks(run, legs.loc[legs["kind"] == "to_stop", "depart_s"].to_numpy(float))
    after_end = int(_ticks(run, [run.end_s])[0]) + 1
    intervals = []
    for start, order_id in zip(starts, loaded, strict=False):
        delivered = delivered_at.get(int(order_id), math.nan)
        end = after_end if math.isnan(delivered) else int(_ticks(run, [delivered])[0])
        intervals.append([int(start), end, int(order_id)])
    return intervals


#: Above this many orders the page does not draw the doors (counters still count them all).
MAX_DOORS = 30_000


def _doors(
    run: Run,
    stages: Any,
    origin_lon: int,
    origin_lat: int,
    node_position: dict[int, tuple[float, float]],
) -> dict[str, list[int]]:
    """Each order's door, by creation time: position, created tick, end tick, delivered flag.

    The position is the street node the robot stops at (so doors sit on the streets drawn),
    or the address point when no leg reaches that node. The end is the delivery (or
    rejection) tick, -1 if the order was still open at the end.
    """
    if len(run.orders) > MAX_DOORS:
        logger.info("%d orders: the replay shows counters but not doors", len(run.orders))
        return {"x": [], "y": [], "c": [], "e": [], "d": []}
    order = np.argsort(stages["created_s"].to_numpy(float), kind="stable")
    orders = run.orders.iloc[order]
    delivered = (orders["state"] == "delivered").to_numpy()
    rejected = (orders["state"] == "rejected").to_numpy()
    end = np.full(len(orders), -1, dtype=np.int64)
    end[delivered] = _ticks(run, orders["delivered_s"].to_numpy(float)[delivered])
    end[rejected] = _ticks(run, stages["left_queue_s"].to_numpy(float)[order][rejected])
    lon = orders["lon"].to_numpy(float).copy()
    lat = orders["lat"].to_numpy(float).copy()
    if "node" in orders.columns:
        for i, node in enumerate(orders["node"].to_numpy()):
            if node is not None and not pd.isna(node) and int(node) in node_position:
                lon[i], lat[i] = node_position[int(node)]
    return {
        "x": _quantise(lon, origin_lon).tolist(),
        "y": _quantise(lat, origin_lat).tolist(),
        "c": _delta(_ticks(run, stages["created_s"].to_numpy(float)[order])),
        "e": end.tolist(),
        "d": delivered.astype(int).tolist(),
    }


def _areas(areas: Sequence[Any], origin_lon: int, origin_lat: int) -> list[dict[str, Any]]:
    """Named polygons as {name, rings: [[x0, y0, dx, dy, ...], ...]} (outer rings)."""
    encoded = []
    for area in areas:
        rings = []
        for polygon in getattr(area.polygon, "geoms", [area.polygon]):
            ring = np.asarray(polygon.exterior.coords, float)[:, :2]
            rings.append(_interleave(_quantise(ring[:, 0], origin_lon),
                                     _quantise(ring[:, 1], origin_lat)))  # fmt: skip
        encoded.append({"name": str(area.name), "rings": rings})
    return encoded


def _labels(
    streets: Any, bounds: tuple[float, float, float, float], origin_lon: int, origin_lat: int
) -> list[dict[str, Any]]:
    """The main streets and squares to name (:func:`~carreta.sim.viz.map_layers.street_labels`),
    most important first: name, position, angle (degrees) and length (m) of the stretch."""
    lat0 = math.radians((bounds[1] + bounds[3]) / 2.0)
    chosen = street_labels(
        streets, bounds, km_per_degree=(111.320 * math.cos(lat0), 110.574), streets_max=40
    )
    return [
        {
            "name": label.name,
            "x": int(_quantise(np.array([label.lon]), origin_lon)[0]),
            "y": int(_quantise(np.array([label.lat]), origin_lat)[0]),
            "a": round(label.angle_deg, 1),
            "m": round(label.length_km * 1000.0),
            "sq": int(label.square),
        }
        for label in chosen
    ]


def _series(run: Run) -> dict[str, Any]:
    """Robots per state and open orders at :data:`CHART_POINTS` regular times of the day."""
    grid = np.linspace(run.start_s, run.end_s, CHART_POINTS)
    robots = robots_over_time(run, grid)
    orders = orders_over_time(run, grid)
    return {
        "t0": _ticks(run, grid[:1]).tolist()[0],
        "step": float(grid[1] - grid[0]) if len(grid) > 1 else 1.0,
        "robots": [robots[state].astype(int).tolist() for state in ROBOT_STATES],
        "waiting": orders["waiting"].astype(int).tolist(),
        "on_board": orders["on_board"].astype(int).tolist(),
    }


def first_activity_s(run: Run) -> float:
    """When the day starts to happen: the first order, leg or robot leaving ``idle`` (s)."""
    candidates = [float(run.orders["created_s"].min()) if len(run.orders) else math.inf]
    if len(run.legs):
        candidates.append(float(run.legs["depart_s"].min()))
    first = min(candidates)
    return float(run.start_s) if not math.isfinite(first) else max(float(run.start_s), first)


def build_payload(
    run: Run, *, graph: nx.MultiDiGraph | None = None, context: MapContext | None = None
) -> dict[str, Any]:
    """Everything the player needs, as plain JSON-ready data (see the module docstring).

    ``graph`` defaults to the run's own street graph when its file is on this machine
    (:func:`~carreta.sim.output.rundir.load_run_graph`); without one, streets come from the legs,
    unnamed. ``context`` (default :func:`~carreta.sim.viz.map_layers.map_context`) gives the
    pedestrian zones and districts drawn under the streets.
    """
    if context is None:
        context = map_context(run)
    if graph is None:
        graph = load_run_graph(run)
    bounds = activity_bounds(run, margin=0.05)
    streets = street_lines(run, graph=graph, bounds=bounds)
    origin_lon = round((bounds[0] + bounds[2]) / 2.0 / QUANTUM_DEG)
    origin_lat = round((bounds[1] + bounds[3]) / 2.0 / QUANTUM_DEG)
    names = _Names(graph if streets.from_graph else None)
    street_list = [
        _interleave(_quantise(line[:, 0], origin_lon), _quantise(line[:, 1], origin_lat))
        for line in streets.lines
    ]
    vertex_of: dict[int, int] = {}
    node_position: dict[int, tuple[float, float]] = {}
    vertex_lon: list[float] = []
    vertex_lat: list[float] = []
    for nodes, lons, lats in zip(
        run.legs["nodes"], run.legs["lons"], run.legs["lats"], strict=True
    ):
        for node, lon, lat in zip(nodes, lons, lats, strict=True):
            if int(node) not in vertex_of:
                node_position[int(node)] = (float(lon), float(lat))
                vertex_of[int(node)] = len(vertex_lon)
                vertex_lon.append(float(lon))
                vertex_lat.append(float(lat))
    hub_at = {hub.hub_id: hub for hub in run.hubs}
    changes = robot_state_changes(run)
    loaded = _loaded_orders(run)
    delivered_at = dict(
        zip(
            run.orders["order_id"].astype(int), run.orders["delivered_s"].astype(float), strict=True
        )
    )
    robots = []
    legs_by_robot = {
        str(robot_id): group.sort_values("depart_s", kind="stable")
        for robot_id, group in run.legs.groupby(run.legs["robot_id"].astype(str), sort=False)
    }
    for robot in run.robots.itertuples(index=False):
        robot_id = str(robot.robot_id)
        legs = legs_by_robot.get(robot_id, run.legs.iloc[0:0])
        encoded_legs = []
        for kind, times, leg_nodes in zip(
            legs["kind"], legs["times_s"], legs["nodes"], strict=True
        ):
            nodes = [int(n) for n in leg_nodes]
            entry: dict[str, Any] = {
                "k": 0 if kind == "to_stop" else 1,
                "t": _delta(_ticks(run, np.asarray(times, float))),
                "v": _delta([vertex_of[n] for n in nodes]),
            }
            if names.graph is not None:
                entry["n"] = [names.edge(u, v) for u, v in itertools.pairwise(nodes)]
            encoded_legs.append(entry)
        hub = hub_at.get(str(robot.hub_id))
        if hub is not None:
            home = [int(_quantise(np.array([hub.lon]), origin_lon)[0]),
                    int(_quantise(np.array([hub.lat]), origin_lat)[0])]  # fmt: skip
        elif len(legs):
            home = [int(_quantise(np.array([legs["lons"].iloc[0][0]]), origin_lon)[0]),
                    int(_quantise(np.array([legs["lats"].iloc[0][0]]), origin_lat)[0])]  # fmt: skip
        else:
            home = [0, 0]
        times, codes = changes[robot_id]
        robots.append(
            {
                "id": robot_id,
                "type": str(robot.type),
                "hub": str(robot.hub_id),
                "home": home,
                "legs": encoded_legs,
                "st": _delta(_ticks(run, times)),
                "sc": codes.astype(int).tolist(),
                "orders": _order_intervals(
                    run, legs, loaded.get(robot_id, np.empty(0, np.int64)), delivered_at
                ),
            }
        )
    stages = order_stage_times(run)

    def sorted_ticks(column: str) -> list[int]:
        values = stages[column].to_numpy(float)
        return _delta(np.sort(_ticks(run, values[np.isfinite(values)])))

    hubs = [
        {
            "id": hub.hub_id,
            "x": int(_quantise(np.array([hub.lon]), origin_lon)[0]),
            "y": int(_quantise(np.array([hub.lat]), origin_lat)[0]),
        }
        for hub in run.hubs
    ]
    return {
        "version": PAYLOAD_VERSION,
        "scenario": run.name,
        "date": run.date.isoformat(),
        "start_s": run.start_s,
        "end_s": run.end_s,
        "time_quantum_s": TIME_QUANTUM_S,
        "quantum_deg": QUANTUM_DEG,
        "origin": [origin_lon, origin_lat],
        "attribution": run.attribution,
        "states": list(ROBOT_STATES),
        "state_labels": [STATE_LABELS[s] for s in ROBOT_STATES],
        "state_colours": [STATE_COLOURS[s] for s in ROBOT_STATES],
        "busy_states": [ROBOT_STATES.index(s) for s in BUSY_STATES],
        "streets": street_list,
        "names": names.table,
        "vertices": _interleave(
            _quantise(np.array(vertex_lon), origin_lon), _quantise(np.array(vertex_lat), origin_lat)
        ),
        "hubs": hubs,
        "robots": robots,
        "doors": _doors(run, stages, origin_lon, origin_lat, node_position),
        "first_activity_s": first_activity_s(run),
        "zones": _areas(context.zones, origin_lon, origin_lat),
        "districts": _areas(context.districts, origin_lon, origin_lat),
        "context_credits": list(context.credits),
        "labels": _labels(streets, bounds, origin_lon, origin_lat),
        "series": _series(run),
        "orders": {
            "total": len(run.orders),
            "created": sorted_ticks("created_s"),
            "left": sorted_ticks("left_queue_s"),
            "delivered": sorted_ticks("delivered_s"),
        },
    }


def embed_json(data: object) -> str:
    """``data`` as JSON safe inside a ``<script type="application/json">`` element.

    ``<``, ``>`` and ``&`` (and U+2028/U+2029) can only occur inside JSON strings, where the
    ``\\uXXXX`` escapes decode to the same text: the HTML parser never sees ``</script>``.
    """
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    for char, escape in (
        ("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
        ("\u2028", "\\u2028"), ("\u2029", "\\u2029"),
    ):  # fmt: skip
        text = text.replace(char, escape)
    return text


_OSM_CREDIT_HTML = (
    'Street network © <a href="https://www.openstreetmap.org/copyright" rel="noopener noreferrer"'
    ' target="_blank">OpenStreetMap contributors</a> (ODbL)'
)


def _template(name: str) -> str:
    return (
        resources.files("carreta.sim.viz").joinpath("templates", name).read_text(encoding="utf-8")
    )


def render_html(payload: dict[str, Any]) -> str:
    """The whole replay page for ``payload`` (one string, nothing to fetch)."""
    script = _template("replay.js")
    style = _template("replay.css")
    if "</script" in script.lower() or "</style" in style.lower():
        raise RuntimeError("replay template closes its own element")  # a bug, not user input
    credit = str(payload.get("attribution", OSM_CREDIT))
    values = {
        "TITLE": html.escape(f"carreta replay — {payload['scenario']} — {payload['date']}"),
        "CREDIT": "<br>".join(
            [_OSM_CREDIT_HTML if credit == OSM_CREDIT else html.escape(credit)]
            + [html.escape(str(line)) for line in payload.get("context_credits", [])]
        ),
        "STYLE": style,
        "SCRIPT": script,
        "DATA": embed_json(payload),
    }
    # One pass over the template only: substituted text is never scanned again.
    return re.sub(r"\{\{([A-Z]+)\}\}", lambda m: values[m.group(1)], _template("replay.html"))


def write_replay(
    run_dir: Path,
    target: Path,
    *,
    graph: nx.MultiDiGraph | None = None,
    context: MapContext | None = None,
) -> Path:
    """Write the replay of ``run_dir`` to the new file ``target``.

    Parameters
    ----------
    run_dir
        A run directory.
    target
        HTML file to create; it must not exist.
    graph
        Street graph (default: the run's own, when its OSM file is on this machine; else the
        streets the robots drove). Street names come from it.
    context
        Pedestrian zones and districts drawn under the streets (default: those the run's
        scenario names, :func:`~carreta.sim.viz.map_layers.map_context`).

    Raises
    ------
    RunDirError
        If the run directory is unreadable.
    ResultsExistError
        If ``target`` exists: files are never overwritten.
    """
    target = Path(target)
    if target.exists():
        raise ResultsExistError(f"{target} already exists: files are never overwritten")
    page = render_html(build_payload(load_run(run_dir), graph=graph, context=context))
    return write_new_page(target, page)


def write_new_page(target: Path, page: str) -> Path:
    """Write the HTML ``page`` to ``target`` atomically, never over an existing file.

    Raises
    ------
    ResultsExistError
        If ``target`` exists, or appeared while the page was written.
    """
    try:
        write_text_atomic(target, page, overwrite=False)  # fails if target appeared meanwhile
    except FileExistsError as error:
        if error.filename != str(target):
            raise
        raise ResultsExistError(f"{target} already exists: files are never overwritten") from None
    logger.info("wrote %s (%.0f kB)", target, target.stat().st_size / 1000.0)
    return target
