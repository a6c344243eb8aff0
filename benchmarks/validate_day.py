"""Validation of a simulated day from its results folder (issue 15, docs/validation.md).

Physics and field checks recomputed from the output tables of ``carreta run``:

- **circuity**: for the delivered orders, the sum of (shortest street path hub node → door node
  + the access walk to the door) over the sum of straight lines hub → door (great circle). The
  streets are those of the run's scenario (its network is loaded again, from the cache);
  ``--hub LON,LAT`` measures the same doors from another hub point, ``--door-pairs N`` the
  circuity between N random pairs of the day's doors (the street network without the hub);
- **speeds**: mean moving speed (length driven over time on legs) and the fastest
  vertex-to-vertex move (great-circle chord between consecutive path nodes over the time
  between them), against the configured speed;
- **km between charges**: per robot, the distance driven between consecutive charging sessions
  (``charge_start`` / ``top_up_start``; the day's start and end bound the first and the last
  interval), against battery / consumption, and the energy balance of each interval (km driven
  × consumption = battery after the previous session − battery at the next one);
- **Little's law**: the time-average number of orders in the system L (created, not yet
  delivered; rejected orders never enter it) against λW, with W cut at the end of the run.

Usage: ``python benchmarks/validate_day.py RUN_DIR [--hub LON,LAT] [--door-pairs N]``
(exit code 1 when a check fails).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

EARTH_RADIUS_M = 6_371_009.0
CHARGE_STARTS = ("charge_start", "top_up_start")


def haversine_m(lon1: Any, lat1: Any, lon2: Any, lat2: Any) -> np.ndarray:
    """Great-circle distance in metres (arrays broadcast)."""
    lon1, lat1, lon2, lat2 = (
        np.radians(np.asarray(value, dtype=float)) for value in (lon1, lat1, lon2, lat2)
    )
    a = (
        np.sin((lat2 - lat1) / 2) ** 2
        + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(a))


def km_between_charges(
    legs: pd.DataFrame,
    events: pd.DataFrame,
    robots: pd.DataFrame,
    *,
    capacity_wh: dict[str, float],
    consumption_wh_per_km: dict[str, float],
) -> pd.DataFrame:
    """One row per robot and interval between charging sessions.

    Parameters
    ----------
    legs, events, robots
        The run's tables (``legs.parquet``, ``events.parquet``, ``robots.parquet``).
    capacity_wh, consumption_wh_per_km
        Battery capacity (Wh) and consumption (Wh/km) by robot type (the fleet groups).

    Returns
    -------
    pandas.DataFrame
        Columns ``robot_id``, ``interval`` (0 before the first session), ``km`` driven,
        ``limit_km`` (capacity / consumption), ``battery_start_wh`` (full at the day's start,
        else the battery after the previous session) and ``battery_end_wh`` (at the next
        session's start, or at the end of the day), ``balance_wh`` = battery_start_wh −
        battery_end_wh − km × consumption (0 when energy is conserved).
    """
    rows = []
    for robot in robots.itertuples(index=False):
        if robot.kind != "robot":
            continue
        robot_id, kind = str(robot.robot_id), str(robot.type)
        capacity, consumption = capacity_wh[kind], consumption_wh_per_km[kind]
        mine = events[events["robot_id"] == robot_id]
        starts = mine[mine["kind"].isin(CHARGE_STARTS)]
        ends = mine[mine["kind"] == "charge_end"]
        if len(ends) < len(starts) - 1 or len(ends) > len(starts):
            raise ValueError(f"{robot_id}: charging sessions do not pair up")
        start_s = starts["time_s"].to_numpy(float)
        start_wh = starts["value"].to_numpy(float)
        charged = ends["value"].to_numpy(float)
        driven = legs[legs["robot_id"] == robot_id]
        # A leg belongs to the interval of the sessions started before it departed.
        interval_of_leg = np.searchsorted(start_s, driven["depart_s"].to_numpy(float), "right")
        km = (
            np.bincount(
                interval_of_leg,
                weights=driven["length_m"].to_numpy(float),
                minlength=len(start_s) + 1,
            )
            / 1000.0
        )
        battery_start = np.concatenate(
            ([capacity], np.minimum(start_wh[: len(charged)] + charged, capacity))
        )
        battery_end = np.concatenate((start_wh, [float(robot.battery_end_wh)]))
        for interval in range(len(battery_start)):
            rows.append(
                {
                    "robot_id": robot_id,
                    "interval": interval,
                    "km": float(km[interval]),
                    "limit_km": capacity / consumption,
                    "battery_start_wh": float(battery_start[interval]),
                    "battery_end_wh": float(battery_end[interval]),
                    "balance_wh": float(
                        battery_start[interval] - battery_end[interval] - km[interval] * consumption
                    ),
                }
            )
    return pd.DataFrame(rows)


def littles_law(orders: pd.DataFrame, *, start_s: float, end_s: float) -> dict[str, float]:
    """L (orders in the system, time average over the run) and λ, W (open orders cut at the end;
    ``W_delivered``: delivered orders only), W in seconds."""
    created = orders["created_s"].to_numpy(float)
    delivered = orders["delivered_s"].to_numpy(float)
    rejected = (orders["state"] == "rejected").to_numpy(bool)
    leave = np.where(np.isnan(delivered), end_s, delivered)
    leave = np.where(rejected, created, leave)
    span = end_s - start_s
    inside = np.clip(leave, start_s, end_s) - np.clip(created, start_s, end_s)
    arrived = (created >= start_s) & (created < end_s)
    sojourn = leave[arrived] - created[arrived]
    return {
        "L": float(inside.sum() / span),
        "lambda_per_s": float(arrived.sum() / span),
        "W_s": float(sojourn.mean()),
        "W_delivered_s": float(np.nanmean(delivered[arrived] - created[arrived])),
    }


def move_speeds_kph(legs: pd.DataFrame) -> tuple[float, float]:
    """Mean moving speed over legs and the fastest vertex-to-vertex chord, both km/h."""
    moving_s = float((legs["arrive_s"] - legs["depart_s"]).sum())
    mean = float(legs["length_m"].sum()) / moving_s * 3.6 if moving_s > 0 else float("nan")
    fastest = 0.0
    for lons, lats, times in zip(legs["lons"], legs["lats"], legs["times_s"], strict=True):
        lons, lats, times = (np.asarray(v, dtype=float) for v in (lons, lats, times))
        if lons.shape[0] < 2:
            continue
        chord = haversine_m(lons[:-1], lats[:-1], lons[1:], lats[1:])
        elapsed = np.diff(times)
        moving = elapsed > 0
        if np.any(moving):
            fastest = max(fastest, float(np.max(chord[moving] / elapsed[moving])) * 3.6)
    return mean, fastest


def circuity(
    world: Any, speed_kph: float, hub_lonlat: tuple[float, float], orders: pd.DataFrame
) -> dict[str, float]:
    """Circuity hub → door of delivered orders (docs/validation.md's definition).

    The hub point is snapped to its nearest street node, like the simulation does.
    """
    router = world.router(speed_kph)
    snapped = world.snapper.snap(np.array([hub_lonlat[0]]), np.array([hub_lonlat[1]]))
    hub = int(snapped.nodes[0])
    delivered = orders[orders["state"] == "delivered"]
    network_m = np.array([router.route(hub, int(node)).length_m for node in delivered["node"]])
    walk_m = delivered["access_m"].to_numpy(float)
    straight_m = haversine_m(hub_lonlat[0], hub_lonlat[1], delivered["lon"], delivered["lat"])
    ratio = (network_m + walk_m) / straight_m
    return {
        "orders": float(len(delivered)),
        "circuity": float((network_m + walk_m).sum() / straight_m.sum()),
        "median": float(np.median(ratio)),
        "network_m": float(network_m.mean()),
        "access_m": float(walk_m.mean()),
        "straight_m": float(straight_m.mean()),
        "hub_snap_m": float(snapped.distance_m[0]),
    }


def door_pairs_circuity(world: Any, speed_kph: float, orders: pd.DataFrame, pairs: int) -> float:
    """Circuity between random pairs (seed 0) of the day's doors at least 300 m apart."""
    router = world.router(speed_kph)
    doors = orders.drop_duplicates("node")
    rng = np.random.default_rng(0)
    first, second = (rng.integers(0, len(doors), pairs) for _ in range(2))
    a, b = doors.iloc[first], doors.iloc[second]
    straight = haversine_m(a["lon"], a["lat"], b["lon"], b["lat"])
    keep = straight > 300.0
    network = np.array(
        [
            router.route(int(u), int(v)).length_m
            for u, v in zip(a["node"][keep], b["node"][keep], strict=True)
        ]
    )
    walks = a["access_m"].to_numpy(float)[keep] + b["access_m"].to_numpy(float)[keep]
    return float((network + walks).sum() / straight[keep].sum())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--hub", help="LON,LAT: measure the circuity from this hub point instead")
    parser.add_argument("--door-pairs", type=int, default=0, help="door-to-door pairs to measure")
    args = parser.parse_args()
    from carreta import load_run, load_scenario
    from carreta.sim.model.world import build_world

    run = load_run(args.run_dir)
    scenario = load_scenario(args.run_dir / "scenario.resolved.yaml")
    groups = {group.type: group for group in scenario.fleet.robots}
    ok = True

    limits = km_between_charges(
        run.legs,
        run.events,
        run.robots,
        capacity_wh={kind: group.battery_wh for kind, group in groups.items()},
        consumption_wh_per_km={kind: group.consumption_wh_per_km for kind, group in groups.items()},
    )
    worst = limits.loc[limits["km"].idxmax()]
    inside = bool((limits["km"] <= limits["limit_km"] + 1e-9).all())
    balanced = float(limits["balance_wh"].abs().max())
    ok &= inside and balanced < 1e-6
    sessions = int((limits["interval"] > 0).sum())
    print(
        f"km between charges: max {worst['km']:.2f} km ({worst['robot_id']}), median "
        f"{limits['km'].median():.2f} km over {len(limits)} intervals ({sessions} sessions) <= "
        f"battery / consumption {worst['limit_km']:.2f} km: {'pass' if inside else 'FAIL'}; "
        f"energy balance max |error| {balanced:.2e} Wh"
    )

    speed_kph = max(group.speed_kph for group in groups.values())
    mean_kph, fastest_kph = move_speeds_kph(run.legs[run.legs["robot_id"].isin(
        run.robots.loc[run.robots["kind"] == "robot", "robot_id"])])  # fmt: skip
    print(
        f"speeds: mean moving {mean_kph:.2f} km/h, fastest vertex-to-vertex {fastest_kph:.3f} "
        f"km/h (configured {speed_kph:g} km/h)"
    )

    little = littles_law(run.orders, start_s=run.start_s, end_s=run.end_s)
    print(
        f"Little's law: L = {little['L']:.2f} orders in the system, λW = "
        f"{little['lambda_per_s'] * little['W_s']:.2f} (λ = {little['lambda_per_s'] * 3600:.1f}/h,"
        f" W = {little['W_s'] / 60:.1f} min with open orders cut at the end; delivered only "
        f"{little['W_delivered_s'] / 60:.1f} min)"
    )

    world = build_world(scenario)
    hub = scenario.hubs[0]
    point = (hub.lon, hub.lat)
    if args.hub:
        lon, lat = (float(value) for value in args.hub.split(","))
        point = (lon, lat)
    figures = circuity(world, groups[next(iter(groups))].speed_kph, point, run.orders)
    print(
        f"circuity hub ({point[0]:.5f}, {point[1]:.5f}) → door, {figures['orders']:.0f} delivered "
        f"orders: {figures['circuity']:.3f} (median {figures['median']:.3f}; mean street "
        f"{figures['network_m']:.0f} m + access {figures['access_m']:.1f} m vs straight "
        f"{figures['straight_m']:.0f} m; hub {figures['hub_snap_m']:.0f} m from its node)"
    )
    if args.door_pairs:
        value = door_pairs_circuity(world, speed_kph, run.orders, args.door_pairs)
        print(f"circuity door → door ({args.door_pairs} random pairs > 300 m apart): {value:.3f}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
