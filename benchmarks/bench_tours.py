"""Benchmark: tour planners on dispatch waves of the default scenario, against PyVRP.

Goal (issue "Tour plans at the state of the art"): the default planner within 5 % of PyVRP given
5 s, and the best configuration within 2 %, at every wave size (medians over 3 seeds).

A wave is built from ``scenarios/montpellier_centre.yaml``: its demand generator (with more
orders per day, so a wave of 400 is one hour's orders), its street network and Router, its hub
and robots. At 11:00, the wave's orders are drawn among those created since 10:00 (due 120 min
after creation, so 60 to 120 min from now); the robots, ``ceil(n / 12) + 2`` of them, have 24
parcel slots, 300 kg and a battery between 35 % and 100 % charged (its driving budget as in the
``tours`` policy). Every plan is scored by :func:`carreta.sim.model.tours.score_plan`, the
simulation's own objective: driving seconds + 10 × seconds late, loading and service included.

Usage: ``python benchmarks/bench_tours.py [--quick] [--sizes 25 50 ...] [--seeds 1 2 3]
[--budgets-ms 50 200 1000] [--no-pyvrp]``. PyVRP columns need ``pip install -e .[vrp]``.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from carreta.sim.model.demand import generate_orders  # noqa: E402
from carreta.sim.model.engine import random_stream  # noqa: E402
from carreta.sim.model.tour_pyvrp import pyvrp_available  # noqa: E402
from carreta.sim.model.tours import (  # noqa: E402
    PlanScore,
    TourProblem,
    Vehicle,
    plan_tours,
    score_plan,
)
from carreta.sim.model.world import build_world  # noqa: E402
from carreta.sim.scenario.models import Scenario, load_scenario  # noqa: E402

NOW_S = 11 * 3600.0
SINCE_S = 10 * 3600.0


@dataclass(frozen=True)
class Wave:
    """One planning problem and its robots."""

    problem: TourProblem
    vehicles: list[Vehicle]


def build_waves(
    scenario: Scenario, sizes: list[int], seeds: list[int]
) -> dict[tuple[int, int], Wave]:
    """(size, seed) -> wave (see the module docstring)."""
    world = build_world(scenario)
    robots = scenario.fleet.robots[0]
    router = world.router(robots.speed_kph)
    hub = scenario.hubs[0]
    hub_node = world.hub_nodes[hub.id]
    battery_wh, reserve_wh = robots.battery_wh, robots.battery_wh * robots.reserve_fraction
    wh_per_s = robots.consumption_wh_per_km * robots.speed_kph / 3600.0
    waves = {}
    for seed in seeds:
        orders = generate_orders(
            scenario, world.snapper, world.node_lonlat, rng=random_stream(seed, "demand")
        )
        pool = [o for o in orders if SINCE_S <= o.created_s < NOW_S and not o.reason]
        for size in sizes:
            rng = np.random.default_rng([seed, size])  # a wave depends on its size and seed only
            chosen = [pool[k] for k in sorted(rng.choice(len(pool), size, replace=False))]
            nodes = [hub_node, *(order.node for order in chosen)]
            problem = TourProblem(
                travel_s=router.matrix(nodes, nodes),
                due_s=np.array([order.due_s for order in chosen]),
                weight_kg=np.array([order.weight_kg for order in chosen]),
                now_s=NOW_S,
                load_time_per_parcel_s=hub.loading_time_per_parcel_s,
                service_time_s=robots.service_time_s,
            )
            charge = rng.uniform(0.35, 1.0, math.ceil(size / 12) + 2)
            vehicles = [
                Vehicle(
                    robots.parcel_slots, robots.payload_kg, (c * battery_wh - reserve_wh) / wh_per_s
                )
                for c in charge
            ]
            waves[size, seed] = Wave(problem, vehicles)
    return waves


def solve(wave: Wave, planner: str, budget_ms: float, seed: int) -> tuple[PlanScore, float]:
    """(score, wall seconds) of one planner on one wave."""
    started = time.perf_counter()
    tours = plan_tours(
        wave.problem, wave.vehicles, planner=planner, time_budget_ms=budget_ms,  # type: ignore[arg-type]
        iterations=200, seed=seed,
    )  # fmt: skip
    elapsed = time.perf_counter() - started
    score = score_plan(wave.problem, wave.vehicles, tours)
    if not score.feasible:
        raise AssertionError(f"{planner} returned an infeasible plan")
    return score, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="sizes 25 and 100, one seed")
    parser.add_argument("--sizes", type=int, nargs="+", default=[25, 50, 100, 200, 400])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--budgets-ms", type=float, nargs="+", default=[50.0, 200.0, 1000.0])
    parser.add_argument("--pyvrp-s", type=float, nargs="+", default=[1.0, 5.0])
    parser.add_argument("--no-pyvrp", action="store_true")
    parser.add_argument("--scenario", default=str(ROOT / "scenarios" / "montpellier_centre.yaml"))
    args = parser.parse_args()
    if args.quick:
        args.sizes, args.seeds, args.pyvrp_s = [25, 100], [1], [1.0]
    configurations = [("insertion", 0.0)] + [("builtin", b) for b in args.budgets_ms]
    if pyvrp_available() and not args.no_pyvrp:
        configurations += [("pyvrp", 1000.0 * s) for s in args.pyvrp_s]
    reference = configurations[-1] if configurations[-1][0] == "pyvrp" else None
    scenario = load_scenario(args.scenario, overrides={"demand.orders_per_day": 6000})
    started = time.perf_counter()
    waves = build_waves(scenario, args.sizes, args.seeds)
    print(f"waves built in {time.perf_counter() - started:.1f} s (network, orders, matrices)")
    first = waves[args.sizes[0], args.seeds[0]]
    plan_tours(first.problem, first.vehicles, time_budget_ms=1.0)  # numba compiles here
    print(
        f"{'orders':>6} {'planner':<16} {'cost':>9} {'robots':>6} {'drive h':>8} "
        f"{'late min':>9} {'ms/wave':>9} {'gap':>8}"
    )
    for size in args.sizes:
        results: dict[tuple[str, float], list[tuple[PlanScore, float]]] = {}
        for seed in args.seeds:
            for planner, budget in configurations:
                run = solve(waves[size, seed], planner, budget, seed)
                results.setdefault((planner, budget), []).append(run)
        for key, runs in results.items():
            print_row(size, key, runs, None if reference is None else results[reference])


def print_row(
    size: int,
    configuration: tuple[str, float],
    runs: list[tuple[PlanScore, float]],
    reference: list[tuple[PlanScore, float]] | None,
) -> None:
    """Medians over the seeds of one configuration; gap: median of the per-seed gaps."""
    planner, budget_ms = configuration
    name = planner if planner == "insertion" else f"{planner} {budget_ms / 1000:g} s"
    gap = ""
    if reference is not None:
        gaps = [s.cost / r.cost - 1.0 for (s, _), (r, _) in zip(runs, reference, strict=True)]
        gap = f"{100 * statistics.median(gaps):+.1f} %"
    left = max(score.missing for score, _ in runs)
    print(
        f"{size:>6} {name:<16} {statistics.median(s.cost for s, _ in runs):>9,.0f} "
        f"{statistics.median(s.tours for s, _ in runs):>6.0f} "
        f"{statistics.median(s.drive_s for s, _ in runs) / 3600:>8.2f} "
        f"{statistics.median(s.late_s for s, _ in runs) / 60:>9.1f} "
        f"{1000 * statistics.median(t for _, t in runs):>9.0f} {gap:>8}"
        + (f"  ({left} orders left for the next wave)" if left else "")
    )


if __name__ == "__main__":
    main()
