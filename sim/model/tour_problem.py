"""The problem the tour planners solve: one planning round at one hub, and the robots' limits.

See :mod:`carreta.sim.model.tours` for the planners and the scoring rule.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from carreta.sim.model.tour_kernels import tour_cost

__all__ = ["TourProblem", "Vehicle"]


@dataclass(frozen=True)
class TourProblem:
    """One planning round at one hub.

    ``travel_s[i, j]`` is the travel time from point ``i`` to point ``j``: point 0 is the hub and
    point ``k + 1`` the door of stop ``k``. Times are absolute seconds (since midnight).
    ``service_time_s`` is the time spent at each stop: one number for all or one per stop.
    """

    travel_s: np.ndarray
    due_s: np.ndarray
    weight_kg: np.ndarray
    now_s: float
    load_time_per_parcel_s: float
    service_time_s: float | np.ndarray
    lateness_weight: float = 10.0

    @property
    def service_s(self) -> np.ndarray:
        """Seconds spent at each stop (one per stop)."""
        return np.broadcast_to(
            np.asarray(self.service_time_s, dtype=np.float64), self.due_s.shape
        ).copy()

    def cost(self, stops: list[int]) -> float:
        """Driving seconds of the tour (back to the hub) plus weighted lateness."""
        drive, late = self.drive_and_lateness(stops)
        return drive + self.lateness_weight * late

    def drive_and_lateness(self, stops: list[int]) -> tuple[float, float]:
        """Total driving seconds and total seconds late of one tour."""
        array = np.asarray(stops, dtype=np.int64)
        drive, late = tour_cost(
            array, array.shape[0], np.ascontiguousarray(self.travel_s, dtype=np.float64),
            np.ascontiguousarray(self.due_s, dtype=np.float64), self.service_s,
            float(self.now_s), float(self.load_time_per_parcel_s),
        )  # fmt: skip
        return float(drive), float(late)


@dataclass(frozen=True)
class Vehicle:
    """What one idle robot can take: stops, kg, and the driving seconds its battery allows."""

    max_stops: int
    payload_kg: float
    drive_budget_s: float
