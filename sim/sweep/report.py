"""Summaries of a sweep's runs table: one compact table a planner can decide on.

:func:`summarise_runs` gives, per parameter combination and KPI, the estimate and confidence
interval across replicates (:func:`carreta.sim.output.statistics.replicate_intervals`: Wilson over
the pooled orders for shares of orders, Student-t for means). :func:`compact_table` turns it into
one row per combination and one column per headline KPI, ``value ± half-width``, shares in %.

``carreta sweep-report DIR`` prints that table and writes, beside ``runs.parquet``:

- ``summary.csv``: one row per combination × KPI (every KPI), with ``estimate``, ``low``,
  ``high``, ``half_width``, ``method``, ``replicates`` and the pooled ``successes`` / ``trials``
  of shares of orders; shares as fractions in [0, 1];
- ``summary.md``: the printed table in Markdown, with its legend.

Both are derived from ``runs.parquet`` and replaced atomically by every ``sweep-report`` (the
last report wins); the runs and their tables are never touched.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Final

import pandas as pd
import yaml

from carreta.routing.files import write_text_atomic
from carreta.sim.errors import RunDirError
from carreta.sim.output.kpi_definitions import COUNT, KPI_BY_NAME, MISSING, is_share, kpi_label
from carreta.sim.output.statistics import replicate_intervals
from carreta.sim.scenario.labels import parameter_labels
from carreta.sim.sweep.results import RESOLVED_FILE, TABLE_FILE

__all__ = [
    "DEFAULT_KPIS",
    "SUMMARY_CSV",
    "SUMMARY_MARKDOWN",
    "compact_table",
    "completed_runs",
    "format_interval",
    "format_markdown",
    "format_text",
    "legend",
    "parameter_columns",
    "parameter_labels_of",
    "read_runs_table",
    "summarise_runs",
    "write_summary",
]

#: The headline KPIs ``carreta sweep-report`` shows when none are chosen (``--kpi``).
DEFAULT_KPIS: Final = (
    "on_time_share",
    "service_rate",
    "lead_time_p95_min",
    "utilisation",
    "km_per_delivery",
    "cost_per_delivery_eur",
)
SUMMARY_CSV: Final = "summary.csv"
SUMMARY_MARKDOWN: Final = "summary.md"
#: Column of the compact table with the completed replicates of each combination.
RUNS_COLUMN: Final = "runs"


def read_runs_table(out_dir: Path) -> pd.DataFrame:
    """Read ``DIR/runs.parquet``.

    Raises
    ------
    FileNotFoundError
        If the folder has no runs table (it is not a sweep folder, or no sweep ran there).
    """
    path = Path(out_dir) / TABLE_FILE
    if not path.is_file():
        raise FileNotFoundError(2, "no runs table (is this a sweep folder?)", str(path))
    return pd.read_parquet(path)


def parameter_columns(table: pd.DataFrame) -> list[str]:
    """The parameter columns of a runs table: those between ``seed`` and ``status``."""
    columns = list(table.columns)
    return columns[columns.index("seed") + 1 : columns.index("status")]


def parameter_labels_of(out_dir: Path, parameters: Sequence[str]) -> dict[str, str]:
    """Human labels of a sweep's parameters (``fleet.robots[0].count`` → ``robots at
    saint-roch``), naming hubs and groups from the base scenario in ``sweep.resolved.yaml``
    (:func:`carreta.sim.scenario.labels.parameter_label`; numbered when the file is absent)."""
    path = Path(out_dir) / RESOLVED_FILE
    base = None
    if path.is_file():
        try:
            resolved = yaml.safe_load(path.read_text("utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
            raise RunDirError(f"{path}: not a readable YAML file ({error})") from error
        if isinstance(resolved, dict) and isinstance(resolved.get("base_scenario"), dict):
            base = resolved["base_scenario"]
    return parameter_labels(list(parameters), base)


def completed_runs(table: pd.DataFrame) -> pd.DataFrame:
    """The rows of completed runs (failed and pending runs have no KPIs)."""
    return table[table["status"] == "completed"].reset_index(drop=True)


def summarise_runs(
    table: pd.DataFrame, *, kpis: Sequence[str] | None = None, level: float = 0.95
) -> pd.DataFrame:
    """Estimate and confidence interval of each KPI per parameter combination.

    Parameters
    ----------
    table
        A runs table (``runs.parquet``); only completed runs count.
    kpis
        KPI names (default: every KPI in the table).
    level
        Confidence level, in (0, 1).

    Returns
    -------
    pandas.DataFrame
        :func:`~carreta.sim.output.statistics.replicate_intervals` over the parameter columns:
        one row per combination (with a completed run) × KPI.

    Raises
    ------
    RunDirError
        If a KPI asked for is not in the table (a sweep written by an older version).
    """
    absent = [name for name in kpis or () if name not in table.columns]
    if absent:
        raise RunDirError(
            f"{TABLE_FILE} has no column {', '.join(absent)} (written by an older carreta? "
            "run the sweep again into a new folder)"
        )
    return replicate_intervals(
        completed_runs(table), parameter_columns(table), kpis=kpis, level=level
    )


def _decimals(name: str, value: float) -> int:
    kpi = KPI_BY_NAME.get(name)
    if kpi is not None and (kpi.is_share or kpi.unit == COUNT):
        return 1  # shares in percent; counts are means of whole numbers
    magnitude = abs(value)
    return 0 if magnitude >= 100 else 1 if magnitude >= 10 else 2


def format_interval(name: str, estimate: float, low: float, high: float) -> str:
    """A KPI's estimate and interval as a table cell: ``"84.2 ± 3.1"`` (shares in percent,
    without the sign: the column label has it), ``"100.0 [95.6, 100.0]"`` when the interval is
    clearly not centred on the estimate (a Wilson interval near 0 or 100 %, a clipped mean),
    ``"12.3 ± –"`` without an interval (one replicate), ``"–"`` without a value."""
    if estimate is None or math.isnan(estimate):
        return MISSING
    scale = 100.0 if is_share(name) else 1.0
    digits = _decimals(name, estimate)
    value = f"{scale * estimate:,.{digits}f}"
    if low is None or high is None or math.isnan(low) or math.isnan(high):
        return f"{value} ± {MISSING}"
    below, above = scale * (estimate - low), scale * (high - estimate)
    if abs(above - below) > 0.25 * max(above, below):
        return f"{value} [{scale * low:,.{digits}f}, {scale * high:,.{digits}f}]"
    return f"{value} ± {scale * (high - low) / 2.0:,.{digits}f}"


def compact_table(
    table: pd.DataFrame,
    summary: pd.DataFrame,
    *,
    kpis: Sequence[str],
    labels: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """One row per parameter combination of ``table`` (also those without a completed run),
    one column per KPI of ``kpis`` (:func:`format_interval` text, headed by its label), after
    the parameter columns and ``runs`` (completed replicates). ``labels`` heads the parameter
    columns (:func:`parameter_labels_of`); default: their field paths."""
    parameters = parameter_columns(table)
    if parameters:
        combinations = table[parameters].drop_duplicates().reset_index(drop=True)
    else:
        combinations = pd.DataFrame(index=range(1))
    cells: dict[str, list[str]] = {column: [] for column in [RUNS_COLUMN, *map(kpi_label, kpis)]}
    completed = completed_runs(table)
    for combination in combinations.itertuples(index=False):
        values = dict(zip(parameters, combination, strict=True))
        rows = _matching(summary, values)
        cells[RUNS_COLUMN].append(str(int((_matching(completed, values)).shape[0])))
        for name in kpis:
            found = rows[rows["kpi"] == name]
            text = MISSING
            if len(found):
                row = found.iloc[0]
                text = format_interval(name, row["estimate"], row["low"], row["high"])
            cells[kpi_label(name)].append(text)
    shown = combinations.astype(object).map(_parameter_text) if parameters else combinations
    if labels:
        shown = shown.rename(columns=dict(labels))
    return pd.concat([shown, pd.DataFrame(cells)], axis=1)


def _matching(frame: pd.DataFrame, values: dict[str, object]) -> pd.DataFrame:
    mask = pd.Series(True, index=frame.index)
    for column, value in values.items():
        missing = value is None or (isinstance(value, float) and math.isnan(value))
        mask &= frame[column].isna() if missing else frame[column] == value
    return frame[mask]


def _parameter_text(value: object) -> str:
    if isinstance(value, float):
        return MISSING if math.isnan(value) else f"{value:g}"
    return str(value)


def legend(kpis: Sequence[str], *, level: float) -> list[str]:
    """The lines explaining the table's cells."""
    percent = f"{100 * level:g} %"
    lines = []
    if any(KPI_BY_NAME.get(name) is not None and KPI_BY_NAME[name].over_orders for name in kpis):
        lines.append(
            f"shares of orders [%]: orders pooled over the replicates, ± {percent} Wilson interval"
        )
    lines.append(
        f"other KPIs: mean of the replicates ± {percent} Student-t half-width "
        f"(± {MISSING}: one replicate, no interval)"
    )
    lines.append("[low, high]: interval not centred on the value (near a bound); runs: completed")
    return lines


def _widths(compact: pd.DataFrame) -> list[int]:
    return [max(len(str(column)), *(len(text) for text in compact[column])) for column in compact]


def format_text(compact: pd.DataFrame, *, parameters: int) -> str:
    """The compact table as aligned text: the first ``parameters`` columns (the parameters)
    left-aligned, the numbers right-aligned."""
    widths = _widths(compact)

    def line(texts: Sequence[str]) -> str:
        parts = [
            text.ljust(width) if i < parameters else text.rjust(width)
            for i, (text, width) in enumerate(zip(texts, widths, strict=True))
        ]
        return "  ".join(parts).rstrip()

    header = line([str(column) for column in compact.columns])
    rule = "  ".join("-" * width for width in widths)
    body = [line(list(row)) for row in compact.itertuples(index=False)]
    return "\n".join([header, rule, *body])


def format_markdown(
    compact: pd.DataFrame, *, parameters: int, title: str, notes: Sequence[str]
) -> str:
    """The compact table as a Markdown document: a title, the table, the notes."""
    columns = [str(column).replace("|", "\\|") for column in compact.columns]
    align = ["---" if i < parameters else "---:" for i in range(len(columns))]
    rows = [
        "| " + " | ".join(text.replace("|", "\\|") for text in row) + " |"
        for row in compact.itertuples(index=False)
    ]
    table = ["| " + " | ".join(columns) + " |", "|" + "|".join(align) + "|", *rows]
    return "\n".join([f"# {title}", "", *table, "", *(f"- {note}" for note in notes)]) + "\n"


def write_summary(out_dir: Path, summary: pd.DataFrame, markdown: str) -> tuple[Path, Path]:
    """Replace ``summary.csv`` (``summary`` as CSV) and ``summary.md`` (``markdown``) in the
    sweep folder, each atomically.

    Returns
    -------
    tuple of Path
        The CSV and Markdown files.
    """
    folder = Path(out_dir)
    csv = write_text_atomic(folder / SUMMARY_CSV, summary.to_csv(index=False))
    written = write_text_atomic(folder / SUMMARY_MARKDOWN, markdown)
    return csv, written
