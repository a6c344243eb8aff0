"""Benchmark: how a simulated day scales, from 20 robots × 1,000 orders to 10,000 × 1,000,000.

Issue 17 ("A metropolitan day on a laptop"). Each size is one simulated day of
``scenarios/montpellier_centre.yaml`` (the city's street network, TwinswHeel droids with walking
escorts, the default dispatch policy ``tours`` and planner) grown over the city (:func:`scale_day`):

- the doors are drawn uniformly in a disc around the city centre whose area grows with the
  orders (radius 3.5 km at 1,000,000 orders, at least 500 m), so the density of work per km²
  stays the same from 10,000 orders up;
- the robots work from ``ceil(robots / 200)`` hubs spread evenly over that disc (a sunflower
  pattern), 200 robots at most per hub, spread over the hubs in turn, each robot with its own
  charger (the scenario's ratio) and its own escort;
- 100 orders per robot and day above the 20-robot day (which keeps the scenario's 50).

Each size runs in a fresh subprocess, so its peak resident memory (``ru_maxrss``) is its own;
the network is loaded and the router built before the clock starts. The day's wall time and CPU
time (the process's, all threads) cover order generation, set-up and ``env.run``; the
log-log slope is fitted by least squares on the sizes from 10,000 orders up.

Usage: ``python benchmarks/bench_scale.py [--sizes 20x1000,100x10000] [--quick]
[--robots-per-hub N] [--chargers-per-robot F]``; ``--quick`` runs the three smallest sizes.
``--resources`` instead times the chargers alone (:func:`charger_day`): SimPy's
``PreemptiveResource`` against :class:`carreta.sim.model.resources.FastPreemptiveResource` with
1,000 to 10,000 robots at one hub and a charger per 4 robots, checking both give the same day.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import simpy

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from carreta.sim.model.engine import simulate  # noqa: E402
from carreta.sim.model.records import OrderState  # noqa: E402
from carreta.sim.model.resources import FastPreemptiveResource  # noqa: E402
from carreta.sim.model.world import build_world  # noqa: E402
from carreta.sim.output.kpis import result_kpis  # noqa: E402
from carreta.sim.scenario.models import Scenario, validate_scenario  # noqa: E402
from carreta.sim.scenario.reading import read_scenario_data  # noqa: E402

SIZES = ((20, 1_000), (100, 10_000), (1_000, 100_000), (3_000, 300_000), (10_000, 1_000_000))
BASE = ROOT / "scenarios" / "montpellier_centre.yaml"
CENTRE_LONLAT = (3.8690, 43.6100)  # near the median of the city network's nodes
RADIUS_AT_1M_M = 3500.0
MIN_RADIUS_M = 500.0
METRES_PER_DEGREE = 111_320.0


def demand_radius_m(orders: int) -> float:
    """Radius of the disc of doors: its area grows with the orders (constant density)."""
    return max(RADIUS_AT_1M_M * math.sqrt(orders / 1_000_000), MIN_RADIUS_M)


def hub_sites(count: int, radius_m: float) -> list[tuple[float, float]]:
    """``count`` (lon, lat) spread evenly over the demand disc (Vogel's sunflower pattern)."""
    if count == 1:
        return [CENTRE_LONLAT]
    lon0, lat0 = CENTRE_LONLAT
    per_lon = METRES_PER_DEGREE * math.cos(math.radians(lat0))
    golden = math.pi * (3.0 - math.sqrt(5.0))
    sites = []
    for k in range(count):
        r = radius_m * math.sqrt((k + 0.5) / count)
        sites.append(
            (
                round(lon0 + r * math.cos(k * golden) / per_lon, 6),
                round(lat0 + r * math.sin(k * golden) / METRES_PER_DEGREE, 6),
            )
        )
    return sites


def scale_day(
    robots: int,
    orders: int,
    *,
    robots_per_hub: int = 200,
    chargers_per_robot: float = 1.0,
    base: Path = BASE,
) -> Scenario:
    """The scenario of one size: ``base`` grown over the city (see the module docstring)."""
    data: dict[str, Any] = read_scenario_data(base)  # type: ignore[assignment]
    radius_m = demand_radius_m(orders)
    hub = data["hubs"][0]
    count = -(-robots // robots_per_hub)
    per_hub = -(-robots // count)
    data["hubs"] = [
        {
            **hub,
            "id": f"hub-{k + 1:03d}",
            "lon": lon,
            "lat": lat,
            "chargers": max(math.ceil(per_hub * chargers_per_robot), 1),
        }
        for k, (lon, lat) in enumerate(hub_sites(count, radius_m))
    ]
    group = data["fleet"]["robots"][0]
    group["count"] = robots
    group.pop("hub", None)  # spread over the hubs in turn
    data["demand"]["orders_per_day"] = orders
    destinations = data["demand"]["destinations"]
    data["demand"]["destinations"] = {
        "kind": "circle",
        "center_lon": CENTRE_LONLAT[0],
        "center_lat": CENTRE_LONLAT[1],
        "radius_m": radius_m,
        "max_snap_distance_m": destinations.get("max_snap_distance_m", 80),
    }
    data["outputs"] = {**data.get("outputs", {}), "events": False, "trips_geojson": False}
    return validate_scenario(data, source=str(base), base_dir=str(base.parent))


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB (Linux reports kB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_one(robots: int, orders: int, *, robots_per_hub: int, chargers_per_robot: float) -> dict:
    """One day in this process; its figures as a dict."""
    scenario = scale_day(
        robots, orders, robots_per_hub=robots_per_hub, chargers_per_robot=chargers_per_robot
    )
    world = build_world(scenario)
    world.router(scenario.fleet.robots[0].speed_kph)  # router build: not counted
    cpu, wall = time.process_time(), time.perf_counter()
    result = simulate(scenario, world=world)
    wall = time.perf_counter() - wall
    cpu = time.process_time() - cpu
    memory = peak_rss_mb()
    created = len(result.orders)
    delivered = sum(order.state is OrderState.DELIVERED for order in result.orders)
    kpis = result_kpis(result)
    return {
        "robots": robots,
        "orders": orders,
        "hubs": len(scenario.hubs),
        "radius_m": demand_radius_m(orders),
        "wall_s": wall,
        "cpu_s": cpu,
        "simulate_s": result.timings["simulate_s"],
        "peak_rss_mb": memory,
        "events": result.sim_events,
        "created": created,
        "delivered": delivered,
        "delivered_share": delivered / created if created else float("nan"),
        "on_time_share": float(kpis["on_time_share"]),
        "rejected": int(kpis["orders_rejected"]),
    }


def charger_day(kind: type, robots: int, *, seed: int = 1) -> tuple[float, tuple[int, ...]]:
    """CPU seconds of a 13-hour day of ``robots`` at one hub with ``robots // 4`` chargers of
    resource class ``kind``, and what happened (charges, top-ups, top-ups preempted).

    Each robot drives 30-120 min, then charges for an hour (30 %: priority 0, preempting) or tops
    up for 10-60 min (priority 1, without preempting; it ends early when preempted).
    """
    env = simpy.Environment()
    chargers = kind(env, capacity=max(robots // 4, 1))
    rng = np.random.default_rng(seed)
    counts = [0, 0, 0]

    def robot() -> Any:
        while env.now < 13 * 3600:
            yield env.timeout(float(rng.integers(1800, 7200)))
            if rng.random() < 0.3:
                with chargers.request(priority=0, preempt=True) as request:
                    yield request
                    yield env.timeout(3600.0)
                    counts[0] += 1
            else:
                with chargers.request(priority=1, preempt=False) as request:
                    try:
                        yield request
                        yield env.timeout(float(rng.integers(600, 3600)))
                        counts[1] += 1
                    except simpy.Interrupt:
                        counts[2] += 1

    for _ in range(robots):
        env.process(robot())
    cpu = time.process_time()
    env.run()
    return time.process_time() - cpu, tuple(counts)


def compare_resources() -> None:
    """Print :func:`charger_day` with SimPy's resource and the heap-based one, side by side."""
    print(f"{'robots':>7} {'chargers':>8} {'SimPy CPU s':>11} {'heap CPU s':>10}  same day")
    for robots in (1_000, 3_000, 10_000):
        simpy_s, simpy_day = charger_day(simpy.PreemptiveResource, robots)
        heap_s, heap_day = charger_day(FastPreemptiveResource, robots)
        print(
            f"{robots:>7,} {robots // 4:>8,} {simpy_s:>11.2f} {heap_s:>10.2f}  "
            f"{simpy_day == heap_day} ({heap_day[2]:,} preemptions)"
        )


def slope(rows: list[dict], column: str) -> float:
    """Least-squares slope of log(column) against log(orders), sizes from 10,000 orders up."""
    used = [row for row in rows if row["orders"] >= 10_000]
    if len(used) < 2:
        return float("nan")
    x = np.log([row["orders"] for row in used])
    y = np.log([row[column] for row in used])
    return float(np.polyfit(x, y, 1)[0])


def parse_sizes(text: str) -> list[tuple[int, int]]:
    """``"20x1000,100x10000"`` → [(20, 1000), (100, 10000)]."""
    sizes = []
    for part in text.split(","):
        robots, orders = part.lower().split("x")
        sizes.append((int(robots), int(orders)))
    return sizes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=None, help="robots x orders, comma separated")
    parser.add_argument("--quick", action="store_true", help="the three smallest sizes")
    parser.add_argument("--robots-per-hub", type=int, default=200)
    parser.add_argument("--chargers-per-robot", type=float, default=1.0)
    parser.add_argument("--resources", action="store_true", help="time the chargers alone")
    parser.add_argument("--one", default=None, help=argparse.SUPPRESS)  # child: one size
    args = parser.parse_args()
    if args.resources:
        compare_resources()
        return
    options = {"robots_per_hub": args.robots_per_hub, "chargers_per_robot": args.chargers_per_robot}
    if args.one:
        ((robots, orders),) = parse_sizes(args.one)
        print(json.dumps(run_one(robots, orders, **options)))
        return
    sizes = parse_sizes(args.sizes) if args.sizes else list(SIZES[:3] if args.quick else SIZES)
    from carreta.sim.model.policies.tours import planning_threads

    print(
        f"load average {os.getloadavg()[0]:.1f} at start; each size in its own process "
        "(network loaded and router built before the clock starts); planning threads "
        f"{planning_threads()} (CARRETA_PLANNING_THREADS); {os.cpu_count()} CPUs"
    )
    header = (
        f"{'robots':>7} {'orders':>9} {'hubs':>4} {'wall s':>7} {'CPU s':>7} {'peak MB':>8} "
        f"{'events':>11} {'delivered':>9} {'on time':>7}"
    )
    print(header)
    rows = []
    for robots, orders in sizes:
        command = [
            sys.executable, __file__, "--one", f"{robots}x{orders}",
            "--robots-per-hub", str(args.robots_per_hub),
            "--chargers-per-robot", str(args.chargers_per_robot),
        ]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        row = json.loads(done.stdout.strip().splitlines()[-1])
        rows.append(row)
        served = "" if row["delivered_share"] >= 0.95 else "  NOT SERVED (< 95 % delivered)"
        print(
            f"{robots:>7,} {orders:>9,} {row['hubs']:>4} {row['wall_s']:>7.1f} "
            f"{row['cpu_s']:>7.1f} {row['peak_rss_mb']:>8,.0f} {row['events']:>11,} "
            f"{100 * row['delivered_share']:>8.1f}% {100 * row['on_time_share']:>6.1f}%{served}",
            flush=True,
        )
    print(f"load average {os.getloadavg()[0]:.1f} at the end")
    if len(rows) >= 2:
        print(
            f"log-log slope of time against orders (sizes from 10,000 orders): "
            f"wall {slope(rows, 'wall_s'):.2f}, CPU {slope(rows, 'cpu_s'):.2f} (goal ≤ 1.1)"
        )
    last = rows[-1]
    if last["orders"] == 1_000_000:
        goals = [
            ("delivered ≥ 95 %", last["delivered_share"] >= 0.95),
            ("wall ≤ 60 s", last["wall_s"] <= 60.0),
            ("peak ≤ 4 GB", last["peak_rss_mb"] <= 4096.0),
        ]
        if len(rows) >= 2:  # a slope needs two sizes
            goals.append(("slope ≤ 1.1", slope(rows, "wall_s") <= 1.1))
        print("  ".join(f"{name}: {'PASS' if ok else 'MISS'}" for name, ok in goals))


if __name__ == "__main__":
    main()
