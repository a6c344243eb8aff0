"""A plan's folder: plan.json, plan.parquet, the recommended scenario, summary.md, figures.

Layout::

    DIR/plan.resolved.yaml    the plan as run (a folder accepts only this plan: reruns resume)
    DIR/plan.json             target, recommendation, every arm's search, run counts, checks
    DIR/plan.parquet          one row per evaluated configuration: decisions, replicates,
                              verdict, every KPI with its interval (KPI, KPI_low, KPI_high)
    DIR/recommended.yaml      the recommended configuration as a complete scenario file
    DIR/summary.md            the memo paragraph (also printed by ``carreta plan``)
    DIR/*.png                 on-time share and cost per delivery vs the search variable; hubs
    DIR/sweep/                the runs (a sweep folder: runs.parquet, runs/<run_id>/...)
    DIR/holdout/, compare/    held-out replicates of the recommendation; the comparison
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from carreta.routing.files import write_file_atomic, write_text_atomic
from carreta.sim.errors import ResultsExistError
from carreta.sim.output.kpi_definitions import KPI_BY_NAME
from carreta.sim.output.statistics import replicate_intervals
from carreta.sim.plan.load import Plan
from carreta.sim.plan.planner import PlanResult, describe_decision
from carreta.sim.plan.spec import ROBOTS_OBJECTIVE
from carreta.sim.scenario.models import scenario_to_yaml
from carreta.sim.sweep.spec import canonical_json

__all__ = ["RESOLVED_FILE", "prepare_plan_dir", "summary_text", "write_outputs"]

RESOLVED_FILE = "plan.resolved.yaml"


def _resolved(plan: Plan) -> dict[str, Any]:
    data = plan.spec.model_dump(mode="json")
    data["name"] = plan.name
    data["base_scenario"] = plan.base_scenario.model_dump(mode="json")
    normalised: dict[str, Any] = json.loads(json.dumps(data))
    return normalised


def prepare_plan_dir(plan: Plan, out_dir: Path) -> bool:
    """Create the plan folder, or check that it holds this very plan (which then resumes).

    Returns
    -------
    bool
        True if the folder already held this plan.

    Raises
    ------
    ResultsExistError
        If ``out_dir`` holds another plan, or is a non-empty folder that is not a plan folder.
    """
    resolved = _resolved(plan)
    stored = out_dir / RESOLVED_FILE
    if stored.is_file():
        previous = yaml.safe_load(stored.read_text("utf-8"))
        if canonical_json(previous) != canonical_json(resolved):
            raise ResultsExistError(
                f"{out_dir} holds the results of another plan ({RESOLVED_FILE} differs): "
                "choose another --out; results are never overwritten"
            )
        return True
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise ResultsExistError(
            f"{out_dir} exists and is not a plan folder (no {RESOLVED_FILE}): choose another "
            "--out; results are never overwritten"
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    header = "# Resolved plan: the plan file with absolute paths and the whole base scenario.\n"
    write_text_atomic(stored, header + yaml.safe_dump(resolved, sort_keys=False))
    return False


def _number(value: Any) -> Any:
    if isinstance(value, float | np.floating):
        return None if not math.isfinite(float(value)) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def _interval_text(kpi: str, estimate: float, low: float, high: float, level: float) -> str:
    definition = KPI_BY_NAME.get(kpi)
    if definition is not None and definition.is_share:
        return (
            f"{100 * estimate:.1f} % ({100 * level:.0f} % CI {100 * low:.1f}–{100 * high:.1f} %)"
            if math.isfinite(low)
            else f"{100 * estimate:.1f} %"
        )
    if math.isfinite(low):
        return f"{estimate:.3g} ({100 * level:.0f} % CI {low:.3g}–{high:.3g})"
    return f"{estimate:.3g}"


def summary_text(result: PlanResult) -> str:
    """The memo: the recommendation in one paragraph, then how it was found (Markdown)."""
    plan = result.plan
    spec = plan.spec
    target = spec.target
    level = target.confidence
    lines = [f"# Plan {plan.name}", "", f"Target: {target.describe()}.", ""]
    recommended = result.recommended
    if recommended is None:
        search = spec.search
        where = f" for {search.path} in {search.range[0]}..{search.range[1]}" if search else ""
        lines.append(f"**No configuration meets the target{where}**: widen the range.")
    else:
        table = result.evaluations
        row = table[table["recommended"]].iloc[0]
        parts = []
        robots = row.get("robots")
        if robots is not None:
            parts.append(f"{robots:.0f} robots")
        for path, value in recommended.arm.decisions.items():
            parts.append(f"{path} = {value}")
        if recommended.arm.sites is not None:
            parts.append("hubs at " + ", ".join(recommended.arm.sites))
        operators = row.get("operators")
        if operators is not None and operators > 0 and robots:
            ratio = robots / operators
            per = "one per robot" if abs(ratio - 1) < 1e-9 else f"1 per {ratio:.2g} robots"
            parts.append(f"{operators:.0f} operators or escorts ({per})")
        kpi_text = _interval_text(
            target.kpi, row[target.kpi], row[f"{target.kpi}_low"], row[f"{target.kpi}_high"], level
        )
        cost = row.get("cost_per_delivery_eur")
        co2 = row.get("co2_g_per_delivery")
        memo = (
            f"**{', '.join(parts)}**: {target.kpi.replace('_', ' ')} {kpi_text}, "
            f"cost {cost:.2f} €/delivery, CO₂ {co2:.1f} g/delivery "
            f"({int(row['replicates'])} replicates)"
        )
        if str(row["verdict"]).startswith("undecided"):
            memo += (
                f" — decided on its estimate: at {spec.replicates.max} replicates the "
                "interval still straddles the target (more replicates would settle it)"
            )
        if result.compare_runs is not None and len(result.compare_runs):
            other = replicate_intervals(
                result.compare_runs,
                [],
                kpis=["cost_per_delivery_eur", "co2_g_per_delivery", target.kpi],
                level=level,
            ).set_index("kpi")["estimate"]
            memo += (
                f"; compared with {spec.compare_with.name if spec.compare_with else 'vans'} on "
                f"the same days: {other['cost_per_delivery_eur']:.2f} €/delivery, "
                f"{other['co2_g_per_delivery']:.1f} g CO₂/delivery, {target.kpi.replace('_', ' ')} "
                f"{_interval_text(target.kpi, other[target.kpi], math.nan, math.nan, level)}."
            )
        else:
            memo += "; not compared with vans (the plan has no compare_with scenario)."
        lines.append(memo)
    lines += ["", "## How it was found", ""]
    lines.append(
        f"{result.runs_used} simulation runs, against {result.grid_runs} for the equivalent "
        f"full grid ({result.grid_runs / max(result.runs_used, 1):.1f} times as many); replicates "
        f"{spec.replicates.initial} + {spec.replicates.step} per look up to "
        f"{spec.replicates.max}, the same seeds at every configuration."
    )
    for arm_result in result.arms:
        label = arm_result.arm.label()
        answer = "none meets the target" if not arm_result.meets else arm_result.answer
        if spec.search is not None:
            lines.append(f"- {label}: smallest {spec.search.path} meeting it: {answer}")
        for decision in sorted(arm_result.decisions, key=lambda item: item.value):
            shown = f"{spec.search.path}={decision.value}" if spec.search else label
            line = f"  - {shown}: {describe_decision(decision, target.kpi)}"
            if spec.objective not in (ROBOTS_OBJECTIVE, target.kpi):
                rows = result.evaluations[result.evaluations["arm"] == arm_result.arm.index]
                if spec.search is not None:
                    rows = rows[rows[spec.search.path] == decision.value]
                if len(rows) and spec.objective in rows:
                    line += f"; {spec.objective} {float(rows[spec.objective].iloc[0]):.4g}"
            lines.append(line)
    if result.grid_check is not None:
        answers = result.grid_check.groupby("arm")["grid_answer"].first()
        same = all(
            (answers[arm.arm.index] if not _missing(answers[arm.arm.index]) else None) == arm.answer
            for arm in result.arms
        )
        lines += [
            "",
            f"Exhaustive grid check: {len(result.grid_check)} configurations × "
            f"{spec.replicates.max} replicates ({result.grid_runs} runs, "
            f"{result.grid_runs_made} more than the search); minimal values "
            + ", ".join(f"{_grid_value(value)}" for value in answers)
            + (" — the same as the search." if same else " — DIFFERENT from the search."),
        ]
    if result.holdout is not None:
        holdout = result.holdout
        ok = (
            holdout.low >= target.threshold
            if target.higher_is_better
            else holdout.high <= target.threshold
        )
        lines += [
            "",
            f"Held-out check on {holdout.replicates} fresh replicates (seeds the search never "
            f"used): {target.kpi} "
            f"{_interval_text(target.kpi, holdout.estimate, holdout.low, holdout.high, level)}"
            + (" — meets the target." if ok else " — does NOT clearly meet the target."),
        ]
    if result.siting is not None:
        lines += ["", "## Hub sets (p-median on the router's travel times)", ""]
        for item in result.siting.ranking.head(10).to_dict("records"):
            minutes = float(item["mean_time_s"]) / 60
            lines.append(f"{item['rank']}. {item['sites']}: {minutes:.2f} min mean travel time")
    lines += ["", f"Street network credit: {plan.base_scenario.network.credit()}", ""]
    return "\n".join(lines)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _grid_value(value: Any) -> str:
    return "none" if _missing(value) else str(int(value))


def _plan_json(result: PlanResult) -> dict[str, Any]:
    plan = result.plan
    spec = plan.spec
    recommended = result.recommended
    document: dict[str, Any] = {
        "plan": plan.name,
        "plan_file": str(Path(plan.source).resolve()),
        "base_scenario": str(plan.base_file),
        "target": spec.target.model_dump(mode="json"),
        "objective": spec.objective,
        "seed": spec.seed,
        "sequential_rule": spec.replicates.model_dump(mode="json"),
        "runs_used": result.runs_used,
        "grid_runs": result.grid_runs,
        "recommended": None,
        "arms": [],
    }
    if recommended is not None:
        row = result.evaluations[result.evaluations["recommended"]].iloc[0]
        document["recommended"] = {
            "arm": recommended.arm.index,
            "search_value": recommended.answer,
            "decisions": recommended.arm.decisions,
            "hubs": list(recommended.arm.sites) if recommended.arm.sites else None,
            "replicates": int(row["replicates"]),
            "kpis": {
                name: {
                    "estimate": _number(row[name]),
                    "low": _number(row[f"{name}_low"]),
                    "high": _number(row[f"{name}_high"]),
                }
                for name in KPI_BY_NAME
                if name in row.index
            },
        }
    for arm_result in result.arms:
        document["arms"].append(
            {
                "arm": arm_result.arm.index,
                "label": arm_result.arm.label(),
                "decisions": arm_result.arm.decisions,
                "hubs": list(arm_result.arm.sites) if arm_result.arm.sites else None,
                "answer": arm_result.answer,
                "meets": arm_result.meets,
                "evaluations": [
                    {
                        "value": decision.value,
                        "verdict": decision.verdict,
                        "replicates": decision.interval.replicates,
                        "looks": decision.looks,
                        "estimate": _number(decision.interval.estimate),
                        "low": _number(decision.interval.low),
                        "high": _number(decision.interval.high),
                    }
                    for decision in arm_result.decisions
                ],
            }
        )
    if result.grid_check is not None:
        document["grid_check"] = {
            "runs": result.grid_runs,
            "runs_beyond_search": result.grid_runs_made,
            "answers": {
                str(arm): (None if _missing(value) else int(value))
                for arm, value in result.grid_check.groupby("arm")["grid_answer"].first().items()
            },
            "configurations": [
                {key: _number(value) for key, value in row.items()}
                for row in result.grid_check.to_dict("records")
            ],
        }
    if result.holdout is not None:
        document["holdout"] = {
            "replicates": result.holdout.replicates,
            "estimate": _number(result.holdout.estimate),
            "low": _number(result.holdout.low),
            "high": _number(result.holdout.high),
        }
    if result.siting is not None:
        ranking = result.siting.ranking.drop(columns=["indices"])
        document["siting"] = [
            {key: _number(value) for key, value in row.items()}
            for row in ranking.to_dict("records")
        ]
    document["attribution"] = plan.base_scenario.network.credit()
    return document


def write_outputs(result: PlanResult, out_dir: Path) -> list[Path]:
    """Write plan.json, plan.parquet, recommended.yaml, summary.md and the figures.

    Returns the files written.
    """
    from carreta.sim.plan.figures import plot_cost, plot_hubs, plot_target

    written = []
    text = json.dumps(_plan_json(result), indent=2, ensure_ascii=False, default=_number) + "\n"
    written.append(write_text_atomic(out_dir / "plan.json", text))
    table = result.evaluations
    written.append(
        write_file_atomic(
            out_dir / "plan.parquet", lambda temporary: table.to_parquet(temporary, index=False)
        )
    )
    if result.recommended is not None:
        planner_params = result.recommended
        scenario = result.plan.scenario_for(
            result.plan.run_params(
                {
                    **(
                        {result.plan.spec.search.path: planner_params.answer}
                        if result.plan.spec.search is not None
                        else {}
                    ),
                    **planner_params.arm.decisions,
                },
                hubs=planner_params.arm.hubs,
            )
        )
        header = (
            f"# Recommended by the plan {result.plan.name} ({result.plan.source}): "
            f"{result.plan.spec.target.describe()}.\n"
        )
        written.append(
            write_text_atomic(out_dir / "recommended.yaml", header + scenario_to_yaml(scenario))
        )
    written.append(write_text_atomic(out_dir / "summary.md", summary_text(result)))
    written += plot_target(result, out_dir)
    written += plot_cost(result, out_dir)
    written += plot_hubs(result, out_dir)
    return written
