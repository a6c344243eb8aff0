"""Reading a planner's orders CSV (``demand.orders_csv``): every bad row named, nothing guessed.

:func:`read_orders_file` turns the file into :class:`OrderRows` (plain arrays) or raises one
:class:`~carreta.sim.errors.ScenarioError` naming the file, the column and the line of the first
problem (the header is line 1). Checked: the file reads as CSV and has rows; the required
columns are there; coordinates are numbers within WGS 84 ranges; weights are non-negative
numbers; times are seconds or ``HH:MM[:SS]`` within a day; a due time is not before its
creation; order ids are unique and either whole numbers (kept as ``order_id``) or text such as
``A-17`` (kept as ``order_ref``, with ``order_id`` then the row's position).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from carreta.sim.errors import ScenarioError

__all__ = ["OrderRows", "read_orders_file", "read_points_file"]

_DAY_S = 86_400.0
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}(?:\.\d+)?))?$")
_INT64_MAX = np.iinfo(np.int64).max


@dataclass(frozen=True)
class OrderRows:
    """The orders of a CSV file, one entry per data row, in file order."""

    order_id: np.ndarray  # int64
    order_ref: list[str | None]  # the id as written when it is not a whole number
    created_s: np.ndarray
    due_s: np.ndarray | None  # None: the scenario's time window applies
    lon: np.ndarray
    lat: np.ndarray
    weight_kg: np.ndarray

    def __len__(self) -> int:
        return int(self.order_id.shape[0])


class _File:
    """The CSV table and its name, for messages."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.table = pd.read_csv(path, dtype=str, keep_default_na=False)
        except FileNotFoundError:
            raise ScenarioError(str(path), None, "no such file") from None
        except (OSError, ValueError, pd.errors.ParserError) as exc:
            raise ScenarioError(str(path), None, f"cannot read CSV: {exc}") from None
        self.table.columns = [str(column).strip() for column in self.table.columns]
        if self.table.empty:
            raise ScenarioError(str(path), None, "the CSV file has no rows")

    def fail(self, column: str, row: int | np.integer, problem: str) -> ScenarioError:
        """The error for data row ``row`` (0-based; the file's line is ``row + 2``)."""
        return ScenarioError(str(self.path), column, f"line {int(row) + 2}: {problem}")

    def text(self, column: str) -> pd.Series:
        return self.table[column].astype(str).str.strip()

    def require(self, *columns: str) -> None:
        for column in columns:
            if column not in self.table.columns:
                raise ScenarioError(str(self.path), column, "required column is missing")

    def numbers(self, column: str, *, low: float, high: float) -> np.ndarray:
        text = self.text(column)
        values = pd.to_numeric(text, errors="coerce").to_numpy(float)
        for row in np.flatnonzero(~np.isfinite(values)):
            shown = text.iloc[row]
            raise self.fail(column, row, "empty" if not shown else f"not a number: {shown!r}")
        for row in np.flatnonzero((values < low) | (values > high)):
            raise self.fail(column, row, f"{values[row]:g} is outside [{low:g}, {high:g}]")
        return values

    def clock(self, name: str) -> np.ndarray:
        """Seconds since midnight from ``<name>_s`` (seconds) or ``<name>`` (``HH:MM[:SS]``)."""
        if f"{name}_s" in self.table.columns:
            return self.numbers(f"{name}_s", low=0.0, high=_DAY_S)
        seconds = np.empty(len(self.table))
        for row, text in enumerate(self.text(name)):
            match = _CLOCK.match(text)
            hours, minutes = (int(match.group(1)), int(match.group(2))) if match else (99, 99)
            secs = float(match.group(3) or 0.0) if match else 99.0
            if hours > 24 or minutes > 59 or secs >= 60 or (hours == 24 and minutes + secs > 0):
                shown = "empty" if not text else f"not a time of day 'HH:MM[:SS]': {text!r}"
                raise self.fail(name, row, shown)
            seconds[row] = hours * 3600.0 + minutes * 60.0 + secs
        return seconds

    def has_clock(self, name: str) -> bool:
        return f"{name}_s" in self.table.columns or name in self.table.columns

    def ids(self) -> tuple[np.ndarray, list[str | None]]:
        if "order_id" not in self.table.columns:
            return np.arange(len(self.table), dtype=np.int64), [None] * len(self.table)
        text = self.text("order_id")
        for row in np.flatnonzero((text == "").to_numpy()):
            raise self.fail("order_id", row, "empty")
        duplicated = text.duplicated(keep="first").to_numpy()
        for row in np.flatnonzero(duplicated):
            first = int(np.flatnonzero((text == text.iloc[row]).to_numpy())[0])
            raise self.fail("order_id", row, f"{text.iloc[row]!r} repeats line {first + 2}")
        whole = text.str.fullmatch(r"[+-]?\d+")
        if whole.all():
            values = [int(value) for value in text]
            for position, value in enumerate(values):
                if abs(value) > _INT64_MAX:
                    raise self.fail("order_id", position, f"{value} is too large for an order id")
            return np.array(values, dtype=np.int64), [None] * len(values)
        numeric = pd.to_numeric(text, errors="coerce")
        for row in np.flatnonzero((numeric.notna() & ~whole).to_numpy()):
            raise self.fail("order_id", row, f"not a whole number: {text.iloc[row]!r}")
        return np.arange(len(text), dtype=np.int64), [str(value) for value in text]


def read_orders_file(path: Path) -> OrderRows:
    """Read and check an orders CSV (see the module docstring).

    Raises
    ------
    ScenarioError
        Naming ``path``, the column and the line of the first problem.
    """
    source = _File(path)
    source.require("lon", "lat", "weight_kg")
    if not source.has_clock("created"):
        raise ScenarioError(str(path), "created_s", "required column is missing (or 'created')")
    order_id, order_ref = source.ids()
    created = source.clock("created")
    due = source.clock("due") if source.has_clock("due") else None
    if due is not None:
        column = "due_s" if "due_s" in source.table.columns else "due"
        for row in np.flatnonzero(due < created):
            raise source.fail(column, row, "the order is due before it is created")
    return OrderRows(
        order_id=order_id,
        order_ref=order_ref,
        created_s=created,
        due_s=due,
        lon=source.numbers("lon", low=-180.0, high=180.0),
        lat=source.numbers("lat", low=-90.0, high=90.0),
        weight_kg=source.numbers("weight_kg", low=0.0, high=np.inf),
    )


def read_points_file(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Door points of ``destinations.points_csv``: lons, lats and the optional ``weight``s.

    Raises
    ------
    ScenarioError
        Naming ``path``, the column and the line of the first bad value, or all weights 0.
    """
    source = _File(path)
    source.require("lon", "lat")
    lons = source.numbers("lon", low=-180.0, high=180.0)
    lats = source.numbers("lat", low=-90.0, high=90.0)
    if "weight" not in source.table.columns:
        return lons, lats, None
    weights = source.numbers("weight", low=0.0, high=np.inf)
    if weights.sum() <= 0:
        raise ScenarioError(str(path), "weight", "weights must not all be 0")
    return lons, lats, weights
