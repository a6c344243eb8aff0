"""Every KPI has one definition (:mod:`carreta.sim.output.kpi_definitions`): a unit, a group, a
way to combine replicates; ``carreta run`` and ``carreta compare`` show each one alike; and each
KPI can be recomputed from the run's tables."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pandas as pd
import pytest

from carreta.sim.cli.run import kpi_table
from carreta.sim.output.compare import format_comparison, read_run_summary
from carreta.sim.output.kpi_definitions import (
    COUNT,
    GROUPS,
    KPI_BY_NAME,
    KPIS,
    SHARE,
    format_kpi,
    kpi_label,
    unit_label,
)

COLUMNS = re.compile(r"\s{2,}")  # table columns are two or more spaces apart; values hold one


def test_names_are_unique_and_groups_known() -> None:
    assert len(KPI_BY_NAME) == len(KPIS)
    assert {kpi.group for kpi in KPIS} <= set(GROUPS)
    assert all(kpi.definition for kpi in KPIS)


def test_units_name_what_the_kpis_measure() -> None:
    for kpi in KPIS:
        name, unit = kpi.name, kpi.unit
        if name.endswith("_eur"):
            assert unit == "EUR", name
        elif name.endswith("_kwh"):
            assert unit == "kWh", name
        elif name.endswith(("_min", "_h", "_kg", "_km")):
            assert unit == name.rsplit("_", 1)[1], name
        elif name.startswith("orders_"):
            assert unit == COUNT, name
        elif name.endswith(("_share", "_rate", "utilisation")):
            assert unit == SHARE, name


def test_shares_over_orders_name_their_counts() -> None:
    for kpi in KPIS:
        if kpi.over_orders:
            assert kpi.is_share and kpi.denominator is not None, kpi.name
    over_orders = {kpi.name for kpi in KPIS if kpi.over_orders}
    assert {"on_time_share", "on_time_among_delivered", "service_rate"} == over_orders


@pytest.mark.parametrize(
    ("name", "value", "signed", "shown"),
    [
        ("on_time_share", 0.875, False, "87.5 %"),
        ("charger_utilisation", 0.0, False, "0.0 %"),
        ("operator_utilisation", 0.025, True, "+2.5 pt"),
        ("orders_delivered", 1204, False, "1,204"),
        ("orders_delivered", 1204.0, False, "1,204"),
        ("deliveries_per_robot_day", 12.5, False, "12.50"),
        ("breakdowns", -2, True, "-2"),
        ("robot_km", 1234.567, False, "1,234.57"),
        ("cost_per_delivery_eur", 0.5, True, "+0.50"),
        ("energy_kwh", 3, False, "3.00"),
        ("lead_time_p95_min", math.nan, False, "–"),
        ("service_rate", None, False, "–"),
        ("a_kpi_of_another_version", 7, False, "7"),
        ("a_kpi_of_another_version", 7.125, False, "7.12"),
    ],
)
def test_format_kpi(name: str, value: float | None, signed: bool, shown: str) -> None:
    assert format_kpi(name, value, signed=signed) == shown


def test_labels_carry_the_unit() -> None:
    assert unit_label("robot_km") == "km"
    assert unit_label("on_time_share") == ""  # "87.5 %" says it
    assert unit_label("orders_created") == ""
    assert kpi_label("energy_cost_eur") == "energy cost [EUR]"
    assert kpi_label("on_time_share") == "on time share [%]"
    assert kpi_label("orders_created") == "orders created"


@pytest.mark.slow
def test_the_tiny_run_has_exactly_the_defined_kpis(tiny_run_dir: Path) -> None:
    kpis = json.loads((tiny_run_dir / "kpis.json").read_text("utf-8"))
    assert sorted(kpis) == sorted(KPI_BY_NAME)


@pytest.mark.slow
def test_service_kpis_recomputed_from_orders_parquet(tiny_run_dir: Path) -> None:
    """An analyst's own count from orders.parquet gives the stored service KPIs."""
    kpis = json.loads((tiny_run_dir / "kpis.json").read_text("utf-8"))
    orders = pd.read_parquet(tiny_run_dir / "orders.parquet")
    outcome = orders["outcome"].astype(str)
    assert outcome.value_counts().sum() == len(orders) == kpis["orders_created"]
    on_time = int((outcome == "on_time").sum())
    due = len(orders) - int((outcome == "open_not_due").sum())
    delivered = orders["state"].astype(str) == "delivered"
    assert kpis["orders_on_time"] == on_time
    assert kpis["on_time_share"] == pytest.approx(on_time / due)
    assert kpis["on_time_among_delivered"] == pytest.approx(on_time / delivered.sum())
    assert on_time == int((delivered & (orders["delivered_s"] <= orders["due_s"])).sum())
    robots = pd.read_parquet(tiny_run_dir / "robots.parquet")
    assert kpis["robot_km"] == pytest.approx(robots["distance_km"].sum())


@pytest.mark.slow
def test_run_prints_groups_with_units_and_compare_agrees(tiny_run_dir: Path) -> None:
    stored = json.loads((tiny_run_dir / "kpis.json").read_text("utf-8"))
    printed = kpi_table(stored)
    headings = [line for line in printed.splitlines() if not line.startswith(" ")]
    assert headings == list(GROUPS.values())
    rows = [COLUMNS.split(line.strip()) for line in printed.splitlines() if line.startswith(" ")]
    shown_by_run = {cells[0].split(" [")[0]: cells[1] for cells in rows}
    assert list(shown_by_run) == list(KPI_BY_NAME)
    assert "robot_km [km]" in printed and "on_time_share [%]" in printed
    summary = read_run_summary(tiny_run_dir)
    compare_rows = [
        COLUMNS.split(line.strip()) for line in format_comparison(summary, summary).splitlines()
    ]
    shown_by_compare = {
        cells[0]: cells[1].removesuffix(" %") for cells in compare_rows if cells[0] in KPI_BY_NAME
    }
    assert shown_by_compare == shown_by_run
