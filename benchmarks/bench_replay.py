"""Benchmark: the HTML replay of a day with 1,000 robots, in headless Chromium.

Simulates the Montpellier centre scenario with ``--robots`` robots and ``--orders`` orders,
writes its replay, and prints the file size, the page's start-up time (JSON.parse, decoding,
first draw) and the time to draw one frame (median of many seeks through the day: every robot's
position found by binary search, every door drawn, counters updated), plus the frame rate while
playing. Goal: a frame well under 16 ms (60 frames per second) with 1,000 robots.

Usage: ``python benchmarks/bench_replay.py [--robots N] [--orders N] [--keep DIR]``
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from carreta.sim.model.engine import simulate  # noqa: E402
from carreta.sim.output.results import write_run  # noqa: E402
from carreta.sim.scenario.models import load_scenario  # noqa: E402
from carreta.sim.viz.replay import write_replay  # noqa: E402

CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--robots", type=int, default=1000)
    parser.add_argument("--orders", type=int, default=20_000)
    parser.add_argument("--keep", type=Path, help="write the run and replay here (new folder)")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="carreta-bench-replay-"))
    scenario = load_scenario(
        ROOT / "scenarios" / "montpellier_centre.yaml",
        overrides={"fleet.robots[0].count": args.robots, "demand.orders_per_day": args.orders},
    )
    started = time.perf_counter()
    result = simulate(scenario)
    run_dir = write_run(result, folder / "run")
    print(f"simulated and wrote {args.robots} robots, {len(result.legs):,} legs, "
          f"{len(result.orders):,} orders in {time.perf_counter() - started:.1f} s")  # fmt: skip
    kpis = json.loads((run_dir / "kpis.json").read_text("utf-8"))
    print(f"day served: {kpis['orders_delivered']:,} of {kpis['orders_created']:,} orders "
          f"delivered, on time {100 * kpis['on_time_share']:.1f} %")  # fmt: skip
    started = time.perf_counter()
    html = write_replay(run_dir, folder / "replay.html")
    print(f"replay written in {time.perf_counter() - started:.1f} s: "
          f"{html.stat().st_size / 1e6:.1f} MB")  # fmt: skip

    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
        )
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        started = time.perf_counter()
        page.goto(html.as_uri())
        page.wait_for_function("() => window.carretaReplay !== undefined")
        print(f"page ready in {time.perf_counter() - started:.2f} s")
        frames = page.evaluate(
            """() => {
                const r = window.carretaReplay, out = [];
                for (let k = 0; k < 200; k++) {
                    const t = r.start + (r.end - r.start) * ((k * 37) % 200) / 200;
                    const t0 = performance.now(); r.seek(t);
                    out.push([performance.now() - t0, r.frameTime()]);
                }
                return out;
            }"""
        )
        seeks = sorted(seek for seek, _ in frames)
        draws = sorted(draw for _, draw in frames)
        print(f"one frame (seek): median {statistics.median(seeks):.1f} ms, "
              f"90th percentile {seeks[179]:.1f} ms; of which drawing the map: median "
              f"{statistics.median(draws):.1f} ms")  # fmt: skip
        page.evaluate("window.carretaReplay.seek(window.carretaReplay.firstActivity)")
        badges = page.evaluate("window.carretaReplay.hubBadges()")
        print(f"opens at {page.evaluate('window.carretaReplay.firstActivity') / 3600:.2f} h "
              f"with {badges}")  # fmt: skip
        page.evaluate("window.carretaReplay.seek(window.carretaReplay.start + 3 * 3600)")
        page.click("#play")
        fps = page.evaluate(
            """() => new Promise(done => {
                let n = 0; const t0 = performance.now();
                function tick() {
                    n++;
                    if (performance.now() - t0 < 2000) requestAnimationFrame(tick);
                    else done(n / ((performance.now() - t0) / 1000));
                }
                requestAnimationFrame(tick);
            })"""
        )
        print(f"while playing: {fps:.0f} frames per second (headless, software rendering)")
        browser.close()
    print(f"files in {folder}")


if __name__ == "__main__":
    main()
