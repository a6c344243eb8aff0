"""The report page (``carreta report``) and ``carreta compare`` of N runs, on the synthetic grid.

The page must hold every part a planner shows (KPIs with units, maps, charts, tables, summary),
fetch nothing, and show text from the data literally. ``tests/test_report_browser.py`` opens it
in Chromium.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
from html import escape
from pathlib import Path

import networkx as nx
import pandas as pd
import pytest
import yaml

from carreta.sim.cli import main
from carreta.sim.model.engine import simulate
from carreta.sim.model.world import World
from carreta.sim.output.compare import format_runs, read_run_summary
from carreta.sim.output.kpi_definitions import KPI_BY_NAME, format_kpi
from carreta.sim.output.results import write_run
from carreta.sim.output.rundir import load_run
from carreta.sim.scenario import Scenario
from carreta.sim.viz.report import write_report
from carreta.sim.viz.report_data import orders_by_hour, timeline

EVIL = "</script><script>alert(1)</script>"
EVIL_FOLDER = "<img src=x onerror=alert(2)>"
DATA_IMAGE = re.compile(r'<img class="(map|chart)" alt="([^"]*)" src="data:([^;]+);base64,([^"]+)"')


def districts_file(folder: Path, name: str = "Écusson") -> Path:
    """One polygon around the grid (and a second one far away), as GeoJSON."""
    square = [[3.870, 43.604], [3.886, 43.604], [3.886, 43.616], [3.870, 43.616], [3.870, 43.604]]
    far = [[3.80, 43.50], [3.81, 43.50], [3.81, 43.51], [3.80, 43.50]]
    features = [
        {"type": "Feature", "properties": {"NOM": name},
         "geometry": {"type": "Polygon", "coordinates": [square]}},
        {"type": "Feature", "properties": {"NOM": "Far away"},
         "geometry": {"type": "Polygon", "coordinates": [far]}},
    ]  # fmt: skip
    path = folder / "districts.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), "utf-8")
    return path


def grid_run(scenario: Scenario, world: World, folder: Path, **overrides: object) -> Path:
    """A day on the grid written as a run directory."""
    return write_run(simulate(scenario.with_overrides(overrides), world=world), folder)


@pytest.fixture(scope="module")
def runs(
    grid_scenario: Scenario, grid_world: World, tmp_path_factory: pytest.TempPathFactory
) -> list[Path]:
    base = tmp_path_factory.mktemp("report-runs")
    return [
        grid_run(grid_scenario, grid_world, base / "three"),
        grid_run(grid_scenario, grid_world, base / "two", **{"fleet.robots[0].count": 2}),
    ]


@pytest.fixture(scope="module")
def page(runs: list[Path], tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = tmp_path_factory.mktemp("report")
    written = write_report(runs[:1], folder / "report.html", districts_file=districts_file(folder))
    return written.read_text("utf-8")


def images(html: str) -> list[tuple[str, str, str, bytes]]:
    """(class, alt, MIME type, bytes) of every inlined image."""
    return [(m[0], m[1], m[2], base64.b64decode(m[3])) for m in DATA_IMAGE.findall(html)]


def test_the_page_fetches_nothing_and_runs_no_script(page: str) -> None:
    assert "<script" not in page.lower()
    assert "default-src 'none'" in page  # Content-Security-Policy: nothing to load
    sources = re.findall(r'(?:src|href)="([^"]*)"', page)
    assert sources and all(source.startswith("data:") for source in sources), sources


def test_every_kpi_is_shown_with_its_unit_and_definition(page: str, runs: list[Path]) -> None:
    kpis = json.loads((runs[0] / "kpis.json").read_text("utf-8"))
    for name, value in kpis.items():
        kpi = KPI_BY_NAME[name]
        unit = "" if kpi.unit == "count" else kpi.unit
        row = (
            f'<th title="{escape(kpi.definition)}">{escape(name.replace("_", " "))}</th>'
            f'<td class="unit">{escape(unit)}</td><td class="num">{escape(format_kpi(name, value))}'
        )
        assert row in page, name
    for heading in ("Headline", "Service", "Fleet", "Energy and CO₂", "Cost", "Operations"):
        assert f'colspan="3">{escape(heading)}</th>' in page


def test_maps_and_charts_are_inlined_images(page: str) -> None:
    found = images(page)
    maps = [alt for kind, alt, mime, data in found if kind == "map" and mime == "image/png"]
    assert maps == ["Deliveries", "Routes driven", "Deliveries per district"]
    charts = {alt: data for kind, alt, mime, data in found if mime == "image/svg+xml"}
    assert set(charts) == {"timeline of the day", "lead-time distribution"}
    for data in charts.values():
        assert data.count(b"<path") > 20  # drawn, text as paths: no font to fetch
        assert b"http://www.w3.org" in data and b'xlink:href="http' not in data
    for kind, _, mime, data in found:
        if mime == "image/png":
            assert data.startswith(b"\x89PNG") and len(data) > 20_000, kind


def test_tables_add_up_to_the_orders(page: str, runs: list[Path]) -> None:
    run = load_run(runs[0])
    hours = orders_by_hour(run)
    assert hours["orders"].sum() == len(run.orders)
    assert hours["delivered"].sum() == run.kpis["orders_delivered"]
    for hour in hours.index:
        assert f"<tr><th>{hour}</th>" in page
    district = re.search(r"<tr><th>Écusson</th>((?:<td[^>]*>[^<]*</td>)+)", page)
    assert district is not None
    cells = re.findall(r">([^<]*)</td>", district[1])
    assert cells[0] == f"{len(run.orders):,}"  # every door of the grid is in the polygon
    assert "Far away" not in page  # no order there: no row
    for text in ("grid", "centre", "3 × droid", "seed", f"{run.kpis['robots']}"):
        assert text in page


def test_timeline_counts_every_robot_and_open_order(runs: list[Path]) -> None:
    run = load_run(runs[0])
    table = timeline(run)
    states = [column for column in table if not column.startswith(("orders_", "chargers", "op"))]
    assert (table[states].sum(axis=1) == len(run.robots)).all()
    assert (table["orders_open"] == table["orders_waiting"] + table["orders_on_board"]).all()
    assert (table["chargers_in_use"] == table["charging"]).all()
    created = run.orders["created_s"].to_numpy()
    middle = table.index[len(table) // 2]
    assert table.loc[middle, "orders_open"] <= (created <= middle).sum()


def test_several_runs_stand_side_by_side(runs: list[Path], tmp_path: Path) -> None:
    html = write_report(
        runs, tmp_path / "both.html", districts_file=districts_file(tmp_path)
    ).read_text("utf-8")
    three, two = (json.loads((run / "kpis.json").read_text("utf-8")) for run in runs)
    difference = format_kpi("robots", two["robots"] - three["robots"], signed=True)
    assert "<th>robots</th>" not in html  # every KPI name carries its definition
    row = re.search(r'>robots</th><td class="unit"></td>((?:<td[^>]*>[^<]*</td>)+)', html)
    assert row is not None
    assert re.findall(r">([^<]*)</td>", row[1])[:3] == ["3", "2", difference]
    assert "two − three" in html
    assert len([image for image in images(html) if image[0] == "map"]) == 6  # 3 maps × 2 runs


def test_an_existing_report_is_never_overwritten(runs: list[Path], tmp_path: Path) -> None:
    from carreta.sim.errors import ResultsExistError

    target = tmp_path / "report.html"
    target.write_text("mine", "utf-8")
    with pytest.raises(ResultsExistError):
        write_report(runs[:1], target)
    assert target.read_text("utf-8") == "mine"


def poisoned_run(run_dir: Path, folder: Path) -> Path:
    """A copy of ``run_dir`` in a folder named like markup, whose scenario, hub and
    description are ``EVIL``."""
    target = folder / EVIL_FOLDER
    shutil.copytree(run_dir, target)
    path = target / "scenario.resolved.yaml"
    scenario = yaml.safe_load(path.read_text("utf-8"))
    scenario["name"] = scenario["description"] = EVIL
    old = scenario["hubs"][0]["id"]
    scenario["hubs"][0]["id"] = EVIL
    scenario["fleet"]["robots"][0]["type"] = EVIL
    path.write_text(yaml.safe_dump(scenario, allow_unicode=True), "utf-8")
    for name in ("orders", "robots"):
        table = pd.read_parquet(target / f"{name}.parquet")
        table["hub_id"] = table["hub_id"].astype(object).replace(old, EVIL)
        table.to_parquet(target / f"{name}.parquet", index=False)
    return target


def evil_streets(graph: nx.MultiDiGraph) -> nx.MultiDiGraph:
    graph = graph.copy()
    for _, _, data in graph.edges(data=True):
        data["name"] = EVIL
    return graph


def test_text_from_the_data_is_escaped(runs: list[Path], grid_world: World, tmp_path: Path) -> None:
    run_dir = poisoned_run(runs[0], tmp_path)
    html = write_report(
        [run_dir], tmp_path / "report.html", graphs=[evil_streets(grid_world.graph)],
        districts_file=districts_file(tmp_path, name=EVIL),
    ).read_text("utf-8")  # fmt: skip
    assert "<script" not in html.lower() and "<img src=x" not in html
    assert escape(EVIL) in html and escape(EVIL_FOLDER) in html
    assert f"<tr><th>{escape(EVIL)}</th>" in html  # the district row, as text


def test_compare_prints_n_runs_headline_first(runs: list[Path]) -> None:
    summaries = [read_run_summary(run) for run in (*runs, runs[0])]
    text = format_runs(summaries)
    header, _, *rows = text.splitlines()
    twice = f"{runs[0].parent.name}/three"  # a run shown twice is named with its parent
    assert header.split()[:4] == ["KPI", twice, "two", twice]
    assert (
        text.index("on_time_share") < text.index("km_per_delivery") < text.index("orders_created")
    )
    robots = next(row.split() for row in rows if row.startswith("robots "))
    assert robots[1:4] == ["3", "2", "3"]
    assert robots[4:] == ["-1", "-33.3", "%", "+0", "+0.0", "%"]  # vs the first run
    lead = next(row for row in rows if row.startswith("lead_time_p95_min"))
    assert lead.endswith("min")


def carreta(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run the ``carreta`` command line in this process: (exit code, stdout, stderr)."""
    with pytest.raises(SystemExit) as stop:
        main(list(args))
    out, err = capsys.readouterr()
    return int(stop.value.code or 0), out, err


def test_carreta_report_writes_into_the_run_folder_once(
    runs: list[Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = tmp_path / "run"
    shutil.copytree(runs[0], run_dir)
    geojson = str(districts_file(tmp_path))
    code, out, err = carreta(capsys, "report", str(run_dir), "--districts", geojson)
    assert code == 0, err
    assert (run_dir / "report.html").is_file() and str(run_dir / "report.html") in out
    code, _, err = carreta(capsys, "report", str(run_dir), "--districts", geojson)
    assert code == 2 and "already exists" in err
    code, _, err = carreta(capsys, "report", str(run_dir), str(runs[1]))
    assert code == 2 and "--out" in err
    code, _, err = carreta(capsys, "report", str(tmp_path / "nowhere"), "-o", str(tmp_path / "r"))
    assert code == 2
    assert err.startswith("carreta: error:") and len(err.strip().splitlines()) == 1
    code, out, err = carreta(capsys, "compare", str(runs[0]), str(runs[1]), str(run_dir))
    assert code == 0, err
    assert "same orders" in out
    code, _, err = carreta(capsys, "compare", str(runs[0]))
    assert code == 2 and "at least two" in err


@pytest.mark.parametrize("mode", ["remote", "escort"])
def test_operators_busy_never_exceeds_the_operators(
    mode: str, grid_scenario: Scenario, grid_world: World, tmp_path: Path
) -> None:
    """Operators busy counts each operator once: an escort helping the robot it walks with is
    one busy escort, and the time they are busy adds up to the robots' help time."""
    overrides = {
        "operations.supervision.mode": mode, "operations.supervision.operators": 2,
        "operations.supervision.interventions_per_km": 3.0,
    }  # fmt: skip
    run = load_run(grid_run(grid_scenario, grid_world, tmp_path / mode, **overrides))
    busy = timeline(run, step_s=1.0)["operators_busy"]
    assert 0 < busy.max() <= 2
    helped_s = run.robots["escorted_s" if mode == "escort" else "help_s"].sum()
    assert busy.sum() == pytest.approx(helped_s, rel=0.05, abs=30.0)  # 1-s steps


def test_carreta_run_writes_the_report_unless_told_not_to(
    grid_graphml: Path,
    carreta_cache_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from synthetic import grid_scenario_data

    scenario = tmp_path / "grid.yaml"
    scenario.write_text(yaml.safe_dump(grid_scenario_data(grid_graphml, carreta_cache_dir)))
    monkeypatch.setenv("CARRETA_DATA_DIR", str(tmp_path / "data"))  # no districts: none shown
    code, out, err = carreta(capsys, "run", str(scenario), "-o", str(tmp_path / "with"))
    assert code == 0, err
    assert f"report: {tmp_path / 'with' / 'report.html'}" in out
    page = (tmp_path / "with" / "report.html").read_text("utf-8")
    assert '<table class="kpis">' in page and "Orders per district" not in page
    code, _, err = carreta(capsys, "run", str(scenario), "-o", str(tmp_path / "no"), "--no-report")
    assert code == 0, err
    assert not (tmp_path / "no" / "report.html").exists()
    # A report that cannot be made (an unreadable districts file) warns; the run stands.
    bad = tmp_path / "data" / "montpellier" / "VilleMTP_MTP_Quartiers.geojson"
    bad.parent.mkdir(parents=True)
    bad.write_text("not geojson", "utf-8")
    code, _, err = carreta(capsys, "run", str(scenario), "-o", str(tmp_path / "warned"))
    assert code == 0, err
    assert "carreta: warning: no report.html" in err and str(bad) in err
    assert (tmp_path / "warned" / "kpis.json").is_file()
    assert not (tmp_path / "warned" / "report.html").exists()
