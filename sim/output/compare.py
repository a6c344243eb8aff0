"""Runs side by side: their KPIs, the differences, and whether they saw the same orders.

Plain functions on run directories (``kpis.json`` and ``orders.parquet``); ``carreta compare``
(:mod:`carreta.sim.cli.compare`) prints :func:`format_runs` (two runs or more, each compared
with the first), the report page (:mod:`carreta.sim.viz.report`) shows :func:`compare_many`.
Two runs of one seed whose scenarios share the demand section see the same orders whatever their
fleets (robots or vans), and :func:`same_orders` checks it on the order tables. Values and units
are shown by :mod:`carreta.sim.output.kpi_definitions`, exactly as ``carreta run`` prints them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from carreta.sim.output.kpi_definitions import KPI_BY_NAME, format_kpi, unit_label
from carreta.sim.output.rundir import RunDirError

__all__ = [
    "DEMAND_COLUMNS",
    "HEADLINE_KPIS",
    "PER_PARCEL_KPIS",
    "RunSummary",
    "change_text",
    "compare_kpis",
    "compare_many",
    "format_comparison",
    "format_runs",
    "kpi_order",
    "read_run_summary",
    "run_labels",
    "same_orders",
]

DEMAND_COLUMNS = ("order_id", "created_s", "lon", "lat", "weight_kg")
"""Order-table columns that describe the demand itself (not how it was served)."""

PER_PARCEL_KPIS = (
    "km_per_delivery",
    "co2_g_per_delivery",
    "cost_per_delivery_eur",
    "lead_time_mean_min",
)
"""The KPIs a robots-versus-vans comparison is about."""

HEADLINE_KPIS = ("on_time_share", "service_rate", "lead_time_p95_min", *PER_PARCEL_KPIS)
"""The KPIs a comparison shows first: service, then the cost of each parcel."""


@dataclass(frozen=True)
class RunSummary:
    """What a comparison needs of a run directory: its name, KPIs and orders."""

    path: Path
    name: str
    kpis: dict[str, float | int | None]
    orders: pd.DataFrame


def read_run_summary(path: str | Path) -> RunSummary:
    """Read ``kpis.json`` and ``orders.parquet`` of a run directory.

    Raises
    ------
    RunDirError
        If the folder is missing or lacks a readable ``kpis.json`` or ``orders.parquet``.
    """
    folder = Path(path)
    if not folder.is_dir():
        raise RunDirError(f"{folder}: no such run directory")
    kpis_file, orders_file = folder / "kpis.json", folder / "orders.parquet"
    for needed in (kpis_file, orders_file):
        if not needed.is_file():
            raise RunDirError(f"{needed}: missing (is this a carreta run directory?)")
    try:
        kpis = json.loads(kpis_file.read_text("utf-8"))
    except (OSError, ValueError) as error:
        raise RunDirError(f"{kpis_file}: not readable KPIs ({error})") from error
    if not isinstance(kpis, dict):
        raise RunDirError(f"{kpis_file}: not readable KPIs (expected a mapping)")
    try:
        orders = pd.read_parquet(orders_file)
    except (OSError, ValueError) as error:
        raise RunDirError(f"{orders_file}: not a readable Parquet table ({error})") from error
    return RunSummary(folder, folder.name, kpis, orders)


def same_orders(first: pd.DataFrame, second: pd.DataFrame) -> bool:
    """Whether two order tables describe the same demand (:data:`DEMAND_COLUMNS`)."""
    columns = [name for name in DEMAND_COLUMNS if name in first and name in second]
    if len(columns) != len(DEMAND_COLUMNS) or len(first) != len(second):
        return False
    return bool(
        first[columns].reset_index(drop=True).equals(second[columns].reset_index(drop=True))
    )


def _number(value: object) -> float:
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return math.nan
    return float(value)


def compare_kpis(
    first: dict[str, float | int | None],
    second: dict[str, float | int | None],
    names: Sequence[str] | None = None,
) -> pd.DataFrame:
    """KPIs of two runs with ``difference`` (second − first), ``change`` (a fraction) and
    ``whole`` (whether both runs give the KPI as a whole number).

    ``names`` defaults to :data:`HEADLINE_KPIS`, then every other KPI known to either run
    (in :data:`~carreta.sim.output.kpi_definitions.KPIS` order, then unknown ones).
    """
    table = compare_many([first, second], names)
    return table.rename(columns={"run_0": "first", "run_1": "second", "difference_1": "difference",
                                 "change_1": "change"})[
        ["kpi", "first", "second", "difference", "change", "whole"]
    ]  # fmt: skip


def kpi_order(runs: Sequence[dict[str, float | int | None]]) -> list[str]:
    """:data:`HEADLINE_KPIS` first, then every other KPI known to any of ``runs``
    (in :data:`~carreta.sim.output.kpi_definitions.KPIS` order, then unknown ones)."""
    known = [*HEADLINE_KPIS, *KPI_BY_NAME, *(name for run in runs for name in run)]
    return list(dict.fromkeys(name for name in known if any(name in run for run in runs)))


def compare_many(
    runs: Sequence[dict[str, float | int | None]], names: Sequence[str] | None = None
) -> pd.DataFrame:
    """KPIs of N runs side by side, each compared with the first.

    Parameters
    ----------
    runs
        Two or more KPI mappings (``kpis.json``).
    names
        KPIs to show (default :func:`kpi_order`).

    Returns
    -------
    pandas.DataFrame
        One row per KPI: ``kpi``, ``run_0`` … ``run_<n-1>`` (floats, NaN when missing), for each
        run ``i`` ≥ 1 ``difference_i`` (run i − run 0) and ``change_i`` (a fraction of run 0;
        NaN when run 0 is 0 or missing), and ``whole`` (every run gives the KPI as an int).
    """
    if names is None:
        names = kpi_order(runs)
    rows = []
    for name in names:
        values = [_number(run.get(name)) for run in runs]
        row: dict[str, object] = {"kpi": name}
        row.update({f"run_{i}": value for i, value in enumerate(values)})
        base = values[0]
        for i, value in enumerate(values[1:], start=1):
            row[f"difference_{i}"] = value - base
            row[f"change_{i}"] = (
                (value - base) / abs(base) if math.isfinite(base) and base != 0 else math.nan
            )
        row["whole"] = all(_is_count(run.get(name)) for run in runs)
        rows.append(row)
    columns = ["kpi", *(f"run_{i}" for i in range(len(runs)))]
    columns += [f"{kind}_{i}" for i in range(1, len(runs)) for kind in ("difference", "change")]
    return pd.DataFrame(rows, columns=[*columns, "whole"])


def _is_count(value: object) -> bool:
    return value is None or (isinstance(value, int) and not isinstance(value, bool))


def _value(name: str, value: float, *, whole: bool, signed: bool = False) -> str:
    """:func:`format_kpi` of a table value (a float there; ``whole``: both runs stored an int)."""
    shown: float = int(value) if whole and math.isfinite(value) else value
    return format_kpi(name, shown, signed=signed)


def change_text(change: float) -> str:
    """A relative change as text: ``"+12.5 %"``, ``"–"`` when undefined."""
    return "–" if math.isnan(change) else f"{100.0 * change:+.1f} %"


def format_comparison(
    first: RunSummary, second: RunSummary, names: Sequence[str] | None = None
) -> str:
    """Two runs' comparison as aligned text (:func:`format_runs` of the pair)."""
    return format_runs([first, second], names)


def run_labels(runs: Sequence[RunSummary]) -> list[str]:
    """A short distinct label per run: its folder name (parent/name when two share a name)."""
    names = [run.name for run in runs]
    if len(set(names)) == len(names):
        return names
    return [f"{run.path.parent.name}/{run.name}" if names.count(run.name) > 1 else run.name
            for run in runs]  # fmt: skip


def format_runs(runs: Sequence[RunSummary], names: Sequence[str] | None = None) -> str:
    """N runs as aligned text: the headline KPIs (:data:`HEADLINE_KPIS`) first, then the
    others, each run's value, then for every run after the first its difference from the first
    and the relative change, then the unit; last, whether they saw the same orders."""
    if len(runs) < 2:
        raise ValueError("a comparison needs at least two runs")
    table = compare_many([run.kpis for run in runs], names)
    labels = run_labels(runs)
    width = max([len(name) for name in table["kpi"]] + [len("KPI")])
    value_width = max(16, *(min(len(label), 24) for label in labels))
    header = f"{'KPI':<{width}}" + "".join(f"  {label[:24]:>{value_width}}" for label in labels)
    titles = ["difference"] if len(runs) == 2 else [
        f"{label[:10]} − {labels[0][:10]}" for label in labels[1:]
    ]  # fmt: skip
    difference_width = max(14, *(len(title) for title in titles))
    for title in titles:
        header += f"  {title:>{difference_width}}  {'change':>9}"
    header += "  unit"
    lines = [header, "-" * len(header)]
    for row in table.to_dict("records"):
        name, whole = str(row["kpi"]), bool(row["whole"])
        line = f"{name:<{width}}" + "".join(
            f"  {_value(name, row[f'run_{i}'], whole=whole):>{value_width}}"
            for i in range(len(runs))
        )
        for i in range(1, len(runs)):
            difference = _value(name, row[f"difference_{i}"], whole=whole, signed=True)
            line += f"  {difference:>{difference_width}}  {change_text(row[f'change_{i}']):>9}"
        lines.append(f"{line}  {unit_label(name)}".rstrip())
        if names is None and name == HEADLINE_KPIS[-1]:
            lines.append("")
    base = runs[0]
    same = [same_orders(base.orders, run.orders) for run in runs[1:]]
    if all(same):
        lines.append(
            f"\nsame orders: {len(base.orders):,} orders with identical {', '.join(DEMAND_COLUMNS)}"
        )
    else:
        differ = ", ".join(label for label, ok in zip(labels[1:], same, strict=True) if not ok)
        lines.append(
            f"\ndifferent orders: {differ} did not see the same demand as {labels[0]} (another "
            "seed, demand section or window?), so their KPIs are not paired"
        )
    return "\n".join(lines)
