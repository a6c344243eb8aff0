"""Two runs side by side: their KPIs, the differences, and whether they saw the same orders.

Plain functions on run directories (``kpis.json`` and ``orders.parquet``); ``carreta compare``
(:mod:`carreta.sim.cli.compare`) prints :func:`format_comparison`. Two runs of one seed whose
scenarios share the demand section see the same orders whatever their fleets (robots or vans), and
:func:`same_orders` checks it on the order tables. Values and units are shown by
:mod:`carreta.sim.output.kpi_definitions`, exactly as ``carreta run`` prints them.
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
    "PER_PARCEL_KPIS",
    "RunSummary",
    "compare_kpis",
    "format_comparison",
    "read_run_summary",
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
"""The KPIs a robots-versus-vans comparison is about, shown first."""


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

    ``names`` defaults to :data:`PER_PARCEL_KPIS`, then every other KPI known to either run
    (in :data:`~carreta.sim.output.kpi_definitions.KPIS` order, then unknown ones).
    """
    if names is None:
        known = [*PER_PARCEL_KPIS, *KPI_BY_NAME, *first, *second]
        names = list(dict.fromkeys(name for name in known if name in first or name in second))
    rows = []
    for name in names:
        a, b = _number(first.get(name)), _number(second.get(name))
        change = (b - a) / abs(a) if math.isfinite(a) and a != 0 else math.nan
        counts = all(_is_count(run.get(name)) for run in (first, second))
        rows.append(
            {"kpi": name, "first": a, "second": b, "difference": b - a, "change": change,
             "whole": counts}
        )  # fmt: skip
    return pd.DataFrame(rows, columns=["kpi", "first", "second", "difference", "change", "whole"])


def _is_count(value: object) -> bool:
    return value is None or (isinstance(value, int) and not isinstance(value, bool))


def _value(name: str, value: float, *, whole: bool, signed: bool = False) -> str:
    """:func:`format_kpi` of a table value (a float there; ``whole``: both runs stored an int)."""
    shown: float = int(value) if whole and math.isfinite(value) else value
    return format_kpi(name, shown, signed=signed)


def format_comparison(
    first: RunSummary, second: RunSummary, names: Sequence[str] | None = None
) -> str:
    """The comparison as aligned text: per-parcel KPIs first, then the others, then orders."""
    table = compare_kpis(first.kpis, second.kpis, names)
    width = max([len(name) for name in table["kpi"]] + [len("KPI")])
    header = (
        f"{'KPI':<{width}}  {first.name[:16]:>16}  {second.name[:16]:>16}  "
        f"{'difference':>14}  {'change':>9}  unit"
    )
    lines = [header, "-" * len(header)]
    for row in table.to_dict("records"):
        name, whole = str(row["kpi"]), bool(row["whole"])
        change = "–" if math.isnan(row["change"]) else f"{100.0 * row['change']:+.1f} %"
        lines.append(
            f"{name:<{width}}  {_value(name, row['first'], whole=whole):>16}  "
            f"{_value(name, row['second'], whole=whole):>16}  "
            f"{_value(name, row['difference'], whole=whole, signed=True):>14}  {change:>9}  "
            f"{unit_label(name)}".rstrip()
        )
        if names is None and name == PER_PARCEL_KPIS[-1]:
            lines.append("")
    if same_orders(first.orders, second.orders):
        lines.append(
            f"\nsame orders: {len(first.orders):,} orders with identical "
            f"{', '.join(DEMAND_COLUMNS)}"
        )
    else:
        lines.append(
            "\ndifferent orders: the runs did not see the same demand (another seed, demand "
            "section or window?), so their KPIs are not paired"
        )
    return "\n".join(lines)
