"""The report page in a real browser: headless Debian Chromium driven by Playwright.

A real short run (``scenarios/tiny.yaml``, real streets) is opened as a planner would open it:
nothing is requested but the file itself, no console error, the KPI table, each chart and each
map are there and drawn. Skipped when Chromium or Playwright is missing, except in CI
(``CI=true``), where that fails.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from test_report import EVIL, districts_file, poisoned_run

from carreta.sim.output.kpi_definitions import format_kpi
from carreta.sim.output.rundir import load_run, load_run_graph
from carreta.sim.viz.report import write_report

pytestmark = [pytest.mark.browser, pytest.mark.slow]


class ReportPage:
    """The report opened in a tab, with every console error, page error, dialog and request
    collected."""

    def __init__(self, browser: Any, html: Path) -> None:
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.dialogs: list[str] = []
        self.page = browser.new_page(viewport={"width": 1280, "height": 900})
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.on("request", lambda request: self.requests.append(request.url))
        self.page.on("dialog", self._dialog)
        self.page.goto(html.as_uri(), wait_until="load")

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def js(self, expression: str, argument: object = None) -> Any:
        return self.page.evaluate(expression, argument)


def colours(png: bytes) -> tuple[int, float]:
    """Distinct colours of a screenshot and the share of its most common colour."""
    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).reshape(-1, 3)
    _, counts = np.unique(pixels, axis=0, return_counts=True)
    return len(counts), float(counts.max() / counts.sum())


@pytest.fixture(scope="module")
def report_html(tiny_run_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("report")
    return write_report([tiny_run_dir], folder / "report.html")


def test_the_report_shows_kpis_charts_and_maps(
    browser: Any,
    report_html: Path,
    tiny_run_dir: Path,
    tmp_path: Path,
) -> None:
    view = ReportPage(browser, report_html)
    assert view.requests == [report_html.as_uri()]  # the page itself, nothing else
    kpis = json.loads((tiny_run_dir / "kpis.json").read_text("utf-8"))
    rows = view.js(
        "() => [...document.querySelectorAll('table.kpis tbody tr:not(.group)')]"
        ".map(r => [r.querySelector('th').textContent, r.querySelectorAll('td')[1].textContent])"
    )
    shown = dict(rows)
    assert len(rows) == len(kpis) + 7  # every KPI in its group, the headline ones also on top
    for name, value in kpis.items():
        assert shown[name.replace("_", " ")] == format_kpi(name, value), name
    pictures = view.js(
        "() => [...document.images].map(i => [i.className, i.alt, i.naturalWidth, i.complete])"
    )
    assert [p[1] for p in pictures if p[0] == "map"] == [
        "Deliveries", "Routes driven", "Deliveries per district"
    ]  # fmt: skip
    assert [p[1] for p in pictures if p[0] == "chart"] == [
        "timeline of the day", "lead-time distribution"
    ]  # fmt: skip
    assert all(p[2] > 500 and p[3] for p in pictures), pictures
    paths = view.js(
        "() => [...document.querySelectorAll('img.chart')].map(i => new DOMParser()"
        ".parseFromString(atob(i.src.split(',')[1]), 'image/svg+xml')"
        ".querySelectorAll('path').length)"
    )
    assert min(paths) > 50
    for index, (kind, alt, *_) in enumerate(pictures):
        picture = view.page.locator("img").nth(index)
        picture.scroll_into_view_if_needed()
        distinct, commonest = colours(picture.screenshot())
        assert distinct > 50 and commonest < 0.97, f"{kind} {alt}: blank? ({distinct} colours)"
    assert "OpenStreetMap contributors" in view.page.text_content("footer")  # type: ignore[operator]
    view.page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
    assert view.errors == [] and view.dialogs == []


def test_text_from_the_data_executes_nothing(
    browser: Any,
    tiny_run_dir: Path,
    tmp_path: Path,
) -> None:
    run_dir = poisoned_run(tiny_run_dir, tmp_path)
    graph = load_run_graph(load_run(run_dir))
    assert graph is not None
    graph = graph.copy()
    for _, _, data in graph.edges(data=True):
        data["name"] = EVIL
    html = write_report(
        [run_dir], tmp_path / "report.html", graphs=[graph],
        districts_file=districts_file(tmp_path, name=EVIL),
    )  # fmt: skip
    view = ReportPage(browser, html)
    assert view.dialogs == [] and view.errors == []
    assert view.js("document.scripts.length") == 0
    assert view.js("document.querySelectorAll('img:not(.map):not(.chart)').length") == 0
    cells = view.js("() => [...document.querySelectorAll('td, th, h1')].map(c => c.textContent)")
    assert EVIL in cells  # shown literally, as text
    assert view.requests == [html.as_uri()]
