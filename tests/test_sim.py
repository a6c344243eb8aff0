"""A simulated day end to end on the real Montpellier streets (scenarios/tiny.yaml)."""

from __future__ import annotations

import dataclasses
import gc
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from carreta.sim.errors import ScenarioError
from carreta.sim.model.engine import (
    InvariantError,
    check_invariants,
    gc_frozen,
    random_stream,
    simulate,
)
from carreta.sim.model.records import OrderState
from carreta.sim.model.world import World, build_world
from carreta.sim.output.kpis import result_kpis
from carreta.sim.output.tables import events_table, orders_table, robots_table
from carreta.sim.scenario.models import Scenario

pytestmark = pytest.mark.slow


def variant(base: Scenario, **overrides: object) -> Scenario:
    """``base`` with overrides as keyword arguments: ``fleet__robots__0__count`` is
    ``fleet.robots[0].count``."""
    paths = {re.sub(r"__(\d+)", r"[\1]", key).replace("__", "."): v for key, v in overrides.items()}
    return base.with_overrides(paths)


def test_same_seed_gives_identical_orders_and_kpis(tiny: Scenario, world: World) -> None:
    first = simulate(tiny, world=world)
    second = simulate(tiny, world=world)
    pd.testing.assert_frame_equal(orders_table(first), orders_table(second))
    pd.testing.assert_frame_equal(events_table(first), events_table(second))
    # Compared as JSON text: a KPI that is NaN (nothing to average) is equal to itself there.
    assert json.dumps(result_kpis(first)) == json.dumps(result_kpis(second))


def test_the_run_leaves_the_garbage_collector_as_it_found_it(tiny: Scenario, world: World) -> None:
    """The day runs with the pre-run heap frozen and the collector paused (gc_frozen);
    afterwards nothing stays frozen and the collector runs again, also when the run fails."""
    seen: list[tuple[int, bool]] = []
    with gc_frozen():
        seen.append((gc.get_freeze_count(), gc.isenabled()))
    assert seen[0][0] > 0 and not seen[0][1]  # frozen, collector paused
    assert gc.get_freeze_count() == 0 and gc.isenabled()
    with pytest.raises(RuntimeError), gc_frozen():
        raise RuntimeError("a failing run")
    assert gc.get_freeze_count() == 0 and gc.isenabled()
    gc.disable()  # a caller that had paused it finds it paused
    try:
        with gc_frozen():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
    simulate(tiny, world=world)
    assert gc.get_freeze_count() == 0 and gc.isenabled()


def test_another_seed_gives_other_demand(tiny: Scenario, world: World) -> None:
    first = orders_table(simulate(tiny, world=world, seed=1))
    second = orders_table(simulate(tiny, world=world, seed=2))
    assert not np.array_equal(first["created_s"].to_numpy(), second["created_s"].to_numpy())


def test_demand_does_not_depend_on_the_fleet(tiny: Scenario, world: World) -> None:
    """Variants are compared on identical orders: demand has its own random stream."""
    columns = ["order_id", "created_s", "due_s", "lon", "lat", "node", "weight_kg"]
    small = orders_table(simulate(tiny, world=world))[columns]
    large = orders_table(
        simulate(variant(tiny, fleet__robots__0__count=5, dispatch__policy="batch"), world=world)
    )[columns]
    pd.testing.assert_frame_equal(small, large)


def test_named_streams_are_independent_and_stable() -> None:
    assert random_stream(3, "demand").random() == random_stream(3, "demand").random()
    assert random_stream(3, "demand").random() != random_stream(3, "service").random()
    assert random_stream(3, "demand").random() != random_stream(4, "demand").random()


@pytest.mark.parametrize("policy", ["nearest_idle", "batch", "tours"])
def test_every_policy_delivers_and_keeps_the_invariants(
    tiny: Scenario, world: World, policy: str
) -> None:
    result = simulate(variant(tiny, dispatch__policy=policy), world=world)
    check_invariants(result)
    orders = orders_table(result)
    assert (orders["state"] == "delivered").sum() >= len(orders) // 2
    assert set(orders["state"]) <= {state.value for state in OrderState}
    delivered = orders[orders["state"] == "delivered"]
    assert (delivered["created_s"] <= delivered["assigned_s"]).all()
    assert (delivered["assigned_s"] <= delivered["picked_s"]).all()
    assert (delivered["picked_s"] < delivered["delivered_s"]).all()
    times = events_table(result)["time_s"].to_numpy()
    assert np.all(np.diff(times) >= 0)
    robots = robots_table(result)
    assert (robots["min_battery_wh"] >= 0).all()
    legs_km = sum(leg.length_m for leg in result.legs) / 1000.0
    assert robots["distance_km"].sum() == pytest.approx(legs_km, rel=1e-12)
    duration = result.end_s - result.start_s
    accounted = robots[["busy_s", "idle_s", "charging_s", "waiting_charger_s"]].sum(axis=1)
    assert np.allclose(accounted, duration)


def test_tours_respect_stops_and_payload(tiny: Scenario, world: World) -> None:
    scenario = variant(
        tiny,
        dispatch__max_stops_per_tour=3,
        fleet__robots__0__payload_kg=8.0,
        demand__parcel_weight_kg__max_kg=8.0,
        demand__orders_per_day=80,
    )
    result = simulate(scenario, world=world)
    orders = orders_table(result)
    tours = orders[orders["picked_s"].notna()].groupby(["robot_id", "picked_s"])
    assert tours.size().max() <= 3
    assert tours["weight_kg"].sum().max() <= 8.0 + 1e-9
    assert tours.size().max() > 1  # multi-stop tours do happen


def test_orders_nobody_can_carry_are_rejected_with_a_reason(
    tiny: Scenario, world: World, tmp_path: Path
) -> None:
    csv = tmp_path / "orders.csv"
    csv.write_text(
        "created,lon,lat,weight_kg\n"
        "09:00,3.8790,43.6090,2.5\n"
        "09:01,3.8790,43.6090,45\n"  # heavier than the 40 kg payload
        "09:02,3.5000,43.3000,1\n",  # 30 km away from every street of the extract
        encoding="utf-8",
    )
    scenario = variant(tiny, demand__orders_csv=str(csv), fleet__robots__0__payload_kg=40.0)
    orders = orders_table(simulate(scenario, world=world))
    assert orders["state"].tolist() == ["delivered", "rejected", "rejected"]
    assert orders["reason"].tolist() == [pd.NA, "over_payload", "address_too_far"]


def test_short_range_robots_charge_and_never_run_flat(tiny: Scenario, world: World) -> None:
    scenario = variant(
        tiny,
        fleet__robots__0__battery_wh=400.0,  # ~4.8 km of range
        fleet__robots__0__recharge_below_fraction=0.5,
        demand__orders_per_day=60,
    )
    result = simulate(scenario, world=world)
    robots = robots_table(result)
    assert robots["charging_s"].sum() > 0
    assert (robots["min_battery_wh"] >= 0.05 * 400.0 - 1e-6).all()  # the reserve is kept
    events = events_table(result)
    assert (events["kind"] == "charge_start").any()


def test_orders_beyond_range_are_rejected(tiny: Scenario, world: World) -> None:
    scenario = variant(tiny, fleet__robots__0__battery_wh=60.0)  # ~0.7 km of range
    orders = orders_table(simulate(scenario, world=world))
    assert (orders["reason"] == "beyond_range").any()


def test_open_orders_at_the_end_are_reported(tiny: Scenario, world: World) -> None:
    scenario = variant(tiny, fleet__robots__0__count=1, demand__orders_per_day=120)
    result = simulate(scenario, world=world)
    kpis = result_kpis(result)
    assert kpis["orders_late"] + kpis["orders_open_not_due"] > 0
    assert (
        kpis["orders_on_time"]
        + kpis["orders_late"]
        + kpis["orders_open_not_due"]
        + kpis["orders_rejected"]
        == kpis["orders_created"]
        == len(result.orders)
    )


def test_invariant_check_catches_a_broken_run(tiny: Scenario, world: World) -> None:
    result = simulate(tiny, world=world)
    robot = result.robots[0]
    robot.stats = dataclasses.replace(robot.stats, distance_m=robot.stats.distance_m + 1.0)
    with pytest.raises(InvariantError, match="distance"):
        check_invariants(result)


def test_orders_csv_is_read(tiny: Scenario, world: World, tmp_path: Path) -> None:
    csv = tmp_path / "orders.csv"
    csv.write_text(
        "order_id,created,lon,lat,weight_kg,due\n"
        "17,09:00,3.8790,43.6090,2.5,10:30\n"
        "18,09:10:30,3.8770,43.6100,4.0,11:00\n"
        "19,23:30,3.8770,43.6100,4.0,23:59\n",  # outside the simulated window: ignored
        encoding="utf-8",
    )
    result = simulate(variant(tiny, demand__orders_csv=str(csv)), world=world)
    orders = orders_table(result)
    assert orders["order_id"].tolist() == [17, 18]
    assert orders["created_s"].tolist() == [9 * 3600.0, 9 * 3600.0 + 630.0]
    assert orders["due_s"].tolist() == [10.5 * 3600.0, 11 * 3600.0]
    assert (orders["state"] == "delivered").all()


def test_a_bad_orders_csv_names_the_file_the_column_and_the_line(
    tiny: Scenario, world: World, tmp_path: Path
) -> None:
    csv = tmp_path / "orders.csv"
    csv.write_text(
        "created_s,lon,lat,weight_kg\n32400,3.879,43.609,2.5\n32500,east,43.609,2\n",
        encoding="utf-8",
    )
    with pytest.raises(ScenarioError) as caught:
        simulate(variant(tiny, demand__orders_csv=str(csv)), world=world)
    assert str(caught.value) == f"{csv}: lon: line 3: not a number: 'east'"


def test_a_hub_off_the_network_is_a_scenario_error(tiny: Scenario, world: World) -> None:
    scenario = variant(tiny, hubs__0__lon=3.5, hubs__0__lat=43.2)
    with pytest.raises(ScenarioError, match=r"hubs\[0\]: hub 'saint-roch' is .* m from"):
        build_world(scenario, graph=world.graph, label="x.yaml")
