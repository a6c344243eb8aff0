"""Time loading the Montpellier extract: cold parse vs. the cache, and snapping 10,000 points.

Run from the project root::

    python benchmarks/bench_network_load.py [--no-simplify]

Each figure is the best of ``--repeat`` runs in a fresh temporary cache folder; the speed-up is
measured against the cold parse of the same run.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from carreta.routing import Snapper, graph_report, load_graph

EXTRACT = (
    Path(__file__).resolve().parents[1].parent
    / "shared"
    / "data"
    / "osm"
    / "montpellier_drive_2024-10-30.osm.bz2"
)


def best_of(repeat: int, action: Callable[[], object]) -> float:
    """Best wall time of ``repeat`` calls, in seconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-simplify", dest="simplify", action="store_false")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        cache = Path(folder)
        start = time.perf_counter()
        graph = load_graph(EXTRACT, profile="robot", simplify=args.simplify, cache_dir=cache)
        cold = time.perf_counter() - start
        start = time.perf_counter()
        load_graph(EXTRACT, profile="van", simplify=args.simplify, cache_dir=cache)
        other_profile = time.perf_counter() - start
        hit = best_of(
            args.repeat,
            lambda: load_graph(EXTRACT, profile="robot", simplify=args.simplify, cache_dir=cache),
        )
        size_mb = sum(path.stat().st_size for path in cache.rglob("*.pickle")) / 1e6

    report = graph_report(graph)
    print(f"extract        {EXTRACT.name} (simplify={args.simplify})")
    print(f"graph          {report.nodes:,} nodes, {report.edges:,} edges (robot)")
    print(f"cold parse     {cold:6.2f} s  (parse + robot profile + cache write)")
    print(f"van, same file {other_profile:6.2f} s  (parsed graph from cache + van profile)")
    print(f"cache hit      {hit:6.2f} s  (x{cold / hit:.0f} faster than the cold parse)")
    print(f"cache size     {size_mb:6.1f} MB")

    rng = np.random.default_rng(0)
    west, south, east, north = report.bbox
    lons, lats = rng.uniform(west, east, 10_000), rng.uniform(south, north, 10_000)
    build = best_of(args.repeat, lambda: Snapper(graph))
    snapper = Snapper(graph)
    query = best_of(args.repeat, lambda: snapper.snap(lons, lats))
    print(f"snapper build  {build * 1000:6.1f} ms")
    print(f"snap 10,000    {query * 1000:6.1f} ms")


if __name__ == "__main__":
    main()
