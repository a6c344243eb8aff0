"""``carreta report RUN_DIR [RUN_DIR ...]``: one self-contained HTML page of a run (or of runs
side by side) to show in a meeting: KPIs with units, maps, the day's timeline, lead times,
orders per hour and district, the scenario summary, and a link to the replay.

Errors are not handled here: :func:`carreta.sim.cli.main` turns every user error into one line
and exit code 2. matplotlib, GeoPandas and the run readers are imported when the command runs,
so the command line starts fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from carreta.sim.errors import ResultsExistError


def report_command(
    run_dirs: Annotated[
        list[Path],
        typer.Argument(
            help="One or more run directories (carreta run); several are compared with the first.",
            show_default=False,
            file_okay=False,
            metavar="RUN_DIR",
        ),
    ],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="HTML file to create (it must not exist). Default: RUN_DIR/report.html for "
            "one run; for several, required.",
            dir_okay=False,
        ),
    ] = None,
    districts: Annotated[
        Path | None,
        typer.Option(
            "--districts",
            help=(
                "Polygons file (GeoJSON, GeoPackage, shapefile...) for the per-district map "
                "and table. Default: Montpellier's quartiers from ../shared/data, when present."
            ),
            dir_okay=False,
        ),
    ] = None,
) -> None:
    """Write a self-contained HTML report of one run, or of several runs side by side."""
    from carreta.sim.viz.report import REPORT_FILE, write_report

    if out is None:
        if len(run_dirs) > 1:
            raise typer.BadParameter(
                "several runs: choose the report's file with --out", param_hint="--out"
            )
        out = run_dirs[0] / REPORT_FILE
    if out.exists():
        raise ResultsExistError(
            f"{out} already exists: files are never overwritten; choose another with -o"
        )
    written = write_report(run_dirs, out, districts_file=districts)
    typer.echo(f"{written} ({written.stat().st_size / 1e6:.1f} MB): open it in a web browser")
