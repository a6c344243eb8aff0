"""A run's results folder, written atomically and never over an existing one.

Layout of a run directory::

    scenario.resolved.yaml  the scenario as run (absolute paths, the seed used)
    manifest.json           seed, versions, git revision, wall time, status, timings
    kpis.json               the KPIs (see carreta.sim.output.kpis.KPI_DESCRIPTIONS)
    orders.parquet          one row per order
    robots.parquet          one row per robot
    events.parquet          one row per event (if outputs.events)
    legs.parquet            one row per leg driven, with node path, times and coordinates
    trips.geojson           trajectories with per-vertex times (if outputs.trips_geojson)

Everything is first written into a hidden temporary sibling folder, which is then renamed into
place (:func:`carreta.routing.files.create_dir_atomic`): a crash leaves either no run directory or
a complete one.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import platform
import subprocess
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

from carreta.routing.files import create_dir_atomic, write_text_atomic
from carreta.sim.errors import ResultsExistError
from carreta.sim.model.engine import SimulationResult
from carreta.sim.output.kpis import KPI_DESCRIPTIONS, compute_kpis
from carreta.sim.output.tables import events_table, legs_table, orders_table, robots_table
from carreta.sim.output.trips import write_trips
from carreta.sim.scenario.models import scenario_to_yaml

PACKAGES = ("carreta", "numpy", "scipy", "networkx", "osmnx", "simpy", "pandas", "pyarrow", "numba")


def package_versions() -> dict[str, str]:
    """Installed versions of carreta and the packages that shape its results."""
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def git_revision() -> str | None:
    """The git commit of the carreta source tree, if it is a checkout (else None)."""
    here = Path(__file__).resolve().parent
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5,
            check=False,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    revision = done.stdout.strip()
    return revision if done.returncode == 0 and revision else None


def default_run_dir(base: Path, name: str, seed: int) -> Path:
    """A fresh folder name under ``base``: ``<name>-seed<seed>-<timestamp>[-k]``."""
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    candidate = base / f"{name}-seed{seed}-{stamp}"
    k = 1
    while candidate.exists():
        k += 1
        candidate = base / f"{name}-seed{seed}-{stamp}-{k}"
    return candidate


def _json_ready(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def dump_json(data: dict[str, Any], path: Path) -> None:
    """Write ``data`` as sorted, indented JSON (NaN and inf become null), atomically.

    Raises
    ------
    OSError
        If the file cannot be written; an existing file keeps its old content.
    """
    clean = {key: _json_ready(value) for key, value in data.items()}
    write_text_atomic(path, json.dumps(clean, indent=2, sort_keys=True) + "\n")


def write_atomic_dir(target: Path, fill: Callable[[Path], None]) -> Path:
    """Create the folder ``target`` by filling a temporary sibling, then renaming it.

    See :func:`carreta.routing.files.create_dir_atomic`; on any failure nothing is left behind.

    Raises
    ------
    ResultsExistError
        If ``target`` exists (before or, by a race, after filling); it is left untouched.
    """
    try:
        return create_dir_atomic(target, fill)
    except FileExistsError as error:
        if error.filename != str(Path(target)):  # raised by fill itself: not ours to rephrase
            raise
        raise ResultsExistError(f"{target} already exists: results are never overwritten") from None


def write_run(
    result: SimulationResult,
    target: str | os.PathLike[str],
    *,
    command: list[str] | None = None,
) -> Path:
    """Write ``result`` into the new folder ``target`` (see the module docstring); return it.

    Raises
    ------
    ResultsExistError
        If ``target`` already exists.
    """
    scenario = result.scenario
    outputs = scenario.outputs

    def fill(folder: Path) -> None:
        resolved = scenario.with_overrides({"simulation.seed": result.seed})
        (folder / "scenario.resolved.yaml").write_text(scenario_to_yaml(resolved), "utf-8")
        orders = orders_table(result)
        robots = robots_table(result)
        orders.to_parquet(folder / "orders.parquet", index=False)
        robots.to_parquet(folder / "robots.parquet", index=False)
        if outputs.events:
            events_table(result).to_parquet(folder / "events.parquet", index=False)
        legs = legs_table(result)
        legs.to_parquet(folder / "legs.parquet", index=False)
        if outputs.trips_geojson:
            write_trips(
                legs, folder / "trips.geojson", date=scenario.simulation.date,
                attribution=scenario.network.credit(),
            )  # fmt: skip
        kpis = compute_kpis(orders, robots, scenario, duration_s=result.end_s - result.start_s)
        dump_json(kpis, folder / "kpis.json")
        dump_json(manifest(result, command=command), folder / "manifest.json")

    return write_atomic_dir(Path(target), fill)


def manifest(result: SimulationResult, *, command: list[str] | None = None) -> dict[str, Any]:
    """The run's provenance: what ran, with what, how long it took, and how it ended."""
    return {
        "scenario": result.scenario.name,
        "seed": result.seed,
        "status": "completed",
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": command,
        "git_revision": git_revision(),
        "versions": package_versions(),
        "wall_time_s": result.wall_time_s,
        "routing_time_s": result.routing_time_s,
        "timings_s": result.timings,
        "simpy_events": result.sim_events,
        "simulated_window_s": [result.start_s, result.end_s],
        "date": result.scenario.simulation.date.isoformat(),
        "kpi_descriptions": KPI_DESCRIPTIONS,
        "attribution": result.scenario.network.credit(),
    }
