"""``carreta plot`` and ``carreta replay``: pictures of a run (or a sweep) and its HTML replay.

Errors are not handled here: :func:`carreta.sim.cli.main` turns every user error into one line and
exit code 2. matplotlib, GeoPandas and the run readers are imported when a command runs, so the
command line starts fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from carreta.sim.errors import ResultsExistError, RunDirError

RunArgument = Annotated[
    Path,
    typer.Argument(
        help="A run directory (carreta run) or, for plot, a sweep directory (carreta sweep).",
        show_default=False,
        file_okay=False,
    ),
]


def plot_command(
    run_dir: RunArgument,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="Folder to create for the PNGs (it must not exist). Default: RUN_DIR/plots.",
            file_okay=False,
        ),
    ] = None,
    districts: Annotated[
        Path | None,
        typer.Option(
            "--districts",
            help=(
                "Polygons file (GeoJSON, GeoPackage, shapefile...) for deliveries per district. "
                "Default: Montpellier's quartiers from ../shared/data, when present."
            ),
            dir_okay=False,
        ),
    ] = None,
    kpi: Annotated[
        list[str] | None,
        typer.Option("--kpi", help="Sweep only: a KPI to plot (repeat for several)."),
    ] = None,
    x: Annotated[
        str | None,
        typer.Option("--x", help="Sweep only: the parameter on the horizontal axis."),
    ] = None,
) -> None:
    """Draw a run's maps and charts as PNGs (or a sweep's KPIs with 95 % confidence bands)."""
    from carreta.sim.output.rundir import read_attribution
    from carreta.sim.viz.plots import is_sweep_dir, plot_run, plot_sweep

    if not run_dir.is_dir():
        raise RunDirError(f"{run_dir}: no such run directory")
    target = out if out is not None else run_dir / "plots"
    if target.exists():
        raise ResultsExistError(
            f"{target} already exists: plots are never overwritten; choose a new folder with -o"
        )
    sweep = is_sweep_dir(run_dir)
    if sweep:
        written = plot_sweep(run_dir, target, kpis=kpi or None, x=x)
    else:
        written = plot_run(run_dir, target, districts_file=districts)
    for path in written:
        typer.echo(str(path))
    if not sweep:
        typer.echo(f"Maps: {read_attribution(run_dir)}.")


def replay_command(
    run_dir: RunArgument,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="HTML file to create (it must not exist). Default: RUN_DIR/replay.html.",
            dir_okay=False,
        ),
    ] = None,
) -> None:
    """Write a self-contained HTML page replaying the run's day (open it in any browser)."""
    from carreta.sim.output.rundir import read_attribution
    from carreta.sim.viz.replay import write_replay

    target = out if out is not None else run_dir / "replay.html"
    if target.exists():
        raise ResultsExistError(
            f"{target} already exists: files are never overwritten; choose another with -o"
        )
    written = write_replay(run_dir, target)
    typer.echo(f"{written} ({written.stat().st_size / 1e6:.1f} MB): open it in a web browser")
    typer.echo(f"{read_attribution(run_dir)}.")
