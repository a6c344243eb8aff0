"""The ``insertion`` tour planner: cheapest insertion, then first-improvement local search.

The planner of carreta 0.1, kept for comparison (``dispatch.planner: insertion``):

1. *Cheapest insertion*, most urgent stop first: each stop goes where it adds the least cost
   (driving time + weighted lateness) over all feasible positions of all vehicles.
2. *Local search*, first improvement, until no move improves or ``iterations`` moves were
   applied: 2-opt (reverse a segment of one tour) and relocate (move one stop to another
   position of any tour).

It is fast but stops in a poor local optimum (16-56 % above PyVRP on waves of 25-400 orders,
``benchmarks/bench_tours.py``). The arrays are those of :mod:`carreta.sim.model.tour_kernels`.
"""

from __future__ import annotations

import numpy as np

from carreta.sim.model.tour_kernels import compiled, tour_cost


@compiled
def cheapest_insertion(  # type: ignore[no-untyped-def]
    sequence,
    travel,
    due,
    weight,
    now,
    load_s,
    service,
    late_weight,
    max_stops,
    payload,
    budget,
    tours,
    lengths,
    loads,
    costs,
):
    """Insert the stops of ``sequence`` one by one where they cost least (in place)."""
    capacity = tours.shape[1]
    candidate = np.empty(capacity, dtype=np.int64)
    best_tour = np.empty(capacity, dtype=np.int64)
    for stop in sequence:
        best = np.inf
        best_vehicle = -1
        best_count = 0
        empty_tried = False
        for v in range(max_stops.shape[0]):
            k = lengths[v]
            if k >= max_stops[v] or loads[v] + weight[stop] > payload[v] + 1e-9:
                continue
            if k == 0 and empty_tried:
                continue  # an empty tour costs the same whichever vehicle drives it
            feasible = False
            for position in range(k + 1):
                for i in range(position):
                    candidate[i] = tours[v, i]
                candidate[position] = stop
                for i in range(position, k):
                    candidate[i + 1] = tours[v, i]
                drive, late = tour_cost(candidate, k + 1, travel, due, service, now, load_s)
                if drive > budget[v]:
                    continue
                feasible = True
                delta = drive + late_weight * late - costs[v]
                if delta < best - 1e-9:
                    best = delta
                    best_vehicle = v
                    best_count = k + 1
                    for i in range(k + 1):
                        best_tour[i] = candidate[i]
            if k == 0 and feasible:
                empty_tried = True
        if best_vehicle >= 0:
            for i in range(best_count):
                tours[best_vehicle, i] = best_tour[i]
            lengths[best_vehicle] = best_count
            loads[best_vehicle] += weight[stop]
            costs[best_vehicle] += best


@compiled
def local_search(  # type: ignore[no-untyped-def]
    travel,
    due,
    weight,
    now,
    load_s,
    service,
    late_weight,
    max_stops,
    payload,
    budget,
    tours,
    lengths,
    loads,
    costs,
    iterations,
):
    """2-opt and relocate moves, first improvement, at most ``iterations`` applied (in place)."""
    capacity = tours.shape[1]
    candidate = np.empty(capacity, dtype=np.int64)
    source = np.empty(capacity, dtype=np.int64)
    applied = 0
    improved = True
    while improved and applied < iterations:
        improved = False
        # 2-opt within each tour.
        for v in range(lengths.shape[0]):
            k = lengths[v]
            for i in range(k - 1):
                for j in range(i + 1, k):
                    if applied >= iterations:
                        return applied
                    for q in range(k):
                        candidate[q] = tours[v, q]
                    for q in range(j - i + 1):
                        candidate[i + q] = tours[v, j - q]
                    drive, late = tour_cost(candidate, k, travel, due, service, now, load_s)
                    cost = drive + late_weight * late
                    if cost < costs[v] - 1e-6 and drive <= budget[v]:
                        for q in range(k):
                            tours[v, q] = candidate[q]
                        costs[v] = cost
                        applied += 1
                        improved = True
        # Relocate one stop to another position, in its tour or another one.
        for a in range(lengths.shape[0]):
            i = 0
            while i < lengths[a]:
                if applied >= iterations:
                    return applied
                stop = tours[a, i]
                ka = lengths[a]
                for q in range(i):
                    source[q] = tours[a, q]
                for q in range(i + 1, ka):
                    source[q - 1] = tours[a, q]
                drive_a, late_a = tour_cost(source, ka - 1, travel, due, service, now, load_s)
                cost_a = drive_a + late_weight * late_a
                moved = False
                for b in range(lengths.shape[0]):
                    kb = lengths[b] if b != a else ka - 1
                    if b != a and (kb >= max_stops[b] or loads[b] + weight[stop] > payload[b]):
                        continue
                    for position in range(kb + 1):
                        for q in range(position):
                            candidate[q] = tours[b, q] if b != a else source[q]
                        candidate[position] = stop
                        for q in range(position, kb):
                            candidate[q + 1] = tours[b, q] if b != a else source[q]
                        drive, late = tour_cost(
                            candidate, kb + 1, travel, due, service, now, load_s
                        )
                        if drive > budget[b]:
                            continue
                        cost_b = drive + late_weight * late
                        if b == a:
                            gain = costs[a] - cost_b
                        else:
                            gain = costs[a] + costs[b] - cost_a - cost_b
                        if gain > 1e-6:
                            if b != a:
                                for q in range(ka - 1):
                                    tours[a, q] = source[q]
                                lengths[a] = ka - 1
                                loads[a] -= weight[stop]
                                costs[a] = cost_a
                                loads[b] += weight[stop]
                            for q in range(kb + 1):
                                tours[b, q] = candidate[q]
                            lengths[b] = kb + 1
                            costs[b] = cost_b
                            applied += 1
                            improved = True
                            moved = True
                            break
                    if moved:
                        break
                if not moved:
                    i += 1
    return applied
