"""The tables of a run: one row per order, event, robot and leg (pandas DataFrames).

They are what the results folder stores as Parquet and what every KPI
(:mod:`carreta.sim.output.kpis`) is computed from, so an analyst can recompute each KPI from
the files.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from carreta.sim.model.engine import SimulationResult
from carreta.sim.model.records import OrderOutcome, OrderState

__all__ = ["events_table", "legs_table", "order_outcomes", "orders_table", "robots_table"]


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
    table["outcome"] = order_outcomes(table, end_s=result.end_s)
    table["late"] = table["outcome"] == OrderOutcome.LATE.value
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
                "arrive_s": leg.depart_s + float(leg.cum_time_s[-1])
                if np.isnan(leg.cut_s)
                else leg.cut_s,
                "cut_at_end": not np.isnan(leg.cut_s),
                "length_m": leg.length_m,
                "nodes": nodes,
                "times_s": (leg.depart_s + leg.cum_time_s).tolist(),
                "lons": [float(lon_of[n]) for n in nodes],
                "lats": [float(lat_of[n]) for n in nodes],
            }
        )
    return pd.DataFrame.from_records(
        records,
        columns=["robot_id", "kind", "depart_s", "arrive_s", "cut_at_end", "length_m", "nodes",
                 "times_s", "lons", "lats"],
    )  # fmt: skip
