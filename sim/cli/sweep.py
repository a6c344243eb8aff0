"""``carreta sweep`` and ``carreta sweep-report``: run a parameter sweep, summarise its runs.

Exit codes of ``carreta sweep``: 0 when every run completed, 1 when some failed (they are in
``runs.parquet`` with their error; running the command again retries them), 2 for bad input
(an invalid sweep file, or an output folder holding something else) or an executor lost
mid-sweep (:class:`~carreta.sim.errors.SweepAbortedError`: a pool worker died again and again, the
Dask scheduler went away; the completed runs are kept and running the command again resumes),
130 when interrupted by Ctrl-C and 143 by SIGTERM (the completed runs are kept, the line says how
many; running the command again resumes). User errors are turned
into one line by :func:`carreta.sim.cli.main`. The sweep machinery (pandas, Dask, the model) is
imported when a command runs, so the command line starts fast.
"""

from __future__ import annotations

import sys
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from carreta.sim.cli.interrupts import exit_interrupted, terminate_as_interrupt
from carreta.sim.cli.run import MemoryCheckOption, SetOption

if TYPE_CHECKING:
    from carreta.sim.sweep.executors import Executor
    from carreta.sim.sweep.load import Sweep
    from carreta.sim.sweep.runner import SweepSummary
    from carreta.sim.sweep.worker import RunOutcome

__all__ = ["sweep_command", "sweep_report_command"]

MAX_ERRORS_SHOWN = 5

# Where the runs of a sweep or a plan execute (see open_executor).
WorkersOption = Annotated[
    int, typer.Option("--workers", "-w", min=1, help="Local worker processes (1: in-process).")
]
SchedulerOption = Annotated[
    str | None, typer.Option("--scheduler", help="Run on this Dask scheduler (tcp://HOST:PORT).")
]
DaskLocalOption = Annotated[
    int | None,
    typer.Option("--dask-local", min=1, help="Run on a local Dask cluster of N workers."),
]


def _print_plan(sweep: Sweep, out: Path | None) -> None:
    from carreta.sim.sweep.results import run_folder
    from carreta.sim.sweep.spec import describe_value
    from carreta.sim.sweep.worker import is_complete_run

    combinations = len(sweep.runs) // sweep.spec.replicates
    typer.echo(
        f"sweep '{sweep.name}': {len(sweep.runs)} runs ({combinations} combination(s) × "
        f"{sweep.spec.replicates} replicate(s)) of {sweep.base_file}"
    )
    header = f"{'run_id':<12}  {'replicate':>9}  {'seed':>10}"
    if out is not None:
        header += "  state  "
    typer.echo(header + "  parameters")
    for run in sweep.runs:
        line = f"{run.run_id:<12}  {run.replicate:>9}  {run.seed:>10}"
        if out is not None:
            line += "  done   " if is_complete_run(run_folder(out, run)) else "  to run "
        shown = "  ".join(f"{path}={describe_value(value)}" for path, value in run.params.items())
        typer.echo(f"{line}  {shown}".rstrip())


def open_executor(
    stack: ExitStack, workers: int, scheduler: str | None, dask_local: int | None
) -> Executor:
    from carreta.sim.sweep.executors import (
        DaskExecutor,
        InProcessExecutor,
        LocalPoolExecutor,
        dask_client,
    )

    if scheduler is not None or dask_local is not None:
        client = stack.enter_context(dask_client(scheduler=scheduler, local_workers=dask_local))
        return DaskExecutor(client)
    if workers == 1:
        return InProcessExecutor()
    return LocalPoolExecutor(workers)


def _report(summary: SweepSummary, errors: list[str]) -> None:
    done_now = summary.completed - summary.skipped
    typer.echo(
        f"{summary.total} runs: {summary.completed} completed ({done_now} now, "
        f"{summary.skipped} already done), {summary.failed} failed or unfinished; "
        f"{summary.wall_time_s:.1f} s"
    )
    for line in errors[:MAX_ERRORS_SHOWN]:
        typer.echo(f"  failed: {line}", err=True)
    if len(errors) > MAX_ERRORS_SHOWN:
        typer.echo(
            f"  ... and {len(errors) - MAX_ERRORS_SHOWN} more (see the error column)", err=True
        )
    typer.echo(f"results: {summary.table}")


def _completed_runs(sweep: Sweep, out: Path) -> int:
    """How many of the sweep's runs have a complete folder in ``out`` (kept on a resume)."""
    from carreta.sim.sweep.results import run_folder
    from carreta.sim.sweep.worker import is_complete_run

    return sum(is_complete_run(run_folder(out, run)) for run in sweep.runs)


def _check_sizes(sweep: Sweep, *, memory_check: bool) -> None:
    """Stop before running if one of the sweep's runs would not fit in memory, as ``run`` does
    (one line naming the sweep file and the parameter combination)."""
    from carreta.sim.errors import ScenarioError
    from carreta.sim.model.preflight import check_size
    from carreta.sim.sweep.spec import SweepError, describe_value

    for run in sweep.runs:
        if run.replicate != 0:
            continue  # replicates differ only in their seed
        try:
            check_size(sweep.scenario_for(run), label=str(sweep.base_file),
                       memory_check=memory_check)  # fmt: skip
        except ScenarioError as error:
            params = run.params.items()
            shown = ", ".join(f"{path}={describe_value(value)}" for path, value in params)
            where = f"the run {shown}" if shown else "every run"
            raise SweepError(sweep.source, error.field, f"{where}: {error.problem}") from None


def _run(
    sweep: Sweep,
    out: Path,
    stack: ExitStack,
    errors: list[str],
    workers: int,
    scheduler: str | None,
    dask_local: int | None,
    progress: bool,
) -> SweepSummary:
    """Start the executor and run the sweep with a progress bar; failed runs go to ``errors``."""
    from tqdm import tqdm

    from carreta.sim.sweep.runner import run_sweep

    executor = open_executor(stack, workers, scheduler, dask_local)
    bar = stack.enter_context(
        tqdm(
            total=len(sweep.runs),
            desc=sweep.name,
            unit="run",
            file=sys.stderr,
            disable=not progress or not sys.stderr.isatty(),
        )
    )

    def started(total: int, skipped: int) -> None:
        bar.initial = bar.n = skipped  # resumed runs count as done, not in the rate (ETA)
        bar.set_postfix(failed=0, remaining=total - skipped)

    def advance(outcome: RunOutcome, counts: dict[str, int]) -> None:
        if outcome.error is not None:
            errors.append(f"{outcome.run_id}: {outcome.error}")
        bar.update(1)
        bar.set_postfix(failed=counts["failed"], remaining=counts["pending"])

    return run_sweep(
        sweep,
        out,
        executor=executor,
        command=["carreta", *sys.argv[1:]],
        on_progress=advance,
        on_start=started,
    )


def sweep_command(
    sweep_file: Annotated[
        Path, typer.Argument(help="Sweep file (YAML).", show_default=False, dir_okay=False)
    ],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="Sweep folder: new, empty, or holding this same sweep (which then resumes).",
            file_okay=False,
        ),
    ] = None,
    workers: WorkersOption = 1,
    scheduler: SchedulerOption = None,
    dask_local: DaskLocalOption = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List the runs (id, replicate, seed, parameters).")
    ] = False,
    progress: Annotated[
        bool, typer.Option("--progress/--no-progress", help="Show a progress bar (on a terminal).")
    ] = True,
    settings: SetOption = None,
    memory_check: MemoryCheckOption = True,
) -> None:
    """Run a parameter sweep; re-running the same command resumes it.

    Exit code 0 if every run completed, 1 if some failed, 2 for bad input or a lost executor
    (a worker process died again and again, the Dask scheduler went away: rerun to resume),
    130/143 when interrupted (Ctrl-C/SIGTERM: rerun to resume). ``--set`` values are added to
    the sweep file's fixed overrides (and recorded with them in sweep.resolved.yaml).
    """
    if scheduler is not None and dask_local is not None:
        raise typer.BadParameter("give --scheduler or --dask-local, not both")
    if workers != 1 and (scheduler is not None or dask_local is not None):
        raise typer.BadParameter("--workers is for the local pool; Dask has its own workers")
    from carreta.sim.scenario.models import parse_override
    from carreta.sim.sweep.load import load_sweep

    overrides = dict(parse_override(text) for text in settings or [])
    try:
        with terminate_as_interrupt():
            sweep = load_sweep(sweep_file, settings=overrides)
    except KeyboardInterrupt as interrupt:
        exit_interrupted(interrupt, kept=0, total=None)
    if dry_run:
        _print_plan(sweep, out)
        return
    if out is None:
        raise typer.BadParameter("--out is required (except with --dry-run)")
    _check_sizes(sweep, memory_check=memory_check)
    errors: list[str] = []
    try:
        with terminate_as_interrupt(), ExitStack() as stack:
            summary = _run(sweep, out, stack, errors, workers, scheduler, dask_local, progress)
    except KeyboardInterrupt as interrupt:
        exit_interrupted(interrupt, kept=_completed_runs(sweep, out), total=len(sweep.runs))
    _report(summary, errors)
    raise typer.Exit(summary.exit_code)


def sweep_report_command(
    out: Annotated[
        Path, typer.Argument(help="Sweep folder (holds runs.parquet).", file_okay=False)
    ],
    kpi: Annotated[
        list[str] | None,
        typer.Option(
            "--kpi",
            "-k",
            help="KPI to show (repeat; default: on_time_share, service_rate, lead_time_p95_min, "
            "utilisation, km_per_delivery, cost_per_delivery_eur).",
        ),
    ] = None,
    confidence: Annotated[
        float, typer.Option("--confidence", min=0.5, max=0.999, help="Confidence level.")
    ] = 0.95,
) -> None:
    """Print one table: a row per parameter combination, the headline KPIs as value ± interval.

    Shares of orders pool the replicates' orders (Wilson interval); other KPIs are means of the
    replicates (Student-t interval). Writes summary.csv (every KPI: estimate, low, high, method)
    and summary.md (the table) into the sweep folder, replacing those of an earlier report.
    """
    from carreta.sim.output.kpi_definitions import KPI_BY_NAME
    from carreta.sim.sweep.report import (
        DEFAULT_KPIS,
        compact_table,
        format_markdown,
        format_text,
        legend,
        parameter_columns,
        parameter_labels_of,
        read_runs_table,
        summarise_runs,
        write_summary,
    )

    names = list(dict.fromkeys(kpi)) if kpi else list(DEFAULT_KPIS)
    unknown = [name for name in names if name not in KPI_BY_NAME]
    if unknown:
        raise typer.BadParameter(
            f"unknown KPI {unknown[0]!r} (KPIs: {', '.join(KPI_BY_NAME)})", param_hint="--kpi"
        )
    table = read_runs_table(out)
    shown = summarise_runs(table, kpis=names, level=confidence)
    every = summarise_runs(table, level=confidence)
    labels = parameter_labels_of(out, parameter_columns(table))
    compact = compact_table(table, shown, kpis=names, labels=labels)
    parameters = len(parameter_columns(table))
    counts = table["status"].value_counts().to_dict()
    runs = (
        f"{len(table)} runs ("
        + ", ".join(f"{counts.get(name, 0)} {name}" for name in ("completed", "failed", "pending"))
        + ")"
    )
    notes = legend(names, level=confidence)
    typer.echo(f"{out}: {runs}")
    typer.echo(format_text(compact, parameters=parameters))
    for note in notes:
        typer.echo(note)
    markdown = format_markdown(
        compact, parameters=parameters, title=f"Sweep {out.resolve().name}: {runs}", notes=notes
    )
    csv_file, markdown_file = write_summary(out, every, markdown)
    typer.echo(f"written: {csv_file.name} (every KPI), {markdown_file.name} in {out}")
