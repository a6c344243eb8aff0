"""Benchmark: start-up time of the ``carreta`` command line (``--version`` and ``validate``).

Every command runs as a fresh process, the way a user types it: ``python -m carreta.sim.cli ...``
and, when it is installed next to this interpreter (or on ``PATH``), the ``carreta`` console
script. One warm-up round comes first (disk caches, ``.pyc`` files), then the commands are
interleaved over the repeats so that other load on the machine spreads evenly. Medians are
printed with their ratios to two baselines measured in the same session: the bare interpreter
(``python -c pass``) and importing typer (``python -c "import typer"``), the least any typer
command line can cost.

Goals (median wall time, warm): ``carreta --version`` ≤ 0.5 s, ``carreta validate --schema-only
scenarios/montpellier_centre.yaml`` ≤ 1.5 s. The full ``carreta validate`` (which loads the
network from its cache, snaps hubs and doors, reads the files the scenario names: every check a
run makes) is timed beside it, with a goal of 5 s.

Usage::

    python benchmarks/bench_startup.py                  # 5 repeats (a few seconds)
    python benchmarks/bench_startup.py --repeats 11 --scenario scenarios/tiny.yaml
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
SCENARIO = PROJECT / "scenarios" / "montpellier_centre.yaml"

#: Goal for each measured sub-command (median wall seconds).
GOALS_S = {"--version": 0.5, "validate --schema-only": 1.5, "validate": 3.0}  # issue 18: ≤ 3 s


@dataclass(frozen=True)
class Command:
    """One command line to time; ``goal_s`` is None for the baselines."""

    name: str
    argv: list[str]
    goal_s: float | None = None


def console_script() -> str | None:
    """The ``carreta`` script of this interpreter's environment, else the one on ``PATH``.

    The one next to ``sys.executable`` comes first: a ``PATH`` entry may be a shim (pyenv's
    is a shell script) that adds its own start-up to every figure.
    """
    beside = Path(sys.executable).with_name("carreta")
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which("carreta")


def commands(scenario: Path, *, script: str | None) -> list[Command]:
    """The baselines, then each sub-command through ``python -m`` and the console script."""
    python = sys.executable
    found = [
        Command("python -c pass", [python, "-c", "pass"]),
        Command('python -c "import typer"', [python, "-c", "import typer"]),
    ]
    launchers = [("python -m carreta.sim.cli", [python, "-m", "carreta.sim.cli"])]
    if script is not None:
        launchers.append(("carreta", [script]))
    for label, launcher in launchers:
        found.append(Command(f"{label} --version", [*launcher, "--version"], GOALS_S["--version"]))
        for validate in ("validate --schema-only", "validate"):
            found.append(
                Command(
                    f"{label} {validate} {scenario.name}",
                    [*launcher, *validate.split(), str(scenario)],
                    GOALS_S[validate],
                )
            )
    return found


def timed(argv: list[str]) -> float:
    """Wall time of one run of ``argv`` in seconds; raise if it fails."""
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=PROJECT, capture_output=True, text=True, check=False)
    wall_s = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited with {done.returncode}:\n{done.stderr}")
    return wall_s


def report(results: dict[str, list[float]], todo: list[Command], *, repeats: int) -> None:
    """Print the table: median and minimum, ratios to both baselines, goal and whether met."""
    interpreter_s = statistics.median(results[todo[0].name])
    typer_s = statistics.median(results[todo[1].name])
    width = max(len(command.name) for command in todo)
    row = "{:<{width}}  {:>8}  {:>6}  {:>8}  {:>8}  {:>6}  {:>4}"
    print(f"\nmedian of {repeats} fresh processes each (after one warm-up round):")
    print(row.format("command", "median s", "min s", "× python", "× typer", "goal s", "met",
                     width=width))  # fmt: skip
    missed = 0
    for command in todo:
        median_s = statistics.median(results[command.name])
        goal, met = "", ""
        if command.goal_s is not None:
            goal, met = f"{command.goal_s:.1f}", "yes" if median_s <= command.goal_s else "NO"
            missed += median_s > command.goal_s
        print(
            row.format(
                command.name,
                f"{median_s:.3f}",
                f"{min(results[command.name]):.3f}",
                f"{median_s / interpreter_s:.1f}×",
                f"{median_s / typer_s:.1f}×",
                goal,
                met,
                width=width,
            )
        )
    goals = ", ".join(f"{name} ≤ {seconds} s" for name, seconds in GOALS_S.items())
    verdict = "all met" if not missed else f"{missed} missed"
    print(f"\ngoals ({goals}): {verdict}; load average {os.getloadavg()[0]:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed runs of each command")
    parser.add_argument("--scenario", type=Path, default=SCENARIO, help="file for validate")
    parser.add_argument("--no-script", action="store_true", help="skip the carreta console script")
    args = parser.parse_args()
    script = None if args.no_script else console_script()
    todo = commands(args.scenario.resolve(), script=script)
    print(f"python {sys.version.split()[0]} at {sys.executable}")
    print(f"console script: {script or 'not found (skipped)'}")
    for command in todo:  # warm-up: disk caches, bytecode
        timed(command.argv)
    results: dict[str, list[float]] = {command.name: [] for command in todo}
    for repeat in range(args.repeats):
        for command in todo:
            results[command.name].append(timed(command.argv))
        print(f"  repeat {repeat + 1}/{args.repeats} done", flush=True)
    report(results, todo, repeats=args.repeats)


if __name__ == "__main__":
    main()
