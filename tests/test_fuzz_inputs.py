"""Random scenario files and orders CSVs never crash ``carreta``: exit 0, or exit 2 with one line.

Hypothesis mutates the synthetic grid scenario (tests/synthetic.py) — fields set to values of
any type, removed, unknown keys, whole files of random bytes — and writes random orders CSVs
(text or integer ids, clock or second times, empty cells, NaN, huge numbers, quotes, rows outside
the day or the network). ``carreta validate`` runs every check a run makes (network, hubs, doors,
files, size against memory); a valid orders file is then simulated. Each ends in exit 0, or exit 2
with one ``carreta: error:`` line naming the file; never a traceback. Days too big for the machine
are stopped by the memory guard before anything is allocated (the size check runs first).
"""

from __future__ import annotations

import contextlib
import csv
import io
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from synthetic import grid_scenario_data, node_lonlat, write_grid_graphml

from carreta.sim.cli import main
from carreta.sim.model.engine import simulate
from carreta.sim.output.tables import orders_table
from carreta.sim.scenario.models import load_scenario

FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    database=None,
    derandomize=True,  # the same examples on every run: CI fails or passes for the code alone
)

DELETE = object()
#: Field paths of the grid scenario that mutations touch (and a few that it does not have).
PATHS = [
    "name", "network", "network.osm_file", "network.cache_dir", "network.place", "hubs",
    "hubs[0]", "hubs[0].lon", "hubs[0].lat", "hubs[0].id", "fleet", "fleet.robots",
    "fleet.robots[0].count", "fleet.robots[0].speed_kph", "fleet.robots[0].type",
    "fleet.robots[0].parcel_slots", "fleet.robots[0].battery_wh", "demand",
    "demand.orders_per_day", "demand.hourly_profile", "demand.destinations",
    "demand.destinations.kind", "demand.destinations.max_snap_distance_m",
    "demand.parcel_weight_kg.mean_kg", "demand.orders_csv", "dispatch.policy",
    "dispatch.batch_interval_s", "simulation.start", "simulation.duration_h", "simulation.seed",
    "simulation.date", "streets", "streets.closures", "outputs", "outputs.dir", "surprise",
]  # fmt: skip
WILD = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.lists(st.one_of(st.integers(-3, 30), st.floats(-1, 2)), max_size=26),
    st.dictionaries(st.text(max_size=6), st.integers(-5, 5), max_size=3),
    st.sampled_from(
        ["nan", "1e9", "1e6", "-1", "25:61", "missing.osm", "nowhere.graphml", "2026-02-30",
         {"kind": "nodes"}, [{"id": "x"}]]
    ),
)  # fmt: skip
PLAUSIBLE = st.one_of(
    st.integers(1, 40),
    st.floats(0.5, 40.0),
    st.sampled_from(["09:00", "2026-03-10", "tours", "nearest_idle", "batch", "droid", "x"]),
)
VALUES = st.one_of(PLAUSIBLE, WILD)


def _parse(path: str) -> list[str | int]:
    keys: list[str | int] = []
    for part in path.split("."):
        name, _, index = part.partition("[")
        keys.append(name)
        if index:
            keys.append(int(index.rstrip("]")))
    return keys


def _mutate(document: dict[str, Any], path: str, value: object) -> None:
    """Set (or remove, for DELETE) ``path`` in ``document``; a path through a value that is no
    longer a mapping or a long enough list is left alone."""
    keys = _parse(path)
    node: Any = document
    for key in keys[:-1]:
        if isinstance(key, int):
            if not isinstance(node, list) or key >= len(node):
                return
            node = node[key]
        else:
            if not isinstance(node, dict):
                return
            node = node.setdefault(key, {})
    last = keys[-1]
    if isinstance(last, int):
        if isinstance(node, list) and last < len(node):
            if value is DELETE:
                del node[last]
            else:
                node[last] = value
    elif isinstance(node, dict):
        if value is DELETE:
            node.pop(last, None)
        else:
            node[last] = value


@pytest.fixture(scope="module")
def folder() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="carreta-fuzz-") as name:
        yield Path(name)


@pytest.fixture(scope="module")
def graphml(folder: Path) -> Path:
    return write_grid_graphml(folder)


def carreta(*args: str | Path) -> tuple[int, str, str]:
    """Run the command line in this process: (exit code, stdout, stderr). Any exception other
    than the exit itself (a traceback for the user) fails the test."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main([str(arg) for arg in args])
        except SystemExit as exit_:
            code = exit_.code
        else:  # pragma: no cover - main always exits
            code = 0
    return int(code or 0) if not isinstance(code, str) else 1, out.getvalue(), err.getvalue()


def assert_clean(code: int, err: str, files: list[Path]) -> None:
    """Exit 0, or exit 2 with one line naming one of ``files``; never a traceback."""
    assert "Traceback" not in err, err
    assert code in (0, 2), (code, err)
    if code == 2:
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("carreta: error: "), err
        assert any(str(path) in lines[0] or path.name in lines[0] for path in files), err


@FUZZ
@given(
    mutations=st.lists(
        st.tuples(st.sampled_from(PATHS), st.one_of(VALUES, st.just(DELETE))),
        min_size=1,
        max_size=4,
    )
)
def test_mutated_scenarios_validate_or_fail_in_one_line(
    folder: Path, graphml: Path, mutations: list[tuple[str, object]]
) -> None:
    document = grid_scenario_data(graphml, folder / "cache")
    for path, value in mutations:
        _mutate(document, path, value)
    scenario = folder / "mutated.yaml"
    scenario.write_text(yaml.safe_dump(document, allow_unicode=True), "utf-8")
    code, _, err = carreta("validate", scenario)
    assert_clean(code, err, [scenario, graphml])


@FUZZ
@given(content=st.one_of(st.binary(max_size=200), st.text(max_size=200)))
def test_random_files_are_one_line(folder: Path, content: bytes | str) -> None:
    scenario = folder / "random.yaml"
    if isinstance(content, bytes):
        scenario.write_bytes(content)
    else:
        scenario.write_text(content, "utf-8")
    code, _, err = carreta("validate", scenario)
    assert_clean(code, err, [scenario])
    assert code == 2  # nothing random is a whole scenario


def test_a_yaml_anchor_bomb_is_refused_without_expanding(folder: Path) -> None:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
    scenario = folder / "bomb.yaml"
    scenario.write_text("\n".join(lines) + "\n", "utf-8")
    code, _, err = carreta("validate", scenario)
    assert_clean(code, err, [scenario])
    assert code == 2


# --- orders CSVs ---------------------------------------------------------------------------------

LON, LAT = node_lonlat(2, 2)
COLUMNS = ["order_id", "created", "due", "lon", "lat", "weight_kg"]
#: Values that are wrong (or odd) in each column.
BAD_CELLS: dict[str, list[str]] = {
    "order_id": ["1.5", "99999999999999999999", "", "nan", "A-1", "7", " 8 ", "x,y", "-3"],
    "created": ["", "25:61", "24:00", "9h", "07:00", "23:59", "1e3", "12:00:00.5"],
    "due": ["", "08:00", "23:59:59", "25:00", "10:00"],
    "lon": ["", "nan", "190", "-3.88", "inf", "3,88", "lon", "3.95"],
    "lat": ["", "NaN", "-91", "1e308", "44.5"],
    "weight_kg": ["", "-1", "nan", "1e400", "two", "500"],
}


@st.composite
def orders_csv(draw: st.DrawFn) -> tuple[list[str], list[list[str]]]:
    """A file that is good in most examples, with 0 to 2 cells or columns damaged."""
    text_ids = draw(st.booleans())
    rows = []
    for index in range(draw(st.integers(0, 8))):
        created_min = draw(st.integers(9 * 60, 11 * 60 - 1))
        due_min = created_min + draw(st.integers(0, 60))
        rows.append([
            f"A-{index}" if text_ids else str(draw(st.integers(0, 10**6)) * 10 + index),
            f"{created_min // 60:02d}:{created_min % 60:02d}",
            f"{due_min // 60:02d}:{due_min % 60:02d}",
            repr(draw(st.floats(LON - 0.002, LON + 0.002))),
            repr(draw(st.floats(LAT - 0.002, LAT + 0.002))),
            repr(draw(st.floats(0.0, 15.0))),
        ])  # fmt: skip
    columns = list(COLUMNS)
    for _ in range(draw(st.integers(0, 2))):
        column = draw(st.sampled_from(COLUMNS))
        if rows and column in columns and draw(st.integers(0, 4)):
            row = draw(st.integers(0, len(rows) - 1))
            rows[row][columns.index(column)] = draw(st.sampled_from(BAD_CELLS[column]))
        elif column in columns and draw(st.booleans()):  # drop the column
            position = columns.index(column)
            columns.pop(position)
            rows = [row[:position] + row[position + 1 :] for row in rows]
        elif column in columns:  # rename it to its seconds form, keeping the clock text
            columns[columns.index(column)] = f"{column}_s"
    return columns, rows


def write_csv(path: Path, columns: list[str], rows: list[list[str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        writer.writerows(rows)


@FUZZ
@given(table=orders_csv())
def test_random_orders_files_validate_and_run_or_fail_in_one_line(
    folder: Path, graphml: Path, table: tuple[list[str], list[list[str]]]
) -> None:
    columns, rows = table
    orders = folder / "orders.csv"
    write_csv(orders, columns, rows)
    document = grid_scenario_data(graphml, folder / "cache")
    document["demand"]["orders_csv"] = str(orders)
    scenario = folder / "with-orders.yaml"
    scenario.write_text(yaml.safe_dump(document), "utf-8")
    code, _, err = carreta("validate", scenario)
    assert_clean(code, err, [scenario, orders])
    if code != 0:
        return
    # What validate passed, runs (in this process: the CLI's run is simulate + write_run,
    # tested on a text-id file in tests/test_orders_file.py).
    result = simulate(load_scenario(scenario), seed=1, label=str(scenario))
    simulated = orders_table(result)
    assert len(simulated) <= len(rows)
    if "order_id" in columns:
        texts = [row[columns.index("order_id")].strip() for row in rows]
        if not all(text.lstrip("+-").isdigit() for text in texts):  # text ids: kept as refs
            assert set(simulated["ref"].dropna()) <= set(texts)
            assert simulated["ref"].notna().all()
            return
    assert simulated["ref"].isna().all()


@pytest.mark.parametrize(
    ("name", "text"),
    [("empty.osm", '<?xml version="1.0"?>\n<osm version="0.6"></osm>\n'),
     ("page.osm", '<?xml version="1.0"?>\n<html><body>not OSM</body></html>\n'),
     ("broken.osm", "<osm><node id='1'")],
)  # fmt: skip
def test_an_osm_file_without_osm_data_is_one_line(
    folder: Path, graphml: Path, name: str, text: str
) -> None:
    osm = folder / name
    osm.write_text(text, "utf-8")
    document = grid_scenario_data(graphml, folder / "cache")
    document["network"]["osm_file"] = str(osm)
    scenario = folder / "bad-osm.yaml"
    scenario.write_text(yaml.safe_dump(document), "utf-8")
    code, _, err = carreta("validate", scenario)
    assert_clean(code, err, [osm])
    assert code == 2 and str(osm) in err
