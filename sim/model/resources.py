"""SimPy resources with O(log n) work per request, whatever the number of users and waiters.

SimPy's :class:`simpy.PreemptiveResource` keeps its waiting requests in a list sorted again on
every request (:class:`simpy.resources.resource.SortedQueue`), looks for the user to preempt
with ``max`` over every user, and frees a slot with ``list.remove``; :class:`simpy.Resource`
takes the head of its queue with ``list.pop(0)``. With thousands of robots at a hub (chargers)
or thousands of operators, that work grows with the square of the fleet.

The classes here are drop-in subclasses with the same events, the same order of events and the
same choices, on other data structures:

- the waiting requests are a binary heap keyed like SimPy's sorted list: ``(request.key,
  arrival number)`` for priorities (the list's sort is stable: equal keys stay in arrival
  order), the arrival number alone for first come, first served; a cancelled request is marked
  and dropped when it reaches the top (:class:`RequestQueue`);
- the users are an insertion-ordered dict (O(1) ``remove`` and ``in``), and for preemption a
  heap that yields the user SimPy's ``max(users, key=key)`` picks: the largest key, the first
  granted among equal keys (:class:`Users`).

``tests/test_resources.py`` drives SimPy's resources and these with the same random requests,
releases, cancellations and preemptions and checks that every grant and interrupt happens at
the same time in the same order.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterator
from typing import Any

import simpy
from simpy.resources.resource import Preempted, PriorityRequest, Release, Request

__all__ = ["FastPreemptiveResource", "FastResource", "RequestQueue", "Users"]

_COMPACT_SLACK = 64
"""Dead heap entries tolerated beyond the live ones before a heap is rebuilt."""


class RequestQueue:
    """Waiting requests as a heap: the head is the one SimPy's queue would have first.

    Supports what :class:`simpy.resources.base.BaseResource` and :class:`simpy.resources.base.Put`
    use of a put queue: ``append``, ``remove`` (a cancelled request), ``len``, ``[0]`` and
    ``pop(0)``; iteration lists the waiting requests in queue order (O(n log n), for inspection).

    Parameters
    ----------
    prioritised
        Order by ``(request.key, arrival)`` like :class:`simpy.PriorityResource`; else by
        arrival only, like :class:`simpy.Resource`.
    """

    def __init__(self, *, prioritised: bool) -> None:
        self._prioritised = prioritised
        self._heap: list[tuple[Any, int, Request]] = []
        self._live: set[Request] = set()
        self._arrivals = itertools.count()

    def append(self, request: Request) -> None:
        """Queue ``request`` (O(log n))."""
        key = request.key if self._prioritised else ()  # type: ignore[attr-defined]
        heapq.heappush(self._heap, (key, next(self._arrivals), request))
        self._live.add(request)

    def remove(self, request: Request) -> None:
        """Take ``request`` out of the queue (a cancelled request); ValueError if absent."""
        try:
            self._live.remove(request)
        except KeyError:
            raise ValueError("request not in the queue") from None
        self._prune()
        if len(self._heap) > 2 * len(self._live) + _COMPACT_SLACK:
            self._heap = [entry for entry in self._heap if entry[2] in self._live]
            heapq.heapify(self._heap)

    def _prune(self) -> None:
        heap, live = self._heap, self._live
        while heap and heap[0][2] not in live:
            heapq.heappop(heap)

    def __getitem__(self, index: int) -> Request:
        if index != 0:
            raise IndexError("a request queue gives only its head, [0]")
        if not self._live:
            raise IndexError("the request queue is empty")
        return self._heap[0][2]

    def pop(self, index: int = 0) -> Request:
        """Take the head out of the queue and return it (O(log n))."""
        request = self[index]
        heapq.heappop(self._heap)
        self._live.remove(request)
        self._prune()
        return request

    def __len__(self) -> int:
        return len(self._live)

    def __bool__(self) -> bool:
        return bool(self._live)

    def __iter__(self) -> Iterator[Request]:
        return iter([entry[2] for entry in sorted(self._heap) if entry[2] in self._live])


def _priority_queue() -> RequestQueue:
    return RequestQueue(prioritised=True)


def _fifo_queue() -> RequestQueue:
    return RequestQueue(prioritised=False)


def _descending(key: tuple[Any, ...]) -> tuple[Any, ...]:
    """A key that sorts the other way round (numbers and booleans: SimPy's request keys)."""
    return tuple(-part for part in key)


class Users:
    """The requests holding a resource, in the order they were granted.

    ``append``, ``remove`` and ``in`` take O(1) (an insertion-ordered dict); with
    ``preemptible`` a heap also answers :meth:`most_preemptible` in O(log n) amortised.
    ``remove`` raises ValueError for a request that is not a user, like ``list.remove``.
    """

    def __init__(self, *, preemptible: bool) -> None:
        self._users: dict[Request, int] = {}
        self._preemptible = preemptible
        self._heap: list[tuple[tuple[Any, ...], int, Request]] = []
        self._grants = itertools.count()

    def append(self, request: Request) -> None:
        """Add a user (just granted)."""
        grant = next(self._grants)
        self._users[request] = grant
        if self._preemptible:
            key = _descending(request.key)  # type: ignore[attr-defined]
            heapq.heappush(self._heap, (key, grant, request))

    def remove(self, request: Request) -> None:
        """Remove a user (released or preempted); ValueError if it is not one."""
        try:
            del self._users[request]
        except KeyError:
            raise ValueError("request is not a user") from None
        if self._preemptible and len(self._heap) > 2 * len(self._users) + _COMPACT_SLACK:
            users = self._users
            self._heap = [entry for entry in self._heap if users.get(entry[2]) == entry[1]]
            heapq.heapify(self._heap)

    def most_preemptible(self) -> PriorityRequest:
        """The user with the largest key, the first granted among equal keys (SimPy's choice,
        ``max(users, key=lambda request: request.key)``)."""
        heap, users = self._heap, self._users
        while heap and users.get(heap[0][2]) != heap[0][1]:
            heapq.heappop(heap)
        if not heap:
            raise ValueError("no users")
        request = heap[0][2]
        assert isinstance(request, PriorityRequest)
        return request

    def __contains__(self, request: object) -> bool:
        return request in self._users

    def __len__(self) -> int:
        return len(self._users)

    def __bool__(self) -> bool:
        return bool(self._users)

    def __iter__(self) -> Iterator[Request]:
        return iter(list(self._users))


class FastResource(simpy.Resource):
    """:class:`simpy.Resource` (first come, first served) with O(1) grants and releases."""

    PutQueue = staticmethod(_fifo_queue)  # type: ignore[assignment]

    def __init__(self, env: simpy.Environment, capacity: int = 1) -> None:
        super().__init__(env, capacity)
        self.users: Users = Users(preemptible=False)  # type: ignore[assignment]

    def _trigger_put(self, get_event: Any) -> None:
        # SimPy's loop stops after the first request it tries (``_do_put`` returns None): it
        # only ever looks at the head.
        queue = self.put_queue
        if queue:
            head = queue[0]
            self._do_put(head)
            if head.triggered:
                queue.pop(0)

    def _do_get(self, event: Release) -> None:
        users = self.users
        if event.request in users:
            users.remove(event.request)
        event.succeed()


class FastPreemptiveResource(simpy.PreemptiveResource):
    """:class:`simpy.PreemptiveResource` with O(log n) requests, preemptions and releases."""

    PutQueue = staticmethod(_priority_queue)  # type: ignore[assignment]

    def __init__(self, env: simpy.Environment, capacity: int = 1) -> None:
        super().__init__(env, capacity)
        self.users: Users = Users(preemptible=True)  # type: ignore[assignment]

    _trigger_put = FastResource._trigger_put
    _do_get = FastResource._do_get

    def _do_put(self, event: PriorityRequest) -> None:  # type: ignore[override]
        users = self.users
        if len(users) >= self._capacity and event.preempt:
            victim = users.most_preemptible()
            if victim.key > event.key:
                users.remove(victim)
                victim.proc.interrupt(  # type: ignore[union-attr]
                    Preempted(by=event.proc, usage_since=victim.usage_since, resource=self)
                )
        if len(users) < self._capacity:
            users.append(event)
            event.usage_since = self._env.now
            event.succeed()
