"""Capacitated multi-stop tours with time windows: insertion heuristic plus local search.

No SimPy here: :func:`plan_tours` takes a travel-time matrix over one hub and a set of doors and
returns, for each vehicle, the order in which to visit its stops. Capacity (stops, payload) and
the driving budget of each battery are hard constraints; time windows are soft (a late delivery
costs ``lateness_weight`` seconds per second late), so an order already late still gets a tour.

1. *Cheapest insertion*, most urgent stop first: each stop goes where it adds the least cost
   (driving time + weighted lateness) over all feasible positions of all vehicles.
2. *Local search*, first improvement, until no move improves or ``iterations`` moves were
   applied: 2-opt (reverse a segment of one tour) and relocate (move one stop to another
   position of any tour).

The kernels are written for numba (compiled when the ``fast`` extra is installed) and run as
plain Python otherwise: same results, slower.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

F = TypeVar("F", bound=Callable[..., Any])


def _compiled(function: F) -> F:
    try:
        from numba import njit
    except ImportError:  # pragma: no cover - exercised where numba is absent
        return function
    return njit(cache=True)(function)  # type: ignore[return-value]


@dataclass(frozen=True)
class TourProblem:
    """One planning round at one hub.

    ``travel_s[i, j]`` is the travel time from point ``i`` to point ``j``: point 0 is the hub and
    point ``k + 1`` the door of stop ``k``. Times are absolute seconds (since midnight).
    """

    travel_s: np.ndarray
    due_s: np.ndarray
    weight_kg: np.ndarray
    now_s: float
    load_time_per_parcel_s: float
    service_time_s: float
    lateness_weight: float = 10.0

    def cost(self, stops: list[int]) -> float:
        """Driving seconds of the tour (back to the hub) plus weighted lateness."""
        drive, late = self.drive_and_lateness(stops)
        return drive + self.lateness_weight * late

    def drive_and_lateness(self, stops: list[int]) -> tuple[float, float]:
        """Total driving seconds and total seconds late of one tour."""
        array = np.asarray(stops, dtype=np.int64)
        drive, late = _tour_cost(
            array, array.shape[0], self.travel_s, self.due_s, self.now_s,
            self.load_time_per_parcel_s, self.service_time_s,
        )  # fmt: skip
        return float(drive), float(late)


@dataclass(frozen=True)
class Vehicle:
    """What one idle robot can take: stops, kg, and the driving seconds its battery allows."""

    max_stops: int
    payload_kg: float
    drive_budget_s: float


@_compiled
def _tour_cost(stops, count, travel, due, now, load_s, service_s):  # type: ignore[no-untyped-def]
    if count == 0:
        return 0.0, 0.0
    time = now + load_s * count
    drive = 0.0
    late = 0.0
    here = 0
    for k in range(count):
        stop = stops[k]
        leg = travel[here, stop + 1]
        drive += leg
        time += leg + service_s
        if time > due[stop]:
            late += time - due[stop]
        here = stop + 1
    drive += travel[here, 0]
    return drive, late


@_compiled
def _insertion(  # type: ignore[no-untyped-def]
    sequence,
    travel,
    due,
    weight,
    now,
    load_s,
    service_s,
    late_weight,
    max_stops,
    payload,
    budget,
    tours,
    lengths,
    loads,
    costs,
):
    """Insert the stops of ``sequence`` one by one where they cost least (in place)."""
    capacity = tours.shape[1]
    candidate = np.empty(capacity, dtype=np.int64)
    best_tour = np.empty(capacity, dtype=np.int64)
    for stop in sequence:
        best = np.inf
        best_vehicle = -1
        best_count = 0
        empty_tried = False
        for v in range(max_stops.shape[0]):
            k = lengths[v]
            if k >= max_stops[v] or loads[v] + weight[stop] > payload[v] + 1e-9:
                continue
            if k == 0 and empty_tried:
                continue  # an empty tour costs the same whichever vehicle drives it
            feasible = False
            for position in range(k + 1):
                for i in range(position):
                    candidate[i] = tours[v, i]
                candidate[position] = stop
                for i in range(position, k):
                    candidate[i + 1] = tours[v, i]
                drive, late = _tour_cost(candidate, k + 1, travel, due, now, load_s, service_s)
                if drive > budget[v]:
                    continue
                feasible = True
                delta = drive + late_weight * late - costs[v]
                if delta < best - 1e-9:
                    best = delta
                    best_vehicle = v
                    best_count = k + 1
                    for i in range(k + 1):
                        best_tour[i] = candidate[i]
            if k == 0 and feasible:
                empty_tried = True
        if best_vehicle >= 0:
            for i in range(best_count):
                tours[best_vehicle, i] = best_tour[i]
            lengths[best_vehicle] = best_count
            loads[best_vehicle] += weight[stop]
            costs[best_vehicle] += best


@_compiled
def _local_search(  # type: ignore[no-untyped-def]
    travel,
    due,
    weight,
    now,
    load_s,
    service_s,
    late_weight,
    max_stops,
    payload,
    budget,
    tours,
    lengths,
    loads,
    costs,
    iterations,
):
    """2-opt and relocate moves, first improvement, at most ``iterations`` applied (in place)."""
    capacity = tours.shape[1]
    candidate = np.empty(capacity, dtype=np.int64)
    source = np.empty(capacity, dtype=np.int64)
    applied = 0
    improved = True
    while improved and applied < iterations:
        improved = False
        # 2-opt within each tour.
        for v in range(lengths.shape[0]):
            k = lengths[v]
            for i in range(k - 1):
                for j in range(i + 1, k):
                    if applied >= iterations:
                        return applied
                    for q in range(k):
                        candidate[q] = tours[v, q]
                    for q in range(j - i + 1):
                        candidate[i + q] = tours[v, j - q]
                    drive, late = _tour_cost(candidate, k, travel, due, now, load_s, service_s)
                    cost = drive + late_weight * late
                    if cost < costs[v] - 1e-6 and drive <= budget[v]:
                        for q in range(k):
                            tours[v, q] = candidate[q]
                        costs[v] = cost
                        applied += 1
                        improved = True
        # Relocate one stop to another position, in its tour or another one.
        for a in range(lengths.shape[0]):
            i = 0
            while i < lengths[a]:
                if applied >= iterations:
                    return applied
                stop = tours[a, i]
                ka = lengths[a]
                for q in range(i):
                    source[q] = tours[a, q]
                for q in range(i + 1, ka):
                    source[q - 1] = tours[a, q]
                drive_a, late_a = _tour_cost(source, ka - 1, travel, due, now, load_s, service_s)
                cost_a = drive_a + late_weight * late_a
                moved = False
                for b in range(lengths.shape[0]):
                    kb = lengths[b] if b != a else ka - 1
                    if b != a and (kb >= max_stops[b] or loads[b] + weight[stop] > payload[b]):
                        continue
                    for position in range(kb + 1):
                        for q in range(position):
                            candidate[q] = tours[b, q] if b != a else source[q]
                        candidate[position] = stop
                        for q in range(position, kb):
                            candidate[q + 1] = tours[b, q] if b != a else source[q]
                        drive, late = _tour_cost(
                            candidate, kb + 1, travel, due, now, load_s, service_s
                        )
                        if drive > budget[b]:
                            continue
                        cost_b = drive + late_weight * late
                        if b == a:
                            gain = costs[a] - cost_b
                        else:
                            gain = costs[a] + costs[b] - cost_a - cost_b
                        if gain > 1e-6:
                            if b != a:
                                for q in range(ka - 1):
                                    tours[a, q] = source[q]
                                lengths[a] = ka - 1
                                loads[a] -= weight[stop]
                                costs[a] = cost_a
                                loads[b] += weight[stop]
                            for q in range(kb + 1):
                                tours[b, q] = candidate[q]
                            lengths[b] = kb + 1
                            costs[b] = cost_b
                            applied += 1
                            improved = True
                            moved = True
                            break
                    if moved:
                        break
                if not moved:
                    i += 1
    return applied


def plan_tours(
    problem: TourProblem, vehicles: list[Vehicle], *, iterations: int
) -> list[list[int]]:
    """Tours for ``vehicles`` over the stops of ``problem`` (see the module docstring).

    Returns one list of stop indices per vehicle, in visiting order; stops that fit no vehicle
    are left out (they wait for the next round).
    """
    n_vehicles = len(vehicles)
    if n_vehicles == 0 or problem.due_s.shape[0] == 0:
        return [[] for _ in vehicles]
    max_stops = np.array([v.max_stops for v in vehicles], dtype=np.int64)
    payload = np.array([v.payload_kg for v in vehicles], dtype=np.float64)
    budget = np.array([v.drive_budget_s for v in vehicles], dtype=np.float64)
    tours = np.full((n_vehicles, int(max_stops.max()) + 1), -1, dtype=np.int64)
    lengths = np.zeros(n_vehicles, dtype=np.int64)
    loads = np.zeros(n_vehicles)
    costs = np.zeros(n_vehicles)
    travel = np.ascontiguousarray(problem.travel_s, dtype=np.float64)
    due = np.ascontiguousarray(problem.due_s, dtype=np.float64)
    weight = np.ascontiguousarray(problem.weight_kg, dtype=np.float64)
    common = (
        travel, due, weight, float(problem.now_s), float(problem.load_time_per_parcel_s),
        float(problem.service_time_s), float(problem.lateness_weight),
        max_stops, payload, budget, tours, lengths, loads, costs,
    )  # fmt: skip
    sequence = np.argsort(due, kind="stable").astype(np.int64)
    _insertion(sequence, *common)
    if iterations > 0:
        _local_search(*common, int(iterations))
    return [tours[v, : lengths[v]].tolist() for v in range(n_vehicles)]
