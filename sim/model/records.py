"""Plain records of a run: orders, tours, legs and the event log.

No SimPy here: these are data the actors update and the results module turns into tables. Every
time is in seconds since midnight of the simulated day (``*_s``).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from carreta.routing.router import Route


class OrderState(enum.StrEnum):
    """Where an order is in its life; at the end of a run each order is in exactly one."""

    WAITING = "waiting"  # created, not yet on a robot
    ASSIGNED = "assigned"  # given to a robot, not yet loaded
    ON_BOARD = "on_board"  # loaded, travelling
    DELIVERED = "delivered"
    REJECTED = "rejected"  # can never be served (reason in Order.reason)


FINAL_STATES = (OrderState.DELIVERED, OrderState.REJECTED)


class OrderOutcome(enum.StrEnum):
    """How an order ended the run; every order has exactly one outcome (the orders table's
    ``outcome`` column, from which the service KPIs are counted)."""

    ON_TIME = "on_time"  # delivered by its due time
    LATE = "late"  # delivered after its due time, or still open at the end past it
    OPEN_NOT_DUE = "open_not_due"  # still open at the end, due at or after it
    REJECTED = "rejected"  # no robot could ever serve it


@dataclass(slots=True)
class Order:
    """One parcel to deliver to one door.

    ``node`` is the street node the door was snapped to and ``access_m`` the distance from that
    node to the door (walked at the stop, within the service time).
    """

    order_id: int
    created_s: float
    due_s: float
    lon: float
    lat: float
    node: int
    access_m: float
    weight_kg: float
    state: OrderState = OrderState.WAITING
    reason: str = ""
    robot_id: str = ""
    hub_id: str = ""
    assigned_s: float = np.nan
    picked_s: float = np.nan
    delivered_s: float = np.nan
    distance_m: float = np.nan  # street distance from the hub to the door on the robot's route
    attempts: int = 0
    seq: int = -1  # position in the day's order list (set by the engine)
    access_s: float = 0.0  # time to walk access_m at the stop, added to the service time
    returned: int = 0  # times brought back to the hub by a broken robot (breakdowns)
    ref: str | None = None  # the order's id as written in an orders CSV, when not a number

    @property
    def is_open(self) -> bool:
        """Not delivered and not rejected."""
        return self.state not in FINAL_STATES


@dataclass(frozen=True, slots=True)
class OrderArrays:
    """The fixed fields of the day's orders as arrays, by ``Order.seq`` (for planning rounds
    that read them for thousands of orders at once)."""

    node: np.ndarray  # int64 street node of the door
    due_s: np.ndarray
    weight_kg: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    access_s: np.ndarray

    @classmethod
    def of(cls, orders: Sequence[Order]) -> OrderArrays:
        """The arrays of ``orders``, which must be numbered ``seq = 0, 1, ...`` in this order."""
        count = len(orders)

        def column(name: str, dtype: type = float) -> np.ndarray:
            return np.fromiter((getattr(o, name) for o in orders), dtype=dtype, count=count)

        return cls(
            column("node", np.int64), column("due_s"), column("weight_kg"), column("lon"),
            column("lat"), column("access_s"),
        )  # fmt: skip

    @staticmethod
    def seqs(orders: Sequence[Order]) -> np.ndarray:
        """The ``seq`` of each of ``orders``, as an int64 array."""
        return np.fromiter((order.seq for order in orders), dtype=np.int64, count=len(orders))


@dataclass(frozen=True, slots=True)
class Doors:
    """Where a vehicle on its own street network stops for each order, by ``Order.seq``.

    Vans (:mod:`carreta.sim.model.vans`) drive another network than robots: ``nodes`` are its
    street nodes nearest each door and ``stop_time_s`` the time spent at each stop.
    """

    nodes: np.ndarray
    stop_time_s: np.ndarray


@dataclass(slots=True)
class Tour:
    """A trip planned for one robot: load at the hub, visit ``stops`` in order, come back."""

    robot_id: str
    hub_id: str
    orders: list[Order]
    planned_s: float
    energy_wh: float = 0.0
    duration_s: float = 0.0
    routes: list[Route] = field(default_factory=list)  # its legs, once planned

    @property
    def weight_kg(self) -> float:
        """Total parcel weight on board at departure."""
        return float(sum(order.weight_kg for order in self.orders))


@dataclass(slots=True)
class Leg:
    """One drive between two nodes: one SimPy timeout; positions come from ``cum_time_s``."""

    robot_id: str
    kind: str  # "to_stop" or "to_hub"
    depart_s: float
    nodes: np.ndarray
    cum_time_s: np.ndarray
    length_m: float
    cut_s: float = np.nan  # when the run's end cut the leg short (NaN: driven to its end)


def vertex_steps(route_nodes: np.ndarray, leg_nodes: np.ndarray) -> np.ndarray:
    """For each vertex of a leg, the index of its node in the route it follows.

    A leg's vertices are its route's nodes, some repeated where the robot waited (a crossing,
    a stop for help): a repeated vertex maps to the same route index.
    """
    if leg_nodes.shape[0] == route_nodes.shape[0]:
        return np.arange(route_nodes.shape[0])
    moved = leg_nodes[1:] != leg_nodes[:-1]
    return np.concatenate(([0], np.cumsum(moved)))


def insert_pauses(
    nodes: np.ndarray, cum_time_s: np.ndarray, pauses: Sequence[tuple[int, float]]
) -> tuple[np.ndarray, np.ndarray]:
    """A leg's vertices and times with a stop of ``seconds`` at each ``(vertex, seconds)``.

    The vertex is repeated (arrival, then departure) and every later time shifted; several
    pauses at one vertex make one stop of their total length. Positions along the leg are then
    interpolated from the times as before, with the robot standing still during each stop.
    """
    if not pauses:
        return nodes, cum_time_s
    if len(pauses) == 1 and pauses[0][1] > 0:  # the common case, without the general arrays
        vertex, seconds = pauses[0]
        return (
            np.concatenate((nodes[: vertex + 1], nodes[vertex:])),
            np.concatenate((cum_time_s[: vertex + 1], cum_time_s[vertex:] + seconds)),
        )
    extra = np.zeros(nodes.shape[0])
    for vertex, seconds in pauses:
        extra[vertex] += seconds
    stops = np.flatnonzero(extra > 0)
    repeat = np.ones(nodes.shape[0], dtype=np.int64)
    repeat[stops] = 2
    arrive = cum_time_s + (np.cumsum(extra) - extra)
    times = np.repeat(arrive, repeat)
    times[np.cumsum(repeat) - 1] = arrive + extra  # the last copy is the departure
    return np.repeat(nodes, repeat), times


EVENT_COLUMNS = ("time_s", "robot_id", "kind", "order_id", "node", "value")


@dataclass
class EventLog:
    """The event log: one row per thing that happened.

    Rows are appended as tuples (one list append per event, the cheapest thing Python does);
    the columns (:data:`EVENT_COLUMNS`) are read once at the end of the run. A run whose
    scenario writes no events table (``outputs.events: false``) keeps none (``keep=False``):
    at a million orders the rows would take about 1 GB. :meth:`add` is then a no-op; the robots'
    per-stop bookings test ``keep`` first and skip even that call (about 6 % of a 1,000,000-order
    day: 71.9 s against 76-78 s, same machine, same hour).
    """

    rows: list[tuple[float, str, str, int, int, float]] = field(default_factory=list)
    keep: bool = True  # False: a run that writes no events table keeps no rows (memory, time)

    def __post_init__(self) -> None:
        if not self.keep:
            self.add = self._discard  # type: ignore[method-assign]

    @staticmethod
    def _discard(*args: object, **kwargs: object) -> None:
        """:meth:`add` of a log that keeps nothing."""

    def add(
        self,
        time_s: float,
        kind: str,
        *,
        robot_id: str = "",
        order_id: int = -1,
        node: int = -1,
        value: float = np.nan,
    ) -> None:
        """Append one event. ``value`` carries a number whose meaning depends on ``kind``."""
        self.rows.append((time_s, robot_id, kind, order_id, node, value))

    def column(self, name: str) -> list[Any]:
        """All values of one of :data:`EVENT_COLUMNS`, in event order."""
        position = EVENT_COLUMNS.index(name)
        return [row[position] for row in self.rows]

    @property
    def time_s(self) -> list[float]:
        """Event times, s since midnight."""
        return self.column("time_s")

    @property
    def kind(self) -> list[str]:
        """Event kinds."""
        return self.column("kind")

    def __len__(self) -> int:
        return len(self.rows)


@dataclass(frozen=True)
class PlannedLeg:
    """A leg as driven: its route, node path and times with waits, and crossings made."""

    route: Route
    nodes: np.ndarray
    cum_time_s: np.ndarray
    crossings: int
