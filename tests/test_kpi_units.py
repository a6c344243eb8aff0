"""One unit and one display per KPI (:mod:`carreta.sim.output.kpi_units`), shared by
``carreta run`` and ``carreta compare``."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest

from carreta.sim.cli.run import kpi_table
from carreta.sim.output.compare import format_comparison, read_run_summary
from carreta.sim.output.kpi_units import (
    COUNT,
    KPI_UNITS,
    RATE,
    format_kpi,
    is_rate,
    unit_label,
)
from carreta.sim.output.metrics import KPI_DESCRIPTIONS

COLUMNS = re.compile(r"\s{2,}")  # table columns are two or more spaces apart; values hold one


def test_every_defined_kpi_has_a_unit_and_no_unit_is_stale() -> None:
    assert sorted(KPI_UNITS) == sorted(KPI_DESCRIPTIONS)


def test_the_shares_are_exactly_the_rates() -> None:
    """A KPI described as a share of something is a fraction, shown in percent everywhere."""
    shares = {name for name, text in KPI_DESCRIPTIONS.items() if "share of" in text}
    assert shares == {name for name in KPI_UNITS if is_rate(name)}
    assert {"on_time_rate", "service_rate", "utilisation", "operator_utilisation"} <= shares


@pytest.mark.parametrize(
    ("name", "value", "signed", "shown"),
    [
        ("on_time_rate", 0.875, False, "87.5 %"),
        ("charger_utilisation", 0.0, False, "0.0 %"),
        ("operator_utilisation", 0.025, True, "+2.5 pt"),
        ("orders_delivered", 1204, False, "1,204"),
        ("orders_delivered", 1204.0, False, "1,204"),
        ("breakdowns", -2, True, "-2"),
        ("robot_km", 1234.567, False, "1,234.57"),
        ("cost_per_parcel_eur", 0.5, True, "+0.50"),
        ("energy_kwh", 3, False, "3.00"),
        ("lead_time_p95_min", math.nan, False, "–"),
        ("service_rate", None, False, "–"),
        ("a_kpi_of_another_version", 7, False, "7"),
        ("a_kpi_of_another_version", 7.125, False, "7.12"),
    ],
)
def test_format_kpi(name: str, value: float | None, signed: bool, shown: str) -> None:
    assert format_kpi(name, value, signed=signed) == shown


def test_unit_labels_leave_out_what_the_value_says() -> None:
    assert unit_label("robot_km") == "km"
    assert unit_label("cost_eur") == "EUR"
    assert unit_label("on_time_rate") == ""  # "87.5 %" says it
    assert unit_label("orders_created") == ""
    assert unit_label("a_kpi_of_another_version") == ""


def test_units_name_what_the_kpis_measure() -> None:
    for name, unit in KPI_UNITS.items():
        if name.endswith("_eur"):
            assert unit == "EUR", name
        elif name.endswith("_kwh"):
            assert unit == "kWh", name
        elif name.endswith(("_min", "_h", "_kg")):
            assert unit == name.rsplit("_", 1)[1], name
        elif name.startswith("orders_"):
            assert unit == COUNT, name
        elif name.endswith("_rate"):
            assert unit == RATE, name


@pytest.mark.slow
def test_every_kpi_of_the_tiny_run_has_a_unit(tiny_run_dir: Path) -> None:
    """``kpis.json`` holds what :func:`~carreta.sim.output.metrics.result_kpis` gives for the
    simulated tiny scenario (both are :func:`~carreta.sim.output.metrics.run_kpis`)."""
    kpis = json.loads((tiny_run_dir / "kpis.json").read_text("utf-8"))
    assert len(kpis) >= len(KPI_DESCRIPTIONS)
    assert [name for name in kpis if name not in KPI_UNITS] == []


@pytest.mark.slow
def test_run_and_compare_show_each_kpi_alike(tiny_run_dir: Path) -> None:
    """``carreta run`` prints name, value, unit; ``carreta compare`` name, A, B, difference,
    change, unit: each KPI's value and unit read the same in both."""
    stored = json.loads((tiny_run_dir / "kpis.json").read_text("utf-8"))
    run_rows = [
        COLUMNS.split(line.strip())
        for line in kpi_table({name: stored.get(name) for name in KPI_DESCRIPTIONS}).splitlines()
    ]
    shown_by_run = {cells[0]: (cells[1], "".join(cells[2:])) for cells in run_rows}
    summary = read_run_summary(tiny_run_dir)
    compare_rows = [
        COLUMNS.split(line.strip()) for line in format_comparison(summary, summary).splitlines()
    ]
    shown_by_compare = {
        cells[0]: (cells[1], "".join(cells[5:]))
        for cells in compare_rows
        if cells[0] in KPI_DESCRIPTIONS
    }
    assert shown_by_compare == shown_by_run
    assert list(shown_by_run) == list(KPI_DESCRIPTIONS)
    assert shown_by_run["on_time_rate"][0].endswith(" %")
    assert shown_by_run["robot_km"][1] == "km"
