"""``carreta plot``'s engine: every PNG of a run directory, or the KPI charts of a sweep.

:func:`plot_run` writes, into a new folder:

- ``map_deliveries.png``: streets, hubs, delivered orders as a hexagon density, missed orders;
- ``map_routes.png``: every leg each robot drove, one colour per robot;
- ``timeline.png``: orders waiting / on board and robots per state over the day;
- ``lead_times.png``: histogram of lead times with the time-window line;
- ``districts.png``: deliveries per district (a polygons file; Montpellier's quartiers by default).

:func:`plot_sweep` writes, for a sweep's ``runs.parquet``, one ``kpi_<name>.png`` per KPI: the KPI
against the swept parameter with its 95 % confidence band across replicates (Wilson over the
pooled orders for shares of orders, Student-t for means), and ``service.png``: on-time share and
service rate (and on time among delivered, dashed) on one axis. The intervals come from the
function the caller passes (``carreta plot`` passes
:func:`carreta.sim.output.statistics.replicate_intervals`, which ``carreta sweep-report`` uses).

Both write into a temporary sibling folder renamed into place at the end, and refuse an existing
output folder: plots are never overwritten.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final, Protocol

import networkx as nx
import pandas as pd
import yaml

from carreta.sim.output.kpi_definitions import KPI_BY_NAME
from carreta.sim.output.results import write_atomic_dir
from carreta.sim.output.rundir import (
    Run,
    RunDirError,
    activity_bounds,
    default_districts_file,
    load_run,
    street_lines,
)
from carreta.sim.output.statistics import replicate_intervals
from carreta.sim.scenario.labels import parameter_labels
from carreta.sim.viz.charts import (
    SERVICE_LINES,
    plot_kpi_sweep,
    plot_lead_times,
    plot_service_sweep,
    plot_timeline,
)
from carreta.sim.viz.maps import (
    district_name_column,
    plot_deliveries_map,
    plot_districts,
    plot_routes_map,
    read_districts,
)

__all__ = [
    "DEFAULT_SWEEP_KPIS",
    "SERVICE_CHART",
    "ReplicateIntervals",
    "draw_run_maps",
    "is_sweep_dir",
    "plot_run",
    "plot_sweep",
    "sweep_parameters",
]

logger = logging.getLogger(__name__)

#: KPIs a sweep is plotted for when none are asked for (those present in runs.parquet): the
#: headline KPIs of ``carreta sweep-report``.
DEFAULT_SWEEP_KPIS: Final = (
    "on_time_share",
    "service_rate",
    "lead_time_p95_min",
    "utilisation",
    "km_per_delivery",
    "cost_per_delivery_eur",
)
#: The chart of on-time share and service rate together (with the default KPIs).
SERVICE_CHART: Final = "service.png"
#: The resolved sweep (with its base scenario) in a sweep folder (``carreta sweep``).
RESOLVED_SWEEP: Final = "sweep.resolved.yaml"
#: Confidence level of the sweep charts' bands.
LEVEL: Final = 0.95


class ReplicateIntervals(Protocol):
    """Estimate and interval of each KPI per combination of ``keys``, one row per
    combination × KPI (:func:`carreta.sim.output.statistics.replicate_intervals`)."""

    def __call__(
        self,
        runs: pd.DataFrame,
        keys: Sequence[str],
        *,
        kpis: Sequence[str] | None = None,
        level: float = 0.95,
    ) -> pd.DataFrame: ...


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
    names: list[str] = []

    def fill(folder: Path) -> None:
        maps = draw_run_maps(run, folder, districts_file=districts_file, graph=graph)
        names.extend(path.name for path in maps[:2])
        names.append(plot_timeline(run, folder / "timeline.png").name)
        names.append(plot_lead_times(run, folder / "lead_times.png").name)
        names.extend(path.name for path in maps[2:])

    written = write_atomic_dir(Path(out_dir), fill)
    return [written / file_name for file_name in names]


def draw_run_maps(
    run: Run,
    folder: Path,
    *,
    districts_file: Path | None = None,
    graph: nx.MultiDiGraph | None = None,
) -> list[Path]:
    """Draw a run's maps into the existing folder ``folder``: ``map_deliveries.png``,
    ``map_routes.png`` and, with a districts file, ``districts.png`` (``carreta plot`` and the
    report page share them).

    Parameters
    ----------
    run
        The run (:func:`carreta.sim.output.rundir.load_run`).
    folder
        Where to write the PNGs.
    districts_file, graph
        As :func:`plot_run`.

    Returns
    -------
    list of Path
        The PNG files written.

    Raises
    ------
    RunDirError
        If the districts file is unreadable.
    """
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
    written = [
        plot_deliveries_map(run, streets, bounds, folder / "map_deliveries.png"),
        plot_routes_map(run, streets, bounds, folder / "map_routes.png"),
    ]
    if districts is not None:
        written.append(plot_districts(run, streets, districts, name, folder / "districts.png"))
    return written


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


def _base_scenario(sweep_dir: Path) -> dict[str, Any] | None:
    """The base scenario in the sweep's ``sweep.resolved.yaml`` (None without the file): it
    names the hubs and groups of the parameters' labels."""
    path = sweep_dir / RESOLVED_SWEEP
    if not path.is_file():
        return None
    try:
        resolved = yaml.safe_load(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise RunDirError(f"{path}: not a readable YAML file ({error})") from error
    base = resolved.get("base_scenario") if isinstance(resolved, dict) else None
    return base if isinstance(base, dict) else None


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
            if column not in KPI_BY_NAME
            and column not in _NOT_PARAMETERS
            and ("." in column or "[" in column)
        ]
    return [column for column in candidates if runs[column].nunique(dropna=True) > 1]


def plot_sweep(
    sweep_dir: Path,
    out_dir: Path,
    *,
    intervals: ReplicateIntervals = replicate_intervals,
    kpis: Sequence[str] | None = None,
    x: str | None = None,
) -> list[Path]:
    """Write the charts of a sweep into the new folder ``out_dir``.

    Parameters
    ----------
    sweep_dir
        A sweep directory (holds ``runs.parquet``).
    out_dir
        Folder to create; it must not exist.
    intervals
        Computes the estimates and confidence intervals (default
        :func:`carreta.sim.output.statistics.replicate_intervals`, as ``carreta sweep-report``).
    kpis
        KPI columns to plot, one ``kpi_<name>.png`` each. Default: :data:`DEFAULT_SWEEP_KPIS`
        present in the table, and :data:`SERVICE_CHART` when the table has ``on_time_share``
        and ``service_rate``.
    x
        Parameter on the horizontal axis (default: the first swept one); the other swept
        parameters become one line each (one panel each in :data:`SERVICE_CHART`).

    Returns
    -------
    list of Path
        The PNG files written, inside ``out_dir``.

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
    service = [line[0] for line in SERVICE_LINES if line[0] in runs.columns]
    with_service = not kpis and {"on_time_share", "service_rate"} <= set(service)
    by = [p for p in parameters if p != x]
    needed = list(dict.fromkeys([*chosen, *(service if with_service else [])]))
    summary = intervals(runs, [x, *by], kpis=needed, level=LEVEL)
    labels = parameter_labels([x, *by], _base_scenario(Path(sweep_dir)))
    files: list[str] = []

    def fill(folder: Path) -> None:
        if with_service:
            files.append(
                plot_service_sweep(summary, x, folder / SERVICE_CHART, by=by, labels=labels).name
            )
        for kpi in chosen:
            path = folder / f"kpi_{kpi}.png"
            definition = KPI_BY_NAME[kpi].definition if kpi in KPI_BY_NAME else ""
            plot_kpi_sweep(runs, summary, x, kpi, path, by=by, description=definition,
                           level=LEVEL, labels=labels)  # fmt: skip
            files.append(path.name)

    written = write_atomic_dir(Path(out_dir), fill)
    return [written / name for name in files]
