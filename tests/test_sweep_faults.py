"""Faults of the executors: retried in the same command, or one line and a folder that resumes.

A pool worker killed by SIGKILL (as the OOM killer does) once — the run is retried, the sweep
completes with the table of an uninterrupted one — or every time — the sweep stops after the
retries, in one line —, a Dask scheduler killed mid-sweep, a scheduler without workers, a cluster
that loses all its workers mid-sweep, two sweeps on one folder. The sweeps are the tiny scenario
shortened to runs of well under a second (see tests/test_sweep_run.py), on the real Montpellier
extract.
"""

from __future__ import annotations

import errno
import functools
import json
import logging
import os
import re
import signal
import socket
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
from carreta.sim.sweep import executors
from carreta.sim.sweep.executors import InProcessExecutor
from carreta.sim.sweep.load import load_sweep
from carreta.sim.sweep.results import sweep_lock
from carreta.sim.sweep.runner import run_sweep
from carreta.sim.sweep.worker import RunOutcome, RunTask, execute_run, is_complete_run

pytestmark = pytest.mark.slow

PROJECT = Path(__file__).resolve().parents[1]
TINY = PROJECT / "scenarios" / "tiny.yaml"
SWEEP: dict[str, Any] = {
    "name": "fault-sweep",
    "base": str(TINY),
    "seed": 5,
    "replicates": 3,
    "overrides": {"demand.orders_per_day": 30, "simulation.duration_h": 2.5},
    "grid": {"fleet.robots[0].count": [2, 3], "dispatch.policy": ["nearest_idle", "batch"]},
}
RUNS = 12
VICTIM_INDEX = 2  # the run during which the pool worker kills itself
KEPT = re.compile(r": (\d+) of (\d+) runs complete and kept; rerun the same command to resume$")


def write_sweep(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "sweep.yaml"
    path.write_text(yaml.safe_dump(SWEEP, sort_keys=False), "utf-8")
    return path


def cli(*args: str | Path) -> int:
    with pytest.raises(SystemExit) as caught:
        main([str(arg) for arg in args])
    return int(caught.value.code or 0)


def error_line(stderr: str) -> str:
    """The one ``carreta: error:`` line; fails if there are several or a traceback."""
    assert "Traceback" not in stderr and "CancelledError" not in stderr, stderr
    lines = [line for line in stderr.splitlines() if line.startswith("carreta: error:")]
    assert len(lines) == 1, stderr
    return lines[0]


def any_published_run(runs: Path) -> bool:
    """True once a run folder is published: complete and under its own name, not the hidden
    ``.<run_id>.<n>.tmp`` folder that write_run fills first (killing then would keep none)."""
    return runs.is_dir() and any(
        not entry.name.startswith(".") and is_complete_run(entry) for entry in runs.iterdir()
    )


def assert_folder_consistent(out: Path, kept: int, late: frozenset[str] = frozenset()) -> None:
    """The runs table, the manifest and the run folders agree on the ``kept`` runs, beside the
    ``late`` ones: complete folders that a worker cut off from its scheduler went on to publish
    after the command had counted what it kept (a rerun adopts them)."""
    table = pd.read_parquet(out / "runs.parquet")
    assert len(table) == RUNS
    assert (table["status"] == "completed").sum() == kept
    assert set(table["status"]) <= {"completed", "pending"}  # lost runs are not "failed"
    folders = {entry.name for entry in (out / "runs").iterdir() if not entry.name.startswith(".")}
    assert folders == set(table.loc[table["status"] == "completed", "run_id"]) | late
    assert all(is_complete_run(out / "runs" / run_id) for run_id in late)
    manifest = json.loads((out / "manifest.json").read_text("utf-8"))
    assert manifest["status"] == "aborted"
    assert manifest["runs_completed"] == kept


def resume(out: Path, sweep_file: Path, kept: int, capsys: pytest.CaptureFixture[str]) -> None:
    """Rerunning the command skips the kept runs and completes the others."""
    assert cli("sweep", sweep_file, "--out", out, "--no-progress") == 0
    assert f"{RUNS} runs: {RUNS} completed ({RUNS - kept} now, {kept} already done)" in (
        capsys.readouterr().out
    )
    table = pd.read_parquet(out / "runs.parquet")
    assert (table["status"] == "completed").all()


# --- a local pool worker killed ------------------------------------------------------------------


def kill_self_during_victim(task: RunTask, *, victim: str, kills: Path | None = None) -> RunOutcome:
    """Stand-in for execute_run in forked pool workers: SIGKILL this process on ``victim``
    (every time, or only the first time when ``kills`` counts them in a file)."""
    if task.run_id == victim and (kills is None or not kills.exists()):
        if kills is not None:
            kills.write_text("killed once", "utf-8")
        os.kill(os.getpid(), signal.SIGKILL)
    return execute_run(task)


def fork_pool(monkeypatch: pytest.MonkeyPatch, victim: str, kills: Path | None) -> None:
    """Make the sweep's pool fork its workers, which inherit the killing execute_run."""
    monkeypatch.setattr(
        executors,
        "execute_run",
        functools.partial(kill_self_during_victim, victim=victim, kills=kills),
    )
    pool = functools.partial(executors.LocalPoolExecutor, start_method="fork")
    monkeypatch.setattr(executors, "LocalPoolExecutor", pool)


def test_pool_worker_killed_once_is_retried_and_the_table_is_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    sweep_file = write_sweep(tmp_path)
    sweep = load_sweep(sweep_file)
    victim = sweep.runs[VICTIM_INDEX].run_id
    out = tmp_path / "out"
    fork_pool(monkeypatch, victim, tmp_path / "kills")

    with caplog.at_level(logging.WARNING, logger="carreta"):
        assert cli("sweep", sweep_file, "--out", out, "--workers", "2", "--no-progress") == 0

    assert (tmp_path / "kills").exists()  # the victim's worker did die
    assert f"{RUNS} runs: {RUNS} completed ({RUNS} now, 0 already done)" in capsys.readouterr().out
    retries = [r.getMessage() for r in caplog.records if "retrying" in r.getMessage()]
    assert len(retries) == 1 and retries[0].startswith("a worker process died"), retries
    monkeypatch.undo()
    reference = tmp_path / "reference"
    assert run_sweep(sweep, reference, executor=InProcessExecutor()).exit_code == 0
    table = pd.read_parquet(out / "runs.parquet").drop(columns=["wall_time_s"])
    expected = pd.read_parquet(reference / "runs.parquet").drop(columns=["wall_time_s"])
    pd.testing.assert_frame_equal(table, expected)
    assert not [entry for entry in (out / "runs").iterdir() if entry.name.startswith(".")]


def test_pool_worker_killed_every_time_stops_after_the_retries_in_one_line_and_resumes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    sweep_file = write_sweep(tmp_path)
    victim = load_sweep(sweep_file).runs[VICTIM_INDEX].run_id
    out = tmp_path / "out"
    fork_pool(monkeypatch, victim, None)

    with caplog.at_level(logging.WARNING, logger="carreta"):
        assert cli("sweep", sweep_file, "--out", out, "--workers", "2", "--no-progress") == 2

    line = error_line(capsys.readouterr().err)
    # The signal is named when the pool reports it (it does not always, under load).
    assert line.startswith("carreta: error: a worker process died"), line
    assert f"during run {victim} (3 attempts, not retried again)" in line or (
        f"(3 attempts for run {victim}, not retried again)" in line  # the pool did not say
    ), line
    retries = [r.getMessage() for r in caplog.records if "retrying the" in r.getMessage()]
    assert len(retries) == 2, retries  # two retries, each said (on stderr, without pytest)
    match = KEPT.search(line)
    assert match is not None, line
    kept, total = int(match[1]), int(match[2])
    assert total == RUNS and 1 <= kept < RUNS
    assert_folder_consistent(out, kept)

    monkeypatch.undo()
    resume(out, sweep_file, kept, capsys)


def test_a_second_sweep_on_a_busy_folder_is_refused_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sweep_file = write_sweep(tmp_path)
    out = tmp_path / "out"
    with sweep_lock(out):  # what a running sweep holds
        assert cli("sweep", sweep_file, "--out", out, "--no-progress") == 2
    line = error_line(capsys.readouterr().err)
    assert f"{out} is in use by another sweep (it has just started)" in line, line
    assert line.endswith("wait until it ends, or choose another --out"), line
    assert [entry.name for entry in out.iterdir()] == [".sweep.lock"]  # nothing else made
    with sweep_lock(out):  # released when the sweep ended (the system releases it if it dies)
        pass


# --- Dask: a scheduler killed, a scheduler without workers ---------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start(*args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.kill()
    process.wait(timeout=30)


@pytest.fixture
def scheduler() -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A Dask scheduler process on loopback, without workers."""
    pytest.importorskip("distributed")
    port = free_port()
    process = start(
        "distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", str(port),
        "--no-dashboard",
    )  # fmt: skip
    address = f"tcp://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:  # wait until it listens
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            assert time.monotonic() < deadline, "the scheduler did not start"
            time.sleep(0.1)
    yield address, process
    stop(process)


def start_worker(address: str, *extra: str) -> subprocess.Popen[bytes]:
    return start(
        "distributed.cli.dask_worker", address, "--nworkers", "1", "--nthreads", "1",
        "--no-dashboard", *extra,
    )  # fmt: skip


def test_dask_scheduler_killed_mid_sweep_is_one_line_exit_2_and_resumes(
    tmp_path: Path,
    scheduler: tuple[str, subprocess.Popen[bytes]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    address, scheduler_process = scheduler
    worker = start_worker(address)
    sweep_file = write_sweep(tmp_path)
    out = tmp_path / "out"

    def kill_after_first_run() -> None:
        runs = out / "runs"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if any_published_run(runs):
                scheduler_process.send_signal(signal.SIGKILL)
                return
            time.sleep(0.02)

    killer = threading.Thread(target=kill_after_first_run)
    killer.start()
    try:
        code = cli("sweep", sweep_file, "--out", out, "--scheduler", address, "--no-progress")
    finally:
        killer.join()
        stop(worker)

    assert code == 2
    line = error_line(capsys.readouterr().err)
    assert line.startswith(f"carreta: error: lost the Dask scheduler at {address}: "), line
    match = KEPT.search(line)
    assert match is not None, line
    kept = int(match[1])
    assert int(match[2]) == RUNS and 1 <= kept < RUNS
    # The worker (one thread) may finish the run it had when the scheduler died and publish it
    # before it is stopped, after the command counted what it kept: one folder at most, complete.
    table = pd.read_parquet(out / "runs.parquet")
    counted = set(table.loc[table["status"] == "completed", "run_id"])
    published = {entry.name for entry in (out / "runs").iterdir() if not entry.name.startswith(".")}
    late = frozenset(published - counted)
    assert len(late) <= 1, late
    assert_folder_consistent(out, kept, late)
    resume(out, sweep_file, kept + len(late), capsys)


def test_scheduler_without_workers_says_so_once_then_runs_when_one_joins(
    tmp_path: Path,
    scheduler: tuple[str, subprocess.Popen[bytes]],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    address, _ = scheduler
    monkeypatch.setattr(executors, "NO_WORKERS_GRACE_S", 0.5)
    sweep_file = write_sweep(tmp_path)
    waiting = f"the Dask scheduler at {address} has no workers yet: waiting"
    workers: list[subprocess.Popen[bytes]] = []

    def join_when_told() -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if any(waiting in record.getMessage() for record in caplog.records):
                time.sleep(1.0)  # still waiting, silently, after the warning
                workers.append(start_worker(address))
                return
            time.sleep(0.05)

    helper = threading.Thread(target=join_when_told)
    helper.start()
    try:
        with caplog.at_level(logging.WARNING, logger="carreta"):
            code = cli(
                "sweep", sweep_file, "--out", tmp_path / "out", "--scheduler", address,
                "--no-progress",
            )  # fmt: skip
    finally:
        helper.join()
        for worker in workers:
            stop(worker)
    assert code == 0
    messages = [record.getMessage() for record in caplog.records]
    assert [message for message in messages if waiting in message] == [
        f"{waiting} (Ctrl-C to stop; the sweep resumes)"
    ]


def test_a_cluster_that_loses_all_its_workers_says_so_and_goes_on_when_one_joins(
    tmp_path: Path,
    scheduler: tuple[str, subprocess.Popen[bytes]],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    address, _ = scheduler
    monkeypatch.setattr(executors, "NO_WORKERS_GRACE_S", 0.5)
    monkeypatch.setattr(executors, "WORKERS_POLL_S", 0.2)
    sweep_file = write_sweep(tmp_path)
    out = tmp_path / "out"
    lost = f"the Dask scheduler at {address} has lost all its workers"
    first = start_worker(address, "--no-nanny")  # killing it kills the worker itself
    workers = [first]

    def kill_then_replace() -> None:
        runs = out / "runs"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if any_published_run(runs):
                first.send_signal(signal.SIGKILL)
                break
            time.sleep(0.02)
        while time.monotonic() < deadline:
            if any(lost in record.getMessage() for record in caplog.records):
                time.sleep(1.0)  # still waiting, silently, after the warning
                workers.append(start_worker(address))
                return
            time.sleep(0.05)

    helper = threading.Thread(target=kill_then_replace)
    helper.start()
    try:
        with caplog.at_level(logging.WARNING, logger="carreta"):
            code = cli("sweep", sweep_file, "--out", out, "--scheduler", address, "--no-progress")
    finally:
        helper.join()
        for worker in workers:
            stop(worker)
    assert code == 0
    messages = [record.getMessage() for record in caplog.records]
    assert [message for message in messages if lost in message] == [
        f"{lost}: the remaining runs wait for one (Ctrl-C to stop; the sweep resumes)"
    ]
    table = pd.read_parquet(out / "runs.parquet")
    assert len(table) == RUNS and (table["status"] == "completed").all()


# --- a full disk ----------------------------------------------------------------------------------


def test_a_full_disk_stops_the_sweep_in_one_line_and_keeps_the_finished_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """ENOSPC while a run's folder is written: every later run would fail alike, so the sweep
    stops at once (exit 2, one line naming the folder and the runs kept); freed, it resumes."""
    from carreta.sim.sweep import worker

    sweep_file = write_sweep(tmp_path)
    out = tmp_path / "out"
    written = {"runs": 0}
    real = worker._simulate_into

    def disk_fills_after_three(task: RunTask, run_dir: Path) -> None:
        if written["runs"] >= 3:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(run_dir / "legs.parquet"))
        real(task, run_dir)
        written["runs"] += 1

    monkeypatch.setattr(worker, "_simulate_into", disk_fills_after_three)
    assert cli("sweep", sweep_file, "--out", out, "--no-progress") == 2
    line = error_line(capsys.readouterr().err)
    assert f"{os.strerror(errno.ENOSPC)}: 3 of {RUNS} runs complete and kept; free space" in line
    assert str(out / "runs") in line
    table = pd.read_parquet(out / "runs.parquet")
    assert (table["status"] == "completed").sum() == 3 and (table["status"] == "failed").sum() == 1
    monkeypatch.undo()
    resume(out, sweep_file, 3, capsys)
