"""Benchmark: closing streets on a router versus building a new one (issue 6, "Closures").

On the unsimplified Montpellier graph (robot profile), a closure of a few streets (the market
and school streets of ``scenarios/ecusson_phase3.yaml`` plus Rue de la Loge) is applied to a
:class:`~carreta.routing.closures.ClosableRouter` and lifted again, many times; a full rebuild
(compile plus contraction hierarchy) is timed in the same run. Goal: re-weighting ≤ 10 % of a
rebuild. Also prints the cost of routes while the closure is active (most are the unchanged CH
path; the rest use the exact Dijkstra fallback).

Usage: ``python benchmarks/bench_closures.py [--repeat K] [--simplify]``
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from carreta.routing import load_graph  # noqa: E402
from carreta.routing.closures import ClosableRouter, closed_pairs, edges_named  # noqa: E402
from carreta.routing.errors import NoRouteError  # noqa: E402

EXTRACT = ROOT.parent / "shared" / "data" / "osm" / "montpellier_drive_2024-10-30.osm.bz2"
STREETS = [
    "Rue de la Loge",
    "Place Jean Jaurès",
    "Rue de l'École Mage",
    "Boulevard du Jeu de Paume",
    "Rue de Maguelone",
    "Boulevard Louis Blanc",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="rebuilds timed")
    parser.add_argument("--simplify", action="store_true", help="use the simplified graph")
    args = parser.parse_args()

    graph = load_graph(EXTRACT, profile="robot", simplify=args.simplify)
    print(f"graph: {graph.number_of_nodes():,} nodes, {graph.number_of_edges():,} edges")
    builds = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        router = ClosableRouter(graph)
        builds.append(time.perf_counter() - started)
    edges = edges_named(graph, STREETS)
    positions = router.edge_positions(closed_pairs(graph, edges))
    print(f"closure: {len(positions)} directed edges of {len(STREETS)} streets")

    closes, reopens = [], []
    for k in range(50):
        started = time.perf_counter()
        router.close("market", positions if k % 2 == 0 else positions[:-1])  # a new state each time
        closes.append(time.perf_counter() - started)
        started = time.perf_counter()
        router.reopen("market")
        reopens.append(time.perf_counter() - started)

    rng = np.random.default_rng(1)
    nodes = np.array(list(graph.nodes))
    pairs = [tuple(int(n) for n in rng.choice(nodes, 2)) for _ in range(2000)]
    base_s = []
    for s, t in pairs:
        started = time.perf_counter()
        router.route(s, t)
        base_s.append(time.perf_counter() - started)
    router.close("market", positions)
    closed_s, cut_off = [], 0
    pairs = [tuple(int(n) for n in rng.choice(nodes, 2)) for _ in range(2000)]  # uncached too
    for s, t in pairs:
        started = time.perf_counter()
        try:
            router.route(s, t)
        except NoRouteError:  # an end inside the closed streets
            cut_off += 1
        closed_s.append(time.perf_counter() - started)

    build = statistics.median(builds)
    close = statistics.median(closes)
    reopen = statistics.median(reopens)
    rows = [
        ("full rebuild (compile + CH), median", f"{build * 1e3:,.0f} ms", "", None),
        ("close a closure, median", f"{close * 1e3:.2f} ms", "", None),
        ("reopen it, median", f"{reopen * 1e3:.3f} ms", "", None),
        ("close / rebuild", f"{100 * close / build:.2f} %", "≤ 10 %", close / build <= 0.10),
        (
            "route, no closure (uncached), median",
            f"{statistics.median(base_s) * 1e6:.0f} µs",
            "",
            None,
        ),
        ("route, closure active, median", f"{statistics.median(closed_s) * 1e6:.0f} µs", "", None),
        ("route, closure active, mean", f"{statistics.mean(closed_s) * 1e6:.0f} µs", "", None),
        ("routes needing the exact fallback", f"{router.fallbacks} of {len(pairs)}", "", None),
        ("routes cut off by the closure", f"{cut_off}", "", None),
    ]
    for label, value, goal, ok in rows:
        verdict = "" if ok is None else ("PASS" if ok else "MISS")
        print(f"{label:<40} {value:>14}  {goal:<8} {verdict}")


if __name__ == "__main__":
    main()
