"""``carreta plan``: the search, hub siting, resumption and plan-file errors, on the synthetic grid.

The synthetic grid (tests/synthetic.py) makes a run take a fraction of a second, so a plan and
its exhaustive grid check run in seconds.
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from synthetic import grid_scenario_data, node_lonlat

from carreta.sim.cli import main
from carreta.sim.model.world import build_world
from carreta.sim.plan.load import load_plan
from carreta.sim.plan.planner import Planner
from carreta.sim.plan.search import Decision, Interval, decide, minimal_meeting
from carreta.sim.plan.siting import demand_sample, rank_sites
from carreta.sim.sweep.executors import InProcessExecutor

SEARCH = {"path": "fleet.robots[0].count", "range": [1, 8]}


def write_base(folder: Path, graphml: Path, cache: Path, **demand: Any) -> Path:
    """The grid day with more orders (so the answer is inside the range) as a scenario file."""
    data = grid_scenario_data(graphml, cache)
    data["demand"]["orders_per_day"] = 140
    data["demand"].update(demand)
    data["simulation"]["duration_h"] = 4.5
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "grid.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), "utf-8")
    return path


def write_plan(folder: Path, **fields: Any) -> Path:
    document: dict[str, Any] = {
        "base": "grid.yaml",
        "seed": 11,
        "target": {"kpi": "on_time_share", "at_least": 0.95, "confidence": 0.9},
        "search": SEARCH,
        "replicates": {"initial": 2, "step": 2, "max": 4},
    }
    document.update(fields)
    path = folder / "plan.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), "utf-8")
    return path


@pytest.fixture
def plan_file(tmp_path: Path, grid_graphml: Path, carreta_cache_dir: Path) -> Path:
    write_base(tmp_path, grid_graphml, carreta_cache_dir)
    return write_plan(tmp_path)


def cli(*args: str | Path) -> int:
    with pytest.raises(SystemExit) as caught:
        main([str(arg) for arg in args])
    return int(caught.value.code or 0)


# -- the search, without simulation -------------------------------------------------------------


def test_bisection_finds_the_smallest_meeting_value_in_few_decisions() -> None:
    for answer in (3, 10, 17, 40, 41):
        seen: list[int] = []

        def decide_value(value: int, answer: int = answer, seen: list[int] = seen) -> Decision:
            seen.append(value)
            verdict = "meets" if value >= answer else "fails"
            return Decision(value, verdict, Interval(0.0, 0.0, 0.0, 1), 1)

        found, decisions = minimal_meeting(3, 40, decide_value)
        assert found == (answer if answer <= 40 else None)
        assert len(decisions) == len(seen) <= 2 + math.ceil(math.log2(37))


def test_sequential_rule_adds_replicates_only_while_the_interval_straddles() -> None:
    asked: list[int] = []

    def evaluate(value: int, replicates: int) -> Interval:
        asked.append(replicates)
        half = 0.2 / replicates  # the interval narrows with replicates
        return Interval(0.96, 0.96 - half, 0.96 + half, replicates)

    decision = decide(
        5, evaluate, threshold=0.95, higher_is_better=True, initial=2, step=3, most=30
    )
    assert decision.verdict == "meets" and asked == [2, 5, 8, 11, 14, 17, 20]
    asked.clear()
    capped = decide(5, evaluate, threshold=0.95, higher_is_better=True, initial=2, step=3, most=6)
    assert capped.verdict == "undecided_meets" and asked == [2, 5, 6]
    clear = decide(5, evaluate, threshold=0.5, higher_is_better=True, initial=2, step=3, most=6)
    assert clear.verdict == "meets" and clear.looks == 1
    below = decide(5, evaluate, threshold=1.1, higher_is_better=False, initial=2, step=1, most=2)
    assert below.verdict == "meets"
    above = decide(5, evaluate, threshold=0.8, higher_is_better=False, initial=2, step=1, most=2)
    assert above.verdict == "fails"


# -- a whole plan on the synthetic grid --------------------------------------------------------


def test_bisection_finds_the_grid_minimum_with_fewer_runs(plan_file: Path, tmp_path: Path) -> None:
    plan = load_plan(plan_file)
    planner = Planner(plan, tmp_path / "out", executor=InProcessExecutor())
    result = planner.run()
    planner.grid_check(result)
    assert result.recommended is not None
    answer = result.recommended.answer
    assert result.grid_check is not None
    grid_answer = result.grid_check["grid_answer"].iloc[0]
    assert answer == grid_answer
    assert 1 < answer < 8, "the synthetic day must make the decision non-trivial"
    assert result.runs_used < result.grid_runs / 2
    assert result.grid_runs == 8 * 4
    # the grid reused the search's runs: the folder holds exactly the full grid
    runs = pd.read_parquet(tmp_path / "out" / "sweep" / "runs.parquet")
    assert len(runs) == result.grid_runs and (runs["status"] == "completed").all()
    # common random numbers: replicate r has one seed whatever the fleet
    assert runs.groupby("replicate")["seed"].nunique().eq(1).all()


def test_cli_writes_outputs_and_resumes_after_sigkill(plan_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "killed"
    command = [sys.executable, "-m", "carreta.sim.cli", "plan", str(plan_file), "--out", str(out)]
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
        start_new_session=True,
    )  # fmt: skip
    runs_dir = out / "sweep" / "runs"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        done = [p for p in runs_dir.glob("[0-9a-f]*") if (p / "kpis.json").is_file()]
        if len(done) >= 3:
            break
        time.sleep(0.05)
    assert process.poll() is None, "the plan finished before it could be killed"
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    kept = {
        path.name: (path / "kpis.json").stat().st_mtime_ns
        for path in runs_dir.glob("[0-9a-f]*")
        if (path / "manifest.json").is_file()
    }
    assert kept and not (out / "plan.json").exists()
    assert cli("plan", plan_file, "--out", out) == 0
    for name, mtime in kept.items():  # finished runs were not redone
        assert (runs_dir / name / "kpis.json").stat().st_mtime_ns == mtime
    fresh = tmp_path / "fresh"
    assert cli("plan", plan_file, "--out", fresh) == 0
    resumed = json.loads((out / "plan.json").read_text("utf-8"))
    uninterrupted = json.loads((fresh / "plan.json").read_text("utf-8"))
    assert resumed["recommended"] == uninterrupted["recommended"]
    assert resumed["runs_used"] == uninterrupted["runs_used"]
    for name in ("plan.parquet", "recommended.yaml", "summary.md", "on_time_share_vs_fleet.png"):
        assert (out / name).is_file()
    table = pd.read_parquet(out / "plan.parquet")
    assert {"on_time_share", "on_time_share_low", "on_time_share_high", "verdict"} <= set(table)
    assert table["recommended"].sum() == 1
    recommended = yaml.safe_load((out / "recommended.yaml").read_text("utf-8"))
    count = resumed["recommended"]["search_value"]
    assert recommended["fleet"]["robots"][0]["count"] == count
    # the folder holds this plan: another plan is refused, nothing is changed
    other = write_plan(tmp_path, seed=12)
    assert cli("plan", other, "--out", out) == 2


# -- hub siting --------------------------------------------------------------------------------


def test_siting_picks_the_two_demand_clusters(
    tmp_path: Path, grid_graphml: Path, carreta_cache_dir: Path
) -> None:
    """Doors around two points, five candidates: the p-median pair is the two clusters."""
    rng = np.random.default_rng(3)
    points = []
    clusters = [(1, 1), (4, 4)]
    for row, column in clusters:
        lon, lat = node_lonlat(row, column)
        points.append(np.column_stack([lon + rng.normal(0, 2e-4, 200),
                                       lat + rng.normal(0, 2e-4, 200)]))  # fmt: skip
    doors = pd.DataFrame(np.vstack(points), columns=["lon", "lat"])
    doors.to_csv(tmp_path / "doors.csv", index=False)
    sites = [(0, 5), (1, 1), (3, 2), (4, 4), (5, 0)]
    candidates = pd.DataFrame(
        [{"id": f"c{row}{column}", "lon": node_lonlat(row, column)[0],
          "lat": node_lonlat(row, column)[1]} for row, column in sites]
    )  # fmt: skip
    candidates.to_csv(tmp_path / "candidates.csv", index=False)
    write_base(
        tmp_path, grid_graphml, carreta_cache_dir,
        destinations={"kind": "points_csv", "points_csv": str(tmp_path / "doors.csv")},
    )  # fmt: skip
    plan_path = write_plan(
        tmp_path, search=None, hubs={"k": 2, "candidates": "candidates.csv", "simulate_best": 2}
    )
    plan = load_plan(plan_path)
    world = build_world(plan.base_scenario)
    demand = demand_sample(plan.base_scenario, world, count=400, seed=plan.spec.seed)
    assert plan.candidates is not None
    siting = rank_sites(plan.candidates, world, demand, k=2, speed_kph=6.0)
    assert siting.ranking["sites"].iloc[0] == "c11+c44"
    assert len(siting.ranking) == 10  # every pair of five, enumerated
    best = siting.ranking["indices"].iloc[0]
    catchment = siting.catchment(best)
    assert set(np.unique(catchment)) == {0, 1}


# -- bad plan files ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"target": {"kpi": "on_time", "at_least": 0.9}}, "plan.yaml: target.kpi: "),
        ({"target": {"kpi": "on_time_share"}}, "plan.yaml: target: "),
        ({"search": {"path": "fleet.robots[0].count", "range": [5, 2]}}, "plan.yaml: search"),
        ({"search": {"path": "fleet.robots[0].count", "range": [-1, 2]}}, "search.range"),
        ({"search": {"path": "fleet..count", "range": [1, 2]}}, "plan.yaml: search.path: "),
        ({"grid": {"simulation.seed": [1, 2]}}, "plan.yaml: grid['simulation.seed']: "),
        ({"replicates": {"initial": 5, "max": 2}}, "plan.yaml: replicates: "),
        ({"seed": "x"}, "plan.yaml: seed: "),
        ({"colour": "red"}, "plan.yaml: unknown field 'colour'"),
        ({"hubs": {"k": 2, "candidates": "nowhere.csv"}}, "plan.yaml: hubs.candidates: "),
    ],
)
def test_bad_plan_files_get_one_line_errors(
    plan_file: Path,
    tmp_path: Path,
    fields: dict[str, Any],
    expected: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    bad = write_plan(tmp_path, **fields)
    assert cli("plan", bad, "--out", tmp_path / "never") == 2
    stderr = capsys.readouterr().err
    lines = [line for line in stderr.splitlines() if line.startswith("carreta: error:")]
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    assert expected in lines[0], lines[0]
    assert not (tmp_path / "never").exists()


def test_bad_candidates_file_names_the_file_and_column(plan_file: Path, tmp_path: Path) -> None:
    (tmp_path / "sites.csv").write_text("id,lon,lat\na,3.87,43.6\nb,3.88,north\n", "utf-8")
    bad = write_plan(tmp_path, search=None, hubs={"k": 1, "candidates": "sites.csv"})
    with pytest.raises(Exception, match=r"sites\.csv: lat: line 3: 'north' is not a valid lat"):
        load_plan(bad)


def test_budget_and_every_hub_decisions(
    plan_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``hubs[*].X`` sets X at every hub; a search beyond budget.max_runs stops in one line."""
    plan = load_plan(write_plan(tmp_path, grid={"hubs[*].chargers": [1, 2]}))
    params = plan.run_params({"hubs[*].chargers": 2, "fleet.robots[0].count": 4})
    assert params == {"hubs[0].chargers": 2, "fleet.robots[0].count": 4}
    hubs = [{"id": "a", "lon": 3.87, "lat": 43.6}, {"id": "b", "lon": 3.88, "lat": 43.61}]
    sited = plan.run_params({"hubs[*].chargers": 1}, hubs=hubs)
    assert [hub["chargers"] for hub in sited["hubs"]] == [1, 1]
    tight = write_plan(tmp_path, budget={"max_runs": 3})
    assert cli("plan", tight, "--out", tmp_path / "tight") == 2
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert line.startswith("carreta: error: the search needs more than budget.max_runs = 3")


def test_generated_sites_are_simulated_and_mapped(plan_file: Path, tmp_path: Path) -> None:
    """Candidates from the demand's density (k-means), the best sets simulated, a map drawn."""
    siting = {"k": 2, "generate": {"n": 4, "sample": 400}, "simulate_best": 2}
    plan = write_plan(
        tmp_path,
        search=None,
        hubs=siting,
        replicates={"initial": 1, "max": 1},
        target={"kpi": "on_time_share", "at_least": 0.5},
    )
    out = tmp_path / "sited"
    assert cli("plan", plan, "--out", out) == 0
    document = json.loads((out / "plan.json").read_text("utf-8"))
    assert len(document["siting"]) == 6 and len(document["arms"]) == 2
    assert document["recommended"]["hubs"] in [arm["hubs"] for arm in document["arms"]]
    assert (out / "hubs_map.png").stat().st_size > 10_000
    scenario = yaml.safe_load((out / "recommended.yaml").read_text("utf-8"))
    assert [hub["id"] for hub in scenario["hubs"]] == document["recommended"]["hubs"]
    assert all(group["hub"] is None for group in scenario["fleet"]["robots"])


@pytest.mark.parametrize("name", ["fleet_size.yaml", "two_hubs.yaml"])
def test_shipped_plan_files_load(name: str) -> None:
    """The plan files under scenarios/plans/ validate, with their base scenario and candidates."""
    project = Path(__file__).resolve().parents[1]
    plan = load_plan(project / "scenarios" / "plans" / name)
    assert plan.spec.search is not None or plan.spec.hubs is not None
