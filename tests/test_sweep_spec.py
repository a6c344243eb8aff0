"""Sweep files: validation messages, expansion, stable run ids and seeds, sampling, the report.

These tests never simulate: the base scenario is read and validated, the street graph is not
loaded.
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from carreta.sim.cli import main
from carreta.sim.errors import RunDirError, ScenarioError
from carreta.sim.output.statistics import wilson_interval
from carreta.sim.sweep.load import load_sweep
from carreta.sim.sweep.report import (
    DEFAULT_KPIS,
    SUMMARY_CSV,
    SUMMARY_MARKDOWN,
    compact_table,
    format_interval,
    summarise_runs,
)
from carreta.sim.sweep.spec import (
    SampleSpec,
    SweepError,
    expand_runs,
    replicate_seed,
    run_id,
    sample_points,
)
from carreta.sim.viz.plots import DEFAULT_SWEEP_KPIS

PROJECT = Path(__file__).resolve().parents[1]
TINY = PROJECT / "scenarios" / "tiny.yaml"


def write_sweep(folder: Path, body: dict[str, Any], name: str = "sweep.yaml") -> Path:
    """Write a sweep file over scenarios/tiny.yaml (unless ``body`` names another base)."""
    path = folder / name
    path.write_text(
        yaml.safe_dump({"base": str(TINY), "seed": 7, **body}, sort_keys=False), "utf-8"
    )
    return path


def error_of(path: Path) -> str:
    with pytest.raises(ScenarioError) as caught:
        load_sweep(path)
    return str(caught.value)


def test_grid_expands_full_factorial_with_replicates(tmp_path: Path) -> None:
    grid: dict[str, list[Any]] = {
        "fleet.robots[0].count": [2, 3, 4],
        "dispatch.policy": ["nearest_idle", "batch"],
    }
    sweep = load_sweep(write_sweep(tmp_path, {"replicates": 2, "grid": grid}))
    assert len(sweep.runs) == 3 * 2 * 2
    combos = [tuple(run.params.values()) for run in sweep.runs[::2]]
    assert combos == list(itertools.product(*grid.values()))  # last path varies fastest
    assert [run.replicate for run in sweep.runs[:4]] == [0, 1, 0, 1]
    assert len({run.run_id for run in sweep.runs}) == len(sweep.runs)
    assert sweep.name == "sweep"
    scenario = sweep.scenario_for(sweep.runs[-1])
    assert scenario.fleet.robots[0].count == 4 and scenario.dispatch.policy == "batch"


def test_seed_depends_on_replicate_only_common_random_numbers(tmp_path: Path) -> None:
    grid = {"fleet.robots[0].count": [2, 3], "dispatch.policy": ["nearest_idle", "tours"]}
    sweep = load_sweep(write_sweep(tmp_path, {"replicates": 3, "grid": grid}))
    by_replicate: dict[int, set[int]] = {}
    for run in sweep.runs:
        by_replicate.setdefault(run.replicate, set()).add(run.seed)
    assert all(len(seeds) == 1 for seeds in by_replicate.values())
    assert len({seeds.pop() for seeds in by_replicate.values()}) == 3
    assert sweep.runs[0].seed == replicate_seed(7, 0)
    assert replicate_seed(8, 0) != replicate_seed(7, 0)


def test_adding_a_value_keeps_existing_run_ids_and_seeds(tmp_path: Path) -> None:
    small = {"replicates": 2, "grid": {"fleet.robots[0].count": [2, 3]}}
    large = {"replicates": 3, "grid": {"fleet.robots[0].count": [1, 2, 3, 5]}}
    before = {run.run_id: run for run in load_sweep(write_sweep(tmp_path, small, "a.yaml")).runs}
    after = {run.run_id: run for run in load_sweep(write_sweep(tmp_path, large, "b.yaml")).runs}
    assert set(before) < set(after)
    for identifier, run in before.items():
        assert after[identifier] == run


@given(
    st.dictionaries(
        st.from_regex(r"[a-z]{1,6}(\.[a-z]{1,6}){0,2}", fullmatch=True),
        st.one_of(st.integers(), st.floats(allow_nan=False), st.text(max_size=5)),
        max_size=5,
    ),
    st.integers(min_value=0, max_value=100),
    st.randoms(use_true_random=False),
)
@settings(max_examples=60, deadline=None)
def test_run_id_ignores_key_order(params: dict[str, Any], replicate: int, rng: Any) -> None:
    items = list(params.items())
    rng.shuffle(items)
    assert run_id(dict(items), replicate) == run_id(params, replicate)
    assert run_id(params, replicate) != run_id(params, replicate + 1)


def test_samples_are_reproducible_typed_and_stratified() -> None:
    spec = SampleSpec(method="lhs", n=10, ranges={"a": (0.0, 1.0), "b": (2, 11)})
    points = sample_points(spec, sweep_seed=3)
    assert points == sample_points(spec, sweep_seed=3)
    assert points != sample_points(spec, sweep_seed=4)
    assert all(isinstance(p["a"], float) and isinstance(p["b"], int) for p in points)
    # A Latin hypercube: each tenth of each range holds exactly one point.
    assert sorted(math.floor(p["a"] * 10) for p in points) == list(range(10))
    assert sorted(p["b"] for p in points) == list(range(2, 12))


def test_random_sample_prefix_does_not_depend_on_n() -> None:
    few = SampleSpec(method="random", n=3, ranges={"x": (1.5, 2.5)})
    many = SampleSpec(method="random", n=8, ranges={"x": (1.5, 2.5)})
    first = sample_points(many, sweep_seed=1)
    assert sample_points(few, sweep_seed=1) == first[:3]
    assert all(1.5 <= p["x"] < 2.5 for p in first)


def test_sample_is_crossed_with_grid_and_integer_repeats_collapse(tmp_path: Path) -> None:
    body = {
        "grid": {"dispatch.policy": ["nearest_idle", "batch"]},
        "sample": {"method": "random", "n": 20, "ranges": {"fleet.robots[0].count": [1, 2]}},
    }
    sweep = load_sweep(write_sweep(tmp_path, body))
    combos = {
        (run.params["dispatch.policy"], run.params["fleet.robots[0].count"]) for run in sweep.runs
    }
    assert combos == {("nearest_idle", 1), ("nearest_idle", 2), ("batch", 1), ("batch", 2)}
    assert len(sweep.runs) == 4
    assert sweep.parameter_paths == ["dispatch.policy", "fleet.robots[0].count"]
    # The resolved sweep (sweep.resolved.yaml) keeps integer bounds integers.
    assert sweep.resolved()["sample"]["ranges"] == {"fleet.robots[0].count": [1, 2]}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            {"grid": {"fleet.robots[0].count": [2, -1]}},
            "sweep.yaml: grid['fleet.robots[0].count']: the value -1 makes the base scenario "
            "invalid: fleet.robots[0].count: must be at least 0 (set by override)",
        ),
        (
            {"grid": {"dispatch.policy": ["batch", "fastest"]}},
            "sweep.yaml: grid['dispatch.policy']: the value fastest makes the base scenario "
            "invalid: dispatch.policy: must be one of",
        ),
        (
            {"grid": {"fleet.robotz[0].count": [2]}},
            "sweep.yaml: grid['fleet.robotz[0].count']: the value 2 makes the base scenario "
            "invalid: fleet.robotz[0].count: cannot override: fleet.robotz is empty",
        ),
        (
            {"grid": {"dispatch.polcy": ["batch"]}},
            "sweep.yaml: grid['dispatch.polcy']: the value batch makes the base scenario "
            "invalid: dispatch: unknown field 'polcy' (did you mean 'policy'?)",
        ),
        (
            {"grid": {"fleet.robots[3].count": [2]}},
            "sweep.yaml: grid['fleet.robots[3].count']: the value 2 makes the base scenario "
            "invalid: fleet.robots[3].count: cannot override",
        ),
        (
            {"grid": {"fleet..count": [2]}},
            "sweep.yaml: grid['fleet..count']: is not a field path",
        ),
        (
            {"grid": {"simulation.seed": [1, 2]}},
            "sweep.yaml: grid['simulation.seed']: is set by the sweep",
        ),
        (
            {"grid": {"dispatch.policy": ["batch", "batch"]}},
            "sweep.yaml: grid['dispatch.policy']: lists batch more than once",
        ),
        (
            {"grid": {"dispatch.policy": []}},
            "sweep.yaml: grid['dispatch.policy']: must have at least one item",
        ),
        (
            {"replicate": 3},
            "sweep.yaml: unknown field 'replicate' (did you mean 'replicates'?)",
        ),
        ({"replicates": 0}, "sweep.yaml: replicates: must be at least 1"),
        (
            {"overrides": {"demand.orders_per_day": -5}},
            "sweep.yaml: overrides: this value makes the base scenario invalid: "
            "demand.orders_per_day: must be at least 0",
        ),
        (
            {"overrides": {"dispatch.policy": "batch"}, "grid": {"dispatch.policy": ["tours"]}},
            "sweep.yaml: grid['dispatch.policy']: is already set in overrides['dispatch.policy']",
        ),
        (
            {"sample": {"n": 4, "ranges": {"fleet.robots[0].speed_kph": [5.0, 2.0]}}},
            "sweep.yaml: sample.ranges['fleet.robots[0].speed_kph']: low (5.0) must be less than",
        ),
        (
            {"sample": {"n": 4, "ranges": {"fleet.robots[0].speed_kph": [-1.0, 2.0]}}},
            "sweep.yaml: sample.ranges['fleet.robots[0].speed_kph']: the bound -1.0 makes the "
            "base scenario invalid: fleet.robots[0].speed_kph: must be greater than 0",
        ),
        (
            {"sample": {"n": 4, "ranges": {"fleet.robots[0].count": [1, "many"]}}},
            "sweep.yaml: sample.ranges['fleet.robots[0].count'][1]: must be a number",
        ),
        (
            {
                "grid": {
                    "demand.parcel_weight_kg.max_kg": [30, 80],
                    "fleet.robots[0].payload_kg": [100, 50],
                }
            },
            "sweep.yaml: grid: the combination demand.parcel_weight_kg.max_kg=80, "
            "fleet.robots[0].payload_kg=50 makes the base scenario invalid: "
            "demand.parcel_weight_kg.max_kg: a 80 kg parcel exceeds every robot's payload_kg",
        ),
    ],
)
def test_bad_sweeps_name_file_field_and_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: dict[str, Any], expected: str
) -> None:
    write_sweep(tmp_path, body)
    monkeypatch.chdir(tmp_path)
    message = error_of(Path("sweep.yaml"))
    assert message.startswith(expected), message
    assert "\n" not in message


def test_missing_base_is_reported_against_the_sweep_file(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("base: nowhere.yaml\nseed: 1\n", "utf-8")
    message = error_of(path)
    assert message == f"{tmp_path / 'nowhere.yaml'}: no such file"
    (tmp_path / "e.yaml").write_text("# nothing\n", "utf-8")
    assert "a sweep needs at least base and seed" in error_of(tmp_path / "e.yaml")
    (tmp_path / "l.yaml").write_text("- 1\n", "utf-8")
    assert "top level must be a mapping" in error_of(tmp_path / "l.yaml")
    with pytest.raises(SweepError):
        load_sweep(tmp_path / "l.yaml")


def test_cli_bad_sweep_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_sweep(tmp_path, {"grid": {"fleet.robots[0].count": [2, -1]}})
    with pytest.raises(SystemExit) as caught:
        main(["sweep", str(path), "--out", str(tmp_path / "out")])
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"carreta: error: {path}: grid[")
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_cli_dry_run_lists_runs_without_running(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_sweep(tmp_path, {"replicates": 2, "grid": {"dispatch.policy": ["batch", "tours"]}})
    with pytest.raises(SystemExit) as caught:
        main(["sweep", str(path), "--dry-run"])
    assert caught.value.code == 0
    out = capsys.readouterr().out
    for run in expand_runs(load_sweep(path).spec):
        assert f"{run.run_id}  " in out and str(run.seed) in out
    assert "dispatch.policy=tours" in out and "4 runs (2 combination(s) × 2 replicate(s))" in out


def test_sample_sweep_file_is_valid() -> None:
    sweep = load_sweep(PROJECT / "scenarios" / "sweep_fleet_size.yaml")
    assert len(sweep.runs) >= 8
    assert {"fleet.robots[0].count", "dispatch.policy"} <= set(sweep.parameter_paths)


def report_table() -> pd.DataFrame:
    """A runs table as ``carreta sweep`` writes it: 2 fleet sizes × 2 policies, 3 replicates,
    one failed run; and a combination whose only run failed."""
    rows = []
    for robots, policy, on_time, delivered in (
        (1, "batch", [7, 10, 8], [8, 11, 8]),
        (1, "tours", [9, 9, 6], [10, 9, 7]),
        (3, "batch", [24, 30, 29], [24, 30, 29]),
        (3, "tours", [23, 30, 30], [24, 30, 30]),
    ):
        for replicate in range(3):
            rows.append(
                {"run_id": f"{robots}{policy}{replicate}", "replicate": replicate,
                 "seed": 100 + replicate, "fleet.robots[0].count": robots,
                 "dispatch.policy": policy, "status": "completed", "error": None,
                 "orders_created": 40.0, "orders_due": 30.0,
                 "orders_on_time": float(on_time[replicate]),
                 "orders_delivered": float(delivered[replicate]), "orders_rejected": 0.0,
                 "lead_time_p95_min": 100.0 - 10 * robots + replicate,
                 "utilisation": 0.8 - 0.01 * replicate, "km_per_delivery": 1.5,
                 "cost_per_delivery_eur": 3.0 + replicate}
            )  # fmt: skip
    rows.append({**rows[0], "run_id": "failed", "replicate": 3, "status": "failed",
                 "error": "boom", "orders_on_time": np.nan, "orders_due": np.nan})  # fmt: skip
    rows.append({**rows[0], "run_id": "lost", "fleet.robots[0].count": 5, "status": "failed"})
    table = pd.DataFrame(rows)
    table["on_time_share"] = table["orders_on_time"] / table["orders_due"]
    table["service_rate"] = table["orders_delivered"] / table["orders_created"]
    return table


def test_summary_pools_orders_for_shares_and_averages_the_rest() -> None:
    table = report_table()
    summary = summarise_runs(table, kpis=["on_time_share", "lead_time_p95_min"])
    assert len(summary) == 4 * 2  # combinations with a completed run × KPIs
    first = summary.iloc[0]
    assert (first["fleet.robots[0].count"], first["dispatch.policy"]) == (1, "batch")
    assert first["replicates"] == 3  # the failed run does not count
    assert (first["successes"], first["trials"]) == (25, 90)
    assert first["method"] == "wilson_pooled"
    lead = summary.iloc[1]
    half = stats.t.ppf(0.975, 2) * 1.0 / math.sqrt(3)  # sd of 90, 91, 92 is 1
    assert lead["estimate"] == pytest.approx(91.0)
    assert (lead["low"], lead["high"]) == (pytest.approx(91 - half), pytest.approx(91 + half))
    with pytest.raises(RunDirError, match="no column robot_km"):
        summarise_runs(table, kpis=["robot_km"])


def test_compact_table_has_one_row_per_combination() -> None:
    table = report_table()
    kpis = list(DEFAULT_KPIS)
    compact = compact_table(table, summarise_runs(table, kpis=kpis), kpis=kpis)
    assert len(compact) == 5  # 4 combinations, and the one whose run failed
    assert list(compact.columns[:3]) == ["fleet.robots[0].count", "dispatch.policy", "runs"]
    assert list(compact["runs"]) == ["3", "3", "3", "3", "0"]
    row = compact.iloc[0]
    low, high = wilson_interval(25, 90)
    assert row["on time share [%]"] == f"27.8 ± {50 * (high[()] - low[()]):.1f}"
    assert row["lead time p95 [min]"].startswith("91.0 ± ")
    assert compact.iloc[2]["on time share [%]"] == "92.2 [84.8, 96.2]"  # 83 of 90: not centred
    assert compact.iloc[4]["on time share [%]"] == "–"


@pytest.mark.parametrize(
    ("name", "estimate", "low", "high", "text"),
    [
        ("on_time_share", 0.842, 0.811, 0.873, "84.2 ± 3.1"),
        ("on_time_share", 1.0, 0.956, 1.0, "100.0 [95.6, 100.0]"),
        ("on_time_share", 0.0, 0.0, 0.06, "0.0 [0.0, 6.0]"),
        ("lead_time_p95_min", 126.3, 106.1, 146.5, "126 ± 20"),
        ("km_per_delivery", 1.694, 0.926, 2.463, "1.69 ± 0.77"),
        ("orders_late", 2.0, 0.0, 9.46, "2.0 [0.0, 9.5]"),
        ("cost_per_delivery_eur", 12.3, float("nan"), float("nan"), "12.3 ± –"),
        ("utilisation", float("nan"), float("nan"), float("nan"), "–"),
    ],
)
def test_interval_cells(name: str, estimate: float, low: float, high: float, text: str) -> None:
    assert format_interval(name, estimate, low, high) == text


def test_sweep_report_prints_one_table_and_writes_csv_and_markdown(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "sweep"
    folder.mkdir()
    report_table().to_parquet(folder / "runs.parquet", index=False)
    with pytest.raises(SystemExit) as caught:
        main(["sweep-report", str(folder)])
    assert caught.value.code == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0] == f"{folder}: 14 runs (12 completed, 2 failed, 0 pending)"
    assert lines[1].split() == [  # parameters by their labels (no base scenario: numbered)
        "robots", "(group", "1)", "dispatch", "policy", "runs", "on", "time", "share", "[%]",
        "service", "rate", "[%]", "lead", "time", "p95", "[min]", "utilisation", "[%]", "km",
        "per", "delivery", "[km]", "cost", "per", "delivery", "[EUR]",
    ]  # fmt: skip
    assert lines[3].split()[:5] == ["1", "batch", "3", "27.8", "±"]
    assert len(lines) < 15 and "Warning" not in out
    csv = pd.read_csv(folder / SUMMARY_CSV)
    assert len(csv) == 4 * csv["kpi"].nunique() and csv["kpi"].nunique() >= 8
    assert {"estimate", "low", "high", "half_width", "method"} <= set(csv.columns)
    share = csv[(csv["kpi"] == "on_time_share") & (csv["dispatch.policy"] == "batch")]
    assert share["estimate"].round(4).tolist() == [round(25 / 90, 4), round(83 / 90, 4)]
    markdown = (folder / SUMMARY_MARKDOWN).read_text("utf-8")
    assert "| 1 | batch | 3 | 27.8 ± " in markdown and "|---|---|---:|" in markdown
    assert markdown.count("\n| ") == 1 + 5  # the header, a row per combination
    before = (folder / SUMMARY_CSV).stat().st_mtime_ns
    with pytest.raises(SystemExit) as caught:  # a later report replaces the summary
        main(["sweep-report", str(folder), "--kpi", "service_rate", "--confidence", "0.9"])
    assert caught.value.code == 0
    assert "90 % Wilson" in capsys.readouterr().out
    assert (folder / SUMMARY_CSV).stat().st_mtime_ns >= before
    assert "service rate [%]" in (folder / SUMMARY_MARKDOWN).read_text("utf-8")
    assert "on time share" not in (folder / SUMMARY_MARKDOWN).read_text("utf-8")
    assert sorted(p.name for p in folder.iterdir()) == ["runs.parquet", "summary.csv", "summary.md"]


def test_report_defaults_are_the_plotted_kpis() -> None:
    assert DEFAULT_KPIS == DEFAULT_SWEEP_KPIS


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)
_PATHS = st.sampled_from(
    [
        "fleet.robots[0].count",
        "fleet.robots[0].speed_kph",
        "dispatch.policy",
        "demand.orders_per_day",
        "hubs[0]",
        "hubs[2].lon",
        "simulation",
        "name",
        "x.y",
        "fleet.robots[0]",
        "1abc",
        "",
    ]
)


@given(
    st.fixed_dictionaries(
        {},
        optional={
            "seed": _JSON | st.integers(min_value=0, max_value=2**40),
            "replicates": _JSON | st.integers(min_value=1, max_value=3),
            "grid": _JSON | st.dictionaries(_PATHS, st.lists(_JSON, max_size=3), max_size=3),
            "overrides": _JSON | st.dictionaries(_PATHS, _JSON, max_size=2),
            "sample": _JSON
            | st.fixed_dictionaries(
                {"n": st.integers(min_value=-1, max_value=5)},
                optional={
                    "method": st.sampled_from(["lhs", "random", "sobol"]),
                    "ranges": st.dictionaries(_PATHS, st.lists(_JSON, max_size=3), max_size=2),
                },
            ),
        },
    )
)
@settings(max_examples=80, deadline=None)
def test_random_sweep_files_never_crash(
    tmp_path_factory: pytest.TempPathFactory, body: dict[str, Any]
) -> None:
    path = tmp_path_factory.mktemp("random") / "s.yaml"
    path.write_text(yaml.safe_dump({"base": str(TINY), **body}, sort_keys=False), "utf-8")
    try:
        sweep = load_sweep(path)
    except ScenarioError as error:
        assert str(error).startswith(f"{path}: ") and "\n" not in str(error)
        return
    assert len(sweep.runs) == len({run.run_id for run in sweep.runs}) >= 1
    for run in sweep.runs[:3]:
        sweep.scenario_for(run)
