"""``carreta plan``: find the cheapest configuration meeting a target (fleet size, chargers,
supervision ratio, hub sites) and write the answer, its evidence and a memo.

Exit codes: 0 done (whether or not a configuration meets the target: the summary says), 2 bad
input, a failing run or a lost executor (completed runs are kept; rerunning resumes), 130
interrupted. The planning code (pandas, the model, matplotlib) is imported when the command runs.
"""

from __future__ import annotations

import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Annotated

import typer

from carreta.sim.cli.sweep import DaskLocalOption, SchedulerOption, WorkersOption

__all__ = ["plan_command"]


def plan_command(
    plan_file: Annotated[
        Path, typer.Argument(help="Plan file (YAML).", show_default=False, dir_okay=False)
    ],
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            "-o",
            help="Plan folder: new, empty, or holding this same plan (which then resumes).",
            file_okay=False,
        ),
    ],
    workers: WorkersOption = 1,
    scheduler: SchedulerOption = None,
    dask_local: DaskLocalOption = None,
    grid_check: Annotated[
        bool,
        typer.Option(
            "--grid-check",
            help="Also run the equivalent full grid (reusing the search's runs) and compare.",
        ),
    ] = False,
    holdout: Annotated[
        int,
        typer.Option(
            "--holdout", min=0, help="Run the recommendation on N fresh replicates (seeds unused)."
        ),
    ] = 0,
) -> None:
    """Search the plan's decision variables for the cheapest configuration meeting its target.

    Re-running the same command resumes: finished runs are not redone.
    """
    if scheduler is not None and dask_local is not None:
        raise typer.BadParameter("give --scheduler or --dask-local, not both")
    from carreta.sim.cli.interrupts import interrupt_exit_code, terminate_as_interrupt
    from carreta.sim.cli.sweep import open_executor
    from carreta.sim.plan.load import load_plan
    from carreta.sim.plan.outputs import prepare_plan_dir, summary_text, write_outputs
    from carreta.sim.plan.planner import Planner

    plan = load_plan(plan_file)
    resumed = prepare_plan_dir(plan, out)
    if resumed:
        typer.echo(f"resuming the plan in {out}: finished runs are reused", err=True)
    with ExitStack() as stack:
        executor = open_executor(stack, workers, scheduler, dask_local)
        planner = Planner(
            plan,
            out,
            executor=executor,
            command=["carreta", *sys.argv[1:]],
            on_message=lambda text: typer.echo(f"  {text}", err=True),
        )
        try:
            with terminate_as_interrupt():
                result = planner.run()
                if grid_check:
                    typer.echo("exhaustive grid check:", err=True)
                    planner.grid_check(result)
                planner.holdout(result, holdout)
                planner.compare(result)
        except KeyboardInterrupt as interrupt:
            typer.echo(
                f"\ninterrupted: finished runs are kept in {out}; run the same command again "
                "to resume",
                err=True,
            )
            raise typer.Exit(interrupt_exit_code(interrupt)) from None
    written = write_outputs(result, out)
    typer.echo(summary_text(result))
    typer.echo("written: " + ", ".join(path.name for path in written) + f" in {out}")
