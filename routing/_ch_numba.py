"""Contraction hierarchies compiled with numba: preprocessing, point-to-point and many-to-many.

This module is imported only when numba is installed; :mod:`routing.router` falls back to plain
scipy Dijkstra otherwise. Everything here works on integer node indices ``0..n-1`` and on the
compiled edge arrays of :class:`routing.compiled.CompiledGraph` (one edge per ordered node pair, the
cheapest of any parallel edges).

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
def _settle_next(hk, hv, size, dist, pred, ptr, to, w, e_id, touched, n_touched, s_ptr, s_to, s_w):
    """Settle the next node of one search direction; returns (node, dist, size, n_touched).

    Stall-on-demand: a node reached more cheaply through a higher neighbour (an edge of the
    opposite search graph, ``s_*``) cannot be on a shortest up-down path, so its edges are not
    relaxed (it may still be a meeting point with a non-optimal distance, which is harmless).
    """
    while size > 0:
        d, u, size = heap_pop(hk, hv, size)
        if d > dist[u]:
            continue
        for k in range(s_ptr[u], s_ptr[u + 1]):
            if dist[s_to[k]] + s_w[k] < d:
                return u, INF, size, n_touched
        for k in range(ptr[u], ptr[u + 1]):
            x = to[k]
            nd = d + w[k]
            if nd < dist[x]:
                if dist[x] == INF:
                    touched[n_touched] = x
                    n_touched += 1
                dist[x] = nd
                pred[x] = e_id[k]
                size = heap_push(hk, hv, size, nd, x)
        return u, d, size, n_touched
    return -1, INF, size, n_touched


@njit(cache=True)
def route(
    s, t, f_ptr, f_to, f_w, f_e, b_ptr, b_to, b_w, b_e, hierarchy,
    node_ids, dst0, w0, len0, dist, int_work, heap_keys, heap_values, cut_cycles,
):  # fmt: skip
    """Bidirectional upward search from ``s`` and ``t``; unpacks the shortest path.

    ``f_*``/``b_*`` are the forward and backward search graphs (CSR pointer, head, weight,
    hierarchy edge id); ``hierarchy`` stacks (src, dst, child_a, child_b) of every hierarchy edge;
    ``node_ids, dst0, w0, len0`` describe the compiled original edges. Work arrays, reused across
    calls (flat arguments keep numba's dispatch cheap): ``dist`` (2, n) all ``inf`` on entry and
    left so; ``int_work`` (7, n + 1) for predecessors, touched lists and unpacking (row 6 all
    ``-1`` on entry and left so); ``heap_keys``/``heap_values`` (2, capacity). ``cut_cycles``:
    whether the graph has (near-)zero weights, see :func:`_unpack`. Returns
    ``(node ids, cum_weight, cum_length)``, all empty when ``t`` is unreachable.
    """
    dist_f = dist[0]
    dist_b = dist[1]
    pred_f = int_work[0]
    pred_b = int_work[1]
    touched_f = int_work[2]
    touched_b = int_work[3]
    hk_f = heap_keys[0]
    hk_b = heap_keys[1]
    hv_f = heap_values[0]
    hv_b = heap_values[1]
    dist_f[s] = 0.0
    dist_b[t] = 0.0
    touched_f[0] = s
    touched_b[0] = t
    n_tf = 1
    n_tb = 1
    size_f = heap_push(hk_f, hv_f, 0, 0.0, s)
    size_b = heap_push(hk_b, hv_b, 0, 0.0, t)
    best = INF
    meet = -1
    if s == t:
        best = 0.0
        meet = s
    forward = True
    while True:
        top_f = hk_f[0] if size_f > 0 else INF
        top_b = hk_b[0] if size_b > 0 else INF
        if top_f >= best and top_b >= best:
            break
        if forward and top_f >= best:
            forward = False
        elif not forward and top_b >= best:
            forward = True
        if forward:
            u, d, size_f, n_tf = _settle_next(
                hk_f, hv_f, size_f, dist_f, pred_f, f_ptr, f_to, f_w, f_e, touched_f, n_tf,
                b_ptr, b_to, b_w,
            )  # fmt: skip
            if u >= 0 and dist_b[u] < INF and d + dist_b[u] < best:
                best = d + dist_b[u]
                meet = u
        else:
            u, d, size_b, n_tb = _settle_next(
                hk_b, hv_b, size_b, dist_b, pred_b, b_ptr, b_to, b_w, b_e, touched_b, n_tb,
                f_ptr, f_to, f_w,
            )  # fmt: skip
            if u >= 0 and dist_f[u] < INF and d + dist_f[u] < best:
                best = d + dist_f[u]
                meet = u
        forward = not forward

    count = 0
    if meet >= 0:
        count = _unpack(
            s, t, meet, pred_f, pred_b, hierarchy, int_work[4], int_work[5], int_work[6], cut_cycles
        )
    for k in range(n_tf):
        dist_f[touched_f[k]] = INF
    for k in range(n_tb):
        dist_b[touched_b[k]] = INF
    if meet < 0:
        return np.empty(0, dtype=node_ids.dtype), np.empty(0), np.empty(0)
    path_edges = int_work[4]
    nodes = np.empty(count + 1, dtype=node_ids.dtype)
    cum_weight = np.empty(count + 1)
    cum_length = np.empty(count + 1)
    nodes[0] = node_ids[s]
    cum_weight[0] = 0.0
    cum_length[0] = 0.0
    for k in range(count):
        e = path_edges[k]
        nodes[k + 1] = node_ids[dst0[e]]
        cum_weight[k + 1] = cum_weight[k] + w0[e]
        cum_length[k + 1] = cum_length[k] + len0[e]
    return nodes, cum_weight, cum_length


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
def _full_upward_search(start, ptr, to, w, dist, touched, settled_nodes, settled_dist):
    """Exhaust the upward search from ``start``; returns the number of settled nodes."""
    dist[start] = 0.0
    touched[0] = start
    n_touched = 1
    n_settled = 0
    heap = [(0.0, start)]
    while len(heap) > 0:
        d, u = heapq.heappop(heap)
        if d > dist[u]:
            continue
        settled_nodes[n_settled] = u
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
                heapq.heappush(heap, (nd, x))
    for k in range(n_touched):
        dist[touched[k]] = INF
    return n_settled


@njit(cache=True)
def many_to_many(sources, targets, n, f_ptr, f_to, f_w, b_ptr, b_to, b_w):
    """Shortest-path weights from every source to every target (bucket algorithm); inf if none."""
    dist = np.full(n, INF)
    touched = np.empty(n, dtype=np.int64)
    settled_nodes = np.empty(n, dtype=np.int64)
    settled_dist = np.empty(n)
    # Backward searches fill the buckets: (node, target column, distance to target).
    capacity = 1024
    bucket_node = np.empty(capacity, dtype=np.int64)
    bucket_col = np.empty(capacity, dtype=np.int64)
    bucket_dist = np.empty(capacity)
    count = 0
    for j in range(targets.shape[0]):
        n_settled = _full_upward_search(
            targets[j], b_ptr, b_to, b_w, dist, touched, settled_nodes, settled_dist
        )
        if count + n_settled > capacity:
            capacity = max(2 * capacity, count + n_settled)
            bucket_node = _grow(bucket_node, capacity)
            bucket_col = _grow(bucket_col, capacity)
            bucket_dist = _grow(bucket_dist, capacity)
        for k in range(n_settled):
            bucket_node[count] = settled_nodes[k]
            bucket_col[count] = j
            bucket_dist[count] = settled_dist[k]
            count += 1
    # Group the bucket entries by node (a counting sort).
    ptr = np.zeros(n + 1, dtype=np.int64)
    for k in range(count):
        ptr[bucket_node[k] + 1] += 1
    for v in range(n):
        ptr[v + 1] += ptr[v]
    fill = ptr[:-1].copy()
    col = np.empty(count, dtype=np.int64)
    bdist = np.empty(count)
    for k in range(count):
        v = bucket_node[k]
        col[fill[v]] = bucket_col[k]
        bdist[fill[v]] = bucket_dist[k]
        fill[v] += 1
    out = np.full((sources.shape[0], targets.shape[0]), INF)
    for i in range(sources.shape[0]):
        n_settled = _full_upward_search(
            sources[i], f_ptr, f_to, f_w, dist, touched, settled_nodes, settled_dist
        )
        row = out[i]
        for k in range(n_settled):
            v = settled_nodes[k]
            d = settled_dist[k]
            for q in range(ptr[v], ptr[v + 1]):
                total = d + bdist[q]
                if total < row[col[q]]:
                    row[col[q]] = total
    return out
