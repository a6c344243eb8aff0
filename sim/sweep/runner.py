"""Running a sweep: skip finished runs, execute the others, keep the runs table current.

:func:`run_sweep` is what ``carreta sweep`` calls; it works with any executor of
:mod:`carreta.sim.sweep.executors`. Running the same sweep again into the same folder resumes it:
runs whose folder is complete are skipped; unfinished and failed ones run again.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from carreta.sim.errors import SweepAbortedError
from carreta.sim.sweep.executors import Executor, ExecutorLostError
from carreta.sim.sweep.load import Sweep
from carreta.sim.sweep.results import (
    TABLE_FILE,
    RunsTable,
    prepare_sweep_dir,
    remove_leftovers,
    run_folder,
    sweep_lock,
    write_manifest,
)
from carreta.sim.sweep.worker import RunOutcome, RunTask

__all__ = ["ProgressCallback", "SweepSummary", "run_sweep", "sweep_tasks"]

logger = logging.getLogger(__name__)

ProgressCallback = Callable[[RunOutcome, dict[str, int]], None]
"""Called after each run with its outcome and the counts (completed, failed, pending)."""

TABLE_INTERVAL_S = 2.0
"""Least time between two rewrites of ``runs.parquet`` while runs complete."""


@dataclass(frozen=True)
class SweepSummary:
    """How a sweep invocation ended.

    Attributes
    ----------
    out_dir
        The sweep folder.
    total
        Runs in the sweep.
    completed, failed
        Runs in each state at the end (all of the sweep's runs, earlier invocations included).
    skipped
        Runs found complete at the start and not run again.
    wall_time_s
        Duration of this invocation.
    """

    out_dir: Path
    total: int
    completed: int
    failed: int
    skipped: int
    wall_time_s: float

    @property
    def table(self) -> Path:
        """The runs table, ``runs.parquet``."""
        return self.out_dir / TABLE_FILE

    @property
    def exit_code(self) -> int:
        """0 if every run completed, 1 if some failed."""
        return 0 if self.failed == 0 and self.completed == self.total else 1


def sweep_tasks(
    sweep: Sweep, out_dir: Path, *, command: Sequence[str] | None = None
) -> list[RunTask]:
    """The task of every run of ``sweep`` (whether or not it is done), in expansion order."""
    root = out_dir.resolve()
    return [
        RunTask(
            run_id=run.run_id,
            base_data=sweep.base_data,
            base_file=str(sweep.base_file),
            overrides=sweep.run_overrides(run),
            seed=run.seed,
            run_dir=str(run_folder(root, run)),
            command=tuple(command) if command is not None else None,
        )
        for run in sweep.runs
    ]


def run_sweep(
    sweep: Sweep,
    out_dir: Path,
    *,
    executor: Executor,
    command: Sequence[str] | None = None,
    on_progress: ProgressCallback | None = None,
    on_start: Callable[[int, int], None] | None = None,
) -> SweepSummary:
    """Run every unfinished run of ``sweep`` into ``out_dir`` and write its results table.

    Parameters
    ----------
    sweep
        A loaded sweep (:func:`carreta.sim.sweep.load.load_sweep`).
    out_dir
        The sweep folder: new, empty, or holding this same sweep (which then resumes).
    executor
        Where runs execute (:mod:`carreta.sim.sweep.executors`).
    command
        The command line, recorded in the manifests.
    on_progress
        Called after each run (see :data:`ProgressCallback`).
    on_start
        Called once before running with (runs in the sweep, runs already complete).

    Returns
    -------
    SweepSummary
        Counts; ``exit_code`` is 0 if every run completed, else 1.

    Raises
    ------
    ResultsExistError
        If ``out_dir`` holds something else than this sweep (nothing is changed then).
    SweepInUseError
        If another sweep is running in ``out_dir`` (it holds the folder's lock).
    KeyboardInterrupt
        On Ctrl-C (or a SIGTERM the caller turned into it): the completed runs are kept, in the
        runs table and the manifest (status ``"interrupted"``); running again resumes.
    SweepAbortedError
        If the executor fails (a worker process dies, the Dask scheduler goes away): no more
        runs are started, the completed ones are kept — in the runs table and the manifest
        (status ``"aborted"``) —, and the message says how many; running again resumes.
    """
    out_dir = Path(out_dir)
    with sweep_lock(out_dir):
        return _run_locked(
            sweep, out_dir, executor=executor, command=command, on_progress=on_progress,
            on_start=on_start,
        )  # fmt: skip


def _run_locked(
    sweep: Sweep,
    out_dir: Path,
    *,
    executor: Executor,
    command: Sequence[str] | None,
    on_progress: ProgressCallback | None,
    on_start: Callable[[int, int], None] | None,
) -> SweepSummary:
    """:func:`run_sweep`, with the folder's lock held."""
    started = time.perf_counter()
    resumed = prepare_sweep_dir(sweep, out_dir)
    table = RunsTable(sweep, out_dir)
    tasks = [
        task
        for task, run in zip(sweep_tasks(sweep, out_dir, command=command), sweep.runs, strict=True)
        if not table.is_complete(run)
    ]
    skipped = len(sweep.runs) - len(tasks)
    if resumed:
        logger.info(
            "resuming %s: %d of %d runs already complete", out_dir, skipped, len(sweep.runs)
        )
    session: dict[str, Any] = {
        "id": uuid.uuid4().hex,
        "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "executor": executor.describe(),
        "pid": os.getpid(),
        "runs_skipped": skipped,
        "runs_attempted": len(tasks),
    }

    def save(status: str) -> None:
        table.write()
        session["wall_time_s"] = round(time.perf_counter() - started, 3)
        write_manifest(
            out_dir, sweep, session=session, counts=table.counts(), status=status, command=command
        )

    save("running")
    if on_start is not None:
        on_start(len(sweep.runs), skipped)
    status = "interrupted"
    attempted = {task.run_id for task in tasks}

    def reconcile() -> None:
        """Runs whose folder is complete though their outcome never came back (a worker that
        published its folder as the sweep stopped) are complete: count them as kept."""
        for run in sweep.runs:
            if run.run_id in attempted:
                table.is_complete(run)

    outcomes = executor.run(tasks)
    try:
        last_write = time.monotonic()
        for outcome in outcomes:
            table.record(outcome)
            if outcome.status == "failed":
                logger.info("run %s failed: %s", outcome.run_id, outcome.error)
                if outcome.detail:
                    logger.debug("run %s traceback:\n%s", outcome.run_id, outcome.detail)
                if outcome.storage_error is not None:  # every next run would fail alike
                    status = "aborted"
                    kept = table.counts()["completed"]
                    raise SweepAbortedError(
                        f"{outcome.storage_error}: {kept} of {len(sweep.runs)} runs complete "
                        "and kept; free space (or fix the folder) and rerun the same command "
                        "to resume",
                        completed=kept,
                        total=len(sweep.runs),
                    )
            if on_progress is not None:
                on_progress(outcome, table.counts())
            if time.monotonic() - last_write >= TABLE_INTERVAL_S:
                table.write()
                last_write = time.monotonic()
        counts = table.counts()
        status = "completed" if counts["completed"] == len(sweep.runs) else "failed"
        remove_leftovers(out_dir)  # of runs retried after their worker was lost
    except ExecutorLostError as error:
        status = "aborted"
        reconcile()  # e.g. a Dask worker wrote a folder before the scheduler went away
        kept = table.counts()["completed"]
        raise SweepAbortedError(
            f"{error}: {kept} of {len(sweep.runs)} runs complete and kept; "
            "rerun the same command to resume",
            completed=kept,
            total=len(sweep.runs),
        ) from error
    finally:
        if status in ("interrupted", "aborted"):
            # Stop the runs under way first (a pool terminates its workers), then count what
            # they left complete, so the table agrees with the folders kept.
            close = getattr(outcomes, "close", None)
            if close is not None:
                close()
            reconcile()
        session["finished_at"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        try:
            save(status)
        except OSError as error:
            if status not in ("aborted", "interrupted"):
                raise
            # Already stopping (a full disk, Ctrl-C): the run folders stay the record.
            logger.warning("could not update the runs table and manifest: %s", error)
    counts = table.counts()
    return SweepSummary(
        out_dir=out_dir,
        total=len(sweep.runs),
        completed=counts["completed"],
        failed=counts["failed"] + counts["pending"],
        skipped=skipped,
        wall_time_s=time.perf_counter() - started,
    )
