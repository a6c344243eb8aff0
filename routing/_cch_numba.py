"""Customizable contraction hierarchies compiled with numba: a build with no witness search.

After Dibbelt, Strasser and Wagner, "Customizable Contraction Hierarchies" (JEA 2016): the nodes
are ordered by nested dissection (METIS's order, see :func:`carreta.routing.ch.dissection_order`,
or the breadth-first-level separators of :func:`dissection_order`), contracted in that order with
no witness search (:func:`chordal_upward`: every pair of a node's higher neighbours is joined,
which needs no weights), then the weights are given to that structure by its triangles
(:func:`customize`): the lower triangles give each edge the lightest path through lower nodes
(the basic customisation), the upper ones the lightest path of all (the perfect one). An edge
heavier than the latter lies on no shortest up-down path, and one that a path through a middle
node (or, with positive weights, a higher one) matches is not needed either: all are left out
of the searches. A node's higher neighbours
are all its ancestors in the elimination tree, so a query walks the two ancestor chains
(:func:`route_etree`) with no priority queue.

On a street grid the greedy contraction of :mod:`carreta.routing._ch_numba` spends seconds in the
witness searches of its dense top (180 x 180 grid: 3.4 s); this takes a fraction of a second,
for queries several times slower. The output has the greedy contraction's form (rank, src, dst,
weight, child_a, child_b), so the rest (path unpacking, expansion table, many-to-many) is shared.
"""

from __future__ import annotations

import numpy as np

from carreta.routing._ch_numba import _concatenate, _emit
from carreta.routing._numba_cache import cached_njit

INF = np.inf
ONE = np.uint64(1)  # unsigned indices: see _relax_up


@cached_njit()
def _undirected(n, src, dst):
    """CSR ``(ptr, adj)`` of the graph's edges taken both ways, each neighbour once, self-loops
    left out (the form METIS takes)."""
    ptr = np.zeros(n + 1, dtype=np.int64)
    for e in range(src.shape[0]):
        if src[e] != dst[e]:
            ptr[src[e] + 1] += 1
            ptr[dst[e] + 1] += 1
    for v in range(n):
        ptr[v + 1] += ptr[v]
    adj = np.empty(ptr[n], dtype=np.int64)
    fill = ptr[:n].copy()
    for e in range(src.shape[0]):
        a, b = src[e], dst[e]
        if a != b:
            adj[fill[a]] = b
            fill[a] += 1
            adj[fill[b]] = a
            fill[b] += 1
    # Drop the repeats (a two-way street is two edges), rows compacted in place.
    mark = np.full(n, -1, dtype=np.int64)
    end = 0
    start = 0
    for v in range(n):
        for k in range(start, ptr[v + 1]):
            x = adj[k]
            if mark[x] != v:
                mark[x] = v
                adj[end] = x
                end += 1
        start = ptr[v + 1]
        ptr[v + 1] = end
    return ptr, adj[:end].copy()


@cached_njit()
def _levels(root, segment, ptr, adj, owner, level, queue):
    """Breadth-first search from ``root`` among the nodes whose ``owner`` is ``segment``.

    Sets ``level`` of each reached node, lists them in ``queue``; returns (count, deepest level).
    """
    queue[0] = root
    level[root] = 0
    head, tail = 0, 1
    while head < tail:
        v = queue[head]
        head += 1
        for k in range(ptr[v], ptr[v + 1]):
            x = adj[k]
            if owner[x] == segment and level[x] < 0:
                level[x] = level[v] + 1
                queue[tail] = x
                tail += 1
    return tail, level[queue[tail - 1]]


@cached_njit()
def dissection_order(n, ptr, adj, balance=0.33):
    """Rank of each node by nested dissection, highest to the separators of the largest parts.

    Each part (a segment of one array) is split by a level of a breadth-first search from a
    pseudo-peripheral node (George and Liu's automatic nested dissection): the smallest level
    that leaves at least ``balance`` of the part on each side, less its nodes with no neighbour
    past it (unless none is left). A part in several pieces is split between them first, with no
    separator. A third, against a quarter: 15 % fewer edge relaxations a query on a 180 x 180
    grid (47,000 against 55,000), the same number of shortcuts.
    """
    nodes = np.arange(n)
    owner = np.zeros(n, dtype=np.int64)
    level = np.full(n, -1, dtype=np.int64)
    queue = np.empty(n, dtype=np.int64)
    scratch = np.empty(n, dtype=np.int64)
    rank = np.empty(n, dtype=np.int64)
    stack = [(0, n)]
    while len(stack) > 0:
        a, b = stack.pop()
        size = b - a
        if size <= 2:
            for i in range(a, b):
                rank[nodes[i]] = i
                owner[nodes[i]] = -1
            continue
        count, depth = _levels(nodes[a], a, ptr, adj, owner, level, queue)
        if count < size:  # the first piece, then the rest
            for i in range(a, b):
                level[nodes[i]] = -1
            for i in range(count):
                owner[queue[i]] = -2
            j, k = a, a + count
            for i in range(a, b):
                v = nodes[i]
                if owner[v] == -2:
                    scratch[j] = v
                    j += 1
                else:
                    scratch[k] = v
                    k += 1
            for i in range(a, b):
                nodes[i] = scratch[i]
                owner[scratch[i]] = a if i < a + count else a + count
            stack.append((a, a + count))
            stack.append((a + count, b))
            continue
        for _ in range(2):  # move to a pseudo-peripheral node: the farthest, twice
            far = queue[count - 1]
            for i in range(count):
                level[queue[i]] = -1
            count, depth = _levels(far, a, ptr, adj, owner, level, queue)
        sizes = np.zeros(depth + 2, dtype=np.int64)
        for i in range(count):
            sizes[level[queue[i]]] += 1
        best, cut = -1, size
        before = 0
        for d in range(depth + 1):
            after = size - before - sizes[d]
            if before >= balance * size and after >= balance * size and sizes[d] < cut:
                best, cut = d, sizes[d]
            before += sizes[d]
        if best < 0:  # no balanced level: the middle one
            before = 0
            for d in range(depth + 1):
                before += sizes[d]
                if 2 * before >= size:
                    best = d
                    break
        # Level ``best`` separates the levels before it from those after it; its nodes with
        # no neighbour after it join the part before (unless that leaves no separator).
        n_s = 0
        for i in range(count):
            v = queue[i]
            if level[v] == best:
                inside = False
                for k in range(ptr[v], ptr[v + 1]):
                    x = adj[k]
                    if owner[x] == a and level[x] == best + 1:
                        inside = True
                        break
                scratch[i] = 1 if inside else 0
                n_s += scratch[i]
        if n_s > 0 and best > 0:
            for i in range(count):
                v = queue[i]
                if level[v] == best and scratch[i] == 0:
                    level[v] = best - 1
        n_a, n_s = 0, 0
        for i in range(count):
            d = level[queue[i]]
            if d < best:
                n_a += 1
            elif d == best:
                n_s += 1
        ia, ib, i_s = a, a + n_a, b - n_s
        for i in range(count):
            v = queue[i]
            d = level[v]
            if d < best:
                scratch[ia] = v
                ia += 1
            elif d > best:
                scratch[ib] = v
                ib += 1
            else:
                scratch[i_s] = v
                i_s += 1
        n_b = size - n_a - n_s
        for i in range(a, b):
            v = scratch[i]
            nodes[i] = v
            level[v] = -1
            if i < a + n_a:
                owner[v] = a
            elif i < a + n_a + n_b:
                owner[v] = a + n_a
            else:
                owner[v] = -1
                rank[v] = i
        if n_a > 0:
            stack.append((a, a + n_a))
        if n_b > 0:
            stack.append((a + n_a, a + n_a + n_b))
    return rank


@cached_njit()
def chordal_upward(n, ptr, adj, rank, node_at):
    """The contracted graph's higher neighbours of each node, in rank space.

    Nodes by increasing ``rank``: a node's higher neighbours are its graph neighbours of higher
    rank and its children's higher neighbours (less itself); the lowest of them is its parent in
    the elimination tree, which inherits the others. Returns ``(up_ptr, up_to, parent)``, all in
    rank space: node ``r``'s higher neighbours are ``up_to[up_ptr[r]:up_ptr[r + 1]]``, sorted;
    ``parent[r]`` is ``-1`` at a root. ``node_at`` is the inverse of ``rank``.
    """
    up_ptr = np.zeros(n + 1, dtype=np.int64)
    up_to = np.empty(max(16, 4 * ptr[n]), dtype=np.int64)
    parent = np.full(n, -1, dtype=np.int64)
    first_child = np.full(n, -1, dtype=np.int64)
    next_sibling = np.full(n, -1, dtype=np.int64)
    mark = np.full(n, -1, dtype=np.int64)
    buf = np.empty(n, dtype=np.int64)
    end = 0
    for r in range(n):
        count = 0
        x = node_at[r]
        for k in range(ptr[x], ptr[x + 1]):
            q = rank[adj[k]]
            if q > r and mark[q] != r:
                mark[q] = r
                buf[count] = q
                count += 1
        c = first_child[r]
        while c >= 0:
            for k in range(up_ptr[c], up_ptr[c + 1]):
                q = up_to[k]
                if q != r and mark[q] != r:
                    mark[q] = r
                    buf[count] = q
                    count += 1
            c = next_sibling[c]
        if end + count > up_to.shape[0]:
            grown = np.empty(max(end + count, 2 * up_to.shape[0]), dtype=np.int64)
            grown[:end] = up_to[:end]
            up_to = grown
        up_to[end : end + count] = np.sort(buf[:count])
        end += count
        up_ptr[r + 1] = end
        if count > 0:
            p = up_to[up_ptr[r]]
            parent[r] = p
            next_sibling[r] = first_child[p]
            first_child[p] = r
    return up_ptr, up_to[:end].copy(), parent


@cached_njit()
def symbolic(n, ptr, adj, rank):
    """The contraction in the order ``rank`` of the undirected graph ``(ptr, adj)`` (see
    :func:`_undirected`), before any weight: ``(node_at, up_ptr, up_to, parent, fill)``, the
    node of each rank, then :func:`chordal_upward`'s arrays, then the node pairs it adds to the
    graph, a node (1.3-2.5 on Montpellier's street graphs in METIS's order, 16-20 on street
    grids)."""
    node_at = np.empty(n, dtype=np.int64)
    node_at[rank] = np.arange(n)
    up_ptr, up_to, parent = chordal_upward(n, ptr, adj, rank, node_at)
    fill = (up_to.shape[0] - ptr[n] // 2) / max(n, 1)
    return node_at, up_ptr, up_to, parent, fill


@cached_njit(inline="always")
def _find(up_ptr, up_to, a, b):
    """Position of ``b`` among ``a``'s higher neighbours (binary search; -1 if absent)."""
    lo = up_ptr[a]
    hi = up_ptr[a + 1]
    while lo < hi:
        mid = (lo + hi) >> 1
        if up_to[mid] < b:
            lo = mid + 1
        else:
            hi = mid
    if lo < up_ptr[a + 1] and up_to[lo] == b:
        return lo
    return -1


_LOWER, _UPPER, _MIDDLE, _TIGHT = 0, 1, 2, 3  # the passes of :func:`_triangles`


@cached_njit(inline="always")
def _node_triangles(r, up_ptr, up_to, position, kind, w, parts, p, needed):
    """The triangles ``(r, y, z)``, ``r < y < z``, of one node ``r`` (see :func:`_triangles`);
    ``position[x]`` is the pair ``(r, x)`` of each higher neighbour ``x`` of ``r``."""
    lo, hi = up_ptr[r], up_ptr[r + 1]
    last = up_to[hi - 1] if hi > lo else -1
    for i in range(np.uint64(lo), np.uint64(hi)):  # unsigned indices: see _relax_up
        up_i = needed[0, i]
        down_i = needed[1, i]
        if kind >= _MIDDLE and not (up_i or down_i):
            continue
        y = up_to[i]
        for q in range(np.uint64(up_ptr[y]), np.uint64(up_ptr[y + 1])):
            z = up_to[q]
            if z > last:
                break
            at = position[z]
            if at < 0:
                continue
            j = np.uint64(at)
            if kind == _LOWER:
                via = w[1, i] + w[0, j]
                if via < w[0, q]:
                    w[0, q] = via
                    parts[0, q] = i
                    parts[1, q] = j
                via = w[1, j] + w[0, i]
                if via < w[1, q]:
                    w[1, q] = via
                    parts[2, q] = j
                    parts[3, q] = i
            elif kind == _UPPER:
                if p[0, j] + p[1, q] < p[0, i]:
                    p[0, i] = p[0, j] + p[1, q]
                if p[0, q] + p[1, j] < p[1, i]:
                    p[1, i] = p[0, q] + p[1, j]
                if p[0, i] + p[0, q] < p[0, j]:
                    p[0, j] = p[0, i] + p[0, q]
                if p[1, q] + p[1, i] < p[1, j]:
                    p[1, j] = p[1, q] + p[1, i]
            else:
                if up_i and needed[0, j] and needed[0, q] and w[0, i] + w[0, q] <= w[0, j]:
                    needed[0, j] = False
                if down_i and needed[1, j] and needed[1, q] and w[1, q] + w[1, i] <= w[1, j]:
                    needed[1, j] = False
                if kind == _TIGHT:
                    if p[0, j] + p[1, q] <= p[0, i]:
                        needed[0, i] = False
                    if p[0, q] + p[1, j] <= p[1, i]:
                        needed[1, i] = False


@cached_njit()
def _triangles(n, up_ptr, up_to, position, kind, w, parts, p, needed, tolerance):
    """The passes over every triangle ``(r, y, z)``, ``r < y < z``, of the contracted graph:
    pair ``i`` is ``(r, y)``, ``j`` is ``(r, z)`` and ``q`` is ``(y, z)`` (row 0 of ``w``/``p``
    the edge up, row 1 down). ``position`` is all -1 on entry and left so.

    - ``_LOWER``, lowest ``r`` first: ``y`` and ``z`` gain the paths through ``r`` in ``w``
      (``parts`` records the two pairs they are made of: rows 0-1 for the edge up, ``y -> r``
      then ``r -> z``, rows 2-3 for the edge down): the lightest path through lower nodes
      (basic customisation).
    - Otherwise, highest ``r`` first, two rounds over ``r``'s triangles while they are in cache.
      First ``r``'s edges gain the paths through ``y`` or ``z`` in ``p`` (those between higher
      nodes are final already): the lightest of all (perfect customisation). ``r``'s edges are
      then ``needed`` when ``w`` is within ``tolerance`` of ``p`` (else no shortest up-down path
      uses them), and, second round, ``_MIDDLE`` leaves out an edge ``r -> z`` that a kept
      path ``r -> y -> z`` matches (the search finds that path instead and, by induction on the
      rank span, the edges it is made of or their own replacements; likewise ``z -> r``).
      ``_TIGHT`` also leaves out an edge ``r -> y`` that a path ``r -> z -> y`` over the higher
      ``z`` matches in the exact weights ``p`` (likewise ``y -> r``). Only for weights all above
      the tolerance: among the shortest ``s -> t`` paths of the graph, take one that is greatest
      in the multiset order of its nodes' ranks; an edge of its up-down form that either rule
      left out would give another shortest path (positive weights: no node repeated) that swaps
      nodes below ``r`` for the higher ``y`` or ``z``, a greater one. So every shortest distance
      stays an up-down path of kept edges. On the 180 x 180 grid, whose integer weights tie
      often, a query relaxes 6 % fewer edges (35,900 against 38,100).

    Each node's higher neighbours form a clique, so those of ``r`` above ``y`` are all in
    ``y``'s row: the scan of that row stops past ``r``'s highest neighbour (rows are sorted).
    """
    for step in range(n):
        r = step if kind == _LOWER else n - 1 - step
        lo, hi = up_ptr[r], up_ptr[r + 1]
        for i in range(lo, hi):
            position[up_to[i]] = i
        if kind == _LOWER:
            _node_triangles(r, up_ptr, up_to, position, _LOWER, w, parts, p, needed)
        else:
            _node_triangles(r, up_ptr, up_to, position, _UPPER, w, parts, p, needed)
            for i in range(lo, hi):
                for side in range(2):
                    needed[side, i] = w[side, i] < INF and w[side, i] <= p[side, i] + tolerance
            _node_triangles(r, up_ptr, up_to, position, kind, w, parts, p, needed)
        for i in range(lo, hi):
            position[up_to[i]] = -1


@cached_njit()
def customize(n, src, dst, weight, rank, up_ptr, up_to, tolerance, tight):
    """Weights of the contracted graph from the original edges ``src -> dst`` (node indices).

    Returns ``(w, parts, orig, needed)`` for the ``M`` pairs ``r < up_to[k]`` of
    :func:`chordal_upward`: ``w``, ``orig`` and ``needed`` are ``(2, M)``, row 0 the edge up
    (``r -> up_to[k]``), row 1 down. ``w`` is the lightest path through lower nodes (inf if
    none), ``parts`` (``(4, M)``) the two pairs that path is made of (see :func:`_triangles`;
    -1 for an original edge), ``orig`` the original edge id of the pair in that direction (-1
    if none) and ``needed`` whether the searches need the edge: ``w`` within ``tolerance`` of
    the lightest path of all (else no shortest up-down path uses it) and no path through a
    middle node as light, nor, with ``tight`` (every weight above ``tolerance``), through a
    higher node (see :func:`_triangles`).
    """
    m_pairs = up_to.shape[0]
    w = np.full((2, m_pairs), INF)
    parts = np.full((4, m_pairs), -1, dtype=np.int32)
    orig = np.full((2, m_pairs), -1, dtype=np.int64)
    for e in range(src.shape[0]):
        a = rank[src[e]]
        b = rank[dst[e]]
        if a == b:
            continue
        side = 0
        if a > b:
            a, b = b, a
            side = 1
        k = _find(up_ptr, up_to, a, b)
        if weight[e] < w[side, k]:
            w[side, k] = weight[e]
            orig[side, k] = e
    position = np.full(n, -1, dtype=np.int64)
    needed = np.zeros((2, m_pairs), dtype=np.bool_)
    _triangles(n, up_ptr, up_to, position, _LOWER, w, parts, w, needed, tolerance)
    p = w.copy()
    kind = _TIGHT if tight else _MIDDLE
    _triangles(n, up_ptr, up_to, position, kind, w, parts, p, needed, tolerance)
    return w, parts, orig, needed


@cached_njit()
def hierarchy_edges(n, src0, dst0, weight0, node_at, up_ptr, up_to, w, parts, orig):
    """The contracted graph as the greedy contraction returns it: ``(src, dst, weight, child_a,
    child_b, pair)`` over node indices, an edge per pair and direction of finite weight, the
    original edges keeping their ids ``< m`` (a pair a lower path beats becomes a shortcut in the
    original edge's place, self-loops left as they are), ``pair`` the (2, M) edge id of each pair
    and direction (-1: none). ``node_at[r]`` is the node of rank ``r``."""
    m = src0.shape[0]
    m_pairs = up_to.shape[0]
    pair = np.full((2, m_pairs), -1, dtype=np.int64)
    count = m
    for side in range(2):
        for k in range(m_pairs):
            if w[side, k] < INF:
                if orig[side, k] >= 0:
                    pair[side, k] = orig[side, k]
                else:
                    pair[side, k] = count
                    count += 1
    src = np.empty(count, dtype=np.int64)
    dst = np.empty(count, dtype=np.int64)
    weight = np.empty(count)
    src[:m] = src0  # the original edges no pair takes (self-loops) stay as they are
    dst[:m] = dst0
    weight[:m] = weight0
    child_a = np.full(count, -1, dtype=np.int64)
    child_b = np.full(count, -1, dtype=np.int64)
    for r in range(n):
        for k in range(up_ptr[r], up_ptr[r + 1]):
            y = up_to[k]
            for side in range(2):
                e = pair[side, k]
                if e < 0:
                    continue
                a, b = (r, y) if side == 0 else (y, r)
                src[e] = node_at[a]
                dst[e] = node_at[b]
                weight[e] = w[side, k]
                if parts[2 * side, k] >= 0:  # a -> x -> b, x below both
                    child_a[e] = pair[1, parts[2 * side, k]]  # pair (x, a), down
                    child_b[e] = pair[0, parts[2 * side + 1, k]]  # pair (x, b), up
    return src, dst, weight, child_a, child_b, pair


@cached_njit(inline="always")
def _relax_up(x, d, ptr, to, w, dist, pred):
    """Relax the edges of ``x`` (reached at ``d``) in one search graph: ``pred`` gets the slot
    ``k`` of each improving edge (its id is ``e_id[k]``, read for the path's edges only). Last
    edge first: the next nodes up the chain, at lower indices, have their edges before ``x``'s,
    so the search reads memory downwards throughout (on the 180 x 180 grid's searches, about
    10 % faster than reading each node's edges upwards: 95-112 µs against 107-130).

    Unsigned indices: numba wraps a negative signed index around (a shift, a mask and an add
    per array read, and registers spilled to the stack); unsigned ones it reads as they are
    (about 20 % faster on the grid's routes, same run)."""
    lo = np.uint64(ptr[x])
    k = np.uint64(ptr[x + 1])
    while k > lo:
        k -= ONE
        y = np.uint64(to[k])
        nd = d + w[k]
        if nd < dist[y]:
            dist[y] = nd
            pred[y] = k


@cached_njit()
def route_etree(s, t, graph, dist, hierarchy, table, node_ids, work, cut_cycles):
    """Shortest path from ``s`` to ``t`` by the elimination-tree search; unpacked.

    ``graph`` is ``(ptr, to, w, e_id, parent)``: the forward (``ptr[0]``) and backward
    (``ptr[1]``) upward search graphs of :func:`route_bidirectional
    <carreta.routing._ch_numba.route_bidirectional>` and each node's parent in the elimination
    tree (-1 at a root), node indices decreasing upwards. Every node an upward search from ``s``
    reaches is an ancestor of ``s``: the two chains are walked up, the lower node first, until
    they meet (below their lowest common ancestor no path is complete yet, so every reached node
    is relaxed); from there on each common ancestor closes a path and its edges are relaxed only
    on the sides whose distance is shorter than the best path so far. ``dist`` ``(2, n)`` is all
    ``inf`` on entry and left so. The other arguments and the result are those of :func:`route
    <carreta.routing._ch_numba.route>`.
    """
    ptr, to, w, e_id, parent = graph
    f_ptr = ptr[0]
    b_ptr = ptr[1]
    dist_f = dist[0]
    dist_b = dist[1]
    pred_f = work[1]
    pred_b = work[2]
    dist_f[s] = 0.0
    dist_b[t] = 0.0
    a = s
    b = t
    while a != b and a >= 0 and b >= 0:
        if a > b:
            if dist_f[a] < INF:
                _relax_up(a, dist_f[a], f_ptr, to, w, dist_f, pred_f)
            a = parent[a]
        else:
            if dist_b[b] < INF:
                _relax_up(b, dist_b[b], b_ptr, to, w, dist_b, pred_b)
            b = parent[b]
    best = INF
    meet = -1
    x = a if a == b else -1  # no common ancestor: different trees, no path
    while x >= 0:
        d_f = dist_f[x]
        d_b = dist_b[x]
        if d_f + d_b < best:
            best = d_f + d_b
            meet = x
        if d_f < best:
            _relax_up(x, d_f, f_ptr, to, w, dist_f, pred_f)
        if d_b < best:
            _relax_up(x, d_b, b_ptr, to, w, dist_b, pred_b)
        x = parent[x]
    # Edge ids along the path (the search recorded slots).
    x = meet
    while x != s and meet >= 0:
        pred_f[x] = e_id[pred_f[x]]
        x = hierarchy[pred_f[x], 0]
    x = meet
    while x != t and meet >= 0:
        pred_b[x] = e_id[pred_b[x]]
        x = hierarchy[pred_b[x], 1]
    x = s
    while x >= 0:
        dist_f[x] = INF
        x = parent[x]
    x = t
    while x >= 0:
        dist_b[x] = INF
        x = parent[x]
    if meet < 0:
        return np.empty((3, 0), dtype=np.int64)
    return _emit(s, t, meet, hierarchy, table, node_ids, work, cut_cycles)


@cached_njit(nogil=True)
def route_etree_many(s, t, graph, dist, hierarchy, table, node_ids, work, cut_cycles):
    """:func:`route_etree` for each pair ``(s[k], t[k])``, without Python's lock (``dist``
    and ``work`` must be this call's own); the result is :func:`route_many
    <carreta.routing._ch_numba.route_many>`'s."""
    found = []
    for k in range(s.shape[0]):
        found.append(
            route_etree(s[k], t[k], graph, dist, hierarchy, table, node_ids, work, cut_cycles)
        )
    return _concatenate(found)


@cached_njit()
def contract(n, src0, dst0, weight0, tolerance, rank, tight, structure):
    """Customisation of the contraction in the order ``rank`` (each node's, 0 first), whose
    :func:`symbolic` result is ``structure`` (``tight``: see :func:`customize`).

    Returns ``(rank, src, dst, weight, child_a, child_b)`` as the greedy contraction does
    (:func:`preprocess <carreta.routing._ch_numba.preprocess>`), then ``searchable`` (whether
    each edge is needed by the searches, see :func:`customize`) and ``parent`` (each node's parent
    in the elimination tree, a node index, -1 at a root).
    """
    node_at, up_ptr, up_to, parent_rank, _ = structure
    w, parts, orig, needed = customize(
        n, src0, dst0, weight0, rank, up_ptr, up_to, tolerance, tight
    )
    src, dst, weight, child_a, child_b, pair = hierarchy_edges(
        n, src0, dst0, weight0, node_at, up_ptr, up_to, w, parts, orig
    )
    searchable = np.zeros(src.shape[0], dtype=np.bool_)
    for side in range(2):
        for k in range(pair.shape[1]):
            if pair[side, k] >= 0 and needed[side, k]:
                searchable[pair[side, k]] = True
    parent = np.full(n, -1, dtype=np.int64)
    for v in range(n):
        p = parent_rank[rank[v]]
        if p >= 0:
            parent[v] = node_at[p]
    return rank, src, dst, weight, child_a, child_b, searchable, parent
