"""``carreta compare RUN_A RUN_B [RUN_C ...]``: runs' KPIs side by side, with their differences
from the first run.

Errors are not handled here: :func:`carreta.sim.cli.main` turns a missing or incomplete run
directory into one line and exit code 2. pandas and the KPI definitions are imported when the
command runs, so the command line starts fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

RunsArgument = Annotated[
    list[Path],
    typer.Argument(
        help="Two or more run directories (carreta run); each is compared with the first.",
        show_default=False,
        file_okay=False,
        metavar="RUN_DIR",
    ),
]


def compare_command(
    runs: RunsArgument,
    kpi: Annotated[
        list[str] | None,
        typer.Option("--kpi", help="A KPI to show (repeat for several). Default: all."),
    ] = None,
) -> None:
    """Print the KPIs of two or more runs side by side: headline KPIs first, then all, each
    with its unit and its difference from the first run (B − A, change)."""
    from carreta.sim.output.compare import format_runs, read_run_summary
    from carreta.sim.output.kpi_definitions import KPI_BY_NAME

    if len(runs) < 2:
        raise typer.BadParameter("give at least two run directories", param_hint="RUNS")
    names = list(kpi) if kpi else None
    unknown = [name for name in names or [] if name not in KPI_BY_NAME]
    if unknown:
        raise typer.BadParameter(
            f"unknown KPI {unknown[0]!r} (KPIs: {', '.join(KPI_BY_NAME)})", param_hint="--kpi"
        )
    typer.echo(format_runs([read_run_summary(run) for run in runs], names))
