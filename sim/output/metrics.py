"""Tables and key performance indicators of a run.

The tables are pandas DataFrames, one row per order, event, robot and leg (what the results
folder stores as Parquet); :func:`compute_kpis` derives the KPIs from them alone, so an analyst
can recompute them from the files.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from carreta.sim.model.engine import SimulationResult
from carreta.sim.model.records import OrderState
from carreta.sim.model.robot import VehicleKind
from carreta.sim.output.operations_kpis import OPERATIONS_KPI_DESCRIPTIONS, operations_kpis
from carreta.sim.scenario.models import Scenario

OPEN_STATES = (OrderState.WAITING.value, OrderState.ASSIGNED.value, OrderState.ON_BOARD.value)

KPI_DESCRIPTIONS: dict[str, str] = {
    "orders_created": "orders created during the simulated window",
    "orders_delivered": "orders delivered",
    "orders_late": "orders delivered after their due time",
    "orders_rejected": "orders no robot could ever serve (see the reason column)",
    "orders_open_at_end": "orders neither delivered nor rejected when the run ended",
    "on_time_rate": "share of delivered orders delivered by their due time",
    "service_rate": "share of non-rejected orders delivered by the end of the run",
    "lead_time_mean_min": "mean minutes from creation to delivery (delivered orders)",
    "lead_time_p50_min": "median minutes from creation to delivery",
    "lead_time_p95_min": "95th percentile of minutes from creation to delivery",
    "robots": "robots in the fleet",
    "robot_km": "km driven by all robots",
    "km_per_delivery": "robot km per delivered order",
    "deliveries_per_robot_day": "delivered orders per robot over the simulated day",
    "utilisation": "mean share of the simulated time robots were busy (loading, driving, serving)",
    "charging_h": "robot-hours spent charging",
    "waiting_for_charger_h": "robot-hours spent queueing for a free charger",
    "energy_kwh": "grid energy for the km driven, kWh (drive energy / charging efficiency)",
    "energy_cost_eur": "cost of that energy, EUR",
    "co2_kg": "CO2e of that energy from the grid carbon factor, kg",
    "co2_g_per_delivery": "CO2e per delivered order, g",
    **OPERATIONS_KPI_DESCRIPTIONS,
    "road_crossings": "major roads crossed by all robots over the day (streets.crossings)",
}


def orders_table(result: SimulationResult) -> pd.DataFrame:
    """One row per order: times (s since midnight), state, robot, distance, door."""
    rows: dict[str, list[Any]] = {
        name: []
        for name in (
            "order_id", "created_s", "due_s", "assigned_s", "picked_s", "delivered_s", "state",
            "reason", "robot_id", "hub_id", "distance_m", "weight_kg", "lon", "lat", "node",
            "access_m", "attempts", "access_s",
        )
    }  # fmt: skip
    for order in result.orders:
        rows["order_id"].append(order.order_id)
        rows["created_s"].append(order.created_s)
        rows["due_s"].append(order.due_s)
        rows["assigned_s"].append(order.assigned_s)
        rows["picked_s"].append(order.picked_s)
        rows["delivered_s"].append(order.delivered_s)
        rows["state"].append(order.state.value)
        rows["reason"].append(order.reason)
        rows["robot_id"].append(order.robot_id)
        rows["hub_id"].append(order.hub_id)
        rows["distance_m"].append(order.distance_m)
        rows["weight_kg"].append(order.weight_kg)
        rows["lon"].append(order.lon)
        rows["lat"].append(order.lat)
        rows["node"].append(order.node)
        rows["access_m"].append(order.access_m)
        rows["attempts"].append(order.attempts)
        rows["access_s"].append(order.access_s)
    table = pd.DataFrame(rows)
    table["returned"] = np.array([order.returned for order in result.orders], dtype=np.int64)
    table["order_id"] = table["order_id"].astype("int64")
    table["node"] = table["node"].astype("int64")
    table["attempts"] = table["attempts"].astype("int64")
    delivered = table["state"] == OrderState.DELIVERED.value
    table["lead_time_s"] = np.where(delivered, table["delivered_s"] - table["created_s"], np.nan)
    table["late"] = delivered & (table["delivered_s"] > table["due_s"])
    return table


def events_table(result: SimulationResult) -> pd.DataFrame:
    """One row per event: time (s since midnight), robot, kind, order, node, value."""
    log = result.events
    return pd.DataFrame(
        {
            "time_s": np.asarray(log.column("time_s"), dtype=float),
            "robot_id": pd.array(log.column("robot_id"), dtype="string"),
            "kind": pd.array(log.column("kind"), dtype="string"),
            "order_id": np.asarray(log.column("order_id"), dtype=np.int64),
            "node": np.asarray(log.column("node"), dtype=np.int64),
            "value": np.asarray(log.column("value"), dtype=float),
        }
    )


def robots_table(result: SimulationResult) -> pd.DataFrame:
    """One row per robot: km, time busy / idle / charging, energy, deliveries."""
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
    return pd.DataFrame.from_records(records)


def legs_table(result: SimulationResult) -> pd.DataFrame:
    """One row per leg driven, with its node path, vertex times (s) and coordinates."""
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
        records.append(
            {
                "robot_id": leg.robot_id,
                "kind": leg.kind,
                "depart_s": leg.depart_s,
                "arrive_s": leg.depart_s + float(leg.cum_time_s[-1]),
                "length_m": leg.length_m,
                "nodes": nodes,
                "times_s": (leg.depart_s + leg.cum_time_s).tolist(),
                "lons": [float(lon_of[n]) for n in nodes],
                "lats": [float(lat_of[n]) for n in nodes],
            }
        )
    return pd.DataFrame.from_records(
        records,
        columns=["robot_id", "kind", "depart_s", "arrive_s", "length_m", "nodes", "times_s",
                 "lons", "lats"],
    )  # fmt: skip


def _rate(numerator: float, denominator: float) -> float:
    return float(numerator / denominator) if denominator else float("nan")


def compute_kpis(
    orders: pd.DataFrame,
    robots: pd.DataFrame,
    *,
    duration_s: float,
    grid_co2_g_per_kwh: float,
    energy_price_eur_per_kwh: float,
    charging_efficiency: float,
) -> dict[str, float | int]:
    """The KPIs of :data:`KPI_DESCRIPTIONS` from the order and robot tables."""
    delivered = orders[orders["state"] == OrderState.DELIVERED.value]
    rejected = int((orders["state"] == OrderState.REJECTED.value).sum())
    open_at_end = int(orders["state"].isin(OPEN_STATES).sum())
    late = int(delivered["late"].sum())
    lead_min = delivered["lead_time_s"].to_numpy(float) / 60.0
    fleet = robots
    if "kind" in robots:  # robot KPIs are about robots; energy counts electric vans too
        robots = robots[robots["kind"] == VehicleKind.ROBOT.value]
    robot_km = float(robots["distance_km"].sum())
    energy_kwh = float(fleet["drive_energy_wh"].sum()) / 1000.0 / charging_efficiency
    n_delivered = len(delivered)
    n_robots = len(robots)
    co2_kg = energy_kwh * grid_co2_g_per_kwh / 1000.0
    return {
        "orders_created": len(orders),
        "orders_delivered": n_delivered,
        "orders_late": late,
        "orders_rejected": rejected,
        "orders_open_at_end": open_at_end,
        "on_time_rate": _rate(n_delivered - late, n_delivered),
        "service_rate": _rate(n_delivered, len(orders) - rejected),
        "lead_time_mean_min": float(lead_min.mean()) if n_delivered else float("nan"),
        "lead_time_p50_min": float(np.percentile(lead_min, 50)) if n_delivered else float("nan"),
        "lead_time_p95_min": float(np.percentile(lead_min, 95)) if n_delivered else float("nan"),
        "robots": n_robots,
        "robot_km": robot_km,
        "km_per_delivery": _rate(robot_km, n_delivered),
        "deliveries_per_robot_day": _rate(n_delivered, n_robots),
        "utilisation": float(robots["busy_s"].sum()) / (n_robots * duration_s)
        if n_robots and duration_s > 0
        else float("nan"),
        "charging_h": float(robots["charging_s"].sum()) / 3600.0,
        "waiting_for_charger_h": float(robots["waiting_charger_s"].sum()) / 3600.0,
        "energy_kwh": energy_kwh,
        "energy_cost_eur": energy_kwh * energy_price_eur_per_kwh,
        "co2_kg": co2_kg,
        "co2_g_per_delivery": _rate(co2_kg * 1000.0, n_delivered),
        "road_crossings": int(robots["crossings"].sum()) if "crossings" in robots else 0,
    }


def run_kpis(
    orders: pd.DataFrame, robots: pd.DataFrame, scenario: Scenario, *, duration_s: float
) -> dict[str, float | int]:
    """Every KPI of :data:`KPI_DESCRIPTIONS`: :func:`compute_kpis` and those of operations
    (:func:`carreta.sim.output.operations_kpis.operations_kpis`), from a run's tables and
    scenario."""
    energy = scenario.energy
    kpis = compute_kpis(
        orders,
        robots,
        duration_s=duration_s,
        grid_co2_g_per_kwh=energy.grid_co2_g_per_kwh,
        energy_price_eur_per_kwh=energy.energy_price_eur_per_kwh,
        charging_efficiency=energy.charging_efficiency_fraction,
    )
    kpis.update(operations_kpis(orders, robots, scenario, duration_s=duration_s))
    return kpis


def result_kpis(result: SimulationResult) -> dict[str, float | int]:
    """KPIs of an in-memory run."""
    return run_kpis(
        orders_table(result),
        robots_table(result),
        result.scenario,
        duration_s=result.end_s - result.start_s,
    )
