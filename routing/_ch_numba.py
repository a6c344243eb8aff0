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
hierarchy is unpacked into original edges with a stack. A hierarchy edge standing for few original
edges also keeps them in a row of one table (:func:`expansions`), so unpacking mostly copies.

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

from carreta.routing._numba_cache import cached_njit

INF = np.inf
ZERO = np.uint64(0)  # unsigned indices: see _cch_numba._relax_up
ONE = np.uint64(1)


@cached_njit()
def _grow(array, size):
    out = np.empty(size, dtype=array.dtype)
    out[: array.shape[0]] = array
    return out


@cached_njit()
def _adjacency(n, tail, other, weight, m):
    """Per-node blocks of the edges ``e < m`` by ``tail``: ``(start, length, cap), (other, w, e)``.

    Each block has some slack; a block that fills up moves to the end of the pool (see
    :func:`_append`). Self-loops are left out (they are on no shortest path).
    """
    length = np.zeros(n, dtype=np.int64)
    for e in range(m):
        if tail[e] != other[e]:
            length[tail[e]] += 1
    cap = length + 2
    start = np.zeros(n, dtype=np.int64)
    end = 0
    for v in range(n):
        start[v] = end
        end += cap[v]
    size = 2 * end + 16
    pool_other = np.empty(size, dtype=np.int64)
    pool_w = np.empty(size)
    pool_e = np.empty(size, dtype=np.int64)
    length[:] = 0
    for e in range(m):
        t = tail[e]
        if t != other[e]:
            k = start[t] + length[t]
            pool_other[k] = other[e]
            pool_w[k] = weight[e]
            pool_e[k] = e
            length[t] += 1
    meta = np.empty((4, n), dtype=np.int64)
    meta[0] = start
    meta[1] = length
    meta[2] = cap
    meta[3, 0] = end  # the end of the pool's used part
    return meta, pool_other, pool_w, pool_e


@cached_njit()
def _room(meta, pool_other, pool_w, pool_e, nodes, count, extra):
    """Grow the pool so that ``extra`` edges can be appended to each of ``nodes[:count]``."""
    need = meta[3, 0]
    for i in range(count):
        need += 4 * (meta[1, nodes[i]] + extra) + 4  # moves double a block: at most 4x in all
    if need > pool_other.shape[0]:
        size = max(need, 2 * pool_other.shape[0])
        pool_other = _grow(pool_other, size)
        pool_w = _grow(pool_w, size)
        pool_e = _grow(pool_e, size)
    return pool_other, pool_w, pool_e


@cached_njit(inline="always")
def _append(meta, pool_other, pool_w, pool_e, node, other, w, e):
    """Append an edge to ``node``'s block, moving the block to the pool's end when full."""
    start = meta[0, node]
    length = meta[1, node]
    if length == meta[2, node]:
        cap = 2 * length + 2
        new_start = meta[3, 0]
        for k in range(length):
            pool_other[new_start + k] = pool_other[start + k]
            pool_w[new_start + k] = pool_w[start + k]
            pool_e[new_start + k] = pool_e[start + k]
        meta[0, node] = new_start
        meta[2, node] = cap
        meta[3, 0] = new_start + cap
        start = new_start
    pool_other[start + length] = other
    pool_w[start + length] = w
    pool_e[start + length] = e
    meta[1, node] = length + 1


@cached_njit(inline="always")
def _remove(meta, pool_other, pool_w, pool_e, node, other):
    """Remove the edge to ``other`` from ``node``'s block (the last one takes its place)."""
    start = meta[0, node]
    last = start + meta[1, node] - 1
    for k in range(start, last + 1):
        if pool_other[k] == other:
            pool_other[k] = pool_other[last]
            pool_w[k] = pool_w[last]
            pool_e[k] = pool_e[last]
            meta[1, node] -= 1
            return


@cached_njit(inline="always")
def _farthest(nodes, n_nodes, mark, stamp, via):
    """The largest ``via`` among ``nodes[:n_nodes]`` still marked with ``stamp``."""
    farthest = 0.0
    for j in range(n_nodes):
        y = nodes[j]
        if mark[y] == stamp and via[y] > farthest:
            farthest = via[y]
    return farthest


@cached_njit()
def _witness_search(source, avoid, max_dist, targets, out, work, limit):
    """Dijkstra from ``source`` avoiding ``avoid``; fills ``dist``, returns the touched count.

    Stops past ``max_dist``, after ``limit`` settled nodes, or once every one of the ``targets``
    (nodes with ``mark == stamp``, where ``targets = (count, stamp, nodes, n_nodes)``, ``nodes``
    listing them among others) is settled or reached within its ``via`` distance (the path
    through the contracted node): a witness need not be the shortest path, and in the dense top
    of the hierarchy most targets are reached that way long before they are settled. Such a
    target's mark is cleared, a settled one's becomes ``-stamp``, and ``max_dist`` shrinks to
    the farthest target still open. ``out`` is the
    out-adjacency ``(meta, other, w)`` of the remaining graph. Returns (touched count, whether
    the search ended before its limit: then any larger limit gives the same outcome).
    """
    meta, to, weight = out
    dist, touched, mark, keys, values, via = work
    left, stamp, nodes, n_nodes = targets
    n_touched = 1
    dist[source] = 0.0
    touched[0] = source
    size = heap_push(keys, values, 0, 0.0, source)
    settled = 0
    complete = True
    while size > 0:
        d, u, size = heap_pop(keys, values, size)
        if d > dist[u]:
            continue
        if d > max_dist:
            break
        if mark[u] == stamp:
            mark[u] = -stamp
            left -= 1
            if left == 0:
                break
            if via[u] == max_dist:
                max_dist = _farthest(nodes, n_nodes, mark, stamp, via)
                if d > max_dist:
                    break
        settled += 1
        if settled > limit:
            complete = False
            break
        lo = meta[0, u]
        for k in range(np.uint64(lo), np.uint64(lo + meta[1, u])):
            y = to[k]
            if y != avoid:
                x = np.uint64(y)
                nd = d + weight[k]
                if nd < dist[x]:
                    if dist[x] == INF:
                        touched[n_touched] = y
                        n_touched += 1
                    dist[x] = nd
                    size = heap_push(keys, values, size, nd, y)
                    if mark[x] == stamp and nd <= via[x]:  # a witness for x
                        mark[x] = 0
                        left -= 1
                        if via[x] == max_dist and left > 0:
                            max_dist = _farthest(nodes, n_nodes, mark, stamp, via)
        if left == 0:
            break
    return n_touched, complete


@cached_njit()
def _mark_targets(u, out_nodes, out_w, n_out, w_in, mark, stamp, via):
    """Mark the out-neighbours other than ``u`` with ``stamp``; returns (count, max distance).

    ``via[x]`` is set to the length of the path ``u -> v -> x`` a witness must not exceed.
    """
    count = 0
    max_dist = 0.0
    for j in range(n_out):
        x = out_nodes[j]
        if x != u:
            mark[x] = stamp
            count += 1
            via[x] = w_in + out_w[j]
            if via[x] > max_dist:
                max_dist = via[x]
    return count, max_dist


@cached_njit()
def _simulate(v, out, inc, work, deleted_neighbours, depth, stamp, limit, found):
    """Priority of contracting ``v`` now: edge difference + contracted neighbours + depth.

    ``stamp`` must be a fresh marker value per in-neighbour (it uses ``stamp .. stamp + n_in``);
    returns (priority, next free stamp). ``out``/``inc``: the out- and in-adjacency
    ``(meta, other, w)`` of the remaining graph. ``found = (complete, needed)`` records the
    outcome for the contraction that may follow: ``complete[i]`` whether the search from the
    ``i``-th in-neighbour ended before its limit, and then ``needed[i * n_out + j]`` whether
    the shortcut to the ``j``-th out-neighbour is needed (``complete`` is all false when
    ``needed`` is too short).
    """
    dist, mark = work[0], work[2]
    meta_o, o_to, o_w = out
    meta_i, i_from, i_w = inc
    o_lo = meta_o[0, v]
    n_out = meta_o[1, v]
    out_nodes = o_to[o_lo : o_lo + n_out]
    out_w = o_w[o_lo : o_lo + n_out]
    i_lo = meta_i[0, v]
    n_in = meta_i[1, v]
    complete, needed = found
    record = n_in * n_out <= needed.shape[0]
    shortcuts = 0
    for i in range(i_lo, i_lo + n_in):
        u = i_from[i]
        stamp += 1
        w_in = i_w[i]
        count, max_dist = _mark_targets(u, out_nodes, out_w, n_out, w_in, mark, stamp, work[5])
        complete[i - i_lo] = record
        if count == 0:
            continue
        targets = (count, stamp, out_nodes, n_out)
        n_touched, ended = _witness_search(u, v, max_dist, targets, out, work, limit)
        complete[i - i_lo] = record and ended
        row = (i - i_lo) * n_out
        for j in range(n_out):
            x = out_nodes[j]
            need = x != u and dist[x] > w_in + out_w[j]
            if need:
                shortcuts += 1
            if record:
                needed[row + j] = need
        touched = work[1]
        for k in range(n_touched):
            dist[touched[k]] = INF
    priority = float(2 * (shortcuts - n_in - n_out) + deleted_neighbours[v] + depth[v])
    return priority, stamp


@cached_njit()
def preprocess(n, src0, dst0, weight0, limit, simulation_limit):
    """Contract every node; return (rank, src, dst, weight, child_a, child_b).

    ``limit`` bounds the settled nodes of a contraction's witness searches, ``simulation_limit``
    those of the searches that only estimate a priority (the default 100, against 30: the same
    build time and queries on Montpellier's graphs, a 220,000-node street graph's queries 22-25 %
    faster for 4 % fewer shortcuts, a 32,400-node grid's build 12 % slower; against 500: builds
    1.5x faster on grids).

    The edge store keeps every edge ever made (the hierarchy). The remaining graph is held apart
    as per-node adjacency blocks (out- and in-edges: neighbour, weight, edge id), contiguous so
    that the witness searches read memory in order, as in the dynamic graphs of OSRM and
    RoutingKit: contracting a node removes its edges from its neighbours' blocks (swap with the
    last), and a block that fills up with shortcuts moves to the end of a pool with twice the
    room. Shortcuts are de-duplicated through a per-node slot array (the edge ``u -> x`` of the
    in-neighbour being processed), in constant time. Priorities are updated lazily:
    re-evaluated when popped, and put back unless still the minimum.
    """
    m = src0.shape[0]
    capacity = max(16, 2 * m)
    src = _grow(src0.astype(np.int64), capacity)
    dst = _grow(dst0.astype(np.int64), capacity)
    weight = _grow(weight0.astype(np.float64), capacity)
    child_a = np.full(capacity, -1, dtype=np.int64)
    child_b = np.full(capacity, -1, dtype=np.int64)
    meta_o, o_to, o_w, o_e = _adjacency(n, src, dst, weight, m)
    meta_i, i_from, i_w, i_e = _adjacency(n, dst, src, weight, m)
    edge_count = m

    contracted = np.zeros(n, dtype=np.bool_)
    deleted_neighbours = np.zeros(n, dtype=np.int64)
    depth = np.zeros(n, dtype=np.int64)
    rank = np.full(n, -1, dtype=np.int64)
    dist = np.full(n, INF)
    touched = np.empty(n, dtype=np.int64)
    mark = np.zeros(n, dtype=np.int64)
    target_via = np.empty(n)
    slot = np.full(n, -1, dtype=np.int64)
    keys = np.empty(o_to.shape[0] + 1)
    values = np.empty(o_to.shape[0] + 1, dtype=np.int64)
    in_nodes = np.empty(n, dtype=np.int64)
    in_w = np.empty(n)
    in_e = np.empty(n, dtype=np.int64)
    out_nodes = np.empty(n, dtype=np.int64)
    out_w = np.empty(n)
    out_e = np.empty(n, dtype=np.int64)
    work = (dist, touched, mark, keys, values, target_via)
    # The witness searches of the last priority simulation, for the contraction that follows.
    found = (np.zeros(n, dtype=np.bool_), np.zeros(1 << 16, dtype=np.bool_))
    out = (meta_o, o_to, o_w)
    inc = (meta_i, i_from, i_w)

    priority = np.zeros(n)
    heap = [(0.0, np.int64(0))]
    heap.pop()
    stamp = 0
    for v in range(n):
        p, stamp = _simulate(
            v, out, inc, work, deleted_neighbours, depth, stamp, simulation_limit, found
        )
        priority[v] = p
        heap.append((p, np.int64(v)))
    heapq.heapify(heap)

    order = 0
    while len(heap) > 0:
        p, top = heapq.heappop(heap)
        v = int(top)
        if contracted[v] or p != priority[v]:
            continue
        # Lazy update: re-evaluate, and put back if no longer the minimum.
        p_new, stamp = _simulate(
            v, out, inc, work, deleted_neighbours, depth, stamp, simulation_limit, found
        )
        if len(heap) > 0 and p_new > heap[0][0]:
            priority[v] = p_new
            heapq.heappush(heap, (p_new, np.int64(v)))
            continue
        lo = meta_i[0, v]
        n_in = meta_i[1, v]
        for i in range(n_in):
            in_nodes[i] = i_from[lo + i]
            in_w[i] = i_w[lo + i]
            in_e[i] = i_e[lo + i]
        lo = meta_o[0, v]
        n_out = meta_o[1, v]
        for j in range(n_out):
            out_nodes[j] = o_to[lo + j]
            out_w[j] = o_w[lo + j]
            out_e[j] = o_e[lo + j]
        # Make sure the edge store, the pools (and the witness heap) can take every shortcut.
        need = edge_count + n_in * n_out + 1
        if need > src.shape[0]:
            size = max(need, 2 * src.shape[0])
            src = _grow(src, size)
            dst = _grow(dst, size)
            weight = _grow(weight, size)
            child_a = _grow(child_a, size)
            child_b = _grow(child_b, size)
        o_to, o_w, o_e = _room(meta_o, o_to, o_w, o_e, in_nodes, n_in, n_out)
        i_from, i_w, i_e = _room(meta_i, i_from, i_w, i_e, out_nodes, n_out, n_in)
        if keys.shape[0] < o_to.shape[0] + 1:
            keys = _grow(keys, o_to.shape[0] + 1)
            values = _grow(values, o_to.shape[0] + 1)
            work = (dist, touched, mark, keys, values, target_via)
        out = (meta_o, o_to, o_w)
        inc = (meta_i, i_from, i_w)
        for i in range(n_in):
            u = in_nodes[i]
            stamp += 1
            w_in = in_w[i]
            count, max_dist = _mark_targets(u, out_nodes, out_w, n_out, w_in, mark, stamp, work[5])
            if count == 0:
                continue
            # The simulation just run searched from u already: its outcome stands unless it
            # stopped at its (smaller) limit.
            reuse = found[0][i]
            n_touched = 0
            if not reuse:
                targets = (count, stamp, out_nodes, n_out)
                n_touched, _ = _witness_search(u, v, max_dist, targets, out, work, limit)
            # The edges u -> x that exist already, by target (marked, or settled by the search):
            # their offset in u's block (which a move to the pool's end keeps).
            u_lo = meta_o[0, u]
            for k in range(u_lo, u_lo + meta_o[1, u]):
                if mark[o_to[k]] == stamp or mark[o_to[k]] == -stamp:
                    slot[o_to[k]] = k - u_lo
            for j in range(n_out):
                x = out_nodes[j]
                if x == u:
                    continue
                via = w_in + out_w[j]
                if (not found[1][i * n_out + j]) if reuse else dist[x] <= via:
                    continue
                if slot[x] != -1:
                    k = meta_o[0, u] + slot[x]
                    if o_w[k] > via:  # a shorter path through v: the edge becomes a shortcut
                        e = o_e[k]
                        o_w[k] = via
                        weight[e] = via
                        child_a[e] = in_e[i]
                        child_b[e] = out_e[j]
                        x_lo = meta_i[0, x]
                        for q in range(x_lo, x_lo + meta_i[1, x]):
                            if i_e[q] == e:
                                i_w[q] = via
                    continue
                e = edge_count
                edge_count += 1
                src[e] = u
                dst[e] = x
                weight[e] = via
                child_a[e] = in_e[i]
                child_b[e] = out_e[j]
                _append(meta_o, o_to, o_w, o_e, u, x, via, e)
                _append(meta_i, i_from, i_w, i_e, x, u, via, e)
            for j in range(n_out):
                slot[out_nodes[j]] = -1
            for k in range(n_touched):
                dist[touched[k]] = INF
        contracted[v] = True
        rank[v] = order
        order += 1
        # Remove v's edges from its neighbours' blocks and update their contracted-neighbour
        # and depth terms. Their priorities are re-evaluated when popped (lazy updates):
        # re-simulating every neighbour after each contraction cost 3x the build time on grids.
        for i in range(n_in):
            u = in_nodes[i]
            _remove(meta_o, o_to, o_w, o_e, u, v)
            deleted_neighbours[u] += 1
            depth[u] = max(depth[u], depth[v] + 1)
        for j in range(n_out):
            x = out_nodes[j]
            _remove(meta_i, i_from, i_w, i_e, x, v)
            deleted_neighbours[x] += 1
            depth[x] = max(depth[x], depth[v] + 1)
        meta_o[1, v] = 0
        meta_i[1, v] = 0
        if n_in * n_out > found[1].shape[0]:
            found = (found[0], np.zeros(2 * n_in * n_out, dtype=np.bool_))
    return (
        rank,
        src[:edge_count].copy(),
        dst[:edge_count].copy(),
        weight[:edge_count].copy(),
        child_a[:edge_count].copy(),
        child_b[:edge_count].copy(),
    )


@cached_njit(inline="always")
def heap_push(keys, values, size, key, value):
    """Push onto the binary min-heap stored in ``keys``/``values[:size]``; returns the new size."""
    i = np.uint64(size)  # unsigned indices: see _cch_numba._relax_up
    while i > ZERO:
        parent = (i - ONE) >> ONE
        if keys[parent] <= key:
            break
        keys[i] = keys[parent]
        values[i] = values[parent]
        i = parent
    keys[i] = key
    values[i] = value
    return size + 1


@cached_njit(inline="always")
def heap_pop(keys, values, size):
    """Pop the minimum of the heap; returns (key, value, new size). ``size`` must be > 0."""
    top_key = keys[0]
    top_value = values[0]
    size -= 1
    end = np.uint64(size)  # unsigned indices: see _cch_numba._relax_up
    key = keys[end]
    value = values[end]
    i = ZERO
    while True:
        child = i + i + ONE
        if child >= end:
            break
        if child + ONE < end and keys[child + ONE] < keys[child]:
            child += ONE
        if keys[child] >= key:
            break
        keys[i] = keys[child]
        values[i] = values[child]
        i = child
    if size > 0:
        keys[i] = key
        values[i] = value
    return top_key, top_value, size


@cached_njit(inline="always")
def _mark(position, hubs, lo, hi, on):
    """Set ``position[hub]`` to each hub's place in the space ``lo:hi`` (``on``), or back to -1."""
    for i in range(np.uint64(lo), np.uint64(hi)):
        position[np.uint64(hubs[i])] = np.int64(i) if on else -1


@cached_njit(inline="always")
def _trace(entry, hubs, edges, position, lower_end, pred):
    """Record in ``pred`` the edges from the hub at ``entry`` back to its space's root.

    Each hub's recorded edge leads to the previous hub of the path (its ``lower_end``, the
    hierarchy's src column going forward, dst going backward), found through ``position``. A node
    on a shortest upward path to a kept hub is kept too (pruning only drops hubs reached the
    long way round), so the walk never leaves the space.
    """
    while edges[entry] >= 0:
        pred[hubs[entry]] = edges[entry]
        entry = position[lower_end[edges[entry]]]
        if entry < 0:
            raise AssertionError("contraction hierarchy: broken search space")


@cached_njit()
def route(s, t, space_ptr, space, space_dist, hierarchy, table, node_ids, work, cut_cycles):
    """Shortest path from ``s`` to ``t`` through the pruned upward search spaces; unpacked.

    ``space_ptr[0]``/``space_ptr[1]`` point into the forward/backward search spaces (see
    :func:`search_spaces`): ``space[0]`` the hubs, ``space[1]`` the hierarchy edge each was
    reached by, ``space_dist`` the upward distances. The best common hub of ``s``'s forward and
    ``t``'s backward space is the top of a shortest up-down path, whose halves are read back along
    the recorded edges. ``hierarchy`` has a row (src, dst, child_a, child_b, start, count) per
    hierarchy edge, the original edges first, the last two locating its original edges in
    ``table`` (see :func:`expansions`); ``node_ids`` maps an index to its graph node id. ``work``
    (6, n + 1) int32, reused across calls (few arguments keep numba's dispatch cheap): row 0
    positions of hubs in a space and row 5 unpacking positions (both all ``-1`` on entry and left
    so), rows 1-2 predecessor edges, rows 3-4 the unpacking output and stack. ``cut_cycles``:
    whether the graph has (near-)zero weights, see :func:`_unpack_acyclic`. Returns the path
    packed as :func:`_emit` does (node ids, cumulative weight and length at each node);
    ``(3, 0)`` when ``t`` is unreachable.
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
    best_j = np.int64(-1)
    for j in range(np.uint64(t_lo), np.uint64(t_hi)):  # unsigned: see _cch_numba._relax_up
        i = position[np.uint64(hubs[j])]
        if i >= 0 and space_dist[np.uint64(i)] + space_dist[j] < best:
            best = space_dist[i] + space_dist[j]
            best_i = i
            best_j = np.int64(j)
    if best_i >= 0:  # the forward half, from the meeting hub down to s
        _trace(best_i, hubs, edges, position, hierarchy[:, 0], pred_f)
    _mark(position, hubs, s_lo, s_hi, False)
    if best_i < 0:
        return np.empty((3, 0), dtype=np.int64)
    _mark(position, hubs, t_lo, t_hi, True)
    _trace(best_j, hubs, edges, position, hierarchy[:, 1], pred_b)  # from the hub down to t
    _mark(position, hubs, t_lo, t_hi, False)
    return _emit(s, t, hubs[best_i], hierarchy, table, node_ids, work, cut_cycles)


@cached_njit()
def search_graphs(rank, src, dst, weight, child_a, child_b, searchable):
    """The arrays a hierarchy is searched with, nodes renumbered by decreasing rank (``new_of``:
    each node's new index, ``n - 1 - rank``; the nodes every query touches, the top of the
    hierarchy, then share cache lines).

    Returns ``(new_of, ptr, to, w, e_id, hierarchy)``: ``ptr[0]`` the CSR pointers of the
    forward search graph (the ``searchable`` edges up, by tail) and ``ptr[1]`` those of the
    backward one (the edges down, walked from their head), both into ``to``/``w``/``e_id``
    (each row's edges by increasing id); ``hierarchy`` one row ``(src, dst, child_a, child_b,
    0, 0)`` per edge, int32, the last two for :func:`expansions`. Two counting passes, no sort.
    """
    n = rank.shape[0]
    m = src.shape[0]
    new_of = np.empty(n, dtype=np.int64)
    for v in range(n):
        new_of[v] = n - 1 - rank[v]
    hierarchy = np.zeros((m, 6), dtype=np.int32)
    ptr = np.zeros((2, n + 1), dtype=np.int64)
    for e in range(m):
        a = new_of[src[e]]
        b = new_of[dst[e]]
        hierarchy[e, 0] = a
        hierarchy[e, 1] = b
        hierarchy[e, 2] = child_a[e]
        hierarchy[e, 3] = child_b[e]
        if searchable[e]:
            if b < a:  # up: from its tail
                ptr[0, a + 1] += 1
            else:
                ptr[1, b + 1] += 1
    for side in range(2):
        for v in range(n):
            ptr[side, v + 1] += ptr[side, v]
    forward = ptr[0, n]
    for v in range(n + 1):
        ptr[1, v] += forward
    fill = ptr[:, :n].copy()
    total = ptr[1, n]
    to = np.empty(total, dtype=np.int32)
    w = np.empty(total)
    e_id = np.empty(total, dtype=np.int32)
    for e in range(m):
        if not searchable[e]:
            continue
        a = hierarchy[e, 0]
        b = hierarchy[e, 1]
        if b < a:
            k = fill[0, a]
            fill[0, a] += 1
            to[k] = b
        else:
            k = fill[1, b]
            fill[1, b] += 1
            to[k] = a
        w[k] = weight[e]
        e_id[k] = e
    return new_of, ptr, to, w, e_id, hierarchy


@cached_njit()
def expansions(hierarchy, weight, length, node_ids, max_count, budget):
    """Every hierarchy edge's original edges, stored once so that a path unpacks by copying.

    ``hierarchy`` has a row ``(src, dst, child_a, child_b, start, count)`` per edge; this fills
    the last two columns and returns ``table``: edge ``e`` stands for ``count`` original edges,
    stored at ``table[start:start + count]`` when ``start >= 0``. Each entry is a row of three
    int64: the graph id of the original edge's head, then the float64 bits of its weight and
    length: a run of entries is one run of memory, not three (the dissection hierarchy's paths
    unpack from many short runs). Original edges are all stored; a shortcut is
    stored when it stands for at most ``max_count`` edges, halved until the table holds at most
    ``budget`` entries (a shortcut's entries are its two children's, which come before it).
    Unpacking then reads a stored shortcut's edges in a row instead of following its children
    and, for each edge, its head and costs in three other arrays (each a likely cache miss on a
    large graph); the row that leads to them is the one the search read already.
    """
    m = hierarchy.shape[0]
    child_a = hierarchy[:, 2]
    child_b = hierarchy[:, 3]
    # Children before parents (a shortcut's slot may be reused by a later, shorter one, so edge
    # ids are not in that order): a depth-first post-order.
    order = np.empty(m, dtype=np.int64)
    count = np.zeros(m, dtype=np.int64)  # 0: not reached yet, -1: on the stack
    stack = np.empty(m, dtype=np.int64)
    done = 0
    for root in range(m):
        if count[root] != 0:
            continue
        stack[0] = root
        count[root] = -1
        top = 1
        while top > 0:
            e = stack[top - 1]
            if child_a[e] < 0:
                count[e] = 1
            elif count[child_a[e]] == 0:
                count[child_a[e]] = -1
                stack[top] = child_a[e]
                top += 1
                continue
            elif count[child_b[e]] == 0:
                count[child_b[e]] = -1
                stack[top] = child_b[e]
                top += 1
                continue
            else:
                count[e] = count[child_a[e]] + count[child_b[e]]
            top -= 1
            order[done] = e
            done += 1
    limit = max_count
    while limit > 1:
        total = 0
        for e in range(m):
            if count[e] <= limit:
                total += count[e]
        if total <= budget:
            break
        limit //= 2
    expand = hierarchy[:, 4:]
    total = 0
    for e in range(m):
        expand[e, 1] = count[e]
        if count[e] <= limit:
            expand[e, 0] = total
            total += count[e]
        else:
            expand[e, 0] = -1
    table = np.empty((total, 3), dtype=np.int64)
    floats = table.view(np.float64)
    dst = hierarchy[:, 1]
    for e in order:
        start = expand[e, 0]
        if start < 0:
            continue
        if child_a[e] < 0:
            table[start, 0] = node_ids[dst[e]]
            floats[start, 1] = weight[e]
            floats[start, 2] = length[e]
            continue
        # The children's entries, one after the other (explicit loops: numba's 2-D slice
        # assignment cost about 0.1 s over the 1.4 million edges of a 180 x 180 grid's CCH).
        for child in (child_a[e], child_b[e]):
            source = expand[child, 0]
            for k in range(expand[child, 1]):
                for column in range(3):
                    table[start + k, column] = table[source + k, column]
            start += expand[child, 1]
    return table


@cached_njit()
def _emit(s, t, meet, hierarchy, table, node_ids, work, cut_cycles):
    """Unpack the up-down path ``s -> meet -> t`` recorded in ``work[1]``/``work[2]`` (see
    :func:`route`) into one packed path: an int64 array ``(3, k)``, the node ids in row 0 and
    the float64 bits of the cumulative weight and length in rows 1-2 (``packed[1:].view(
    np.float64)``). One array, not two: numba boxes each array of a returned tuple (the kernel
    call took 3.1 µs with two arrays, 2.5 µs with one, on Montpellier's simplified graph).

    Edges are read from ``table`` (see :func:`expansions`): a stored shortcut's original edges
    in a row, the others split into their children. With ``cut_cycles`` the path is first
    unpacked edge by edge (:func:`_unpack_acyclic` cuts zero-weight cycles out as it goes).
    """
    floats = table.view(np.float64)
    expand = hierarchy[:, 4:]
    if cut_cycles:
        count = _unpack_acyclic(s, t, meet, work[1], work[2], hierarchy, work[3], work[4], work[5])
        packed = np.empty((3, count + 1), dtype=np.int64)
        cum = packed[1:].view(np.float64)
        packed[0, 0] = node_ids[s]
        cum[0, 0] = 0.0
        cum[1, 0] = 0.0
        path_edges = work[3]
        for k in range(count):
            j = expand[path_edges[k], 0]
            packed[0, k + 1] = table[j, 0]
            cum[0, k + 1] = cum[0, k] + floats[j, 1]
            cum[1, k + 1] = cum[1, k] + floats[j, 2]
        return packed
    stack = work[4]
    top = _path_edges(s, t, meet, work[1], work[2], hierarchy, stack)
    count = 0
    for k in range(top):
        count += expand[stack[k], 1]
    packed = np.empty((3, count + 1), dtype=np.int64)
    nodes = packed[0]
    cum = packed[1:].view(np.float64)
    nodes[0] = node_ids[s]
    time = 0.0
    length = 0.0
    cum[0, 0] = time
    cum[1, 0] = length
    child_a = hierarchy[:, 2]
    child_b = hierarchy[:, 3]
    k = 1
    while top > 0:
        top -= 1
        e = stack[top]
        start = expand[e, 0]
        if start >= 0:
            for j in range(np.uint64(start), np.uint64(start + expand[e, 1])):
                nodes[k] = table[j, 0]
                time += floats[j, 1]
                length += floats[j, 2]
                cum[0, k] = time
                cum[1, k] = length
                k += 1
        else:
            stack, top = _push_children(stack, top, child_a[e], child_b[e])
    return packed


@cached_njit(inline="always")
def _push_children(stack, top, a, b):
    """Push a shortcut's children on the unpacking stack, ``a`` on top (it comes first on the
    path); returns the stack (grown if full) and its new top."""
    if top + 2 > stack.shape[0]:
        stack = _grow(stack, 2 * stack.shape[0])
    stack[top] = b
    stack[top + 1] = a
    return stack, top + 2


@cached_njit(inline="always")
def _path_edges(s, t, meet, pred_f, pred_b, hierarchy, stack):
    """Put the hierarchy edges of the up-down path ``s -> meet -> t`` on ``stack``, the last
    edge at the bottom (popping gives them in path order); returns their number."""
    src = hierarchy[:, 0]
    dst = hierarchy[:, 1]
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
    v = meet
    while v != s:
        e = pred_f[v]
        stack[top] = e
        top += 1
        v = src[e]
    return top


@cached_njit(inline="always")
def _stalled(u, d, down_ptr, to, w, dist):
    """Stall-on-demand: whether ``u``, reached at ``d``, is reached shorter from a higher node.

    ``down_ptr`` is the CSR pointer of the other direction's search graph, which lists the
    edges between ``u`` and its higher neighbours walked the other way: into ``u`` for a
    forward search. When one of them gives ``dist[x] + w < d``, ``u``'s distance is not the
    shortest, so no shortest up-down path passes through ``u`` and its edges need not be
    relaxed (Geisberger et al., WEA 2008, section 5).
    """
    stalled = False
    for k in range(down_ptr[u], down_ptr[u + 1]):
        if dist[to[k]] + w[k] < d:
            stalled = True
            break
    return stalled


@cached_njit()
def route_bidirectional(s, t, graph, search, hierarchy, table, node_ids, work, cut_cycles):
    """Shortest path from ``s`` to ``t`` by a bidirectional search of the hierarchy; unpacked.

    For graphs whose search spaces are too large to keep (see :func:`search_spaces`).
    ``graph`` is ``(ptr, to, w, e_id)``, the forward (``ptr[0]``) and backward (``ptr[1]``)
    upward search graphs. ``search`` is ``(dist (2, n), keys (2, m + 1), values (2, m + 1),
    touched (2, n + 1))`` of work arrays, ``dist`` all ``inf`` on entry and left so. Nodes a
    higher node reaches shorter are stalled (see :func:`_stalled`). The other
    arguments and the result are those of :func:`route`; the two halves of the path are
    recorded in ``work[1]`` (forward) and ``work[2]`` (backward).
    """
    ptr, to, w, e_id = graph
    dist, keys, values, touched = search
    pred = (work[1], work[2])
    size = np.zeros(2, dtype=np.int64)
    n_touched = np.zeros(2, dtype=np.int64)
    for side, start in ((0, s), (1, t)):
        dist[side, start] = 0.0
        pred[side][start] = -1
        touched[side, 0] = start
        n_touched[side] = 1
        size[side] = heap_push(keys[side], values[side], 0, 0.0, start)
    best = INF
    meet = -1
    while size[0] > 0 or size[1] > 0:
        side = 0 if size[1] == 0 or (size[0] > 0 and keys[0, 0] <= keys[1, 0]) else 1
        if keys[side, 0] >= best:  # this side cannot improve the best path any more
            size[side] = 0
            continue
        d, u, size[side] = heap_pop(keys[side], values[side], size[side])
        if d > dist[side, u]:
            continue
        other = dist[1 - side, u]
        if other < INF and d + other < best:
            best = d + other
            meet = u
        if _stalled(u, d, ptr[1 - side], to, w, dist[side]):
            continue
        for k in range(np.uint64(ptr[side, u]), np.uint64(ptr[side, u + 1])):
            x = np.uint64(to[k])
            nd = d + w[k]
            if nd < dist[side, x]:
                if dist[side, x] == INF:
                    touched[side, n_touched[side]] = x
                    n_touched[side] += 1
                dist[side, x] = nd
                pred[side][x] = e_id[k]
                size[side] = heap_push(keys[side], values[side], size[side], nd, x)
    for side in range(2):
        for k in range(n_touched[side]):
            dist[side, touched[side, k]] = INF
    if meet < 0:
        return np.empty((3, 0), dtype=np.int64)
    return _emit(s, t, meet, hierarchy, table, node_ids, work, cut_cycles)


@cached_njit(nogil=True)
def route_many(s, t, space_ptr, space, space_dist, hierarchy, table, node_ids, work, cut_cycles):
    """:func:`route` for each pair ``(s[k], t[k])``, without Python's lock (``work`` must be
    this call's own). Returns ``(packed, ptr)``: pair ``k``'s packed path (see :func:`_emit`)
    is ``packed[:, ptr[k]:ptr[k + 1]]``, empty when unreachable."""
    found = []
    for k in range(s.shape[0]):
        found.append(
            route(s[k], t[k], space_ptr, space, space_dist, hierarchy, table, node_ids,
                  work, cut_cycles)
        )  # fmt: skip
    return _concatenate(found)


@cached_njit(nogil=True)
def route_bidirectional_many(s, t, graph, search, hierarchy, table, node_ids, work, cut_cycles):
    """:func:`route_bidirectional` for each pair ``(s[k], t[k])``, without Python's lock
    (``search`` and ``work`` must be this call's own); the result is :func:`route_many`'s."""
    found = []
    for k in range(s.shape[0]):
        found.append(
            route_bidirectional(s[k], t[k], graph, search, hierarchy, table, node_ids,
                                work, cut_cycles)
        )  # fmt: skip
    return _concatenate(found)


@cached_njit(nogil=True)
def _concatenate(found):
    """One ``(packed, ptr)`` from a list of packed paths (see :func:`route_many`)."""
    ptr = np.zeros(len(found) + 1, dtype=np.int64)
    for k in range(len(found)):
        ptr[k + 1] = ptr[k] + found[k].shape[1]
    packed = np.empty((3, ptr[-1]), dtype=np.int64)
    for k in range(len(found)):
        packed[:, ptr[k] : ptr[k + 1]] = found[k]
    return packed, ptr


@cached_njit()
def _unpack_acyclic(s, t, meet, pred_f, pred_b, hierarchy, out, stack, position):
    """Write the original edge ids of the path ``s -> meet -> t`` into ``out``, cutting out
    zero-weight cycles; returns their count.

    With zero-weight cycles, an up-down path of optimal weight can unpack into a walk that
    visits a node twice (``s -> a -> b -> a -> t``). Such a cycle (it weighs nothing) is cut out
    as the walk is written (``position[v]`` is ``v``'s place on the path so far, ``-1`` if
    absent, and is all ``-1`` again on return), so the result is a simple path of at most
    ``n - 1`` edges. When every edge weighs well above rounding noise, an optimal walk cannot
    repeat a node and :func:`_emit` copies from the expansion table instead.
    """
    dst = hierarchy[:, 1]
    child_a = hierarchy[:, 2]
    child_b = hierarchy[:, 3]
    top = _path_edges(s, t, meet, pred_f, pred_b, hierarchy, stack)
    count = 0
    position[s] = 0
    while top > 0:
        top -= 1
        e = stack[top]
        if child_a[e] >= 0:
            stack, top = _push_children(stack, top, child_a[e], child_b[e])
            continue
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
    position[s] = -1
    for k in range(count):
        position[dst[out[k]]] = -1
    return count


@cached_njit()
def _full_upward_search(start, ptr, to, w, e_id, work_f, work_i, settled, stall_ptr, stall):
    """Exhaust the upward search from ``start``; returns the number of settled nodes.

    Settled nodes go to ``settled[0]``, the edges they were reached by to ``settled[1]`` (``-1``
    for ``start``) and their distances to ``work_f[1]``, in the order settled. With ``stall``,
    nodes a higher node reaches shorter (through the other direction's search graph, whose CSR
    pointer is ``stall_ptr``; see :func:`_stalled`) are neither reported nor expanded: no
    shortest up-down path passes through them. Work arrays:
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
        if stall and _stalled(u, d, stall_ptr, to, w, dist):
            continue
        settled[0, n_settled] = u
        settled[1, n_settled] = pred[u]
        settled_dist[n_settled] = d
        n_settled += 1
        for k in range(np.uint64(ptr[u]), np.uint64(ptr[u + 1])):
            y = to[k]
            x = np.uint64(y)
            nd = d + w[k]
            if nd < dist[x]:
                if dist[x] == INF:
                    touched[n_touched] = y
                    n_touched += 1
                dist[x] = nd
                pred[x] = e_id[k]
                size = heap_push(keys, values, size, nd, y)
    for k in range(n_touched):
        dist[touched[k]] = INF
    return n_settled


@cached_njit()
def _search_work(n, m):
    """Work arrays of :func:`_full_upward_search` for ``n`` nodes and ``m`` search edges."""
    width = max(n, m) + 1
    work_f = np.full((3, width), INF)
    work_i = np.empty((3, width), dtype=np.int32)
    settled = np.empty((2, n), dtype=np.int32)
    return work_f, work_i, settled


@cached_njit()
def _merge_space(v, lo, hi, to, w, e_id, starts, hubs, edges, dist, start, position):
    """Write at ``start`` the merged upward space of ``v``; returns its end.

    The space is ``v`` itself and, through each upward edge ``k`` in ``lo:hi`` (to ``to[k]``),
    the final (pruned) space of that neighbour shifted by the edge's weight, keeping the
    shortest entry of each hub; its edge is the last hierarchy edge of that path. The arrays
    must have room for every candidate. ``position[h]`` is set to each hub's place.
    """
    hubs[start] = v
    edges[start] = -1
    dist[start] = 0.0
    position[v] = start
    end = start + 1
    for k in range(np.uint64(lo), np.uint64(hi)):  # unsigned: see _cch_numba._relax_up
        u = to[k]
        wk = w[k]
        for i in range(np.uint64(starts[u]), np.uint64(starts[u + 1])):
            hub = hubs[i]
            h = np.uint64(hub)
            d = wk + dist[i]
            p = position[h]
            if p < 0:
                hubs[end] = h
                edges[end] = e_id[k] if hub == u else edges[i]
                dist[end] = d
                position[h] = end
                end += 1
            elif d < dist[p]:
                dist[p] = d
                edges[p] = e_id[k] if hub == u else edges[i]
    return end


@cached_njit()
def _prune_space(start, end, other_starts, hubs, dist, other_hubs, other_dist, position, tolerance):
    """Drop from the space at ``start:end`` the hubs a shorter path reaches; returns the new end.

    Hub ``h`` goes when some hub ``g`` of both this space and ``h``'s final space on the other
    side gives a path shorter by more than ``tolerance``; final spaces are sorted by distance,
    so the scan of ``h``'s stops at the first hub as far as the distance to beat. ``position``
    must mark this space's hubs; it is reset to ``-1`` for all of them.
    """
    keep = np.ones(end - start, dtype=np.bool_)
    for i in range(start + 1, end):  # the node itself (first) always stays
        h = hubs[i]
        limit = dist[i] - tolerance
        for j in range(np.uint64(other_starts[h]), np.uint64(other_starts[h + 1])):
            if other_dist[j] >= limit:  # spaces are sorted by distance: no witness further on
                break
            p = position[np.uint64(other_hubs[j])]
            if p >= 0 and dist[np.uint64(p)] + other_dist[j] < limit:
                keep[i - start] = False
                break
    for i in range(start, end):
        position[hubs[i]] = -1
    return keep


@cached_njit()
def unpruned_space_estimate(n, ptr, to, w, e_id, samples):
    """Estimated total size of every node's upward search spaces (forward + backward), unpruned.

    Exhausts both upward searches from ``samples`` nodes evenly spread over the rank order
    (nodes are numbered by decreasing rank) and scales their mean size up to ``n`` nodes.
    Pruning keeps 15-60 % of these hubs on the graphs measured (Montpellier: about half; a
    street grid: 15 %), so a graph whose estimate exceeds ten times the budget of
    :func:`search_spaces` cannot fit it and is spared the attempt.
    """
    if n == 0 or samples <= 0:
        return 0.0
    work_f, work_i, settled = _search_work(n, to.shape[0])
    total = 0
    count = min(samples, n)
    for k in range(count):
        v = (k * n) // count + (n // count) // 2
        v = min(v, n - 1)
        for side in range(2):
            total += _full_upward_search(
                v, ptr[side], to, w, e_id, work_f, work_i, settled, ptr[1 - side], False
            )
    return total / count * n


@cached_njit()
def search_spaces(n, ptr, to, w, e_id, tolerance, budget):
    """The pruned upward search spaces of every node, forward and backward.

    ``ptr[0]``/``ptr[1]`` are the CSR pointers of the forward and backward search graphs into
    ``to``/``w``/``e_id``; nodes are numbered by decreasing rank, so every search edge leads to
    a smaller index. A space lists the hubs its node reaches upward, the hierarchy edge each was
    reached by and its upward distance. Spaces are built top-down, as hub labels are from a
    hierarchy (Abraham et al., SEA 2011): node ``v``'s space merges its upward neighbours' final
    spaces, then hub ``h`` is pruned when ``v``'s space and ``h``'s space on the other side give
    a path shorter by more than ``tolerance`` (such a hub cannot top a shortest path from ``v``).
    Every hub on a shortest upward path stays, so queries stay exact and each kept hub's path
    back to ``v`` stays inside the space. Each final space lists ``v`` first, then its hubs by
    increasing distance (which halves the pruning time on a street grid).

    Gives up once the spaces hold more than ``budget`` entries, returning empty arrays.

    Returns ``(space_ptr (2, n + 1) int64, space (2, L) int32 of hubs and edges, dist (L,))``.
    """
    capacity = min(32 * n + 16, budget + 16)
    starts = np.zeros((2, n + 1), dtype=np.int64)
    hubs = np.empty((2, capacity), dtype=np.int32)
    edges = np.empty((2, capacity), dtype=np.int32)
    dist = np.empty((2, capacity))
    count = np.zeros(2, dtype=np.int64)
    position = np.full(n, -1, dtype=np.int64)
    for v in range(n):
        for side in range(2):
            lo, hi = ptr[side, v], ptr[side, v + 1]
            need = 1
            for k in range(lo, hi):
                need += starts[side, to[k] + 1] - starts[side, to[k]]
            if count[side] + need > capacity:
                capacity = max(capacity + capacity // 2, count[side] + need)
                grown_hubs = np.empty((2, capacity), dtype=np.int32)
                grown_edges = np.empty((2, capacity), dtype=np.int32)
                grown_dist = np.empty((2, capacity))
                for s in range(2):
                    grown_hubs[s, : count[s]] = hubs[s, : count[s]]
                    grown_edges[s, : count[s]] = edges[s, : count[s]]
                    grown_dist[s, : count[s]] = dist[s, : count[s]]
                hubs, edges, dist = grown_hubs, grown_edges, grown_dist
            start = count[side]
            end = _merge_space(
                v, lo, hi, to, w, e_id, starts[side], hubs[side], edges[side], dist[side],
                start, position,
            )  # fmt: skip
            other = 1 - side
            keep = _prune_space(
                start, end, starts[other], hubs[side], dist[side], hubs[other], dist[other],
                position, tolerance,
            )  # fmt: skip
            kept = start
            for i in range(start, end):
                if keep[i - start]:
                    hubs[side, kept] = hubs[side, i]
                    edges[side, kept] = edges[side, i]
                    dist[side, kept] = dist[side, i]
                    kept += 1
            # By distance (after the node itself): pruning scans a space only up to the distance
            # it must beat (weights are non-negative), a fraction of it for the nearer hubs.
            if kept - start > 2:
                by_dist = np.argsort(dist[side, start + 1 : kept], kind="mergesort") + start + 1
                sorted_hubs = hubs[side, by_dist]
                sorted_edges = edges[side, by_dist]
                sorted_dist = dist[side, by_dist]
                hubs[side, start + 1 : kept] = sorted_hubs
                edges[side, start + 1 : kept] = sorted_edges
                dist[side, start + 1 : kept] = sorted_dist
            count[side] = kept
            starts[side, v + 1] = kept
        if count[0] + count[1] > budget:
            return np.zeros((2, 0), dtype=np.int64), np.empty((2, 0), dtype=np.int32), np.empty(0)
    total = count[0] + count[1]
    space = np.empty((2, total), dtype=np.int32)
    space_dist = np.empty(total)
    space[0, : count[0]] = hubs[0, : count[0]]
    space[0, count[0] :] = hubs[1, : count[1]]
    space[1, : count[0]] = edges[0, : count[0]]
    space[1, count[0] :] = edges[1, : count[1]]
    space_dist[: count[0]] = dist[0, : count[0]]
    space_dist[count[0] :] = dist[1, : count[1]]
    space_ptr = starts.copy()
    space_ptr[1] += count[0]
    return space_ptr, space, space_dist


@cached_njit(nogil=True)
def many_to_many(sources, targets, n, ptr, to, w, e_id):
    """Shortest-path weights from every source to every target (bucket algorithm); inf if none.

    Both the backward searches (filling the buckets) and the forward ones (scanning them) stall
    on demand, as Knopp et al. do: a stalled node's distance is not the shortest, so its bucket
    entry or scan could never give a matrix entry.

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
        n_settled = _full_upward_search(
            targets[j], ptr[1], to, w, e_id, work_f, work_i, settled, ptr[0], True
        )
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
        n_settled = _full_upward_search(
            sources[i], ptr[0], to, w, e_id, work_f, work_i, settled, ptr[1], True
        )
        row = out[i]
        for k in range(n_settled):
            v = settled[0, k]
            d = settled_dist[k]
            for q in range(np.uint64(bucket_ptr[v]), np.uint64(bucket_ptr[v + 1])):
                total = d + bdist[q]
                c = np.uint64(col[q])
                if total < row[c]:
                    row[c] = total
    return out


@cached_njit(nogil=True)
def label_matrix(sources, targets, n, space_ptr, space, space_dist):
    """Shortest-path weights from every source to every target through the pruned search spaces.

    The bucket algorithm of :func:`many_to_many` with the stored spaces (hub labels) in place of
    the upward searches: each target's backward space fills the buckets of its hubs, then each
    source's forward space is joined with them. A space keeps tens of hubs where an upward
    search settles hundreds of nodes; every entry is the up-down sum :func:`route` minimises
    for its pair (its route's duration up to rounding). Layout of the spaces as in
    :func:`route`.
    """
    hubs = space[0]
    bucket_ptr = np.zeros(n + 1, dtype=np.int64)
    for j in range(targets.shape[0]):
        t = targets[j]
        for k in range(space_ptr[1, t], space_ptr[1, t + 1]):
            bucket_ptr[hubs[k] + 1] += 1
    for v in range(n):
        bucket_ptr[v + 1] += bucket_ptr[v]
    fill = bucket_ptr[:-1].copy()
    col = np.empty(bucket_ptr[n], dtype=np.int64)
    bdist = np.empty(bucket_ptr[n])
    for j in range(targets.shape[0]):
        t = targets[j]
        for k in range(space_ptr[1, t], space_ptr[1, t + 1]):
            h = hubs[k]
            col[fill[h]] = j
            bdist[fill[h]] = space_dist[k]
            fill[h] += 1
    out = np.full((sources.shape[0], targets.shape[0]), INF)
    for i in range(sources.shape[0]):
        s = sources[i]
        row = out[i]
        for k in range(np.uint64(space_ptr[0, s]), np.uint64(space_ptr[0, s + 1])):
            h = np.uint64(hubs[k])
            d = space_dist[k]
            for q in range(np.uint64(bucket_ptr[h]), np.uint64(bucket_ptr[h + 1])):
                total = d + bdist[q]
                c = np.uint64(col[q])
                if total < row[c]:
                    row[c] = total
    return out
