"""A graph cache file is used only when it is intact and is the entry asked for; anything else
(a flipped bit, a truncated file, an empty graph, another entry's file) is rebuilt, never used."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import networkx as nx
import pytest

from carreta.routing._cache import load_or_build_pickle


def small_graph(edges: int = 3) -> nx.MultiDiGraph:
    graph = nx.MultiDiGraph(crs="EPSG:4326")
    for i in range(edges):
        graph.add_edge(i, i + 1, length=10.0 * (i + 1))
    return graph


def build_counter(graph: nx.MultiDiGraph) -> tuple[list[int], Callable[[], nx.MultiDiGraph]]:
    calls: list[int] = []

    def build() -> nx.MultiDiGraph:
        calls.append(1)
        return graph

    return calls, build


def test_a_cache_hit_returns_the_same_graph(tmp_path: Path) -> None:
    path = tmp_path / "entry.pickle"
    graph, hit = load_or_build_pickle(path, lambda: small_graph())
    calls, build = build_counter(small_graph())
    again, hit_again = load_or_build_pickle(path, build)
    assert (hit, hit_again) == (False, True) and calls == []
    assert nx.utils.graphs_equal(graph, again)


@pytest.mark.parametrize("damage", ["flip", "truncate", "empty_graph", "other_entry", "junk"])
def test_a_damaged_or_foreign_cache_is_rebuilt(
    tmp_path: Path, damage: str, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "entry.pickle"
    load_or_build_pickle(path, lambda: small_graph())
    data = bytearray(path.read_bytes())
    if damage == "flip":
        data[-10] ^= 0x01
        path.write_bytes(bytes(data))
    elif damage == "truncate":
        path.write_bytes(bytes(data[: len(data) // 2]))
    elif damage == "empty_graph":  # a build that once returned nothing
        path = tmp_path / "empty.pickle"
        load_or_build_pickle(path, nx.MultiDiGraph)
    elif damage == "other_entry":  # another profile's file copied over this one
        load_or_build_pickle(tmp_path / "van.pickle", lambda: small_graph(edges=2))
        (tmp_path / "van.pickle").replace(path)
    else:
        path.write_bytes(b"not a cache file at all")
    calls, build = build_counter(small_graph(edges=5))
    with caplog.at_level(logging.WARNING, logger="carreta.routing"):
        graph, hit = load_or_build_pickle(path, build)
    assert not hit and calls == [1] and graph.number_of_edges() == 5
    assert "rebuilding cache file" in caplog.text
    assert load_or_build_pickle(path, build)[1]  # repaired
