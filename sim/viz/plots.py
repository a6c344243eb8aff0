"""``carreta plot``'s engine: every PNG of a run directory, or the KPI charts of a sweep.

:func:`plot_run` writes, into a new folder:

- ``map_deliveries.png``: streets, hubs, delivered orders as a hexagon density, missed orders;
- ``map_routes.png``: every leg each robot drove, one colour per robot;
- ``timeline.png``: orders waiting / on board and robots per state over the day;
- ``lead_times.png``: histogram of lead times with the time-window line;
- ``districts.png``: deliveries per district (a polygons file; Montpellier's quartiers by default).

:func:`plot_sweep` writes one ``kpi_<name>.png`` per KPI of a sweep's ``runs.parquet``: the KPI
against the swept parameter with the 95 % confidence band across replicates.

Both write into a temporary sibling folder renamed into place at the end, and refuse an existing
output folder: plots are never overwritten.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import networkx as nx
import pandas as pd

from carreta.sim.output.kpis import KPI_DESCRIPTIONS
from carreta.sim.output.results import write_atomic_dir
from carreta.sim.output.rundir import (
    RunDirError,
    activity_bounds,
    default_districts_file,
    load_run,
    street_lines,
)
from carreta.sim.viz.charts import plot_kpi_sweep, plot_lead_times, plot_timeline
from carreta.sim.viz.maps import (
    district_name_column,
    plot_deliveries_map,
    plot_districts,
    plot_routes_map,
    read_districts,
)

__all__ = ["DEFAULT_SWEEP_KPIS", "is_sweep_dir", "plot_run", "plot_sweep", "sweep_parameters"]

logger = logging.getLogger(__name__)

#: KPIs a sweep is plotted for when none are asked for (those present in runs.parquet).
DEFAULT_SWEEP_KPIS = (
    "on_time_share",
    "service_rate",
    "lead_time_p95_min",
    "utilisation",
    "km_per_delivery",
    "energy_cost_eur",
)
_NOT_PARAMETERS = {"run_id", "replicate", "seed", "status", "error", "wall_time_s", "path"}
_DONE = {"completed", "ok", "success", "done"}


def is_sweep_dir(path: Path) -> bool:
    """Whether ``path`` is a sweep directory (it holds ``runs.parquet``)."""
    return (Path(path) / "runs.parquet").is_file()


def plot_run(
    run_dir: Path,
    out_dir: Path,
    *,
    districts_file: Path | None = None,
    graph: nx.MultiDiGraph | None = None,
) -> list[Path]:
    """Write the PNGs of a run directory into the new folder ``out_dir``.

    Parameters
    ----------
    run_dir
        A run directory (``carreta run``).
    out_dir
        Folder to create; it must not exist.
    districts_file
        Polygons for the per-district chart. Default: Montpellier's quartiers from
        ``../shared/data`` when present (the chart is skipped otherwise).
    graph
        The street graph to draw (default: loaded from the run's scenario when its file is
        here; else the streets the robots drove).

    Returns
    -------
    list of Path
        The PNG files written, inside ``out_dir``.

    Raises
    ------
    RunDirError
        If the run directory or the districts file is unreadable.
    ResultsExistError
        If ``out_dir`` exists.
    """
    run = load_run(run_dir)
    districts = None
    if districts_file is None:
        districts_file = default_districts_file()
    if districts_file is not None:
        districts = read_districts(Path(districts_file))
        name = district_name_column(districts, Path(districts_file))
    else:
        logger.info("no districts file: districts.png is skipped")
    bounds = activity_bounds(run)
    if districts is not None:
        west, south, east, north = districts.total_bounds
        wide = (
            min(bounds[0], west), min(bounds[1], south), max(bounds[2], east), max(bounds[3], north)
        )  # fmt: skip
        streets = street_lines(run, graph=graph, bounds=wide)
    else:
        streets = street_lines(run, graph=graph, bounds=bounds)
    names: list[str] = []

    def fill(folder: Path) -> None:
        names.append(plot_deliveries_map(run, streets, bounds, folder / "map_deliveries.png").name)
        names.append(plot_routes_map(run, streets, bounds, folder / "map_routes.png").name)
        names.append(plot_timeline(run, folder / "timeline.png").name)
        names.append(plot_lead_times(run, folder / "lead_times.png").name)
        if districts is not None:
            names.append(
                plot_districts(run, streets, districts, name, folder / "districts.png").name
            )

    written = write_atomic_dir(Path(out_dir), fill)
    return [written / file_name for file_name in names]


def _read_runs(sweep_dir: Path) -> pd.DataFrame:
    path = Path(sweep_dir) / "runs.parquet"
    if not path.is_file():
        raise RunDirError(f"{path}: missing (is this a carreta sweep directory?)")
    try:
        runs = pd.read_parquet(path)
    except (OSError, ValueError) as error:
        raise RunDirError(f"{path}: not a readable Parquet table ({error})") from error
    if "status" in runs.columns:
        done = runs["status"].astype(str).str.lower().isin(_DONE)
        if done.any():
            runs = runs[done]
    return runs.reset_index(drop=True)


def sweep_parameters(runs: pd.DataFrame) -> list[str]:
    """The swept parameters: columns with more than one value among the parameter columns.

    ``carreta sweep`` puts the parameter columns (dotted scenario paths) between ``seed`` and
    ``status``; other tables are read by name: any dotted-path column that is not a KPI.
    """
    columns = [str(column) for column in runs.columns]
    if (
        "seed" in columns
        and "status" in columns
        and columns.index("seed") < columns.index("status")
    ):
        candidates = columns[columns.index("seed") + 1 : columns.index("status")]
    else:
        candidates = [
            column
            for column in columns
            if column not in KPI_DESCRIPTIONS
            and column not in _NOT_PARAMETERS
            and ("." in column or "[" in column)
        ]
    return [column for column in candidates if runs[column].nunique(dropna=True) > 1]


def plot_sweep(
    sweep_dir: Path,
    out_dir: Path,
    *,
    kpis: Sequence[str] | None = None,
    x: str | None = None,
) -> list[Path]:
    """Write one ``kpi_<name>.png`` per KPI of the sweep into the new folder ``out_dir``.

    Parameters
    ----------
    sweep_dir
        A sweep directory (holds ``runs.parquet``).
    out_dir
        Folder to create; it must not exist.
    kpis
        KPI columns to plot (default: :data:`DEFAULT_SWEEP_KPIS` present in the table).
    x
        Parameter on the horizontal axis (default: the first swept one); the other swept
        parameters become one line each.

    Raises
    ------
    RunDirError
        If ``runs.parquet`` is unreadable, has no swept parameter, or lacks a KPI asked for.
    ResultsExistError
        If ``out_dir`` exists.
    """
    runs = _read_runs(Path(sweep_dir))
    table = Path(sweep_dir) / "runs.parquet"
    parameters = sweep_parameters(runs)
    if x is None:
        if not parameters:
            raise RunDirError(f"{table}: no parameter takes more than one value")
        x = parameters[0]
    elif x not in runs.columns:
        raise RunDirError(f"{table}: no column {x!r} (swept: {', '.join(parameters) or 'none'})")
    chosen = list(kpis) if kpis else [k for k in DEFAULT_SWEEP_KPIS if k in runs.columns]
    missing = [k for k in chosen if k not in runs.columns]
    if missing or not chosen:
        raise RunDirError(f"{table}: no KPI column {', '.join(missing) or 'to plot'}")
    by = [p for p in parameters if p != x]
    files: list[str] = []

    def fill(folder: Path) -> None:
        for kpi in chosen:
            path = folder / f"kpi_{kpi}.png"
            plot_kpi_sweep(runs, x, kpi, path, by=by, description=KPI_DESCRIPTIONS.get(kpi, ""))
            files.append(path.name)

    written = write_atomic_dir(Path(out_dir), fill)
    return [written / name for name in files]
