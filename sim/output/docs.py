"""Generate the reference of a run's outputs: ``docs/outputs.md`` and ``docs/kpis.md``.

The column dictionary (:mod:`carreta.sim.output.columns`) and the KPI definitions
(:data:`~carreta.sim.output.kpi_definitions.KPIS`) are the only source of what each file, column
and KPI means; this module renders them. A test fails when the committed files differ from
freshly generated ones. Regenerate them with::

    python -m carreta.sim.output.docs          # writes docs/ in the project root
    python -m carreta.sim.output.docs --check  # exit status 1 if they are stale

Only the standard library is imported.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from carreta.sim.generated_docs import GeneratedFiles
from carreta.sim.output.columns import RESULT_FILES, TABLES, columns_of
from carreta.sim.output.kpi_definitions import COUNT, GROUPS, KPIS, SHARE, KpiDefinition

__all__ = [
    "KPIS_PATH",
    "OUTPUTS_PATH",
    "REGENERATE_COMMAND",
    "main",
    "render_kpis",
    "render_outputs",
    "replicates_text",
    "stale_docs",
    "unit_text",
    "write_docs",
]

OUTPUTS_PATH = Path("docs/outputs.md")
KPIS_PATH = Path("docs/kpis.md")
REGENERATE_COMMAND = "python -m carreta.sim.output.docs"


def _cell(text: str) -> str:
    return text.replace("|", "\\|") if text else "–"


_INTRO = f"""\
# The results folder

<!-- Generated from sim/output/columns.py by `{REGENERATE_COMMAND}`. Do not edit. -->

`carreta run` (or `carreta.write_run`) writes each run into a new folder, atomically (a crash
leaves no folder or a complete one), and never over an existing one. `carreta.load_run(path)`
reads it back: the tables as pandas DataFrames (`.orders`, `.robots`, `.events`, `.legs`) and
the KPIs (`.kpis`); `pandas.read_parquet` opens each table in one line with the types below.

| file | what it holds |
|---|---|
"""

_CONVENTIONS = """
## Conventions

- **Times of day** (unit `s since midnight`) are seconds elapsed since local midnight of the
  simulated date (`simulation.date` of the scenario), as floats. Beside each `<x>_s` is `<x>_at`,
  the same instant as a timezone-aware `datetime64[ns, Europe/Paris]`, ready for
  `.dt.hour`, resampling and plotting. On the two days a year the clocks change, the
  wall-clock hour after the change differs by one from `<x>_s // 3600`; `trips.geojson` counts
  time the same way.
- **Durations** stay in seconds (`lead_time_s`, `access_s`, `busy_s`...). Other units are in the
  names too: `_m` metres, `_km` kilometres, `_kg` kilograms, `_wh` watt-hours, `_l` litres.
- **Missing values are nulls**, never sentinels: `<NA>` in text and `Int64` columns, NaN in
  float columns, NaT in datetimes (a time never reached, an event without an order).
- **Text** columns are pandas `string`; columns with a fixed set of values are `category`
  (their categories are listed below, in order).
- How each KPI is computed from these tables: [kpis.md](kpis.md).
"""


def render_outputs() -> str:
    """The Markdown of ``docs/outputs.md``: every file, then every table's columns."""
    lines = [_INTRO.rstrip("\n")]
    lines += [f"| `{name}` | {_cell(text)} |" for name, text in RESULT_FILES.items()]
    lines.append(_CONVENTIONS.rstrip("\n"))
    for table, row in TABLES.items():
        lines += [
            "", f"## {table}.parquet", "", row[0].upper() + row[1:] + ".", "",
            "| column | dtype | unit | meaning |", "|---|---|---|---|",
        ]  # fmt: skip
        for column in columns_of(table):
            meaning = column.meaning
            if column.categories:
                meaning += "; categories: " + ", ".join(f"`{c}`" for c in column.categories)
            lines.append(
                f"| `{column.column}` | `{column.dtype}` | {_cell(column.unit)} | "
                f"{_cell(meaning)} |"
            )
    return "\n".join(lines) + "\n"


_KPIS_INTRO = f"""\
# KPIs of a run

<!-- Generated from sim/output/kpi_definitions.py by `{REGENERATE_COMMAND}`. Do not edit. -->

`kpis.json` in a run's folder holds these numbers; `carreta run` prints them by group,
`carreta compare` sets two runs side by side and a sweep's `runs.parquet` has one column per
KPI. Each is computed from the run's tables alone (`orders.parquet`, `robots.parquet`: their
columns are in [outputs.md](outputs.md)) and the scenario's energy and cost factors, so anyone
can recompute it (`carreta.sim.output.kpis.compute_kpis`).

- **Order outcomes.** At the end of a run every order has exactly one `outcome`: `on_time`
  (delivered by its due time), `late` (delivered after it, or still open at the end with its
  due time past), `open_not_due` (still open, due at or after the end: not known yet) or
  `rejected` (no robot could ever serve it). The four add up to `orders_created`; the
  headline `on_time_share` is over the orders whose outcome is known, `orders_due`.
- **Values** are plain numbers: shares as fractions in [0, 1] (shown in percent), counts as
  integers, other quantities in the unit given (and ending their name). A KPI that cannot be
  computed (a lead time without deliveries) is `null` in `kpis.json`, NaN in tables.
- **Across replicates** (a sweep's runs of one parameter combination with different seeds,
  `carreta.sim.output.statistics`): a share of orders pools the replicates' orders, summing
  its numerator and denominator counts, and gets a Wilson score interval; any other KPI gets
  the mean of the replicates with a Student-t interval, clipped at 0 for a quantity that
  cannot be negative and to [0, 1] for a share (one replicate alone gives no interval).
"""


def unit_text(kpi: KpiDefinition) -> str:
    """The unit as the reference shows it."""
    if kpi.unit == SHARE:
        return "share (fraction, shown in %)"
    if kpi.unit == COUNT:
        return "count"
    return kpi.unit


def replicates_text(kpi: KpiDefinition) -> str:
    """How replicates of ``kpi`` combine into an estimate with a confidence interval."""
    if kpi.over_orders:
        return "pooled counts, Wilson interval"
    if kpi.is_share:
        return "mean, Student-t interval clipped to [0, 1]"
    if kpi.nonnegative:
        return "mean, Student-t interval clipped at 0"
    return "mean, Student-t interval"


def render_kpis() -> str:
    """The Markdown of ``docs/kpis.md``: every KPI, group by group."""
    lines = [_KPIS_INTRO.rstrip("\n")]
    for group, heading in GROUPS.items():
        kpis = [kpi for kpi in KPIS if kpi.group == group]
        if not kpis:
            continue
        lines += [
            "", f"## {heading}", "",
            "| KPI | unit | definition | across replicates |", "|---|---|---|---|",
        ]  # fmt: skip
        lines += [
            f"| `{kpi.name}` | {unit_text(kpi)} | {_cell(kpi.definition)} | "
            f"{replicates_text(kpi)} |"
            for kpi in kpis
        ]
    return "\n".join(lines) + "\n"


def _generated() -> dict[Path, str]:
    return {OUTPUTS_PATH: render_outputs(), KPIS_PATH: render_kpis()}


_FILES = GeneratedFiles(REGENERATE_COMMAND, __doc__.split("\n")[0], _generated)


def write_docs(root: str | Path) -> list[Path]:
    """Write the generated files under ``root`` (the project root); return their paths."""
    return _FILES.write(root)


def stale_docs(root: str | Path) -> list[Path]:
    """The generated files under ``root`` that are missing or differ from the code."""
    return _FILES.stale(root)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: regenerate the files, or with ``--check`` report whether they are stale."""
    return _FILES.main(argv)


if __name__ == "__main__":
    raise SystemExit(main())
