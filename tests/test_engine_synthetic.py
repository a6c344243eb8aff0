"""The simulation engine on a synthetic 6 x 6 street grid (tests/synthetic.py): fast unit tests.

Each run simulates a morning of about 20-30 orders on 36 street nodes in a few hundredths of a
second. They go through the public entry points only (a validated scenario,
``simulate(scenario, world=..., seed=...)``, the tables and KPIs of ``carreta.sim.output``), so
they hold whatever the model's internals become. The same behaviours on the real Montpellier
streets are in test_sim.py and test_operations.py (marked ``slow``).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from pandas.api.typing import DataFrameGroupBy
from synthetic import grid_world, node_lonlat

from carreta.sim.model import SimulationResult, simulate
from carreta.sim.model.world import World
from carreta.sim.output.kpis import result_kpis
from carreta.sim.output.tables import events_table, legs_table, orders_table, robots_table
from carreta.sim.scenario import Scenario

#: Every state an order can be in at the end of a run.
ORDER_STATES = {"waiting", "assigned", "on_board", "delivered", "rejected"}
#: Robot time is spent in exactly one of these (seconds, robots table).
TIME_COLUMNS = ["busy_s", "idle_s", "charging_s", "waiting_charger_s", "down_s"]


def run(
    scenario: Scenario, world: World, overrides: dict[str, Any] | None = None
) -> SimulationResult:
    """Simulate ``scenario`` with dotted-path ``overrides`` on the shared grid world."""
    return simulate(scenario.with_overrides(overrides or {}), world=world)


def trips(orders: pd.DataFrame) -> DataFrameGroupBy:
    """Delivered orders grouped by trip: the robot and the time it loaded them at the hub."""
    return orders[orders["state"] == "delivered"].groupby(["robot_id", "picked_s"])


def assert_time_accounted(result: SimulationResult) -> None:
    """Each robot's time is busy, idle, charging, waiting for a charger or down, in sum the day."""
    robots = robots_table(result)
    assert np.allclose(robots[TIME_COLUMNS].sum(axis=1), result.end_s - result.start_s)


# -- orders ---------------------------------------------------------------------------------


def test_every_order_is_delivered_rejected_or_still_open(
    grid_scenario: Scenario, grid_world: World
) -> None:
    """A busy day (one robot, three times the orders): every order created is counted once."""
    result = run(
        grid_scenario, grid_world, {"fleet.robots[0].count": 1, "demand.orders_per_day": 90}
    )
    orders = orders_table(result)
    kpis = result_kpis(result)
    assert set(orders["state"]) <= ORDER_STATES
    assert orders["order_id"].is_unique
    assert kpis["orders_created"] == len(orders) == len(result.orders) > 40
    assert kpis["orders_delivered"] == (orders["state"] == "delivered").sum() > 0
    assert kpis["orders_late"] + kpis["orders_open_not_due"] > 0  # one robot cannot keep up
    assert (
        kpis["orders_on_time"]
        + kpis["orders_late"]
        + kpis["orders_open_not_due"]
        + kpis["orders_rejected"]
        == kpis["orders_created"]
    )
    delivered = orders[orders["state"] == "delivered"]
    assert (delivered["created_s"] <= delivered["assigned_s"]).all()
    assert (delivered["assigned_s"] <= delivered["picked_s"]).all()
    assert (delivered["picked_s"] < delivered["delivered_s"]).all()
    assert (delivered["delivered_s"] <= result.end_s).all()
    assert np.all(np.diff(events_table(result)["time_s"].to_numpy()) >= 0)
    assert_time_accounted(result)


def test_same_seed_gives_identical_tables_and_kpis(grid_scenario: Scenario) -> None:
    """Two runs with one seed, each on a world of its own, give the same day to the bit."""
    first = simulate(grid_scenario, world=grid_world(grid_scenario), seed=11)
    second = simulate(grid_scenario, world=grid_world(grid_scenario), seed=11)
    pd.testing.assert_frame_equal(orders_table(first), orders_table(second))
    pd.testing.assert_frame_equal(events_table(first), events_table(second))
    pd.testing.assert_frame_equal(robots_table(first), robots_table(second))
    # As JSON text: a KPI that is NaN (nothing to average) is equal to itself there.
    assert json.dumps(result_kpis(first)) == json.dumps(result_kpis(second))


def test_the_seed_argument_overrides_the_scenario_seed(
    grid_scenario: Scenario, grid_world: World
) -> None:
    default = orders_table(simulate(grid_scenario, world=grid_world))
    same = orders_table(
        simulate(grid_scenario, world=grid_world, seed=grid_scenario.simulation.seed)
    )
    other = orders_table(simulate(grid_scenario, world=grid_world, seed=99))
    pd.testing.assert_frame_equal(default, same)
    assert not np.array_equal(default["created_s"].to_numpy(), other["created_s"].to_numpy())


def test_demand_does_not_depend_on_the_fleet_or_the_policy(
    grid_scenario: Scenario, grid_world: World
) -> None:
    """Variants are compared on identical orders: demand has its own random stream."""
    columns = ["order_id", "created_s", "due_s", "lon", "lat", "node", "weight_kg"]
    base = orders_table(run(grid_scenario, grid_world))[columns]
    variant = run(
        grid_scenario, grid_world, {"fleet.robots[0].count": 1, "dispatch.policy": "batch"}
    )
    pd.testing.assert_frame_equal(base, orders_table(variant)[columns])


def test_a_scenario_naming_the_graphml_file_builds_the_same_world(
    grid_scenario: Scenario, grid_world: World
) -> None:
    """Without a prebuilt world, simulate loads the scenario's network file (GraphML here) and
    gets the day the in-memory grid gives."""
    from_file = simulate(grid_scenario)
    in_memory = simulate(grid_scenario, world=grid_world)
    pd.testing.assert_frame_equal(orders_table(from_file), orders_table(in_memory))
    pd.testing.assert_frame_equal(events_table(from_file), events_table(in_memory))


# -- dispatch policies ----------------------------------------------------------------------


@pytest.mark.parametrize("policy", ["nearest_idle", "batch", "tours"])
def test_every_policy_delivers_the_whole_morning(
    grid_scenario: Scenario, grid_world: World, policy: str
) -> None:
    result = run(grid_scenario, grid_world, {"dispatch.policy": policy})
    orders = orders_table(result)
    assert len(orders) > 10
    assert (orders["state"] == "delivered").all(), orders["state"].value_counts().to_dict()
    assert result_kpis(result)["service_rate"] == 1.0
    per_trip = trips(orders).size()
    if policy == "tours":
        assert 1 < per_trip.max() <= grid_scenario.dispatch.max_stops_per_tour
    else:  # one order per trip: hub -> door -> hub
        assert per_trip.max() == 1
    assert robots_table(result)["deliveries"].sum() == len(orders)
    assert_time_accounted(result)


def test_tours_respect_stops_and_payload(grid_scenario: Scenario, grid_world: World) -> None:
    result = run(
        grid_scenario,
        grid_world,
        {
            "dispatch.max_stops_per_tour": 3,
            "fleet.robots[0].payload_kg": 8.0,
            "demand.parcel_weight_kg.max_kg": 8.0,
            "demand.orders_per_day": 60,
        },
    )
    per_trip = trips(orders_table(result))
    assert 1 < per_trip.size().max() <= 3
    assert per_trip["weight_kg"].sum().max() <= 8.0 + 1e-9


# -- what robots can carry and reach --------------------------------------------------------


def write_orders(path: Path, rows: list[tuple[str, float, float, float]]) -> Path:
    """An orders CSV: (created 'HH:MM', lon, lat, weight_kg) per row."""
    lines = ["created,lon,lat,weight_kg", *(f"{t},{lon},{lat},{kg}" for t, lon, lat, kg in rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_orders_no_robot_can_carry_or_reach_are_rejected_with_a_reason(
    grid_scenario: Scenario, grid_world: World, tmp_path: Path
) -> None:
    near_lon, near_lat = node_lonlat(1, 1)
    csv = write_orders(
        tmp_path / "orders.csv",
        [
            ("09:00", near_lon, near_lat, 4.0),
            ("09:01", near_lon, near_lat, 12.0),  # heavier than the 10 kg payload
            ("09:02", near_lon + 0.05, near_lat, 1.0),  # 4 km east of every street
            ("09:03", near_lon, near_lat, 10.0),  # exactly the payload
        ],
    )
    result = run(
        grid_scenario,
        grid_world,
        {"demand.orders_csv": str(csv), "fleet.robots[0].payload_kg": 10.0},
    )
    orders = orders_table(result)
    assert orders["state"].tolist() == ["delivered", "rejected", "rejected", "delivered"]
    assert orders["reason"].tolist() == [pd.NA, "over_payload", "address_too_far", pd.NA]
    assert result_kpis(result)["orders_rejected"] == 2


def test_heavy_parcels_go_to_the_robots_that_can_carry_them(
    grid_scenario: Scenario, grid_world: World
) -> None:
    """Small robots (5 kg) never get a parcel over 5 kg; big ones carry those."""
    scenario = grid_scenario.with_overrides(
        {
            "fleet.robots": [
                {"type": "small", "count": 2, "payload_kg": 5.0},
                {"type": "big", "count": 1, "payload_kg": 50.0},
            ],
            "demand.parcel_weight_kg": {"distribution": "uniform", "min_kg": 1.0, "max_kg": 10.0},
        }
    )
    orders = orders_table(simulate(scenario, world=grid_world))
    delivered = orders[orders["state"] == "delivered"]
    heavy = delivered[delivered["weight_kg"] > 5.0]
    assert len(heavy) > 3
    assert heavy["robot_id"].str.startswith("big-").all()
    assert delivered["robot_id"].str.startswith("small-").any()
    assert (orders["state"] != "rejected").all()


def test_short_range_robots_charge_and_never_run_flat(
    grid_scenario: Scenario, grid_world: World
) -> None:
    battery_wh = 250.0  # about 3 km of range at 83 Wh/km
    result = run(
        grid_scenario,
        grid_world,
        {
            "fleet.robots[0].battery_wh": battery_wh,
            "fleet.robots[0].recharge_below_fraction": 0.5,
            "demand.orders_per_day": 60,
        },
    )
    robots = robots_table(result)
    assert (robots["min_battery_wh"] >= 0).all()
    assert (robots["min_battery_wh"] >= 0.05 * battery_wh - 1e-6).all()  # the reserve is kept
    assert robots["charging_s"].sum() > 0
    assert (events_table(result)["kind"] == "charge_start").any()
    assert result_kpis(result)["orders_delivered"] > 20
    assert_time_accounted(result)


def test_doors_beyond_the_battery_range_are_rejected(
    grid_scenario: Scenario, grid_world: World
) -> None:
    """60 Wh less the 5 % reserve is about 690 m of driving: only doors within a round trip of
    that are served, the others are rejected at once with the reason."""
    result = run(
        grid_scenario,
        grid_world,
        {"fleet.robots[0].battery_wh": 60.0, "demand.orders_per_day": 60},
    )
    orders = orders_table(result)
    far = orders[orders["reason"] == "beyond_range"]
    assert len(far) > 5 and (far["state"] == "rejected").all()
    served = orders[orders["state"] == "delivered"]
    assert len(served) > 5  # doors near the hub are still served
    assert (served["distance_m"] <= 0.95 * 60.0 / 83.0 * 1000.0).all()
    assert (robots_table(result)["min_battery_wh"] >= 0).all()


# -- supervision and breakdowns -------------------------------------------------------------

#: Much help needed: every leg stops a few times.
BUSY_HELP = {
    "operations.supervision.mode": "remote",
    "operations.supervision.interventions_per_km": 4.0,
    "operations.supervision.intervention_mean_s": 120.0,
    "operations.supervision.takeovers_per_km": 0.5,
}


def test_remote_help_that_is_never_needed_changes_nothing(
    grid_scenario: Scenario, grid_world: World
) -> None:
    plain = run(grid_scenario, grid_world)
    supervised = run(
        grid_scenario,
        grid_world,
        {
            "operations.supervision.mode": "remote",
            "operations.supervision.operators": 3,
            "operations.supervision.interventions_per_km": 0.0,
            "operations.supervision.takeovers_per_km": 0.0,
        },
    )
    pd.testing.assert_frame_equal(orders_table(plain), orders_table(supervised))
    pd.testing.assert_frame_equal(events_table(plain), events_table(supervised))
    kpis = result_kpis(supervised)
    assert kpis["operators"] == 3 and kpis["interventions"] == 0
    assert kpis["cost_staff_eur"] == pytest.approx(3 * 25.0 * 3.5)  # 3 operators, 3.5 h


def test_one_remote_operator_for_three_robots_makes_them_wait(
    grid_scenario: Scenario, grid_world: World
) -> None:
    plain = run(grid_scenario, grid_world)
    helped = run(grid_scenario, grid_world, {**BUSY_HELP, "operations.supervision.operators": 1})
    kpis = result_kpis(helped)
    assert kpis["operators"] == 1 and kpis["interventions"] > 10 and kpis["takeovers"] > 0
    assert kpis["waiting_for_help_h"] > 0
    assert 0 < kpis["operator_utilisation"] <= 1
    robots = robots_table(helped)
    assert (robots["help_s"] > 0).all()
    assert kpis["lead_time_mean_min"] > result_kpis(plain)["lead_time_mean_min"]
    assert_time_accounted(helped)


def test_escorted_robots_drive_at_walking_pace(grid_scenario: Scenario, grid_world: World) -> None:
    result = run(
        grid_scenario,
        grid_world,
        {
            "operations.supervision.mode": "escort",
            "operations.supervision.operators": 2,
            "operations.supervision.walking_speed_kph": 4.0,
        },
    )
    legs = legs_table(result)
    moving = legs[legs["length_m"] > 0]
    assert len(moving) > 10
    speed_kph = moving["length_m"] / (moving["arrive_s"] - moving["depart_s"]) * 3.6
    assert (speed_kph <= 4.0 + 1e-9).all()
    robots = robots_table(result)
    assert robots["escorted_s"].sum() > 0
    assert result_kpis(result)["orders_delivered"] > 0


@pytest.mark.parametrize("recovery", ["tow", "repair_in_place"])
def test_broken_robots_bring_their_parcels_back_to_be_dispatched_again(
    grid_scenario: Scenario, grid_world: World, recovery: str
) -> None:
    result = run(
        grid_scenario,
        grid_world,
        {
            "operations.breakdowns.mean_time_between_failures_h": 0.2,
            "operations.breakdowns.recovery": recovery,
            "operations.breakdowns.response_time_s": 600.0,
            "operations.breakdowns.repair_time_h": 0.25,
            "demand.orders_per_day": 60,
        },
    )
    kpis = result_kpis(result)
    orders = orders_table(result)
    events = events_table(result)
    assert kpis["breakdowns"] == (events["kind"] == "breakdown").sum() > 0
    assert kpis["robot_downtime_h"] > 0
    assert kpis["parcels_redispatched"] == orders["returned"].sum()
    returned = orders[orders["returned"] > 0]
    assert set(returned["state"]) <= ORDER_STATES - {"rejected"}
    assert (returned["attempts"] > 0).all()
    assert (
        kpis["orders_on_time"] + kpis["orders_late"] + kpis["orders_open_not_due"]
        == (kpis["orders_created"])
    )
    if recovery == "tow":
        assert (events["kind"] == "tow_start").any()
    assert_time_accounted(result)
    robots = robots_table(result)
    assert math.isclose(kpis["robot_downtime_h"], robots["down_s"].sum() / 3600.0)
