"""Running a plan's simulations through the sweep machinery.

Every simulation of a plan is a run of one sweep folder, ``DIR/sweep``, made and resumed by
:func:`carreta.sim.sweep.runner.run_sweep` on any executor (in-process, local pool, Dask). The
folder's sweep is the plan's *equivalent full grid* — every value of the search range × every
grid value × every simulated hub set, each with ``replicates.max`` replicates — of which the
plan asks only for the runs its search needs: run ids and seeds are the sweep's own
(:func:`~carreta.sim.sweep.spec.run_id`, :func:`~carreta.sim.sweep.spec.replicate_seed`), so
replicate ``r`` has the same seed at every configuration (common random numbers), a rerun after a
kill skips every complete run folder, and the exhaustive grid check reuses the search's runs.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd

from carreta.routing.errors import CarretaError
from carreta.sim.output.kpi_definitions import KPI_BY_NAME
from carreta.sim.output.statistics import replicate_intervals
from carreta.sim.plan.load import Plan
from carreta.sim.plan.search import Interval
from carreta.sim.sweep.executors import Executor
from carreta.sim.sweep.load import Sweep
from carreta.sim.sweep.results import RUNS_DIR, run_folder
from carreta.sim.sweep.runner import run_sweep
from carreta.sim.sweep.spec import (
    SweepRun,
    SweepSpec,
    canonical_json,
    replicate_seed,
    run_id,
)
from carreta.sim.sweep.worker import RunOutcome, is_complete_run

__all__ = ["PlanRunError", "RunStore"]

logger = logging.getLogger(__name__)


class PlanRunError(CarretaError, RuntimeError):
    """A simulation the plan needs failed: the plan cannot decide without it.

    ``str(error)`` is one line naming the run and its error; rerunning the plan retries it
    (completed runs are kept).
    """


def _distinct(values: Sequence[Any]) -> list[Any]:
    seen: dict[str, Any] = {}
    for value in values:
        seen.setdefault(canonical_json(value), value)
    return list(seen.values())


@dataclass
class RunStore:
    """The plan's runs: one sweep folder whose runs are added as the search asks for them.

    Parameters
    ----------
    plan
        The plan.
    folder
        The sweep folder (``DIR/sweep``, or ``DIR/holdout``...).
    configurations
        Every configuration's parameters the folder may hold (the equivalent full grid).
    replicates
        Replicates per configuration in the full grid.
    executor
        Where runs execute.
    base_file, base_data, overrides
        The scenario varied, as parsed, and the overrides fixed for every run.
    first_replicate
        Replicate number of the folder's first replicate (held-out replicates start above the
        search's).
    """

    plan: Plan
    folder: Path
    configurations: Sequence[Mapping[str, Any]]
    replicates: int
    executor: Executor
    base_file: Path
    base_data: Mapping[str, Any]
    overrides: Mapping[str, Any]
    command: Sequence[str] | None = None
    first_replicate: int = 0
    on_run: Callable[[RunOutcome], None] | None = None
    _wanted: dict[str, SweepRun] = field(default_factory=dict)
    _asked: set[str] = field(default_factory=set)
    _kpis: dict[str, dict[str, Any]] = field(default_factory=dict)
    _sweep: Sweep | None = None

    def sweep(self) -> Sweep:
        """The folder's sweep (its spec is the full grid; its runs those asked for so far)."""
        if self._sweep is None:
            self._sweep = self._make_sweep()
            self._adopt_made_runs()
        return replace(self._sweep, runs=tuple(self._wanted.values()))

    def _adopt_made_runs(self) -> None:
        """Keep in the sweep every run of the full grid already complete in the folder (made
        by an earlier invocation, a grid check, or a plan with a narrower range), so that the
        sweep folder is never asked to forget runs it holds."""
        if not (self.folder / RUNS_DIR).is_dir():
            return
        made = {path.name for path in (self.folder / RUNS_DIR).iterdir()}
        for params in self.configurations:
            for run in self.runs_of(params, self.replicates):
                if run.run_id in made and is_complete_run(run_folder(self.folder, run)):
                    self._wanted.setdefault(run.run_id, run)

    def _make_sweep(self) -> Sweep:
        from carreta.sim.sweep.load import scenario_from_base

        plan = self.plan
        paths = list(dict.fromkeys(path for config in self.configurations for path in config))
        grid = {path: _distinct([config[path] for config in self.configurations]) for path in paths}
        spec = SweepSpec.model_validate(
            {
                "name": plan.name,
                "description": f"runs of the plan {plan.source}",
                "base": str(self.base_file),
                "seed": plan.spec.seed,
                "replicates": self.first_replicate + self.replicates,
                "overrides": dict(self.overrides),
                "grid": grid,
            },
            context={"base_dir": self.base_file.parent},
        )
        base = scenario_from_base(
            self.base_data, self.base_file, self.overrides, label=str(self.base_file)
        )
        return Sweep(spec, plan.source, plan.name, dict(self.base_data), base, ())

    def runs_of(self, params: Mapping[str, Any], replicates: int) -> list[SweepRun]:
        """The runs of ``params`` for the folder's first ``replicates`` replicates."""
        first = self.first_replicate
        return [
            SweepRun(
                run_id=run_id(params, replicate),
                replicate=replicate,
                seed=replicate_seed(self.plan.spec.seed, replicate),
                params=dict(params),
            )
            for replicate in range(first, first + replicates)
        ]

    def ensure(self, batches: Sequence[tuple[Mapping[str, Any], int]]) -> None:
        """Make sure the runs of every ``(params, replicates)`` are complete (one sweep call).

        Raises
        ------
        PlanRunError
            If a run fails.
        """
        new = False
        self.sweep()  # adopts the runs already made
        for params, replicates in batches:
            for run in self.runs_of(params, replicates):
                self._asked.add(run.run_id)
                if run.run_id not in self._wanted:
                    self._wanted[run.run_id] = run
                    new = True
        pending = [
            run
            for run in self._wanted.values()
            if run.run_id not in self._kpis and not is_complete_run(run_folder(self.folder, run))
        ]
        if new and pending:
            errors: list[str] = []

            def progress(outcome: RunOutcome, counts: dict[str, int]) -> None:
                if outcome.error is not None:
                    errors.append(f"run {outcome.run_id} failed: {outcome.error}")
                if self.on_run is not None:
                    self.on_run(outcome)

            summary = run_sweep(
                self.sweep(),
                self.folder,
                executor=self.executor,
                command=self.command,
                on_progress=progress,
            )
            if summary.failed:
                first = errors[0] if errors else "a run did not complete"
                raise PlanRunError(f"{first}; rerun the plan to retry (completed runs are kept)")

    def kpis(self, params: Mapping[str, Any], replicates: int) -> pd.DataFrame:
        """The KPIs (one row per replicate) of ``params``' first ``replicates`` runs."""
        self.ensure([(params, replicates)])
        rows = []
        for run in self.runs_of(params, replicates):
            if run.run_id not in self._kpis:
                text = (run_folder(self.folder, run) / "kpis.json").read_text("utf-8")
                self._kpis[run.run_id] = json.loads(text)
            kpis = self._kpis[run.run_id]
            rows.append({"run_id": run.run_id, "replicate": run.replicate, **kpis})
        return pd.DataFrame(rows)

    def finish(self) -> None:
        """Write the folder's runs table and manifest for every run asked for (a resumed plan
        may have found them all complete without running the sweep)."""
        if self._wanted:
            run_sweep(self.sweep(), self.folder, executor=self.executor, command=self.command)

    @property
    def runs_used(self) -> int:
        """Distinct runs asked for so far (whether made now or found made)."""
        return len(self._asked)


def interval_of(kpis: pd.DataFrame, kpi: str, *, level: float, method: str = "pooled") -> Interval:
    """The estimate and interval of ``kpi`` over the rows of ``kpis``.

    ``pooled``: the house method (:func:`replicate_intervals`: a share of orders pools the
    replicates' orders into one Wilson interval). ``replicates``: the mean of the replicates'
    values with a Student-t interval (the column is averaged as a plain quantity, clipped to
    [0, 1] for a share), which counts the variation from day to day.
    """
    if method == "replicates":
        values = pd.DataFrame({"replicate_value": pd.to_numeric(kpis[kpi], errors="coerce")})
        row = replicate_intervals(values, [], kpis=["replicate_value"], level=level).iloc[0]
        low, high = float(row["low"]), float(row["high"])
        definition = KPI_BY_NAME.get(kpi)
        if definition is not None and (definition.is_share or definition.nonnegative):
            low = max(low, 0.0)
        if definition is not None and definition.is_share:
            high = min(high, 1.0)
        return Interval(float(row["estimate"]), low, high, len(kpis))
    row = replicate_intervals(kpis, [], kpis=[kpi], level=level).iloc[0]
    return Interval(
        estimate=float(row["estimate"]),
        low=float(row["low"]),
        high=float(row["high"]),
        replicates=len(kpis),
    )
