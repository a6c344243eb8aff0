"""One sweep run, as a worker executes it: a small picklable task in, a small outcome out.

A :class:`RunTask` carries only the parsed base scenario, the overrides, the seed and the run
folder: never the street graph. Each worker process loads the graph once per network (see
:func:`worker_graph`, the one process-level cache of the package) and builds a fresh
:class:`~carreta.sim.model.world.World` from it for every run, so a run's results do not depend on
which runs the same process did before.
"""

from __future__ import annotations

import errno
import functools
import json
import logging
import os
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import networkx as nx

from carreta.routing import load_graph
from carreta.sim.errors import interrupt_behind
from carreta.sim.model.engine import simulate
from carreta.sim.model.world import build_world, network_source
from carreta.sim.output.results import ResultsExistError, write_run
from carreta.sim.scenario.models import Scenario
from carreta.sim.sweep.load import scenario_from_base
from carreta.sim.sweep.spec import canonical_json

__all__ = ["RunOutcome", "RunTask", "execute_run", "is_complete_run", "worker_graph"]

logger = logging.getLogger(__name__)

#: Errors writing a run folder that every later run would meet too (full disk, read-only
#: folder, quota): the sweep stops on the first.
STORAGE_ERRNOS = frozenset({errno.ENOSPC, errno.EROFS, errno.EDQUOT})

GRAPH_CACHE_SIZE = 2
"""Street graphs kept per worker process (one per distinct network of the sweep)."""


@dataclass(frozen=True)
class RunTask:
    """Everything a worker needs for one run (small: a few kB when pickled).

    Attributes
    ----------
    run_id
        The run's id.
    base_data
        The base scenario document, as parsed from YAML.
    base_file
        Absolute path of the base scenario (relative paths in it are resolved against its folder).
    overrides
        Field path → value applied to the base (fixed overrides and the run's parameters).
    seed
        The run's seed.
    run_dir
        Absolute path of the run folder to create.
    command
        The command that started the sweep, recorded in the run's manifest.
    """

    run_id: str
    base_data: dict[str, Any]
    base_file: str
    overrides: dict[str, Any]
    seed: int
    run_dir: str
    command: tuple[str, ...] | None = None


@dataclass(frozen=True)
class RunOutcome:
    """How a run ended.

    Attributes
    ----------
    run_id
        The run's id.
    status
        ``"completed"`` (its folder is complete) or ``"failed"``.
    error
        One line ``"<ExceptionType>: <message>"`` for a failed run, else ``None``.
    detail
        The traceback of a failed run (for logs), else ``None``.
    worker_pid
        Process id of the worker that ran it (0 if it never reached a worker).
    storage_error
        For a run that failed because its folder could not be written (a full disk, a
        read-only folder, a quota): ``"<path>: <reason>"``. Every later run would fail the
        same way, so the sweep stops on it; else ``None``.
    """

    run_id: str
    status: Literal["completed", "failed"]
    error: str | None = None
    detail: str | None = None
    worker_pid: int = 0
    storage_error: str | None = None


def is_complete_run(run_dir: Path) -> bool:
    """True if ``run_dir`` is a finished run folder (it has kpis.json and manifest.json)."""
    return (run_dir / "kpis.json").is_file() and (run_dir / "manifest.json").is_file()


@functools.lru_cache(maxsize=GRAPH_CACHE_SIZE)
def _cached_graph(key: str) -> nx.MultiDiGraph:
    """Load the graph described by ``key`` (canonical JSON of load_graph's arguments), once."""
    args = json.loads(key)
    source = args["source"]
    logger.info("worker %d: loading the street graph %s", os.getpid(), key)
    return load_graph(
        tuple(source) if isinstance(source, list) else source,
        profile="robot",
        simplify=args["simplify"],
        robot_speed_kph=args["robot_speed_kph"],
        cache_dir=args["cache_dir"],
    )


def worker_graph(scenario: Scenario) -> nx.MultiDiGraph:
    """The scenario's street graph, loaded once per worker process and network.

    Loads it as :func:`carreta.sim.model.world.build_world` does (robot profile, the first robot
    type's speed). The graph is shared by the runs of this process and must not be modified; the
    :class:`~carreta.sim.model.world.World` built on it copies it for each router.
    """
    network = scenario.network
    source = network_source(network)
    key = canonical_json(
        {
            "source": list(source) if isinstance(source, tuple) else source,
            "simplify": network.simplify,
            "robot_speed_kph": scenario.fleet.robots[0].speed_kph,
            "cache_dir": None if network.cache_dir is None else str(network.cache_dir),
        }
    )
    return _cached_graph(key)


def _simulate_into(task: RunTask, run_dir: Path) -> None:
    scenario = scenario_from_base(
        task.base_data, task.base_file, task.overrides, label=task.base_file
    )
    world = build_world(scenario, graph=worker_graph(scenario), label=task.base_file)
    result = simulate(scenario, world=world, seed=task.seed, label=task.base_file)
    write_run(result, run_dir, command=list(task.command) if task.command is not None else None)


def execute_run(task: RunTask) -> RunOutcome:
    """Simulate one run and write its folder; never raises for a failing run.

    A run whose folder is already complete (a retried task, or an earlier sweep's worker that
    finished it) is reported as completed without running again: runs are deterministic, so the
    folder holds the same results.

    Returns
    -------
    RunOutcome
        ``"completed"``, or ``"failed"`` with the error (any exception of the run is recorded
        here instead of stopping the sweep; the traceback is in ``detail``).
    """
    run_dir = Path(task.run_dir)
    pid = os.getpid()
    if is_complete_run(run_dir):
        return RunOutcome(task.run_id, "completed", worker_pid=pid)
    started = time.perf_counter()
    try:
        _simulate_into(task, run_dir)
    except ResultsExistError:
        if is_complete_run(run_dir):  # another process finished the same run meanwhile
            return RunOutcome(task.run_id, "completed", worker_pid=pid)
        message = f"{run_dir} exists but is not a complete run: move it away to redo the run"
        return RunOutcome(task.run_id, "failed", error=message, worker_pid=pid)
    except Exception as error:
        interrupt = interrupt_behind(error)
        if interrupt is not None:  # Ctrl-C or SIGTERM inside compiled code: an interrupt
            raise interrupt from None
        line = " ".join(f"{type(error).__name__}: {error}".split())
        logger.debug("run %s failed", task.run_id, exc_info=True)
        storage = None
        if isinstance(error, OSError) and error.errno in STORAGE_ERRNOS:
            storage = f"{error.filename or run_dir}: {os.strerror(error.errno or 0)}"
        return RunOutcome(
            task.run_id, "failed", error=line, detail=traceback.format_exc(), worker_pid=pid,
            storage_error=storage,
        )  # fmt: skip
    logger.info("run %s done in %.1f s (pid %d)", task.run_id, time.perf_counter() - started, pid)
    return RunOutcome(task.run_id, "completed", worker_pid=pid)
