"""The static world of a run: the street network, its routers, and where the hubs are."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import networkx as nx
import numpy as np

from carreta.routing import Snapper, load_graph
from carreta.routing.closures import ClosableRouter
from carreta.routing.errors import NetworkError
from carreta.routing.profile import set_robot_speeds
from carreta.routing.router import Router
from carreta.routing.zones import cap_zone_speeds, read_zones, tag_zones
from carreta.sim.errors import ScenarioError
from carreta.sim.scenario.models import NetworkSource, Scenario

logger = logging.getLogger(__name__)

# A hub farther than this from every street node is a scenario error, not a long walk.
HUB_MAX_SNAP_M = 500.0


def network_source(network: NetworkSource) -> str | tuple[float, float, float, float]:
    """The source :func:`routing.load_graph` takes for the scenario's network section."""
    kind = network.source_kind()
    named = network.gis_file or network.osm_file
    if kind in ("place", "bbox") and named is not None:
        logger.warning(
            "%s is not on this machine: downloading the network's %s instead "
            "(network.if_file_missing: download)", named, kind,
        )  # fmt: skip
    if kind == "gis_file":
        return str(network.gis_file)
    if kind == "osm_file":
        return str(network.osm_file)
    if kind == "place":
        assert network.place is not None
        return network.place
    assert network.bbox is not None
    return tuple(network.bbox)  # type: ignore[return-value]


@dataclass
class VanNetwork:
    """The directed drive network with one router per traffic speed fraction."""

    graph: nx.MultiDiGraph
    snapper: Snapper
    node_lonlat: tuple[np.ndarray, np.ndarray, np.ndarray]
    _routers: dict[float, Router] = field(default_factory=dict)

    def router(self, traffic_speed_fraction: float) -> Router:
        """The router for vans reaching ``traffic_speed_fraction`` of the streets' speeds."""
        router = self._routers.get(traffic_speed_fraction)
        if router is None:
            graph = self.graph.copy()
            for _, _, data in graph.edges(data=True):
                data["speed_kph"] = float(data["speed_kph"]) * traffic_speed_fraction
                data["travel_time"] = float(data["travel_time"]) / traffic_speed_fraction
            router = ClosableRouter(graph, weight="travel_time")  # zones close to vans
            self._routers[traffic_speed_fraction] = router
        return router

    def top_speed_kph(self) -> float:
        """The highest street speed of the network, km/h (before the traffic fraction)."""
        return max(float(data["speed_kph"]) for _, _, data in self.graph.edges(data=True))


def load_van_network(scenario: Scenario) -> VanNetwork:
    """Load the scenario's network with the van profile (from the routing cache when it can).

    Raises
    ------
    NetworkError
        If the network cannot be loaded.
    """
    graph = load_graph(
        network_source(scenario.network),
        profile="van",
        simplify=scenario.network.simplify,
        cache_dir=scenario.network.cache_dir,
    )
    node_ids = np.fromiter(graph.nodes, dtype=np.int64, count=len(graph))
    lons = np.array([data["x"] for _, data in graph.nodes(data=True)], dtype=float)
    lats = np.array([data["y"] for _, data in graph.nodes(data=True)], dtype=float)
    return VanNetwork(graph, Snapper(graph), (node_ids, lons, lats))


def prepare_graph(
    scenario: Scenario, graph: nx.MultiDiGraph, *, label: str, owned: bool = False
) -> tuple[nx.MultiDiGraph, float | None]:
    """Tag the scenario's pedestrian zones on a copy of ``graph``; return it and the zone speed.

    Returns ``graph`` itself and ``None`` when the scenario has no zones. ``owned``: the caller
    has just loaded ``graph`` and shares it with nobody, so it is tagged in place (no copy).

    Raises
    ------
    ScenarioError
        If the zones file cannot be read or a zone name is not in it.
    """
    zones = scenario.streets.zones
    if zones is None:
        return graph, None
    try:
        polygons = read_zones(zones.file, name_field=zones.name_field, names=zones.names)
    except NetworkError as exc:
        field = "names" if "no zone named" in str(exc) else "file"
        raise ScenarioError(label, f"streets.zones.{field}", str(exc)) from None
    tagged = graph if owned else graph.copy()
    tag_zones(tagged, polygons)
    return tagged, zones.speed_cap_kph


@dataclass
class World:
    """The street graph with one :class:`Router` per robot speed, a snapper, the hub nodes."""

    graph: nx.MultiDiGraph
    snapper: Snapper
    hub_nodes: dict[str, int]
    hub_snap_m: dict[str, float]
    node_lonlat: tuple[np.ndarray, np.ndarray, np.ndarray]
    _routers: dict[float, Router] = field(default_factory=dict)
    zone_speed_kph: float | None = None  # robots' speed cap on edges tagged with a zone
    _vans: VanNetwork | None = None  # the drive network of vans, loaded on first use

    def van_network(self, scenario: Scenario) -> VanNetwork:
        """The scenario's drive network for vans (loaded on first use, then kept).

        Raises
        ------
        NetworkError
            If the network cannot be loaded with the van profile.
        """
        if self._vans is None:
            self._vans = load_van_network(scenario)
        return self._vans

    @property
    def vans(self) -> VanNetwork | None:
        """The vans' drive network if a run loaded it (:meth:`van_network`), else None."""
        return self._vans

    def router(self, speed_kph: float) -> Router:
        """The router for robots moving at ``speed_kph`` (built on first use, then shared)."""
        router = self._routers.get(speed_kph)
        if router is None:
            graph = self.graph.copy()
            set_robot_speeds(graph, speed_kph)
            if self.zone_speed_kph is not None:
                cap_zone_speeds(graph, self.zone_speed_kph)
            router = ClosableRouter(graph, weight="travel_time")
            self._routers[speed_kph] = router
        return router

    def lonlat(self, node: int) -> tuple[float, float]:
        """Longitude and latitude of a street node."""
        data = self.graph.nodes[node]
        return float(data["x"]), float(data["y"])


def swap_hint(snapper: Snapper, lon: float, lat: float, *, limit_m: float) -> str:
    """What to say about a point too far from the network: "did you swap longitude and
    latitude?" when (lat, lon) would lie on it, else ask whether it is in the network's area."""
    if -90.0 <= lon <= 90.0:
        swapped = snapper.snap(np.array([lat]), np.array([lon]))
        if float(swapped.distance_m[0]) <= limit_m:
            return f"did you swap longitude and latitude? (lon {lat}, lat {lon} is on the network)"
    return "is it inside the network's area?"


def build_world(
    scenario: Scenario, *, graph: nx.MultiDiGraph | None = None, label: str = "<scenario>"
) -> World:
    """Load the scenario's network (robot profile) and place its hubs on it.

    ``graph`` skips loading (a sweep worker reuses one graph for many runs); ``label`` names
    the scenario file in error messages.

    Raises
    ------
    NetworkError
        If the network cannot be loaded.
    ScenarioError
        If a hub lies farther than 500 m from every street node.
    """
    owned = graph is None
    if graph is None:
        graph = load_graph(
            network_source(scenario.network),
            profile="robot",
            simplify=scenario.network.simplify,
            robot_speed_kph=scenario.fleet.robots[0].speed_kph,
            cache_dir=scenario.network.cache_dir,
        )
    graph, zone_speed_kph = prepare_graph(scenario, graph, label=label, owned=owned)
    snapper = Snapper(graph)
    lons = np.array([hub.lon for hub in scenario.hubs])
    lats = np.array([hub.lat for hub in scenario.hubs])
    snapped = snapper.snap(lons, lats)
    for i, hub in enumerate(scenario.hubs):
        if snapped.distance_m[i] > HUB_MAX_SNAP_M:
            raise ScenarioError(
                label,
                f"hubs[{i}]",
                f"hub '{hub.id}' is {snapped.distance_m[i]:.0f} m from the nearest street node "
                f"of the network (limit {HUB_MAX_SNAP_M:.0f} m): "
                + swap_hint(snapper, hub.lon, hub.lat, limit_m=HUB_MAX_SNAP_M),
            )
    node_ids = np.fromiter(graph.nodes, dtype=np.int64, count=len(graph))
    node_lons = np.array([data["x"] for _, data in graph.nodes(data=True)], dtype=float)
    node_lats = np.array([data["y"] for _, data in graph.nodes(data=True)], dtype=float)
    return World(
        graph=graph,
        snapper=snapper,
        hub_nodes={hub.id: int(snapped.nodes[i]) for i, hub in enumerate(scenario.hubs)},
        hub_snap_m={hub.id: float(snapped.distance_m[i]) for i, hub in enumerate(scenario.hubs)},
        node_lonlat=(node_ids, node_lons, node_lats),
        zone_speed_kph=zone_speed_kph,
    )
