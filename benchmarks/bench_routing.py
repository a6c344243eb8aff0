"""Benchmark the router on Montpellier: routes, a 1,000 x 1,000 matrix, build time and memory.

Run from the project root::

    python benchmarks/bench_routing.py [--pairs N] [--repeat R] [--quick]

Baselines are measured in the same run on the same random pairs: networkx's Dijkstra
(``nx.shortest_path``) for single routes, scipy's ``dijkstra(indices=...)`` for the matrix. The
machine may be shared, so every figure is a median: the contraction hierarchy's of per-query
times over all pairs, then over ``--repeat`` passes; networkx and the scipy backend time one
slice of the pairs in each pass (each pair once), interleaved with those passes so that all see
the same load. Route times are CPU time of the thread (wall time beside it), since preemption by
other processes inflates the wall time of millisecond baselines far more than of microsecond
queries. Routers are built with ``cache_size=0`` so the route cache never helps.

Build time is measured three ways: in this process once the numba kernels are loaded (median of
repeats), in fresh processes with numba's on-disk cache warm (what a user sees on every run), and
once in a fresh process with an empty numba cache (the one-off compile after installing or editing
``routing/_ch_numba.py``). Memory is ``Router.nbytes`` and the growth of the peak RSS across the
build of a second router in a fresh process (the first build also loads numba and its kernels,
reported separately).

Prints a markdown table with each goal and PASS/MISS.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import networkx as nx
import numpy as np
from scipy.sparse.csgraph import dijkstra

from carreta.routing import load_graph
from carreta.routing.profile import Profile
from carreta.routing.router import Router

EXTRACT = (
    Path(__file__).resolve().parents[1].parent
    / "shared"
    / "data"
    / "osm"
    / "montpellier_drive_2024-10-30.osm.bz2"
)
ROUTE_SPEEDUP_GOAL = 300.0  # contraction hierarchy vs networkx, per route
MATRIX_GOAL_S = 0.5  # 1,000 x 1,000 on the unsimplified graph
BUILD_GOAL_S = 3.0  # unsimplified graph, fresh process, numba cache warm
MATRIX_SIZE = 1_000


@dataclass
class Row:
    """One line of the result table."""

    measurement: str
    graph: str
    value: str
    baseline: str = ""
    ratio: str = ""
    goal: str = ""
    status: str = ""


@dataclass
class Timings:
    """Per-query times in microseconds: CPU time of this thread, and wall time."""

    cpu_us: list[float]
    wall_us: list[float]

    def __iadd__(self, other: Timings) -> Timings:
        self.cpu_us += other.cpu_us
        self.wall_us += other.wall_us
        return self

    @property
    def cpu(self) -> float:
        return statistics.median(self.cpu_us)

    @property
    def wall(self) -> float:
        return statistics.median(self.wall_us)


def _clock_overhead_ns() -> float:
    """What reading the CPU clock adds to a CPU-time sample (a system call, ~0.5 µs)."""
    samples = []
    for _ in range(2_000):
        start = time.thread_time_ns()
        time.perf_counter_ns()
        time.perf_counter_ns()
        samples.append(time.thread_time_ns() - start)
    return statistics.median(samples)


def time_queries(query: Callable[[int, int], object], pairs: Sequence[tuple[int, int]]) -> Timings:
    """Time ``query(o, d)`` for each pair.

    CPU time (``thread_time``) is what the figures compare: a query preempted by another process
    on a shared machine keeps its CPU time but not its wall time, which penalises the millisecond
    baselines far more than microsecond queries. Wall time is reported beside it.
    """
    overhead = _clock_overhead_ns()
    timings = Timings([], [])
    for origin, destination in pairs:
        cpu_start = time.thread_time_ns()
        wall_start = time.perf_counter_ns()
        query(origin, destination)
        wall = time.perf_counter_ns() - wall_start
        cpu = time.thread_time_ns() - cpu_start - overhead
        timings.cpu_us.append(cpu / 1e3)
        timings.wall_us.append(wall / 1e3)
    return timings


def timed_s(action: Callable[[], object]) -> float:
    """Wall time of one call, in seconds."""
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def random_pairs(graph: nx.MultiDiGraph, count: int, *, seed: int) -> list[tuple[int, int]]:
    """``count`` random (origin, destination) node pairs, reproducible from ``seed``."""
    rng = np.random.default_rng(seed)
    nodes = np.array(sorted(graph.nodes))
    origins = rng.choice(nodes, count)
    destinations = rng.choice(nodes, count)
    return list(zip(origins.tolist(), destinations.tolist(), strict=True))


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def bench_routes(
    name: str, graph: nx.MultiDiGraph, pairs: list[tuple[int, int]], repeat: int
) -> list[Row]:
    """Median time per route: networkx vs the two router backends, on the same fresh pairs.

    The passes interleave the backends (networkx and scipy time a slice of the pairs each pass,
    the contraction hierarchy all of them), so that all see the same load on a shared machine.
    """
    ch = Router(graph, backend="ch", cache_size=0)
    scipy_router = Router(graph, backend="scipy", cache_size=0)
    ch.route(*pairs[0])  # load the numba kernels before timing
    networkx_paths: dict[tuple[int, int], list[int]] = {}

    def networkx_route(origin: int, destination: int) -> object:
        path = nx.shortest_path(graph, origin, destination, weight="travel_time")
        networkx_paths[origin, destination] = path
        return path

    networkx = Timings([], [])
    scipy = Timings([], [])
    ch_passes = []
    for start in range(repeat):
        networkx += time_queries(networkx_route, pairs[start::repeat])
        scipy += time_queries(scipy_router.route, pairs[start::repeat])
        ch_passes.append(time_queries(ch.route, pairs))
    for (origin, destination), path in networkx_paths.items():  # sanity: same answers
        expected = nx.path_weight(graph, path, "travel_time")
        assert abs(ch.duration(origin, destination) - expected) < 1e-6, (origin, destination)
    ch_cpu = statistics.median(t.cpu for t in ch_passes)
    ch_wall = statistics.median(t.wall for t in ch_passes)
    speedup = networkx.cpu / ch_cpu
    n = f"{len(pairs)} pairs"
    return [
        Row(
            "route, networkx `shortest_path` (baseline)",
            name,
            f"{networkx.cpu:,.0f} µs (wall {networkx.wall:,.0f})",
            n,
        ),
        Row(
            "route, Router ch (cache off)",
            name,
            f"{ch_cpu:,.1f} µs (wall {ch_wall:,.1f})",
            f"{networkx.cpu:,.0f} µs",
            f"{speedup:,.0f}× (wall {networkx.wall / ch_wall:,.0f}×)",
            f"≥ {ROUTE_SPEEDUP_GOAL:.0f}×",
            verdict(speedup >= ROUTE_SPEEDUP_GOAL),
        ),
        Row(
            "route, Router scipy (cache off)",
            name,
            f"{scipy.cpu:,.0f} µs (wall {scipy.wall:,.0f})",
            f"{networkx.cpu:,.0f} µs",
            f"{networkx.cpu / scipy.cpu:,.1f}×",
        ),
    ]


def bench_matrix(name: str, graph: nx.MultiDiGraph, repeat: int) -> list[Row]:
    """A 1,000 x 1,000 travel-time matrix: the router (ch) vs scipy Dijkstra from each origin."""
    router = Router(graph, backend="ch")
    rng = np.random.default_rng(1)
    nodes = np.array(sorted(graph.nodes))
    origins = rng.choice(nodes, MATRIX_SIZE, replace=False).tolist()
    destinations = rng.choice(nodes, MATRIX_SIZE, replace=False).tolist()
    router.matrix(origins[:2], destinations[:2])  # load the numba kernel before timing
    ch_s = statistics.median(
        timed_s(lambda: router.matrix(origins, destinations)) for _ in range(repeat)
    )
    csr = router.compiled.csr_matrix()
    rows = np.asarray(router.index_of(origins))
    cols = np.asarray(router.index_of(destinations))
    baseline_s = timed_s(lambda: dijkstra(csr, indices=rows)[:, cols])
    expected = dijkstra(csr, indices=rows)[:, cols]
    np.testing.assert_allclose(router.matrix(origins, destinations), expected, rtol=1e-9)
    return [
        Row("matrix 1,000×1,000, scipy `dijkstra` (baseline)", name, f"{baseline_s:.2f} s"),
        Row(
            "matrix 1,000×1,000, Router ch",
            name,
            f"{ch_s:.3f} s",
            f"{baseline_s:.2f} s",
            f"{baseline_s / ch_s:,.0f}×",
            f"≤ {MATRIX_GOAL_S} s",
            verdict(ch_s <= MATRIX_GOAL_S),
        ),
    ]


def memory_mb(field: str) -> float:
    """``VmRSS`` (current) or ``VmHWM`` (peak) resident memory of this process, in MB (Linux);
    elsewhere the peak from :mod:`resource`."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reset_peak_rss() -> None:
    """Make ``VmHWM`` restart from the current RSS (Linux >= 4.0), so a peak can be measured
    across one step rather than since start-up (graph loading peaks higher than the build)."""
    clear_refs = Path("/proc/self/clear_refs")
    if clear_refs.exists():
        clear_refs.write_text("5")


def child_build(profile: Profile, simplify: bool) -> None:
    """In a fresh process: load the graph, build a ch Router, print timings and RSS as JSON."""
    graph = load_graph(EXTRACT, profile=profile, simplify=simplify)
    reset_peak_rss()
    rss_before = memory_mb("VmRSS")
    start = time.perf_counter()
    router = Router(graph, backend="ch")
    build_s = time.perf_counter() - start
    first_peak_growth = memory_mb("VmHWM") - rss_before
    origin, destination = random_pairs(graph, 1, seed=2)[0]
    first_route_s = timed_s(lambda: router.route(origin, destination))
    first_matrix_s = timed_s(lambda: router.matrix([origin], [destination]))
    # A second router, once numba and the kernels are loaded: the router's own footprint.
    reset_peak_rss()
    rss_before = memory_mb("VmRSS")
    second = Router(graph, backend="ch")
    second_peak_growth = memory_mb("VmHWM") - rss_before
    second_kept = memory_mb("VmRSS") - rss_before
    result = {
        "build_s": build_s,
        "first_route_s": first_route_s,
        "first_matrix_s": first_matrix_s,
        "first_peak_mb": first_peak_growth,
        "second_peak_mb": second_peak_growth,
        "second_kept_mb": second_kept,
        "nbytes_mb": second.nbytes / 1e6,
    }
    print(json.dumps(result))


def run_child(profile: Profile, simplify: bool, env: dict[str, str]) -> dict[str, float]:
    """Run :func:`child_build` in a fresh interpreter and return what it printed."""
    command = [sys.executable, __file__, "--child-build", profile]
    if not simplify:
        command.append("--no-simplify")
    done = subprocess.run(command, env=env, check=True, capture_output=True, text=True)
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def bench_build(name: str, profile: Profile, graph: nx.MultiDiGraph, repeat: int) -> list[Row]:
    """Router build time (in-process, fresh process warm, fresh process cold) and memory."""
    Router(graph, backend="ch")  # kernels loaded
    in_process_s = statistics.median(
        timed_s(lambda: Router(graph, backend="ch")) for _ in range(repeat)
    )
    warm = [run_child(profile, False, dict(os.environ)) for _ in range(repeat)]
    with tempfile.TemporaryDirectory() as empty:
        cold = run_child(profile, False, {**os.environ, "NUMBA_CACHE_DIR": empty})
    warm_s = statistics.median(r["build_s"] for r in warm)
    first_route_ms = statistics.median(r["first_route_s"] for r in warm) * 1e3
    first_matrix_ms = statistics.median(r["first_matrix_s"] for r in warm) * 1e3
    first_peak_mb = statistics.median(r["first_peak_mb"] for r in warm)
    second_peak_mb = statistics.median(r["second_peak_mb"] for r in warm)
    second_kept_mb = statistics.median(r["second_kept_mb"] for r in warm)
    cold_total_s = cold["build_s"] + cold["first_route_s"] + cold["first_matrix_s"]
    return [
        Row(
            "build, fresh process, numba cache warm",
            name,
            f"{warm_s:.2f} s",
            goal=f"≤ {BUILD_GOAL_S:.0f} s",
            status=verdict(warm_s <= BUILD_GOAL_S),
        ),
        Row("build, in-process (kernels loaded)", name, f"{in_process_s:.2f} s"),
        Row(
            "first route / first matrix call, fresh process",
            name,
            f"{first_route_ms:.0f} ms / {first_matrix_ms:.0f} ms",
        ),
        Row(
            "build + first route + first matrix, empty numba cache (one-off JIT compile)",
            name,
            f"{cold_total_s:.1f} s",
        ),
        Row("memory, `Router.nbytes`", name, f"{warm[0]['nbytes_mb']:.1f} MB"),
        Row(
            "memory, RSS growth: peak during build / kept after (kernels loaded)",
            name,
            f"{second_peak_mb:.0f} MB / {second_kept_mb:.0f} MB",
        ),
        Row(
            "memory, peak RSS growth of the first build (loads numba and its kernels)",
            name,
            f"{first_peak_mb:.0f} MB",
        ),
    ]


def print_table(rows: list[Row]) -> None:
    header = ["measurement", "graph", "median", "baseline", "speed-up", "goal", ""]
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" for _ in header) + "|")
    for row in rows:
        cells = [row.measurement, row.graph, row.value, row.baseline, row.ratio, row.goal]
        print("| " + " | ".join([*cells, row.status]) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=200, help="random routes per graph")
    parser.add_argument("--repeat", type=int, default=5, help="passes over cheap measurements")
    parser.add_argument("--quick", action="store_true", help="van profile only, fewer pairs")
    parser.add_argument("--child-build", metavar="PROFILE", help=argparse.SUPPRESS)
    parser.add_argument(
        "--no-simplify", dest="simplify", action="store_false", help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.child_build:
        child_build(cast(Profile, args.child_build), args.simplify)
        return

    profiles: list[Profile] = ["van"] if args.quick else ["robot", "van"]
    pairs_count = min(args.pairs, 50) if args.quick else args.pairs
    repeat = min(args.repeat, 3) if args.quick else args.repeat
    started = time.perf_counter()
    rows: list[Row] = []
    for profile in profiles:
        for simplify in (True, False):
            graph = load_graph(EXTRACT, profile=profile, simplify=simplify)
            kind = "simplified" if simplify else "unsimplified"
            name = f"{kind} {profile} ({graph.number_of_nodes():,} nodes)"
            print(f"benchmarking {name} ...", file=sys.stderr)
            pairs = random_pairs(graph, pairs_count, seed=0)
            rows += bench_routes(name, graph, pairs, repeat)
            if not simplify:
                rows += bench_matrix(name, graph, repeat)
                rows += bench_build(name, profile, graph, max(repeat // 2, 1))
    print(
        f"{platform.node()}: {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{time.strftime('%Y-%m-%d')}; command: python {' '.join(sys.argv)}; "
        f"total {time.perf_counter() - started:.0f} s\n"
    )
    print_table(rows)


if __name__ == "__main__":
    main()
