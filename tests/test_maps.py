"""Maps with context: zones and districts the scenario names, street labels, route colours.

Fast: a run on the synthetic street grid (``tests/synthetic.py``), with a pedestrian zone
polygon of its own; no real data is read (``CARRETA_DATA_DIR`` points to an empty folder, so
Montpellier's districts are not found).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import shapely
from PIL import Image
from synthetic import grid_scenario_data, node_lonlat, write_grid_graphml

from carreta.sim.model.engine import simulate
from carreta.sim.output.results import write_run
from carreta.sim.output.rundir import Run, StreetLines, activity_bounds, load_run, street_lines
from carreta.sim.scenario import validate_scenario
from carreta.sim.viz.map_layers import map_context, street_labels
from carreta.sim.viz.maps import (
    ZONE_FILL,
    LocalProjection,
    new_map,
    place_labels,
    plot_deliveries_map,
    plot_routes_map,
    route_colouring,
    route_groups,
    shaped_bounds,
    traffic_segments,
)

ZONE_NAME = "</script><b>$Zone$</b>"
HUB_ID = "gare $x$ <script>"


def write_grid_run(folder: Path) -> Path:
    """A day on the grid with a pedestrian-zone file (one square of 2 x 2 blocks) and a hub
    whose name holds markup and ``$`` signs; returns the run directory."""
    folder.mkdir(parents=True, exist_ok=True)
    graphml = write_grid_graphml(folder)
    data = grid_scenario_data(graphml, folder / "cache")
    (west, south), (east, north) = node_lonlat(1, 1), node_lonlat(3, 3)
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    zones = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"NOM": ZONE_NAME},
                "geometry": {"type": "Polygon", "coordinates": [ring]},
            }
        ],
    }
    (folder / "zones.geojson").write_text(json.dumps(zones), "utf-8")
    data["streets"] = {"zones": {"file": str(folder / "zones.geojson")}}
    data["hubs"][0]["id"] = HUB_ID
    data["fleet"]["robots"][0]["hub"] = HUB_ID
    scenario = validate_scenario(data, source="<grid with a zone>")
    return write_run(simulate(scenario), folder / "run")


@pytest.fixture(scope="module")
def grid_run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The grid day of :func:`write_grid_run`, simulated once for this module."""
    return write_grid_run(tmp_path_factory.mktemp("grid-run"))


@pytest.fixture(autouse=True)
def no_shared_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No Montpellier districts: the shared data folder is empty."""
    monkeypatch.setenv("CARRETA_DATA_DIR", str(tmp_path / "no-shared-data"))


def test_context_has_the_zones_the_scenario_names(grid_run_dir: Path, tmp_path: Path) -> None:
    run = load_run(grid_run_dir)
    context = map_context(run)
    assert [zone.name for zone in context.zones] == [ZONE_NAME]
    assert context.districts == ()
    assert context.credits == ("Pedestrian zones: zones.geojson",)
    west, south = node_lonlat(1, 1)
    assert context.zones[0].polygon.contains(shapely.Point(west + 1e-4, south + 1e-4))
    # A districts file is drawn only when the run lies in it.
    far = tmp_path / "far.geojson"
    square = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}
    feature = {"type": "Feature", "properties": {"name": "Elsewhere"}, "geometry": square}
    far.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    assert map_context(run, districts_file=far).districts == ()
    # A zones file that has moved leaves the map without zones, not without a map.
    run.scenario["streets"]["zones"]["file"] = str(tmp_path / "moved.geojson")
    assert map_context(run).zones == ()


def test_labels_name_long_streets_first_and_squares_flat() -> None:
    lon0, lat0 = 3.87, 43.60
    lines = [
        np.array([[lon0, lat0], [lon0 + 0.012, lat0]]),  # ~1 km, west-east
        np.array([[lon0 + 0.002, lat0 - 0.004], [lon0 + 0.002, lat0 + 0.004]]),  # ~900 m, north
        np.array([[lon0 + 0.005, lat0 + 0.002], [lon0 + 0.006, lat0 + 0.002]]),  # ~80 m
        np.array([[lon0 + 0.008, lat0 + 0.003], [lon0 + 0.0085, lat0 + 0.0031]]),
        np.array([[lon0 + 0.003, lat0 + 0.003], [lon0 + 0.004, lat0 + 0.003]]),
    ]
    names = ["Rue Longue", "Boulevard Nord", "Rue Courte", "Place Ronde", ""]
    bounds = (lon0 - 0.001, lat0 - 0.005, lon0 + 0.013, lat0 + 0.005)
    projection = LocalProjection.around(bounds)
    labels = street_labels(
        StreetLines(lines, names, from_graph=True), bounds, km_per_degree=projection.km_per_degree
    )
    by_name = {label.name: label for label in labels}
    assert set(by_name) == {"Rue Longue", "Boulevard Nord", "Rue Courte", "Place Ronde"}
    streets = [label.name for label in labels if not label.square]
    assert (
        streets.index("Boulevard Nord") < streets.index("Rue Longue") < streets.index("Rue Courte")
    )  # a boulevard of 900 m ranks above a street of 1 km; longer streets before shorter
    assert by_name["Place Ronde"].square and by_name["Place Ronde"].angle_deg == 0.0
    assert by_name["Rue Longue"].angle_deg == pytest.approx(0.0, abs=0.5)
    assert abs(by_name["Boulevard Nord"].angle_deg) == pytest.approx(90.0, abs=0.5)
    assert by_name["Rue Longue"].length_km == pytest.approx(0.97, abs=0.03)


def test_labels_never_overlap(grid_run_dir: Path) -> None:
    run = load_run(grid_run_dir)
    bounds = activity_bounds(run)
    fig, ax, projection = new_map(bounds)
    streets = street_lines(run, bounds=bounds)
    labels = street_labels(streets, bounds, km_per_degree=projection.km_per_degree)
    same_place = [labels[0]] * 3  # three labels at one spot: one is kept
    kept = place_labels(fig, ax, [*labels, *same_place], projection)
    assert 3 <= len(kept) <= len(labels)
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    boxes = [text.get_window_extent(renderer) for text in kept]
    for text in kept:
        assert text.get_text() in {label.name for label in labels}
    # Axis-aligned boxes of labels along one direction do not overlap.
    flat = [b for b, t in zip(boxes, kept, strict=True) if t.get_rotation() in (0.0, 360.0)]
    for i, a in enumerate(flat):
        for b in flat[i + 1 :]:
            assert not a.overlaps(b)


def _routes(run: Run) -> list[int]:
    return [len(nodes) - 1 for nodes in run.legs["nodes"]]


def test_routes_split_by_hour_and_traffic_counts_every_pass(grid_run_dir: Path) -> None:
    run = load_run(grid_run_dir)
    title, groups = route_groups(run, "hour")
    assert title == "leaving between"
    masks = np.array([mask for _, _, mask in groups])
    assert (masks.sum(axis=0) == 1).all()  # every leg in exactly one hour class
    assert groups[0][0].startswith("09:00")
    assert route_colouring(run) == "traffic"  # one hub, one robot group
    assert route_groups(run, "hub")[1][0][0] == HUB_ID
    coords, passes = traffic_segments(run)
    assert passes.sum() == sum(_routes(run))
    assert coords.shape == (len(passes), 2, 2)


def test_extent_is_shaped_not_cut() -> None:
    flat = (3.80, 43.60, 3.90, 43.601)  # 8 km by 100 m
    west, south, east, north = shaped_bounds(flat)
    assert (west, east) == (3.80, 3.90) and south < 43.60 and north > 43.601
    kx, ky = LocalProjection.around(flat).km_per_degree
    assert (north - south) * ky / ((east - west) * kx) == pytest.approx(0.5)


def _colours(path: Path) -> tuple[np.ndarray, np.ndarray]:
    with Image.open(path) as image:
        pixels = np.asarray(image.convert("RGB"))
    packed = pixels.reshape(-1, 3).astype(np.int32) @ np.array([65536, 256, 1], np.int32)
    return pixels, np.unique(packed)


def test_maps_show_zones_labels_and_no_white_bands(grid_run_dir: Path, tmp_path: Path) -> None:
    run = load_run(grid_run_dir)
    bounds = activity_bounds(run)
    streets = street_lines(run, bounds=bounds)
    for draw in (plot_routes_map, plot_deliveries_map):
        path = draw(run, streets, bounds, tmp_path / f"{draw.__name__}.png")
        pixels, colours = _colours(path)
        assert len(colours) > 200
        zone = tuple(int(ZONE_FILL[i : i + 2], 16) for i in (1, 3, 5))
        near_zone = np.abs(pixels.astype(int) - np.array(zone)).sum(axis=2) < 30
        assert near_zone.mean() > 0.01, f"{path.name}: no pedestrian zone drawn"
        white_rows = (pixels == 255).all(axis=(1, 2))
        assert white_rows.mean() < 0.08, f"{path.name}: white bands above or below the map"
    path = plot_routes_map(run, streets, bounds, tmp_path / "by_hour.png", colour_by="hour")
    assert len(_colours(path)[1]) > 200
