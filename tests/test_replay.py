"""``carreta replay`` without a browser: the page is self-contained, safe, and its data exact."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from carreta.sim.cli import main
from carreta.sim.output.rundir import load_run
from carreta.sim.viz.replay import (
    QUANTUM_DEG,
    TIME_QUANTUM_S,
    build_payload,
    embed_json,
    render_html,
)

EVIL = '</script><script>window.__pwned = 1</script><img src=x onerror="window.__pwned=2">&amp;'


def test_embedded_json_cannot_close_its_script_block() -> None:
    text = embed_json({"name": EVIL, "line": "a\u2028b"})
    assert "<" not in text and ">" not in text and "&" not in text and "\u2028" not in text
    assert json.loads(text) == {"name": EVIL, "line": "a\u2028b"}


def _data_block(page: str) -> str:
    blocks = re.findall(
        r'<script type="application/json" id="carreta-data">(.*?)</script>', page, re.S
    )
    assert len(blocks) == 1
    return blocks[0]


@pytest.mark.slow
def test_page_is_self_contained_and_credits_openstreetmap(
    tiny_run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "replay.html"
    with pytest.raises(SystemExit) as stop:
        main(["replay", str(tiny_run_dir), "-o", str(target)])
    assert stop.value.code in (0, None)
    page = target.read_text("utf-8")
    assert 20_000 < len(page) < 3_000_000
    assert "OpenStreetMap contributors" in page
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    # Nothing is fetched: no src= / href= to another file, no @import, no fetch / XHR.
    assert not re.search(r"\bsrc\s*=", page)
    hrefs = re.findall(r'href="([^"]*)"', page)
    assert hrefs == ["https://www.openstreetmap.org/copyright"]
    for word in ("@import", "fetch(", "XMLHttpRequest", "innerHTML", "eval(", "document.write"):
        assert word not in page
    assert json.loads(_data_block(page))["scenario"] == "tiny"
    with pytest.raises(SystemExit) as again:
        main(["replay", str(tiny_run_dir), "-o", str(target)])
    assert again.value.code == 2
    assert "already exists" in capsys.readouterr().err


def _undelta_pairs(values: list[int]) -> np.ndarray:
    return np.cumsum(np.asarray(values, dtype=np.int64).reshape(-1, 2), axis=0)


@pytest.mark.slow
def test_payload_reproduces_every_leg(tiny_run_dir: Path) -> None:
    """Decoding the compact payload gives back each leg's vertices (1e-5°) and times (0.1 s)."""
    run = load_run(tiny_run_dir)
    payload = build_payload(run)
    origin = np.asarray(payload["origin"], dtype=np.int64)
    vertices = (_undelta_pairs(payload["vertices"]) + origin) * QUANTUM_DEG
    decoded = []
    for robot in payload["robots"]:
        for leg in robot["legs"]:
            indices = np.cumsum(leg["v"])
            times = run.start_s + np.cumsum(leg["t"]) * TIME_QUANTUM_S
            decoded.append((robot["id"], vertices[indices], times))
    assert len(decoded) == len(run.legs)
    expected = sorted(
        zip(run.legs["robot_id"], run.legs["depart_s"], range(len(run.legs)), strict=True)
    )
    for (robot_id, _, row), (got_id, points, times) in zip(expected, decoded, strict=True):
        leg = run.legs.iloc[row]
        assert got_id == robot_id
        assert points[:, 0] == pytest.approx(np.asarray(leg["lons"]), abs=QUANTUM_DEG)
        assert points[:, 1] == pytest.approx(np.asarray(leg["lats"]), abs=QUANTUM_DEG)
        assert times == pytest.approx(np.asarray(leg["times_s"]), abs=TIME_QUANTUM_S)
    assert len(payload["robots"]) == len(run.robots)
    assert payload["names"][0] == "" and len(payload["names"]) > 5  # street names from the graph
    # The order a robot is heading for: the leg starting at the interval ends at its door
    # (unless the run's end cut it short).
    orders = run.orders.set_index("order_id")
    checked = 0
    for robot in payload["robots"]:
        legs = run.legs[run.legs["robot_id"] == robot["id"]]
        ticks = np.rint((legs["depart_s"].to_numpy() - run.start_s) / TIME_QUANTUM_S).astype(int)
        last_node = {
            tick: None if cut else nodes[-1]
            for tick, nodes, cut in zip(ticks, legs["nodes"], legs["cut_at_end"], strict=True)
        }
        for start, end, order_id in robot["orders"]:
            order = orders.loc[order_id]
            assert order["robot_id"] == robot["id"]
            assert last_node[start] in (order["node"], None)
            if order["state"] == "delivered":
                assert run.start_s + end * TIME_QUANTUM_S == pytest.approx(
                    order["delivered_s"], abs=0.1
                )
                checked += 1
    assert checked == int((run.orders["state"] == "delivered").sum())
    delivered = np.cumsum(payload["orders"]["delivered"])
    assert len(delivered) == int((run.orders["state"] == "delivered").sum())


def test_render_keeps_data_text_out_of_the_markup() -> None:
    payload = {"scenario": EVIL, "date": "2026-11-25", "robots": [{"id": EVIL}]}
    page = render_html(payload)
    assert EVIL not in page
    assert "<script>window.__pwned" not in page
    assert json.loads(_data_block(page)) == payload
    assert "&lt;/script&gt;" in page.split("</title>")[0]  # the <title> is HTML-escaped


@pytest.mark.slow
def test_default_replay_file_is_inside_the_run(
    tiny_run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    shutil.copytree(tiny_run_dir, run)
    with pytest.raises(SystemExit) as stop:
        main(["replay", str(run)])
    assert stop.value.code in (0, None)
    assert (run / "replay.html").stat().st_size > 20_000
    assert "replay.html" in capsys.readouterr().out


@pytest.mark.slow
def test_a_network_credit_of_its_own_is_shown_escaped(
    tiny_run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A run on another network (scenario ``network.attribution``) credits that network, as
    text: the credit cannot inject markup, and OpenStreetMap is not named for it."""
    run_dir = tmp_path / "run"
    shutil.copytree(tiny_run_dir, run_dir)
    manifest = json.loads((run_dir / "manifest.json").read_text("utf-8"))
    manifest["attribution"] = "Voirie © Ville <b>de</b> Montpellier " + EVIL
    (run_dir / "manifest.json").write_text(json.dumps(manifest), "utf-8")
    target = tmp_path / "replay.html"
    with pytest.raises(SystemExit) as stop:
        main(["replay", str(run_dir), "-o", str(target)])
    assert stop.value.code in (0, None)
    assert "Voirie © Ville <b>de</b> Montpellier" in capsys.readouterr().out
    page = target.read_text("utf-8")
    credit = re.search(r'<div id="attribution">(.*?)</div>', page, re.S)
    assert credit is not None
    escaped = "Voirie © Ville &lt;b&gt;de&lt;/b&gt; Montpellier &lt;/script"
    assert credit.group(1).startswith(escaped)
    assert "<script>window" not in page and "openstreetmap.org" not in page
    assert json.loads(_data_block(page))["attribution"] == manifest["attribution"]


@pytest.fixture(scope="module")
def grid_run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A day on the synthetic grid with a pedestrian zone and a hub named with markup."""
    from test_maps import write_grid_run

    return write_grid_run(tmp_path_factory.mktemp("grid-run"))


def test_payload_context_charts_and_first_activity(
    grid_run_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The page opens at the first activity, draws the scenario's zone, charts the day from
    the same counts as the timeline, and puts doors on the street node robots stop at."""
    from test_maps import HUB_ID, ZONE_NAME

    monkeypatch.setenv("CARRETA_DATA_DIR", str(tmp_path / "none"))  # no real districts
    run = load_run(grid_run_dir)
    payload = build_payload(run)
    first = min(float(run.orders["created_s"].min()), float(run.legs["depart_s"].min()))
    assert payload["first_activity_s"] == pytest.approx(first)
    assert (
        payload["first_activity_s"] > run.start_s + 1800
    )  # the grid day starts 08:30, orders 09:00
    [zone] = payload["zones"]
    assert zone["name"] == ZONE_NAME and payload["districts"] == []
    origin = np.asarray(payload["origin"], dtype=np.int64)
    ring = (_undelta_pairs(zone["rings"][0]) + origin) * QUANTUM_DEG
    from synthetic import node_lonlat

    assert ring.min(axis=0) == pytest.approx(node_lonlat(1, 1), abs=QUANTUM_DEG)
    series = payload["series"]
    counts = np.array(series["robots"])
    assert counts.shape[0] == len(payload["states"]) and (counts.sum(axis=0) == 3).all()
    assert max(np.add(series["waiting"], series["on_board"])) > 0
    # Delivered doors sit on the street node of their order (the last vertex of a leg).
    vertices = (_undelta_pairs(payload["vertices"]) + origin) * QUANTUM_DEG
    doors = np.column_stack([payload["doors"]["x"], payload["doors"]["y"]]) + origin
    on_nodes = {tuple(np.rint(v / QUANTUM_DEG).astype(int)) for v in vertices}
    delivered = np.asarray(payload["doors"]["d"], bool)
    assert delivered.any()
    assert all(tuple(d) in on_nodes for d in doors[delivered])
    assert payload["hubs"][0]["id"] == HUB_ID
    page = render_html(payload)
    assert (
        ZONE_NAME not in page
        and HUB_ID not in page
        and "<script>"
        not in page.split("<body>")[1].split('id="carreta-data">')[1].split("</script>")[0]
    )
    assert json.loads(_data_block(page))["zones"][0]["name"] == ZONE_NAME
