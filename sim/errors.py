"""Exceptions raised by :mod:`carreta.sim` for problems a user can fix.

They join the family rooted at :class:`carreta.routing.errors.CarretaError`, so a command-line
front end can turn any of them into a one-line message and exit code 2 without catching programming
errors.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

from carreta.routing.errors import CarretaError

__all__ = [
    "CarretaError",
    "ResultsExistError",
    "RunDirError",
    "ScenarioError",
    "ScenarioIssue",
    "SweepAbortedError",
    "interrupt_behind",
]


@dataclass(frozen=True)
class ScenarioIssue:
    """One problem found in a scenario file.

    Parameters
    ----------
    field
        Dotted path of the offending value, with list indices in brackets
        (``"fleet.robots[0].speed_kph"``), or ``None`` when the problem concerns the whole file
        (missing file, invalid YAML, empty file).
    problem
        What is wrong, phrased to follow the field path (``"must be greater than 0"``).
    """

    field: str | None
    problem: str

    def render(self, path: str) -> str:
        """Return the one-line message ``"<path>: <field>: <problem>"`` for this issue.

        Line breaks inside the parts (from odd keys or values) are shown escaped, as ``\\n``.
        """
        parts = [path, self.problem] if self.field is None else [path, self.field, self.problem]
        return ": ".join(part.replace("\r", "\\r").replace("\n", "\\n") for part in parts)


class ScenarioError(CarretaError, ValueError):
    """A scenario file cannot be read or does not describe a valid scenario.

    ``str(error)`` is one line naming the file, the field and the problem, for example
    ``scenarios/x.yaml: fleet.robots[0].speed_kph: must be greater than 0``. When the file has
    several problems the message reports the first one; all of them are in :attr:`errors`.

    Parameters
    ----------
    path
        The scenario file as the user named it (or a label such as ``"<overrides>"``).
    field
        Dotted path of the first offending value, or ``None`` for a problem with the whole file.
    problem
        What is wrong with it.
    errors
        Every issue found, the first one included; defaults to just the first one.

    Attributes
    ----------
    path, field, problem
        As given.
    errors
        Tuple of :class:`ScenarioIssue`, at least one, in the order they were found.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        field: str | None,
        problem: str,
        errors: Sequence[ScenarioIssue] | None = None,
    ) -> None:
        self.path = os.fspath(path)
        self.field = field
        self.problem = problem
        self.errors: tuple[ScenarioIssue, ...] = (
            tuple(errors) if errors else (ScenarioIssue(field, problem),)
        )
        super().__init__(self._first_line())

    @classmethod
    def from_issues(
        cls, path: str | os.PathLike[str], issues: Sequence[ScenarioIssue]
    ) -> ScenarioError:
        """Build the error for a non-empty list of issues, reporting the first one.

        Raises
        ------
        ValueError
            If ``issues`` is empty (a programming error, not a user error).
        """
        if not issues:
            raise ValueError("a ScenarioError needs at least one issue")
        first = issues[0]
        return cls(path, first.field, first.problem, issues)

    def _first_line(self) -> str:
        return ScenarioIssue(self.field, self.problem).render(self.path)

    def __str__(self) -> str:
        return self._first_line()

    def describe_all(self) -> str:
        """Return every issue, one ``"<file>: <field>: <problem>"`` line each."""
        return "\n".join(issue.render(self.path) for issue in self.errors)

    def __reduce__(self) -> tuple[type[ScenarioError], tuple[object, ...]]:
        # Keep the error picklable (it crosses process boundaries in parallel sweeps).
        return (type(self), (self.path, self.field, self.problem, self.errors))


class RunDirError(CarretaError, ValueError):
    """A run directory is missing, incomplete or unreadable."""


class ResultsExistError(CarretaError, FileExistsError):
    """The requested results folder already exists: results are never overwritten."""


class SweepAbortedError(CarretaError, RuntimeError):
    """A sweep stopped because its executor failed (a worker process died, the Dask scheduler
    went away); the completed runs are kept and running the same sweep again resumes it.

    ``str(error)`` is one line: what was lost, how many runs are kept, how to resume.

    Parameters
    ----------
    message
        That line.
    completed, total
        Runs complete (and kept) and runs in the sweep.
    """

    def __init__(self, message: str, *, completed: int, total: int) -> None:
        super().__init__(message)
        self.completed = completed
        self.total = total


def interrupt_behind(error: BaseException) -> KeyboardInterrupt | None:
    """The KeyboardInterrupt (Ctrl-C, or SIGTERM as ``Terminated``) that ``error`` wraps, if any.

    A signal handler that raises while a numba-compiled function runs surfaces as a
    ``SystemError`` ("returned a result with an exception set") whose context is the interrupt.
    """
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, KeyboardInterrupt):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None
