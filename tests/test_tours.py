"""Tour planning: capacity, payload and battery are never exceeded; local search only helps."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from carreta.sim.model.tours import TourProblem, Vehicle, plan_tours


def square_problem(points: np.ndarray, due: np.ndarray, weight: np.ndarray) -> TourProblem:
    """Hub at the origin; travel time = Manhattan distance between points (s)."""
    everything = np.vstack([[0.0, 0.0], points])
    travel = np.abs(everything[:, None, :] - everything[None, :, :]).sum(axis=2)
    return TourProblem(
        travel_s=travel, due_s=due, weight_kg=weight, now_s=0.0,
        load_time_per_parcel_s=10.0, service_time_s=60.0,
    )  # fmt: skip


def test_a_single_vehicle_visits_a_line_in_order() -> None:
    points = np.array([[300.0, 0.0], [100.0, 0.0], [200.0, 0.0]])
    problem = square_problem(points, due=np.full(3, 1e6), weight=np.ones(3))
    tours = plan_tours(problem, [Vehicle(5, 100.0, 1e9)], iterations=50)
    assert tours == [[1, 2, 0]]


def test_stops_beyond_every_budget_are_left_for_later() -> None:
    points = np.array([[100.0, 0.0], [5000.0, 0.0]])
    problem = square_problem(points, due=np.full(2, 1e6), weight=np.ones(2))
    tours = plan_tours(problem, [Vehicle(5, 100.0, 1000.0)], iterations=10)
    assert tours == [[0]]


def test_urgent_stops_come_first_when_late_is_costly() -> None:
    points = np.array([[100.0, 0.0], [1000.0, 0.0]])
    due = np.array([1e6, 1100.0])  # the far stop is due soon: only first is on time
    problem = square_problem(points, due=due, weight=np.ones(2))
    tours = plan_tours(problem, [Vehicle(5, 100.0, 1e9)], iterations=50)
    assert tours == [[1, 0]]


@settings(max_examples=60, deadline=None)
@given(
    st.integers(min_value=1, max_value=14).flatmap(
        lambda n: st.tuples(
            st.lists(
                st.tuples(st.floats(-2000, 2000), st.floats(-2000, 2000)), min_size=n, max_size=n
            ),
            st.lists(st.floats(0, 20000), min_size=n, max_size=n),
            st.lists(st.floats(0.1, 30), min_size=n, max_size=n),
        )
    ),
    st.lists(
        st.tuples(st.integers(1, 6), st.floats(5, 80), st.floats(500, 20000)),
        min_size=1,
        max_size=4,
    ),
    st.integers(0, 300),
)
def test_constraints_always_hold(
    stops: tuple[list[tuple[float, float]], list[float], list[float]],
    fleet: list[tuple[int, float, float]],
    iterations: int,
) -> None:
    points, due, weight = (np.array(part, dtype=float) for part in stops)
    problem = square_problem(points.reshape(-1, 2), due, weight)
    vehicles = [Vehicle(*spec) for spec in fleet]
    first = plan_tours(problem, vehicles, iterations=0)
    tours = plan_tours(problem, vehicles, iterations=iterations)
    visited = [stop for tour in tours for stop in tour]
    assert len(visited) == len(set(visited))  # no stop twice
    assert set(visited) <= set(range(len(due)))
    for tour, vehicle in zip(tours, vehicles, strict=True):
        assert len(tour) <= vehicle.max_stops
        assert weight[tour].sum() <= vehicle.payload_kg + 1e-9
        drive, _ = problem.drive_and_lateness(tour)
        assert drive <= vehicle.drive_budget_s + 1e-6
    # Local search moves stops around but never drops one, and never makes things worse.
    assert sorted(visited) == sorted(stop for tour in first for stop in tour)
    assert sum(problem.cost(t) for t in tours) <= sum(problem.cost(t) for t in first) + 1e-6
