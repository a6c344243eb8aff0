"""Validation: the simulator against the exact M/D/c queue (issue 15, docs/validation.md).

``scenarios/validation/mdc.yaml`` reduces a day to an M/D/c queue: Poisson orders, one door at a
fixed trip time D from the hub, c robots serving one parcel a trip first come first served, no
battery limit. The exact mean wait comes from the embedded Markov chain of Crommelin (1932): the
number of orders in the system D seconds later is ``max(Q - c, 0) + A`` with ``A`` Poisson of mean
λD, whose stationary law is also the law at any time (PASTA); then ``Lq = E[max(Q - c, 0)]`` and
``Wq = Lq / λ`` (Little). Each replicate's mean wait (orders created after a warm-up and before the
last hour) and utilisation are compared with the exact values through a Student-t 95 % interval.

Usage: ``python benchmarks/validate_queueing.py [--replicates R] [--scenario FILE]``
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
from pathlib import Path

import numpy as np
from scipy import stats

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "validation" / "mdc.yaml"


def mdc_mean_wait_s(*, arrival_rate_per_s: float, service_s: float, servers: int) -> float:
    """Exact mean wait in queue of an M/D/c queue, in seconds.

    Parameters
    ----------
    arrival_rate_per_s
        Poisson arrival rate λ, per second.
    service_s
        The fixed service time D, in seconds.
    servers
        Number of servers c.

    Raises
    ------
    ValueError
        If the queue is not stable (λD ≥ c).
    """
    offered = arrival_rate_per_s * service_s
    if offered >= servers:
        raise ValueError(f"unstable queue: load {offered:.3f} >= {servers} servers")
    size = int(servers + offered + 60 * math.sqrt(offered + 1) + 200 / (1 - offered / servers))
    arrivals = stats.poisson.pmf(np.arange(size), offered)
    transition = np.zeros((size, size))
    for state in range(size):
        base = max(state - servers, 0)
        transition[state, base:] = arrivals[: size - base]
        transition[state, -1] += 1.0 - transition[state].sum()  # truncation: mass to the last state
    # stationary law: solve p (P - I) = 0 with sum p = 1 (one balance equation, redundant,
    # replaced by the normalisation: a square system, solved by LU)
    system = transition.T - np.eye(size)
    system[-1] = 1.0
    rhs = np.zeros(size)
    rhs[-1] = 1.0
    law = np.linalg.solve(system, rhs)
    queue_mean = float(np.sum(np.maximum(np.arange(size) - servers, 0) * law))
    return queue_mean / arrival_rate_per_s


def replicate_measures(result, *, warmup_s: float = 3600.0, tail_s: float = 3600.0) -> dict:
    """Mean wait (created → assigned to a robot), utilisation and trip time D of one run."""
    from carreta.sim.output.kpis import result_kpis
    from carreta.sim.output.tables import orders_table

    orders = orders_table(result)
    window = orders[
        (orders["created_s"] >= result.start_s + warmup_s)
        & (orders["created_s"] < result.end_s - tail_s)
    ]
    waits = (window["assigned_s"] - window["created_s"]).to_numpy(float)
    return {"wait_s": float(np.mean(waits)), "utilisation": result_kpis(result)["utilisation"]}


def trip_time_s(result) -> float:
    """D of a run: hub → door → hub at the robots' speed plus the service time at the door."""
    from carreta.sim.output.tables import orders_table

    scenario = result.scenario
    group = scenario.fleet.robots[0]
    router = result.world.router(group.speed_kph)
    hub = result.world.hub_nodes[scenario.hubs[0].id]
    door = int(orders_table(result)["node"].iloc[0])
    there, back = router.route(hub, door), router.route(door, hub)
    return there.duration_s + back.duration_s + group.service_time_s


def interval(values: list[float]) -> tuple[float, float, float]:
    """Mean and Student-t 95 % interval of replicate values."""
    mean = statistics.fmean(values)
    half = stats.t.ppf(0.975, len(values) - 1) * statistics.stdev(values) / math.sqrt(len(values))
    return mean, mean - half, mean + half


def validate(scenario, world, *, replicates: int, first_seed: int = 1) -> dict:
    """Run ``replicates`` seeds of an M/D/c scenario and the exact values to compare them with."""
    from carreta import simulate

    servers = scenario.fleet.robots[0].count
    profile = scenario.demand.hourly_profile
    rate_per_s = scenario.demand.orders_per_day * max(profile) / sum(profile) / 3600.0
    results = [
        simulate(scenario, world=world, seed=first_seed + index) for index in range(replicates)
    ]
    service_s = trip_time_s(results[0])
    runs = [replicate_measures(result) for result in results]
    return {
        "servers": servers,
        "rate_per_h": rate_per_s * 3600,
        "trip_s": service_s,
        "exact_wait_s": mdc_mean_wait_s(
            arrival_rate_per_s=rate_per_s, service_s=service_s, servers=servers
        ),
        "exact_utilisation": rate_per_s * service_s / servers,
        "wait_s": interval([run["wait_s"] for run in runs]),
        "utilisation": interval([run["utilisation"] for run in runs]),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", type=Path, default=SCENARIO)
    parser.add_argument("--replicates", type=int, default=40)
    args = parser.parse_args()
    from carreta import load_scenario
    from carreta.sim.model.world import build_world

    scenario = load_scenario(args.scenario)
    report = validate(scenario, build_world(scenario), replicates=args.replicates)
    print(
        f"M/D/c: c={report['servers']}, λ={report['rate_per_h']:.2f}/h, D={report['trip_s']:.1f} s,"
        f" {args.replicates} replicates"
    )
    ok = True
    for key, exact in (
        ("wait_s", report["exact_wait_s"]),
        ("utilisation", report["exact_utilisation"]),
    ):
        mean, low, high = report[key]
        inside = low <= exact <= high
        ok &= inside
        print(
            f"  {key:12s} exact {exact:9.4f}  simulated {mean:9.4f}  95 % [{low:.4f}, {high:.4f}]"
            f"  {'inside' if inside else 'OUTSIDE'}"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
