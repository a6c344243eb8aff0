"""Orders: generated from the scenario's demand model or read from a CSV file.

Generation uses only the ``demand`` random stream, so the same seed gives the same orders
whatever the fleet or the dispatch policy: variants are compared on identical demand.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np

from carreta.routing import Snapper
from carreta.sim.model.addresses import address_sampler
from carreta.sim.model.orders_file import read_orders_file, read_points_file
from carreta.sim.model.records import Order, OrderState
from carreta.sim.scenario.demand import Demand, Destinations, WeightDistribution
from carreta.sim.scenario.models import Scenario

logger = logging.getLogger(__name__)

_EARTH_RADIUS_M = 6_371_008.8
_MAX_REDRAWS = 50


def arrival_times_s(
    demand: Demand, window_s: tuple[float, float], *, rng: np.random.Generator
) -> np.ndarray:
    """Sorted order-creation times (s since midnight): a Poisson process with an hourly rate.

    The rate in hour ``h`` is ``orders_per_day * profile[h] / sum(profile)`` per hour; only the
    part of each hour inside ``window_s`` produces orders.
    """
    profile = np.asarray(demand.hourly_profile, dtype=float)
    rate_per_s = demand.orders_per_day * profile / profile.sum() / 3600.0
    times: list[np.ndarray] = []
    start, end = window_s
    for hour in range(24):
        lo, hi = max(start, hour * 3600.0), min(end, (hour + 1) * 3600.0)
        if hi <= lo or rate_per_s[hour] == 0:
            continue
        count = rng.poisson(rate_per_s[hour] * (hi - lo))
        times.append(rng.uniform(lo, hi, size=count))
    if not times:
        return np.empty(0)
    return np.sort(np.concatenate(times))


def parcel_weights_kg(
    spec: WeightDistribution, count: int, *, rng: np.random.Generator
) -> np.ndarray:
    """``count`` parcel weights in kg, clipped to ``[min_kg, max_kg]``."""
    if spec.distribution == "fixed":
        weights = np.full(count, spec.mean_kg)
    elif spec.distribution == "uniform":
        weights = rng.uniform(spec.min_kg, spec.max_kg, size=count)
    else:
        # Lognormal with the given mean and sd of the weight itself.
        sigma2 = math.log1p((spec.sd_kg / spec.mean_kg) ** 2)
        mu = math.log(spec.mean_kg) - sigma2 / 2.0
        weights = rng.lognormal(mu, math.sqrt(sigma2), size=count)
    return np.clip(weights, spec.min_kg, spec.max_kg)


def _points_in_circle(
    destinations: Destinations, count: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    assert destinations.center_lon is not None and destinations.center_lat is not None
    assert destinations.radius_m is not None
    radius = destinations.radius_m * np.sqrt(rng.uniform(size=count))
    angle = rng.uniform(0.0, 2.0 * math.pi, size=count)
    lat0 = math.radians(destinations.center_lat)
    dlat = radius * np.cos(angle) / _EARTH_RADIUS_M
    dlon = radius * np.sin(angle) / (_EARTH_RADIUS_M * math.cos(lat0))
    return destinations.center_lon + np.degrees(dlon), destinations.center_lat + np.degrees(dlat)


def door_sampler(
    destinations: Destinations,
    node_lonlat: tuple[np.ndarray, np.ndarray, np.ndarray],
    *,
    cache_dir: Path | None = None,
) -> Callable[[int, np.random.Generator], tuple[np.ndarray, np.ndarray]]:
    """A function drawing ``count`` door points (lons, lats) for the destination model
    (``cache_dir``: where address points are cached, as the network's ``cache_dir``)."""
    node_ids, node_lons, node_lats = node_lonlat
    if destinations.kind == "nodes":

        def draw(count: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
            pick = rng.integers(0, node_ids.shape[0], size=count)
            return node_lons[pick], node_lats[pick]

    elif destinations.kind == "bbox":
        assert destinations.bbox is not None
        west, south, east, north = destinations.bbox

        def draw(count: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
            return rng.uniform(west, east, size=count), rng.uniform(south, north, size=count)

    elif destinations.kind == "circle":

        def draw(count: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
            return _points_in_circle(destinations, count, rng)

    elif destinations.kind == "addresses":
        return address_sampler(destinations, cache_dir=cache_dir)
    else:
        assert destinations.points_csv is not None
        lons, lats, weights = read_points_file(destinations.points_csv)
        p = None if weights is None else weights / weights.sum()

        def draw(count: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
            pick = rng.choice(lons.shape[0], size=count, p=p)
            return lons[pick], lats[pick]

    return draw


def generate_orders(
    scenario: Scenario,
    snapper: Snapper,
    node_lonlat: tuple[np.ndarray, np.ndarray, np.ndarray],
    *,
    rng: np.random.Generator,
) -> list[Order]:
    """Draw the day's orders: creation times, doors (snapped to the network), weights.

    ``node_lonlat`` holds the street nodes' ids, longitudes and latitudes (for kind 'nodes').

    A generated door farther than ``max_snap_distance_m`` from every street node is drawn
    again (up to 50 times, then the order is rejected with reason ``address_too_far``).
    """
    demand = scenario.demand
    window = _window_s(scenario)
    created = arrival_times_s(demand, window, rng=rng)
    count = created.shape[0]
    draw = door_sampler(demand.destinations, node_lonlat, cache_dir=scenario.network.cache_dir)
    lons, lats = draw(count, rng)
    snapped = snapper.snap(lons, lats)
    limit = demand.destinations.max_snap_distance_m
    far = np.flatnonzero(snapped.distance_m > limit)
    redraws = 0 if demand.destinations.kind == "addresses" else _MAX_REDRAWS  # real doors
    for _ in range(redraws):
        if far.shape[0] == 0:
            break
        lons[far], lats[far] = draw(far.shape[0], rng)
        again = snapper.snap(lons[far], lats[far])
        snapped.nodes[far] = again.nodes
        snapped.distance_m[far] = again.distance_m
        far = far[again.distance_m > limit]
    weights = parcel_weights_kg(demand.parcel_weight_kg, count, rng=rng)
    due = created + demand.time_window_min * 60.0
    columns = zip(
        created.tolist(), due.tolist(), lons.tolist(), lats.tolist(), snapped.nodes.tolist(),
        snapped.distance_m.tolist(), weights.tolist(), strict=True,
    )  # fmt: skip
    orders = [Order(i, *values) for i, values in enumerate(columns)]
    for i in far:
        _reject(orders[i], "address_too_far")
    set_access_times(orders, demand.destinations.access_speed_kph)
    logger.info("generated %d orders", count)
    return orders


def _window_s(scenario: Scenario) -> tuple[float, float]:
    start_h, end_h = scenario.simulation.window_h
    return start_h * 3600.0, end_h * 3600.0


def _reject(order: Order, reason: str) -> None:
    order.state = OrderState.REJECTED
    order.reason = reason


def read_orders(scenario: Scenario, snapper: Snapper) -> list[Order]:
    """Read the orders of ``demand.orders_csv`` (see the scenario reference for the columns).

    Orders created outside the simulated window are dropped with a warning; doors farther than
    ``max_snap_distance_m`` from every street become rejected orders (``address_too_far``).

    Raises
    ------
    ScenarioError
        Naming the CSV file, the column and the line of the first bad value.
    """
    demand = scenario.demand
    path = demand.orders_csv
    assert path is not None
    rows = read_orders_file(path)
    created = rows.created_s
    due = rows.due_s if rows.due_s is not None else created + demand.time_window_min * 60.0
    start, end = _window_s(scenario)
    inside = (created >= start) & (created < end)
    if not inside.all():
        first = int(np.flatnonzero(~inside)[0]) + 2
        logger.warning(
            "%s: %d orders created outside the simulated window ignored (first: line %d)",
            path, int((~inside).sum()), first,
        )  # fmt: skip
    order_rows = np.flatnonzero(inside)
    order_rows = order_rows[np.argsort(created[order_rows], kind="stable")]
    snapped = snapper.snap(rows.lon, rows.lat)
    orders = []
    for i in order_rows:
        order = Order(
            order_id=int(rows.order_id[i]),
            created_s=float(created[i]),
            due_s=float(due[i]),
            lon=float(rows.lon[i]),
            lat=float(rows.lat[i]),
            node=int(snapped.nodes[i]),
            access_m=float(snapped.distance_m[i]),
            weight_kg=float(rows.weight_kg[i]),
            ref=rows.order_ref[i],
        )
        if order.access_m > demand.destinations.max_snap_distance_m:
            _reject(order, "address_too_far")
        orders.append(order)
    set_access_times(orders, demand.destinations.access_speed_kph)
    return orders


def set_access_times(orders: list[Order], speed_kph: float | None) -> None:
    """Set each order's ``access_s``: its ``access_m`` walked at ``speed_kph`` (0 if None)."""
    if speed_kph is None:
        return
    for order in orders:
        order.access_s = order.access_m / (speed_kph / 3.6)
