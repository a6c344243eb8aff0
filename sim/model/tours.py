"""Capacitated multi-stop tours with soft deadlines, for one planning round at one hub.

No SimPy here: :func:`plan_tours` takes a travel-time matrix over one hub and a set of doors and
returns, for each vehicle, the order in which to visit its stops. Each vehicle drives at most one
tour, which leaves the hub once every parcel is loaded (``load_time_per_parcel_s`` each) and
spends each stop's service time at its door. Capacity in stops and kg and the driving budget of
each battery are hard limits; deadlines are soft: the cost of a plan is what the simulation
counts, driving seconds plus ``lateness_weight`` times the seconds late (:func:`score_plan`,
the one scoring rule every planner and the benchmark use). Stops that fit no tour are left out;
they wait for the next round.

Planners (``dispatch.planner`` in the scenario):

``builtin``
    ruin and recreate with simulated annealing (:mod:`carreta.sim.model.tour_search`), from a
    greedy insertion, for a time budget counted in deterministic work units;
``insertion``
    cheapest insertion then first-improvement 2-opt and relocate
    (:mod:`carreta.sim.model.tour_insertion`; the planner of carreta 0.1);
``pyvrp``
    PyVRP's solver on the same problem (:mod:`carreta.sim.model.tour_pyvrp`; the ``vrp`` extra).
"""

from __future__ import annotations

import functools
import logging
import time
from dataclasses import dataclass

import numpy as np

from carreta.sim.model.tour_insertion import cheapest_insertion, local_search
from carreta.sim.model.tour_kernels import nearest_stops, numba_available
from carreta.sim.model.tour_problem import TourProblem, Vehicle
from carreta.sim.model.tour_pyvrp import plan_with_pyvrp
from carreta.sim.model.tour_search import prepare, search
from carreta.sim.scenario.sections import TourPlannerName

__all__ = ["PlanScore", "Planner", "TourProblem", "Vehicle", "plan_tours", "score_plan"]

logger = logging.getLogger(__name__)

Planner = TourPlannerName

WORK_PER_MS = 85_000
"""Work units (insertion positions evaluated) the ``builtin`` search does in one millisecond
on the reference machine (one core of the CI machine, numba compiled)."""

WALL_CLOCK_FACTOR = 3.0
"""Without numba (a pure-Python search about 100 times slower) the search also stops once it has
run this many times its budget on the wall clock, and its plans then depend on the machine.
With numba only the work budget counts: plans never depend on the machine or its load."""

PATIENCE_MIN = 2_000
PATIENCE_PER_STOP = 100
"""The search ends early after ``max(PATIENCE_MIN, PATIENCE_PER_STOP * stops)`` iterations
without a better plan."""

_HOT, _COLD = 1.0, 0.01  # start and end temperatures, times the mean nearest-stop leg
_REMOVED, _STRING = 10.0, 10.0  # stops removed per iteration (mean), longest string
_NEIGHBOURS = 40  # nearest stops whose tours are tried first for an insertion
_SLICE_MS = 5.0  # the search returns to Python this often to look at the clock


@dataclass(frozen=True)
class PlanScore:
    """A plan by the simulation's rule: ``cost`` = ``drive_s`` + lateness weight × ``late_s``."""

    cost: float
    drive_s: float
    late_s: float
    tours: int  # vehicles that leave
    planned: int  # stops in a tour
    missing: int  # stops left for the next round
    feasible: bool  # no stop twice, every limit kept


def score_plan(problem: TourProblem, vehicles: list[Vehicle], tours: list[list[int]]) -> PlanScore:
    """Score ``tours`` (one per vehicle) by the simulation's own rule and check its limits."""
    drive = late = 0.0
    feasible = len(tours) == len(vehicles)
    seen: set[int] = set()
    for vehicle, tour in zip(vehicles, tours, strict=False):
        tour_drive, tour_late = problem.drive_and_lateness(tour)
        drive += tour_drive
        late += tour_late
        feasible &= len(tour) <= vehicle.max_stops
        feasible &= float(problem.weight_kg[tour].sum()) <= vehicle.payload_kg + 1e-9
        feasible &= tour_drive <= vehicle.drive_budget_s + 1e-6
        feasible &= seen.isdisjoint(tour) and len(set(tour)) == len(tour)
        seen.update(tour)
    n_stops = problem.due_s.shape[0]
    feasible &= seen <= set(range(n_stops))
    return PlanScore(
        cost=drive + problem.lateness_weight * late, drive_s=drive, late_s=late,
        tours=sum(1 for tour in tours if tour), planned=len(seen), missing=n_stops - len(seen),
        feasible=feasible,
    )  # fmt: skip


def plan_tours(
    problem: TourProblem,
    vehicles: list[Vehicle],
    *,
    planner: Planner = "builtin",
    time_budget_ms: float = 100.0,
    iterations: int = 200,
    seed: int = 1,
) -> list[list[int]]:
    """Tours for ``vehicles`` over the stops of ``problem`` (see the module docstring).

    ``time_budget_ms`` bounds the ``builtin`` search (in work units worth that many
    milliseconds; at most ``WALL_CLOCK_FACTOR`` times it on the clock) and PyVRP (on the
    clock); ``iterations`` bounds the moves of ``insertion``'s local search. ``seed`` seeds
    the searches' random streams.

    Returns one list of stop indices per vehicle, in visiting order; stops that fit no vehicle
    are left out (they wait for the next round).

    Raises
    ------
    ImportError
        If ``planner`` is ``"pyvrp"`` and PyVRP is not installed.
    """
    if not vehicles or problem.due_s.shape[0] == 0:
        return [[] for _ in vehicles]
    if planner == "pyvrp":
        return plan_with_pyvrp(problem, vehicles, time_budget_s=time_budget_ms / 1000.0, seed=seed)
    if planner == "insertion":
        return _plan_by_insertion(problem, vehicles, iterations=iterations)
    return _plan_by_search(problem, vehicles, time_budget_ms=time_budget_ms, seed=seed)


def _limits(vehicles: list[Vehicle]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    max_stops = np.array([v.max_stops for v in vehicles], dtype=np.int64)
    payload = np.array([v.payload_kg for v in vehicles], dtype=np.float64)
    budget = np.array([v.drive_budget_s for v in vehicles], dtype=np.float64)
    return max_stops, payload, budget


def _plan_by_insertion(
    problem: TourProblem, vehicles: list[Vehicle], *, iterations: int
) -> list[list[int]]:
    n_vehicles = len(vehicles)
    max_stops, payload, budget = _limits(vehicles)
    tours = np.full((n_vehicles, int(max_stops.max()) + 1), -1, dtype=np.int64)
    lengths = np.zeros(n_vehicles, dtype=np.int64)
    due = np.ascontiguousarray(problem.due_s, dtype=np.float64)
    common = (
        np.ascontiguousarray(problem.travel_s, dtype=np.float64), due,
        np.ascontiguousarray(problem.weight_kg, dtype=np.float64), float(problem.now_s),
        float(problem.load_time_per_parcel_s), problem.service_s,
        float(problem.lateness_weight), max_stops, payload, budget, tours, lengths,
        np.zeros(n_vehicles), np.zeros(n_vehicles),
    )  # fmt: skip
    cheapest_insertion(np.argsort(due, kind="stable").astype(np.int64), *common)
    if iterations > 0:
        local_search(*common, int(iterations))
    return [tours[v, : lengths[v]].tolist() for v in range(n_vehicles)]


def _plan_by_search(
    problem: TourProblem, vehicles: list[Vehicle], *, time_budget_ms: float, seed: int
) -> list[list[int]]:
    _compile_once()
    deadline = (
        np.inf
        if numba_available()
        else time.perf_counter() + WALL_CLOCK_FACTOR * time_budget_ms / 1000.0
    )
    work = max(int(time_budget_ms * WORK_PER_MS), 1)
    return _search_plan(problem, vehicles, work_total=work, deadline=deadline, seed=seed)


def _search_plan(
    problem: TourProblem, vehicles: list[Vehicle], *, work_total: int, deadline: float, seed: int
) -> list[list[int]]:
    """Run the search in slices until ``work_total`` work is done or the clock passes
    ``deadline`` (:func:`time.perf_counter`); the best plan found."""
    n_stops, n_vehicles = problem.due_s.shape[0], len(vehicles)
    travel = np.ascontiguousarray(problem.travel_s, dtype=np.float64)
    max_stops, payload, budget = _limits(vehicles)
    state = _empty_plan(n_stops, n_vehicles, int(min(max_stops.max(), n_stops)) + 1)
    due = np.ascontiguousarray(problem.due_s, dtype=np.float64)
    weight = np.ascontiguousarray(problem.weight_kg, dtype=np.float64)
    common = (
        travel, due, weight, float(problem.now_s), float(problem.load_time_per_parcel_s),
        problem.service_s, float(problem.lateness_weight),
    )  # fmt: skip
    costs = np.zeros(2)
    # The search starts from the greedy plan (cheapest insertion, most urgent first).
    cheapest_insertion(
        np.argsort(due, kind="stable").astype(np.int64), *common, max_stops, payload, budget,
        state[0], state[1], np.zeros(n_vehicles), np.zeros(n_vehicles),
    )  # fmt: skip
    prepare(
        travel, due, weight, problem.service_s, float(problem.now_s),
        float(problem.load_time_per_parcel_s), float(problem.lateness_weight), *state, costs,
    )  # fmt: skip
    best_tours, best_lengths = state[0].copy(), state[1].copy()
    rng = np.array([seed % 2147483646 + 1], dtype=np.int64)
    work = np.zeros(2, dtype=np.int64)  # work done, iterations since the best improved
    patience = max(PATIENCE_MIN, PATIENCE_PER_STOP * n_stops)
    temperature = _mean_nearest_leg_s(travel)
    problem_arrays = (
        travel, due, weight, problem.service_s, float(problem.now_s),
        float(problem.load_time_per_parcel_s), float(problem.lateness_weight), max_stops,
        payload, budget, _neighbours(travel),
    )  # fmt: skip
    slice_work = int(_SLICE_MS * WORK_PER_MS)
    while True:
        search(
            *problem_arrays, *state, best_tours, best_lengths, costs, rng, work,
            min(int(work[0]) + slice_work, work_total), work_total, patience,
            _HOT * temperature, _COLD * temperature, _REMOVED, _STRING,
        )  # fmt: skip
        if work[0] >= work_total or work[1] >= patience:
            break
        if time.perf_counter() > deadline:
            logger.debug("tour search stopped by the clock at %d of %d work", work[0], work_total)
            break
    return [best_tours[v, : best_lengths[v]].tolist() for v in range(n_vehicles)]


def _mean_nearest_leg_s(travel: np.ndarray) -> float:
    """Mean travel time from a stop to its nearest other stop (s): the search's temperature."""
    n_stops = travel.shape[0] - 1
    if n_stops < 2:
        return 60.0
    legs = travel[1:, 1:].copy()
    np.fill_diagonal(legs, np.inf)
    return max(float(np.minimum(legs.min(axis=1), 1e6).mean()), 1.0)


_PlanState = tuple[
    np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray,
    np.ndarray, np.ndarray, np.ndarray, np.ndarray,
]  # fmt: skip


def _empty_plan(n_stops: int, n_vehicles: int, capacity: int) -> _PlanState:
    """The state arrays of :func:`carreta.sim.model.tour_search.search`, every stop missing."""
    missing = np.concatenate([[n_stops], np.arange(n_stops)]).astype(np.int64)
    return (
        np.full((n_vehicles, capacity), -1, dtype=np.int64),  # tours
        np.zeros(n_vehicles, dtype=np.int64),  # lengths
        np.zeros(n_vehicles), np.zeros(n_vehicles), np.zeros(n_vehicles),  # kg, drive, late
        np.zeros((n_vehicles, capacity)),  # times
        np.zeros((n_vehicles, capacity + 1)), np.zeros((n_vehicles, capacity + 1)),  # prefixes
        np.full(n_stops, -1, dtype=np.int64), np.zeros(n_stops, dtype=np.int64),  # route, pos
        missing,
    )  # fmt: skip


def _neighbours(travel: np.ndarray) -> np.ndarray:
    """For each stop, the other stops nearest to it (there and back), nearest first, ties by
    stop number (:func:`~carreta.sim.model.tour_kernels.nearest_stops`; without numba, the same
    from a stable sort of each row)."""
    n_stops = travel.shape[0] - 1
    count = min(_NEIGHBOURS, n_stops - 1)
    if count <= 0:
        return np.zeros((n_stops, 0), dtype=np.int64)
    if numba_available():
        found: np.ndarray = nearest_stops(np.ascontiguousarray(travel, dtype=np.float64), count)
        return found
    return _neighbours_by_sorting(travel, count)


def _neighbours_by_sorting(travel: np.ndarray, count: int) -> np.ndarray:
    """:func:`_neighbours` from a stable sort of each row (without numba)."""
    n_stops = travel.shape[0] - 1
    both = travel[1:, 1:] + travel[1:, 1:].T
    out = np.empty((n_stops, count), dtype=np.int64)
    others = np.arange(n_stops)
    for i in range(n_stops):
        row = np.delete(others, i)
        out[i] = row[np.argsort(both[i, row], kind="stable")[:count]]
    return out


@functools.cache
def _compile_once() -> None:
    """Run the search once on a toy problem, so no budget pays for numba's compilation."""
    travel = np.array([[0.0, 60.0, 90.0], [60.0, 0.0, 40.0], [90.0, 40.0, 0.0]])
    problem = TourProblem(travel, np.array([500.0, 900.0]), np.ones(2), 0.0, 10.0, 60.0)
    _search_plan(problem, [Vehicle(2, 10.0, 1e9)], work_total=1, deadline=np.inf, seed=1)
