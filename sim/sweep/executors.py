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

When the executor itself fails — a local worker process dies and breaks the pool, the Dask
scheduler goes away — :meth:`Executor.run` yields the outcomes it still has, then raises
:class:`ExecutorLostError` once, with one line saying what was lost; the runner keeps the
completed runs and the sweep resumes on the next invocation.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import uuid
from collections.abc import Iterator, Mapping, Sequence
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
"""How long a sweep waits for a Dask scheduler's first worker before saying it is waiting."""

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


def _lost(task: RunTask, error: BaseException) -> RunOutcome:
    """The outcome of a task whose worker or executor failed (not the run itself)."""
    line = " ".join(f"{type(error).__name__}: {error}".split())
    return RunOutcome(task.run_id, "failed", error=line or type(error).__name__)


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

    Parameters
    ----------
    workers
        Number of worker processes (at least 1).
    start_method
        ``"forkserver"`` (default), ``"spawn"`` or ``"fork"``.
    """

    workers: int
    start_method: str = POOL_START_METHOD

    def describe(self) -> str:
        """One line for the manifest."""
        return f"process pool ({self.workers} workers, {self.start_method})"

    def run(self, tasks: Sequence[RunTask]) -> Iterator[RunOutcome]:
        """Submit every task, yield outcomes as they complete.

        Raises
        ------
        ExecutorLostError
            If a worker process dies (killed, out of memory): that breaks the pool. The outcomes
            of the runs finished before are yielded first; the message names the run the dead
            worker was doing and how it died.
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
        try:
            submitted = {pool.submit(_pool_execute, task): task for task in tasks}
            # The worker processes, kept to read how one died (a private attribute of the pool:
            # without it the message only lacks the signal).
            processes = dict(getattr(pool, "_processes", None) or {})
            yielded: set[futures.Future[RunOutcome]] = set()
            for future in futures.as_completed(submitted):
                if not isinstance(future.exception(), BrokenProcessPool):
                    yielded.add(future)
                    yield future.result()
                    continue
                yield from (
                    other.result()
                    for other in submitted
                    if other not in yielded and other.done() and other.exception() is None
                )
                processes.update(getattr(pool, "_processes", None) or {})
                raise ExecutorLostError(_worker_death(processes, _runs_started(started)))
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            started.close()


_run_starts: Any = None
"""In a pool worker process only: the queue told of each run it starts (set by the initializer)."""


def _init_pool_worker(started: Any) -> None:
    global _run_starts
    _run_starts = started


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


def _worker_death(processes: Mapping[int, Any], runs: Mapping[int, str]) -> str:
    """One line on the worker process that died and broke the pool."""
    codes = {pid: process.exitcode for pid, process in processes.items()}
    # The pool terminates (SIGTERM) the other workers after the first one dies.
    dead = [pid for pid, code in codes.items() if code not in (None, 0, -signal.SIGTERM)]
    dead = dead or [pid for pid, code in codes.items() if code not in (None, 0)]
    if not dead:
        return "a worker process died"
    pid = dead[0]
    code = codes[pid]
    if code < 0:
        how = f"killed by signal {-code}"
        if -code == signal.SIGKILL:
            how += " — out of memory?"
    else:
        how = f"exited with code {code}"
    run = f" during run {runs[pid]}" if pid in runs else ""
    return f"a worker process died ({how}){run}"


@dataclass(frozen=True)
class DaskExecutor:
    """Run the tasks on a Dask cluster through ``client``.

    The run folders are written by the workers: on a cluster of several machines, the sweep
    folder and the base scenario's files must be on a file system every worker sees.
    """

    client: Client

    def describe(self) -> str:
        """One line for the manifest."""
        info = self.client.scheduler_info(n_workers=-1)
        return f"dask ({info.get('address', '?')}, {len(info.get('workers', {}))} workers)"

    def run(self, tasks: Sequence[RunTask]) -> Iterator[RunOutcome]:
        """Submit every task, yield outcomes as they complete.

        A task whose worker dies is rescheduled by Dask (up to the scheduler's
        ``allowed-failures``); if Dask gives up, or the task is lost otherwise, it is reported
        failed and a resumed sweep redoes it. While the scheduler has no worker, the runs wait:
        after :data:`NO_WORKERS_GRACE_S` a warning says so, once, and the wait goes on (workers
        may join later; Ctrl-C stops the sweep, which resumes on the next invocation).

        Raises
        ------
        ExecutorLostError
            If the connection to the scheduler is lost (it stopped or was killed). Outcomes
            that had reached this process were yielded before.
        """
        from distributed import as_completed

        address = str(getattr(self.client.scheduler, "address", None) or "?")
        self._wait_for_workers(address)
        token = uuid.uuid4().hex[:8]  # keys unique to this submission
        submitted = {
            self.client.submit(execute_run, task, key=f"carreta-run-{task.run_id}-{token}"): task
            for task in tasks
        }
        try:
            for future in as_completed(submitted):
                try:
                    outcome = future.result()
                except futures.CancelledError as error:
                    if self._scheduler_lost(error):
                        raise ExecutorLostError(f"lost the Dask scheduler at {address}") from None
                    outcome = _lost(submitted[future], error)
                except Exception as error:  # noqa: BLE001 - a lost task is recorded as failed
                    if self._scheduler_lost(error):
                        raise ExecutorLostError(f"lost the Dask scheduler at {address}") from None
                    outcome = _lost(submitted[future], error)
                yield outcome
        finally:
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
