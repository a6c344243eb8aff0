"""KPIs of running a fleet: supervision, breakdowns, chargers, vans, cost and CO2 per parcel.

Computed from the order and robot tables of a run (one row per robot or van, ``kind`` telling
which) and its scenario, like :func:`carreta.sim.output.metrics.compute_kpis`;
:mod:`carreta.sim.output.metrics` adds them to every run's KPIs.
"""

from __future__ import annotations

import pandas as pd

from carreta.sim.model.records import OrderState
from carreta.sim.model.robot import VehicleKind
from carreta.sim.output.costs import FleetDay, co2e_kg, day_costs
from carreta.sim.scenario.models import Scenario

__all__ = ["OPERATIONS_KPI_DESCRIPTIONS", "operations_kpis"]

OPERATIONS_KPI_DESCRIPTIONS: dict[str, str] = {
    "operators": "remote operators or walking escorts on shift (operations.supervision)",
    "interventions": "times robots were helped: routine interventions and take-overs",
    "takeovers": "fixed-obstacle take-overs among those interventions",
    "operator_utilisation": "share of operators' time spent helping or escorting robots (0: none)",
    "waiting_for_help_h": "robot-hours stopped waiting for a free operator or escort",
    "breakdowns": "robot failures (operations.breakdowns)",
    "robot_downtime_h": "robot-hours broken, towed or in repair",
    "parcels_redispatched": "parcels a broken robot brought back to its hub, queued again",
    "charger_utilisation": "share of the hubs' charger-hours spent charging robots (0: none)",
    "vans": "delivery vans in the fleet (fleet.vans)",
    "van_km": "km driven by all vans",
    "vehicle_km": "km driven by robots and vans",
    "km_per_parcel": "km driven by robots and vans per delivered order",
    "fuel_l": "diesel burnt by vans, litres",
    "co2_total_kg": "CO2e of the grid electricity and diesel used, kg",
    "co2_g_per_parcel": "CO2e of the grid electricity and diesel per delivered order, g",
    "cost_vehicles_eur": "vehicle capital per day, robot operating and van maintenance costs, EUR",
    "cost_staff_eur": "operators and van drivers over the simulated window, EUR",
    "cost_energy_eur": "grid electricity and diesel, EUR",
    "cost_eur": "all costs of the simulated window, EUR",
    "cost_per_parcel_eur": "all costs per delivered order, EUR",
}


def _rate(numerator: float, denominator: float) -> float:
    return float(numerator / denominator) if denominator else float("nan")


def _share(busy: float, available: float) -> float:
    """Share of ``available`` time that was ``busy``; 0 when nothing was available."""
    return float(busy / available) if available else 0.0


def _sum(table: pd.DataFrame, column: str) -> float:
    return float(table[column].sum()) if column in table else 0.0


def operations_kpis(
    orders: pd.DataFrame, robots: pd.DataFrame, scenario: Scenario, *, duration_s: float
) -> dict[str, float | int]:
    """The KPIs of :data:`OPERATIONS_KPI_DESCRIPTIONS` from the order and robot tables."""
    is_van = (
        robots["kind"] == VehicleKind.VAN.value
        if "kind" in robots
        else pd.Series(False, robots.index)
    )
    vans, fleet = robots[is_van], robots[~is_van]
    supervision = scenario.operations.supervision
    operators = supervision.operator_count(len(fleet))
    helped_s = _sum(fleet, "escorted_s" if supervision.mode == "escort" else "help_s")
    chargers = sum(hub.chargers for hub in scenario.hubs)
    delivered = int((orders["state"] == OrderState.DELIVERED.value).sum())
    diesel = vans[vans["energy_source"] == "diesel"] if len(vans) else vans
    energy = scenario.energy
    grid_kwh = _sum(robots, "drive_energy_wh") / 1000.0 / energy.charging_efficiency_fraction
    day = FleetDay(
        window_h=duration_s / 3600.0,
        robots=len(fleet),
        operators=operators,
        diesel_vans=len(diesel),
        electric_vans=len(vans) - len(diesel),
        van_km=_sum(vans, "distance_km"),
        grid_kwh=grid_kwh,
        diesel_l=_sum(vans, "fuel_l"),
    )
    costs = day_costs(day, scenario.costs, energy)
    co2 = co2e_kg(day.grid_kwh, day.diesel_l, energy)
    vehicle_km = _sum(robots, "distance_km")
    return {
        "operators": operators,
        "interventions": int(_sum(fleet, "interventions") + _sum(fleet, "takeovers")),
        "takeovers": int(_sum(fleet, "takeovers")),
        "operator_utilisation": _share(helped_s, operators * duration_s),
        "waiting_for_help_h": _sum(fleet, "waiting_help_s") / 3600.0,
        "breakdowns": int(_sum(fleet, "breakdowns")),
        "robot_downtime_h": _sum(fleet, "down_s") / 3600.0,
        "parcels_redispatched": int(_sum(orders, "returned")),
        "charger_utilisation": _share(_sum(fleet, "charging_s"), chargers * duration_s),
        "vans": len(vans),
        "van_km": day.van_km,
        "vehicle_km": vehicle_km,
        "km_per_parcel": _rate(vehicle_km, delivered),
        "fuel_l": day.diesel_l,
        "co2_total_kg": co2,
        "co2_g_per_parcel": _rate(co2 * 1000.0, delivered),
        "cost_vehicles_eur": costs.vehicles_eur,
        "cost_staff_eur": costs.staff_eur,
        "cost_energy_eur": costs.energy_eur,
        "cost_eur": costs.total_eur,
        "cost_per_parcel_eur": _rate(costs.total_eur, delivered),
    }
