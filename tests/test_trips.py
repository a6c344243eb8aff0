"""trips.geojson: readable by GeoPandas, in kepler.gl's trip-layer form ([lon, lat, alt, ts])."""

from __future__ import annotations

import datetime as dt
import json
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from carreta.sim.output.trips import day_origin_unix_s, trips_features


@pytest.mark.slow
def test_geopandas_reads_one_linestring_per_leg(tiny_run_dir: Path) -> None:
    legs = pd.read_parquet(tiny_run_dir / "legs.parquet")
    with warnings.catch_warnings():  # GDAL notes it ignores the 4th (time) member: expected
        warnings.simplefilter("ignore", RuntimeWarning)
        trips = gpd.read_file(tiny_run_dir / "trips.geojson")
    assert trips.crs is not None and trips.crs.to_epsg() == 4326
    assert len(trips) == len(legs) > 0
    assert (trips.geom_type == "LineString").all()
    assert list(trips["robot_id"]) == list(legs["robot_id"])
    assert list(trips["kind"]) == list(legs["kind"])
    first = np.asarray(trips.geometry.iloc[0].coords)
    assert first[:, :2] == pytest.approx(np.column_stack([legs["lons"][0], legs["lats"][0]]))


@pytest.mark.slow
def test_coordinates_carry_unix_timestamps_like_keplergl(tiny_run_dir: Path) -> None:
    legs = pd.read_parquet(tiny_run_dir / "legs.parquet")
    collection = json.loads((tiny_run_dir / "trips.geojson").read_text("utf-8"))
    assert collection["type"] == "FeatureCollection"
    assert "OpenStreetMap" in collection["attribution"]
    origin = day_origin_unix_s(dt.date(2026, 11, 25))
    assert (
        origin == dt.datetime(2026, 11, 25, tzinfo=dt.timezone(dt.timedelta(hours=1))).timestamp()
    )
    for feature, leg in zip(collection["features"], legs.itertuples(), strict=True):
        coordinates = feature["geometry"]["coordinates"]
        assert all(len(position) == 4 for position in coordinates)  # [lon, lat, alt, unix s]
        stamps = [position[3] for position in coordinates]
        assert stamps == feature["properties"]["timestamps"]
        expected = [origin + t for t in leg.times_s]
        if len(expected) == 1:  # a one-vertex leg: its point is repeated (see below)
            expected *= 2
        assert stamps == pytest.approx(expected)
        assert np.all(np.diff(stamps) >= 0)
        assert all(position[2] == 0.0 for position in coordinates)
        depart = dt.datetime.fromisoformat(feature["properties"]["depart"])
        assert depart.timestamp() == pytest.approx(stamps[0], abs=1.0)
        assert depart.utcoffset() == dt.timedelta(hours=1)  # Paris in November


def test_a_one_vertex_leg_is_still_a_valid_linestring() -> None:
    legs = pd.DataFrame(
        {
            "robot_id": ["r1"], "kind": ["to_hub"], "depart_s": [36000.0],
            "arrive_s": [36000.0], "length_m": [0.0], "nodes": [[7]],
            "times_s": [[36000.0]], "lons": [[3.88]], "lats": [[43.6]],
        }
    )  # fmt: skip
    feature = trips_features(legs, origin_unix_s=1_000.0, attribution="x")["features"][0]
    assert feature["geometry"]["coordinates"] == [[3.88, 43.6, 0.0, 37000.0]] * 2


@pytest.mark.slow
def test_the_collection_carries_the_credit_it_is_given(tiny_run_dir: Path) -> None:
    legs = pd.read_parquet(tiny_run_dir / "legs.parquet")
    credit = "Street network © Ville de Montpellier open data (Licence Ouverte / Etalab)"
    collection = trips_features(legs, origin_unix_s=0.0, attribution=credit)
    assert collection["attribution"] == credit
