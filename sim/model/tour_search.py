"""Ruin and recreate with simulated annealing: the ``builtin`` tour planner's search.

It follows *Slack Induction by String Removals* (Christiaens and Vanden Berghe, "Slack Induction
by String Removals for Vehicle Routing Problems", Transportation Science 54(2), 2020): each
iteration removes a few strings of consecutive stops from neighbouring tours (sometimes keeping
a piece in the middle of the string), puts every removed stop back at its cheapest feasible
place (greedy insertion, skipping a position now and then: "blinks"), and keeps the new plan by
the simulated annealing rule. The cost is the simulation's: driving seconds plus
``late_weight`` times the seconds late, a large penalty per stop left out. Capacity in stops and
kg and each vehicle's driving budget are never exceeded.

The search is deterministic: its random stream comes from a seed, and its length is counted in
*work* (positions evaluated), not seconds, so a scenario reproduces to the byte. The caller
(:func:`carreta.sim.model.tours.plan_tours`) runs it in slices and may also stop it on the wall
clock.
"""

from __future__ import annotations

import numpy as np

from carreta.sim.model.tour_kernels import (
    EPSILON,
    best_position,
    compiled,
    insert_at,
    integer,
    refresh,
    uniform,
)

MISSING_PENALTY = 1.0e7
"""Cost of a stop left out of every tour (seconds): larger than any tour it could join."""


@compiled
def _open_vehicle(  # type: ignore[no-untyped-def]
    stop, bound, lengths, travel, due, weight, service, now, load_s, late_weight,
    max_stops, payload, budget,
):  # fmt: skip
    """An idle vehicle for ``stop`` alone if that costs less than ``bound``: (cost, vehicle).

    Of the idle vehicles that can take it, the one with the largest driving budget, so the
    tour can grow.
    """
    point = stop + 1
    round_trip = travel[0, point] + travel[point, 0]
    chosen = -1
    for v in range(lengths.shape[0]):
        if lengths[v] != 0 or max_stops[v] < 1 or weight[stop] > payload[v] + EPSILON:
            continue
        if round_trip > budget[v] + EPSILON:
            continue
        if chosen < 0 or budget[v] > budget[chosen]:
            chosen = v
    if chosen < 0:
        return bound, -1
    done = now + load_s + travel[0, point] + service[stop]
    cost = round_trip + late_weight * (done - due[stop] if done > due[stop] else 0.0)
    if cost < bound:
        return cost, chosen
    return bound, -1


@compiled
def _sort_stops(stops, count, travel, due, rng):  # type: ignore[no-untyped-def]
    """Order the stops to re-insert: at random (4/11), most urgent first (4/11), farthest
    from the hub first (2/11) or nearest first (1/11)."""
    draw = uniform(rng) * 11.0
    if draw < 4.0:
        for i in range(count - 1, 0, -1):
            j = integer(rng, 0, i + 1)
            stops[i], stops[j] = stops[j], stops[i]
        return
    keys = np.empty(count)
    for i in range(count):
        point = stops[i] + 1
        if draw < 8.0:
            keys[i] = due[stops[i]]
        elif draw < 10.0:
            keys[i] = -travel[0, point] - travel[point, 0]
        else:
            keys[i] = travel[0, point] + travel[point, 0]
    for i in range(1, count):  # insertion sort: a handful of stops
        key = keys[i]
        stop = stops[i]
        j = i - 1
        while j >= 0 and keys[j] > key:
            keys[j + 1] = keys[j]
            stops[j + 1] = stops[j]
            j -= 1
        keys[j + 1] = key
        stops[j + 1] = stop


@compiled
def search(  # type: ignore[no-untyped-def]
    travel, due, weight, service, now, load_s, late_weight, max_stops, payload, budget,
    neighbours, tours, lengths, kg, drive, late, times, late_prefix, late_prefix_more,
    route_of, position_of, missing, best_tours, best_lengths, costs, rng, work, work_limit,
    work_total, patience, temperature_start, temperature_end, average_removed, max_string,
):  # fmt: skip
    """Ruin and recreate until ``work[0]`` reaches ``work_limit`` or ``work[1]``, the
    iterations since the best plan last improved, reaches ``patience`` (state updated in place).

    ``missing[0]`` counts the stops out of every tour, listed in ``missing[1:]``;
    ``costs`` holds (current cost, best cost); the temperature falls geometrically from
    ``temperature_start`` to ``temperature_end`` as ``work[0]`` goes to ``work_total``.
    """
    n_vehicles, capacity = tours.shape
    n_stops = due.shape[0]
    n_near = neighbours.shape[1]
    saved_tours = np.empty((n_vehicles, capacity), dtype=np.int64)
    saved_lengths = np.empty(n_vehicles, dtype=np.int64)
    saved_cost = np.empty(n_vehicles)
    stamp = np.zeros(n_vehicles, dtype=np.int64)
    seen = np.zeros(n_vehicles, dtype=np.int64)
    touched = np.empty(n_vehicles, dtype=np.int64)
    pending = np.empty(n_stops, dtype=np.int64)
    was_missing = np.empty(n_stops, dtype=np.int64)
    keep = np.empty(capacity, dtype=np.int64)
    iteration = 0
    visit = 0
    while work[0] < work_limit and work[1] < patience:
        iteration += 1
        work[1] += 1
        work[0] += 120 + n_vehicles
        n_touched = 0
        n_pending = 0
        n_missing_before = missing[0]
        for i in range(n_missing_before):
            was_missing[i] = missing[1 + i]
            pending[n_pending] = missing[1 + i]
            n_pending += 1
        # -- ruin: strings of consecutive stops from tours near a random stop --------------
        placed = n_stops - n_missing_before
        if placed > 0:
            used = 0
            for v in range(n_vehicles):
                if lengths[v] > 0:
                    used += 1
            cardinality = placed / used
            string_max = max_string if max_string < cardinality else cardinality
            strings_max = 4.0 * average_removed / (1.0 + string_max) - 1.0
            strings = int(uniform(rng) * strings_max) + 1
            seed = integer(rng, 0, n_stops)
            while route_of[seed] < 0:
                seed = integer(rng, 0, n_stops)
            ruined = 0
            for j in range(-1, n_near):
                stop = seed if j < 0 else neighbours[seed, j]
                v = route_of[stop]
                if v < 0 or stamp[v] == iteration:
                    continue
                stamp[v] = iteration
                touched[n_touched] = v
                n_touched += 1
                count = lengths[v]
                saved_lengths[v] = count
                saved_cost[v] = drive[v] + late_weight * late[v]
                for i in range(count):
                    saved_tours[v, i] = tours[v, i]
                limit = string_max if string_max < count else count
                length = int(uniform(rng) * limit) + 1
                if length > count:
                    length = count
                position = position_of[stop]
                kept = 0
                if length == count or uniform(rng) < 0.5:
                    low = max(0, position - length + 1)
                    start = integer(rng, low, min(position, count - length) + 1)
                    keep_from, keep_to, end = start, start, start + length
                else:
                    preserved = 1
                    while length + preserved < count and uniform(rng) > 0.01:
                        preserved += 1
                    total = length + preserved
                    low = max(0, position - total + 1)
                    start = integer(rng, low, min(position, count - total) + 1)
                    keep_from = start + integer(rng, 0, length + 1)
                    keep_to = keep_from + preserved
                    end = start + total
                for i in range(count):
                    if start <= i < end and not keep_from <= i < keep_to:
                        pending[n_pending] = tours[v, i]
                        n_pending += 1
                        route_of[tours[v, i]] = -1
                    else:
                        keep[kept] = tours[v, i]
                        kept += 1
                for i in range(kept):
                    tours[v, i] = keep[i]
                lengths[v] = kept
                work[0] += refresh(
                    v, tours, lengths, travel, due, weight, service, now, load_s,
                    kg, drive, late, times, late_prefix, late_prefix_more, route_of, position_of,
                )  # fmt: skip
                ruined += 1
                if ruined >= strings:
                    break
        # -- recreate: cheapest insertion, with blinks ---------------------------------------
        _sort_stops(pending, n_pending, travel, due, rng)
        n_missing = 0
        for k in range(n_pending):
            stop = pending[k]
            visit += 1
            work[0] += n_near
            best = np.inf
            best_vehicle = -1
            best_at = -1
            for j in range(n_near + 1):
                other = stop if j == n_near else neighbours[stop, j]
                v = route_of[other] if j < n_near else -1
                if v < 0 or seen[v] == visit:
                    continue
                seen[v] = visit
                cost, at, evaluated = best_position(
                    stop, v, best, tours, lengths, travel, due, weight, service, now, load_s,
                    late_weight, max_stops, payload, budget, kg, drive, times, late_prefix,
                    late_prefix_more, rng, 0.01,
                )  # fmt: skip
                work[0] += evaluated
                if at >= 0:
                    best, best_vehicle, best_at = cost, v, at
            cost, v = _open_vehicle(
                stop, best, lengths, travel, due, weight, service, now, load_s, late_weight,
                max_stops, payload, budget,
            )  # fmt: skip
            if v >= 0:
                best, best_vehicle, best_at = cost, v, 0
            if best_vehicle < 0:  # no neighbour's tour has room: try every tour
                for v in range(n_vehicles):
                    if lengths[v] == 0 or seen[v] == visit:
                        continue
                    cost, at, evaluated = best_position(
                        stop, v, best, tours, lengths, travel, due, weight, service, now,
                        load_s, late_weight, max_stops, payload, budget, kg, drive, times,
                        late_prefix, late_prefix_more, rng, 0.0,
                    )  # fmt: skip
                    work[0] += evaluated
                    if at >= 0:
                        best, best_vehicle, best_at = cost, v, at
            if best_vehicle < 0:
                missing[1 + n_missing] = stop
                n_missing += 1
                continue
            v = best_vehicle
            if stamp[v] != iteration:
                stamp[v] = iteration
                touched[n_touched] = v
                n_touched += 1
                saved_lengths[v] = lengths[v]
                saved_cost[v] = drive[v] + late_weight * late[v]
                for i in range(lengths[v]):
                    saved_tours[v, i] = tours[v, i]
            insert_at(stop, v, best_at, tours, lengths)
            work[0] += refresh(
                v, tours, lengths, travel, due, weight, service, now, load_s,
                kg, drive, late, times, late_prefix, late_prefix_more, route_of, position_of,
            )  # fmt: skip
        missing[0] = n_missing
        # -- accept or undo --------------------------------------------------------------------
        change = MISSING_PENALTY * (n_missing - n_missing_before)
        for t in range(n_touched):
            v = touched[t]
            change += drive[v] + late_weight * late[v] - saved_cost[v]
        progress = work[0] / work_total if work_total > 0 else 1.0
        if progress > 1.0:
            progress = 1.0
        temperature = temperature_start * (temperature_end / temperature_start) ** progress
        if change < -temperature * np.log(uniform(rng)):
            costs[0] += change
            if costs[0] < costs[1] - EPSILON:
                costs[1] = costs[0]
                work[1] = 0
                for v in range(n_vehicles):
                    best_lengths[v] = lengths[v]
                    for i in range(lengths[v]):
                        best_tours[v, i] = tours[v, i]
        else:
            for t in range(n_touched):
                v = touched[t]
                lengths[v] = saved_lengths[v]
                for i in range(saved_lengths[v]):
                    tours[v, i] = saved_tours[v, i]
                refresh(
                    v, tours, lengths, travel, due, weight, service, now, load_s,
                    kg, drive, late, times, late_prefix, late_prefix_more, route_of, position_of,
                )  # fmt: skip
            for i in range(n_missing_before):
                route_of[was_missing[i]] = -1
                missing[1 + i] = was_missing[i]
            missing[0] = n_missing_before
    return iteration


@compiled
def prepare(  # type: ignore[no-untyped-def]
    travel, due, weight, service, now, load_s, late_weight, tours, lengths, kg, drive, late,
    times, late_prefix, late_prefix_more, route_of, position_of, missing, costs,
):  # fmt: skip
    """Complete the state of the plan in ``tours[:, :lengths]`` for :func:`search`: routes'
    bookkeeping, the missing stops, and ``costs`` (current and best) set to its cost."""
    route_of[:] = -1
    total = 0.0
    for v in range(tours.shape[0]):
        refresh(
            v, tours, lengths, travel, due, weight, service, now, load_s,
            kg, drive, late, times, late_prefix, late_prefix_more, route_of, position_of,
        )  # fmt: skip
        total += drive[v] + late_weight * late[v]
    count = 0
    for stop in range(due.shape[0]):
        if route_of[stop] < 0:
            missing[1 + count] = stop
            count += 1
    missing[0] = count
    costs[0] = total + MISSING_PENALTY * count
    costs[1] = costs[0]
