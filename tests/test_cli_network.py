"""``carreta network info|route`` and the command line's error policy."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import networkx as nx
import osmnx as ox
import pytest
from typer.testing import CliRunner

import carreta.sim.cli.network
from carreta.routing import Snapper, graph_report
from carreta.sim.cli import app, main

COMEDIE = "3.8797,43.6086"
ODYSSEUM = "3.9185,43.6040"


def run_main(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run :func:`carreta.sim.cli.main` like the console script; return (exit code, stdout,
    stderr)."""
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    captured = capsys.readouterr()
    code = exit_info.value.code
    return (code if isinstance(code, int) else 0 if code is None else 1), captured.out, captured.err


def assert_one_line_error(stderr: str, *fragments: str) -> None:
    assert "Traceback" not in stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("carreta: error: ")
    for fragment in fragments:
        assert fragment in lines[0]


# -- info and route -------------------------------------------------------------------------------


@pytest.mark.slow
def test_info_prints_the_report(
    montpellier_osm: Path, montpellier_robot: nx.MultiDiGraph, carreta_cache_dir: Path
) -> None:
    result = CliRunner().invoke(
        app, ["network", "info", str(montpellier_osm), "--cache-dir", str(carreta_cache_dir)]
    )
    assert result.exit_code == 0, result.output
    report = graph_report(montpellier_robot)
    assert f"nodes      {report.nodes:,}" in result.stdout
    assert f"edges      {report.edges:,}" in result.stdout
    assert f"streets    {report.street_km:,.1f} km" in result.stdout
    assert f"dropped    {report.dropped_nodes:,} nodes" in result.stdout
    assert f"{report.bbox[0]:.6f}, {report.bbox[1]:.6f}" in result.stdout


def test_info_profile_and_no_simplify(tiny_osm: Path, tmp_path: Path) -> None:
    path = tiny_osm
    runner = CliRunner()
    cache = ["--cache-dir", str(tmp_path / "cache")]
    van = runner.invoke(app, ["network", "info", str(path), "--profile", "van", *cache])
    full = runner.invoke(app, ["network", "info", str(path), "--no-simplify", *cache])
    assert van.exit_code == 0 and full.exit_code == 0, van.output + full.output
    assert "profile    van" in van.stdout and "nodes      5\n" in van.stdout
    assert "dropped    1 nodes, 1 edges" in van.stdout
    assert "nodes      7\n" in full.stdout


@pytest.mark.slow
def test_route_matches_networkx(
    montpellier_osm: Path, montpellier_robot: nx.MultiDiGraph, carreta_cache_dir: Path
) -> None:
    args = ["network", "route", str(montpellier_osm), "--from", COMEDIE, "--to", ODYSSEUM]
    result = CliRunner().invoke(app, [*args, "--cache-dir", str(carreta_cache_dir)])
    assert result.exit_code == 0, result.output
    lines = dict(line.split(None, 1) for line in result.stdout.splitlines())

    snapper = Snapper(montpellier_robot)
    start, start_m = snapper.snap_point(3.8797, 43.6086)
    end, end_m = snapper.snap_point(3.9185, 43.6040)
    expected_s = nx.shortest_path_length(montpellier_robot, start, end, weight="travel_time")
    minutes, seconds = divmod(round(expected_s), 60)
    assert lines["duration"] == f"{minutes}:{seconds:02d} (min:s)"
    assert lines["from"] == f"3.879700, 43.608600 → node {start} (snapped {start_m:.0f} m)"
    assert lines["to"].endswith(f"node {end} (snapped {end_m:.0f} m)")
    # robots walk at 6 km/h: length follows from duration
    assert float(lines["length"].removesuffix(" km")) == pytest.approx(
        expected_s / 3600 * 6, abs=0.006
    )
    assert int(lines["nodes"]) >= 2


@pytest.mark.slow
def test_route_far_point_is_a_user_error(
    montpellier_osm: Path, carreta_cache_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["network", "route", str(montpellier_osm), "--from", COMEDIE, "--to", "3.5,43.2"]
    code, out, err = run_main([*args, "--cache-dir", str(carreta_cache_dir)], capsys)
    assert code == 2 and out == ""
    assert_one_line_error(err, "--to point (3.500000, 43.200000) is 4", "km", "limit 500 m")
    code, _, err = run_main(
        [*args, "--max-snap-m", "100000", "--cache-dir", str(carreta_cache_dir)], capsys
    )
    assert code == 0, err


# -- error policy ---------------------------------------------------------------------------------

BAD_FILES = {
    "text.osm": ("hello\n", "not an OSM XML file"),
    "renamed.osm": ('{"version": 0.6}', "not an OSM XML file"),
    "no_ways.osm": ('<osm version="0.6"><node id="1" lat="43.6" lon="3.8"/></osm>', "no streets"),
    "notes.txt": ("hello\n", "unknown network file type"),
    "garbage.graphml": ("<graphml", "not a GraphML file"),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_file_is_one_line_and_exit_2(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    content, expected = BAD_FILES[name]
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    code, out, err = run_main(["network", "info", str(path), "--cache-dir", str(tmp_path)], capsys)
    assert (code, out) == (2, "")
    assert_one_line_error(err, str(path), expected)


def test_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "missing.osm.bz2"
    code, _, err = run_main(["network", "info", str(missing)], capsys)
    assert code == 2
    assert_one_line_error(err, f"{missing}: no such file")


def test_offline_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def refuse(*args: object, **kwargs: object) -> nx.MultiDiGraph:
        raise ConnectionError("network is unreachable")

    monkeypatch.setattr(ox, "graph_from_place", refuse)
    code, _, err = run_main(
        ["network", "info", "Montpellier, France", "--cache-dir", str(tmp_path)], capsys
    )
    assert code == 2
    assert_one_line_error(err, "could not download 'Montpellier, France' (offline?)")


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (PermissionError(13, "Permission denied", "/data/x.osm"), "/data/x.osm: Permission denied"),
        (FileNotFoundError(2, "No such file or directory", "y.osm"), "y.osm: No such file"),
    ],
)
def test_os_errors_on_user_files(
    error: OSError,
    expected: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def fail(*args: object, **kwargs: object) -> nx.MultiDiGraph:
        raise error

    monkeypatch.setattr(carreta.sim.cli.network, "load_graph", fail)
    code, _, err = run_main(["network", "info", "x.osm"], capsys)
    assert code == 2
    assert_one_line_error(err, expected)


def test_bugs_keep_their_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    def bug(*args: object, **kwargs: object) -> nx.MultiDiGraph:
        raise RuntimeError("a programming error")

    monkeypatch.setattr(carreta.sim.cli.network, "load_graph", bug)
    with pytest.raises(RuntimeError, match="a programming error"):
        main(["network", "info", "x.osm"])


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["network", "route", "x.osm", "--from", "abc", "--to", "3.8,43.6"], "'--from'"),
        (["network", "route", "x.osm", "--from", "3.8,43.6"], "--to"),
        (["network", "info", "x.osm", "--profile", "bicycle"], "bicycle"),
        (["network", "frobnicate"], "frobnicate"),
    ],
)
def test_usage_errors_keep_clicks_message_and_exit_2(
    args: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_main(args, capsys)
    assert code == 2
    assert "Usage: carreta network" in err and expected in err
    assert "Traceback" not in err


def test_version_and_help(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_main(["--version"], capsys)
    assert (code, out.strip()) == (0, f"carreta {version('carreta')}")
    code, out, _ = run_main(["network", "--help"], capsys)
    assert code == 0 and "info" in out and "route" in out


def test_console_script_reports_user_errors_without_traceback(tmp_path: Path) -> None:
    missing = tmp_path / "missing.osm"
    completed = subprocess.run(
        [sys.executable, "-m", "carreta.sim.cli", "network", "info", str(missing)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 2
    assert completed.stdout == ""
    assert completed.stderr == f"carreta: error: {missing}: no such file\n"
