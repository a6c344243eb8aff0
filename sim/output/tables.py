"""The tables of a run: one row per order, event, robot and leg (pandas DataFrames).

They are what the results folder stores as Parquet and what every KPI
(:mod:`carreta.sim.output.kpis`) is computed from, so an analyst can recompute each KPI from
the files. :mod:`carreta.sim.output.columns` defines every column (``docs/outputs.md``).

The tables are typed for analysis, and Parquet keeps the types:

- every time of day ``<x>_s`` (seconds since local midnight of the simulated date) has a
  companion ``<x>_at`` beside it, a ``datetime64[ns, Europe/Paris]`` column (NaT when the time
  was never reached, like NaN in the seconds column); durations stay in seconds;
- a missing value is a null, never a sentinel: ``<NA>`` for text and ``Int64`` ids, NaN / NaT for
  times;
- text is the pandas ``string`` dtype; columns with a fixed set of values (order ``state`` and
  ``outcome``, vehicle ``kind``, leg ``kind``) are categoricals whose categories are the model's
  enums, in their order.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.extensions import ExtensionArray

from carreta.sim.model.engine import SimulationResult
from carreta.sim.model.records import OrderOutcome, OrderState
from carreta.sim.model.vehicles import VehicleKind
from carreta.sim.output.columns import TIME_OF_DAY, columns_of
from carreta.sim.output.trips import TIMEZONE, day_origin_unix_s

__all__ = [
    "LEG_KINDS",
    "clock_times",
    "conform",
    "events_table",
    "legs_table",
    "order_outcomes",
    "orders_table",
    "robots_table",
    "with_clock_times",
]

#: The kinds of leg a vehicle drives (``Leg.kind``), the categories of the legs' ``kind``.
LEG_KINDS: tuple[str, ...] = ("to_stop", "to_hub")
#: The times of day of each table (seconds since midnight), each given an ``_at`` companion.
ORDER_TIMES = ("created_s", "due_s", "assigned_s", "picked_s", "delivered_s")
EVENT_TIMES = ("time_s",)
LEG_TIMES = ("depart_s", "arrive_s")


def clock_times(
    seconds: Sequence[float] | np.ndarray | pd.Series, *, date: dt.date
) -> pd.DatetimeIndex:
    """Times of day in seconds since local midnight of ``date`` as Europe/Paris datetimes.

    The seconds are elapsed time since midnight (as in ``trips.geojson``), so on the days the
    clocks change the wall-clock hour after the change differs by one from ``seconds // 3600``.
    NaN gives NaT.

    Returns
    -------
    pandas.DatetimeIndex
        Of dtype ``datetime64[ns, Europe/Paris]``, in the order of ``seconds``.
    """
    origin = pd.Timestamp(day_origin_unix_s(date), unit="s", tz="UTC")
    elapsed = pd.to_timedelta(np.asarray(seconds, dtype=float), unit="s")
    return (origin + elapsed).tz_convert(TIMEZONE).as_unit("ns")


def with_clock_times(table: pd.DataFrame, columns: Iterable[str], *, date: dt.date) -> pd.DataFrame:
    """``table`` with an ``<x>_at`` datetime column (:func:`clock_times`) right after each
    ``<x>_s`` of ``columns``; a companion already there is recomputed."""
    table = table.copy()
    for column in columns:
        companion = column.removesuffix("_s") + "_at"
        values = clock_times(table[column], date=date)
        if companion in table:
            table[companion] = values
        else:
            table.insert(list(table.columns).index(column) + 1, companion, values)
    return table


def _text(values: Iterable[str | None]) -> ExtensionArray:
    """Text as the ``string`` dtype, the empty text (no value) as <NA>."""
    return pd.array([value if value else None for value in values], dtype="string")


def _categorical(values: Iterable[str], categories: Sequence[str], column: str) -> pd.Categorical:
    """``values`` as a categorical of ``categories`` (in that order).

    Raises
    ------
    ValueError
        If a value is not one of ``categories`` (a new enum member the tables do not know).
    """
    data: list[Any] = list(values)
    unknown = set(data) - set(categories)
    if unknown:
        raise ValueError(f"{column}: unknown values {sorted(unknown)} (known: {list(categories)})")
    return pd.Categorical(data, categories=list(categories))


def _ids(values: Iterable[int]) -> pd.arrays.IntegerArray:
    """Ids as nullable ``Int64``, the model's -1 (no id) as <NA>."""
    array = np.fromiter(values, dtype=np.int64)
    return pd.arrays.IntegerArray(array, array == -1)


def orders_table(result: SimulationResult) -> pd.DataFrame:
    """One row per order: times (s since midnight and datetimes), state, robot, distance, door."""
    orders = result.orders

    def column(name: str, dtype: Any) -> np.ndarray:
        return np.array([getattr(order, name) for order in orders], dtype=dtype)

    table = pd.DataFrame(
        {
            "order_id": column("order_id", np.int64),
            "ref": _text(order.ref for order in orders),
            **{name: column(name, float) for name in ORDER_TIMES},
            "state": _categorical(
                (order.state.value for order in orders), [s.value for s in OrderState], "state"
            ),
            "reason": _text(order.reason for order in orders),
            "robot_id": _text(order.robot_id for order in orders),
            "hub_id": _text(order.hub_id for order in orders),
            **{name: column(name, float) for name in ("distance_m", "weight_kg", "lon", "lat")},
            "node": column("node", np.int64),
            "access_m": column("access_m", float),
            "attempts": column("attempts", np.int64),
            "access_s": column("access_s", float),
            "returned": column("returned", np.int64),
        }
    )
    table = with_clock_times(table, ORDER_TIMES, date=result.scenario.simulation.date)
    delivered = (table["state"] == OrderState.DELIVERED.value).to_numpy()
    table["lead_time_s"] = np.where(delivered, table["delivered_s"] - table["created_s"], np.nan)
    table["outcome"] = order_outcomes(table, end_s=result.end_s)
    table["late"] = (table["outcome"] == OrderOutcome.LATE.value).to_numpy()
    return table


def order_outcomes(orders: pd.DataFrame, *, end_s: float) -> pd.Categorical:
    """Each order's :class:`~carreta.sim.model.records.OrderOutcome` at the run's end ``end_s``
    (seconds since midnight), from its ``state``, ``delivered_s`` and ``due_s``."""
    state = orders["state"].astype("string").to_numpy()
    delivered = state == OrderState.DELIVERED.value
    rejected = state == OrderState.REJECTED.value
    due_s = orders["due_s"].to_numpy(float)
    on_time = delivered & (orders["delivered_s"].to_numpy(float) <= due_s)
    open_late = ~delivered & ~rejected & (due_s < end_s)
    outcome = np.select(
        [on_time, delivered | open_late, rejected],
        [OrderOutcome.ON_TIME.value, OrderOutcome.LATE.value, OrderOutcome.REJECTED.value],
        default=OrderOutcome.OPEN_NOT_DUE.value,
    )
    return pd.Categorical(outcome, categories=[kind.value for kind in OrderOutcome])


def events_table(result: SimulationResult) -> pd.DataFrame:
    """One row per event: time (s since midnight and datetime), robot, kind, order, node,
    value; an event without a robot, order or node has <NA> there."""
    log = result.events
    table = pd.DataFrame(
        {
            "time_s": np.asarray(log.column("time_s"), dtype=float),
            "robot_id": _text(log.column("robot_id")),
            "kind": pd.array(log.column("kind"), dtype="string"),
            "order_id": _ids(log.column("order_id")),
            "node": _ids(log.column("node")),
            "value": np.asarray(log.column("value"), dtype=float),
        }
    )
    return with_clock_times(table, EVENT_TIMES, date=result.scenario.simulation.date)


_ROBOT_COLUMNS = (
    "robot_id", "type", "hub_id", "distance_km", "busy_s", "idle_s", "charging_s",
    "waiting_charger_s", "drive_energy_wh", "charged_wh", "grid_energy_wh", "battery_end_wh",
    "min_battery_wh", "tours", "deliveries", "crossings", "utilisation", "kind", "energy_source",
    "fuel_l", "interventions", "takeovers", "help_s", "waiting_help_s", "escorted_s",
    "breakdowns", "down_s",
)  # fmt: skip
_ROBOT_FLOATS = (
    "distance_km", "busy_s", "idle_s", "charging_s", "waiting_charger_s", "drive_energy_wh",
    "charged_wh", "grid_energy_wh", "battery_end_wh", "min_battery_wh", "utilisation", "fuel_l",
    "help_s", "waiting_help_s", "escorted_s", "down_s",
)  # fmt: skip
_ROBOT_COUNTS = ("tours", "deliveries", "crossings", "interventions", "takeovers", "breakdowns")


def robots_table(result: SimulationResult) -> pd.DataFrame:
    """One row per robot (or van): km, time busy / idle / charging, energy, deliveries."""
    duration = result.end_s - result.start_s
    records = []
    for robot in result.robots:
        stats = robot.stats
        records.append(
            {
                "robot_id": robot.robot_id,
                "type": robot.spec.type_name,
                "hub_id": robot.hub.hub_id,
                "distance_km": stats.distance_m / 1000.0,
                "busy_s": stats.busy_s,
                "idle_s": stats.idle_s,
                "charging_s": stats.charging_s,
                "waiting_charger_s": stats.waiting_charger_s,
                "drive_energy_wh": stats.drive_energy_wh,
                "charged_wh": stats.charged_wh,
                "grid_energy_wh": stats.grid_energy_wh,
                "battery_end_wh": robot.battery_wh,
                "min_battery_wh": stats.min_battery_wh,
                "tours": stats.tours,
                "deliveries": stats.deliveries,
                "crossings": stats.crossings,
                "utilisation": stats.busy_s / duration if duration > 0 else 0.0,
                "kind": robot.spec.kind.value,
                "energy_source": robot.spec.energy_source,
                "fuel_l": stats.distance_m / 1000.0 * robot.spec.fuel_l_per_100km / 100.0,
                "interventions": stats.interventions,
                "takeovers": stats.takeovers,
                "help_s": stats.help_s,
                "waiting_help_s": stats.waiting_help_s,
                "escorted_s": stats.escorted_s,
                "breakdowns": stats.breakdowns,
                "down_s": stats.down_s,
            }
        )
    table = pd.DataFrame.from_records(records, columns=_ROBOT_COLUMNS).astype(
        {
            **dict.fromkeys(("robot_id", "type", "hub_id", "energy_source"), "string"),
            **dict.fromkeys(_ROBOT_FLOATS, "float64"),
            **dict.fromkeys(_ROBOT_COUNTS, "int64"),
        }
    )
    table["kind"] = _categorical(table["kind"], [kind.value for kind in VehicleKind], "kind")
    return table


def legs_table(result: SimulationResult) -> pd.DataFrame:
    """One row per leg driven: departure and arrival (s since midnight and datetimes), and its
    node path with per-vertex times (s) and coordinates."""
    tables = [result.world.node_lonlat]
    if result.world.vans is not None:  # vans drive the drive network's nodes
        tables.insert(0, result.world.vans.node_lonlat)
    lon_of: dict[int, float] = {}
    lat_of: dict[int, float] = {}
    for node_ids, lons, lats in tables:
        lon_of.update(zip(node_ids.tolist(), lons, strict=True))
        lat_of.update(zip(node_ids.tolist(), lats, strict=True))
    records = []
    for leg in result.legs:
        nodes = leg.nodes.tolist()
        cut = not np.isnan(leg.cut_s)
        records.append(
            {
                "robot_id": leg.robot_id,
                "kind": leg.kind,
                "depart_s": leg.depart_s,
                "arrive_s": leg.cut_s if cut else leg.depart_s + float(leg.cum_time_s[-1]),
                "cut_at_end": cut,
                "length_m": leg.length_m,
                "nodes": nodes,
                "times_s": (leg.depart_s + leg.cum_time_s).tolist(),
                "lons": [float(lon_of[n]) for n in nodes],
                "lats": [float(lat_of[n]) for n in nodes],
            }
        )
    table = pd.DataFrame.from_records(
        records,
        columns=["robot_id", "kind", "depart_s", "arrive_s", "cut_at_end", "length_m", "nodes",
                 "times_s", "lons", "lats"],
    ).astype(
        {"robot_id": "string", "depart_s": "float64", "arrive_s": "float64", "cut_at_end": bool,
         "length_m": "float64"}
    )  # fmt: skip
    table["kind"] = _categorical(table["kind"], LEG_KINDS, "kind")
    return with_clock_times(table, LEG_TIMES, date=result.scenario.simulation.date)


def conform(table: pd.DataFrame, name: str, *, date: dt.date) -> pd.DataFrame:
    """The table ``name`` (``orders``, ``events``, ``robots`` or ``legs``) of a results folder
    with the types of :mod:`~carreta.sim.output.columns`.

    Tables written by this version already have them (``table`` comes back unchanged). Folders
    written by earlier versions get their datetime companions, ``string`` text with <NA> for
    the empty text, ``Int64`` ids with <NA> for -1 and their categoricals.

    Raises
    ------
    ValueError
        If a categorical column holds a value that is not one of its categories.
    """
    definitions = [column for column in columns_of(name) if column.column in table]
    times = [
        column.column
        for column in definitions
        if column.unit == TIME_OF_DAY
        and column.dtype == "float64"
        and column.column.removesuffix("_s") + "_at" not in table
    ]
    if times:
        table = with_clock_times(table, times, date=date)
    for column in definitions:
        values = table[column.column]
        typed: Any = None
        if column.dtype == "string" and (
            str(values.dtype) != "string" or values.eq("").fillna(False).any()
        ):  # an earlier version's events stored the empty text in its string columns
            typed = _text(None if pd.isna(value) else str(value) for value in values)
        elif str(values.dtype) == column.dtype:
            continue
        elif column.dtype == "Int64":
            typed = _ids(values.astype(np.int64))
        elif column.dtype == "category":
            typed = _categorical(values.astype(str), column.categories, column.column)
        if typed is not None:
            table = table.assign(**{column.column: typed})
    return table
