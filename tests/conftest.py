"""Fixtures shared by the whole test suite.

- ``shared_data``: the project's read-only data folder ``../shared/data`` (never copied here).
- ``tiny_graph``: a six-node street graph built in code, for fast unit tests.
- ``tiny_osm``: a seven-node OSM XML file written to ``tmp_path``, for fast loading tests.
- ``carreta_cache_dir``: one temporary cache folder for the session.
- ``montpellier_robot`` / ``montpellier_van``: the real Montpellier extract, profiled, loaded
  once per session. They are shared: tests must not modify them (copy first).
- ``tiny_run_dir``: a run directory of ``scenarios/tiny.yaml`` (real streets), simulated once per
  session. Shared and read-only: copy it before changing anything.
- ``tiny`` / ``world``: the ``scenarios/tiny.yaml`` scenario (with the session's cache folder) and
  its street graph, routers and hubs, built once per test module.

Add new shared fixtures here with a one-line description above.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

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


@pytest.fixture(scope="session")
def carreta_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache folder shared by every test of the session (never the user's ~/.cache)."""
    return tmp_path_factory.mktemp("carreta-cache")


@pytest.fixture(scope="session")
def montpellier_osm(shared_data: Path) -> Path:
    """The 2024-10-30 Montpellier drive extract (OSM XML, bzip2)."""
    assert MONTPELLIER_OSM.is_file(), f"missing {MONTPELLIER_OSM}"
    return MONTPELLIER_OSM


@pytest.fixture(scope="session")
def montpellier_robot(montpellier_osm: Path, carreta_cache_dir: Path) -> nx.MultiDiGraph:
    """The Montpellier extract with the robot profile (shared: do not modify)."""
    return load_graph(montpellier_osm, profile="robot", cache_dir=carreta_cache_dir)


@pytest.fixture(scope="session")
def montpellier_van(montpellier_osm: Path, carreta_cache_dir: Path) -> nx.MultiDiGraph:
    """The Montpellier extract with the van profile (shared: do not modify)."""
    return load_graph(montpellier_osm, profile="van", cache_dir=carreta_cache_dir)


@pytest.fixture(scope="session")
def tiny_run_dir(
    shared_data: Path, carreta_cache_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """``scenarios/tiny.yaml`` simulated once and written as a run directory (read-only)."""
    from carreta.sim.model.engine import simulate
    from carreta.sim.output.results import write_run
    from carreta.sim.scenario.models import load_scenario

    scenario = load_scenario(TINY_SCENARIO, overrides={"network.cache_dir": str(carreta_cache_dir)})
    result = simulate(scenario, label=str(TINY_SCENARIO))
    return write_run(result, tmp_path_factory.mktemp("runs") / "tiny", command=["pytest"])


@pytest.fixture(scope="module")
def tiny(carreta_cache_dir: Path) -> Scenario:
    """The tiny scenario, with the session's cache folder."""
    from carreta.sim.scenario.models import load_scenario

    return load_scenario(TINY_SCENARIO, overrides={"network.cache_dir": str(carreta_cache_dir)})


@pytest.fixture(scope="module")
def world(tiny: Scenario) -> World:
    """Street graph, routers and hubs of the tiny scenario, built once for the module (vans load
    theirs on first use)."""
    from carreta.sim.model.world import build_world

    return build_world(tiny)
