"""The report page's style sheet (inlined in ``report.html``: nothing is fetched)."""

from __future__ import annotations

from typing import Final

__all__ = ["STYLE"]

STYLE: Final = """
:root { --ink: #1d2433; --muted: #5b6475; --rule: #d9dde5; --band: #f3f5f8; --accent: #1f77b4; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 1200px; padding: 24px 32px 48px; color: var(--ink);
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
  sans-serif; background: #fff; }
header h1 { margin: 0 0 4px; font-size: 26px; }
header p { margin: 0 0 20px; color: var(--muted); }
h2 { margin: 36px 0 12px; padding-bottom: 4px; border-bottom: 2px solid var(--ink);
  font-size: 19px; }
section { break-inside: avoid; }
table { border-collapse: collapse; width: 100%; font-size: 14px; }
th, td { padding: 4px 10px; border-bottom: 1px solid var(--rule); text-align: left;
  vertical-align: top; }
thead th { background: var(--band); border-bottom: 2px solid var(--rule); }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.unit, th.unit { color: var(--muted); white-space: nowrap; }
td.diff, th.diff { color: #40516b; background: #fafbfc; }
tr.group th { background: var(--ink); color: #fff; font-weight: 600; }
tbody th { font-weight: 500; }
th[title] { cursor: help; text-decoration: underline dotted var(--muted); }
table.summary tbody th { width: 160px; color: var(--muted); }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(175px, 1fr));
  gap: 12px; }
.card { border: 1px solid var(--rule); border-radius: 8px; padding: 10px 14px;
  background: var(--band); }
.card .caption { color: var(--muted); font-size: 13px; }
.card .figure { font-size: 24px; font-weight: 650; }
.card .figure .unit { font-size: 14px; font-weight: 400; color: var(--muted); }
.card .figure .run { font-size: 12px; font-weight: 400; color: var(--muted); }
.maps { display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap: 16px; }
figure { margin: 0; }
figure.wide { grid-column: 1 / -1; }
figcaption { color: var(--muted); font-size: 13px; margin-top: 4px; }
img.map, img.chart { width: 100%; height: auto; border: 1px solid var(--rule); }
p.note, p.credit { color: var(--muted); font-size: 13px; }
footer { margin-top: 40px; color: var(--muted); font-size: 13px; border-top: 1px solid var(--rule);
  padding-top: 8px; }
code { background: var(--band); padding: 1px 4px; border-radius: 3px; }
@media print { body { max-width: none; padding: 0; } h2 { break-after: avoid; } }
"""
