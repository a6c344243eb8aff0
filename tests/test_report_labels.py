"""Sweep charts and tables name parameters as a planner does: "robots at saint-roch", not
``fleet.robots[0].count``."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from matplotlib.figure import Figure
from test_plots import _synthetic_sweep

from carreta.sim.output.statistics import replicate_intervals
from carreta.sim.scenario.labels import parameter_label, parameter_labels
from carreta.sim.sweep.report import (
    compact_table,
    parameter_columns,
    parameter_labels_of,
    summarise_runs,
)
from carreta.sim.viz import charts

BASE = {
    "hubs": [{"id": "saint-roch", "lon": 3.88, "lat": 43.60}, {"id": "comédie", "lon": 3.88,
                                                               "lat": 43.61}],
    "fleet": {"robots": [{"type": "droid", "count": 3, "hub": "saint-roch"},
                         {"type": "droid", "count": 2}],
              "vans": [{"type": "diesel", "count": 1, "hub": "comédie"}]},
}  # fmt: skip


@pytest.mark.parametrize(
    ("path", "label"),
    [
        ("fleet.robots[0].count", "robots at saint-roch"),
        ("fleet.robots[1].count", "robots (droid)"),  # spread over the hubs
        ("fleet.robots[0].speed_kph", "speed of robots at saint-roch [km/h]"),
        ("fleet.vans[0].count", "vans at comédie"),
        ("hubs[1].chargers", "chargers at comédie"),
        ("hubs[0].loading_time_per_parcel_s", "loading time per parcel at saint-roch [s]"),
        ("demand.orders_per_day", "orders per day"),
        ("dispatch.policy", "dispatch policy"),
        ("dispatch.batch_interval_s", "dispatch batch interval [s]"),
        ("simulation.duration_h", "duration [h]"),
        ("hubs[5].chargers", "chargers at hub 6"),  # not in the scenario: numbered
        ("not a path", "not a path"),
    ],
)
def test_parameter_labels_read_the_scenario(path: str, label: str) -> None:
    assert parameter_label(path, BASE) == label


def test_labels_without_a_scenario_and_clashes() -> None:
    assert parameter_label("fleet.robots[0].count") == "robots (group 1)"
    labels = parameter_labels(["hubs[0].chargers", "hubs[0].chargers_s"], None)
    assert labels == {"hubs[0].chargers": "chargers at hub 1",
                      "hubs[0].chargers_s": "chargers at hub 1 [s]"}  # fmt: skip
    same = parameter_labels(["simulation.duration_h", "duration_h"], None)
    assert same["duration_h"] == "duration [h] (duration_h)"  # two paths, one label: told apart


def write_resolved(folder: Path) -> None:
    text = yaml.safe_dump({"name": "fleet", "base_scenario": BASE}, allow_unicode=True)
    (folder / "sweep.resolved.yaml").write_text(text, "utf-8")


def test_sweep_report_table_heads_parameters_with_labels(tmp_path: Path) -> None:
    table = _synthetic_sweep(tmp_path / "sweep", policies=("batch", "tours"))
    parameters = ["fleet.robots[0].count", "dispatch.policy"]
    assert parameter_labels_of(tmp_path / "sweep", parameters) == {
        "fleet.robots[0].count": "robots (group 1)",
        "dispatch.policy": "dispatch policy",
    }  # fmt: skip  (no sweep.resolved.yaml: groups are numbered)
    write_resolved(tmp_path / "sweep")
    labels = parameter_labels_of(tmp_path / "sweep", parameter_columns(table))
    compact = compact_table(
        table, summarise_runs(table, kpis=["on_time_share"]), kpis=["on_time_share"],
        labels=labels,
    )  # fmt: skip
    assert list(compact.columns[:4]) == [
        "robots at saint-roch", "dispatch policy", "orders per day", "runs"
    ]  # fmt: skip


def test_sweep_charts_label_axes_legends_and_titles(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from carreta.sim.viz.plots import plot_sweep

    _synthetic_sweep(tmp_path / "sweep", policies=("batch", "tours"))
    write_resolved(tmp_path / "sweep")
    figures: list[Figure] = []

    def keep(fig: Figure, path: Path) -> Path:
        figures.append(fig)
        return path

    monkeypatch.setattr(charts, "_save", keep)
    plot_sweep(tmp_path / "sweep", tmp_path / "plots", intervals=replicate_intervals)
    assert figures
    texts = []
    for fig in figures:
        texts.append(fig.get_suptitle())
        for ax in fig.axes:
            texts += [ax.get_xlabel(), ax.get_title(), ax.get_title("left")]
            legend = ax.get_legend()
            if legend is not None:
                texts.append(legend.get_title().get_text())
    joined = "\n".join(texts)
    assert "fleet.robots[0].count" not in joined and "dispatch.policy" not in joined
    assert "robots at saint-roch" in joined
    assert "On-time share and service rate against robots at saint-roch" in joined
    assert "dispatch policy: batch" in joined  # a panel per policy
