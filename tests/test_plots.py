"""``carreta plot``: the PNGs of a run and of a sweep, districts, timelines, errors."""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from PIL import Image
from scipy import stats

from carreta.sim.cli import main
from carreta.sim.output.rundir import RunDirError, load_run, street_lines
from carreta.sim.output.statistics import replicate_intervals
from carreta.sim.output.timeline import orders_over_time, robots_over_time
from carreta.sim.viz.maps import deliveries_per_district, read_districts
from carreta.sim.viz.plots import SERVICE_CHART, plot_sweep, sweep_parameters

RUN_PLOTS = {"map_deliveries.png", "map_routes.png", "timeline.png", "lead_times.png"}


def assert_picture(path: Path) -> None:
    """A real picture: big enough, many colours, no single colour covering almost all of it."""
    assert path.is_file() and path.stat().st_size > 10_000, path
    with Image.open(path) as image:
        assert image.format == "PNG"
        assert image.width >= 800 and image.height >= 500
        pixels = np.asarray(image.convert("RGB")).reshape(-1, 3)
    colours, counts = np.unique(pixels, axis=0, return_counts=True)
    assert len(colours) > 200, f"{path.name}: only {len(colours)} colours"
    assert counts.max() / counts.sum() < 0.9, f"{path.name}: mostly one colour"


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as stop:
        main(args)
    out, err = capsys.readouterr()
    return int(stop.value.code or 0), out, err


@pytest.mark.slow
def test_plot_run_writes_every_picture(
    tiny_run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "pictures"
    code, stdout, _ = run_cli(["plot", str(tiny_run_dir), "-o", str(out)], capsys)
    assert code == 0
    written = {path.name for path in out.iterdir()}
    assert written == RUN_PLOTS | {"districts.png"}
    for name in written:
        assert_picture(out / name)
        assert str(out / name) in stdout
    assert "OpenStreetMap" in stdout


@pytest.mark.slow
def test_plot_never_overwrites(
    tiny_run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "existing"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    code, _, err = run_cli(["plot", str(tiny_run_dir), "-o", str(out)], capsys)
    assert code == 2
    assert err.count("\n") == 1 and "already exists" in err and "-o" in err
    assert [p.name for p in out.iterdir()] == ["keep.txt"]


@pytest.mark.slow
def test_plot_default_folder_is_inside_the_run(
    tiny_run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    shutil.copytree(tiny_run_dir, run)
    assert run_cli(["plot", str(run)], capsys)[0] == 0
    assert {p.name for p in (run / "plots").iterdir()} >= RUN_PLOTS
    code, _, err = run_cli(["plot", str(run)], capsys)
    assert code == 2 and "plots already exists" in err


def test_plot_bad_run_dir_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(["plot", str(tmp_path / "nope")], capsys)
    assert code == 2 and err.startswith("carreta: error:") and "nope" in err
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = run_cli(["plot", str(empty), "-o", str(tmp_path / "p")], capsys)
    assert code == 2 and "scenario.resolved.yaml" in err and "Traceback" not in err


@pytest.mark.slow
def test_streets_fall_back_to_the_legs_without_the_osm_file(
    tiny_run_dir: Path, tmp_path: Path
) -> None:
    run_dir = tmp_path / "moved"
    shutil.copytree(tiny_run_dir, run_dir)
    resolved = run_dir / "scenario.resolved.yaml"
    data = yaml.safe_load(resolved.read_text("utf-8"))
    data["network"]["osm_file"] = str(tmp_path / "gone.osm.bz2")
    resolved.write_text(yaml.safe_dump(data), "utf-8")
    run = load_run(run_dir)
    streets = street_lines(run)
    assert not streets.from_graph
    driven = {
        (round(lon, 6), round(lat, 6))
        for lons, lats in zip(run.legs["lons"], run.legs["lats"], strict=True)
        for lon, lat in zip(lons, lats, strict=True)
    }
    drawn = {(round(x, 6), round(y, 6)) for line in streets.lines for x, y in line}
    assert drawn == driven
    assert street_lines(load_run(tiny_run_dir)).from_graph


@pytest.mark.slow
def test_districts_from_any_polygons_file(tiny_run_dir: Path, tmp_path: Path) -> None:
    run = load_run(tiny_run_dir)
    delivered = run.orders[run.orders["state"] == "delivered"]
    middle = float(delivered["lon"].median())
    box = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"name": name},
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [[[w, 43.0], [e, 43.0], [e, 44.0], [w, 44.0], [w, 43.0]]],
                },
            }
            for name, w, e in (("West <b>", 3.0, middle), ("East", middle, 3.87))
        ],
    }
    path = tmp_path / "halves.geojson"
    path.write_text(json.dumps(box), "utf-8")
    counts = deliveries_per_district(run, read_districts(path), "name")
    west = int((delivered["lon"] < middle).sum())
    east_inside = int(((delivered["lon"] > middle) & (delivered["lon"] < 3.87)).sum())
    assert counts["West <b>"] == west
    assert counts["East"] == east_inside
    assert sum(counts.values()) == len(delivered)
    assert counts.get("outside", 0) == len(delivered) - west - east_inside


@pytest.mark.slow
def test_timeline_counts_add_up(tiny_run_dir: Path) -> None:
    run = load_run(tiny_run_dir)
    grid = np.linspace(run.start_s, run.end_s, 50)
    robots = robots_over_time(run, grid)
    assert (robots.sum(axis=1) == len(run.robots)).all()
    assert robots.iloc[0]["idle"] == len(run.robots)  # all idle at the start
    orders = orders_over_time(run, grid)
    assert (orders >= 0).all().all()
    assert orders["delivered"].is_monotonic_increasing
    assert orders["delivered"].iloc[-1] == (run.orders["state"] == "delivered").sum()
    open_at_end = run.orders["state"].isin(["waiting", "assigned"]).sum()
    assert orders["waiting"].iloc[-1] == open_at_end
    assert orders["on_board"].iloc[-1] == (run.orders["state"] == "on_board").sum()


def _synthetic_sweep(folder: Path, *, policies: tuple[str, ...] = ("tours",)) -> pd.DataFrame:
    """A runs table like ``carreta sweep`` writes: 3 fleet sizes (× policies), 4 replicates,
    consistent order counts (small fleets leave orders undelivered), one failed run."""
    rng = np.random.default_rng(3)
    rows = []
    for robots in (1, 3, 6):
        for policy in policies:
            for replicate in range(4):
                created = 60
                delivered = min(created, int(12 * robots + rng.integers(0, 8)))
                on_time = max(0, delivered - int(rng.integers(0, 4)) - (6 if robots == 1 else 0))
                rows.append(
                    {"run_id": f"r{robots}{policy}-{replicate}", "replicate": replicate,
                     "seed": 100 + replicate, "fleet.robots[0].count": robots,
                     "dispatch.policy": policy, "demand.orders_per_day": 80,
                     "status": "completed", "orders_created": created,
                     "orders_due": delivered + 10, "orders_on_time": on_time,
                     "orders_delivered": delivered, "orders_rejected": 0,
                     "on_time_share": on_time / (delivered + 10),
                     "on_time_among_delivered": on_time / delivered,
                     "service_rate": delivered / created,
                     "energy_cost_eur": 0.5 * robots + rng.normal(0, 0.05),
                     "cost_per_delivery_eur": 40.0 * robots / delivered + rng.normal(0, 0.1)}
                )  # fmt: skip
    rows.append({**rows[0], "run_id": "broken", "status": "failed", "on_time_share": None})
    table = pd.DataFrame(rows)
    folder.mkdir()
    table.to_parquet(folder / "runs.parquet", index=False)
    return table


def test_sweep_plot_kpi_against_parameter(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    table = _synthetic_sweep(tmp_path / "sweep")
    assert sweep_parameters(table) == ["fleet.robots[0].count"]
    code, _, _ = run_cli(["plot", str(tmp_path / "sweep")], capsys)
    assert code == 0
    pictures = sorted((tmp_path / "sweep" / "plots").iterdir())
    assert [p.name for p in pictures] == [
        "kpi_cost_per_delivery_eur.png", "kpi_on_time_share.png", "kpi_service_rate.png",
        SERVICE_CHART,
    ]  # fmt: skip
    for picture in pictures:
        assert_picture(picture)


def test_sweep_charts_use_the_replicate_statistics(tmp_path: Path) -> None:
    """Shares of orders get Wilson bands over the pooled orders, means Student-t bands."""
    table = _synthetic_sweep(tmp_path / "sweep", policies=("batch", "tours"))
    calls: list[tuple[list[str], list[str] | None, pd.DataFrame]] = []

    def spy(
        runs: pd.DataFrame,
        keys: Sequence[str],
        *,
        kpis: Sequence[str] | None = None,
        level: float = 0.95,
    ) -> pd.DataFrame:
        result = replicate_intervals(runs, keys, kpis=kpis, level=level)
        calls.append((list(keys), None if kpis is None else list(kpis), result))
        return result

    written = plot_sweep(tmp_path / "sweep", tmp_path / "plots", intervals=spy)
    assert len(calls) == 1
    keys, kpis, result = calls[0]
    assert keys == ["fleet.robots[0].count", "dispatch.policy"]
    assert kpis is not None
    assert {"on_time_share", "service_rate", "on_time_among_delivered"} <= set(kpis)
    completed = table[table["status"] == "completed"]
    one = completed[
        (completed["fleet.robots[0].count"] == 1) & (completed["dispatch.policy"] == "batch")
    ]
    row = result[(result["kpi"] == "on_time_share") & (result["fleet.robots[0].count"] == 1)
                 & (result["dispatch.policy"] == "batch")].iloc[0]  # fmt: skip
    wilson = stats.binomtest(int(one["orders_on_time"].sum()), int(one["orders_due"].sum()))
    assert row["method"] == "wilson_pooled"
    assert row["low"] == pytest.approx(wilson.proportion_ci(method="wilson").low)
    cost = result[result["kpi"] == "cost_per_delivery_eur"]
    assert set(cost["method"]) == {"student_t"}
    assert written[0].name == SERVICE_CHART
    for path in written:
        assert_picture(path)


def test_service_chart_panels_and_categorical_axis(tmp_path: Path) -> None:
    """One panel per other swept parameter; a text parameter on the x axis works too."""
    _synthetic_sweep(tmp_path / "sweep", policies=("batch", "tours", "nearest_idle"))
    written = plot_sweep(
        tmp_path / "sweep", tmp_path / "plots", intervals=replicate_intervals,
        x="dispatch.policy", kpis=["on_time_share"],
    )  # fmt: skip
    assert [path.name for path in written] == ["kpi_on_time_share.png"]  # asked: no service.png
    written = plot_sweep(tmp_path / "sweep", tmp_path / "more", intervals=replicate_intervals)
    assert written[0].name == SERVICE_CHART
    with Image.open(written[0]) as image:
        assert image.width > image.height  # three panels side by side
    for path in written:
        assert_picture(path)


def test_sweep_plot_rejects_unknown_kpi(tmp_path: Path) -> None:
    _synthetic_sweep(tmp_path / "sweep")
    with pytest.raises(RunDirError, match="no_such_kpi"):
        plot_sweep(
            tmp_path / "sweep", tmp_path / "out", intervals=replicate_intervals,
            kpis=["no_such_kpi"],
        )  # fmt: skip
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_a_bad_districts_file_is_one_line(
    tiny_run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nowhere.geojson"
    code, _, err = run_cli(
        ["plot", str(tiny_run_dir), "-o", str(tmp_path / "a"), "--districts", str(missing)], capsys
    )
    assert code == 2 and "nowhere.geojson" in err and err.count("\n") == 1
    points = tmp_path / "points.geojson"
    points.write_text(
        '{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {},'
        ' "geometry": {"type": "Point", "coordinates": [3.88, 43.6]}}]}',
        "utf-8",
    )
    code, _, err = run_cli(
        ["plot", str(tiny_run_dir), "-o", str(tmp_path / "b"), "--districts", str(points)], capsys
    )
    assert code == 2 and "no polygons" in err
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


@pytest.mark.slow
@pytest.mark.parametrize("command", ["plot", "replay"])
def test_a_run_folder_with_swapped_tables_is_one_line(
    tiny_run_dir: Path, tmp_path: Path, command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = tmp_path / "run"
    shutil.copytree(tiny_run_dir, run_dir)
    orders, robots = run_dir / "orders.parquet", run_dir / "robots.parquet"
    swapped = tmp_path / "swap"
    orders.rename(swapped)
    robots.rename(orders)
    swapped.rename(robots)
    with pytest.raises(SystemExit) as done:
        main([command, str(run_dir), "-o", str(tmp_path / "out")])
    assert done.value.code == 2
    error = capsys.readouterr().err
    assert f"{orders}: not a carreta orders table" in error and "Traceback" not in error
