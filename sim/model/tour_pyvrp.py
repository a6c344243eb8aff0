"""The ``pyvrp`` tour planner: PyVRP's iterated local search on the same problem.

PyVRP (``pip install carreta[vrp]``, https://pyvrp.org) solves vehicle routing problems with
hard time windows, several load dimensions, route limits and optional clients with prizes. The
simulation's problem (:class:`carreta.sim.model.tour_problem.TourProblem`) maps onto it as follows:

- time is counted in tenths of a second from the planning instant; the hub is the depot;
- driving seconds are both PyVRP's *distance* (what it minimises: one unit of cost per unit) and
  its *duration*; a vehicle's battery budget is its ``max_distance``;
- the two loads are parcel slots (1 per order) and grams (the kg rounded up, capacities down);
- vehicles that share slots, payload and budget (rounded down to the minute) form one type;
- lateness: PyVRP has no soft deadlines, so a due time becomes a hard one (service must end by
  it). An order that cannot be on time even alone gets ``LATE_GRACE_S`` after its earliest
  possible delivery. Loading takes ``load_s`` per parcel before a tour leaves; PyVRP's depot
  time is per tour, so it is set for an average tour (orders over vehicles, within their
  slots). The plan PyVRP returns is scored by the simulation's own rule, so these
  approximations cost quality, never correctness;
- every order is an optional client with a prize far above any tour's cost, so an order that
  fits no tour is left for the next round instead of making the problem infeasible.

Raises :class:`ImportError` (from :func:`plan_with_pyvrp`) when PyVRP is not installed.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pyvrp

    from carreta.sim.model.tour_problem import TourProblem, Vehicle

SCALE = 10.0
"""PyVRP works in integers: tenths of a second."""

LATE_GRACE_S = 1800.0
"""Deadline given to an order that cannot be on time: its earliest delivery plus this (s)."""

_PRIZE = 10**9
_UNLIMITED = np.iinfo(np.int64).max


def pyvrp_available() -> bool:
    """Whether PyVRP can be imported."""
    try:
        import pyvrp  # noqa: F401
    except ImportError:
        return False
    return True


def plan_with_pyvrp(
    problem: TourProblem, vehicles: list[Vehicle], *, time_budget_s: float, seed: int
) -> list[list[int]]:
    """Tours for ``vehicles`` from PyVRP run for ``time_budget_s`` seconds (wall clock).

    Two runs share the budget: the first (40 %) loads every tour for the average tour
    (orders over vehicles); the second, started from the first's plan, loads every tour for
    the longest tour of that plan, so the deadlines PyVRP keeps are those the simulation
    sees for tours up to that length.

    Returns one list of stop indices per vehicle; a tour PyVRP could only return over a limit
    is cut from its end until it fits (those stops wait for the next round).

    Raises
    ------
    ImportError
        If PyVRP is not installed.
    """
    import pyvrp
    from pyvrp.stop import MaxRuntime

    n_stops = problem.due_s.shape[0]
    longest = max(v.max_stops for v in vehicles)
    tour_size = max(1, min(longest, math.ceil(n_stops / len(vehicles))))
    data, members = _problem_data(problem, vehicles, tour_size=tour_size)
    first = pyvrp.solve(
        data, stop=MaxRuntime(max(0.4 * time_budget_s, 0.001)), seed=seed, collect_stats=False
    )
    sizes = [route.num_clients() for route in first.best.routes()]
    data, members = _problem_data(problem, vehicles, tour_size=max(sizes, default=tour_size))
    routes = [pyvrp.Route(data, _visits(r), r.vehicle_type()) for r in first.best.routes()]
    start = pyvrp.Solution(data, routes)
    second = pyvrp.solve(
        data,
        stop=MaxRuntime(max(0.6 * time_budget_s, 0.001)),
        seed=seed,
        collect_stats=False,
        initial_solution=start,
    )
    best = second.best if second.best.is_feasible() or not first.best.is_feasible() else first.best
    tours: list[list[int]] = [[] for _ in vehicles]
    for route in best.routes():
        vehicle = members[route.vehicle_type()].pop(0)
        tours[vehicle] = _visits(route)
    return [_within_limits(problem, vehicles[v], tour) for v, tour in enumerate(tours)]


def _visits(route: pyvrp.Route) -> list[int]:
    """The stops (client indices) of a PyVRP route, in order."""
    return [int(step.idx) for step in route if step.is_client()]


def _problem_data(
    problem: TourProblem, vehicles: list[Vehicle], *, tour_size: int
) -> tuple[pyvrp.ProblemData, list[list[int]]]:
    """PyVRP's data for ``problem`` with every tour loaded for ``tour_size`` parcels, and the
    vehicles (indices) of each vehicle type."""
    import pyvrp

    n_stops = problem.due_s.shape[0]
    travel: Any = np.rint(np.asarray(problem.travel_s, dtype=np.float64) * SCALE).astype(np.int64)
    service = problem.service_s
    start_s = problem.load_time_per_parcel_s * tour_size
    depot = pyvrp.Depot(location=0, service_duration=round(start_s * SCALE))
    clients = []
    for stop in range(n_stops):
        point = stop + 1
        latest_end = float(problem.due_s[stop]) - problem.now_s
        earliest_end = start_s + float(problem.travel_s[0, point]) + float(service[stop])
        if latest_end < earliest_end:
            latest_end = earliest_end + LATE_GRACE_S
        clients.append(
            pyvrp.Client(
                location=point,
                delivery=[1, math.ceil(float(problem.weight_kg[stop]) * 1000.0)],
                service_duration=round(float(service[stop]) * SCALE),
                tw_late=max(0, math.floor((latest_end - float(service[stop])) * SCALE)),
                prize=_PRIZE,
                required=False,
            )
        )
    types: dict[tuple[int, int, int], list[int]] = {}
    for index, vehicle in enumerate(vehicles):
        budget = vehicle.drive_budget_s
        distance = _UNLIMITED if not math.isfinite(budget) else math.floor(budget / 60.0) * 600
        key = (vehicle.max_stops, math.floor(vehicle.payload_kg * 1000.0), int(distance))
        types.setdefault(key, []).append(index)
    vehicle_types = [
        pyvrp.VehicleType(
            num_available=len(members), capacity=[key[0], key[1]], max_distance=key[2]
        )
        for key, members in types.items()
    ]
    data = pyvrp.ProblemData(
        locations=[pyvrp.Location(0.0, 0.0) for _ in range(n_stops + 1)],
        clients=clients,
        depots=[depot],
        vehicle_types=vehicle_types,
        distance_matrices=[travel],
        duration_matrices=[travel],
    )
    return data, [list(group) for group in types.values()]


def _within_limits(problem: TourProblem, vehicle: Vehicle, tour: list[int]) -> list[int]:
    """``tour`` cut from its end until it respects the vehicle's slots, kg and budget."""
    while tour:
        drive, _ = problem.drive_and_lateness(tour)
        kg = float(problem.weight_kg[tour].sum())
        fits = len(tour) <= vehicle.max_stops and kg <= vehicle.payload_kg + 1e-9
        if fits and drive <= vehicle.drive_budget_s + 1e-9:
            break
        tour = tour[:-1]
    return tour
