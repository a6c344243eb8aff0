"""Read a run directory back: its tables, its scenario, its street network.

:func:`load_run` opens the folder written by :func:`carreta.sim.output.results.write_run` (or
``carreta run``) and returns a :class:`Run` with the Parquet tables as typed pandas DataFrames
(``docs/outputs.md``). It is what the plots, the HTML replay and the notebooks start from.
:func:`street_lines` gives the street network to draw under a run: the scenario's own graph when
its OSM file is on this machine, otherwise the streets the robots drove (taken from the legs).

Every problem with a user's folder raises :class:`RunDirError`, a one-line message naming the
file.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
import yaml

from carreta.routing import load_graph
from carreta.routing.errors import NetworkError
from carreta.sim.errors import RunDirError
from carreta.sim.model.vehicles import BUSY_STATES as _BUSY
from carreta.sim.model.vehicles import RobotState
from carreta.sim.output.tables import conform
from carreta.sim.scenario.sections import OSM_CREDIT

__all__ = [
    "HubPoint",
    "Run",
    "RunDirError",
    "StreetLines",
    "load_run",
    "load_run_graph",
    "read_attribution",
    "street_lines",
]

logger = logging.getLogger(__name__)

#: States a robot can be in (the ``state:<name>`` events), in display order: the values of the
#: model's :class:`~carreta.sim.model.robot.RobotState`.
ROBOT_STATES: tuple[str, ...] = tuple(state.value for state in RobotState)
#: States of a robot on a tour.
BUSY_STATES: tuple[str, ...] = tuple(state.value for state in _BUSY)


@dataclass(frozen=True)
class HubPoint:
    """A hub of the run's scenario (degrees WGS 84)."""

    hub_id: str
    lon: float
    lat: float


@dataclass
class Run:
    """A run directory read back into memory.

    The tables have the columns and types of ``docs/outputs.md``
    (:mod:`carreta.sim.output.columns`): each time of day ``<x>_s`` is in seconds since local
    midnight of :attr:`date`, with ``<x>_at`` beside it as a Europe/Paris datetime; missing
    values are nulls (<NA>, NaN, NaT). ``events`` is None when the run did not write
    ``events.parquet``.
    """

    path: Path
    name: str
    date: dt.date
    start_s: float
    end_s: float
    time_window_min: float | None
    hubs: list[HubPoint]
    orders: pd.DataFrame
    robots: pd.DataFrame
    legs: pd.DataFrame
    events: pd.DataFrame | None
    kpis: dict[str, Any]
    scenario: dict[str, Any] = field(repr=False)
    attribution: str = OSM_CREDIT  # the street network's credit line (manifest.json)

    @property
    def title(self) -> str:
        """``<scenario name> — <date>``, for figure titles."""
        return f"{self.name} — {self.date.isoformat()}"


#: Columns every version of carreta wrote in each table: the least a folder must have.
REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    "orders": ("order_id", "created_s", "due_s", "state", "lon", "lat"),
    "robots": ("robot_id", "distance_km", "busy_s"),
    "legs": ("robot_id", "kind", "depart_s", "nodes", "times_s", "lons", "lats"),
    "events": ("time_s", "robot_id", "kind"),
}


def _read_table(path: Path, *, date: dt.date) -> pd.DataFrame:
    """``<table>.parquet`` with the types of :mod:`~carreta.sim.output.columns` (a folder of an
    earlier version gets them on reading: :func:`~carreta.sim.output.tables.conform`)."""
    if not path.is_file():
        raise RunDirError(f"{path}: missing (is this a carreta run directory?)")
    try:
        table = pd.read_parquet(path)
    except (OSError, ValueError) as error:
        raise RunDirError(f"{path}: not a readable Parquet table ({error})") from error
    missing = [column for column in REQUIRED_COLUMNS.get(path.stem, ()) if column not in table]
    if missing:
        raise RunDirError(
            f"{path}: not a carreta {path.stem} table (no column {', '.join(missing)}; was a "
            "file renamed or swapped?)"
        )
    try:
        return conform(table, path.stem, date=date)
    except (KeyError, TypeError, ValueError) as error:
        raise RunDirError(f"{path}: not a carreta {path.stem} table ({error})") from error


def _read_scenario(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise RunDirError(f"{path}: missing (is this a carreta run directory?)")
    try:
        data = yaml.safe_load(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise RunDirError(
            f"{path}: not a readable YAML file ({' '.join(str(error).split())})"
        ) from error
    if not isinstance(data, dict):
        raise RunDirError(f"{path}: not a resolved scenario (expected a mapping)")
    return data


def _hubs(scenario: dict[str, Any], path: Path) -> list[HubPoint]:
    try:
        return [
            HubPoint(str(hub["id"]), float(hub["lon"]), float(hub["lat"]))
            for hub in scenario.get("hubs") or []
        ]
    except (KeyError, TypeError, ValueError) as error:
        raise RunDirError(f"{path}: hubs: each needs id, lon and lat ({error})") from error


def _window(scenario: dict[str, Any], path: Path) -> tuple[dt.date, float, float]:
    simulation = scenario.get("simulation") or {}
    try:
        date = dt.date.fromisoformat(str(simulation["date"]))
        hours, minutes = str(simulation["start"]).split(":")
        start_s = int(hours) * 3600.0 + int(minutes) * 60.0
        end_s = start_s + float(simulation["duration_h"]) * 3600.0
    except (KeyError, TypeError, ValueError) as error:
        raise RunDirError(
            f"{path}: simulation: needs date, start (HH:MM) and duration_h ({error})"
        ) from error
    return date, start_s, end_s


def load_run(path: str | Path) -> Run:
    """Read the run directory ``path``.

    Parameters
    ----------
    path
        A folder written by ``carreta run`` (or :func:`carreta.sim.output.results.write_run`).

    Returns
    -------
    Run
        Its tables and the parts of its scenario the plots need.

    Raises
    ------
    RunDirError
        If the folder, ``scenario.resolved.yaml``, ``orders.parquet``, ``robots.parquet`` or
        ``legs.parquet`` is missing or unreadable.
    """
    folder = Path(path)
    if not folder.is_dir():
        raise RunDirError(f"{folder}: no such run directory")
    scenario_path = folder / "scenario.resolved.yaml"
    scenario = _read_scenario(scenario_path)
    date, start_s, end_s = _window(scenario, scenario_path)
    window = (scenario.get("demand") or {}).get("time_window_min")
    events_path = folder / "events.parquet"
    kpis_path = folder / "kpis.json"
    try:
        kpis = json.loads(kpis_path.read_text("utf-8")) if kpis_path.is_file() else {}
    except (OSError, ValueError) as error:
        raise RunDirError(f"{kpis_path}: not readable JSON ({error})") from error
    return Run(
        path=folder,
        name=str(scenario.get("name", folder.name)),
        date=date,
        start_s=start_s,
        end_s=end_s,
        time_window_min=float(window) if window is not None else None,
        hubs=_hubs(scenario, scenario_path),
        orders=_read_table(folder / "orders.parquet", date=date),
        robots=_read_table(folder / "robots.parquet", date=date),
        legs=_read_table(folder / "legs.parquet", date=date),
        events=_read_table(events_path, date=date) if events_path.is_file() else None,
        kpis=kpis,
        scenario=scenario,
        attribution=read_attribution(folder),
    )


def read_attribution(folder: str | Path) -> str:
    """The street network's credit line in the ``manifest.json`` of a run (or sweep) folder;
    OpenStreetMap's when the manifest has none (runs written before it was recorded).

    Raises
    ------
    RunDirError
        If ``manifest.json`` exists but is not readable JSON.
    """
    path = Path(folder) / "manifest.json"
    if not path.is_file():
        return OSM_CREDIT
    try:
        manifest = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as error:
        raise RunDirError(f"{path}: not readable JSON ({error})") from error
    credit = manifest.get("attribution") if isinstance(manifest, dict) else None
    return credit if isinstance(credit, str) and credit else OSM_CREDIT


def load_run_graph(run: Run) -> nx.MultiDiGraph | None:
    """The run's street graph (robot profile) if its OSM or GraphML file is on this machine.

    Never downloads: a scenario whose network is a place name or a bbox, or whose file has
    moved, gives None (the caller then draws the streets from the legs).
    """
    network = run.scenario.get("network") or {}
    source = network.get("osm_file")
    if network.get("gis_file") and Path(network["gis_file"]).is_file():
        source = network["gis_file"]
    if not source or not Path(source).is_file():
        logger.info("%s: network file not available; streets come from the legs", run.path)
        return None
    try:
        return load_graph(
            source,
            profile="robot",
            simplify=bool(network.get("simplify", True)),
            cache_dir=network.get("cache_dir"),
        )
    except NetworkError as error:
        logger.warning("cannot load the run's network (%s); streets come from the legs", error)
        return None


@dataclass(frozen=True)
class StreetLines:
    """Street polylines in degrees: ``lines[i]`` is an (n, 2) array of (lon, lat)."""

    lines: list[np.ndarray]
    names: list[str]
    from_graph: bool


def _edge_name(data: dict[str, Any]) -> str:
    name = data.get("name")
    if isinstance(name, list):
        return " / ".join(str(part) for part in name)
    if name is None or (isinstance(name, float) and math.isnan(name)):
        return ""
    return str(name)


def activity_bounds(run: Run, *, margin: float = 0.08) -> tuple[float, float, float, float]:
    """(west, south, east, north) around the legs, the orders and the hubs, with a margin.

    ``margin`` is a fraction of the width and height added on each side.
    """
    lons = [run.orders["lon"].to_numpy(float), np.array([hub.lon for hub in run.hubs])]
    lats = [run.orders["lat"].to_numpy(float), np.array([hub.lat for hub in run.hubs])]
    if len(run.legs):
        lons.append(np.concatenate([np.asarray(v, float) for v in run.legs["lons"]]))
        lats.append(np.concatenate([np.asarray(v, float) for v in run.legs["lats"]]))
    lon = np.concatenate(lons)
    lat = np.concatenate(lats)
    lon, lat = lon[np.isfinite(lon)], lat[np.isfinite(lat)]
    if lon.size == 0:
        raise RunDirError(f"{run.path}: no orders, hubs or legs to place on a map")
    west, east, south, north = lon.min(), lon.max(), lat.min(), lat.max()
    pad_x = max((east - west) * margin, 0.002)
    pad_y = max((north - south) * margin, 0.002)
    return west - pad_x, south - pad_y, east + pad_x, north + pad_y


def street_lines(
    run: Run,
    *,
    graph: nx.MultiDiGraph | None = None,
    bounds: tuple[float, float, float, float] | None = None,
) -> StreetLines:
    """The streets to draw under a run, clipped to ``bounds`` (default: the run's activity).

    ``graph`` is the street graph (default: :func:`load_run_graph`); without one the streets
    are the distinct segments the robots drove. Two-way streets appear once.
    """
    west, south, east, north = bounds if bounds is not None else activity_bounds(run)
    if graph is None:
        graph = load_run_graph(run)
    lines: list[np.ndarray] = []
    names: list[str] = []
    if graph is not None:
        seen: set[tuple[int, int, int]] = set()
        nodes = graph.nodes
        for u, v, key, data in graph.edges(keys=True, data=True):
            if (v, u, key) in seen:
                continue
            seen.add((u, v, key))
            geometry = data.get("geometry")
            if geometry is not None:
                coords = np.asarray(geometry.coords, dtype=float)[:, :2]
            else:
                coords = np.array(
                    [[nodes[u]["x"], nodes[u]["y"]], [nodes[v]["x"], nodes[v]["y"]]], float
                )
            inside = (
                (coords[:, 0] >= west)
                & (coords[:, 0] <= east)
                & (coords[:, 1] >= south)
                & (coords[:, 1] <= north)
            )
            if inside.any():
                lines.append(coords)
                names.append(_edge_name(data))
        return StreetLines(lines, names, from_graph=True)
    segments: set[tuple[float, float, float, float]] = set()
    for lon_list, lat_list in zip(run.legs["lons"], run.legs["lats"], strict=True):
        lon, lat = np.asarray(lon_list, float), np.asarray(lat_list, float)
        for i in range(len(lon) - 1):
            a, b = (lon[i], lat[i]), (lon[i + 1], lat[i + 1])
            segments.add((*min(a, b), *max(a, b)))
    for x0, y0, x1, y1 in sorted(segments):
        lines.append(np.array([[x0, y0], [x1, y1]]))
        names.append("")
    return StreetLines(lines, names, from_graph=False)


def shared_data_dir() -> Path | None:
    """The folder of shared open data (``shared/data``), or None when there is none.

    ``$CARRETA_DATA_DIR`` when set; otherwise the first ``shared/data`` folder found from the
    current folder upwards (a checkout keeps it beside itself, ``../shared/data``). Never derived
    from where the package is installed.
    """
    configured = os.environ.get("CARRETA_DATA_DIR")
    if configured:
        return Path(configured)
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / "shared" / "data").is_dir():
            return folder / "shared" / "data"
    return None


def default_districts_file() -> Path | None:
    """Montpellier's districts (``montpellier/VilleMTP_MTP_Quartiers.geojson``) in the shared
    data folder (:func:`shared_data_dir`), or None when it is not on this machine."""
    data = shared_data_dir()
    path = data / "montpellier" / "VilleMTP_MTP_Quartiers.geojson" if data else None
    return path if path is not None and path.is_file() else None
