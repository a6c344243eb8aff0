"""Contraction hierarchies compiled with numba: preprocessing, point-to-point and many-to-many.

This module is imported only when numba is installed; :mod:`carreta.routing.router` falls back to
plain scipy Dijkstra otherwise. Everything here works on integer node indices ``0..n-1`` and on the
compiled edge arrays of :class:`carreta.routing.compiled.CompiledGraph` (one edge per ordered node
pair, the cheapest of any parallel edges).

Edge store
----------
All edges (the ``m`` original ones first, then shortcuts) live in flat arrays ``src``, ``dst``,
``weight``, ``child_a``, ``child_b``. An original edge has ``child_a == -1``; a shortcut ``u -> x``
through the contracted node ``v`` has children ``u -> v`` and ``v -> x``, so a path over the
hierarchy is unpacked into original edges with a stack.

The preprocessing follows Geisberger et al., "Contraction Hierarchies: Faster and Simpler
Hierarchical Routing in Road Networks" (WEA 2008): nodes are contracted in the order of a lazily
updated priority (edge difference + contracted neighbours + depth), with witness searches bounded by
a number of settled nodes. A bounded witness search may add a superfluous shortcut, never miss a
needed one, so queries stay exact.

Queries
-------
Every node's upward search spaces (forward and backward) are computed once and pruned of the hubs
a shorter path reaches, in the manner of hub labels built on a hierarchy (Abraham et al., "A
Hub-Based Labeling Algorithm for Shortest Paths on Road Networks", SEA 2011). On Montpellier a
space keeps 23-33 hubs on average, so a point-to-point query scans two short lists instead of a
bidirectional Dijkstra, then unpacks the shortcuts of the best up-down path. Matrices use the
bucket algorithm of Knopp et al. (ALENEX 2007) on the same upward search graphs.
"""

from __future__ import annotations

import heapq

import numpy as np
from numba import njit

INF = np.inf


@njit(cache=True)
def _grow(array, size):
    out = np.empty(size, dtype=array.dtype)
    out[: array.shape[0]] = array
    return out


@njit(cache=True)
def _witness_search(
    source, avoid, max_dist, head_out, next_out, dst, weight, contracted, dist, touched, limit
):
    """Dijkstra from ``source`` avoiding ``avoid``, stopping past ``max_dist``; fills ``dist``."""
    n_touched = 0
    dist[source] = 0.0
    touched[n_touched] = source
    n_touched += 1
    heap = [(0.0, source)]
    settled = 0
    while len(heap) > 0:
        d, u = heapq.heappop(heap)
        if d > dist[u]:
            continue
        if d > max_dist:
            break
        settled += 1
        if settled > limit:
            break
        e = head_out[u]
        while e != -1:
            x = dst[e]
            if x != avoid and not contracted[x]:
                nd = d + weight[e]
                if nd < dist[x]:
                    if dist[x] == INF:
                        touched[n_touched] = x
                        n_touched += 1
                    dist[x] = nd
                    heapq.heappush(heap, (nd, x))
            e = next_out[e]
    return n_touched


@njit(cache=True)
def _live_edges(head, nxt, other, node, contracted, out_nodes, out_edges, out_weight, weight):
    """Collect the cheapest live edge to each uncontracted neighbour; returns how many."""
    count = 0
    e = head[node]
    while e != -1:
        x = other[e]
        if not contracted[x] and x != node:
            found = -1
            for k in range(count):
                if out_nodes[k] == x:
                    found = k
                    break
            if found == -1:
                out_nodes[count] = x
                out_edges[count] = e
                out_weight[count] = weight[e]
                count += 1
            elif weight[e] < out_weight[found]:
                out_edges[found] = e
                out_weight[found] = weight[e]
        e = nxt[e]
    return count


@njit(cache=True)
def preprocess(n, src0, dst0, weight0, limit):
    """Contract every node; return (rank, src, dst, weight, child_a, child_b, edge_count)."""
    m = src0.shape[0]
    capacity = max(16, 2 * m)
    src = _grow(src0.astype(np.int64), capacity)
    dst = _grow(dst0.astype(np.int64), capacity)
    weight = _grow(weight0.astype(np.float64), capacity)
    child_a = np.full(capacity, -1, dtype=np.int64)
    child_b = np.full(capacity, -1, dtype=np.int64)
    next_out = np.full(capacity, -1, dtype=np.int64)
    next_in = np.full(capacity, -1, dtype=np.int64)
    head_out = np.full(n, -1, dtype=np.int64)
    head_in = np.full(n, -1, dtype=np.int64)
    for e in range(m):
        next_out[e] = head_out[src[e]]
        head_out[src[e]] = e
        next_in[e] = head_in[dst[e]]
        head_in[dst[e]] = e
    edge_count = m

    contracted = np.zeros(n, dtype=np.bool_)
    deleted_neighbours = np.zeros(n, dtype=np.int64)
    depth = np.zeros(n, dtype=np.int64)
    rank = np.full(n, -1, dtype=np.int64)
    dist = np.full(n, INF)
    touched = np.empty(n, dtype=np.int64)
    # Neighbour lists of the node being contracted: never more than n distinct neighbours.
    in_nodes = np.empty(n, dtype=np.int64)
    in_edges = np.empty(n, dtype=np.int64)
    in_weight = np.empty(n)
    out_nodes = np.empty(n, dtype=np.int64)
    out_edges = np.empty(n, dtype=np.int64)
    out_weight = np.empty(n)
    work = (dist, touched, in_nodes, in_edges, in_weight, out_nodes, out_edges, out_weight)
    graph = (head_in, next_in, head_out, next_out, src, dst, weight, contracted)

    priority = np.zeros(n)
    heap = [(0.0, np.int64(0))]
    heap.pop()

    for v in range(n):
        p = _simulate(v, graph, work, deleted_neighbours, depth, limit)
        priority[v] = p
        heapq.heappush(heap, (p, np.int64(v)))

    order = 0
    while len(heap) > 0:
        p, top = heapq.heappop(heap)
        v = int(top)
        if contracted[v] or p != priority[v]:
            continue
        # Lazy update: re-evaluate, and put back if no longer the minimum.
        p_new = _simulate(v, graph, work, deleted_neighbours, depth, limit)
        if len(heap) > 0 and p_new > heap[0][0]:
            priority[v] = p_new
            heapq.heappush(heap, (p_new, np.int64(v)))
            continue
        # Contract v: make sure the edge store can take every possible shortcut.
        n_in = _live_edges(
            head_in, next_in, src, v, contracted, in_nodes, in_edges, in_weight, weight
        )
        n_out = _live_edges(
            head_out, next_out, dst, v, contracted, out_nodes, out_edges, out_weight, weight
        )
        need = edge_count + n_in * n_out + 1
        if need > src.shape[0]:
            size = max(need, 2 * src.shape[0])
            src = _grow(src, size)
            dst = _grow(dst, size)
            weight = _grow(weight, size)
            child_a = _grow(child_a, size)
            child_b = _grow(child_b, size)
            next_out = _grow(next_out, size)
            next_in = _grow(next_in, size)
            graph = (head_in, next_in, head_out, next_out, src, dst, weight, contracted)
        for i in range(n_in):
            u = in_nodes[i]
            max_dist = 0.0
            for j in range(n_out):
                if out_nodes[j] != u and in_weight[i] + out_weight[j] > max_dist:
                    max_dist = in_weight[i] + out_weight[j]
            n_touched = _witness_search(
                u, v, max_dist, head_out, next_out, dst, weight, contracted, dist, touched, limit
            )
            for j in range(n_out):
                x = out_nodes[j]
                if x == u:
                    continue
                via = in_weight[i] + out_weight[j]
                if dist[x] <= via:
                    continue
                # Add or improve the shortcut u -> x.
                e = head_out[u]
                existing = -1
                while e != -1:
                    if dst[e] == x:
                        existing = e
                        break
                    e = next_out[e]
                if existing != -1:
                    if weight[existing] > via:
                        weight[existing] = via
                        child_a[existing] = in_edges[i]
                        child_b[existing] = out_edges[j]
                    continue
                e = edge_count
                edge_count += 1
                src[e] = u
                dst[e] = x
                weight[e] = via
                child_a[e] = in_edges[i]
                child_b[e] = out_edges[j]
                next_out[e] = head_out[u]
                head_out[u] = e
                next_in[e] = head_in[x]
                head_in[x] = e
            for k in range(n_touched):
                dist[touched[k]] = INF
        contracted[v] = True
        rank[v] = order
        order += 1
        # Update the neighbours' priorities.
        for i in range(n_in):
            u = in_nodes[i]
            deleted_neighbours[u] += 1
            if depth[u] < depth[v] + 1:
                depth[u] = depth[v] + 1
        for j in range(n_out):
            x = out_nodes[j]
            deleted_neighbours[x] += 1
            if depth[x] < depth[v] + 1:
                depth[x] = depth[v] + 1
    return (
        rank,
        src[:edge_count],
        dst[:edge_count],
        weight[:edge_count],
        child_a[:edge_count],
        child_b[:edge_count],
    )


@njit(cache=True)
def _simulate(v, graph, work, deleted_neighbours, depth, limit):
    """Priority of contracting ``v`` now: edge difference + contracted neighbours + depth."""
    head_in, next_in, head_out, next_out, src, dst, weight, contracted = graph
    dist, touched, in_nodes, in_edges, in_weight, out_nodes, out_edges, out_weight = work
    n_in = _live_edges(head_in, next_in, src, v, contracted, in_nodes, in_edges, in_weight, weight)
    n_out = _live_edges(
        head_out, next_out, dst, v, contracted, out_nodes, out_edges, out_weight, weight
    )
    shortcuts = 0
    for i in range(n_in):
        u = in_nodes[i]
        max_dist = 0.0
        for j in range(n_out):
            if out_nodes[j] != u and in_weight[i] + out_weight[j] > max_dist:
                max_dist = in_weight[i] + out_weight[j]
        n_touched = _witness_search(
            u, v, max_dist, head_out, next_out, dst, weight, contracted, dist, touched, limit
        )
        for j in range(n_out):
            x = out_nodes[j]
            if x != u and dist[x] > in_weight[i] + out_weight[j]:
                shortcuts += 1
        for k in range(n_touched):
            dist[touched[k]] = INF
    return float(2 * (shortcuts - n_in - n_out) + deleted_neighbours[v] + depth[v])


@njit(cache=True, inline="always")
def heap_push(keys, values, size, key, value):
    """Push onto the binary min-heap stored in ``keys``/``values[:size]``; returns the new size."""
    i = size
    while i > 0:
        parent = (i - 1) >> 1
        if keys[parent] <= key:
            break
        keys[i] = keys[parent]
        values[i] = values[parent]
        i = parent
    keys[i] = key
    values[i] = value
    return size + 1


@njit(cache=True, inline="always")
def heap_pop(keys, values, size):
    """Pop the minimum of the heap; returns (key, value, new size). ``size`` must be > 0."""
    top_key = keys[0]
    top_value = values[0]
    size -= 1
    key = keys[size]
    value = values[size]
    i = 0
    while True:
        child = 2 * i + 1
        if child >= size:
            break
        if child + 1 < size and keys[child + 1] < keys[child]:
            child += 1
        if keys[child] >= key:
            break
        keys[i] = keys[child]
        values[i] = values[child]
        i = child
    if size > 0:
        keys[i] = key
        values[i] = value
    return top_key, top_value, size


@njit(cache=True, inline="always")
def _mark(position, hubs, lo, hi, on):
    """Set ``position[hub]`` to each hub's place in the space ``lo:hi`` (``on``), or back to -1."""
    for i in range(lo, hi):
        position[hubs[i]] = i if on else -1


@njit(cache=True, inline="always")
def _trace(entry, hubs, edges, position, lower_end, pred):
    """Record in ``pred`` the edges from the hub at ``entry`` back to its space's root.

    Each hub's recorded edge leads to the previous hub of the path (its ``lower_end``, the
    hierarchy's src row going forward, dst going backward), found through ``position``. A node
    on a shortest upward path to a kept hub is kept too (pruning only drops hubs reached the
    long way round), so the walk never leaves the space.
    """
    while edges[entry] >= 0:
        pred[hubs[entry]] = edges[entry]
        entry = position[lower_end[edges[entry]]]
        if entry < 0:
            raise AssertionError("contraction hierarchy: broken search space")


@njit(cache=True)
def route(s, t, space_ptr, space, space_dist, hierarchy, costs, node_ids, work, cut_cycles):
    """Shortest path from ``s`` to ``t`` through the pruned upward search spaces; unpacked.

    ``space_ptr[0]``/``space_ptr[1]`` point into the forward/backward search spaces (see
    :func:`search_spaces`): ``space[0]`` the hubs, ``space[1]`` the hierarchy edge each was
    reached by, ``space_dist`` the upward distances. The best common hub of ``s``'s forward and
    ``t``'s backward space is the top of a shortest up-down path, whose halves are read back along
    the recorded edges. ``hierarchy`` stacks (src, dst, child_a, child_b) of every hierarchy edge,
    the original edges first; ``costs`` stacks the weight and length of the original edges;
    ``node_ids`` maps an index to its graph node id. ``work`` (6, n + 1) int32, reused across calls
    (few arguments keep numba's dispatch cheap): row 0 positions of hubs in a space and row 5
    unpacking positions (both all ``-1`` on entry and left so), rows 1-2 predecessor edges, rows
    3-4 the unpacking output and stack. ``cut_cycles``: whether the graph has (near-)zero
    weights, see :func:`_unpack`. Returns ``(node ids, cum)``, ``cum`` the cumulative weight
    (row 0) and length (row 1) at each node; both empty when ``t`` is unreachable.
    """
    hubs = space[0]
    edges = space[1]
    position = work[0]
    pred_f = work[1]
    pred_b = work[2]
    s_lo, s_hi = space_ptr[0, s], space_ptr[0, s + 1]
    t_lo, t_hi = space_ptr[1, t], space_ptr[1, t + 1]
    _mark(position, hubs, s_lo, s_hi, True)
    best = INF
    best_i = -1
    best_j = -1
    for j in range(t_lo, t_hi):
        i = position[hubs[j]]
        if i >= 0 and space_dist[i] + space_dist[j] < best:
            best = space_dist[i] + space_dist[j]
            best_i = i
            best_j = j
    if best_i >= 0:  # the forward half, from the meeting hub down to s
        _trace(best_i, hubs, edges, position, hierarchy[0], pred_f)
    _mark(position, hubs, s_lo, s_hi, False)
    if best_i < 0:
        return np.empty(0, dtype=node_ids.dtype), np.empty((2, 0))
    _mark(position, hubs, t_lo, t_hi, True)
    _trace(best_j, hubs, edges, position, hierarchy[1], pred_b)  # from the hub down to t
    _mark(position, hubs, t_lo, t_hi, False)
    count = _unpack(
        s, t, hubs[best_i], pred_f, pred_b, hierarchy, work[3], work[4], work[5], cut_cycles
    )
    path_edges = work[3]
    dst = hierarchy[1]
    nodes = np.empty(count + 1, dtype=node_ids.dtype)
    cum = np.empty((2, count + 1))
    nodes[0] = node_ids[s]
    cum[0, 0] = 0.0
    cum[1, 0] = 0.0
    for k in range(count):
        e = path_edges[k]
        nodes[k + 1] = node_ids[dst[e]]
        cum[0, k + 1] = cum[0, k] + costs[0, e]
        cum[1, k + 1] = cum[1, k] + costs[1, e]
    return nodes, cum


@njit(cache=True)
def _unpack(s, t, meet, pred_f, pred_b, hierarchy, out, stack, position, cut_cycles):
    """Write the original edge ids of the path ``s -> meet -> t`` into ``out``; returns count.

    With zero-weight cycles, an up-down path of optimal weight can unpack into a walk that
    visits a node twice (``s -> a -> b -> a -> t``). With ``cut_cycles``, such a cycle (it weighs
    nothing) is cut out as the walk is written (``position[v]`` is ``v``'s place on the path so
    far, ``-1`` if absent, and is all ``-1`` again on return), so the result is a simple path of
    at most ``n - 1`` edges. When every edge weighs well above rounding noise, an optimal walk
    cannot repeat a node and the caller skips that bookkeeping.
    """
    src = hierarchy[0]
    dst = hierarchy[1]
    child_a = hierarchy[2]
    child_b = hierarchy[3]
    # Hierarchy edges onto the stack, last edge at the bottom: first the backward half ...
    top = 0
    v = meet
    while v != t:
        v = dst[pred_b[v]]
        top += 1
    v = meet
    k = top
    while v != t:
        e = pred_b[v]
        k -= 1
        stack[k] = e
        v = dst[e]
    # ... then the forward half, walked from the meeting node back to s.
    v = meet
    while v != s:
        e = pred_f[v]
        stack[top] = e
        top += 1
        v = src[e]
    count = 0
    if cut_cycles:
        position[s] = 0
    while top > 0:
        top -= 1
        e = stack[top]
        if child_a[e] == -1 and not cut_cycles:
            out[count] = e
            count += 1
        elif child_a[e] == -1:
            x = dst[e]
            back = position[x]
            if back >= 0:  # back at a node of the path: drop the (zero-weight) cycle
                for k in range(back, count):
                    position[dst[out[k]]] = -1
                count = back
            else:
                out[count] = e
                count += 1
                position[x] = count
        else:
            if top + 2 > stack.shape[0]:
                stack = _grow(stack, 2 * stack.shape[0])
            stack[top] = child_b[e]
            stack[top + 1] = child_a[e]
            top += 2
    if cut_cycles:
        position[s] = -1
        for k in range(count):
            position[dst[out[k]]] = -1
    return count


@njit(cache=True)
def _full_upward_search(start, ptr, to, w, e_id, work_f, work_i, settled):
    """Exhaust the upward search from ``start``; returns the number of settled nodes.

    Settled nodes go to ``settled[0]``, the edges they were reached by to ``settled[1]`` (``-1``
    for ``start``) and their distances to ``work_f[1]``, in the order settled. Work arrays:
    ``work_f[0]`` distances (all ``inf`` on entry and left so), ``work_f[2]``/``work_i[0]`` heap
    keys/values (as long as ``to``), ``work_i[1]`` predecessor edges, ``work_i[2]`` touched nodes.
    """
    dist = work_f[0]
    settled_dist = work_f[1]
    keys = work_f[2]
    values = work_i[0]
    pred = work_i[1]
    touched = work_i[2]
    dist[start] = 0.0
    pred[start] = -1
    touched[0] = start
    n_touched = 1
    n_settled = 0
    size = heap_push(keys, values, 0, 0.0, start)
    while size > 0:
        d, u, size = heap_pop(keys, values, size)
        if d > dist[u]:
            continue
        settled[0, n_settled] = u
        settled[1, n_settled] = pred[u]
        settled_dist[n_settled] = d
        n_settled += 1
        for k in range(ptr[u], ptr[u + 1]):
            x = to[k]
            nd = d + w[k]
            if nd < dist[x]:
                if dist[x] == INF:
                    touched[n_touched] = x
                    n_touched += 1
                dist[x] = nd
                pred[x] = e_id[k]
                size = heap_push(keys, values, size, nd, x)
    for k in range(n_touched):
        dist[touched[k]] = INF
    return n_settled


@njit(cache=True)
def _search_work(n, m):
    """Work arrays of :func:`_full_upward_search` for ``n`` nodes and ``m`` search edges."""
    width = max(n, m) + 1
    work_f = np.full((3, width), INF)
    work_i = np.empty((3, width), dtype=np.int32)
    settled = np.empty((2, n), dtype=np.int32)
    return work_f, work_i, settled


@njit(cache=True)
def search_spaces(n, ptr, to, w, e_id, tolerance):
    """The pruned upward search spaces of every node, forward and backward.

    ``ptr[0]``/``ptr[1]`` are the CSR pointers of the forward and backward search graphs into
    ``to``/``w``/``e_id``. A space lists the hubs its node reaches upward, the hierarchy edge each
    was reached by and its upward distance. Hub ``h`` is then pruned from the forward space of
    ``v`` when the two unpruned spaces of ``v`` (forward) and ``h`` (backward) give a path
    shorter by more than ``tolerance``: such a hub cannot top a shortest path from ``v`` (and
    likewise backward). That leaves every hub on a shortest upward path, so queries stay exact and
    each kept hub's path back to ``v`` stays inside the space.

    Returns ``(space_ptr (2, n + 1) int64, space (2, L) int32 of hubs and edges, dist (L,))``.
    """
    work_f, work_i, settled = _search_work(n, to.shape[0])
    # Montpellier's graphs need 85-130 entries a node (both sides); growing by half keeps the
    # peak memory of a second guess low.
    capacity = 96 * n + 1
    hubs = np.empty(capacity, dtype=np.int32)
    edges = np.empty(capacity, dtype=np.int32)
    dist = np.empty(capacity)
    full_ptr = np.zeros((2, n + 1), dtype=np.int64)
    count = 0
    for side in range(2):
        for v in range(n):
            full_ptr[side, v] = count
            n_settled = _full_upward_search(v, ptr[side], to, w, e_id, work_f, work_i, settled)
            if count + n_settled > capacity:
                capacity = max(capacity + capacity // 2, count + n_settled)
                hubs = _grow(hubs, capacity)
                edges = _grow(edges, capacity)
                dist = _grow(dist, capacity)
            hubs[count : count + n_settled] = settled[0, :n_settled]
            edges[count : count + n_settled] = settled[1, :n_settled]
            dist[count : count + n_settled] = work_f[1, :n_settled]
            count += n_settled
        full_ptr[side, n] = count
    keep = np.ones(count, dtype=np.bool_)
    position = np.full(n, -1, dtype=np.int64)
    for side in range(2):
        other = 1 - side
        for v in range(n):
            lo, hi = full_ptr[side, v], full_ptr[side, v + 1]
            _mark(position, hubs, lo, hi, True)
            for i in range(lo, hi):
                h = hubs[i]
                for j in range(full_ptr[other, h], full_ptr[other, h + 1]):
                    k = position[hubs[j]]
                    if k >= 0 and dist[k] + dist[j] < dist[i] - tolerance:
                        keep[i] = False
                        break
            _mark(position, hubs, lo, hi, False)
    space_ptr = np.zeros((2, n + 1), dtype=np.int64)
    kept = 0
    for side in range(2):
        for v in range(n):
            space_ptr[side, v] = kept
            for i in range(full_ptr[side, v], full_ptr[side, v + 1]):
                if keep[i]:
                    hubs[kept] = hubs[i]
                    edges[kept] = edges[i]
                    dist[kept] = dist[i]
                    kept += 1
        space_ptr[side, n] = kept
    space = np.empty((2, kept), dtype=np.int32)
    space[0] = hubs[:kept]
    space[1] = edges[:kept]
    return space_ptr, space, dist[:kept].copy()


@njit(cache=True)
def many_to_many(sources, targets, n, ptr, to, w, e_id):
    """Shortest-path weights from every source to every target (bucket algorithm); inf if none.

    ``ptr[0]``/``ptr[1]``: CSR pointers of the forward and backward search graphs, as in
    :func:`search_spaces`.
    """
    work_f, work_i, settled = _search_work(n, to.shape[0])
    settled_dist = work_f[1]
    # Backward searches fill the buckets: (node, target column, distance to target).
    capacity = 1024
    bucket_node = np.empty(capacity, dtype=np.int64)
    bucket_col = np.empty(capacity, dtype=np.int64)
    bucket_dist = np.empty(capacity)
    count = 0
    for j in range(targets.shape[0]):
        n_settled = _full_upward_search(targets[j], ptr[1], to, w, e_id, work_f, work_i, settled)
        if count + n_settled > capacity:
            capacity = max(2 * capacity, count + n_settled)
            bucket_node = _grow(bucket_node, capacity)
            bucket_col = _grow(bucket_col, capacity)
            bucket_dist = _grow(bucket_dist, capacity)
        for k in range(n_settled):
            bucket_node[count] = settled[0, k]
            bucket_col[count] = j
            bucket_dist[count] = settled_dist[k]
            count += 1
    # Group the bucket entries by node (a counting sort).
    bucket_ptr = np.zeros(n + 1, dtype=np.int64)
    for k in range(count):
        bucket_ptr[bucket_node[k] + 1] += 1
    for v in range(n):
        bucket_ptr[v + 1] += bucket_ptr[v]
    fill = bucket_ptr[:-1].copy()
    col = np.empty(count, dtype=np.int64)
    bdist = np.empty(count)
    for k in range(count):
        v = bucket_node[k]
        col[fill[v]] = bucket_col[k]
        bdist[fill[v]] = bucket_dist[k]
        fill[v] += 1
    out = np.full((sources.shape[0], targets.shape[0]), INF)
    for i in range(sources.shape[0]):
        n_settled = _full_upward_search(sources[i], ptr[0], to, w, e_id, work_f, work_i, settled)
        row = out[i]
        for k in range(n_settled):
            v = settled[0, k]
            d = settled_dist[k]
            for q in range(bucket_ptr[v], bucket_ptr[v + 1]):
                total = d + bdist[q]
                if total < row[col[q]]:
                    row[col[q]] = total
    return out
