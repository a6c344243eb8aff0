"""Array kernels shared by the tour planners: a random stream, route bookkeeping, insertion,
each stop's nearest stops.

Everything here works on plain numpy arrays and is compiled with numba when the ``fast`` extra is
installed (plain Python otherwise: same results, much slower). A *plan* is held in arrays:

``tours[v, :lengths[v]]``
    the stops of vehicle ``v`` in visiting order (stop ``s`` is point ``s + 1`` of ``travel``,
    point 0 the hub);
``kg[v]``, ``drive[v]``, ``late[v]``
    its payload (kg), driving seconds (hub back to hub) and total seconds late;
``times[v, i]``
    the time (s) the service of its ``i``-th stop ends: the tour leaves after loading every
    parcel (``load_s`` each), so that time includes ``load_s * lengths[v]``;
``late_prefix[v, i]``, ``late_prefix_more[v, i]``
    the lateness of its first ``i`` stops, as they are and with one more parcel to load (what
    an insertion costs them);
``route_of[s]``, ``position_of[s]``
    where stop ``s`` is (``route_of[s] == -1``: not planned).

The random stream is Park and Miller's minimal standard generator in an ``int64[1]`` array, so
compiled and plain runs draw the same numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

F = TypeVar("F", bound=Callable[..., Any])

EPSILON = 1e-9


def compiled(function: F) -> F:
    """``function`` compiled by numba (cached on disk; it releases Python's lock, so planning
    problems solve side by side on threads), or unchanged when numba is missing."""
    try:
        from carreta.routing._numba_cache import cached_njit

        compile_ = cached_njit(nogil=True)  # imports numba
    except ImportError:  # pragma: no cover - exercised where numba is absent
        return function
    return compile_(function)


def numba_available() -> bool:
    """Whether the kernels are compiled (numba installed)."""
    try:
        import numba  # noqa: F401
    except ImportError:  # pragma: no cover - exercised where numba is absent
        return False
    return True


@compiled
def uniform(rng):  # type: ignore[no-untyped-def]
    """A number in (0, 1) from the stream ``rng`` (advanced in place)."""
    rng[0] = (rng[0] * 48271) % 2147483647
    return rng[0] / 2147483647.0


@compiled
def integer(rng, low, high):  # type: ignore[no-untyped-def]
    """An integer in ``[low, high)`` (``high > low``)."""
    value = low + int(uniform(rng) * (high - low))
    return value if value < high else high - 1


@compiled
def tour_cost(stops, count, travel, due, service, now, load_s):  # type: ignore[no-untyped-def]
    """(driving s, seconds late) of a tour over ``stops[:count]``, hub to hub."""
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
        time += leg + service[stop]
        if time > due[stop]:
            late += time - due[stop]
        here = stop + 1
    drive += travel[here, 0]
    return drive, late


@compiled
def refresh(  # type: ignore[no-untyped-def]
    v, tours, lengths, travel, due, weight, service, now, load_s,
    kg, drive, late, times, late_prefix, late_prefix_more, route_of, position_of,
):  # fmt: skip
    """Recompute the bookkeeping of route ``v`` from ``tours[v, :lengths[v]]``; its length."""
    count = lengths[v]
    time = now + load_s * count
    total_drive = 0.0
    total_late = 0.0
    load = 0.0
    here = 0
    late_prefix[v, 0] = 0.0
    late_prefix_more[v, 0] = 0.0
    for i in range(count):
        stop = tours[v, i]
        leg = travel[here, stop + 1]
        total_drive += leg
        time += leg + service[stop]
        times[v, i] = time
        over = time - due[stop]
        if over > 0.0:
            total_late += over
        late_prefix[v, i + 1] = total_late
        over += load_s
        late_prefix_more[v, i + 1] = late_prefix_more[v, i] + (over if over > 0.0 else 0.0)
        load += weight[stop]
        route_of[stop] = v
        position_of[stop] = i
        here = stop + 1
    if count > 0:
        total_drive += travel[here, 0]
    kg[v] = load
    drive[v] = total_drive
    late[v] = total_late
    return count


@compiled
def best_position(  # type: ignore[no-untyped-def]
    stop, v, bound, tours, lengths, travel, due, weight, service, now, load_s, late_weight,
    max_stops, payload, budget, kg, drive, times, late_prefix, late_prefix_more,
    rng, blink_rate,
):  # fmt: skip
    """The cheapest feasible place for ``stop`` in route ``v`` if it costs less than ``bound``.

    Returns (extra cost, position, work done); position -1 if none beats ``bound``. The work
    counts the positions and the later stops looked at.
    Each position is skipped with probability ``blink_rate`` (the "blinks" of string removal).
    Inserting never makes another stop earlier (the travel times obey the triangle
    inequality), so a candidate is dropped as soon as its partial cost reaches ``bound``.
    """
    count = lengths[v]
    if count >= max_stops[v] or kg[v] + weight[stop] > payload[v] + EPSILON:
        return bound, -1, 0
    point = stop + 1
    best = bound
    best_at = -1
    steps = count + 1
    previous = 0
    previous_time = now + load_s * (count + 1)
    for p in range(count + 1):
        following = tours[v, p] + 1 if p < count else 0
        detour = travel[previous, point] + travel[point, following] - travel[previous, following]
        if (
            detour < best
            and drive[v] + detour <= budget[v] + EPSILON
            and (blink_rate <= 0.0 or uniform(rng) >= blink_rate)
        ):
            done = previous_time + travel[previous, point] + service[stop]
            extra_late = late_prefix_more[v, p] - late_prefix[v, p]
            if done > due[stop]:
                extra_late += done - due[stop]
            delta = detour + late_weight * extra_late
            shift = load_s + detour + service[stop]
            i = p
            while i < count and delta < best:
                after = tours[v, i]
                old = times[v, i] - due[after]
                new = old + shift
                if new > 0.0:
                    delta += late_weight * (new - (old if old > 0.0 else 0.0))
                i += 1
            steps += i - p
            if delta < best:
                best = delta
                best_at = p
        if p < count:
            previous = tours[v, p] + 1
            previous_time = times[v, p] + load_s
    return best, best_at, steps


@compiled
def insert_at(stop, v, position, tours, lengths):  # type: ignore[no-untyped-def]
    """Put ``stop`` at ``position`` of route ``v`` (bookkeeping left to :func:`refresh`)."""
    count = lengths[v]
    for i in range(count, position, -1):
        tours[v, i] = tours[v, i - 1]
    tours[v, position] = stop
    lengths[v] = count + 1


@compiled
def nearest_stops(travel, count):  # type: ignore[no-untyped-def]
    """For each stop (row and column ``k + 1`` of ``travel``, row 0 the depot), the ``count``
    other stops nearest there and back (``travel[i, j] + travel[j, i]``), nearest first, ties
    by stop number; ``(n_stops, count)`` stop numbers ``0..n_stops - 1``.

    A bounded insertion sort per row: a stop farther than the ``count``-th kept is dismissed
    with one comparison, so a row costs ``n_stops`` comparisons and the shifts of the stops
    that enter the kept list.
    """
    n = travel.shape[0] - 1
    out = np.empty((n, count), dtype=np.int64)
    keys = np.empty(count)
    for i in range(n):
        size = 0
        for j in range(n):
            if j == i:
                continue
            d = travel[i + 1, j + 1] + travel[j + 1, i + 1]
            if size == count:
                if d >= keys[count - 1]:  # an equal one came first: it stays ahead
                    continue
                at = count - 1
            else:
                at = size
                size += 1
            while at > 0 and keys[at - 1] > d:
                keys[at] = keys[at - 1]
                out[i, at] = out[i, at - 1]
                at -= 1
            keys[at] = d
            out[i, at] = j
    return out
