"""Running sweeps: identical tables from every executor, resume after SIGKILL, Dask worker loss.

The sweep is the tiny scenario shortened to ~30 orders over 2.5 h (runs of well under a second
after the street graph is loaded), 2 fleet sizes × 2 dispatch policies × 2 replicates.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from carreta.sim.cli import main
from carreta.sim.model.engine import simulate
from carreta.sim.sweep.executors import DaskExecutor, InProcessExecutor
from carreta.sim.sweep.load import load_sweep
from carreta.sim.sweep.runner import SweepSummary, run_sweep
from carreta.sim.sweep.worker import RunOutcome

pytestmark = pytest.mark.slow

distributed = pytest.importorskip("distributed")

PROJECT = Path(__file__).resolve().parents[1]
TINY = PROJECT / "scenarios" / "tiny.yaml"
SWEEP: dict[str, Any] = {
    "name": "test-sweep",
    "base": str(TINY),
    "seed": 11,
    "replicates": 2,
    "overrides": {"demand.orders_per_day": 30, "simulation.duration_h": 2.5},
    "grid": {"fleet.robots[0].count": [2, 3], "dispatch.policy": ["nearest_idle", "batch"]},
}
RUNS = 8


def write_sweep(folder: Path, changes: dict[str, Any] | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "sweep.yaml"
    path.write_text(yaml.safe_dump({**SWEEP, **(changes or {})}, sort_keys=False), "utf-8")
    return path


def runs_table(out: Path) -> pd.DataFrame:
    """The runs table without the columns that measure time."""
    return pd.read_parquet(out / "runs.parquet").drop(columns=["wall_time_s"])


def run_folders(out: Path) -> list[str]:
    return sorted(
        entry.name for entry in (out / "runs").iterdir() if not entry.name.startswith(".")
    )


def cli(*args: str) -> int:
    with pytest.raises(SystemExit) as caught:
        main([*args])
    return int(caught.value.code or 0)


@pytest.fixture(scope="module")
def sweep_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_sweep(tmp_path_factory.mktemp("sweep"))


@pytest.fixture(scope="module")
def reference(sweep_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sweep run in this process, one run after the other."""
    out = tmp_path_factory.mktemp("reference") / "out"
    summary = run_sweep(load_sweep(sweep_file), out, executor=InProcessExecutor())
    assert (summary.completed, summary.failed, summary.exit_code) == (RUNS, 0, 0)
    return out


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    """A real Dask cluster: 2 single-threaded worker processes on loopback."""
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
        ) as local,
        distributed.Client(local) as client,
    ):
        yield client


def test_sweep_folder_holds_table_runs_and_provenance(reference: Path, sweep_file: Path) -> None:
    table = pd.read_parquet(reference / "runs.parquet")
    sweep = load_sweep(sweep_file)
    assert list(table["run_id"]) == [run.run_id for run in sweep.runs]
    assert list(table.columns[:5]) == [
        "run_id", "replicate", "seed", "fleet.robots[0].count", "dispatch.policy",
    ]  # fmt: skip
    assert (table["status"] == "completed").all() and table["error"].isna().all()
    assert table["orders_delivered"].gt(0).all()
    assert run_folders(reference) == sorted(table["run_id"])
    manifest = json.loads((reference / "manifest.json").read_text("utf-8"))
    assert manifest["status"] == "completed" and manifest["runs_completed"] == RUNS
    assert yaml.safe_load((reference / "sweep.resolved.yaml").read_text("utf-8"))["seed"] == 11
    # A run in the sweep equals the same scenario simulated alone (graph loaded afresh).
    run = sweep.runs[3]
    alone = simulate(sweep.scenario_for(run), seed=run.seed)
    stored = json.loads((reference / "runs" / run.run_id / "kpis.json").read_text("utf-8"))
    assert stored["orders_delivered"] == sum(o.state.value == "delivered" for o in alone.orders)
    row = table.set_index("run_id").loc[run.run_id]
    assert row["orders_delivered"] == stored["orders_delivered"]
    assert row["robot_km"] == stored["robot_km"]


def test_local_pool_gives_the_identical_table(
    reference: Path, sweep_file: Path, tmp_path: Path
) -> None:
    out = tmp_path / "pool"
    assert cli("sweep", str(sweep_file), "--out", str(out), "--workers", "2") == 0
    pd.testing.assert_frame_equal(runs_table(out), runs_table(reference))
    manifest = json.loads((out / "manifest.json").read_text("utf-8"))
    assert manifest["sessions"][0]["executor"].startswith("process pool (2 workers")


def test_dask_cluster_gives_the_identical_table(
    reference: Path, sweep_file: Path, tmp_path: Path, cluster: Any
) -> None:
    out = tmp_path / "dask"
    address = cluster.scheduler.address
    assert address.startswith("tcp://127.0.0.1:")
    assert cli("sweep", str(sweep_file), "--out", str(out), "--scheduler", address) == 0
    pd.testing.assert_frame_equal(runs_table(out), runs_table(reference))
    seeds = {
        json.loads((out / "runs" / name / "manifest.json").read_text("utf-8"))["seed"]
        for name in run_folders(out)
    }
    assert len(seeds) == 2  # two replicate seeds, shared by every combination


def test_dask_worker_killed_during_sweep_still_completes(
    reference: Path, sweep_file: Path, tmp_path: Path, cluster: Any
) -> None:
    out = tmp_path / "killed-worker"
    first = threading.Event()
    seen: list[RunOutcome] = []
    finished: list[SweepSummary] = []

    def progress(outcome: RunOutcome, counts: dict[str, int]) -> None:
        seen.append(outcome)
        first.set()

    def sweep() -> None:
        finished.append(
            run_sweep(
                load_sweep(sweep_file), out, executor=DaskExecutor(cluster), on_progress=progress
            )
        )

    thread = threading.Thread(target=sweep)
    thread.start()
    assert first.wait(timeout=180), "no run finished"
    busy = [address for address, keys in cluster.processing().items() if keys]
    assert busy, "no worker had a task left to lose"
    victim = cluster.run(os.getpid, workers=[busy[0]])[busy[0]]
    os.kill(victim, signal.SIGKILL)
    thread.join(timeout=300)
    assert not thread.is_alive()
    summary = finished[0]
    assert (summary.completed, summary.failed, summary.exit_code) == (RUNS, 0, 0)
    assert len(seen) == RUNS
    pd.testing.assert_frame_equal(runs_table(out), runs_table(reference))
    assert run_folders(out) == sorted(runs_table(reference)["run_id"])
    # The nanny brought the killed worker back.
    cluster.wait_for_workers(2, timeout=60)
    assert victim not in cluster.run(os.getpid).values()


def test_sweep_killed_with_sigkill_then_resumed_matches(
    reference: Path, sweep_file: Path, tmp_path: Path
) -> None:
    out = tmp_path / "interrupted"
    command = [sys.executable, "-m", "carreta.sim.cli", "sweep", str(sweep_file), "--out", str(out)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 180
    try:
        while time.monotonic() < deadline and process.poll() is None:
            done = [
                p for p in (out / "runs").glob("*/kpis.json") if not p.parent.name.startswith(".")
            ]
            if done:
                break
            time.sleep(0.05)
        assert process.poll() is None, "the sweep ended before it could be killed"
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL
    completed_before = len(run_folders(out))
    assert 1 <= completed_before < RUNS
    assert cli("sweep", str(sweep_file), "--out", str(out), "--no-progress") == 0
    assert run_folders(out) == sorted(runs_table(reference)["run_id"])  # each run exactly once
    assert not [entry for entry in (out / "runs").iterdir() if entry.name.startswith(".")]
    pd.testing.assert_frame_equal(runs_table(out), runs_table(reference))
    manifest = json.loads((out / "manifest.json").read_text("utf-8"))
    assert [s["runs_skipped"] for s in manifest["sessions"]][-1] == completed_before
    assert manifest["status"] == "completed"


@pytest.mark.parametrize(("signal_number", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_ctrl_c_or_sigterm_says_how_many_runs_are_kept_and_how_to_resume(
    sweep_file: Path, tmp_path: Path, signal_number: int, code: int
) -> None:
    out = tmp_path / "interrupted"
    command = [sys.executable, "-m", "carreta.sim.cli", "sweep", str(sweep_file), "--out", str(out),
               "--workers", "2"]  # fmt: skip
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 180
    try:
        while time.monotonic() < deadline and process.poll() is None:
            if [p for p in (out / "runs").glob("*/kpis.json") if not p.parent.name.startswith(".")]:
                break
            time.sleep(0.05)
        assert process.poll() is None, "the sweep ended before it could be interrupted"
        os.kill(process.pid, signal_number)
        _, stderr = process.communicate(timeout=120)
    finally:
        process.kill()
    assert process.returncode == code, stderr
    kept = len(run_folders(out))
    assert stderr.strip().splitlines() == [
        f"interrupted — {kept} of {RUNS} runs kept; rerun the same command to resume"
    ]
    table = pd.read_parquet(out / "runs.parquet")
    assert (table["status"] == "completed").sum() == kept
    assert json.loads((out / "manifest.json").read_text("utf-8"))["status"] == "interrupted"


def test_sweep_stopped_at_random_points_then_rerun_matches(
    reference: Path, sweep_file: Path, tmp_path: Path
) -> None:
    """SIGKILL, SIGINT and SIGTERM at random moments (start-up, mid-run, while writing), each
    time rerunning the same command: the folder ends with the uninterrupted sweep's table."""
    out = tmp_path / "stopped"
    command = [sys.executable, "-m", "carreta.sim.cli", "sweep", str(sweep_file), "--out", str(out),
               "--no-progress"]  # fmt: skip
    draw = random.Random(18)
    stops = [signal.SIGKILL, signal.SIGINT, signal.SIGKILL, signal.SIGTERM, signal.SIGKILL]
    # A crash (not a stop) prints where each thread was: once seen in CI as -SIGSEGV, silent.
    env = {**os.environ, "PYTHONFAULTHANDLER": "1"}
    for signal_number in stops:
        process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env
        )
        time.sleep(draw.uniform(1.0, 6.0))
        process.send_signal(signal_number)
        _, stderr = process.communicate(timeout=120)
        assert b"Traceback" not in stderr, stderr
        # -SIGTERM: the signal came while Python started, before the command set its handler;
        # -SIGINT: it came as the finished sweep's interpreter exited (CPython resets its
        # handlers then; the folder is complete, as the rerun below checks).
        expected = (0, -signal.SIGKILL, -signal.SIGTERM, -signal.SIGINT, 130, 143)
        assert process.returncode in expected, stderr
    assert cli("sweep", str(sweep_file), "--out", str(out), "--no-progress") == 0
    assert run_folders(out) == sorted(runs_table(reference)["run_id"])
    assert not [entry for entry in (out / "runs").iterdir() if entry.name.startswith(".")]
    pd.testing.assert_frame_equal(runs_table(out), runs_table(reference))


def test_set_adds_fixed_overrides_recorded_with_the_sweep(
    sweep_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sweep = load_sweep(sweep_file, settings={"demand.orders_per_day": 12})
    assert sweep.resolved()["overrides"]["demand.orders_per_day"] == 12
    assert sweep.scenario_for(sweep.runs[0]).demand.orders_per_day == 12
    assert [run.run_id for run in sweep.runs] == [run.run_id for run in load_sweep(sweep_file).runs]
    out = tmp_path / "out"
    assert cli("sweep", str(sweep_file), "--out", str(out), "--dry-run",
               "--set", "simulation.duration_h=2") == 0  # fmt: skip
    assert cli("sweep", str(sweep_file), "--set", "fleet.robots[0].count=9", "--dry-run") == 2
    err = capsys.readouterr().err
    assert err.startswith(f"carreta: error: {sweep_file}: --set fleet.robots[0].count: is a "
                          "parameter the sweep varies")  # fmt: skip
    assert cli("sweep", str(sweep_file), "--set", "demand.orders_per_day=-5", "--dry-run") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "demand.orders_per_day" in err
    # a day too big for this machine stops the sweep before anything is made, like run
    huge = "demand.orders_per_day=1000000000"
    assert cli("sweep", str(sweep_file), "--out", str(out), "--set", huge, "--no-progress") == 2
    err = capsys.readouterr().err
    assert err.startswith(f"carreta: error: {sweep_file}: demand.orders_per_day: the run ")
    assert "this day needs" in err and err.count("\n") == 1 and not out.exists()


def test_failing_run_is_recorded_exit_1_and_retried_on_resume(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A hub 50 km away from the street network: valid scenario, but the run cannot start.
    sweep_file = write_sweep(tmp_path, {"replicates": 1, "grid": {"hubs[0].lon": [3.8812, 4.5]}})
    out = tmp_path / "out"
    assert cli("sweep", str(sweep_file), "--out", str(out)) == 1
    table = pd.read_parquet(out / "runs.parquet")
    assert list(table["status"]) == ["completed", "failed"]
    assert (
        "ScenarioError" in table["error"].iloc[1]
        and "from the nearest street" in table["error"].iloc[1]
    )
    assert pd.isna(table["orders_delivered"].iloc[1])
    assert "failed" in capsys.readouterr().err
    first_run = out / "runs" / table["run_id"].iloc[0]
    stamp = (first_run / "kpis.json").stat().st_mtime_ns
    # What a sweep killed while writing leaves behind: hidden temporary folders and files.
    (out / "runs" / f".{table['run_id'].iloc[1]}.x1y2.tmp").mkdir()
    (out / ".runs.parquet.4242.tmp").write_bytes(b"half a table")
    assert cli("sweep", str(sweep_file), "--out", str(out)) == 1  # retried, fails again
    assert (first_run / "kpis.json").stat().st_mtime_ns == stamp  # the completed run was kept
    assert len(run_folders(out)) == 1
    assert not [p for p in [*out.iterdir(), *(out / "runs").iterdir()] if p.name.endswith(".tmp")]


def test_a_grid_extended_in_place_keeps_its_runs(
    reference: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Adding a value to an axis runs only the new combinations; narrowing is refused."""
    out = tmp_path / "copy"
    shutil.copytree(reference, out)
    stamps = {name: (out / "runs" / name / "kpis.json").stat().st_mtime_ns
              for name in run_folders(out)}  # fmt: skip
    grid = {"fleet.robots[0].count": [2, 3, 4], "dispatch.policy": ["nearest_idle", "batch"]}
    wider = write_sweep(tmp_path / "wider", {"grid": grid})
    assert cli("sweep", str(wider), "--out", str(out), "--no-progress") == 0
    assert len(run_folders(out)) == RUNS + 4  # 1 new count × 2 policies × 2 replicates
    assert all((out / "runs" / name / "kpis.json").stat().st_mtime_ns == stamp
               for name, stamp in stamps.items())  # fmt: skip
    table = pd.read_parquet(out / "runs.parquet")
    assert len(table) == RUNS + 4 and set(table["status"]) == {"completed"}
    narrower = write_sweep(tmp_path / "narrower", {"grid": {**grid, "dispatch.policy": ["batch"]}})
    capsys.readouterr()
    assert cli("sweep", str(narrower), "--out", str(out)) == 2
    assert "no longer makes" in capsys.readouterr().err


def test_another_sweep_is_refused_and_nothing_changes(
    reference: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = write_sweep(tmp_path / "other", {"seed": 12})
    before = {path: path.stat().st_mtime_ns for path in reference.rglob("*")}
    assert cli("sweep", str(other), "--out", str(reference)) == 2
    err = capsys.readouterr().err
    assert "holds the results of another sweep" in err and "'seed'" in err
    assert err.count("\n") == 1
    assert {path: path.stat().st_mtime_ns for path in reference.rglob("*")} == before
    folder = tmp_path / "not-a-sweep"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine", "utf-8")
    assert cli("sweep", str(other), "--out", str(folder)) == 2
    assert "is not a sweep folder" in capsys.readouterr().err
    assert [p.name for p in folder.iterdir()] == ["notes.txt"]


def test_sweep_report_prints_one_table_and_the_sweep_still_resumes(
    reference: Path, sweep_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "copy"
    shutil.copytree(reference, out)
    assert cli("sweep-report", str(out)) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"{out}: 8 runs (8 completed, 0 failed, 0 pending)"
    rows = [line.split() for line in lines[3:7]]
    assert [row[:3] for row in rows] == [
        ["2", "nearest_idle", "2"], ["2", "batch", "2"], ["3", "nearest_idle", "2"],
        ["3", "batch", "2"],
    ]  # fmt: skip
    assert len(lines) == 3 + 4 + 4  # heading, header, rule; a row per combination; legend
    summary = pd.read_csv(out / "summary.csv")
    assert len(summary) == 4 * summary["kpi"].nunique()
    shares = summary[summary["method"] == "wilson_pooled"]
    assert set(shares["kpi"]) == {"on_time_share", "on_time_among_delivered", "service_rate"}
    assert shares["low"].between(0, 1).all() and shares["high"].between(0, 1).all()
    assert (out / "summary.md").read_text("utf-8").count("\n| ") == 5
    # the summary files do not stop the sweep from resuming in its folder
    assert cli("sweep", str(sweep_file), "--out", str(out), "--no-progress") == 0
    assert "8 completed (0 now, 8 already done)" in capsys.readouterr().out
    assert cli("sweep-report", str(reference.parent)) == 2


def test_one_robot_point_of_a_fleet_sweep(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The tiny scenario with 1 or 3 robots: the headline on-time share shows what one robot
    cannot do, although the few orders it delivers are mostly on time."""
    folder = tmp_path / "fleet"
    folder.mkdir()
    sweep_file = folder / "sweep.yaml"
    sweep_file.write_text(
        yaml.safe_dump(
            {"name": "one-robot", "base": str(TINY), "seed": 2026, "replicates": 3,
             "grid": {"fleet.robots[0].count": [1, 3]}}
        ),
        "utf-8",
    )  # fmt: skip
    out = tmp_path / "out"
    assert cli("sweep", str(sweep_file), "--out", str(out), "--no-progress") == 0
    capsys.readouterr()
    assert cli("sweep-report", str(out)) == 0
    printed = capsys.readouterr().out
    assert [line.split()[:2] for line in printed.splitlines()[3:5]] == [["1", "3"], ["3", "3"]]
    summary = pd.read_csv(out / "summary.csv").set_index(["fleet.robots[0].count", "kpi"])
    one, three = summary.loc[1], summary.loc[3]
    on_time, delivered = one.loc["on_time_share"], one.loc["on_time_among_delivered"]
    assert on_time["method"] == "wilson_pooled" and on_time["replicates"] == 3
    assert on_time["high"] < delivered["low"]  # punctual deliveries do not hide the backlog
    assert on_time["high"] < three.loc["on_time_share"]["low"]
    assert one.loc["service_rate"]["high"] < three.loc["service_rate"]["low"]
    assert cli("plot", str(out)) == 0
    assert (out / "plots" / "service.png").stat().st_size > 10_000


def test_unreachable_scheduler_is_a_user_error(
    sweep_file: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr("carreta.sim.sweep.executors.CONNECT_TIMEOUT", "1s")
    out = tmp_path / "out"
    code = cli("sweep", str(sweep_file), "--out", str(out), "--scheduler", "tcp://127.0.0.1:9")
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("carreta: error: cannot use the Dask scheduler tcp://127.0.0.1:9: ")
    assert err.count("\n") == 1
    assert not out.exists()
