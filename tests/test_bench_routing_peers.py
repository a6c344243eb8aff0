"""``benchmarks/bench_routing_peers.py``: its ratios, its verdicts, and one small run against the
peers that are installed (RoutingKit's CCH and pandana come with the ``bench`` extra)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "bench_routing_peers", ROOT / "benchmarks" / "bench_routing_peers.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def results(bench: ModuleType, figures: dict[str, list[float]]) -> list[object]:
    """One Result a library, every column of round ``k`` set to ``figures[library][k]``."""
    found = []
    for library, values in figures.items():
        result = bench.Result(library)
        result.build_s = result.route_us = result.batch_us = result.matrix_s = list(values)
        found.append(result)
    return found


def test_a_ratio_is_the_median_of_the_ratios_within_rounds(bench: ModuleType) -> None:
    """The machine sped up after carreta's first round: the ratios within the rounds are 0.5,
    0.2 and 0.9 (median 0.5), the ratio of the medians would be 2 / 10 = 0.2."""
    assert bench.ratio([1.0, 2.0, 9.0], [2.0, 10.0, 10.0]) == pytest.approx(0.5)
    assert bench.ratio([1.0, 2.0, 9.0], [2.0, 10.0, 10.0]) != pytest.approx(2.0 / 10.0)


def test_the_best_peer_is_taken_round_by_round(bench: ModuleType) -> None:
    found = results(
        bench,
        {"carreta": [1.0, 1.0], "RoutingKit CCH": [4.0, 2.0], "pandana": [3.0, 5.0]},
    )
    assert bench.per_round_best(found, "route_us") == [3.0, 2.0]


@pytest.mark.parametrize(("carreta", "verdicts"), [(0.6, "PASS"), (0.8, "MISS")])
def test_the_goals_follow_the_ratios(bench: ModuleType, carreta: float, verdicts: str) -> None:
    """Route and matrix pass at 0.7× or less: PASS at 0.6×, MISS at 0.8×; the build (1.5×)
    passes at both."""
    found = results(bench, {"carreta": [carreta] * 3, "RoutingKit CCH": [1.0] * 3})
    arrays = bench.Arrays(
        "tiny", *(np.zeros(2) for _ in range(2)), *(np.zeros(1) for _ in range(3))
    )
    carreta_row = bench.table_rows(arrays, found)[0]
    assert f"route {verdicts}, matrix {verdicts}" in carreta_row
    assert "build PASS" in carreta_row and "exact PASS" in carreta_row


def test_a_peer_not_installed_is_left_out(
    bench: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without pandana (say), the run goes on with carreta and RoutingKit."""
    find_spec = bench.importlib.util.find_spec
    monkeypatch.setattr(
        bench.importlib.util,
        "find_spec",
        lambda name, *args: None if name == "pandana" else find_spec(name, *args),
    )
    names = [peer.name for peer in bench.installed_peers()]
    assert "pandana" not in names and names[0] == "carreta"


def test_a_small_grid_against_the_installed_peers(bench: ModuleType) -> None:
    """Every library answers a 12 × 12 grid's routes and matrix exactly (scipy's Dijkstra)."""
    pytest.importorskip("routingkit_cch")
    xy, tails, heads, weight_ms = bench.street_grid(12, seed=3, delete=0.1, oneway=0.2)
    arrays = bench.Arrays(
        "grid-144", 3.85 + xy[:, 0] / 111_195.0, 43.6 + xy[:, 1] / 111_195.0, tails, heads,
        weight_ms,
    )  # fmt: skip
    stalled: list[str] = []
    found = bench.bench_graph(arrays, pairs=40, matrix_size=12, repeat=2, stalled=stalled)
    libraries = {result.library for result in found} | set(stalled)
    assert {"carreta", "RoutingKit CCH"} <= libraries
    for result in found:
        assert result.mismatches == 0 and result.checked == 40 + 12 * 12
        assert len(result.route_us) == len(result.build_s) == 2
    assert all(" MISMATCH" not in row for row in bench.table_rows(arrays, found))
