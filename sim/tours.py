"""Capacitated multi-stop tours with time windows: insertion heuristic plus local search.

Plain numpy and Python, no SimPy: :func:`plan_tours` takes a travel-time matrix over the hub and
the doors and returns, for each vehicle, the order in which to visit its stops. Time windows are
soft (a late delivery costs ``lateness_weight`` seconds per second late); capacity (stops,
payload) and the energy budget are hard.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Vehicle:
    """What one idle robot can take: stops, kg, and driving seconds its battery allows."""

    max_stops: int
    payload_kg: float
    drive_budget_s: float


@dataclass(frozen=True)
class TourProblem:
    """One planning round at one hub.

    ``travel_s[i, j]`` is the travel time between points ``i`` and ``j``; point 0 is the hub and
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
        """Driving time of the tour (back to the hub) plus weighted lateness, in seconds."""
        if not stops:
            return 0.0
        drive, lateness = self.drive_and_lateness(stops)
        return drive + self.lateness_weight * lateness

    def drive_and_lateness(self, stops: list[int]) -> tuple[float, float]:
        """Total driving seconds and total seconds late over the stops of one tour."""
        travel = self.travel_s
        time = self.now_s + self.load_time_per_parcel_s * len(stops)
        drive = 0.0
        lateness = 0.0
        here = 0
        for stop in stops:
            leg = travel[here, stop + 1]
            drive += leg
            time += leg + self.service_time_s
            if time > self.due_s[stop]:
                lateness += time - self.due_s[stop]
            here = stop + 1
        drive += travel[here, 0]
        return drive, lateness

    def feasible(self, stops: list[int], vehicle: Vehicle) -> bool:
        """Whether ``vehicle`` can carry the stops and its battery covers the driving."""
        if len(stops) > vehicle.max_stops:
            return False
        if float(self.weight_kg[stops].sum()) > vehicle.payload_kg + 1e-9:
            return False
        drive, _ = self.drive_and_lateness(stops)
        return drive <= vehicle.drive_budget_s


def insertion(problem: TourProblem, vehicles: list[Vehicle]) -> list[list[int]]:
    """Cheapest feasible insertion, most urgent stop first; stops that fit nowhere are left out."""
    tours: list[list[int]] = [[] for _ in vehicles]
    costs = [0.0 for _ in vehicles]
    for stop in np.argsort(problem.due_s, kind="stable").tolist():
        best: tuple[float, int, int] | None = None
        tried_empty = set()
        for v, vehicle in enumerate(vehicles):
            if not tours[v]:
                # Empty tours of identical vehicles are interchangeable: try one of each kind.
                if vehicle in tried_empty:
                    continue
                tried_empty.add(vehicle)
            tour = tours[v]
            for position in range(len(tour) + 1):
                candidate = [*tour[:position], stop, *tour[position:]]
                if not problem.feasible(candidate, vehicle):
                    continue
                delta = problem.cost(candidate) - costs[v]
                if best is None or delta < best[0] - 1e-9:
                    best = (delta, v, position)
        if best is not None:
            _, v, position = best
            tours[v].insert(position, stop)
            costs[v] = problem.cost(tours[v])
    return tours


def local_search(
    problem: TourProblem, vehicles: list[Vehicle], tours: list[list[int]], *, iterations: int
) -> list[list[int]]:
    """Improve ``tours`` with 2-opt (within a tour) and relocate (between tours) moves.

    Each pass tries every move and applies the first that lowers the total cost; it stops after
    ``iterations`` applied moves or when no move improves.
    """
    tours = [list(tour) for tour in tours]
    costs = [problem.cost(tour) for tour in tours]
    applied = 0
    improved = True
    while improved and applied < iterations:
        improved = False
        for v, tour in enumerate(tours):
            for i in range(len(tour) - 1):
                for j in range(i + 1, len(tour)):
                    candidate = tour[:i] + tour[i : j + 1][::-1] + tour[j + 1 :]
                    cost = problem.cost(candidate)
                    if cost < costs[v] - 1e-6 and problem.feasible(candidate, vehicles[v]):
                        tours[v], costs[v], tour = candidate, cost, candidate
                        applied += 1
                        improved = True
        for a in range(len(tours)):
            for i in range(len(tours[a])):
                if applied >= iterations or i >= len(tours[a]):
                    break
                stop = tours[a][i]
                source = tours[a][:i] + tours[a][i + 1 :]
                source_cost = problem.cost(source)
                for b in range(len(tours)):
                    if b == a:
                        continue
                    for position in range(len(tours[b]) + 1):
                        target = [*tours[b][:position], stop, *tours[b][position:]]
                        gain = costs[a] + costs[b] - source_cost - problem.cost(target)
                        if gain > 1e-6 and problem.feasible(target, vehicles[b]):
                            tours[a], tours[b] = source, target
                            costs[a], costs[b] = source_cost, problem.cost(target)
                            applied += 1
                            improved = True
                            break
                    if tours[a] is source:
                        break
    return tours


def plan_tours(
    problem: TourProblem, vehicles: list[Vehicle], *, iterations: int
) -> list[list[int]]:
    """Tours for ``vehicles``: insertion, then ``iterations`` local-search moves at most."""
    tours = insertion(problem, vehicles)
    if iterations > 0:
        tours = local_search(problem, vehicles, tours, iterations=iterations)
    return tours
