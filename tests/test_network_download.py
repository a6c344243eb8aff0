"""Places and bounding boxes: downloaded once through OSMnx, then read from the cache.

No test here touches the network: OSMnx's download functions are replaced by fakes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import networkx as nx
import osmnx as ox
import osmnx._nominatim
import osmnx._overpass
import pytest
import requests

from carreta.routing import NetworkError, graph_report, load_graph
from carreta.routing.network import ROBOT_OSM_FILTER

BBOX = (3.8750, 43.6080, 3.8810, 43.6130)


class FakeDownload:
    """Stands in for ``ox.graph_from_place``/``graph_from_bbox``; records each call."""

    def __init__(self, graph: nx.MultiDiGraph, cache_dir: Path) -> None:
        self.graph = graph
        self.cache_dir = cache_dir
        self.calls: list[tuple[Any, dict[str, Any]]] = []

    def __call__(self, query: Any, **kwargs: Any) -> nx.MultiDiGraph:
        # OSMnx's own HTTP cache must point into our cache folder during the download.
        assert ox.settings.use_cache is True
        assert Path(ox.settings.cache_folder) == self.cache_dir / "osmnx"
        self.calls.append((query, kwargs))
        return self.graph.copy()


def _refuse(*args: object, **kwargs: object) -> nx.MultiDiGraph:
    raise ConnectionError("network is unreachable")


@pytest.fixture
def raw_graph(tiny_graph: nx.MultiDiGraph) -> nx.MultiDiGraph:
    """What OSMnx would return for a download: the tiny graph with OSMnx's graph attributes."""
    tiny_graph.graph.update(created_with="OSMnx 2.1.1", simplified=True)
    return tiny_graph


@pytest.fixture
def osmnx_settings() -> tuple[Any, Any]:
    return ox.settings.use_cache, ox.settings.cache_folder


def test_place_downloads_once_then_reads_graphml(
    raw_graph: nx.MultiDiGraph,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    osmnx_settings: tuple[Any, Any],
) -> None:
    fake = FakeDownload(raw_graph, tmp_path)
    monkeypatch.setattr(ox, "graph_from_place", fake)
    first = load_graph("Montpellier, France", profile="van", cache_dir=tmp_path)
    query, kwargs = fake.calls[0]
    assert query == "Montpellier, France"
    assert kwargs["network_type"] == "drive" and kwargs["retain_all"] is True
    assert (ox.settings.use_cache, ox.settings.cache_folder) == osmnx_settings
    assert list((tmp_path / "graphs").glob("place-*.graphml"))

    monkeypatch.setattr(ox, "graph_from_place", _refuse)
    second = load_graph("Montpellier, France", profile="van", cache_dir=tmp_path)
    assert sorted(second.edges(keys=True)) == sorted(first.edges(keys=True))
    assert graph_report(second) == graph_report(first)
    assert graph_report(second).source == "Montpellier, France"


def test_robot_downloads_all_streets_but_motorways(
    raw_graph: nx.MultiDiGraph, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeDownload(raw_graph, tmp_path)
    monkeypatch.setattr(ox, "graph_from_place", fake)
    load_graph("Montpellier, France", profile="robot", cache_dir=tmp_path)
    kwargs = fake.calls[0][1]
    assert kwargs["custom_filter"] == ROBOT_OSM_FILTER
    assert "motorway" in ROBOT_OSM_FILTER and "footway" not in ROBOT_OSM_FILTER
    assert len(list((tmp_path / "graphs").glob("place-*.graphml"))) == 1


def test_bbox_downloads_once_then_reads_graphml(
    raw_graph: nx.MultiDiGraph, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeDownload(raw_graph, tmp_path)
    monkeypatch.setattr(ox, "graph_from_bbox", fake)
    first = load_graph(BBOX, cache_dir=tmp_path)
    assert fake.calls[0][0] == BBOX  # OSMnx 2 takes (west, south, east, north) too
    monkeypatch.setattr(ox, "graph_from_bbox", _refuse)
    second = load_graph(list(BBOX), cache_dir=tmp_path)
    assert graph_report(second) == graph_report(first)
    assert graph_report(second).source.startswith("bbox(3.875000, 43.608000")


def test_offline_place_without_cache_says_how_to_work_offline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, osmnx_settings: tuple[Any, Any]
) -> None:
    monkeypatch.setattr(ox, "graph_from_place", _refuse)
    with pytest.raises(NetworkError) as caught:
        load_graph("Montpellier, France", cache_dir=tmp_path)
    message = str(caught.value)
    assert message.startswith("could not download 'Montpellier, France' (offline?)")
    assert "montpellier_drive_2024-10-30.osm.bz2" in message and "network.osm_file" in message
    assert "\n" not in message
    assert (ox.settings.use_cache, ox.settings.cache_folder) == osmnx_settings


def test_offline_inside_osmnx_is_reported_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real OSMnx code path: its HTTP requests fail the way ``requests`` fails offline."""

    def unreachable(*args: object, **kwargs: object) -> None:
        raise requests.exceptions.ConnectionError("Failed to resolve 'nominatim.openstreetmap.org'")

    monkeypatch.setattr(osmnx._nominatim, "_nominatim_request", unreachable)
    monkeypatch.setattr(osmnx._overpass, "_overpass_request", unreachable)
    with pytest.raises(NetworkError, match=r"could not download 'Nowhere' \(offline\?\)"):
        load_graph("Nowhere", cache_dir=tmp_path)
    with pytest.raises(NetworkError, match=r"could not download bbox\(3\.875000"):
        load_graph(BBOX, cache_dir=tmp_path)


@pytest.mark.parametrize(
    "bbox",
    [(3.9, 43.6, 3.8, 43.7), (3.8, 43.7, 3.9, 43.6), (3.8, 43.6, 3.9), (200, 43.6, 210, 43.7)],
)
def test_invalid_bbox(bbox: tuple[float, ...], tmp_path: Path) -> None:
    with pytest.raises(NetworkError, match="invalid bbox"):
        load_graph(bbox, cache_dir=tmp_path)


def test_place_with_no_streets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def nothing(*args: object, **kwargs: object) -> nx.MultiDiGraph:
        raise ox._errors.InsufficientResponseError("No data elements in server response.")

    monkeypatch.setattr(ox, "graph_from_place", nothing)
    with pytest.raises(NetworkError, match="found no streets for 'Atlantis'"):
        load_graph("Atlantis", cache_dir=tmp_path)


def test_default_cache_dir_follows_the_environment(
    raw_graph: nx.MultiDiGraph, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CARRETA_CACHE_DIR", str(tmp_path / "env-cache"))
    monkeypatch.setattr(ox, "graph_from_place", FakeDownload(raw_graph, tmp_path / "env-cache"))
    load_graph("Montpellier, France")
    assert list((tmp_path / "env-cache" / "graphs").glob("place-*.graphml"))
