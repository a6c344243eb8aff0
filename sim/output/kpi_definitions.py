"""Every KPI of a run, defined once: name, unit, group, definition, how replicates combine.

:data:`KPIS` is the one list the printout of ``carreta run``, ``carreta compare``, the sweep
tables and charts and the generated ``docs/kpis.md`` read. Each definition says how the value
is computed from the run's tables (``orders.parquet``, ``robots.parquet``), so anyone can
recompute it; ``tests/test_kpis.py`` does.

**Order outcomes.** At the end of a run every order has exactly one ``outcome`` (a column of
``orders.parquet``): ``on_time`` (delivered by its due time), ``late`` (delivered after it, or
still open when the run ended with its due time already past), ``open_not_due`` (still open,
due at or after the end: its outcome is not known yet) or ``rejected`` (no robot could ever
serve it). The four add up to the orders created. The headline :data:`on_time_share` is over
the orders whose outcome is known, ``orders_due`` = created − open-not-due.

Values are stored as plain numbers: shares as fractions in [0, 1] (shown in percent), counts as
integers, other quantities in the unit their name ends with. Only the standard library is
imported, so any layer (the command line at start-up) can use this module.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

__all__ = [
    "COUNT",
    "GROUPS",
    "KPIS",
    "KPI_BY_NAME",
    "MISSING",
    "SHARE",
    "KpiDefinition",
    "format_kpi",
    "is_share",
    "kpi_label",
    "unit_label",
]

#: Unit of a share: a fraction in [0, 1], shown in percent.
SHARE: Final = "%"
#: Unit of a number of things (orders, robots, breakdowns...).
COUNT: Final = "count"
#: How a missing value (None or NaN, e.g. a lead time when nothing was delivered) is shown.
MISSING: Final = "–"

Group = Literal["service", "fleet", "energy", "cost", "operations"]
#: Groups in display order, with their headings.
GROUPS: Final[Mapping[str, str]] = {
    "service": "Service",
    "fleet": "Fleet",
    "energy": "Energy and CO₂",
    "cost": "Cost",
    "operations": "Operations",
}

Counts = Callable[[Any], Any]
"""Reads a count from a KPI mapping (a run's ``kpis.json``, or a runs table's columns)."""


@dataclass(frozen=True)
class KpiDefinition:
    """One KPI.

    Parameters
    ----------
    name
        Key in ``kpis.json`` and column of a sweep's ``runs.parquet``.
    unit
        :data:`SHARE`, :data:`COUNT` or a unit (``"km"``, ``"EUR"``, ``"min"``...).
    group
        Where the printout shows it (:data:`GROUPS`).
    definition
        How it is computed from the run's tables.
    numerator, denominator
        For a share over orders: the counts it divides (read from the same KPIs), so that
        replicates pool their orders (a Wilson interval over the pooled counts). None for
        other KPIs, whose replicates give a Student-t interval of the mean.
    nonnegative
        The quantity cannot be negative (intervals are clipped at 0).
    """

    name: str
    unit: str
    group: Group
    definition: str
    numerator: Counts | None = None
    denominator: Counts | None = None
    nonnegative: bool = True

    @property
    def is_share(self) -> bool:
        """Whether the value is a fraction in [0, 1] (shown in percent)."""
        return self.unit == SHARE

    @property
    def over_orders(self) -> bool:
        """Whether it is a share of orders (pooled across replicates)."""
        return self.numerator is not None


def _kpi(name: str, unit: str, group: Group, definition: str, **options: Any) -> KpiDefinition:
    return KpiDefinition(name, unit, group, definition, **options)


def _get(name: str) -> Counts:
    return lambda kpis: kpis[name]


_SERVICE: tuple[KpiDefinition, ...] = (
    _kpi("orders_created", COUNT, "service", "rows of orders.parquet"),
    _kpi("orders_due", COUNT, "service",
         "orders whose outcome is known at the end: orders_created − orders_open_not_due"),
    _kpi("orders_on_time", COUNT, "service", "orders with outcome 'on_time' (delivered by due_s)"),
    _kpi("orders_late", COUNT, "service",
         "orders with outcome 'late': delivered after due_s, or open at the end past due_s"),
    _kpi("orders_open_not_due", COUNT, "service",
         "orders with outcome 'open_not_due': open at the end, due at or after it"),
    _kpi("orders_rejected", COUNT, "service",
         "orders with outcome 'rejected': no robot could ever serve them (column reason)"),
    _kpi("orders_delivered", COUNT, "service", "orders with state 'delivered'"),
    _kpi("on_time_share", SHARE, "service",
         "orders_on_time / orders_due: orders delivered by their due time, of all orders "
         "whose outcome is known at the end (late, open past due and rejected count against)",
         numerator=_get("orders_on_time"), denominator=_get("orders_due")),
    _kpi("on_time_among_delivered", SHARE, "service",
         "orders_on_time / orders_delivered: punctuality of the orders that were delivered",
         numerator=_get("orders_on_time"), denominator=_get("orders_delivered")),
    _kpi("service_rate", SHARE, "service",
         "orders_delivered / (orders_due − orders_rejected): of the servable orders whose "
         "outcome is known at the end, those delivered (never below on_time_share)",
         numerator=_get("orders_delivered"),
         denominator=lambda kpis: kpis["orders_due"] - kpis["orders_rejected"]),
    _kpi("lead_time_mean_min", "min", "service",
         "mean of (delivered_s − created_s) / 60 over delivered orders"),
    _kpi("lead_time_p50_min", "min", "service", "median of the same"),
    _kpi("lead_time_p95_min", "min", "service", "95th percentile of the same (linear)"),
)  # fmt: skip

_FLEET: tuple[KpiDefinition, ...] = (
    _kpi("robots", COUNT, "fleet", "rows of robots.parquet with kind 'robot'"),
    _kpi("vans", COUNT, "fleet", "rows of robots.parquet with kind 'van'"),
    _kpi("robot_km", "km", "fleet", "sum of distance_km over robots (legs cut at the end)"),
    _kpi("van_km", "km", "fleet", "sum of distance_km over vans"),
    _kpi("vehicle_km", "km", "fleet", "robot_km + van_km"),
    _kpi("km_per_delivery", "km", "fleet", "vehicle_km / orders_delivered"),
    _kpi("deliveries_per_robot_day", COUNT, "fleet", "orders_delivered / robots"),
    _kpi("utilisation", SHARE, "fleet",
         "sum of busy_s over robots / (robots × simulated seconds): loading, driving, serving, "
         "waiting for or receiving help"),
    _kpi("charging_h", "h", "fleet", "sum of charging_s over robots / 3600"),
    _kpi("waiting_for_charger_h", "h", "fleet", "sum of waiting_charger_s over robots / 3600"),
    _kpi("charger_utilisation", SHARE, "fleet",
         "robots' charging_s / (chargers at all hubs × simulated seconds); 0 without chargers"),
    _kpi("road_crossings", COUNT, "fleet", "sum of crossings over robots (streets.crossings)"),
)  # fmt: skip

_ENERGY: tuple[KpiDefinition, ...] = (
    _kpi("energy_kwh", "kWh", "energy",
         "grid energy: sum of drive_energy_wh over robots and electric vans / 1000 / charging "
         "efficiency"),
    _kpi("fuel_l", "L", "energy", "sum of fuel_l over diesel vans"),
    _kpi("co2_kg", "kg", "energy",
         "energy_kwh × grid carbon factor + fuel_l × diesel factor (energy section)"),
    _kpi("co2_g_per_delivery", "g", "energy", "co2_kg × 1000 / orders_delivered"),
)  # fmt: skip

_COST: tuple[KpiDefinition, ...] = (
    _kpi("energy_cost_eur", "EUR", "cost",
         "energy_kwh × electricity price + fuel_l × diesel price"),
    _kpi("cost_vehicles_eur", "EUR", "cost",
         "vehicle capital per day, robot operating and van maintenance costs (costs section)"),
    _kpi("cost_staff_eur", "EUR", "cost",
         "operators and van drivers paid over the simulated window (costs section)"),
    _kpi("cost_eur", "EUR", "cost", "cost_vehicles_eur + cost_staff_eur + energy_cost_eur"),
    _kpi("cost_per_delivery_eur", "EUR", "cost", "cost_eur / orders_delivered"),
)  # fmt: skip

_OPERATIONS: tuple[KpiDefinition, ...] = (
    _kpi("operators", COUNT, "operations",
         "remote operators or walking escorts on shift (operations.supervision)"),
    _kpi("interventions", COUNT, "operations",
         "sum of interventions + takeovers over robots: times robots were helped"),
    _kpi("takeovers", COUNT, "operations", "sum of takeovers over robots (fixed obstacles)"),
    _kpi("operator_utilisation", SHARE, "operations",
         "time operators spent helping (escort: escorting) / (operators × simulated seconds)"),
    _kpi("waiting_for_help_h", "h", "operations", "sum of waiting_help_s over robots / 3600"),
    _kpi("breakdowns", COUNT, "operations", "sum of breakdowns over robots"),
    _kpi("robot_downtime_h", "h", "operations",
         "sum of down_s over robots / 3600 (broken, towed, in repair)"),
    _kpi("parcels_redispatched", COUNT, "operations",
         "sum of returned over orders: parcels a broken robot brought back"),
)  # fmt: skip

#: Every KPI, in display order.
KPIS: Final[tuple[KpiDefinition, ...]] = (*_SERVICE, *_FLEET, *_ENERGY, *_COST, *_OPERATIONS)
#: KPI name -> its definition.
KPI_BY_NAME: Final[Mapping[str, KpiDefinition]] = {kpi.name: kpi for kpi in KPIS}


def is_share(name: str) -> bool:
    """Whether the KPI ``name`` is a share (stored as a fraction, shown in percent)."""
    kpi = KPI_BY_NAME.get(name)
    return kpi is not None and kpi.is_share


def unit_label(name: str) -> str:
    """The unit printed beside :func:`format_kpi`'s text: ``"km"``, ``"EUR"``...; empty for
    counts, shares (their text ends in ``%`` or ``pt``) and unknown KPIs."""
    kpi = KPI_BY_NAME.get(name)
    return "" if kpi is None or kpi.unit in (COUNT, SHARE) else kpi.unit


def kpi_label(name: str) -> str:
    """An axis or column label: ``"robot km [km]"``, ``"on time share [%]"``."""
    kpi = KPI_BY_NAME.get(name)
    text = name.replace("_", " ")
    if kpi is None or kpi.unit == COUNT:
        return text
    suffix = "_" + kpi.unit.lower()
    if name.endswith(suffix):
        text = name[: -len(suffix)].replace("_", " ")
    return f"{text} [{kpi.unit}]"


def format_kpi(name: str, value: float | None, *, signed: bool = False) -> str:
    """A KPI value as a person reads it: shares in percent (``"87.5 %"``, differences in
    percentage points ``"+2.5 pt"``), counts whole (``"1,204"``), other quantities with two
    decimals (``"1,234.57"``, unit from :func:`unit_label`), ``"–"`` when missing. A KPI this
    version does not know is shown whole if ``value`` is an ``int``, else with two decimals."""
    if value is None or math.isnan(value):
        return MISSING
    sign = "+" if signed else ""
    kpi = KPI_BY_NAME.get(name)
    if kpi is not None and kpi.is_share:
        return f"{100.0 * value:{sign}.1f} " + ("pt" if signed else "%")
    if (kpi is not None and kpi.unit == COUNT and float(value).is_integer()) or (
        kpi is None and isinstance(value, int)
    ):
        return f"{value:{sign},.0f}"
    return f"{value:{sign},.2f}"
