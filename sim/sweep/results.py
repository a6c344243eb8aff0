"""A sweep's results folder: its identity check, the runs table and the manifest.

Layout::

    DIR/sweep.resolved.yaml   the sweep as run (absolute paths, whole base scenario)
    DIR/manifest.json         status, counts, versions, one entry per invocation (resumes)
    DIR/runs.parquet          one row per run: id, replicate, seed, parameters, status, KPIs
    DIR/runs/<run_id>/        each run's folder (carreta.sim.output.results.write_run, atomic)
    DIR/.sweep.lock           held (``flock``) by the sweep running in the folder, if any

``runs.parquet`` and ``manifest.json`` are replaced atomically (:mod:`carreta.routing.files`: a
temporary sibling, then ``os.replace``): a crash leaves the previous complete version. Run folders
are never deleted; only the hidden temporary folders of runs interrupted while being written are
removed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import shutil
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from carreta.routing.errors import CarretaError
from carreta.routing.files import write_file_atomic, write_text_atomic
from carreta.sim.output.kpis import KPI_DESCRIPTIONS
from carreta.sim.output.results import ResultsExistError, git_revision, package_versions
from carreta.sim.sweep.load import Sweep, sweep_to_yaml
from carreta.sim.sweep.spec import SweepRun, canonical_json
from carreta.sim.sweep.worker import RunOutcome, is_complete_run

__all__ = [
    "LOCK_FILE",
    "MANIFEST_FILE",
    "RESOLVED_FILE",
    "RUNS_DIR",
    "TABLE_FILE",
    "RunsTable",
    "SweepInUseError",
    "prepare_sweep_dir",
    "remove_leftovers",
    "sweep_lock",
    "write_manifest",
]

logger = logging.getLogger(__name__)

RESOLVED_FILE = "sweep.resolved.yaml"
MANIFEST_FILE = "manifest.json"
TABLE_FILE = "runs.parquet"
RUNS_DIR = "runs"
LOCK_FILE = ".sweep.lock"


class SweepInUseError(CarretaError, RuntimeError):
    """Another sweep is running in the folder (it holds the folder's lock)."""


SEED_RULE = (
    "run seed = int(sha256(f'{sweep seed}:replicate:{replicate}')[:8], 16): every parameter "
    "combination of a replicate shares it (common random numbers); run id = "
    "sha256(canonical JSON of {params, replicate})[:12]"
)


def _first_difference(stored: Mapping[str, Any], current: Mapping[str, Any]) -> str:
    for key in dict.fromkeys([*current, *stored]):
        if canonical_json(stored.get(key)) != canonical_json(current.get(key)):
            return key
    return "?"


def remove_leftovers(out_dir: Path) -> None:
    """Remove the hidden temporary files and run folders an interrupted sweep left behind.

    Only ``.*.tmp`` entries are touched: complete run folders and the tables stay.
    """
    runs_dir = out_dir / RUNS_DIR
    entries = [*out_dir.glob(".*.tmp"), *(runs_dir.glob(".*.tmp") if runs_dir.is_dir() else [])]
    for entry in entries:
        logger.info("removing %s, left by an interrupted sweep", entry)
        if entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)


#: Keys of a sweep file that say which runs to make, not how each run is made: changing them
#: extends the sweep in its folder (runs already made are kept, as their ids do not change).
RUN_SET_KEYS = ("grid", "replicates", "sample", "description")


def _extend(
    sweep: Sweep, out_dir: Path, stored: Mapping[str, Any], resolved: Mapping[str, Any]
) -> None:
    """Accept a sweep that differs from the folder's only in which runs it makes, as long as it
    keeps every run already made there; record it as the folder's sweep.

    Raises
    ------
    ResultsExistError
        If the base scenario, seed, overrides or name differ, or runs made are left out.
    """

    def experiment(document: Mapping[str, Any]) -> dict[str, Any]:
        return {key: value for key, value in document.items() if key not in RUN_SET_KEYS}

    if canonical_json(experiment(stored)) != canonical_json(experiment(resolved)):
        field = _first_difference(experiment(stored), experiment(resolved))
        raise ResultsExistError(
            f"{out_dir} holds the results of another sweep ({RESOLVED_FILE} differs in "
            f"'{field}'): choose another --out; results are never overwritten"
        )
    wanted = {run.run_id for run in sweep.runs}
    made = {path.name for path in (out_dir / RUNS_DIR).iterdir() if is_complete_run(path)}
    dropped = sorted(made - wanted)
    if dropped:
        raise ResultsExistError(
            f"{out_dir} holds {len(dropped)} runs this sweep file no longer makes (e.g. "
            f"{dropped[0]}): a sweep can be extended in its folder, not narrowed; choose "
            "another --out"
        )
    logger.info("extending the sweep in %s: %d runs kept", out_dir, len(made))
    write_text_atomic(out_dir / RESOLVED_FILE, sweep_to_yaml(resolved))


def prepare_sweep_dir(sweep: Sweep, out_dir: Path) -> bool:
    """Create the sweep folder, or check that an existing one holds this very sweep.

    Returns
    -------
    bool
        True if the folder already held this sweep (the sweep resumes).

    Raises
    ------
    ResultsExistError
        If ``out_dir`` holds another sweep (its ``sweep.resolved.yaml`` differs in more than
        the runs to make, or leaves out runs made there) or is a non-empty folder that is not
        a sweep folder. Nothing in it is changed. A sweep file that only adds grid values,
        replicates or sample points extends the sweep in its folder.
    """
    resolved = sweep.resolved()
    stored_file = out_dir / RESOLVED_FILE
    if stored_file.is_file():
        stored = yaml.safe_load(stored_file.read_text("utf-8"))
        if not isinstance(stored, dict) or canonical_json(stored) != canonical_json(resolved):
            _extend(sweep, out_dir, stored if isinstance(stored, dict) else {}, resolved)
        remove_leftovers(out_dir)
        return True
    if out_dir.exists() and (
        not out_dir.is_dir() or any(entry.name != LOCK_FILE for entry in out_dir.iterdir())
    ):
        raise ResultsExistError(
            f"{out_dir} exists and is not a sweep folder (no {RESOLVED_FILE}): choose another "
            "--out; results are never overwritten"
        )
    (out_dir / RUNS_DIR).mkdir(parents=True, exist_ok=True)
    write_text_atomic(stored_file, sweep_to_yaml(resolved))
    return False


@contextmanager
def sweep_lock(out_dir: Path) -> Iterator[None]:
    """Hold the sweep folder's lock for the duration of a ``with`` block.

    The lock is an advisory ``flock`` on ``DIR/.sweep.lock``, released by the system when the
    process ends, however it ends (a killed sweep leaves no stale lock). It is taken in a new
    or empty folder or a sweep folder only: another folder is left untouched (and
    :func:`prepare_sweep_dir` refuses it). Without ``fcntl`` (Windows) there is no lock.

    Raises
    ------
    SweepInUseError
        If another process holds the lock: one line naming the folder and that process.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    if out_dir.exists() and not (
        (out_dir / RESOLVED_FILE).is_file()
        or (out_dir / LOCK_FILE).is_file()
        or (out_dir.is_dir() and not any(out_dir.iterdir()))
    ):
        yield  # not a sweep folder: prepare_sweep_dir refuses it
        return
    out_dir.mkdir(parents=True, exist_ok=True)
    with open(out_dir / LOCK_FILE, "a", encoding="utf-8") as handle:  # not written to
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SweepInUseError(
                f"{out_dir} is in use by another sweep ({_holder(out_dir)}): wait until it "
                "ends, or choose another --out"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _holder(out_dir: Path) -> str:
    """The running sweep's process, from the folder's manifest (its last session)."""
    try:
        sessions = json.loads((out_dir / MANIFEST_FILE).read_text("utf-8")).get("sessions", [])
        session = sessions[-1]
        return f"pid {session['pid']}, started {session['started_at']}"
    except (OSError, ValueError, LookupError, TypeError, AttributeError):
        return "it has just started"


def run_folder(out_dir: Path, run: SweepRun) -> Path:
    """The folder of ``run`` inside the sweep folder."""
    return out_dir / RUNS_DIR / run.run_id


def _column(values: list[Any]) -> list[Any]:
    """Parameter values as one Parquet column: scalars of one kind stay, others become JSON."""
    kinds = {
        "number" if isinstance(value, int | float) and not isinstance(value, bool) else type(value)
        for value in values
    }
    if len(kinds) == 1 and kinds <= {"number", str, bool}:
        return values
    return [canonical_json(value) for value in values]


class RunsTable:
    """The rows of ``runs.parquet``, one per run of the sweep, in expansion order.

    Completed rows are read from the run folders (kpis.json, manifest.json), so the table is
    the same whether a run was done now, earlier, by whichever executor.
    """

    def __init__(self, sweep: Sweep, out_dir: Path) -> None:
        self._sweep = sweep
        self._out_dir = out_dir
        self._state: dict[str, tuple[str, str | None, float | None, dict[str, Any]]] = {
            run.run_id: ("pending", None, None, {}) for run in sweep.runs
        }
        self._runs = {run.run_id: run for run in sweep.runs}

    def is_complete(self, run: SweepRun) -> bool:
        """True if the run's folder is complete; records its row if so."""
        if not is_complete_run(run_folder(self._out_dir, run)):
            return False
        self._load(run)
        return True

    def _load(self, run: SweepRun) -> None:
        folder = run_folder(self._out_dir, run)
        kpis = json.loads((folder / "kpis.json").read_text("utf-8"))
        manifest = json.loads((folder / "manifest.json").read_text("utf-8"))
        self._state[run.run_id] = ("completed", None, manifest.get("wall_time_s"), kpis)

    def record(self, outcome: RunOutcome) -> None:
        """Record how a run ended (a completed run's KPIs are read from its folder)."""
        run = self._runs[outcome.run_id]
        if outcome.status == "completed":
            self._load(run)
        else:
            self._state[run.run_id] = ("failed", outcome.error, None, {})

    def counts(self) -> dict[str, int]:
        """Runs per status: completed, failed, pending."""
        statuses = [state[0] for state in self._state.values()]
        return {name: statuses.count(name) for name in ("completed", "failed", "pending")}

    def frame(self) -> pd.DataFrame:
        """The table: run_id, replicate, seed, one column per parameter, status, error,
        wall_time_s, then every KPI (null for runs not completed)."""
        runs = self._sweep.runs
        states = [self._state[run.run_id] for run in runs]
        data: dict[str, list[Any]] = {
            "run_id": [run.run_id for run in runs],
            "replicate": [run.replicate for run in runs],
            "seed": [run.seed for run in runs],
        }
        for path in self._sweep.parameter_paths:
            data[path] = _column([run.params[path] for run in runs])
        data["status"] = [state[0] for state in states]
        data["error"] = [state[1] for state in states]
        data["wall_time_s"] = [state[2] for state in states]
        for name in KPI_DESCRIPTIONS:
            data[name] = [state[3].get(name) for state in states]
        table = pd.DataFrame(data)
        for name in ("wall_time_s", *KPI_DESCRIPTIONS):
            if table[name].isna().any() or table[name].dtype == object:
                table[name] = pd.to_numeric(table[name]).astype("float64")
        table["error"] = table["error"].astype("string")
        return table

    def write(self) -> Path:
        """Replace ``runs.parquet`` atomically; return its path."""
        table = self.frame()
        return write_file_atomic(
            self._out_dir / TABLE_FILE, lambda temporary: table.to_parquet(temporary, index=False)
        )


def write_manifest(
    out_dir: Path,
    sweep: Sweep,
    *,
    session: dict[str, Any],
    counts: Mapping[str, int],
    status: str,
    command: Sequence[str] | None,
) -> None:
    """Replace ``manifest.json``: the sweep's provenance, with this invocation's ``session``.

    Earlier invocations (a sweep that was resumed) are kept in ``sessions``, oldest first.
    """
    path = out_dir / MANIFEST_FILE
    sessions: list[dict[str, Any]] = []
    if path.is_file():
        previous = json.loads(path.read_text("utf-8"))
        sessions = [
            item for item in previous.get("sessions", []) if item.get("id") != session["id"]
        ]
    sessions.append(dict(session))
    resolved = canonical_json(sweep.resolved()).encode("utf-8")
    manifest = {
        "sweep": sweep.name,
        "sweep_file": os.path.abspath(sweep.source),
        "base_scenario": str(sweep.base_file),
        "status": status,
        "runs": len(sweep.runs),
        **{f"runs_{name}": count for name, count in counts.items()},
        "parameters": sweep.parameter_paths,
        "replicates": sweep.spec.replicates,
        "seed": sweep.spec.seed,
        "seed_rule": SEED_RULE,
        "resolved_sha256": hashlib.sha256(resolved).hexdigest(),
        "updated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": list(command) if command is not None else None,
        "git_revision": git_revision(),
        "versions": package_versions(),
        "kpi_descriptions": KPI_DESCRIPTIONS,
        "sessions": sessions,
        "attribution": sweep.base_scenario.network.credit(),
    }
    text = json.dumps(manifest, indent=2, sort_keys=False) + "\n"
    write_text_atomic(path, text)
