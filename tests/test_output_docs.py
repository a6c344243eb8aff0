"""The results folder's tables are analyst-ready and documented (docs/outputs.md, docs/kpis.md).

One small day on the synthetic grid (tests/synthetic.py), written with ``write_run`` and read back
with ``pandas.read_parquet``: the column dictionary (:mod:`carreta.sim.output.columns`) is exactly
the tables' columns with their dtypes, Parquet keeps the types, times of day have Paris datetimes
beside them, and missing values are nulls. The generated docs are kept fresh.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from carreta.sim.model import SimulationResult, simulate
from carreta.sim.model.world import World
from carreta.sim.output.columns import RESULT_FILES, TABLES, TIME_OF_DAY, columns_of
from carreta.sim.output.docs import (
    KPIS_PATH,
    OUTPUTS_PATH,
    REGENERATE_COMMAND,
    main,
    render_kpis,
    render_outputs,
    stale_docs,
    write_docs,
)
from carreta.sim.output.kpi_definitions import KPIS
from carreta.sim.output.results import write_run
from carreta.sim.output.rundir import RunDirError, load_run
from carreta.sim.output.tables import (
    clock_times,
    events_table,
    legs_table,
    orders_table,
    robots_table,
)
from carreta.sim.scenario import Scenario

PROJECT = Path(__file__).resolve().parents[1]
BUILDERS = {
    "orders": orders_table,
    "events": events_table,
    "robots": robots_table,
    "legs": legs_table,
}


@pytest.fixture(scope="module")
def day(grid_scenario: Scenario, grid_world: World) -> SimulationResult:
    """A busy morning with one short-range robot: doors beyond its range rejected, some orders
    still open at the end, the others delivered."""
    scenario = grid_scenario.with_overrides(
        {"fleet.robots[0].count": 1, "fleet.robots[0].battery_wh": 60.0,
         "demand.orders_per_day": 60}
    )  # fmt: skip
    return simulate(scenario, world=grid_world)


@pytest.fixture(scope="module")
def run_dir(day: SimulationResult, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_run(day, tmp_path_factory.mktemp("runs") / "grid")


@pytest.fixture(scope="module")
def tables(run_dir: Path) -> dict[str, pd.DataFrame]:
    return {name: pd.read_parquet(run_dir / f"{name}.parquet") for name in TABLES}


def test_the_day_has_what_the_checks_need(tables: dict[str, pd.DataFrame]) -> None:
    states = set(tables["orders"]["state"].astype(str))
    assert {"delivered", "rejected"} <= states and states & {"waiting", "assigned"}


# -- the column dictionary ----------------------------------------------------------------


@pytest.mark.parametrize("name", list(TABLES))
def test_the_dictionary_is_exactly_the_columns_and_dtypes_read_back(
    name: str, tables: dict[str, pd.DataFrame]
) -> None:
    table = tables[name]
    definitions = columns_of(name)
    assert list(table.columns) == [column.column for column in definitions]
    for column in definitions:
        assert str(table[column.column].dtype) == column.dtype, column.column
        if column.dtype == "category":
            assert list(table[column.column].cat.categories) == list(column.categories)
        assert column.meaning, column.column


@pytest.mark.parametrize("name", list(TABLES))
def test_parquet_gives_back_the_tables_as_built(
    name: str, day: SimulationResult, tables: dict[str, pd.DataFrame]
) -> None:
    built = BUILDERS[name](day)
    if name == "legs":  # list columns come back as arrays: compare their contents
        for column in ("nodes", "times_s", "lons", "lats"):
            assert all(
                np.array_equal(np.asarray(a), np.asarray(b))
                for a, b in zip(built[column], tables[name][column], strict=True)
            )
        built, read = built.drop(columns=["nodes", "times_s", "lons", "lats"]), tables[name]
        read = read.drop(columns=["nodes", "times_s", "lons", "lats"])
    else:
        read = tables[name]
    pd.testing.assert_frame_equal(read, built, check_exact=True)


def test_load_run_gives_the_typed_tables(run_dir: Path, tables: dict[str, pd.DataFrame]) -> None:
    run = load_run(run_dir)
    for name in ("orders", "events", "robots"):
        pd.testing.assert_frame_equal(getattr(run, name), tables[name], check_exact=True)
    assert run.legs.dtypes.equals(tables["legs"].dtypes)


# -- times, nulls, text --------------------------------------------------------------------


def test_each_time_of_day_has_a_paris_datetime_beside_it(
    day: SimulationResult, tables: dict[str, pd.DataFrame]
) -> None:
    date = day.scenario.simulation.date
    assert date == dt.date(2026, 11, 25)  # no clock change: wall clock = seconds since midnight
    for name, table in tables.items():
        times = [c.column for c in columns_of(name) if c.unit == TIME_OF_DAY and c.dtype[0] == "f"]
        for column in times:
            companion = column.removesuffix("_s") + "_at"
            seconds, stamps = table[column], table[companion]
            assert list(table.columns).index(companion) == list(table.columns).index(column) + 1
            assert (seconds.isna() == stamps.isna()).all()
            seen = stamps.dropna()
            assert (seen.dt.date == date).all()
            wall = seen.dt.hour * 3600 + seen.dt.minute * 60 + seen.dt.second
            wall = wall + seen.dt.microsecond / 1e6 + seen.dt.nanosecond / 1e9
            assert np.allclose(wall, seconds[seen.index], atol=1e-6), column


def test_leg_datetimes_are_the_instants_of_trips_geojson(
    run_dir: Path, tables: dict[str, pd.DataFrame]
) -> None:
    features = json.loads((run_dir / "trips.geojson").read_text("utf-8"))["features"]
    stamps = [feature["properties"]["timestamps"] for feature in features]
    legs = tables["legs"]
    depart = (legs["depart_at"] - pd.Timestamp("1970-01-01", tz="UTC")).dt.total_seconds()
    assert np.allclose(depart, [times[0] for times in stamps], rtol=0, atol=1e-5)


def test_clock_times_follow_paris_across_the_clock_changes() -> None:
    spring = clock_times([3600.0, 3 * 3600.0, np.nan], date=dt.date(2026, 3, 29))
    assert [str(t) for t in spring[:2]] == [
        "2026-03-29 01:00:00+01:00", "2026-03-29 04:00:00+02:00"
    ]  # fmt: skip
    assert pd.isna(spring[2]) and str(spring.dtype) == "datetime64[ns, Europe/Paris]"
    autumn = clock_times([3 * 3600.0], date=dt.date(2026, 10, 25))
    assert str(autumn[0]) == "2026-10-25 02:00:00+01:00"


def test_missing_values_are_nulls_not_sentinels(tables: dict[str, pd.DataFrame]) -> None:
    orders, events = tables["orders"], tables["events"]
    rejected = orders["state"] == "rejected"
    assert (orders["reason"].notna() == rejected).all()
    assert set(orders.loc[rejected, "reason"]) == {"beyond_range"}
    assert (orders["robot_id"].isna() == orders["assigned_s"].isna()).all()
    assert orders["robot_id"].isna().any() and orders["assigned_at"].isna().any()
    assert (orders["hub_id"].isna() == orders["robot_id"].isna()).all()
    for name, table in tables.items():
        for column in columns_of(name):
            values = table[column.column]
            if column.dtype == "string":
                assert not (values == "").fillna(False).any(), (name, column.column)
            if column.dtype == "Int64":
                assert not (values == -1).fillna(False).any(), (name, column.column)
    states = events[events["kind"].str.startswith("state:")]
    assert states["order_id"].isna().all() and states["node"].isna().all()
    created = events[events["kind"] == "order_created"]
    assert created["order_id"].notna().all() and created["robot_id"].isna().all()
    assert sorted(created["order_id"].astype(int)) == sorted(orders["order_id"])


def test_every_event_kind_is_documented(tables: dict[str, pd.DataFrame]) -> None:
    (kind,) = [c for c in columns_of("events") if c.column == "kind"]
    for seen in set(tables["events"]["kind"]):
        documented = seen.split(":")[0] + ":<" if ":" in seen else seen
        assert documented in kind.meaning, seen


def test_a_folder_of_an_earlier_version_is_read_with_the_types(
    run_dir: Path, tables: dict[str, pd.DataFrame], tmp_path: Path
) -> None:
    """Folders written before the datetimes and nulls: '' and -1 for missing values, text as
    plain str, no ``_at`` columns, no categoricals. load_run types them like new ones."""
    old = tmp_path / "old"
    shutil.copytree(run_dir, old)
    for name, table in tables.items():
        legacy = table.drop(columns=[c for c in table.columns if c.endswith("_at")])
        for column in legacy.columns:
            values = legacy[column]
            if isinstance(values.dtype, pd.StringDtype | pd.CategoricalDtype):
                filled = values.astype(object).where(values.notna(), "")
                legacy[column] = filled.astype("string" if name == "events" else str)
            elif str(values.dtype) == "Int64":
                legacy[column] = values.fillna(-1).astype("int64")
        (old / f"{name}.parquet").unlink()
        legacy.to_parquet(old / f"{name}.parquet", index=False)
    run = load_run(old)
    for name in ("orders", "events", "robots"):
        pd.testing.assert_frame_equal(getattr(run, name), tables[name], check_exact=True)
    assert run.legs.dtypes.equals(tables["legs"].dtypes)
    orders = tables["orders"].astype({"state": str})
    orders.loc[0, "state"] = "lost"
    (old / "orders.parquet").unlink()
    orders.to_parquet(old / "orders.parquet", index=False)
    with pytest.raises(RunDirError, match=r"orders\.parquet: .*'lost'"):
        load_run(old)


# -- the generated docs ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("relative", "render"),
    [(OUTPUTS_PATH, render_outputs), (KPIS_PATH, render_kpis)],
)
def test_committed_docs_are_fresh(relative: Path, render: Callable[[], str]) -> None:
    committed = PROJECT / relative
    assert committed.is_file(), f"{relative} is missing: run `{REGENERATE_COMMAND}`"
    assert committed.read_text(encoding="utf-8") == render(), (
        f"{relative} is stale: run `{REGENERATE_COMMAND}`"
    )


def test_the_docs_list_every_file_column_and_kpi(run_dir: Path) -> None:
    written = {path.name for path in run_dir.iterdir()}
    assert written == set(RESULT_FILES)
    outputs = render_outputs()
    for name in TABLES:
        for column in columns_of(name):
            assert f"| `{column.column}` | `{column.dtype}` |" in outputs
    assert "(kpis.md)" in outputs
    kpis = render_kpis()
    for kpi in KPIS:
        row = next(line for line in kpis.splitlines() if line.startswith(f"| `{kpi.name}` |"))
        assert ("Wilson" in row) == kpi.over_orders, kpi.name
        assert ("Student-t" in row) != kpi.over_orders, kpi.name
        assert ("clipped" in row) == (not kpi.over_orders and (kpi.nonnegative or kpi.is_share))


def test_write_docs_then_check(tmp_path: Path) -> None:
    assert set(stale_docs(tmp_path)) == {OUTPUTS_PATH, KPIS_PATH}
    assert write_docs(tmp_path) == [tmp_path / OUTPUTS_PATH, tmp_path / KPIS_PATH]
    assert main(["--check", str(tmp_path)]) == 0
    (tmp_path / KPIS_PATH).write_text("# KPIs\n")
    assert main(["--check", str(tmp_path)]) == 1
    assert main([str(tmp_path)]) == 0
    assert stale_docs(tmp_path) == []
