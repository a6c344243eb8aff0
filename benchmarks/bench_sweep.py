"""Benchmark: one sweep of equal runs with 1 worker, a local pool of 2, and Dask with 2 workers.

Each configuration runs ``carreta sweep`` as a fresh process (so every figure includes the
import, the street graph load in each worker and, for Dask, starting the local cluster), into a
new folder each time. Configurations are interleaved over the repeats so that other load on the
machine spreads evenly; medians are printed with their ratio to the 1-worker time measured in
the same session. Two figures per configuration:

- ``command``: wall time of the whole command, as a user waits for it;
- ``sweep``: the sweep phase alone (from the sweep manifest: after the executor is ready, so
  without the Dask cluster start-up, but with each worker's first graph load).

Goals: 2 local workers at least 1.8× faster than 1; Dask within 10 % of the local pool.
``--start-methods`` also times the local pool with the ``fork``, ``forkserver`` and ``spawn``
start methods (through this script's ``--child`` mode, which calls the library directly).

Usage::

    python benchmarks/bench_sweep.py                 # 10 runs, 3 repeats (a few minutes)
    python benchmarks/bench_sweep.py --runs 4 --repeats 1 --start-methods
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

PROJECT = Path(__file__).resolve().parents[1]
BASE = PROJECT / "scenarios" / "montpellier_centre.yaml"


def write_sweep(folder: Path, *, runs: int, robots: int, orders: int) -> Path:
    """A sweep of ``runs`` replicates of one busy day (equal work, different seeds)."""
    sweep = {
        "name": "bench",
        "base": str(BASE),
        "seed": 1,
        "replicates": runs,
        "overrides": {
            "fleet.robots[0].count": robots,
            "demand.orders_per_day": orders,
            "outputs.trips_geojson": False,
        },
    }
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "bench_sweep.yaml"
    path.write_text(yaml.safe_dump(sweep, sort_keys=False), "utf-8")
    return path


def timed(command: list[str], out: Path) -> tuple[float, float, float]:
    """Run ``command``; return its wall time, the sweep phase (from the manifest) and the
    machine's 1-minute load average at the end (other processes compete for the cores)."""
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, cwd=PROJECT)
    wall_s = time.perf_counter() - started
    manifest = json.loads((out / "manifest.json").read_text("utf-8"))
    if manifest["status"] != "completed":
        raise RuntimeError(f"{out}: sweep {manifest['status']}")
    return wall_s, float(manifest["sessions"][-1]["wall_time_s"]), os.getloadavg()[0]


def _burn(loops: int) -> float:
    """Pure-Python CPU work; return its duration in s."""
    started = time.perf_counter()
    total = 0
    for i in range(loops):
        total += i
    return time.perf_counter() - started


def machine_ceiling(loops: int = 20_000_000) -> float:
    """The speed-up 2 processes get on this machine now, on plain CPU work (ideal: 2.0).

    Other processes share the cores: no sweep can beat this ceiling while they run.
    """
    started = time.perf_counter()
    _burn(loops)
    _burn(loops)
    serial_s = time.perf_counter() - started
    context = multiprocessing.get_context("fork")
    started = time.perf_counter()
    with context.Pool(2) as pool:
        pool.map(_burn, [loops, loops])
    return serial_s / (time.perf_counter() - started)


def configurations(sweep: Path, start_methods: bool) -> dict[str, list[str]]:
    """Name → command (without --out) of each configuration."""
    cli = [sys.executable, "-m", "carreta.sim.cli", "sweep", str(sweep), "--no-progress"]
    configs = {
        "1 worker (in-process)": [*cli, "--workers", "1"],
        "local pool, 2 workers": [*cli, "--workers", "2"],
        "Dask LocalCluster, 2 workers": [*cli, "--dask-local", "2"],
    }
    if start_methods:
        for method in ("fork", "forkserver", "spawn"):
            configs[f"pool 2 ({method})"] = [
                sys.executable, str(Path(__file__).resolve()), "--child", method, str(sweep)
            ]  # fmt: skip
    return configs


def child(method: str, sweep_file: str, out: str) -> None:
    """Run the sweep on a local pool with the given start method (``--child`` mode)."""
    from carreta.sim.sweep.executors import LocalPoolExecutor
    from carreta.sim.sweep.load import load_sweep
    from carreta.sim.sweep.runner import run_sweep

    executor = LocalPoolExecutor(2, start_method=method)
    run_sweep(load_sweep(sweep_file), Path(out), executor=executor)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=10, help="runs in the sweep")
    parser.add_argument("--repeats", type=int, default=3, help="timings per configuration")
    parser.add_argument("--robots", type=int, default=300, help="robots in each run")
    parser.add_argument("--orders", type=int, default=45_000, help="orders_per_day of each run")
    parser.add_argument("--start-methods", action="store_true", help="also compare start methods")
    parser.add_argument("--child", nargs=2, metavar=("METHOD", "SWEEP"), help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], args.child[1], args.out)
        return
    with tempfile.TemporaryDirectory(prefix="bench-sweep-") as temporary:
        folder = Path(temporary)
        sweep = write_sweep(folder, runs=args.runs, robots=args.robots, orders=args.orders)
        configs = configurations(sweep, args.start_methods)
        # Warm the on-disk caches (street graph, numba) so that no configuration pays for them.
        warm = write_sweep(folder / "warm", runs=1, robots=args.robots, orders=args.orders)
        timed(
            [*configs["1 worker (in-process)"][:4], str(warm), "--out", str(folder / "w")],
            folder / "w",
        )
        times: dict[str, list[tuple[float, float, float]]] = {name: [] for name in configs}
        ceilings: list[float] = []
        for repeat in range(args.repeats):
            ceilings.append(machine_ceiling())
            print(f"  repeat {repeat + 1}: 2-process ceiling on plain CPU work {ceilings[-1]:.2f}×")
            for name, command in configs.items():
                out = folder / f"out-{repeat}-{len(times[name])}-{abs(hash(name))}"
                times[name].append(timed([*command, "--out", str(out)], out))
                wall_s, sweep_s, load = times[name][-1]
                print(
                    f"  repeat {repeat + 1}: {name:<30} {wall_s:7.1f} s  (sweep {sweep_s:5.1f} s)"
                    f"  load {load:.1f}",
                    flush=True,
                )
        ceilings.append(machine_ceiling())
    report(times, runs=args.runs, repeats=args.repeats)
    print(
        f"2-process ceiling of the machine (plain CPU work, ideal 2.00×): median "
        f"{statistics.median(ceilings):.2f}×, range {min(ceilings):.2f}× to {max(ceilings):.2f}×"
    )


def report(times: dict[str, list[tuple[float, float, float]]], *, runs: int, repeats: int) -> None:
    """Print medians (and minima, the least disturbed figure) with ratios to 1 worker."""
    for label, pick in (("median", statistics.median), ("minimum", min)):
        figures = {
            name: (pick(t[0] for t in values), pick(t[1] for t in values))
            for name, values in times.items()
        }
        base_wall, base_sweep = figures["1 worker (in-process)"]
        print(f"\n{runs} equal runs, {label} of {repeats}:")
        header = ("configuration", "command s", "speed-up", "sweep s", "speed-up")
        print("{:<30} {:>10} {:>9} {:>9} {:>9}".format(*header))
        for name, (wall_s, sweep_s) in figures.items():
            print(
                f"{name:<30} {wall_s:10.1f} {base_wall / wall_s:8.2f}× {sweep_s:9.1f} "
                f"{base_sweep / sweep_s:8.2f}×"
            )
        pool = figures["local pool, 2 workers"]
        dask = figures["Dask LocalCluster, 2 workers"]
        print(
            f"Dask / local pool: command {dask[0] / pool[0]:.2f}, sweep {dask[1] / pool[1]:.2f} "
            "(goal ≤ 1.10); 2 workers vs 1: "
            f"command {base_wall / pool[0]:.2f}×, sweep {base_sweep / pool[1]:.2f}× (goal ≥ 1.8×)"
        )
    loads = [t[2] for values in times.values() for t in values]
    print(f"\nload average during the session: {min(loads):.1f} to {max(loads):.1f}")


if __name__ == "__main__":
    main()
