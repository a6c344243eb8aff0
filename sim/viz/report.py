"""``report.html``: one self-contained page a planner can show — a run's KPIs, maps and charts.

:func:`write_report` reads one or more run directories and writes a single HTML file that works
offline: the maps are the PNGs of ``carreta plot`` (:func:`carreta.sim.viz.plots.draw_run_maps`)
and the charts SVG drawn by matplotlib (:mod:`carreta.sim.viz.report_charts`), all inlined as
``data:`` images; there is no script, no font, no style sheet to fetch, and the page's
Content-Security-Policy forbids any (``default-src 'none'``). The page holds:

- the scenario summary (what was simulated, seed, versions, when);
- the headline KPIs, then every KPI in its group with its unit and definition
  (:mod:`carreta.sim.output.kpi_definitions`);
- the maps (deliveries, routes, districts), the day's timeline (robots by state, orders open,
  chargers in use, operators busy) and the lead-time distribution;
- orders per hour and per district (:mod:`carreta.sim.viz.report_data`);
- a link to each run's ``replay.html`` when it exists.

With several runs the KPIs stand side by side with their differences from the first run
(:func:`carreta.sim.output.compare.compare_many`) and the charts are overlaid.

Every text taken from the data (scenario, hub, street, district and folder names) is escaped
with :func:`html.escape` where it enters the page.
"""

from __future__ import annotations

import base64
import json
import logging
import math
import os
import tempfile
import urllib.parse
from collections.abc import Hashable, Mapping, Sequence
from html import escape
from importlib import metadata
from pathlib import Path
from typing import Any

import networkx as nx
import pandas as pd

from carreta.sim.errors import ResultsExistError, RunDirError
from carreta.sim.output.compare import HEADLINE_KPIS, change_text, compare_many, kpi_order
from carreta.sim.output.kpi_definitions import GROUPS, KPI_BY_NAME, format_kpi
from carreta.sim.output.rundir import Run, default_districts_file, load_run
from carreta.sim.viz.maps import district_name_column, read_districts
from carreta.sim.viz.plots import draw_run_maps
from carreta.sim.viz.replay import write_new_page
from carreta.sim.viz.report_charts import lead_times_svg, timeline_svg
from carreta.sim.viz.report_data import (
    SUMMARY_COLUMNS,
    orders_by_district,
    orders_by_hour,
    timeline,
)
from carreta.sim.viz.report_style import STYLE

__all__ = ["REPORT_FILE", "render_report", "write_report"]

logger = logging.getLogger(__name__)

#: The report's file name in a run folder.
REPORT_FILE = "report.html"
#: Content-Security-Policy of the page: nothing but its own inline style and data: images.
POLICY = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
#: Columns of the per-hour and per-district tables when several runs stand side by side.
SIDE_BY_SIDE = ("orders", "delivered", "on_time_share", "lead_time_mean_min")
#: The headline cards' captions.
CARD_CAPTIONS = {
    "on_time_share": "On-time share",
    "service_rate": "Service rate",
    "lead_time_p95_min": "Lead time, 95th percentile",
    "km_per_delivery": "Distance per delivery",
    "co2_g_per_delivery": "CO₂ per delivery",
    "cost_per_delivery_eur": "Cost per delivery",
    "lead_time_mean_min": "Lead time, mean",
}
#: Maps drawn wide (a map beside a chart), shown across the page.
WIDE_MAPS = frozenset({"districts.png"})
MAP_CAPTIONS = {
    "map_deliveries.png": "Deliveries",
    "map_routes.png": "Routes driven",
    "districts.png": "Deliveries per district",
}


def _text(value: object) -> str:
    """``value`` as HTML text (escaped, quotes included)."""
    return escape(str(value), quote=True)


def _data_uri(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _image(data: bytes, mime: str, alt: str, css: str) -> str:
    return f'<img class="{css}" alt="{_text(alt)}" src="{_data_uri(data, mime)}">'


def _labels(runs: Sequence[Run]) -> list[str]:
    """A distinct label per run: its folder name (with its parent's when two share one)."""
    names = [run.path.name for run in runs]
    return [
        f"{run.path.parent.name}/{run.path.name}" if names.count(run.path.name) > 1 else name
        for run, name in zip(runs, names, strict=True)
    ]


def _manifest(run: Run) -> dict[str, Any]:
    path = run.path / "manifest.json"
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as error:
        raise RunDirError(f"{path}: not readable JSON ({error})") from error
    return data if isinstance(data, dict) else {}


def _clock(seconds: float) -> str:
    minutes = round(seconds / 60.0)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _number(value: object) -> str:
    return f"{value:,g}" if isinstance(value, int | float) else "–"


def _fleet(scenario: dict[str, Any]) -> str:
    fleet = scenario.get("fleet") or {}
    parts = []
    for group in fleet.get("robots") or []:
        where = f" at {group['hub']}" if group.get("hub") else ""
        parts.append(f"{group.get('count', '?')} × {group.get('type', 'robot')}{where}")
    for group in fleet.get("vans") or []:
        parts.append(f"{group.get('count', '?')} × van {group.get('type', '')}".rstrip())
    return ", ".join(parts) or "–"


def _summary_rows(run: Run) -> list[tuple[str, str]]:
    """(field, value) of the scenario summary, as plain text."""
    scenario, manifest = run.scenario, _manifest(run)
    versions = manifest.get("versions") or {}
    demand = scenario.get("demand") or {}
    network = scenario.get("network") or {}
    source = network.get("osm_file") or network.get("gis_file") or network.get("place") or "–"
    wall = manifest.get("wall_time_s")
    return [
        ("scenario", run.name),
        ("description", str(scenario.get("description") or "–")),
        ("day", f"{run.date.isoformat()}, {_clock(run.start_s)}–{_clock(run.end_s)}"),
        ("hubs", ", ".join(hub.hub_id for hub in run.hubs) or "–"),
        ("fleet", _fleet(scenario)),
        (
            "demand",
            f"{_number(demand.get('orders_per_day'))} orders per day, time window "
            f"{_number(demand.get('time_window_min'))} min",
        ),
        ("dispatch", str((scenario.get("dispatch") or {}).get("policy", "–"))),
        ("street network", Path(str(source)).name),
        ("seed", str(manifest.get("seed", (scenario.get("simulation") or {}).get("seed", "–")))),
        ("carreta", f"{versions.get('carreta', '–')} (git {manifest.get('git_revision') or '–'})"),
        ("python", str(versions.get("python", "–"))),
        (
            "simulated",
            f"{manifest.get('created_at', '–')}, "
            f"{'–' if wall is None else f'{float(wall):.1f} s'} wall, "
            f"status {manifest.get('status', '–')}",
        ),
        ("folder", str(run.path)),
    ]


def _summary(runs: Sequence[Run], labels: Sequence[str]) -> str:
    tables = [_summary_rows(run) for run in runs]
    head = "".join(f"<th>{_text(label)}</th>" for label in labels)
    body = "".join(
        f"<tr><th>{_text(field)}</th>"
        + "".join(f"<td>{_text(rows[i][1])}</td>" for rows in tables)
        + "</tr>"
        for i, (field, _) in enumerate(tables[0])
    )
    head = f"<thead><tr><th></th>{head}</tr></thead>"
    return f'<table class="summary">{head}<tbody>{body}</tbody></table>'


def _kpi_cell(name: str, value: float, *, whole: bool, signed: bool = False) -> str:
    shown: float = int(value) if whole and math.isfinite(value) else value
    return _text(format_kpi(name, shown, signed=signed))


def _unit(name: str) -> str:
    kpi = KPI_BY_NAME.get(name)
    return "" if kpi is None or kpi.unit == "count" else kpi.unit


def _kpi_row(name: str, row: Mapping[Hashable, Any], runs: int) -> str:
    whole = bool(row["whole"])
    kpi = KPI_BY_NAME.get(name)
    title = f' title="{_text(kpi.definition)}"' if kpi is not None else ""
    cells = [f"<th{title}>{_text(name.replace('_', ' '))}</th>",
             f'<td class="unit">{_text(_unit(name))}</td>']  # fmt: skip
    cells += [
        f'<td class="num">{_kpi_cell(name, row[f"run_{i}"], whole=whole)}</td>' for i in range(runs)
    ]
    for i in range(1, runs):
        difference = _kpi_cell(name, row[f"difference_{i}"], whole=whole, signed=True)
        cells.append(f'<td class="num diff">{difference}</td>')
        cells.append(f'<td class="num diff">{_text(change_text(row[f"change_{i}"]))}</td>')
    return f"<tr>{''.join(cells)}</tr>"


def _kpi_tables(runs: Sequence[Run], labels: Sequence[str]) -> str:
    """The headline KPIs, then every KPI in its group: one table, a heading row per group."""
    table = compare_many([run.kpis for run in runs], kpi_order([run.kpis for run in runs]))
    rows = {str(row["kpi"]): row for row in table.to_dict("records")}
    head = '<th>KPI</th><th class="unit">unit</th>' + "".join(
        f'<th class="num">{_text(label)}</th>' for label in labels
    )
    for label in labels[1:]:
        head += f'<th class="num diff">{_text(label)} − {_text(labels[0])}</th>'
        head += '<th class="num diff">change</th>'
    width = 2 + len(runs) + 2 * (len(runs) - 1)
    groups: list[tuple[str, list[str]]] = [("Headline", [k for k in HEADLINE_KPIS if k in rows])]
    for group, heading in GROUPS.items():
        names = [k for k in rows if k in KPI_BY_NAME and KPI_BY_NAME[k].group == group]
        groups.append((heading, names))
    groups.append(("Other", [k for k in rows if k not in KPI_BY_NAME]))
    body = ""
    for heading, names in groups:
        if names:
            body += f'<tr class="group"><th colspan="{width}">{_text(heading)}</th></tr>'
            body += "".join(_kpi_row(name, rows[name], len(runs)) for name in names)
    return f'<table class="kpis"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _cards(runs: Sequence[Run], labels: Sequence[str]) -> str:
    """The headline KPIs as large figures (one line per run when several)."""
    cards = []
    for name in HEADLINE_KPIS:
        values = [run.kpis.get(name) for run in runs]
        if all(value is None for value in values):
            continue
        unit = "" if name in KPI_BY_NAME and KPI_BY_NAME[name].is_share else _unit(name)
        lines = "".join(
            f'<div class="figure">{_text(format_kpi(name, value))}'
            f'<span class="unit"> {_text(unit)}</span>'
            + (f'<span class="run"> {_text(label)}</span>' if len(runs) > 1 else "")
            + "</div>"
            for value, label in zip(values, labels, strict=True)
        )
        caption = CARD_CAPTIONS.get(name, name.replace("_", " "))
        kpi = KPI_BY_NAME.get(name)
        title = f' title="{_text(kpi.definition)}"' if kpi is not None else ""
        cards.append(
            f'<div class="card"{title}><div class="caption">{_text(caption)}</div>{lines}</div>'
        )
    return f'<div class="cards">{"".join(cards)}</div>'


def _cell(column: str, value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    number = float(value)  # type: ignore[arg-type]
    if column == "on_time_share":
        return f"{100.0 * number:.1f} %"
    if column.endswith("_min"):
        return f"{number:,.1f}"
    return f"{number:,.0f}"


def _breakdown(tables: Sequence[pd.DataFrame], labels: Sequence[str], key: str) -> str:
    """Per-hour or per-district tables: every column for one run; for several, the main
    columns of each run side by side (rows: the union of the keys, first run's order first)."""
    columns = list(SUMMARY_COLUMNS) if len(tables) == 1 else list(SIDE_BY_SIDE)
    keys = list(dict.fromkeys(k for table in tables for k in table.index))
    if key == "hour":
        keys.sort()
    if len(tables) == 1:
        head = f"<tr><th>{_text(key)}</th>" + "".join(
            f'<th class="num">{_text(SUMMARY_COLUMNS[c])}</th>' for c in columns
        ) + "</tr>"  # fmt: skip
    else:
        head = f'<tr><th rowspan="2">{_text(key)}</th>' + "".join(
            f'<th class="num" colspan="{len(tables)}">{_text(SUMMARY_COLUMNS[c])}</th>'
            for c in columns
        ) + "</tr><tr>" + "".join(
            f'<th class="num">{_text(label)}</th>' for _ in columns for label in labels
        ) + "</tr>"  # fmt: skip
    body = ""
    for k in keys:
        cells = "".join(
            f'<td class="num">{_cell(c, t.at[k, c]) if k in t.index else "–"}</td>'
            for c in columns
            for t in tables
        )
        body += f"<tr><th>{_text(k)}</th>{cells}</tr>"
    return f'<table class="breakdown"><thead>{head}</thead><tbody>{body}</tbody></table>'


def _map_images(
    run: Run, graph: nx.MultiDiGraph | None, districts: Path | None
) -> dict[str, bytes]:
    """The run's map PNGs (:func:`~carreta.sim.viz.plots.draw_run_maps`): file name → bytes."""
    with tempfile.TemporaryDirectory(prefix="carreta-report-") as folder:
        paths = draw_run_maps(run, Path(folder), districts_file=districts, graph=graph)
        return {path.name: path.read_bytes() for path in paths}


def _maps(images: Sequence[dict[str, bytes]], labels: Sequence[str]) -> str:
    """One grid of the maps; with several runs, one row per kind of map (runs side by side)."""
    kinds = list(dict.fromkeys(name for run in images for name in run))
    rows = [kinds] if len(images) == 1 else [[kind] for kind in kinds]
    html = ""
    for row in rows:
        figures = ""
        for kind in row:
            caption = MAP_CAPTIONS.get(kind, Path(kind).stem)
            for run, label in zip(images, labels, strict=True):
                if kind in run:
                    shown = caption if len(images) == 1 else f"{caption} — {label}"
                    wide = ' class="wide"' if kind in WIDE_MAPS and len(images) == 1 else ""
                    figures += (
                        f"<figure{wide}>{_image(run[kind], 'image/png', shown, 'map')}"
                        f"<figcaption>{_text(shown)}</figcaption></figure>"
                    )
        html += f'<div class="maps">{figures}</div>'
    return html


def _replay_links(runs: Sequence[Run], labels: Sequence[str], folder: Path) -> str:
    items = []
    for run, label in zip(runs, labels, strict=True):
        replay = run.path / "replay.html"
        if replay.is_file():
            href = urllib.parse.quote(Path(os.path.relpath(replay, folder)).as_posix())
            items.append(f'<li><a href="{_text(href)}">replay of {_text(label)}</a> '
                         "(opens the day in this browser, offline)</li>")  # fmt: skip
        else:
            items.append(f"<li>{_text(label)}: no replay yet — write it with "
                         f"<code>carreta replay {_text(run.path)}</code></li>")  # fmt: skip
    return f"<ul>{''.join(items)}</ul>"


def _svg(svg: str, alt: str) -> str:
    return _image(svg.encode("utf-8"), "image/svg+xml", alt, "chart")


def render_report(
    runs: Sequence[Run],
    *,
    folder: Path,
    graphs: Sequence[nx.MultiDiGraph | None] | None = None,
    districts_file: Path | None = None,
) -> str:
    """The whole page for ``runs`` (one string, nothing to fetch).

    Parameters
    ----------
    runs
        One run or more (the first is the reference of the differences).
    folder
        Where the page will be written (the replay links are relative to it).
    graphs
        Each run's street graph (default: loaded from its scenario when the file is here).
    districts_file
        Polygons for the per-district map and table (default: Montpellier's quartiers from the
        shared data folder when present; without one both are left out).
    """
    labels = _labels(runs)
    graphs = list(graphs) if graphs is not None else [None] * len(runs)
    districts_file = districts_file if districts_file is not None else default_districts_file()
    tables = [timeline(run) for run in runs]
    images = [
        _map_images(run, graph, districts_file) for run, graph in zip(runs, graphs, strict=True)
    ]
    credits = " ".join(sorted({_text(run.attribution) for run in runs}))
    by_district = ""
    if districts_file is not None:
        polygons = read_districts(Path(districts_file))
        name = district_name_column(polygons, Path(districts_file))
        district_tables = [orders_by_district(run, polygons, name) for run in runs]
        by_district = (
            "<section><h2>Orders per district</h2>"
            f"{_breakdown(district_tables, labels, 'district')}"
            f'<p class="note">District of each door (a spatial join on '
            f"{_text(Path(districts_file).name)}); on-time share over the orders whose outcome "
            "is known.</p></section>"
        )
    title = f"{runs[0].title}" if len(runs) == 1 else f"{len(runs)} runs: {', '.join(labels)}"
    version = _carreta_version()
    sections = [
        f"<header><h1>{_text(title)}</h1><p>carreta report — what was simulated, its KPIs, "
        "maps and charts (this page needs no network)</p></header>",
        _cards(runs, labels),
        f"<section><h2>What was simulated</h2>{_summary(runs, labels)}</section>",
        "<section><h2>Key performance indicators</h2>"
        f"{_kpi_tables(runs, labels)}"
        '<p class="note">Hover a KPI for its definition. Shares in percent, their differences in '
        "percentage points (pt); change: relative to the first run.</p></section>",
        f'<section><h2>Maps</h2>{_maps(images, labels)}<p class="credit">{credits}.</p></section>',
        "<section><h2>Over the day</h2>"
        f"{_svg(timeline_svg(runs, tables, labels), 'timeline of the day')}"
        '<p class="note">Chargers in use: robots charging. Operators busy: robots being helped '
        "by a remote operator, or, with walking escorts, tours under way with one.</p></section>",
        "<section><h2>Lead times</h2>"
        f"{_svg(lead_times_svg(runs, labels), 'lead-time distribution')}</section>",
        "<section><h2>Orders per hour of creation</h2>"
        f"{_breakdown([orders_by_hour(run) for run in runs], labels, 'hour')}</section>",
        by_district,
        f"<section><h2>Replay</h2>{_replay_links(runs, labels, folder)}</section>",
        f"<footer>Written by carreta {_text(version)}. {credits}.</footer>",
    ]
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{POLICY}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_text(title)} — carreta report</title><style>{STYLE}</style></head>"
        f"<body>{''.join(sections)}</body></html>\n"
    )


def _carreta_version() -> str:
    try:
        return metadata.version("carreta")
    except metadata.PackageNotFoundError:
        return "unknown"


def write_report(
    run_dirs: Sequence[Path],
    target: Path,
    *,
    graphs: Sequence[nx.MultiDiGraph | None] | None = None,
    districts_file: Path | None = None,
) -> Path:
    """Write the report page of ``run_dirs`` to the new file ``target``.

    Parameters
    ----------
    run_dirs
        One run directory or more (the first is the reference of the differences).
    target
        HTML file to create; it must not exist.
    graphs, districts_file
        As :func:`render_report`.

    Returns
    -------
    Path
        ``target``.

    Raises
    ------
    RunDirError
        If a run directory or the districts file is unreadable.
    ResultsExistError
        If ``target`` exists: files are never overwritten.
    """
    target = Path(target)
    if not run_dirs:
        raise RunDirError("a report needs at least one run directory")
    if target.exists():
        raise ResultsExistError(f"{target} already exists: files are never overwritten")
    runs = [load_run(path) for path in run_dirs]
    page = render_report(
        runs, folder=target.resolve().parent, graphs=graphs, districts_file=districts_file
    )
    return write_new_page(target, page)
