"""carreta's router side by side with RoutingKit's CCH and pandana, on the same arrays and weights.

Run from the project root (needs the ``bench`` extra: ``pip install -e ".[bench]"``; RoutingKit,
the baseline of the ratios, is required, pandana is left out with a note if it is missing)::

    python benchmarks/bench_routing_peers.py [--graphs NAME,...] [--quick] [--repeat R]

Graphs (``--graphs``, default all): Montpellier's four graphs as ``benchmarks/bench_routing.py``
builds them (``simplified-robot``, ``unsimplified-robot``, ``simplified-van``,
``unsimplified-van``), ``grid-32k`` (a 180 × 180 street grid, 32,400 nodes) and ``street-200k``
(about 200,000 nodes: a jittered 470 × 470 grid with 12 % of its streets deleted, a few
diagonals and one-way streets, cut to its largest strongly connected part). ``--quick`` runs
the Montpellier graphs and the grid with 300 pairs, a 300 × 300 matrix and one repeat.

Every library gets the same compiled edge arrays (one edge per ordered node pair, the cheapest
of any parallel edges) and the same integer weights: travel time in milliseconds (RoutingKit
takes integers; carreta gets the same values as floats, whose sums stay exact; pandana the same
integers through its own scaling, see below).
Columns:

- **build**: wall time from the arrays to a router answering queries (carreta:
  ``compile_arrays`` + ``Router``, in three rows: as it comes (``hierarchy="auto"``: the
  dissection hierarchy on the grids, the greedy one on Montpellier's graphs; the order it
  computes to decide included), ``hierarchy="greedy"`` and ``hierarchy="dissection"`` (METIS's
  nested-dissection order included); RoutingKit:
  inertial-flow order + ``CCH`` + ``CCHMetric``;
  pandana: ``Network``), median of ``--repeat`` builds, kernels already loaded. The libraries
  build in turn, round after round, and then query in turn, pass after pass: the shared
  machine's changes of speed during a run weigh on all of them alike.
- **route**: median wall time per query over the same random pairs (the path's nodes
  returned; carreta's route cache off), median over the passes.
- **batch**: wall time to route all the pairs at once through the library's call for many
  pairs, per pair (carreta ``Router.routes``; pandana ``shortest_paths``; RoutingKit has none:
  a loop over ``CCHQuery.run``), median over the passes: how a program routing many legs
  (a planned tour's, a day's trips) sees each library.
- **matrix**: one 1,000 × 1,000 matrix (carreta ``Router.matrix``; RoutingKit ``CCHOneToMany``
  with 1,000 pinned targets, one sweep per source; pandana ``shortest_path_lengths`` on the
  1,000,000 pairs), median over the passes.
- **memory**: ``Router.nbytes`` for carreta (peers expose none) and, for all, the growth of
  the resident memory of a fresh process across one build: kept after it, and at its peak, in
  MB (the library's code loaded before).
- **mismatches**: distances that differ from scipy's Dijkstra on 200 of the pairs, and on 20
  rows of the matrix (integer weights: compared exactly).

Ratios are against RoutingKit (build, matrix) and against the best peer (route, batch), measured in
the same run: each the median over the rounds of the ratio within a round. pandana is run
single-threaded (``OMP_NUM_THREADS=1``) as the others are, and only on graphs of at most 40,000
nodes (street-200k would take it many minutes). It gets the weights in seconds plus a quarter of
a ms, and its answers are turned back into ms: it keeps each weight as a 32-bit integer, 1,000
times the weight truncated, and with the weights in ms its path sums overflowed on the robot
graphs (its build never ended) and on the grid (93 s to build). Each library builds first in a
fresh process (the memory column): one whose build has not ended after 180 s is left out of that
graph, and a note under the table says so.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before pandana loads OpenMP

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components, dijkstra

from carreta.routing.compiled import compile_arrays, compile_graph
from carreta.routing.errors import NoRouteError
from carreta.routing.router import Hierarchy, Router

EXTRACT = (
    Path(__file__).resolve().parents[1].parent
    / "shared"
    / "data"
    / "osm"
    / "montpellier_drive_2024-10-30.osm.bz2"
)
MONTPELLIER = ("simplified-robot", "unsimplified-robot", "simplified-van", "unsimplified-van")
SYNTHETIC = ("grid-32k", "street-200k")
BUILD_GOAL = 1.5  # × RoutingKit
ROUTE_GOAL = 0.7  # × the best peer
MATRIX_GOAL = 0.7  # × RoutingKit
CHILD_TIMEOUT_S = 180  # a build running longer is left out of that graph
METRES_PER_DEGREE = 111_195.0


@dataclass
class Arrays:
    """One benchmark graph: node coordinates (degrees) and edges with integer weights (ms)."""

    name: str
    lon: np.ndarray
    lat: np.ndarray
    tails: np.ndarray
    heads: np.ndarray
    weight_ms: np.ndarray

    @property
    def n_nodes(self) -> int:
        return int(self.lon.shape[0])

    @property
    def n_edges(self) -> int:
        return int(self.tails.shape[0])


def montpellier(name: str) -> Arrays:
    """One of Montpellier's four graphs, as ``benchmarks/bench_routing.py`` loads it."""
    from carreta.routing import load_graph

    simplify, profile = name.split("-")
    graph = load_graph(EXTRACT, profile=profile, simplify=simplify == "simplified")
    compiled = compile_graph(graph, weight="travel_time")
    lon = np.array([graph.nodes[int(node)]["x"] for node in compiled.node_ids])
    lat = np.array([graph.nodes[int(node)]["y"] for node in compiled.node_ids])
    return Arrays(
        f"{name} ({compiled.n_nodes:,} nodes)",
        lon,
        lat,
        compiled.sources,
        compiled.indices,
        np.round(compiled.weight * 1000.0).astype(np.int64),
    )


def street_grid(
    side: int,
    *,
    seed: int,
    delete: float = 0.0,
    diagonal: float = 0.0,
    oneway: float = 0.0,
    jitter: float = 0.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A ``side`` × ``side`` street grid, 100 m blocks, cut to its largest strongly connected part.

    ``delete``: share of streets removed; ``diagonal``: share of blocks crossed by a diagonal;
    ``oneway``: share of streets driven one way; ``jitter``: node displacement in blocks.
    Speeds are 30, 40 or 50 km/h at random. Returns (x/y in metres (n, 2), tails, heads,
    travel time in ms).
    """
    rng = np.random.default_rng(seed)
    n = side * side
    ids = np.arange(n).reshape(side, side)
    row, column = np.divmod(np.arange(n), side)
    xy = np.column_stack([column, row]).astype(float) * 100.0
    xy += rng.uniform(-jitter, jitter, xy.shape) * 100.0
    streets = [
        np.column_stack([ids[:, :-1].ravel(), ids[:, 1:].ravel()]),
        np.column_stack([ids[:-1, :].ravel(), ids[1:, :].ravel()]),
    ]
    if diagonal:
        crossing = np.column_stack([ids[:-1, :-1].ravel(), ids[1:, 1:].ravel()])
        streets.append(crossing[rng.random(crossing.shape[0]) < diagonal])
    edges = np.concatenate(streets)
    edges = edges[rng.random(edges.shape[0]) >= delete]
    length_m = np.hypot(*(xy[edges[:, 0]] - xy[edges[:, 1]]).T)
    speed_ms = rng.choice([30.0, 40.0, 50.0], edges.shape[0]) / 3.6
    weight_ms = np.maximum(np.round(1000.0 * length_m / speed_ms), 1).astype(np.int64)
    two_way = rng.random(edges.shape[0]) >= oneway
    tails = np.concatenate([edges[:, 0], edges[two_way, 1]])
    heads = np.concatenate([edges[:, 1], edges[two_way, 0]])
    weight_ms = np.concatenate([weight_ms, weight_ms[two_way]])
    adjacency = csr_matrix((np.ones(tails.shape[0]), (tails, heads)), shape=(n, n))
    _, label = connected_components(adjacency, connection="strong")
    kept = label == np.argmax(np.bincount(label))
    new_index = np.full(n, -1, dtype=np.int64)
    new_index[kept] = np.arange(int(kept.sum()))
    inside = kept[tails] & kept[heads]
    return xy[kept], new_index[tails[inside]], new_index[heads[inside]], weight_ms[inside]


def synthetic(name: str) -> Arrays:
    """``grid-32k`` or ``street-200k`` (see the module docstring), placed near Montpellier."""
    if name == "grid-32k":
        xy, tails, heads, weight_ms = street_grid(180, seed=1)
    else:
        xy, tails, heads, weight_ms = street_grid(
            470, seed=2, delete=0.12, diagonal=0.05, oneway=0.1, jitter=0.3
        )
    lat = 43.6 + xy[:, 1] / METRES_PER_DEGREE
    lon = 3.85 + xy[:, 0] / (METRES_PER_DEGREE * np.cos(np.radians(43.6)))
    return Arrays(f"{name} ({lon.shape[0]:,} nodes)", lon, lat, tails, heads, weight_ms)


def rss_mb(field: str = "VmRSS") -> float:
    """Resident memory of this process (``VmRSS``) or its peak (``VmHWM``), MB (Linux; else 0)."""
    status = Path("/proc/self/status")
    if not status.exists():
        return 0.0
    for line in status.read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


@contextlib.contextmanager
def silenced_stdout() -> Iterator[None]:
    """Send what native code writes to the standard output to /dev/null meanwhile."""
    sys.stdout.flush()
    saved = os.dup(1)
    with open(os.devnull, "w") as null:
        os.dup2(null.fileno(), 1)
        try:
            yield
        finally:
            os.dup2(saved, 1)
            os.close(saved)


def timed(action: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, result


@dataclass
class Result:
    """One library on one graph."""

    library: str
    build_s: list[float] = field(default_factory=list)
    route_us: list[float] = field(default_factory=list)
    batch_us: list[float] = field(default_factory=list)
    matrix_s: list[float] = field(default_factory=list)
    nbytes_mb: float | None = None
    rss_mb: float = 0.0
    peak_mb: float = 0.0
    mismatches: int = 0
    checked: int = 0


class Peer:
    """A library under test: build it, then route, matrix and distance queries on node indices."""

    name = ""
    package: str | None = None  # the module it needs (None: carreta itself)
    max_nodes: int | None = None  # larger graphs are skipped (too slow to build)

    def build(self, arrays: Arrays) -> None:
        raise NotImplementedError

    def route(self, s: int, t: int) -> object:
        raise NotImplementedError

    def routes(self, sources: list[int], targets: list[int]) -> object:
        """The paths of many pairs: the library's call for many, else one query each."""
        return [self.route(s, t) for s, t in zip(sources, targets, strict=True)]

    def distance(self, s: int, t: int) -> float:
        raise NotImplementedError

    def matrix(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def nbytes(self) -> int | None:
        return None

    def free(self) -> None:
        self.__dict__.clear()


class Carreta(Peer):
    """carreta's router as it comes: its hierarchy chosen by ``hierarchy="auto"``."""

    name = "carreta"
    hierarchy: Hierarchy = "auto"

    def build(self, arrays: Arrays) -> None:
        compiled = compile_arrays(
            np.arange(arrays.n_nodes, dtype=np.int64),
            arrays.tails,
            arrays.heads,
            arrays.weight_ms.astype(np.float64),
            weight_name="travel_time_ms",
        )
        self.router = Router(compiled, backend="ch", cache_size=0, hierarchy=self.hierarchy)

    def route(self, s: int, t: int) -> object:
        try:
            return self.router.route(s, t).nodes
        except NoRouteError:
            return None

    def routes(self, sources: list[int], targets: list[int]) -> object:
        return self.router.routes(sources, targets)

    def distance(self, s: int, t: int) -> float:
        try:
            return self.router.route(s, t).duration_s
        except NoRouteError:
            return np.inf

    def matrix(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        return self.router.matrix(rows.tolist(), cols.tolist())

    def nbytes(self) -> int | None:
        return self.router.nbytes


class CarretaGreedy(Carreta):
    """carreta's router with its hierarchy built by greedy contraction."""

    name = "carreta (greedy)"
    hierarchy: Hierarchy = "greedy"


class CarretaDissection(Carreta):
    """carreta's router with its hierarchy built in a nested-dissection order."""

    name = "carreta (dissection)"
    hierarchy: Hierarchy = "dissection"


class RoutingKit(Peer):
    name = "RoutingKit CCH"
    package = "routingkit_cch"

    def prepare(self, arrays: Arrays) -> None:
        """Python lists for the binding (not timed: an artefact of its API)."""
        self.lists = (
            arrays.tails.tolist(),
            arrays.heads.tolist(),
            arrays.lat.tolist(),
            arrays.lon.tolist(),
            arrays.weight_ms.tolist(),
        )

    def build(self, arrays: Arrays) -> None:
        import routingkit_cch as rk

        tails, heads, lat, lon, weights = self.lists
        order = rk.compute_order_inertial(arrays.n_nodes, tails, heads, lat, lon)
        self.cch = rk.CCH(order, tails, heads, False)
        self.metric = rk.CCHMetric(self.cch, weights)
        self.query = rk.CCHQuery(self.metric)

    def route(self, s: int, t: int) -> object:
        return self.query.run(s, t).node_path

    def distance(self, s: int, t: int) -> float:
        found = self.query.run(s, t).distance
        return np.inf if found is None else float(found)

    def matrix(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        import routingkit_cch as rk

        one_to_many = rk.CCHOneToMany(self.metric, cols.tolist())
        table = [one_to_many.distances_from(s) for s in rows.tolist()]
        del one_to_many
        return np.array([[np.inf if d is None else d for d in row] for row in table], dtype=float)


class Pandana(Peer):
    name = "pandana"
    package = "pandana"
    max_nodes = 40_000  # the 32,400-node grid: 27 s to build, about a minute for its matrix

    def build(self, arrays: Arrays) -> None:
        import pandana
        import pandas as pd

        index = pd.RangeIndex(arrays.n_nodes)
        # pandana keeps each weight as a 32-bit integer, the weight × 1000 truncated: in ms,
        # path sums overflowed (on the robot graphs its build never ended). In seconds plus a
        # quarter of a ms, the integers it keeps are the exact ms (its answers, in seconds, are
        # turned back into ms by ``_ms``).
        weights = pd.DataFrame({"s": (arrays.weight_ms + 0.25) / 1000.0})
        with silenced_stdout():  # pandana's C++ prints its progress
            self.network = pandana.Network(
                pd.Series(arrays.lon, index=index),
                pd.Series(arrays.lat, index=index),
                pd.Series(arrays.tails),
                pd.Series(arrays.heads),
                weights,
                twoway=False,
            )

    def route(self, s: int, t: int) -> object:
        return self.network.shortest_path(s, t)

    def routes(self, sources: list[int], targets: list[int]) -> object:
        return self.network.shortest_paths(sources, targets)

    def distance(self, s: int, t: int) -> float:
        return float(_ms(self.network.shortest_path_length(s, t)))

    def matrix(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        origins = np.repeat(rows, cols.shape[0])
        destinations = np.tile(cols, rows.shape[0])
        lengths = self.network.shortest_path_lengths(origins, destinations)
        return _ms(lengths).reshape(rows.shape[0], cols.shape[0])


def _ms(seconds: object) -> np.ndarray:
    """pandana's path lengths (seconds, sums of whole ms) back in ms, exactly."""
    return np.round(np.asarray(seconds, dtype=float) * 1000.0)


PEERS: dict[str, type[Peer]] = {
    "carreta": Carreta,
    "carreta (greedy)": CarretaGreedy,
    "carreta (dissection)": CarretaDissection,
    "RoutingKit CCH": RoutingKit,
    "pandana": Pandana,
}


def installed_peers() -> list[Peer]:
    """carreta and the peers whose package is installed (the ``bench`` extra has them all)."""
    peers: list[Peer] = [Carreta(), CarretaGreedy(), CarretaDissection(), RoutingKit(), Pandana()]
    return [p for p in peers if p.package is None or importlib.util.find_spec(p.package)]


def memory_in_child(peer: Peer, arrays: Arrays) -> tuple[float, float]:
    """Resident memory a build keeps, and its peak growth, in MB, measured in a fresh process.

    The child loads the library and builds a tiny graph first (code and kernels loaded), then
    builds ``arrays`` between two readings of ``VmRSS`` (kept) and ``VmHWM`` (peak, reset first).
    Raises ``subprocess.TimeoutExpired`` past :data:`CHILD_TIMEOUT_S`.
    """
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "graph.npz"
        np.savez(
            path,
            lon=arrays.lon,
            lat=arrays.lat,
            tails=arrays.tails,
            heads=arrays.heads,
            weight_ms=arrays.weight_ms,
        )
        command = [sys.executable, __file__, "--child-memory", peer.name, str(path)]
        done = subprocess.run(
            command, check=True, capture_output=True, text=True, timeout=CHILD_TIMEOUT_S
        )
    kept, peak = json.loads(done.stdout.strip().splitlines()[-1])
    return float(kept), float(peak)


def child_memory(library: str, path: str) -> None:
    """In a fresh process: build ``library`` on the saved arrays and print (kept, peak) MB."""
    data = np.load(path)
    arrays = Arrays(
        "child", data["lon"], data["lat"], data["tails"], data["heads"], data["weight_ms"]
    )
    peer = PEERS[library]()
    warm = synthetic_small()
    if isinstance(peer, RoutingKit):
        peer.prepare(warm)
    peer.build(warm)
    peer.free()
    if isinstance(peer, RoutingKit):
        peer.prepare(arrays)
    gc.collect()
    clear_refs = Path("/proc/self/clear_refs")
    if clear_refs.exists():
        clear_refs.write_text("5")  # VmHWM restarts from the current RSS
    before = rss_mb()
    peer.build(arrays)
    kept = rss_mb() - before
    peak = rss_mb("VmHWM") - before
    print(json.dumps([kept, peak]))


def route_times_us(peer: Peer, pairs: np.ndarray) -> float:
    """Median wall time of one route query over ``pairs``, µs."""
    times = []
    clock = time.perf_counter_ns
    for s, t in pairs.tolist():
        start = clock()
        peer.route(s, t)
        times.append(clock() - start)
    return statistics.median(times) / 1e3


def bench_graph(
    arrays: Arrays, *, pairs: int, matrix_size: int, repeat: int, stalled: list[str]
) -> list[Result]:
    """Build, route, matrix, memory and exactness of the three libraries on one graph; the
    names of those whose build did not end go to ``stalled``."""
    rng = np.random.default_rng(0)
    route_pairs = rng.integers(0, arrays.n_nodes, (pairs, 2))
    rows = rng.choice(arrays.n_nodes, matrix_size, replace=False)
    cols = rng.choice(arrays.n_nodes, matrix_size, replace=False)
    check_pairs = route_pairs[:200]
    check_rows = rows[:20]
    graph = csr_matrix(
        (arrays.weight_ms.astype(np.float64), (arrays.tails, arrays.heads)),
        shape=(arrays.n_nodes, arrays.n_nodes),
    )
    graph.sum_duplicates()  # compiled arrays: no duplicates, kept for safety
    sources, inverse = np.unique(check_pairs[:, 0], return_inverse=True)
    expected_pairs = dijkstra(graph, indices=sources)[inverse, check_pairs[:, 1]]
    expected_rows = dijkstra(graph, indices=check_rows)[:, cols]
    active: list[tuple[Peer, Result]] = []
    for peer in installed_peers():
        if peer.max_nodes is not None and arrays.n_nodes > peer.max_nodes:
            print(f"  {peer.name}: skipped (> {peer.max_nodes:,} nodes)", file=sys.stderr)
            continue
        print(f"  {peer.name}: memory in a fresh process ...", file=sys.stderr, flush=True)
        result = Result(peer.name)
        try:  # first in a fresh process: a build that never ends is left out, not waited for
            result.rss_mb, result.peak_mb = memory_in_child(peer, arrays)
        except subprocess.TimeoutExpired:
            print(
                f"  {peer.name}: left out (its build had not ended after {CHILD_TIMEOUT_S} s)",
                file=sys.stderr,
            )
            stalled.append(peer.name)
            continue
        if isinstance(peer, RoutingKit):
            peer.prepare(arrays)
        active.append((peer, result))
    # Every pass runs each library in turn, so that a change of the shared machine's speed
    # during the run weighs on all of them alike (the ratios are read within a pass).
    print(f"  builds, {repeat} round(s) ...", file=sys.stderr, flush=True)
    for _ in range(repeat):
        for peer, result in active:
            result.build_s.append(timed(lambda peer=peer: peer.build(arrays))[0])  # type: ignore[misc]
    tables: dict[str, np.ndarray] = {}
    print(f"  queries, {repeat} round(s) ...", file=sys.stderr, flush=True)
    for _ in range(repeat):
        for peer, result in active:
            result.route_us.append(route_times_us(peer, route_pairs))
            seconds, _ = timed(lambda peer=peer: peer.routes(*route_pairs.T.tolist()))  # type: ignore[misc]
            result.batch_us.append(seconds / route_pairs.shape[0] * 1e6)
            seconds, table = timed(lambda peer=peer: peer.matrix(rows, cols))  # type: ignore[misc]
            result.matrix_s.append(seconds)
            tables[peer.name] = np.asarray(table)
    row_of = {int(r): k for k, r in enumerate(rows.tolist())}
    for peer, result in active:
        nbytes = peer.nbytes()
        result.nbytes_mb = None if nbytes is None else nbytes / 1e6
        got = np.array([peer.distance(s, t) for s, t in check_pairs.tolist()])
        got_rows = tables[peer.name][[row_of[int(r)] for r in check_rows]]
        result.mismatches = int(np.sum(got != expected_pairs) + np.sum(got_rows != expected_rows))
        result.checked = int(expected_pairs.size + expected_rows.size)
        peer.free()
    return [result for _, result in active]


def ratio(values: list[float], baselines: list[float]) -> float:
    """The median over the rounds of ``values[k] / baselines[k]`` (both measured in round
    ``k``, one library after the other): a change of the machine's speed between rounds
    cancels out, where a ratio of medians would keep it."""
    return statistics.median(v / b for v, b in zip(values, baselines, strict=True) if b > 0)


def per_round_best(results: list[Result], field_name: str) -> list[float]:
    """Round by round, the best (smallest) figure of the peers (carreta's rows left out)."""
    peers = [getattr(r, field_name) for r in results if not r.library.startswith("carreta")]
    return [min(figures) for figures in zip(*peers, strict=True)]


def table_rows(arrays: Arrays, results: list[Result]) -> list[str]:
    """Markdown rows of one graph, ratios and verdicts on carreta's row."""
    by_name = {r.library: r for r in results}
    routing_kit = by_name["RoutingKit CCH"]
    lines = []
    best_route = per_round_best(results, "route_us")
    best_batch = per_round_best(results, "batch_us")
    for result in results:
        build = statistics.median(result.build_s)
        route = statistics.median(result.route_us)
        batch = statistics.median(result.batch_us)
        matrix = statistics.median(result.matrix_s)
        ratios = {
            "build": ratio(result.build_s, routing_kit.build_s),
            "route": ratio(result.route_us, best_route),
            "batch": ratio(result.batch_us, best_batch),
            "matrix": ratio(result.matrix_s, routing_kit.matrix_s),
        }
        memory = f"{result.rss_mb:.1f} / {result.peak_mb:.1f}"
        if result.nbytes_mb is not None:
            memory = f"{result.nbytes_mb:.1f} / {memory}"
        cells = [
            arrays.name,
            f"{arrays.n_edges:,}",
            result.library,
            f"{build:.2f}",
            f"{ratios['build']:.2f}×",
            f"{route:.1f}",
            f"{ratios['route']:.2f}×",
            f"{batch:.1f}",
            f"{ratios['batch']:.2f}×",
            f"{matrix:.3f}",
            f"{ratios['matrix']:.2f}×",
            memory,
            f"{result.mismatches} / {result.checked}",
        ]
        if result.library.startswith("carreta"):
            goals = [
                ("build", ratios["build"] <= BUILD_GOAL),
                ("route", ratios["route"] <= ROUTE_GOAL),
                ("matrix", ratios["matrix"] <= MATRIX_GOAL),
                ("exact", result.mismatches == 0),
            ]
            cells.append(", ".join(f"{name} {'PASS' if ok else 'MISS'}" for name, ok in goals))
        else:
            cells.append("exact" if result.mismatches == 0 else "MISMATCH")
        lines.append("| " + " | ".join(cells) + " |")
    return lines


HEADER = [
    "graph",
    "edges",
    "library",
    "build s",
    "build ÷ RK",
    "route µs",
    "route ÷ best peer",
    "batch µs/pair",
    "batch ÷ best peer",
    "matrix s",
    "matrix ÷ RK",
    "memory MB (nbytes / RSS kept / RSS peak)",
    "mismatches",
    "goals",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--graphs", help="comma-separated names (default: all)")
    parser.add_argument("--quick", action="store_true", help="small graphs, fewer pairs")
    parser.add_argument("--repeat", type=int, default=3, help="builds and query passes")
    parser.add_argument("--child-memory", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_memory:
        child_memory(*args.child_memory)
        return
    names = list(MONTPELLIER + SYNTHETIC)
    if args.quick:
        names = [*MONTPELLIER, "grid-32k"]
    if args.graphs:
        names = [name.strip() for name in args.graphs.split(",")]
        unknown = sorted(set(names) - set(MONTPELLIER + SYNTHETIC))
        if unknown:
            parser.error(f"unknown graph(s) {unknown}: choose from {MONTPELLIER + SYNTHETIC}")
    pairs, matrix_size = (300, 300) if args.quick else (1_000, 1_000)
    repeat = 1 if args.quick else args.repeat
    started = time.perf_counter()
    if importlib.util.find_spec(RoutingKit.package) is None:
        parser.error('RoutingKit\'s CCH, the baseline, is not installed: pip install -e ".[bench]"')
    # Load the kernels (numba) once, outside every timing.
    warm = synthetic_small()
    for peer in installed_peers():
        if isinstance(peer, RoutingKit):
            peer.prepare(warm)
        peer.build(warm)
        peer.route(0, warm.n_nodes - 1)
        peer.routes([0], [warm.n_nodes - 1])
        peer.matrix(np.arange(3), np.arange(3))
        peer.free()
    lines = []
    notes = [
        f"- {peer.name}: not installed, left out"
        for peer in (RoutingKit(), Pandana())
        if peer.package is not None and importlib.util.find_spec(peer.package) is None
    ]
    for name in names:
        arrays = montpellier(name) if name in MONTPELLIER else synthetic(name)
        print(f"benchmarking {arrays.name} ...", file=sys.stderr, flush=True)
        stalled: list[str] = []
        results = bench_graph(
            arrays, pairs=pairs, matrix_size=matrix_size, repeat=repeat, stalled=stalled
        )
        lines += table_rows(arrays, results)
        notes += [
            f"- {library} on {arrays.name}: left out, its build had not ended after "
            f"{CHILD_TIMEOUT_S} s in a fresh process"
            for library in stalled
        ]
    print(
        f"{platform.node()}: {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{time.strftime('%Y-%m-%d')}; command: python {' '.join(sys.argv)}; {pairs} route "
        f"pairs, {matrix_size}×{matrix_size} matrix, {repeat} repeat(s); total "
        f"{time.perf_counter() - started:.0f} s\n"
    )
    print("| " + " | ".join(HEADER) + " |")
    print("|" + "|".join("---" for _ in HEADER) + "|")
    print("\n".join(lines))
    if notes:
        print("\n" + "\n".join(notes))


def synthetic_small() -> Arrays:
    """A 10 × 10 grid to load every library's code before timing."""
    xy, tails, heads, weight_ms = street_grid(10, seed=0)
    lat = 43.6 + xy[:, 1] / METRES_PER_DEGREE
    lon = 3.85 + xy[:, 0] / METRES_PER_DEGREE
    return Arrays("warm-up", lon, lat, tails, heads, weight_ms)


if __name__ == "__main__":
    main()
