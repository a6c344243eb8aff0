"""A run over the day: robots per state and orders per stage at any time.

Plain pandas/numpy on the tables of a run directory (see :mod:`carreta.sim.output.rundir`); the
plots, the HTML replay and the notebooks share these functions. Times are seconds since midnight.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from carreta.sim.output.rundir import ROBOT_STATES, Run

__all__ = ["order_stage_times", "orders_over_time", "robot_state_changes", "robots_over_time"]


def robot_state_changes(run: Run) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Each robot's state changes: robot id → (times s, state codes into ``ROBOT_STATES``).

    Robots start ``idle`` at the start of the run. Without an events table every robot stays
    idle (there is nothing to say otherwise).
    """
    changes: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    code_of = {state: code for code, state in enumerate(ROBOT_STATES)}
    events = run.events
    if events is not None and len(events):
        kinds = events["kind"].astype(str)
        states = events[kinds.str.startswith("state:")]
        codes = kinds[states.index].str.slice(len("state:")).map(code_of)
        states = states.assign(code=codes).dropna(subset=["code"])
        for robot_id, group in states.groupby(states["robot_id"].astype(str), sort=False):
            group = group.sort_values("time_s", kind="stable")
            changes[str(robot_id)] = (
                group["time_s"].to_numpy(float),
                group["code"].to_numpy(np.int64),
            )
    for robot_id in run.robots["robot_id"].astype(str):
        changes.setdefault(robot_id, (np.array([run.start_s]), np.array([0], dtype=np.int64)))
    return changes


def robots_over_time(run: Run, times_s: np.ndarray) -> pd.DataFrame:
    """How many robots are in each state at each of ``times_s``.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``time_s``, one integer column per state of ``ROBOT_STATES``.
    """
    times_s = np.asarray(times_s, dtype=float)
    counts = np.zeros((times_s.size, len(ROBOT_STATES)), dtype=np.int64)
    for change_times, codes in robot_state_changes(run).values():
        index = np.searchsorted(change_times, times_s, side="right") - 1
        current = np.where(index >= 0, codes[np.clip(index, 0, None)], 0)
        np.add.at(counts, (np.arange(times_s.size), current), 1)
    return pd.DataFrame(counts, columns=list(ROBOT_STATES), index=pd.Index(times_s, name="time_s"))


def order_stage_times(run: Run) -> pd.DataFrame:
    """Per order: when it was created, left the queue (loaded or rejected) and was delivered.

    Rejection times come from the ``order_rejected`` events (or the creation time without an
    events table). Missing times are NaN.
    """
    orders = run.orders
    left = orders["picked_s"].to_numpy(float).copy()
    rejected = (orders["state"] == "rejected").to_numpy()
    if rejected.any():
        reject_time = pd.Series(orders["created_s"].to_numpy(float), index=orders["order_id"])
        if run.events is not None:
            events = run.events[run.events["kind"] == "order_rejected"]
            reject_time.update(events.groupby("order_id")["time_s"].min())
        left[rejected] = reject_time.to_numpy(float)[rejected]
    return pd.DataFrame(
        {
            "order_id": orders["order_id"].to_numpy(),
            "created_s": orders["created_s"].to_numpy(float),
            "left_queue_s": left,
            "delivered_s": orders["delivered_s"].to_numpy(float),
        }
    )


def _count_at_or_before(times: np.ndarray, grid: np.ndarray) -> np.ndarray:
    finite = np.sort(times[np.isfinite(times)])
    return np.searchsorted(finite, grid, side="right")


def orders_over_time(run: Run, times_s: np.ndarray) -> pd.DataFrame:
    """Orders waiting for a robot, on board, and delivered so far, at each of ``times_s``.

    Waiting means created but not yet loaded onto a robot (nor rejected); on board means loaded
    and not yet delivered.
    """
    grid = np.asarray(times_s, dtype=float)
    stages = order_stage_times(run)
    created = _count_at_or_before(stages["created_s"].to_numpy(), grid)
    left = _count_at_or_before(stages["left_queue_s"].to_numpy(), grid)
    picked = _count_at_or_before(run.orders["picked_s"].to_numpy(float), grid)
    delivered = _count_at_or_before(stages["delivered_s"].to_numpy(), grid)
    return pd.DataFrame(
        {"waiting": created - left, "on_board": picked - delivered, "delivered": delivered},
        index=pd.Index(grid, name="time_s"),
    )
