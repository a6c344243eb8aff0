"""``carreta plan``: search for the cheapest configuration meeting the plan's target.

The decision variables form *arms* — every combination of the grid values and, with hub
siting, of the best-ranked hub sets — and within each arm the monotone search variable is
bisected (:func:`carreta.sim.plan.search.minimal_meeting`) with the sequential rule
(:func:`carreta.sim.plan.search.decide`). Among the arms' answers the objective picks the
recommendation. Runs go through :class:`carreta.sim.plan.runner.RunStore` (the sweep machinery):
resumable, reproducible from the plan's seed whatever the executor.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from carreta.routing.errors import CarretaError
from carreta.sim.output.kpi_definitions import KPI_BY_NAME
from carreta.sim.output.statistics import replicate_intervals
from carreta.sim.plan.load import Plan
from carreta.sim.plan.runner import RunStore, interval_of
from carreta.sim.plan.search import Decision, Interval, decide, minimal_meeting
from carreta.sim.plan.siting import Siting
from carreta.sim.plan.spec import ROBOTS_OBJECTIVE
from carreta.sim.scenario.reading import read_scenario_data
from carreta.sim.sweep.executors import Executor

__all__ = ["Arm", "ArmResult", "BudgetExhaustedError", "PlanResult", "Planner", "describe_decision"]

logger = logging.getLogger(__name__)

COST_KPI = "cost_per_delivery_eur"


@dataclass(frozen=True)
class Arm:
    """One combination of the non-searched decisions: grid values and a hub set."""

    index: int
    decisions: dict[str, Any]
    sites: tuple[str, ...] | None = None
    hubs: tuple[dict[str, Any], ...] | None = None

    def label(self) -> str:
        """``robots_per_operator=2, hubs=site-1+site-3``."""
        parts = [f"{path}={value}" for path, value in self.decisions.items()]
        if self.sites is not None:
            parts.append("hubs=" + "+".join(self.sites))
        return ", ".join(parts) or "base"


@dataclass
class ArmResult:
    """The search within one arm: its decisions and the smallest value meeting the target."""

    arm: Arm
    answer: int | None
    meets: bool
    decisions: list[Decision] = field(default_factory=list)

    @property
    def answer_replicates(self) -> int:
        """Replicates run at the answer (the arm's one configuration without a search)."""
        for decision in self.decisions:
            if self.answer is None or decision.value == self.answer:
                return decision.interval.replicates
        return 0


@dataclass
class PlanResult:
    """What a plan found (see :func:`carreta.sim.plan.outputs.write_outputs`)."""

    plan: Plan
    arms: list[ArmResult]
    recommended: ArmResult | None
    runs_used: int
    grid_runs: int
    siting: Siting | None
    grid_check: pd.DataFrame | None = None
    grid_runs_made: int | None = None
    holdout: Interval | None = None
    holdout_kpis: pd.DataFrame | None = None
    compare: pd.DataFrame | None = None
    compare_runs: pd.DataFrame | None = None
    evaluations: pd.DataFrame = field(default_factory=pd.DataFrame)


class Planner:
    """Runs one plan into ``out_dir`` (see the module docstring)."""

    def __init__(
        self,
        plan: Plan,
        out_dir: Path,
        *,
        executor: Executor,
        command: Sequence[str] | None = None,
        on_message: Callable[[str], None] | None = None,
    ) -> None:
        self.plan = plan
        self.out_dir = Path(out_dir)
        self.executor = executor
        self.command = command
        self._say = on_message or (lambda text: logger.info("%s", text))
        self.siting: Siting | None = None
        self.arms: list[Arm] = []
        self.store: RunStore | None = None

    # -- configurations ----------------------------------------------------------------------
    def values(self) -> list[int | None]:
        """The search variable's values (``[None]`` without one)."""
        search = self.plan.spec.search
        if search is None:
            return [None]
        low, high = search.range
        return list(range(low, high + 1))

    def params(self, arm: Arm, value: int | None) -> dict[str, Any]:
        """The scenario overrides of ``arm`` at search value ``value``."""
        search = self.plan.spec.search
        decisions = dict(arm.decisions)
        if search is not None and value is not None:
            decisions = {search.path: value, **decisions}
        return self.plan.run_params(decisions, hubs=arm.hubs)

    def _make_arms(self) -> list[Arm]:
        spec = self.plan.spec
        paths = list(spec.grid)
        combos = [
            dict(zip(paths, values, strict=True))
            for values in itertools.product(*(spec.grid[path] for path in paths))
        ]
        hub_sets: list[tuple[tuple[str, ...] | None, tuple[dict[str, Any], ...] | None]] = [
            (None, None)
        ]
        if self.siting is not None and spec.hubs is not None:
            template = self.plan.base_scenario.hubs[0].model_dump(mode="json")
            candidates = self.siting.candidates
            hub_sets = []
            for indices in self.siting.ranking["indices"].iloc[: spec.hubs.simulate_best]:
                ids = tuple(candidates.ids[i] for i in indices)
                hubs = tuple(
                    {
                        **template,
                        "id": candidates.ids[i],
                        "lon": round(float(candidates.lons[i]), 7),
                        "lat": round(float(candidates.lats[i]), 7),
                    }
                    for i in indices
                )
                hub_sets.append((ids, hubs))
        return [
            Arm(index, combo, sites, hubs)
            for index, (combo, (sites, hubs)) in enumerate(itertools.product(combos, hub_sets))
        ]

    def _site(self) -> None:
        spec = self.plan.spec.hubs
        if spec is None:
            return
        from carreta.sim.model.world import build_world
        from carreta.sim.plan.siting import demand_sample, generate_candidates, rank_sites

        scenario = self.plan.base_scenario
        world = build_world(scenario, label=str(self.plan.base_file))
        seed = self.plan.spec.seed
        if spec.generate is not None:
            candidates = generate_candidates(
                scenario, world, count=spec.generate.n, sample=spec.generate.sample, seed=seed
            )
        else:
            assert self.plan.candidates is not None
            candidates = self.plan.candidates
        demand = demand_sample(scenario, world, count=spec.demand_sample, seed=seed)
        speed = scenario.fleet.robots[0].speed_kph
        self.siting = rank_sites(candidates, world, demand, k=spec.k, speed_kph=speed)
        best = self.siting.ranking.head(spec.simulate_best)
        for row in best.to_dict("records"):
            self._say(
                f"hub set {row['sites']}: p-median rank {row['rank']}, mean travel time "
                f"{float(row['mean_time_s']) / 60:.1f} min to the doors"
            )

    # -- the search --------------------------------------------------------------------------
    def _interval(self, params: Mapping[str, Any], replicates: int) -> Interval:
        assert self.store is not None
        target = self.plan.spec.target
        kpis = self.store.kpis(params, replicates)
        return interval_of(kpis, target.kpi, level=target.confidence, method=target.interval)

    def _decide(self, arm: Arm, value: int | None) -> Decision:
        spec = self.plan.spec
        target = spec.target
        runs_before = self.store.runs_used if self.store is not None else 0
        if runs_before + spec.replicates.initial > spec.budget.max_runs:
            raise BudgetExhaustedError(spec.budget.max_runs)
        decision = decide(
            value if value is not None else arm.index,
            lambda _value, replicates: self._interval(self.params(arm, value), replicates),
            threshold=target.threshold,
            higher_is_better=target.higher_is_better,
            initial=spec.replicates.initial,
            step=spec.replicates.step,
            most=spec.replicates.max,
        )
        self._say(f"{self._label(arm, value)}: {describe_decision(decision, target.kpi)}")
        return decision

    def _label(self, arm: Arm, value: int | None) -> str:
        search = self.plan.spec.search
        parts = [] if search is None or value is None else [f"{search.path}={value}"]
        label = arm.label()
        return ", ".join([*parts, label] if label != "base" or not parts else parts)

    def _search_arm(self, arm: Arm) -> ArmResult:
        search = self.plan.spec.search
        if search is None:
            decision = self._decide(arm, None)
            return ArmResult(arm, None, decision.meets, [decision])
        low, high = search.range
        answer, decisions = minimal_meeting(low, high, lambda value: self._decide(arm, value))
        return ArmResult(arm, answer, answer is not None, decisions)

    def _objective(self, result: ArmResult) -> tuple[float, ...]:
        objective = self.plan.spec.objective
        assert self.store is not None
        kpis = self.store.kpis(self.params(result.arm, result.answer), result.answer_replicates)
        cost = float(kpis[COST_KPI].mean()) if COST_KPI in kpis else 0.0
        if objective == ROBOTS_OBJECTIVE:
            robots = float(kpis["robots"].mean()) if "robots" in kpis else 0.0
            return (robots, cost, float(result.arm.index))
        level = self.plan.spec.target.confidence
        return (interval_of(kpis, objective, level=level).estimate, float(result.arm.index))

    def run(self) -> PlanResult:
        """Site the hubs (if asked), search every arm, choose the recommendation.

        Raises
        ------
        PlanRunError
            If a run fails.
        BudgetExhaustedError
            If the search would need more than ``budget.max_runs`` runs.
        """
        spec = self.plan.spec
        self._site()
        self.arms = self._make_arms()
        configurations = [self.params(arm, value) for arm in self.arms for value in self.values()]
        self.store = RunStore(
            plan=self.plan,
            folder=self.out_dir / "sweep",
            configurations=configurations,
            replicates=spec.replicates.max,
            executor=self.executor,
            base_file=self.plan.base_file,
            base_data=self.plan.base_data,
            overrides={**spec.overrides, **self.plan.siting_overrides()},
            command=self.command,
        )
        results = [self._search_arm(arm) for arm in self.arms]
        feasible = [result for result in results if result.meets]
        recommended = min(feasible, key=self._objective) if feasible else None
        self.store.finish()
        return PlanResult(
            plan=self.plan,
            arms=results,
            recommended=recommended,
            runs_used=self.store.runs_used,
            grid_runs=len(configurations) * spec.replicates.max,
            siting=self.siting,
            evaluations=self._evaluations(results, recommended),
        )

    def _evaluations(
        self, results: Sequence[ArmResult], recommended: ArmResult | None
    ) -> pd.DataFrame:
        """One row per evaluated configuration: decisions, verdict, every KPI with interval."""
        assert self.store is not None
        spec = self.plan.spec
        level = spec.target.confidence
        rows = []
        for result in results:
            for decision in sorted(result.decisions, key=lambda item: item.value):
                value = decision.value if spec.search is not None else None
                row: dict[str, Any] = {"arm": result.arm.index}
                if result.arm.sites is not None:
                    row["hubs"] = "+".join(result.arm.sites)
                if spec.search is not None:
                    row[spec.search.path] = value
                row.update(result.arm.decisions)
                kpis = self.store.kpis(self.params(result.arm, value), decision.interval.replicates)
                row.update(
                    replicates=decision.interval.replicates,
                    looks=decision.looks,
                    verdict=decision.verdict,
                    meets=decision.meets,
                    answer=result.answer == value if spec.search is not None else result.meets,
                    recommended=result is recommended
                    and (spec.search is None or value == result.answer),
                )
                intervals = replicate_intervals(kpis, [], level=level)
                for item in intervals.to_dict("records"):
                    name = str(item["kpi"])
                    row[name] = item["estimate"]
                    row[f"{name}_low"] = item["low"]
                    row[f"{name}_high"] = item["high"]
                # the target KPI's interval is the one the decision used (target.interval)
                row[f"{spec.target.kpi}_low"] = decision.interval.low
                row[f"{spec.target.kpi}_high"] = decision.interval.high
                rows.append(row)
        return pd.DataFrame(rows)

    # -- checks ------------------------------------------------------------------------------
    def grid_check(self, result: PlanResult) -> None:
        """Run the equivalent full grid (every configuration × ``replicates.max``) in the same
        folder — reusing the search's runs — and find each arm's minimal value there."""
        assert self.store is not None
        spec = self.plan.spec
        target = spec.target
        before = self.store.runs_used
        batches = [
            (self.params(arm, value), spec.replicates.max)
            for arm in self.arms
            for value in self.values()
        ]
        self.store.ensure(batches)
        rows = []
        for arm in self.arms:
            for value in self.values():
                interval = self._interval(self.params(arm, value), spec.replicates.max)
                decision = decide(
                    value if value is not None else arm.index,
                    _constant(interval),
                    threshold=target.threshold,
                    higher_is_better=target.higher_is_better,
                    initial=spec.replicates.max,
                    step=1,
                    most=spec.replicates.max,
                )
                rows.append(
                    {
                        "arm": arm.index,
                        "value": value,
                        "estimate": interval.estimate,
                        "low": interval.low,
                        "high": interval.high,
                        "verdict": decision.verdict,
                        "meets": decision.meets,
                    }
                )
        self.store.finish()
        table = pd.DataFrame(rows)
        answers = {arm.index: grid_minimal(table[table["arm"] == arm.index]) for arm in self.arms}
        table["grid_answer"] = table["arm"].map(answers)
        result.grid_check = table
        result.grid_runs_made = self.store.runs_used - before

    def holdout(self, result: PlanResult, replicates: int) -> None:
        """Run the recommendation on ``replicates`` fresh replicates (seeds the search never
        used) and record the target KPI's interval on them."""
        if result.recommended is None or replicates <= 0:
            return
        spec = self.plan.spec
        params = self.params(result.recommended.arm, result.recommended.answer)
        store = RunStore(
            plan=self.plan,
            folder=self.out_dir / "holdout",
            configurations=[params],
            replicates=replicates,
            executor=self.executor,
            base_file=self.plan.base_file,
            base_data=self.plan.base_data,
            overrides={**spec.overrides, **self.plan.siting_overrides()},
            command=self.command,
            first_replicate=spec.replicates.max,
        )
        kpis = store.kpis(params, replicates)
        store.finish()
        result.holdout_kpis = kpis
        result.holdout = interval_of(
            kpis, spec.target.kpi, level=spec.target.confidence, method=spec.target.interval
        )

    def compare(self, result: PlanResult) -> None:
        """Run ``compare_with`` (vans) on the recommendation's replicate seeds."""
        other = self.plan.spec.compare_with
        if other is None or result.recommended is None:
            return
        data = read_scenario_data(other)
        assert isinstance(data, dict)
        store = RunStore(
            plan=self.plan,
            folder=self.out_dir / "compare",
            configurations=[{}],
            replicates=result.recommended.answer_replicates,
            executor=self.executor,
            base_file=Path(other),
            base_data=data,
            overrides={},
            command=self.command,
        )
        kpis = store.kpis({}, result.recommended.answer_replicates)
        store.finish()
        result.compare_runs = kpis


class BudgetExhaustedError(CarretaError, RuntimeError):
    """The search needs more runs than ``budget.max_runs`` allows."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"the search needs more than budget.max_runs = {limit} runs: raise it, narrow the "
            "ranges or lower replicates"
        )


def _constant(interval: Interval) -> Callable[[int, int], Interval]:
    def evaluate(_value: int, _replicates: int) -> Interval:
        return interval

    return evaluate


def grid_minimal(table: pd.DataFrame) -> int | None:
    """The smallest value from which every larger value meets the target (grid answer)."""
    ordered = table.sort_values("value")
    answer = None
    for value, meets in zip(ordered["value"], ordered["meets"], strict=True):
        if meets and answer is None:
            answer = value
        elif not meets:
            answer = None
    return None if answer is None or pd.isna(answer) else int(answer)


def describe_decision(decision: Decision, kpi: str) -> str:
    """``meets: 96.1 % (CI 95.2–96.9 %), 3 replicates``."""
    interval = decision.interval
    definition = KPI_BY_NAME.get(kpi)
    if definition is not None and definition.is_share:
        text = (
            f"{100 * interval.estimate:.1f} % (CI {100 * interval.low:.1f}–"
            f"{100 * interval.high:.1f} %)"
        )
    else:
        text = f"{interval.estimate:.3g} (CI {interval.low:.3g}–{interval.high:.3g})"
    return f"{decision.verdict.replace('_', ' ')}: {kpi} {text}, {interval.replicates} replicates"
