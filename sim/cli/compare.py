"""``carreta compare RUN_A RUN_B``: two runs' KPIs side by side, with their differences.

Errors are not handled here: :func:`carreta.sim.cli.main` turns a missing or incomplete run
directory into one line and exit code 2. pandas and the KPI definitions are imported when the
command runs, so the command line starts fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

RunArgument = Annotated[
    Path,
    typer.Argument(help="A run directory (carreta run).", show_default=False, file_okay=False),
]


def compare_command(
    first: RunArgument,
    second: RunArgument,
    kpi: Annotated[
        list[str] | None,
        typer.Option("--kpi", help="A KPI to show (repeat for several). Default: all."),
    ] = None,
) -> None:
    """Print the KPIs of two runs side by side: per parcel first, then all (B − A, change)."""
    from carreta.sim.output.compare import format_comparison, read_run_summary
    from carreta.sim.output.kpi_definitions import KPI_BY_NAME

    names = list(kpi) if kpi else None
    unknown = [name for name in names or [] if name not in KPI_BY_NAME]
    if unknown:
        raise typer.BadParameter(
            f"unknown KPI {unknown[0]!r} (KPIs: {', '.join(KPI_BY_NAME)})", param_hint="--kpi"
        )
    typer.echo(format_comparison(read_run_summary(first), read_run_summary(second), names))
