"""Trajectories as GeoJSON with per-vertex timestamps (GeoPandas and kepler.gl trip layer).

Each leg a robot drove becomes one ``LineString`` feature in EPSG:4326. Its coordinates are
``[lon, lat, 0, unix_time_s]`` (the four-element form kepler.gl's trip layer reads) and its
properties repeat the timestamps as a list, with the robot, the kind of leg and ISO times.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd

TIMEZONE = ZoneInfo("Europe/Paris")


def day_origin_unix_s(date: dt.date, *, timezone: dt.tzinfo = TIMEZONE) -> float:
    """Unix time of local midnight of ``date`` (times in results count from it)."""
    return dt.datetime.combine(date, dt.time(0, 0), tzinfo=timezone).timestamp()


def trips_features(
    legs: pd.DataFrame, *, origin_unix_s: float, attribution: str
) -> dict[str, object]:
    """A GeoJSON FeatureCollection of the legs (see the module docstring), with the street
    network's credit line."""
    features = []
    for leg in legs.to_dict("records"):
        stamps = [origin_unix_s + float(t) for t in leg["times_s"]]
        coordinates = [
            [float(lon), float(lat), 0.0, stamp]
            for lon, lat, stamp in zip(leg["lons"], leg["lats"], stamps, strict=True)
        ]
        if len(coordinates) == 1:  # a LineString needs two positions
            coordinates.append(list(coordinates[0]))
            stamps.append(stamps[0])
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "LineString", "coordinates": coordinates},
                "properties": {
                    "robot_id": leg["robot_id"],
                    "kind": leg["kind"],
                    "depart": _iso(stamps[0]),
                    "arrive": _iso(stamps[-1]),
                    "length_m": float(leg["length_m"]),
                    "timestamps": stamps,
                },
            }
        )
    return {
        "type": "FeatureCollection",
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}},
        "attribution": attribution,
        "features": features,
    }


def _iso(unix_s: float) -> str:
    return dt.datetime.fromtimestamp(unix_s, TIMEZONE).isoformat(timespec="seconds")


def write_trips(legs: pd.DataFrame, path: Path, *, date: dt.date, attribution: str) -> None:
    """Write ``trips.geojson`` for the legs of a run on ``date``."""
    collection = trips_features(
        legs, origin_unix_s=day_origin_unix_s(date), attribution=attribution
    )
    path.write_text(json.dumps(collection, separators=(",", ":")), encoding="utf-8")
