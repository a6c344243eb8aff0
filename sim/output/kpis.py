"""The KPIs of a run, computed from its tables alone (see :mod:`.kpi_definitions`).

:func:`compute_kpis` reads only ``orders.parquet`` and ``robots.parquet`` (as DataFrames) and
the scenario's energy and cost factors, so an analyst can recompute every KPI from a results
folder; :func:`result_kpis` does the same for a run held in memory.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from carreta.sim.model.engine import SimulationResult
from carreta.sim.model.records import OrderOutcome, OrderState
from carreta.sim.model.vehicles import VehicleKind
from carreta.sim.output.costs import FleetDay, co2e_kg, day_costs
from carreta.sim.output.kpi_definitions import KPIS
from carreta.sim.output.operations_kpis import operations_kpis
from carreta.sim.output.tables import orders_table, robots_table
from carreta.sim.scenario.models import Scenario

__all__ = ["KPI_DESCRIPTIONS", "compute_kpis", "result_kpis"]

#: KPI name -> its definition (the ``kpi_descriptions`` of manifest.json), in display order.
KPI_DESCRIPTIONS: dict[str, str] = {kpi.name: kpi.definition for kpi in KPIS}


def _ratio(numerator: float, denominator: float) -> float:
    return float(numerator / denominator) if denominator else float("nan")


def _sum(table: pd.DataFrame, column: str) -> float:
    return float(table[column].sum()) if column in table else 0.0


def _service(orders: pd.DataFrame) -> dict[str, float | int]:
    outcome = orders["outcome"].astype("string")
    counts = {kind.value: int((outcome == kind.value).sum()) for kind in OrderOutcome}
    delivered = orders[orders["state"] == OrderState.DELIVERED.value]
    lead_min = delivered["lead_time_s"].to_numpy(float) / 60.0
    created = len(orders)
    due = created - counts["open_not_due"]
    on_time = counts["on_time"]
    return {
        "orders_created": created,
        "orders_due": due,
        "orders_on_time": on_time,
        "orders_late": counts["late"],
        "orders_open_not_due": counts["open_not_due"],
        "orders_rejected": counts["rejected"],
        "orders_delivered": len(delivered),
        "on_time_share": _ratio(on_time, due),
        "on_time_among_delivered": _ratio(on_time, len(delivered)),
        "service_rate": _ratio(len(delivered), due - counts["rejected"]),
        "lead_time_mean_min": float(lead_min.mean()) if lead_min.size else float("nan"),
        "lead_time_p50_min": float(np.percentile(lead_min, 50)) if lead_min.size else np.nan,
        "lead_time_p95_min": float(np.percentile(lead_min, 95)) if lead_min.size else np.nan,
    }


def compute_kpis(
    orders: pd.DataFrame, robots: pd.DataFrame, scenario: Scenario, *, duration_s: float
) -> dict[str, float | int]:
    """Every KPI of :data:`~.kpi_definitions.KPIS`, in that order, from a run's tables.

    Parameters
    ----------
    orders, robots
        The run's ``orders.parquet`` and ``robots.parquet``.
    scenario
        The run's scenario (energy and cost factors, chargers, supervision).
    duration_s
        The simulated window, seconds.
    """
    kinds = robots["kind"].astype("string")
    fleet = robots[kinds == VehicleKind.ROBOT.value]
    vans = robots[kinds == VehicleKind.VAN.value]
    diesel = vans[vans["energy_source"].astype("string") == "diesel"]
    energy = scenario.energy
    service = _service(orders)
    delivered = service["orders_delivered"]
    day = FleetDay(
        window_h=duration_s / 3600.0,
        robots=len(fleet),
        operators=scenario.operations.supervision.operator_count(len(fleet)),
        diesel_vans=len(diesel),
        electric_vans=len(vans) - len(diesel),
        van_km=_sum(vans, "distance_km"),
        grid_kwh=_sum(robots, "drive_energy_wh") / 1000.0 / energy.charging_efficiency_fraction,
        diesel_l=_sum(vans, "fuel_l"),
    )
    costs = day_costs(day, scenario.costs, energy)
    co2_kg = co2e_kg(day.grid_kwh, day.diesel_l, energy)
    robot_km = _sum(fleet, "distance_km")
    vehicle_km = robot_km + day.van_km
    chargers = sum(hub.chargers for hub in scenario.hubs)
    values: dict[str, float | int] = {
        **service,
        "robots": len(fleet),
        "vans": len(vans),
        "robot_km": robot_km,
        "van_km": day.van_km,
        "vehicle_km": vehicle_km,
        "km_per_delivery": _ratio(vehicle_km, delivered),
        "deliveries_per_robot_day": _ratio(delivered, len(fleet)),
        "utilisation": _ratio(_sum(fleet, "busy_s"), len(fleet) * duration_s),
        "charging_h": _sum(fleet, "charging_s") / 3600.0,
        "waiting_for_charger_h": _sum(fleet, "waiting_charger_s") / 3600.0,
        "charger_utilisation": _ratio(_sum(fleet, "charging_s"), chargers * duration_s)
        if chargers
        else 0.0,
        "road_crossings": int(_sum(fleet, "crossings")),
        "energy_kwh": day.grid_kwh,
        "fuel_l": day.diesel_l,
        "co2_kg": co2_kg,
        "co2_g_per_delivery": _ratio(co2_kg * 1000.0, delivered),
        "energy_cost_eur": costs.energy_eur,
        "cost_vehicles_eur": costs.vehicles_eur,
        "cost_staff_eur": costs.staff_eur,
        "cost_eur": costs.total_eur,
        "cost_per_delivery_eur": _ratio(costs.total_eur, delivered),
        **operations_kpis(orders, fleet, scenario, duration_s=duration_s),
    }
    return {kpi.name: values[kpi.name] for kpi in KPIS}


def result_kpis(result: SimulationResult) -> dict[str, float | int]:
    """The KPIs of a run held in memory (from the tables it would write)."""
    return compute_kpis(
        orders_table(result),
        robots_table(result),
        result.scenario,
        duration_s=result.end_s - result.start_s,
    )
