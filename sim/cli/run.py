"""``carreta validate`` and ``carreta run``: check a scenario as a run would, simulate its day.

Errors are not handled here: :func:`carreta.sim.cli.main` turns every user error into one line and
exit code 2. Both import the simulation only when they run (``validate --schema-only`` needs only
the scenario models), so the command line starts fast.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from carreta.sim.cli.clock import COMMAND_STARTED
from carreta.sim.cli.interrupts import (
    exit_interrupted,
    interrupt_exit_code,
    terminate_as_interrupt,
)

if TYPE_CHECKING:
    from carreta.sim.scenario.models import Scenario

ScenarioArgument = Annotated[
    Path, typer.Argument(help="Scenario file (YAML).", show_default=False, dir_okay=False)
]


def kpi_table(kpis: Mapping[str, float | int | None]) -> str:
    """The KPIs as text, grouped (service, fleet, energy and CO₂, cost, operations): one line
    per KPI with its label and unit, then its value, shown as ``carreta compare`` shows it
    (:mod:`carreta.sim.output.kpi_definitions`). KPIs this version does not define come last."""
    from carreta.sim.output.kpi_definitions import GROUPS, KPI_BY_NAME, KPIS, format_kpi

    def line(name: str, value: float | int | None) -> str:
        kpi = KPI_BY_NAME.get(name)
        unit = "" if kpi is None or kpi.unit == "count" else f" [{kpi.unit}]"
        shown = format_kpi(name, value).removesuffix(" %")  # the label says [%]
        return f"  {name + unit:<34}{shown:>12}"

    lines: list[str] = []
    for group, heading in GROUPS.items():
        names = [kpi.name for kpi in KPIS if kpi.group == group and kpi.name in kpis]
        if names:
            lines += [heading, *(line(name, kpis[name]) for name in names)]
    others = [name for name in kpis if name not in KPI_BY_NAME]
    if others:
        lines += ["Other", *(line(name, kpis[name]) for name in others)]
    return "\n".join(lines)


SetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        help="Change a field for this command only: field.path=value (YAML value); repeatable, "
        "e.g. --set fleet.robots[0].count=30.",
        show_default=False,
    ),
]
MemoryCheckOption = Annotated[
    bool,
    typer.Option(
        "--memory-check/--no-memory-check",
        help="Stop before simulating a day that would not fit in the available memory "
        "(also CARRETA_MEMORY_CHECK=off).",
    ),
]


def _load(scenario_file: Path, settings: list[str] | None) -> Scenario:
    from carreta.sim.scenario.models import load_scenario, parse_override

    overrides = dict(parse_override(text) for text in settings or [])
    return load_scenario(scenario_file, overrides=overrides)


def validate_command(
    scenario_file: ScenarioArgument,
    settings: SetOption = None,
    schema_only: Annotated[
        bool,
        typer.Option(
            "--schema-only",
            help="Check the file's fields only, not the network, hubs, doors and files it names.",
        ),
    ] = False,
    memory_check: MemoryCheckOption = True,
) -> None:
    """Check a scenario as a run would, without simulating: fields, files, network, hubs,
    doors, closures, size (exit code 2 and one line at the first problem)."""
    scenario = _load(scenario_file, settings)
    robots = scenario.fleet.robot_count
    typer.echo(
        f"{scenario_file}: valid — scenario '{scenario.name}', {len(scenario.hubs)} hub(s), "
        f"{robots} robot(s), dispatch '{scenario.dispatch.policy}', "
        f"network from {scenario.network.source_kind()}"
    )
    if schema_only:
        return
    from carreta.sim.model.preflight import preflight

    found = preflight(scenario, label=str(scenario_file), memory_check=memory_check)
    for line in found.checks:
        typer.echo(f"  {line}")


def run_command(
    scenario_file: ScenarioArgument,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help=(
                "Run directory to create (it must not exist). Default: a new folder under the "
                "scenario's outputs.dir."
            ),
            file_okay=False,
        ),
    ] = None,
    seed: Annotated[
        int | None,
        typer.Option("--seed", min=0, help="Seed of the run (default: simulation.seed)."),
    ] = None,
    progress: Annotated[
        bool,
        typer.Option("--progress/--no-progress", help="Show a progress bar (on a terminal)."),
    ] = True,
    settings: SetOption = None,
    memory_check: MemoryCheckOption = True,
    report: Annotated[
        bool,
        typer.Option(
            "--report/--no-report",
            help="Also write report.html in the run folder: KPIs, maps and charts on one "
            "self-contained page (carreta report).",
        ),
    ] = True,
) -> None:
    """Simulate the scenario's day and write a results folder; print the KPIs.

    Ctrl-C or SIGTERM stop it with one line and exit code 130 or 143; nothing half-written is
    left (the folder is written atomically). ``--set`` values are in the command recorded in
    manifest.json and in scenario.resolved.yaml.
    """
    from tqdm import tqdm

    from carreta.sim.model.engine import simulate
    from carreta.sim.model.preflight import check_size
    from carreta.sim.output.results import default_run_dir, write_run

    scenario = _load(scenario_file, settings)
    check_size(scenario, label=str(scenario_file), memory_check=memory_check)
    run_seed = scenario.simulation.seed if seed is None else seed
    target = (
        out if out is not None else default_run_dir(scenario.outputs.dir, scenario.name, run_seed)
    )
    if target.exists():  # fail before simulating, not after
        typer.echo(
            f"carreta: error: {target} already exists: results are never overwritten", err=True
        )
        raise typer.Exit(2)
    bar = tqdm(
        total=100,
        desc=f"{scenario.name} (seed {run_seed})",
        unit="%",
        disable=not progress or not sys.stderr.isatty(),
        bar_format="{l_bar}{bar}| {n:.0f}% [{elapsed}<{remaining}]",
    )

    def advance(done_s: float, total_s: float) -> None:
        bar.update(100.0 * done_s / total_s - bar.n)

    kept = 0  # runs written (the folder appears whole, or not at all)
    try:
        with terminate_as_interrupt():
            with bar:
                result = simulate(
                    scenario, seed=run_seed, progress=advance, label=str(scenario_file)
                )
            written = write_run(result, target, command=["carreta", *sys.argv[1:]])
            kept = 1
    except KeyboardInterrupt as interrupt:
        bar.close()
        exit_interrupted(interrupt, kept=kept, total=1)
    except SystemError as error:  # the signal came inside compiled (numba) code
        from carreta.sim.errors import interrupt_behind

        wrapped = interrupt_behind(error)
        if wrapped is None:
            raise
        bar.close()
        exit_interrupted(wrapped, kept=kept, total=1)
    stored = json.loads((written / "kpis.json").read_text("utf-8"))
    typer.echo(kpi_table(stored))
    command_s = time.perf_counter() - COMMAND_STARTED
    typer.echo(
        f"\n{command_s:.1f} s wall for the command, of which {result.wall_time_s:.1f} s to build "
        f"and simulate the day ({result.sim_events:,} SimPy events, "
        f"{100.0 * result.routing_time_s / max(result.wall_time_s, 1e-9):.0f} % of it routing)"
    )
    typer.echo(f"results: {written}")
    if report:  # the results are written: a report that cannot be made only warns
        from carreta.routing.errors import CarretaError
        from carreta.sim.viz.report import REPORT_FILE, write_report

        try:
            with terminate_as_interrupt():
                page = write_report([written], written / REPORT_FILE, graphs=[result.world.graph])
            typer.echo(f"report: {page}")
        except CarretaError as error:
            typer.echo(f"carreta: warning: no report.html ({error})", err=True)
        except KeyboardInterrupt as interrupt:  # the run is whole; only the page is missing
            typer.echo(
                f"\ninterrupted — the run is kept in {written}; no report.html "
                f"(make it with: carreta report {written})",
                err=True,
            )
            raise typer.Exit(interrupt_exit_code(interrupt)) from None
    typer.echo(f"{scenario.network.credit()}.")
