"""A planner's orders CSV: good files read exactly, every bad row named with file, column, line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from carreta.sim.errors import ScenarioError
from carreta.sim.model.orders_file import read_orders_file, read_points_file

GOOD = """order_id,created,due,lon,lat,weight_kg
1,09:00,10:30,3.8795,43.6085,2.5
2,09:05:30,11:00,3.8801,43.6090,0.0
"""


def write(tmp_path: Path, text: str, name: str = "orders.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_good_file_is_read_exactly(tmp_path: Path) -> None:
    rows = read_orders_file(write(tmp_path, GOOD))
    assert rows.order_id.tolist() == [1, 2] and rows.order_ref == [None, None]
    assert rows.created_s.tolist() == [9 * 3600.0, 9 * 3600.0 + 5 * 60 + 30]
    assert rows.due_s is not None and rows.due_s.tolist() == [10.5 * 3600.0, 11 * 3600.0]
    assert rows.weight_kg.tolist() == [2.5, 0.0]


def test_text_ids_are_kept_as_references(tmp_path: Path) -> None:
    text = "order_id,created_s,lon,lat,weight_kg\nA-17,32400,3.88,43.6,1\nB-2,32500,3.88,43.6,1\n"
    rows = read_orders_file(write(tmp_path, text))
    assert rows.order_ref == ["A-17", "B-2"]
    assert rows.order_id.tolist() == [0, 1] and rows.due_s is None


@pytest.mark.parametrize(
    ("text", "field", "message"),
    [
        ("1,09:00,,3.88,43.6,1", "due", "line 2: empty"),
        ("1,09:00,10:00,,43.6,1", "lon", "line 2: empty"),
        ("1,09:00,10:00,nan,43.6,1", "lon", "line 2: not a number: 'nan'"),
        ("1,09:00,10:00,190,43.6,1", "lon", "line 2: 190 is outside [-180, 180]"),
        ("1,09:00,10:00,3.88,43.6,-1", "weight_kg", "line 2: -1 is outside [0, inf]"),
        ("1,25:61,26:00,3.88,43.6,1", "created", "line 2: not a time of day 'HH:MM[:SS]': '25:61'"),
        ("1,10:00,09:00,3.88,43.6,1", "due", "line 2: the order is due before it is created"),
        ("1.5,09:00,10:00,3.88,43.6,1", "order_id", "line 2: not a whole number: '1.5'"),
        ("99999999999999999999,09:00,10:00,3.88,43.6,1", "order_id", "too large"),
    ],
)
def test_a_bad_row_is_named(tmp_path: Path, text: str, field: str, message: str) -> None:
    path = write(tmp_path, "order_id,created,due,lon,lat,weight_kg\n" + text + "\n")
    with pytest.raises(ScenarioError) as caught:
        read_orders_file(path)
    assert str(caught.value).startswith(f"{path}: {field}: ")
    assert message in str(caught.value)


def test_duplicate_ids_name_both_lines(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD + "1,09:10,10:00,3.88,43.6,1\n")
    with pytest.raises(ScenarioError, match=r"order_id: line 4: '1' repeats line 2"):
        read_orders_file(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [("", "cannot read CSV"), ("order_id,created,lon,lat,weight_kg\n", "no rows"),
     ("created,lon,lat\n09:00,3.88,43.6\n", "weight_kg: required column is missing")],
)  # fmt: skip
def test_unreadable_files_are_one_line(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ScenarioError, match=message):
        read_orders_file(write(tmp_path, text))
    with pytest.raises(ScenarioError, match="no such file"):
        read_orders_file(tmp_path / "missing.csv")


def test_points_file_weights(tmp_path: Path) -> None:
    lons, _, weights = read_points_file(write(tmp_path, "lon,lat,weight\n3.8,43.6,2\n3.9,43.7,0\n"))
    assert weights is not None and np.allclose(weights, [2, 0]) and lons.tolist() == [3.8, 3.9]
    with pytest.raises(ScenarioError, match="weight: weights must not all be 0"):
        read_points_file(write(tmp_path, "lon,lat,weight\n3.8,43.6,0\n", "zero.csv"))


def test_text_ids_reach_the_run_orders_table_as_ref(
    tmp_path: Path, grid_graphml: Path, carreta_cache_dir: Path
) -> None:
    """``carreta run`` on an orders file with ids like ``A-17`` keeps them in orders.parquet."""
    import pandas as pd
    import yaml
    from synthetic import grid_scenario_data, node_lonlat

    from carreta.sim.cli import main

    lon, lat = node_lonlat(1, 2)
    orders = write(
        tmp_path,
        "order_id,created,due,lon,lat,weight_kg\n"
        f"A-17,09:00,10:30,{lon},{lat},2.5\nB-2,09:20,11:00,{lon},{lat},1.0\n",
    )
    document = grid_scenario_data(grid_graphml, carreta_cache_dir)
    document["demand"]["orders_csv"] = str(orders)
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text(yaml.safe_dump(document), "utf-8")
    with pytest.raises(SystemExit) as caught:
        main(["run", str(scenario), "--out", str(tmp_path / "run"), "--no-progress"])
    assert caught.value.code in (0, None)
    table = pd.read_parquet(tmp_path / "run" / "orders.parquet")
    assert list(table["ref"]) == ["A-17", "B-2"] and str(table["ref"].dtype) == "string"
    assert table["order_id"].tolist() == [0, 1]
