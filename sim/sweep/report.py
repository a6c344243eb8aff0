"""Summaries of a sweep's runs table: KPI means with Student-t confidence intervals.

Each parameter combination's completed runs (its replicates) are one sample; the interval of a
KPI's mean is ``mean ± t(1 - α/2, n - 1) · s / √n`` with ``s`` the sample standard deviation.
With a single replicate the interval is undefined (NaN).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from carreta.sim.output.kpis import KPI_DESCRIPTIONS
from carreta.sim.sweep.results import TABLE_FILE

__all__ = ["format_summary", "parameter_columns", "read_runs_table", "summarise_runs"]


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


def summarise_runs(
    table: pd.DataFrame, *, kpis: Sequence[str] | None = None, confidence: float = 0.95
) -> pd.DataFrame:
    """KPI means and confidence intervals across replicates, per parameter combination.

    Parameters
    ----------
    table
        A runs table (``runs.parquet``); only completed runs count.
    kpis
        KPI names to summarise (default: every KPI).
    confidence
        Confidence level of the intervals, in (0, 1).

    Returns
    -------
    pandas.DataFrame
        One row per parameter combination (in the table's order): the parameter columns,
        ``runs`` (completed replicates), then ``<kpi>_mean``, ``<kpi>_ci_low`` and
        ``<kpi>_ci_high`` for each KPI.
    """
    names = list(kpis) if kpis is not None else [k for k in KPI_DESCRIPTIONS if k in table]
    parameters = parameter_columns(table)
    completed = table[table["status"] == "completed"]
    keys = parameters if parameters else [pd.Series(0, index=completed.index, name="all")]
    grouped = completed.groupby(keys, sort=False, dropna=False)
    count = grouped.size()
    result = pd.DataFrame({"runs": count})
    for name in names:
        values = grouped[name]
        mean = values.mean()
        sd = values.std(ddof=1)
        n = values.count()
        quantile = pd.Series(
            [stats.t.ppf(0.5 + confidence / 2, k - 1) if k > 1 else np.nan for k in n],
            index=n.index,
        )
        half: pd.Series = quantile * sd / np.sqrt(n.astype(float))
        result[f"{name}_mean"] = mean
        result[f"{name}_ci_low"] = mean - half
        result[f"{name}_ci_high"] = mean + half
    result = result.reset_index()
    return result.drop(columns=["all"]) if not parameters else result


def _number(value: float) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:,.4g}" if abs(value) < 1e6 else f"{value:,.0f}"


def format_summary(summary: pd.DataFrame, *, kpis: Sequence[str], confidence: float) -> str:
    """The summary as text: one block per combination, one line per KPI."""
    parameters = list(summary.columns[: list(summary.columns).index("runs")])
    width = max((len(name) for name in kpis), default=0)
    level = f"{100 * confidence:g} % CI"
    blocks = []
    for row in summary.to_dict("records"):
        shown = "  ".join(f"{name}={row[name]}" for name in parameters) or "all runs"
        lines = [f"{shown}  ({row['runs']} runs)"]
        for name in kpis:
            mean = row[f"{name}_mean"]
            low, high = row[f"{name}_ci_low"], row[f"{name}_ci_high"]
            interval = f"{level} [{_number(low)}, {_number(high)}]" if not math.isnan(low) else ""
            lines.append(f"  {name:<{width}}  {_number(mean):>10}  {interval}".rstrip())
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)
