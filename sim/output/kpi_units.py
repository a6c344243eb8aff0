"""Each KPI's unit and how a person reads its value: one table for every command that prints KPIs.

:data:`KPI_UNITS` gives the unit of every KPI of
:data:`carreta.sim.output.metrics.KPI_DESCRIPTIONS` (a test keeps the two in step), and
:func:`format_kpi` turns a value into text the same way for ``carreta run`` and
``carreta compare``, which print :func:`unit_label` in a column of its own:

- rates (:data:`RATE`) are stored as fractions in [0, 1] and shown in percent, ``"87.5 %"``
  (a difference of two rates in percentage points, ``"+2.5 pt"``): the text carries the unit;
- counts (:data:`COUNT`) are whole numbers: ``"1,204"``, no unit;
- every other quantity is shown with two decimals, ``"1,234.57"``, its unit (``"km"``,
  ``"EUR"``...) beside it;
- a missing value (``None``, NaN) is shown as ``"–"``.

Only the standard library is imported, so any layer (plots, the command line) can use it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

__all__ = [
    "COUNT",
    "KPI_UNITS",
    "MISSING",
    "RATE",
    "format_kpi",
    "is_rate",
    "kpi_unit",
    "unit_label",
]

#: Unit of a rate: a fraction in [0, 1] stored, shown in percent.
RATE: Final = "%"
#: Unit of a number of things (orders, robots, breakdowns...): a whole number.
COUNT: Final = "count"
#: How a missing value (None or NaN, e.g. a lead time when nothing was delivered) is shown.
MISSING: Final = "–"

#: KPI name -> unit. Per-order KPIs (``km_per_delivery``, ``cost_per_parcel_eur``...) carry the
#: unit of the numerator; their names say what they are divided by.
KPI_UNITS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "orders_created": COUNT,
        "orders_delivered": COUNT,
        "orders_late": COUNT,
        "orders_rejected": COUNT,
        "orders_open_at_end": COUNT,
        "on_time_rate": RATE,
        "service_rate": RATE,
        "lead_time_mean_min": "min",
        "lead_time_p50_min": "min",
        "lead_time_p95_min": "min",
        "robots": COUNT,
        "robot_km": "km",
        "km_per_delivery": "km",
        "deliveries_per_robot_day": "orders",
        "utilisation": RATE,
        "charging_h": "h",
        "waiting_for_charger_h": "h",
        "energy_kwh": "kWh",
        "energy_cost_eur": "EUR",
        "co2_kg": "kg",
        "co2_g_per_delivery": "g",
        "operators": COUNT,
        "interventions": COUNT,
        "takeovers": COUNT,
        "operator_utilisation": RATE,
        "waiting_for_help_h": "h",
        "breakdowns": COUNT,
        "robot_downtime_h": "h",
        "parcels_redispatched": COUNT,
        "charger_utilisation": RATE,
        "vans": COUNT,
        "van_km": "km",
        "vehicle_km": "km",
        "km_per_parcel": "km",
        "fuel_l": "L",
        "co2_total_kg": "kg",
        "co2_g_per_parcel": "g",
        "cost_vehicles_eur": "EUR",
        "cost_staff_eur": "EUR",
        "cost_energy_eur": "EUR",
        "cost_eur": "EUR",
        "cost_per_parcel_eur": "EUR",
        "road_crossings": COUNT,
    }
)


def kpi_unit(name: str) -> str | None:
    """The unit of the KPI ``name`` (:data:`RATE`, :data:`COUNT`, ``"km"``...), None if unknown."""
    return KPI_UNITS.get(name)


def is_rate(name: str) -> bool:
    """Whether the KPI ``name`` is a rate: stored as a fraction, shown in percent."""
    return KPI_UNITS.get(name) == RATE


def unit_label(name: str) -> str:
    """The unit to print beside :func:`format_kpi`'s text: ``"km"``, ``"EUR"``...; empty for
    counts, for rates (their text ends in ``%`` or ``pt``) and for unknown KPIs."""
    unit = KPI_UNITS.get(name, "")
    return "" if unit in (COUNT, RATE) else unit


def format_kpi(name: str, value: float | None, *, signed: bool = False) -> str:
    """A KPI value as a person reads it (see the module docstring; the unit is
    :func:`unit_label`, except for rates).

    Parameters
    ----------
    name
        KPI name. A KPI without a unit entry (a run written by another version) is shown as a
        plain number: whole if ``value`` is an ``int``, else with two decimals.
    value
        The value as stored (rates as fractions); ``None`` or NaN when missing.
    signed
        Show the value as a difference: always with its sign, rates in percentage points.

    Returns
    -------
    str
        For example ``"87.5 %"``, ``"1,204"``, ``"1,234.57"``, ``"+2.5 pt"``, ``"–"``.
    """
    if value is None or math.isnan(value):
        return MISSING
    sign = "+" if signed else ""
    unit = KPI_UNITS.get(name)
    if unit == RATE:
        return f"{100.0 * value:{sign}.1f} " + ("pt" if signed else "%")
    if unit == COUNT or (unit is None and isinstance(value, int)):
        return f"{value:{sign},.0f}"
    return f"{value:{sign},.2f}"
