"""Fixtures shared by the whole test suite.

- ``shared_data``: the project's read-only data folder ``../shared/data`` (never copied here).
- ``tiny_graph``: a six-node street graph built in code, for fast unit tests.
- ``tiny_osm``: a seven-node OSM XML file written to ``tmp_path``, for fast loading tests.
- ``grid_graph`` / ``grid_scenario`` / ``grid_world``: a 6 x 6 street grid built in code, shaped
  like an OSMnx graph, a valid scenario on it and its world (``tests/synthetic.py``), for fast
  tests of the simulation engine.
- ``carreta_cache_dir``: one temporary network cache for the session, shared by the pytest-xdist
  workers of one run; ``$CARRETA_CACHE_DIR`` points at it for the whole session, so nothing
  (sweeps, notebooks, subprocesses) reads or fills the user's ``~/.cache/carreta``.
- ``montpellier_robot`` / ``montpellier_van``: the real Montpellier extract, profiled, loaded
  once per session. They are shared: tests must not modify them (copy first).
- ``tiny_run_dir``: a run directory of ``scenarios/tiny.yaml`` (real streets), simulated once per
  session. Shared and read-only: copy it before changing anything.
- ``tiny`` / ``world``: the ``scenarios/tiny.yaml`` scenario (with the session's cache folder) and
  its street graph, routers and hubs, built once per test module.

Tests that use the real Montpellier data (the fixtures above or ``../shared/data`` directly) are
marked ``slow``: ``pytest -m "not slow"`` is the fast run, loading no real street network.
Collection fails for a test that uses a real-data fixture without the mark.

Tests write only below ``tmp_path`` / ``tmp_path_factory`` (never into the checkout), so the
suite runs in parallel (``pytest -n auto``). Hypothesis keeps no example database (it would be
written into the checkout); a failure prints the ``@reproduce_failure`` blob instead.

Add new shared fixtures here with a one-line description above.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import hypothesis
import networkx as nx
import pytest
from shapely.geometry import LineString

from carreta.routing import load_graph

if TYPE_CHECKING:
    from carreta.sim.model.world import World
    from carreta.sim.scenario.models import Scenario

TINY_SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "tiny.yaml"

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
MONTPELLIER_OSM = SHARED_DATA / "osm" / "montpellier_drive_2024-10-30.osm.bz2"

#: Fixtures that read the real Montpellier data: a test using one must be marked ``slow``.
REAL_DATA_FIXTURES = frozenset(
    {
        "shared_data",
        "montpellier_osm",
        "montpellier_robot",
        "montpellier_van",
        "tiny_run_dir",
        "tiny",
        "world",
    }
)

# No example database: Hypothesis would write it into the checkout (.hypothesis/).
hypothesis.settings.register_profile("carreta", database=None, print_blob=True)
hypothesis.settings.load_profile("carreta")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Refuse a test that uses a real-data fixture without the ``slow`` mark, so
    ``pytest -m "not slow"`` stays fast."""
    unmarked = [
        item.nodeid
        for item in items
        if REAL_DATA_FIXTURES.intersection(getattr(item, "fixturenames", ()))
        and item.get_closest_marker("slow") is None
    ]
    if unmarked:
        raise pytest.UsageError(
            "these tests use the real Montpellier data (fixtures "
            f"{', '.join(sorted(REAL_DATA_FIXTURES))}) but are not marked "
            f"@pytest.mark.slow: {', '.join(unmarked)}"
        )


def usable_cpus() -> int:
    """CPUs this process may use: its affinity mask, capped by a cgroup CPU quota (containers)."""
    counts = [len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()]
    quota_files = [  # cgroup v2: "<quota> <period>"; v1: two files
        ("/sys/fs/cgroup/cpu.max", None),
        ("/sys/fs/cgroup/cpu/cpu.cfs_quota_us", "/sys/fs/cgroup/cpu/cpu.cfs_period_us"),
    ]
    for quota_file, period_file in quota_files:
        try:
            fields = Path(quota_file).read_text().split()
            if period_file is not None:
                fields.append(Path(period_file).read_text().strip())
        except OSError:
            continue
        if len(fields) == 2 and fields[0] not in ("max", "-1"):
            counts.append(math.ceil(int(fields[0]) / int(fields[1])))
        break
    return max(1, min(count for count in counts if count))


@pytest.hookimpl(optionalhook=True)  # a pytest-xdist hook: no error without the plugin
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int | None:
    """``pytest -n auto`` starts one worker per usable CPU (:func:`usable_cpus`), not one per
    physical core of the host, which a container may not have; ``-n logical`` and
    ``$PYTEST_XDIST_AUTO_NUM_WORKERS`` keep pytest-xdist's own rules."""
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS") or config.option.numprocesses == "logical":
        return None
    return usable_cpus()


@contextmanager
def exclusive(lock_file: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``lock_file`` across processes (the pytest-xdist workers).

    A session fixture that fills the shared network cache takes it, so one worker parses the
    Montpellier extract while the others wait for the cached file instead of parsing it too.
    Without ``fcntl`` (Windows) there is no lock: the cache's atomic writes keep it correct,
    only slower.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with lock_file.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def haversine_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance in metres on the sphere OSMnx uses (radius 6,371,009 m)."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlmb = phi2 - phi1, math.radians(lon2 - lon1)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * 6_371_009.0 * math.asin(math.sqrt(h))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Path to ``../shared/data`` (relative to the project root); fails if it is missing."""
    assert SHARED_DATA.is_dir(), f"shared data folder not found: {SHARED_DATA}"
    return SHARED_DATA


@pytest.fixture
def tiny_graph() -> nx.MultiDiGraph:
    """Six nodes near the Comédie, ~160 m apart, as OSMnx would build them (EPSG:4326).

    Two-way streets 1-2, 2-3, 3-4, 4-1, 2-5; a one-way curved street 1→2 parallel to 1-2
    (with a ``geometry``); a one-way dead end 5→6, so node 6 is outside the largest strongly
    connected component of the van network.
    """
    coords = {
        1: (3.8760, 43.6100),
        2: (3.8780, 43.6100),
        3: (3.8780, 43.6115),
        4: (3.8760, 43.6115),
        5: (3.8800, 43.6100),
        6: (3.8800, 43.6115),
    }
    graph = nx.MultiDiGraph(crs="epsg:4326")
    for node, (lon, lat) in coords.items():
        graph.add_node(node, x=lon, y=lat)

    def street(u: int, v: int, highway: str, name: str, *, oneway: bool) -> None:
        length = haversine_m(*coords[u], *coords[v])
        attrs = {"osmid": 100 + u * 10 + v, "highway": highway, "name": name, "length": length}
        graph.add_edge(u, v, oneway=oneway, reversed=False, **attrs)
        if not oneway:
            graph.add_edge(v, u, oneway=False, reversed=True, **attrs)

    street(1, 2, "residential", "Rue A", oneway=False)
    street(2, 3, "tertiary", "Rue B", oneway=False)
    street(3, 4, "residential", "Rue C", oneway=False)
    street(4, 1, "residential", "Rue D", oneway=False)
    street(2, 5, "secondary", "Avenue E", oneway=False)
    street(5, 6, "living_street", "Impasse F", oneway=True)
    bend = (3.8770, 43.6094)
    curve = LineString([coords[1], bend, coords[2]])
    curve_m = haversine_m(*coords[1], *bend) + haversine_m(*bend, *coords[2])
    graph.add_edge(
        1, 2, osmid=999, highway="residential", name="Rue Courbe", oneway=True,
        reversed=False, length=curve_m, geometry=curve,
    )  # fmt: skip
    return graph


# Seven OSM nodes; after simplification the junctions 1, 2, 3 and the dead ends 5, 6, 7 remain.
# Way 12 is one-way 2→5, so node 5 cannot be left by van and is outside the van network's
# largest strongly connected component.
TINY_OSM = """<?xml version="1.0" encoding="UTF-8"?>
<osm version="0.6" generator="carreta tests">
  <node id="1" lat="43.6100" lon="3.8760"/>
  <node id="2" lat="43.6100" lon="3.8780"/>
  <node id="3" lat="43.6115" lon="3.8780"/>
  <node id="4" lat="43.6115" lon="3.8760"/>
  <node id="5" lat="43.6100" lon="3.8800"/>
  <node id="6" lat="43.6125" lon="3.8780"/>
  <node id="7" lat="43.6090" lon="3.8760"/>
  <way id="10"><nd ref="1"/><nd ref="2"/><nd ref="3"/>
    <tag k="highway" v="residential"/><tag k="name" v="Rue A"/></way>
  <way id="11"><nd ref="3"/><nd ref="4"/><nd ref="1"/>
    <tag k="highway" v="tertiary"/><tag k="maxspeed" v="20"/></way>
  <way id="12"><nd ref="2"/><nd ref="5"/>
    <tag k="highway" v="residential"/><tag k="oneway" v="yes"/></way>
  <way id="13"><nd ref="3"/><nd ref="6"/><tag k="highway" v="living_street"/></way>
  <way id="14"><nd ref="1"/><nd ref="7"/><tag k="highway" v="secondary"/></way>
</osm>
"""


@pytest.fixture
def tiny_osm(tmp_path: Path) -> Path:
    """:data:`TINY_OSM` written to ``tmp_path / "tiny.osm"``."""
    path = tmp_path / "tiny.osm"
    path.write_text(TINY_OSM, encoding="utf-8")
    return path


@pytest.fixture(scope="session", autouse=True)
def carreta_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A cache folder shared by every test of the session (never the user's ~/.cache).

    Under pytest-xdist it is shared by the workers of the run (each worker has its own
    ``basetemp`` below a common parent); cache files are written atomically, so workers filling
    it at once each see a complete file. ``$CARRETA_CACHE_DIR`` names it for the session.
    """
    if os.environ.get("PYTEST_XDIST_WORKER"):
        folder = tmp_path_factory.getbasetemp().parent / "carreta-cache"
        folder.mkdir(exist_ok=True)
    else:
        folder = tmp_path_factory.mktemp("carreta-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CARRETA_CACHE_DIR", str(folder))
        yield folder


@pytest.fixture(scope="session")
def montpellier_osm(shared_data: Path) -> Path:
    """The 2024-10-30 Montpellier drive extract (OSM XML, bzip2)."""
    assert MONTPELLIER_OSM.is_file(), f"missing {MONTPELLIER_OSM}"
    return MONTPELLIER_OSM


@pytest.fixture(scope="session")
def montpellier_robot(montpellier_osm: Path, carreta_cache_dir: Path) -> nx.MultiDiGraph:
    """The Montpellier extract with the robot profile (shared: do not modify)."""
    with exclusive(carreta_cache_dir / "montpellier.lock"):
        return load_graph(montpellier_osm, profile="robot", cache_dir=carreta_cache_dir)


@pytest.fixture(scope="session")
def montpellier_van(montpellier_osm: Path, carreta_cache_dir: Path) -> nx.MultiDiGraph:
    """The Montpellier extract with the van profile (shared: do not modify)."""
    with exclusive(carreta_cache_dir / "montpellier.lock"):
        return load_graph(montpellier_osm, profile="van", cache_dir=carreta_cache_dir)


@pytest.fixture(scope="session")
def tiny_run_dir(
    shared_data: Path, carreta_cache_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """``scenarios/tiny.yaml`` simulated once and written as a run directory (read-only)."""
    from carreta.sim.model.engine import simulate
    from carreta.sim.model.world import build_world
    from carreta.sim.output.results import write_run
    from carreta.sim.scenario.models import load_scenario

    scenario = load_scenario(TINY_SCENARIO, overrides={"network.cache_dir": str(carreta_cache_dir)})
    with exclusive(carreta_cache_dir / "montpellier.lock"):
        world = build_world(scenario, label=str(TINY_SCENARIO))
    result = simulate(scenario, world=world, label=str(TINY_SCENARIO))
    return write_run(result, tmp_path_factory.mktemp("runs") / "tiny", command=["pytest"])


@pytest.fixture(scope="module")
def tiny(carreta_cache_dir: Path) -> Scenario:
    """The tiny scenario, with the session's cache folder."""
    from carreta.sim.scenario.models import load_scenario

    return load_scenario(TINY_SCENARIO, overrides={"network.cache_dir": str(carreta_cache_dir)})


@pytest.fixture(scope="module")
def world(tiny: Scenario, carreta_cache_dir: Path) -> World:
    """Street graph, routers and hubs of the tiny scenario, built once for the module (vans load
    theirs on first use)."""
    from carreta.sim.model.world import build_world

    with exclusive(carreta_cache_dir / "montpellier.lock"):
        return build_world(tiny)


@pytest.fixture(scope="session")
def grid_graphml(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The synthetic street grid (``tests/synthetic.py``) saved as GraphML, once per session."""
    from synthetic import write_grid_graphml

    return write_grid_graphml(tmp_path_factory.mktemp("grid"))


@pytest.fixture
def grid_graph() -> nx.MultiDiGraph:
    """A 6 x 6 street grid near the Comédie, 120 m blocks, as OSMnx builds graphs (EPSG:4326;
    ``length``, ``highway``, ``oneway``, ``speed_kph``, ``travel_time``); a fresh copy."""
    from synthetic import grid_graph

    return grid_graph()


@pytest.fixture(scope="module")
def grid_scenario(grid_graphml: Path, carreta_cache_dir: Path) -> Scenario:
    """A valid scenario on the grid: 3 robots, ~30 orders from 09:00 to 11:00, 'tours'."""
    from synthetic import grid_scenario

    return grid_scenario(grid_graphml, carreta_cache_dir)


@pytest.fixture(scope="module")
def grid_world(grid_scenario: Scenario) -> World:
    """The grid's world (robot profile, routers, the hub), built in memory once per module.
    Shared: scenarios with the same hubs and zones may use it, nobody may modify it."""
    from synthetic import grid_world

    return grid_world(grid_scenario)


# -- the browser of tests/test_replay_browser.py and tests/test_report_browser.py ----------------

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


def _browser_missing(reason: str) -> None:
    """Skip, except in CI (``CI=true``), where the browser tests must run."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (required in CI)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Headless Debian Chromium driven by Playwright, launched once per module."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _browser_missing("playwright is not installed")
    if not CHROMIUM.is_file():
        _browser_missing(f"{CHROMIUM} is missing (apt-get install chromium)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
