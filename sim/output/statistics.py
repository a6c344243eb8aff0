"""Replicate statistics: each KPI's estimate and confidence interval per parameter combination.

The method follows the KPI's definition (:mod:`carreta.sim.output.kpi_definitions`), so an
interval never leaves the range the KPI can take:

- **Shares of orders** (``over_orders``: ``on_time_share``, ``service_rate``...): the counts are
  pooled across the replicates, estimate = Σ numerator / Σ denominator, with the Wilson score
  interval of that proportion (method ``wilson_pooled``). It stays in [0, 1], also when no order
  or every order succeeded, and a single replicate gets the interval of its own orders. The
  orders are treated as independent trials: orders of one day share the same robots, so when
  replicates differ more than that allows, the interval is too narrow (compare the replicates'
  own values, which ``carreta plot`` draws as dots).
- **Other KPIs**: the mean of the replicates with a Student-t interval
  (``mean ± t(1 − α/2, n − 1) · s / √n``, method ``student_t``), clipped at 0 for KPIs that
  cannot be negative and to [0, 1] for other shares (``utilisation``). With one replicate there
  is no interval: ``low``, ``high`` and ``half_width`` are NaN (method ``one_replicate``).
- A share of orders whose count columns are missing (a table written by an older version) is
  treated as another share (``student_t``); the ``method`` column says which was used.

Rows the KPI has no value for (a lead time when nothing was delivered, a share of no orders)
are left out, and a combination left without any gets method ``no_data``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import stats

from carreta.sim.output.kpi_definitions import KPI_BY_NAME, KPIS, KpiDefinition

__all__ = [
    "INTERVAL_COLUMNS",
    "NO_DATA",
    "ONE_REPLICATE",
    "STUDENT_T",
    "WILSON_POOLED",
    "replicate_intervals",
    "wilson_interval",
]

#: Method of a share of orders: Wilson score interval over the orders pooled across replicates.
WILSON_POOLED: Final = "wilson_pooled"
#: Method of other KPIs: mean of the replicates, Student-t interval.
STUDENT_T: Final = "student_t"
#: A mean of a single replicate: no interval (NaN bounds).
ONE_REPLICATE: Final = "one_replicate"
#: No replicate has a value for the KPI.
NO_DATA: Final = "no_data"

#: Columns :func:`replicate_intervals` adds after the grouping keys.
INTERVAL_COLUMNS: Final = (
    "kpi", "replicates", "estimate", "low", "high", "half_width", "method", "successes", "trials",
)  # fmt: skip


def wilson_interval(
    successes: ArrayLike, trials: ArrayLike, *, level: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of the proportion ``successes / trials`` (no continuity correction).

    Parameters
    ----------
    successes, trials
        Counts (scalars or arrays of the same shape), ``0 <= successes <= trials``.
    level
        Confidence level, in (0, 1).

    Returns
    -------
    tuple of numpy.ndarray
        ``(low, high)`` within [0, 1]; NaN where ``trials`` is 0 or missing.
    """
    k = np.asarray(successes, dtype=float)
    n = np.asarray(trials, dtype=float)
    z = float(stats.norm.ppf(0.5 + level / 2.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        p = k / n
        shrink = 1.0 + z**2 / n
        centre = (p + z**2 / (2.0 * n)) / shrink
        half = z / shrink * np.sqrt(np.maximum(p * (1.0 - p), 0.0) / n + z**2 / (4.0 * n**2))
    known = n > 0
    # exact bounds at 0 and at every success (the formula gives them up to rounding)
    low = np.where(known, np.where(k <= 0, 0.0, np.clip(centre - half, 0.0, 1.0)), np.nan)
    high = np.where(known, np.where(k >= n, 1.0, np.clip(centre + half, 0.0, 1.0)), np.nan)
    return low, high


def _pooled_counts(kpi: KpiDefinition, runs: pd.DataFrame) -> tuple[pd.Series, pd.Series] | None:
    """The numerator and denominator counts of each run, or None if a column is missing."""
    if kpi.numerator is None or kpi.denominator is None:
        return None
    try:
        counts = pd.DataFrame(
            {"k": kpi.numerator(runs), "n": kpi.denominator(runs)}, index=runs.index
        ).astype("float64")
    except KeyError:
        return None
    return counts["k"], counts["n"]


def _pooled(
    counts: tuple[pd.Series, pd.Series],
    codes: pd.Series,
    groups: int,
    level: float,
) -> dict[str, object]:
    numerator, denominator = counts
    known = numerator.notna() & denominator.notna()
    by_group = pd.DataFrame(
        {"k": numerator.where(known), "n": denominator.where(known), "runs": known}
    ).groupby(codes)
    totals = by_group.sum(min_count=0).reindex(range(groups), fill_value=0)
    successes = totals["k"].to_numpy(float)
    trials = totals["n"].to_numpy(float)
    low, high = wilson_interval(successes, trials, level=level)
    with np.errstate(divide="ignore", invalid="ignore"):
        estimate = np.where(trials > 0, successes / trials, np.nan)
    return {
        "replicates": totals["runs"].to_numpy(int),
        "estimate": estimate,
        "low": low,
        "high": high,
        "half_width": (high - low) / 2.0,
        "method": np.where(trials > 0, WILSON_POOLED, NO_DATA),
        "successes": pd.array(np.round(successes), dtype="Int64"),
        "trials": pd.array(np.round(trials), dtype="Int64"),
    }


def _mean(
    kpi: KpiDefinition | None,
    values: pd.Series,
    codes: pd.Series,
    groups: int,
    level: float,
) -> dict[str, object]:
    aggregated = values.groupby(codes).agg(["count", "mean", "std"]).reindex(range(groups))
    n = aggregated["count"].fillna(0).to_numpy(int)
    mean = aggregated["mean"].to_numpy(float)
    sd = aggregated["std"].to_numpy(float)  # sample standard deviation (ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        quantile = stats.t.ppf(0.5 + level / 2.0, np.where(n > 1, n - 1, np.nan))
        half = quantile * sd / np.sqrt(n)
    low, high = mean - half, mean + half
    if kpi is not None and (kpi.nonnegative or kpi.is_share):
        low = np.maximum(low, 0.0)  # NaN stays NaN
    if kpi is not None and kpi.is_share:
        high = np.minimum(high, 1.0)
    method = np.select([n > 1, n == 1], [STUDENT_T, ONE_REPLICATE], NO_DATA)
    missing = pd.array([pd.NA] * groups, dtype="Int64")
    return {
        "replicates": n,
        "estimate": mean,
        "low": low,
        "high": high,
        "half_width": (high - low) / 2.0,
        "method": method,
        "successes": missing,
        "trials": missing,
    }


def _default_kpis(runs: pd.DataFrame) -> list[str]:
    return [kpi.name for kpi in KPIS if kpi.name in runs.columns]


def replicate_intervals(
    runs: pd.DataFrame,
    keys: Sequence[str],
    *,
    kpis: Sequence[str] | None = None,
    level: float = 0.95,
) -> pd.DataFrame:
    """Estimate and confidence interval of each KPI, per combination of the ``keys`` columns.

    Parameters
    ----------
    runs
        One row per completed run (filter failed runs out first): the ``keys`` columns and KPI
        columns, like a sweep's ``runs.parquet``.
    keys
        Columns whose combinations are compared (the swept parameters); empty: all runs form
        one group.
    kpis
        KPI columns (default: every KPI of :data:`~carreta.sim.output.kpi_definitions.KPIS`
        in the table, in that order). Columns that are not known KPIs are averaged.
    level
        Confidence level, in (0, 1).

    Returns
    -------
    pandas.DataFrame
        One row per combination × KPI, combinations in order of first appearance, KPIs in the
        order asked: the ``keys`` columns, then :data:`INTERVAL_COLUMNS`: ``kpi``,
        ``replicates`` (runs with a value), ``estimate``, ``low``, ``high``, ``half_width``
        (``(high − low) / 2``: the interval is not centred on the estimate when it is a Wilson
        interval or was clipped), ``method`` (:data:`WILSON_POOLED`, :data:`STUDENT_T`,
        :data:`ONE_REPLICATE` or ``no_data``), and for pooled shares the pooled ``successes``
        and ``trials`` (orders).

    Raises
    ------
    ValueError
        If ``level`` is not in (0, 1), or a key or KPI column is missing.
    """
    if not 0.0 < level < 1.0:
        raise ValueError(f"confidence level must be in (0, 1), not {level}")
    keys = list(keys)
    names = list(kpis) if kpis is not None else _default_kpis(runs)
    missing = [column for column in keys if column not in runs.columns]
    missing += [name for name in names if name not in runs.columns and not _has_counts(name, runs)]
    if missing:
        raise ValueError(f"the runs table has no column {', '.join(map(repr, missing))}")
    runs = runs.reset_index(drop=True)
    if keys:
        codes = runs.groupby(keys, sort=False, dropna=False).ngroup()
        first = codes.drop_duplicates()  # a row of each combination, labelled by its code
        combinations = runs.loc[first.index, keys].set_axis(first.to_numpy()).sort_index()
    else:
        codes = pd.Series(0, index=runs.index)
        combinations = pd.DataFrame(index=range(min(len(runs), 1)))
    groups = len(combinations)
    blocks = [
        pd.DataFrame({"kpi": name, **_interval_columns(name, runs, codes, groups, level)})
        for name in names
    ]
    if not blocks or groups == 0:
        return pd.DataFrame(columns=[*keys, *INTERVAL_COLUMNS])
    # combination-major: row i * len(names) + j is combination i, KPI j
    rows = np.arange(groups * len(names)).reshape(len(names), groups).T.ravel()
    values = pd.concat(blocks, ignore_index=True).iloc[rows].reset_index(drop=True)
    keys_part = combinations.iloc[np.repeat(np.arange(groups), len(names))]
    return pd.concat([keys_part.reset_index(drop=True), values[list(INTERVAL_COLUMNS)]], axis=1)


def _interval_columns(
    name: str, runs: pd.DataFrame, codes: pd.Series, groups: int, level: float
) -> dict[str, object]:
    kpi = KPI_BY_NAME.get(name)
    counts = _pooled_counts(kpi, runs) if kpi is not None else None
    if kpi is not None and counts is not None:
        return _pooled(counts, codes, groups, level)
    values = pd.to_numeric(runs[name], errors="coerce").astype("float64")
    return _mean(kpi, values, codes, groups, level)


def _has_counts(name: str, runs: pd.DataFrame) -> bool:
    kpi = KPI_BY_NAME.get(name)
    return kpi is not None and _pooled_counts(kpi, runs.head(0)) is not None
