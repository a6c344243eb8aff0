"""Every column of a run's tables and every file of its results folder, defined once.

:data:`COLUMNS` gives each column of ``orders.parquet``, ``events.parquet``, ``robots.parquet``
and ``legs.parquet`` (built by :mod:`carreta.sim.output.tables`) its dtype as pandas reads it
back, its unit and its meaning; ``tests/test_output_docs.py`` checks that it matches the tables
exactly. :mod:`carreta.sim.output.docs` renders it into ``docs/outputs.md``
(``python -m carreta.sim.output.docs``).

Only the standard library is imported, like :mod:`~carreta.sim.output.kpi_definitions`, so any
layer (the command line at start-up) can use it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

__all__ = [
    "CLOCK",
    "COLUMNS",
    "DATETIME",
    "RESULT_FILES",
    "TABLES",
    "TIME_OF_DAY",
    "ColumnDefinition",
    "columns_of",
]

#: Unit of a time of day: seconds elapsed since local midnight of the simulated date.
TIME_OF_DAY: Final = "s since midnight"
#: Unit of a time of day as a timezone-aware datetime.
CLOCK: Final = "Europe/Paris time"
#: The pandas dtype of the datetime companions.
DATETIME: Final = "datetime64[ns, Europe/Paris]"
DEGREES: Final = "degrees (WGS 84)"


@dataclass(frozen=True)
class ColumnDefinition:
    """One column of a run's table.

    Parameters
    ----------
    table
        ``orders``, ``events``, ``robots`` or ``legs`` (the file ``<table>.parquet``).
    column
        The column's name.
    dtype
        Its pandas dtype, as ``str(series.dtype)`` after ``pandas.read_parquet``.
    unit
        Its unit (:data:`TIME_OF_DAY`, ``"s"``, ``"m"``...); empty when it has none.
    meaning
        What it holds, and what a missing value means.
    categories
        For a ``category`` column, its categories in order.
    """

    table: str
    column: str
    dtype: str
    unit: str
    meaning: str
    categories: tuple[str, ...] = ()


def _columns(table: str, *rows: tuple[str, ...]) -> tuple[ColumnDefinition, ...]:
    """Definitions from rows ``(column, dtype, unit, meaning[, categories...])``; a time of day
    (``dtype`` float64, unit :data:`TIME_OF_DAY`) gets its ``_at`` companion right after it."""
    definitions = []
    for column, dtype, unit, meaning, *categories in rows:
        definitions.append(ColumnDefinition(table, column, dtype, unit, meaning, tuple(categories)))
        if unit == TIME_OF_DAY and dtype == "float64":
            definitions.append(
                ColumnDefinition(
                    table, column.removesuffix("_s") + "_at", DATETIME, CLOCK,
                    f"`{column}` as a date and time in Paris (NaT where it is NaN)",
                )
            )  # fmt: skip
    return tuple(definitions)


_ORDERS = _columns(
    "orders",
    ("order_id", "int64", "", "the order's id (the demand file's, or its rank in the day)"),
    ("ref", "string", "",
     "the order's id as written in the orders CSV when it is text (e.g. `A-17`; order_id is "
     "then the row's rank); `<NA>` otherwise"),
    ("created_s", "float64", TIME_OF_DAY, "when the order was placed"),
    ("due_s", "float64", TIME_OF_DAY, "when it is due (the end of its time window)"),
    ("assigned_s", "float64", TIME_OF_DAY,
     "when it was given to its robot (NaN: never, or handed back by a broken robot)"),
    ("picked_s", "float64", TIME_OF_DAY, "when its robot loaded it at the hub (NaN: never)"),
    ("delivered_s", "float64", TIME_OF_DAY, "when it was delivered (NaN: not delivered)"),
    ("state", "category", "", "where the order is at the end of the run",
     "waiting", "assigned", "on_board", "delivered", "rejected"),
    ("reason", "string", "",
     "why a rejected order can never be served (over_payload, no_route, beyond_range, "
     "address_too_far); `<NA>` for the others"),
    ("robot_id", "string", "", "the robot (or van) serving it; `<NA>` if none"),
    ("hub_id", "string", "", "the hub it leaves from; `<NA>` if it was never assigned"),
    ("distance_m", "float64", "m",
     "street distance from the hub to the door along its robot's tour (NaN: not driven)"),
    ("weight_kg", "float64", "kg", "the parcel's weight"),
    ("lon", "float64", DEGREES, "the door's longitude"),
    ("lat", "float64", DEGREES, "the door's latitude"),
    ("node", "int64", "", "the street node the door is snapped to (OSM id)"),
    ("access_m", "float64", "m", "distance walked from that node to the door at the stop"),
    ("attempts", "int64", "count", "times the order was given to a robot"),
    ("access_s", "float64", "s", "time to walk access_m, added to the service time"),
    ("returned", "int64", "count", "times a broken robot brought the parcel back to its hub"),
    ("lead_time_s", "float64", "s", "delivered_s − created_s (NaN: not delivered)"),
    ("outcome", "category", "",
     "how the order ended the run: on_time (delivered by due_s), late (delivered after due_s, "
     "or still open at the end past due_s), open_not_due (open at the end, due at or after "
     "it), rejected (no robot could ever serve it)",
     "on_time", "late", "open_not_due", "rejected"),
    ("late", "bool", "", "outcome is late"),
)  # fmt: skip

_EVENTS = _columns(
    "events",
    ("time_s", "float64", TIME_OF_DAY, "when it happened"),
    ("robot_id", "string", "", "the robot or van concerned; `<NA>` for order and street events"),
    ("kind", "string", "",
     "what happened: `state:<robot state>`, order_created, assign, load, depart, arrive, "
     "deliver, order_rejected, order_returned, charge_start, charge_end, top_up_start, "
     "send_to_charge, `help:<kind>`, escort_start, escort_end, breakdown, tow_start, tow_end, "
     "repaired, wait_closure, closure_start, closure_end"),
    ("order_id", "Int64", "", "the order concerned; `<NA>` if none"),
    ("node", "Int64", "", "the street node where it happened; `<NA>` if none"),
    ("value", "float64", "",
     "a number whose meaning depends on kind: depart the leg's length (m), charge_start and "
     "top_up_start the battery (Wh), charge_end the energy charged (Wh), closure_start and "
     "closure_end the street segments closed; NaN otherwise"),
)  # fmt: skip

_ROBOTS = _columns(
    "robots",
    ("robot_id", "string", "", "the vehicle's id (`<type>-<number>`)"),
    ("type", "string", "", "its group's type in the scenario's fleet"),
    ("hub_id", "string", "", "its home hub"),
    ("distance_km", "float64", "km", "distance driven (legs cut at the end count until then)"),
    ("busy_s", "float64", "s",
     "time on tours: loading, driving, serving, waiting for or receiving help"),
    ("idle_s", "float64", "s", "time idle at its hub"),
    ("charging_s", "float64", "s", "time charging"),
    ("waiting_charger_s", "float64", "s", "time waiting for a free charger"),
    ("drive_energy_wh", "float64", "Wh", "energy drawn from the battery to drive"),
    ("charged_wh", "float64", "Wh", "energy put into the battery"),
    ("grid_energy_wh", "float64", "Wh", "energy taken from the grid to charge it"),
    ("battery_end_wh", "float64", "Wh", "battery charge at the end"),
    ("min_battery_wh", "float64", "Wh", "lowest battery charge of the day"),
    ("tours", "int64", "count", "tours started"),
    ("deliveries", "int64", "count", "orders delivered"),
    ("crossings", "int64", "count", "major roads crossed (streets.crossings)"),
    ("utilisation", "float64", "fraction", "busy_s / simulated seconds"),
    ("kind", "category", "", "robot, or van (the baseline)", "robot", "van"),
    ("energy_source", "string", "", "electric or diesel"),
    ("fuel_l", "float64", "L", "diesel burnt (0 for electric vehicles)"),
    ("interventions", "int64", "count", "routine remote interventions received"),
    ("takeovers", "int64", "count", "take-overs at fixed obstacles received"),
    ("help_s", "float64", "s", "time being helped (interventions and take-overs)"),
    ("waiting_help_s", "float64", "s", "time stopped waiting for a free operator or escort"),
    ("escorted_s", "float64", "s", "time accompanied by a walking escort"),
    ("breakdowns", "int64", "count", "breakdowns"),
    ("down_s", "float64", "s", "time broken, towed or in repair"),
)  # fmt: skip

_LEGS = _columns(
    "legs",
    ("robot_id", "string", "", "the robot or van driving it"),
    ("kind", "category", "", "to_stop (towards a door) or to_hub", "to_stop", "to_hub"),
    ("depart_s", "float64", TIME_OF_DAY, "when it left"),
    ("arrive_s", "float64", TIME_OF_DAY, "when it arrived, or the run's end if cut there"),
    ("cut_at_end", "bool", "", "the run ended while it was under way"),
    ("length_m", "float64", "m", "length driven (up to the cut)"),
    ("nodes", "object", "", "its path: a list of street node ids (OSM ids)"),
    ("times_s", "object", TIME_OF_DAY,
     "a list, when it passed each node (a node repeats where it waited)"),
    ("lons", "object", DEGREES, "a list, each node's longitude"),
    ("lats", "object", DEGREES, "a list, each node's latitude"),
)  # fmt: skip

#: Every column of every table, table by table, in the tables' column order.
COLUMNS: Final[tuple[ColumnDefinition, ...]] = (*_ORDERS, *_EVENTS, *_ROBOTS, *_LEGS)
#: Table -> what one row is.
TABLES: Final[dict[str, str]] = {
    "orders": "one row per order of the day",
    "events": "one row per thing that happened, in time order (if `outputs.events`)",
    "robots": "one row per robot or van",
    "legs": "one row per leg driven (one drive between two stops, a stop and a hub...)",
}
#: Every file of a results folder -> what it holds.
RESULT_FILES: Final[dict[str, str]] = {
    "scenario.resolved.yaml": "the scenario as run: every default filled in, absolute paths, "
    "the seed used; `carreta run` on it reproduces the run",
    "manifest.json": "provenance: scenario name, seed, status, date, command, git revision, "
    "package versions, wall and routing time, SimPy events, the simulated window (s since "
    "midnight), each KPI's definition and the street network's credit line",
    "kpis.json": "the KPIs, one number each (null when undefined, e.g. a lead time without "
    "deliveries): see [kpis.md](kpis.md)",
    **{f"{table}.parquet": row for table, row in TABLES.items()},
    "trips.geojson": "each leg as a LineString (EPSG:4326) whose positions are `[lon, lat, 0, "
    "unix time s]`, kepler.gl's trip layer form; properties robot_id, kind, depart, arrive "
    "(ISO 8601, Paris time), length_m and timestamps (if `outputs.trips_geojson`)",
}  # fmt: skip


def columns_of(table: str) -> tuple[ColumnDefinition, ...]:
    """The definitions of ``table``'s columns, in order.

    Raises
    ------
    KeyError
        If ``table`` is not one of :data:`TABLES`.
    """
    if table not in TABLES:
        raise KeyError(f"no table {table!r} (tables: {', '.join(TABLES)})")
    return tuple(column for column in COLUMNS if column.table == table)
