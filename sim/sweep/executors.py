"""Where sweep runs execute: this process, a local process pool, or a Dask cluster.

Each executor takes the runs' :class:`~carreta.sim.sweep.worker.RunTask` list and yields one
:class:`~carreta.sim.sweep.worker.RunOutcome` per task, in completion order. A run's result does not
depend on the executor: every task carries its own seed and the worker builds a fresh world for
it (:mod:`carreta.sim.sweep.worker`).

- :class:`InProcessExecutor` runs the tasks one after the other (``--workers 1``).
- :class:`LocalPoolExecutor` uses :class:`concurrent.futures.ProcessPoolExecutor` with the
  ``forkserver`` start method (clean single-threaded children; the server preloads the
  simulator once, so a worker starts in a fraction of a second).
- :class:`DaskExecutor` submits to a :class:`distributed.Client`: an existing cluster
  (``tcp://host:port``) or a :class:`distributed.LocalCluster` started for the sweep. When a
  worker dies, Dask reschedules its task on another worker.

A run whose worker is lost — a local worker process killed (by the OOM killer, say), which breaks
the pool, or a Dask worker gone — is started again, at most :data:`MAX_RETRIES` more times, in the
same command (runs are deterministic: a retried run gives the same results). When that is not
enough, or the executor itself fails — the Dask scheduler goes away —, :meth:`Executor.run`
yields the outcomes it still has, then raises :class:`ExecutorLostError` once, with one line
saying what was lost; the runner keeps the completed runs and the sweep resumes on the next
invocation.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
import time
import uuid
from collections.abc import Generator, Iterator, Mapping, Sequence
from concurrent import futures
from concurrent.futures.process import BrokenProcessPool
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from carreta.routing.errors import CarretaError
from carreta.sim.sweep.worker import RunOutcome, RunTask, execute_run

if TYPE_CHECKING:
    from distributed import Client

__all__ = [
    "DaskExecutor",
    "Executor",
    "ExecutorError",
    "ExecutorLostError",
    "InProcessExecutor",
    "LocalPoolExecutor",
    "dask_client",
]

logger = logging.getLogger(__name__)

CONNECT_TIMEOUT = "20s"
"""How long to try reaching a Dask scheduler."""

NO_WORKERS_GRACE_S = 30.0
"""How long a sweep waits without any Dask worker (at the start, or after losing them all) before
saying it is waiting."""

WORKERS_POLL_S = 1.0
"""How often a Dask sweep checks that its scheduler still has workers."""

MAX_RETRIES = 2
"""How many times a run whose worker was lost (killed, out of memory) is started again."""

POOL_START_METHOD = "forkserver"
"""Start method of the local pool (see docs/benchmarks.md, "Sweeps", for the measurements)."""


class ExecutorError(CarretaError, RuntimeError):
    """Runs cannot execute where asked: Dask is not installed, or its scheduler is unreachable."""


class ExecutorLostError(ExecutorError):
    """The executor failed during the sweep: a pool worker died, the Dask scheduler went away.

    ``str(error)`` is one line saying what was lost (``"lost the Dask scheduler at tcp://…"``);
    the runs that completed before are kept, the others are not done.
    """


class Executor(Protocol):
    """Runs tasks and yields their outcomes as they complete."""

    def describe(self) -> str:
        """One line saying where runs execute (recorded in the sweep manifest)."""
        ...

    def run(self, tasks: Sequence[RunTask]) -> Iterator[RunOutcome]:
        """Execute every task; yield one outcome per task, in completion order."""
        ...


def _one_line(error: BaseException) -> str:
    """``"<ExceptionType>: <message>"`` on one line."""
    return " ".join(f"{type(error).__name__}: {error}".split()).removesuffix(":")


@dataclass(frozen=True)
class InProcessExecutor:
    """Run the tasks one after the other in this process."""

    def describe(self) -> str:
        """One line for the manifest."""
        return "in-process"

    def run(self, tasks: Sequence[RunTask]) -> Iterator[RunOutcome]:
        """Execute the tasks in order."""
        for task in tasks:
            yield execute_run(task)


@dataclass(frozen=True)
class LocalPoolExecutor:
    """Run the tasks on ``workers`` local processes.

    A worker process that dies (killed, out of memory) breaks the pool: the outcomes already
    made are kept, a new pool is started and the unfinished runs are submitted again. The run
    the dead worker was doing is started at most ``max_retries`` more times; then the sweep stops
    (:class:`ExecutorLostError` naming the run). Runs are deterministic, so a retried run gives
    the same results as a first attempt.

    Parameters
    ----------
    workers
        Number of worker processes (at least 1).
    start_method
        ``"forkserver"`` (default), ``"spawn"`` or ``"fork"``.
    max_retries
        How many times a run whose worker died is started again.
    """

    workers: int
    start_method: str = POOL_START_METHOD
    max_retries: int = MAX_RETRIES

    def describe(self) -> str:
        """One line for the manifest."""
        return f"process pool ({self.workers} workers, {self.start_method})"

    def run(self, tasks: Sequence[RunTask]) -> Iterator[RunOutcome]:
        """Submit every task, yield outcomes as they complete.

        Raises
        ------
        ExecutorLostError
            If the worker processes doing one run died more than ``max_retries`` times (or
            died that often outside any run). The outcomes of the runs finished before are
            yielded first; the message names the run and how its worker died.
        """
        remaining = {task.run_id: task for task in tasks}
        attempts: dict[str | None, int] = {}
        while remaining:
            lost = yield from self._pool_round(list(remaining.values()), remaining)
            if lost is None:
                return
            death, suspects = lost
            for run_id in suspects:
                attempts[run_id] = attempts.get(run_id, 0) + 1
            worst = max(suspects, key=lambda run_id: attempts[run_id])
            if attempts[worst] > self.max_retries:
                where = (
                    "outside any run" if worst is None
                    else "" if death.endswith(f"during run {worst}") else f"for run {worst}"
                )  # fmt: skip
                raise ExecutorLostError(
                    f"{death} ({attempts[worst]} attempts {where}".rstrip() + ", not retried again)"
                )
            for run_id in suspects:  # the others first: they are kept if the sweep stops
                if run_id is not None and run_id in remaining:
                    remaining[run_id] = remaining.pop(run_id)
            logger.warning(
                "%s: retrying the %d unfinished run(s) on a new pool", death, len(remaining)
            )

    def _pool_round(
        self, tasks: Sequence[RunTask], remaining: dict[str, RunTask]
    ) -> Generator[RunOutcome, None, tuple[str, list[str | None]] | None]:
        """Run ``tasks`` on a new pool, removing each finished one from ``remaining``.

        Returns None when every task finished, else (what happened, the runs to blame).
        """
        context = multiprocessing.get_context(self.start_method)
        if self.start_method == "forkserver":
            context.set_forkserver_preload(["carreta.sim.sweep.worker"])
        started = context.SimpleQueue()  # (pid, run_id) as each run starts in a worker
        pool = futures.ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=context,
            initializer=_init_pool_worker,
            initargs=(started,),
        )
        ended = False
        try:
            submitted = {pool.submit(_pool_execute, task): task for task in tasks}
            # The worker processes, kept to read how one died (a private attribute of the pool:
            # without it the message only lacks the signal).
            processes = dict(getattr(pool, "_processes", None) or {})
            for future in futures.as_completed(submitted):
                if isinstance(future.exception(), BrokenProcessPool):
                    break
                remaining.pop(submitted[future].run_id, None)
                yield future.result()
            else:
                ended = True
                return None
            for other in submitted:  # finished before the pool broke
                task = submitted[other]
                if task.run_id in remaining and other.done() and other.exception() is None:
                    remaining.pop(task.run_id)
                    yield other.result()
            processes.update(getattr(pool, "_processes", None) or {})
            ended = True
            pool.shutdown(wait=True, cancel_futures=True)  # every worker ended: exit codes known
            runs = {pid: run for pid, run in _runs_started(started).items() if run in remaining}
            return _blame(processes, runs)
        finally:
            if not ended:  # interrupted (Ctrl-C, SIGTERM) or closed: stop the runs under way
                for process in (getattr(pool, "_processes", None) or {}).values():
                    if process.is_alive():
                        process.terminate()
            pool.shutdown(wait=True, cancel_futures=True)
            started.close()


_run_starts: Any = None
"""In a pool worker process only: the queue told of each run it starts (set by the initializer)."""


def _init_pool_worker(started: Any) -> None:
    global _run_starts
    _run_starts = started
    # The pool's processes already share the cores: one planning thread per run (unless the
    # user chose otherwise; see carreta.sim.model.policies.tours.planning_threads).
    os.environ.setdefault("CARRETA_PLANNING_THREADS", "1")


def _pool_execute(task: RunTask) -> RunOutcome:
    """:func:`execute_run` in a pool worker, telling the parent which run this process does."""
    if _run_starts is not None:
        _run_starts.put((os.getpid(), task.run_id))
    return execute_run(task)


def _runs_started(started: Any) -> dict[int, str]:
    """The last run each worker process started (worker pid → run id)."""
    last: dict[int, str] = {}
    while not started.empty():
        pid, run_id = started.get()
        last[pid] = run_id
    return last


def _dead_workers(processes: Mapping[int, Any]) -> dict[int, int]:
    """Worker pid → exit code of the processes that died by themselves (not stopped by the pool)."""
    codes = {pid: process.exitcode for pid, process in processes.items()}
    # The pool terminates (SIGTERM) the other workers after the first one dies.
    dead = {pid: code for pid, code in codes.items() if code not in (None, 0, -signal.SIGTERM)}
    return dead or {pid: code for pid, code in codes.items() if code not in (None, 0)}


def _death_line(code: int | None, run_id: str | None) -> str:
    """``"a worker process died (killed by signal 9 — out of memory?) during run …"``."""
    if code is None:
        return "a worker process died"
    if code < 0:
        how = f"killed by signal {-code}"
        if -code == signal.SIGKILL:
            how += " — out of memory?"
    else:
        how = f"exited with code {code}"
    run = f" during run {run_id}" if run_id is not None else ""
    return f"a worker process died ({how}){run}"


def _blame(processes: Mapping[int, Any], runs: Mapping[int, str]) -> tuple[str, list[str | None]]:
    """What broke the pool, and the unfinished runs to count an attempt against.

    ``runs`` maps worker pids to the unfinished run each started last. The runs of the workers
    that died are blamed; if no dead worker is known to have been doing a run, every unfinished
    run that had started is; if none had, ``None`` (a death outside any run).
    """
    dead = _dead_workers(processes)
    blamed: list[str | None] = [runs[pid] for pid in dead if pid in runs]
    pid = next((pid for pid in dead if pid in runs), next(iter(dead), None))
    line = _death_line(None if pid is None else dead[pid], None if pid is None else runs.get(pid))
    if not blamed:
        blamed = list(dict.fromkeys(runs.values())) or [None]
    return line, blamed


def _worker_death(processes: Mapping[int, Any], runs: Mapping[int, str]) -> str:
    """One line on the worker process that died and broke the pool."""
    return _blame(processes, runs)[0]


@dataclass(frozen=True)
class DaskExecutor:
    """Run the tasks on a Dask cluster through ``client``.

    The run folders are written by the workers: on a cluster of several machines, the sweep
    folder and the base scenario's files must be on a file system every worker sees.
    """

    client: Client
    max_retries: int = MAX_RETRIES

    def describe(self) -> str:
        """One line for the manifest."""
        info = self.client.scheduler_info(n_workers=-1)
        return f"dask ({info.get('address', '?')}, {len(info.get('workers', {}))} workers)"

    def run(self, tasks: Sequence[RunTask]) -> Iterator[RunOutcome]:
        """Submit every task, yield outcomes as they complete.

        A task whose worker dies is rescheduled by Dask (up to the scheduler's
        ``allowed-failures``). A task lost otherwise (its future cancelled or failed outside the
        run: :func:`~carreta.sim.sweep.worker.execute_run` itself never raises) is submitted
        again, at most ``max_retries`` times. While the scheduler has no worker — at the start,
        or after losing them all —, the runs wait: after :data:`NO_WORKERS_GRACE_S` a warning
        says so, once per wait, and the wait goes on (workers may join later; Ctrl-C stops the
        sweep, which resumes on the next invocation).

        Raises
        ------
        ExecutorLostError
            If the connection to the scheduler is lost (it stopped or was killed), or a run
            killed every worker Dask gave it (``KilledWorker``: out of memory?), or was lost more
            than ``max_retries`` times. Outcomes that had reached this process were yielded
            before.
        """
        from distributed import as_completed
        from distributed.scheduler import KilledWorker

        address = str(getattr(self.client.scheduler, "address", None) or "?")
        self._wait_for_workers(address)
        token = uuid.uuid4().hex[:8]  # keys unique to this submission
        attempts: dict[str, int] = {}
        submitted: dict[Any, RunTask] = {}

        def submit(task: RunTask) -> Any:
            attempts[task.run_id] = attempts.get(task.run_id, 0) + 1
            key = f"carreta-run-{task.run_id}-{token}-{attempts[task.run_id]}"
            future = self.client.submit(execute_run, task, key=key)
            submitted[future] = task
            return future

        pending = as_completed([submit(task) for task in tasks])
        watch = _WorkersWatch(self.client, address)
        watch.start()
        try:
            for future in pending:
                task = submitted[future]
                try:
                    outcome = future.result()
                except (futures.CancelledError, Exception) as error:  # noqa: BLE001 - see below
                    # execute_run records every failure of the run itself: this is the task lost.
                    if self._scheduler_lost(error):
                        raise ExecutorLostError(f"lost the Dask scheduler at {address}") from None
                    problem = _one_line(error)
                    if isinstance(error, KilledWorker):
                        raise ExecutorLostError(
                            f"run {task.run_id} killed every Dask worker that ran it (out of "
                            "memory?): not retried again"
                        ) from None
                    if attempts[task.run_id] > self.max_retries:
                        raise ExecutorLostError(
                            f"run {task.run_id} was lost {attempts[task.run_id]} times on the "
                            f"Dask cluster ({problem}): not retried again"
                        ) from None
                    logger.warning("run %s was lost (%s): retrying it", task.run_id, problem)
                    pending.add(submit(task))
                    continue
                yield outcome
        finally:
            watch.stop()
            if self.client.status == "running":
                self.client.cancel(list(submitted))

    def _scheduler_lost(self, error: BaseException) -> bool:
        """True if ``error`` comes from losing the scheduler rather than from the task."""
        if self.client.status != "running":
            return True
        reason = str(getattr(error, "reason", "") or error)
        return "scheduler-connection-lost" in reason or "connection" in reason.lower()

    def _wait_for_workers(self, address: str) -> None:
        """Wait for a first worker; say so once if none came within the grace period."""
        try:
            try:
                self.client.wait_for_workers(1, timeout=NO_WORKERS_GRACE_S)
            except TimeoutError:
                logger.warning(
                    "the Dask scheduler at %s has no workers yet: waiting "
                    "(Ctrl-C to stop; the sweep resumes)",
                    address,
                )
                self.client.wait_for_workers(1)
        except OSError:  # the connection closed while waiting
            raise ExecutorLostError(f"lost the Dask scheduler at {address}") from None


class _WorkersWatch:
    """A thread that says, once per wait, when the Dask scheduler has had no worker for
    :data:`NO_WORKERS_GRACE_S` during a sweep (all of them lost, none joined again)."""

    def __init__(self, client: Client, address: str) -> None:
        self._client = client
        self._address = address
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="carreta-workers-watch",
                                        daemon=True)  # fmt: skip

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=5 * WORKERS_POLL_S)

    def _workers(self) -> int | None:
        if self._client.status != "running":
            return None
        try:
            return len(self._client.nthreads())
        except (OSError, TimeoutError, RuntimeError, futures.CancelledError):
            return None  # the scheduler is going away: the sweep says so itself

    def _watch(self) -> None:
        empty_since: float | None = None
        told = False
        while not self._stopped.wait(WORKERS_POLL_S):
            workers = self._workers()
            if workers is None:
                return
            if workers:
                if told:
                    logger.warning("the Dask scheduler at %s has workers again", self._address)
                empty_since, told = None, False
                continue
            now = time.monotonic()
            empty_since = now if empty_since is None else empty_since
            if not told and now - empty_since >= NO_WORKERS_GRACE_S:
                logger.warning(
                    "the Dask scheduler at %s has lost all its workers: the remaining runs "
                    "wait for one (Ctrl-C to stop; the sweep resumes)",
                    self._address,
                )
                told = True


def dask_client(
    *, scheduler: str | None = None, local_workers: int | None = None
) -> AbstractContextManager[Client]:
    """A Dask client for a sweep: connect to ``scheduler`` or start a local cluster.

    Parameters
    ----------
    scheduler
        Address of a running scheduler, e.g. ``"tcp://10.0.0.5:8786"``.
    local_workers
        Start a :class:`distributed.LocalCluster` of this many single-threaded worker
        processes on 127.0.0.1 for the duration of the sweep (closed afterwards).

    Raises
    ------
    ValueError
        If neither or both are given.
    ExecutorError
        If Dask is not installed or the scheduler cannot be reached (when entered).
    """
    if (scheduler is None) == (local_workers is None):
        raise ValueError("give exactly one of scheduler and local_workers")
    return _dask_client(scheduler, local_workers)


class _QuietAfterLoss(logging.Filter):
    """Drops the Dask client's records once its scheduler is known to be lost."""

    def __init__(self) -> None:
        super().__init__()
        self.lost = False

    def filter(self, record: logging.LogRecord) -> bool:
        return not self.lost


@contextmanager
def _dask_client(scheduler: str | None, local_workers: int | None) -> Iterator[Client]:
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ExecutorError("Dask is not installed: pip install 'carreta[dask]'") from None
    if scheduler is not None:
        try:
            connected = Client(scheduler, timeout=CONNECT_TIMEOUT)
        except (OSError, TimeoutError, ValueError) as error:
            problem = " ".join(str(error).split()) or type(error).__name__
            raise ExecutorError(f"cannot use the Dask scheduler {scheduler}: {problem}") from None
        # Once the scheduler is gone, closing the client makes it log its failed reconnection
        # (a traceback): the sweep says that in its own line (ExecutorLostError).
        quiet = _QuietAfterLoss()
        client_logger = logging.getLogger("distributed.client")
        client_logger.addFilter(quiet)
        try:
            yield connected
        finally:
            quiet.lost = connected.status != "running"
            try:
                connected.close()
            finally:
                client_logger.removeFilter(quiet)
        return
    with (
        LocalCluster(
            n_workers=local_workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            # The scheduler's HTTP routes (health, metrics) on a free loopback port: no clash
            # with another cluster's default port 8787.
            scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
            silence_logs=logging.WARNING,
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client
