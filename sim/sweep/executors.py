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
"""

from __future__ import annotations

import logging
import multiprocessing
import uuid
from collections.abc import Iterator, Sequence
from concurrent import futures
from concurrent.futures.process import BrokenProcessPool
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from carreta.routing.errors import CarretaError
from carreta.sim.sweep.worker import RunOutcome, RunTask, execute_run

if TYPE_CHECKING:
    from distributed import Client

__all__ = [
    "DaskExecutor",
    "Executor",
    "ExecutorError",
    "InProcessExecutor",
    "LocalPoolExecutor",
    "dask_client",
]

logger = logging.getLogger(__name__)

CONNECT_TIMEOUT = "20s"
"""How long to try reaching a Dask scheduler."""

POOL_START_METHOD = "forkserver"
"""Start method of the local pool (see docs/benchmarks.md, "Sweeps", for the measurements)."""


class ExecutorError(CarretaError, RuntimeError):
    """Runs cannot execute where asked: Dask is not installed, or its scheduler is unreachable."""


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

        A worker process that dies (killed, out of memory) breaks the pool: its task and the
        ones not yet finished are reported failed, and a resumed sweep redoes them.
        """
        context = multiprocessing.get_context(self.start_method)
        if self.start_method == "forkserver":
            context.set_forkserver_preload(["carreta.sim.sweep.worker"])
        pool = futures.ProcessPoolExecutor(max_workers=self.workers, mp_context=context)
        try:
            submitted = {pool.submit(execute_run, task): task for task in tasks}
            for future in futures.as_completed(submitted):
                try:
                    yield future.result()
                except BrokenProcessPool as error:
                    yield _lost(submitted[future], error)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


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
        failed and a resumed sweep redoes it.
        """
        from distributed import as_completed

        token = uuid.uuid4().hex[:8]  # keys unique to this submission
        submitted = {
            self.client.submit(execute_run, task, key=f"carreta-run-{task.run_id}-{token}"): task
            for task in tasks
        }
        try:
            for future in as_completed(submitted):
                try:
                    yield future.result()
                except Exception as error:  # noqa: BLE001 - a lost task is recorded as failed
                    yield _lost(submitted[future], error)
        finally:
            self.client.cancel(list(submitted))


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
        with connected as client:
            yield client
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
