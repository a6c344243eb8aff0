"""Supervision, breakdowns and charging on a real simulated morning (scenarios/tiny.yaml variants),
and the plain functions behind them."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from carreta.sim.model.breakdowns import failure_vertex, tow_time_s
from carreta.sim.model.engine import InvariantError, SimulationResult, check_invariants, simulate
from carreta.sim.model.supervision import (
    draw_help,
    insert_pauses,
    lognormal_durations_s,
    vertex_steps,
)
from carreta.sim.model.world import World
from carreta.sim.output.kpi_definitions import KPIS
from carreta.sim.output.kpis import result_kpis
from carreta.sim.output.tables import events_table, orders_table, robots_table
from carreta.sim.scenario.models import Scenario
from carreta.sim.scenario.operations import Supervision as SupervisionSettings


def json_kpis(result: SimulationResult) -> str:
    return json.dumps(result_kpis(result))


REMOTE = "operations.supervision.mode"
BUSY = {  # a lot of help needed: every leg stops a few times
    "operations.supervision.interventions_per_km": 3.0,
    "operations.supervision.intervention_mean_s": 120.0,
    "operations.supervision.takeovers_per_km": 0.5,
}


def run(base: Scenario, world: World, **overrides: object) -> SimulationResult:
    """Simulate ``base`` with overrides given as ``operations__supervision__mode="remote"``."""
    paths = {re.sub(r"__(\d+)", r"[\1]", key).replace("__", "."): v for key, v in overrides.items()}
    return simulate(base.with_overrides(paths), world=world)


def remote(base: Scenario, world: World, operators: int, **more: object) -> SimulationResult:
    """The tiny morning with ``operators`` remote operators and the BUSY help rates."""
    overrides = {REMOTE: "remote", "operations.supervision.operators": operators, **BUSY}
    overrides.update({k.replace("__", "."): v for k, v in more.items()})
    return simulate(base.with_overrides(overrides), world=world)


# -- supervision ------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["escort", "none"])
def test_quiet_tours_are_the_same_day_as_the_general_path(
    tiny: Scenario, world: World, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    """Tours nothing can interrupt, carried out at once (one SimPy event a tour; the last one
    step by step as it runs into the end of the run) or by the general path (one event a leg,
    a stop and a help): the same orders, robots, legs and events. One robot, so that both draw
    the help stops from the stream in the same order."""
    from carreta.sim.model.robot import Robot

    overrides: dict[str, object] = {
        "fleet.robots[0].count": 1,
        "demand.orders_per_day": 40,
        "dispatch.max_stops_per_tour": 2,
    }
    if mode == "escort":
        overrides |= {
            REMOTE: "escort",
            "operations.supervision.interventions_per_km": 3.0,
            "operations.supervision.intervention_mean_s": 60.0,
        }
    day = tiny.with_overrides(overrides)
    quiet = simulate(day, world=world)
    monkeypatch.setattr(Robot, "at_once", False)
    general = simulate(day, world=world)
    assert quiet.sim_events < general.sim_events
    (robot,) = quiet.robots
    assert 3 <= robot.quiet_tours < robot.stats.tours  # the last tour runs into the end
    assert general.robots[0].quiet_tours == 0
    if mode == "escort":
        assert robot.stats.interventions + robot.stats.takeovers >= 3
    for table in (orders_table, robots_table, events_table):
        pd.testing.assert_frame_equal(table(quiet), table(general))
    assert len(quiet.legs) == len(general.legs)
    for mine, theirs in zip(quiet.legs, general.legs, strict=True):
        np.testing.assert_equal(  # NaN cut_s equals NaN
            (mine.robot_id, mine.kind, mine.depart_s, mine.length_m, mine.cut_s),
            (theirs.robot_id, theirs.kind, theirs.depart_s, theirs.length_m, theirs.cut_s),
        )
        np.testing.assert_array_equal(mine.nodes, theirs.nodes)
        np.testing.assert_array_equal(mine.cum_time_s, theirs.cum_time_s)
    assert json_kpis(quiet) == json_kpis(general)


@pytest.mark.slow
def test_ample_operators_and_no_help_needed_change_nothing(tiny: Scenario, world: World) -> None:
    plain = simulate(tiny, world=world)
    supervised = run(
        tiny,
        world,
        operations__supervision__mode="remote",
        operations__supervision__operators=3,  # as many as robots
        operations__supervision__interventions_per_km=0.0,
        operations__supervision__takeovers_per_km=0.0,
    )
    assert supervised.operations is not None
    pd.testing.assert_frame_equal(orders_table(plain), orders_table(supervised))
    pd.testing.assert_frame_equal(events_table(plain), events_table(supervised))
    first, second = result_kpis(plain), result_kpis(supervised)
    staffing = {"operators", "operator_utilisation", "cost_staff_eur", "cost_eur",
                "cost_per_delivery_eur"}  # fmt: skip
    assert {k: v for k, v in first.items() if k not in staffing} == {
        k: v for k, v in second.items() if k not in staffing
    }
    assert second["operators"] == 3 and second["interventions"] == 0
    assert second["cost_staff_eur"] == pytest.approx(3 * 25.0 * 3.5)


@pytest.mark.slow
def test_halving_the_operators_raises_waiting_for_help(tiny: Scenario, world: World) -> None:
    two = result_kpis(remote(tiny, world, operators=2))
    one = result_kpis(remote(tiny, world, operators=1))
    assert two["interventions"] > 20 and one["interventions"] > 20
    assert one["waiting_for_help_h"] > two["waiting_for_help_h"]
    assert one["operator_utilisation"] > two["operator_utilisation"]


@pytest.mark.slow
def test_operators_are_held_exactly_while_they_help(tiny: Scenario, world: World) -> None:
    result = remote(tiny, world, operators=1)
    supervision = result.operations.supervision if result.operations else None
    assert supervision is not None
    helped_s = sum(robot.stats.help_s for robot in result.robots)
    assert helped_s > 0
    # Operator busy time measured by the resource = the help robots got (completed help) ...
    assert supervision.pool.held_s == pytest.approx(helped_s, rel=1e-12)
    assert supervision.needed_s == pytest.approx(helped_s, rel=1e-12)
    # ... and at the end only robots being helped right now hold an operator.
    being_helped = [robot for robot in result.robots if robot.state == "intervention"]
    assert supervision.pool.count == len(being_helped) == len(supervision.holding_since)
    waiting = [robot for robot in result.robots if robot.state == "waiting_help"]
    asked = events_table(result)["kind"].str.startswith("help:").sum()
    assert asked == result_kpis(result)["interventions"] + len(being_helped) + len(waiting)


@pytest.mark.slow
def test_invariant_check_catches_an_operator_held_too_long(tiny: Scenario, world: World) -> None:
    result = remote(tiny, world, operators=1)
    assert result.operations is not None and result.operations.supervision is not None
    result.operations.supervision.pool.held_s += 30.0  # as if a robot kept its operator 30 s
    with pytest.raises(InvariantError, match="operators held"):
        check_invariants(result)


@pytest.mark.slow
def test_help_stops_are_in_the_legs_and_the_robot_stands_still(
    tiny: Scenario, world: World
) -> None:
    result = remote(tiny, world, operators=1)
    robots = robots_table(result)
    stopped = [leg for leg in result.legs if np.any(leg.nodes[1:] == leg.nodes[:-1])]
    assert stopped, "no leg recorded a stop"
    for leg in result.legs:
        assert np.all(np.diff(leg.cum_time_s) >= 0)
    duration = result.end_s - result.start_s
    accounted = robots[["busy_s", "idle_s", "charging_s", "waiting_charger_s", "down_s"]]
    assert np.allclose(accounted.sum(axis=1), duration)
    assert (robots["waiting_help_s"] > 0).any()
    check_invariants(result)


@pytest.mark.slow
def test_escorts_cap_the_speed_and_accompany_whole_tours(tiny: Scenario, world: World) -> None:
    result = run(
        tiny,
        world,
        operations__supervision__mode="escort",
        operations__supervision__operators=2,
        operations__supervision__walking_speed_kph=4.0,
        dispatch__max_stops_per_tour=2,  # short tours, many of them
    )
    assert result.operations is not None and result.operations.supervision is not None
    for leg in result.legs:
        if leg.length_m > 0:
            assert leg.length_m / float(leg.cum_time_s[-1]) * 3.6 <= 4.0 + 1e-9
    # two escorts for three robots: never more than two robots out on a tour at once
    tours: list[tuple[float, float]] = []
    for robot in result.robots:
        start = None
        for leg in (leg for leg in result.legs if leg.robot_id == robot.robot_id):
            start = leg.depart_s if start is None else start
            if leg.kind == "to_hub":
                tours.append((start, leg.depart_s + float(leg.cum_time_s[-1])))
                start = None
    changes = sorted([(end, -1) for _, end in tours] + [(start, 1) for start, _ in tours])
    assert len(tours) > 3
    assert max(itertools.accumulate(change for _, change in changes)) == 2
    robots = robots_table(result)
    supervision = result.operations.supervision
    assert supervision.pool.held_s == pytest.approx(robots["escorted_s"].sum(), rel=1e-12)
    kpis = result_kpis(result)
    assert kpis["waiting_for_help_h"] > 0  # three robots share two escorts
    assert 0 < kpis["operator_utilisation"] <= 1


@pytest.mark.slow
def test_an_escort_leaves_a_towed_robot_at_the_hub_before_its_repair(
    tiny: Scenario, world: World
) -> None:
    result = run(
        tiny,
        world,
        operations__supervision__mode="escort",
        operations__supervision__operators=3,
        operations__breakdowns__mean_time_between_failures_h=0.5,
        operations__breakdowns__response_time_s=300.0,
        operations__breakdowns__repair_time_h=0.5,
    )
    events = events_table(result)
    towed = events[events["kind"] == "tow_end"]
    assert len(towed) > 0
    for _, tow in towed.iterrows():
        mine = events[events["robot_id"] == tow["robot_id"]]
        released = mine.loc[(mine["kind"] == "escort_end") & (mine["time_s"] >= tow["time_s"])]
        assert released["time_s"].iloc[0] == tow["time_s"]  # not after the repair
    check_invariants(result)


# -- breakdowns -------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("recovery", ["tow", "repair_in_place"])
def test_broken_robots_parcels_are_delivered_later_or_reported(
    tiny: Scenario, world: World, recovery: str
) -> None:
    result = run(
        tiny,
        world,
        operations__breakdowns__mean_time_between_failures_h=0.4,
        operations__breakdowns__recovery=recovery,
        operations__breakdowns__response_time_s=600.0,
        operations__breakdowns__repair_time_h=0.25,
    )
    check_invariants(result)  # every open order is queued or with exactly one robot
    kpis = result_kpis(result)
    orders = orders_table(result)
    assert kpis["breakdowns"] > 0
    assert kpis["parcels_redispatched"] == orders["returned"].sum() > 0
    returned = orders[orders["returned"] > 0]
    assert set(returned["state"]) <= {"delivered", "waiting", "assigned", "on_board"}
    assert (returned["attempts"] >= returned["returned"]).all()
    again = returned[returned["state"] == "delivered"]
    assert len(again) > 0  # re-dispatched and delivered by another tour
    assert (again["attempts"] > again["returned"]).all()
    events = events_table(result)
    assert (events["kind"] == "breakdown").sum() == kpis["breakdowns"]
    assert (events["kind"] == "order_returned").sum() == kpis["parcels_redispatched"]
    if recovery == "tow":
        assert (events["kind"] == "tow_start").sum() > 0
    robots = robots_table(result)
    assert kpis["robot_downtime_h"] == pytest.approx(robots["down_s"].sum() / 3600.0)
    accounted = robots[["busy_s", "idle_s", "charging_s", "waiting_charger_s", "down_s"]]
    assert np.allclose(accounted.sum(axis=1), result.end_s - result.start_s)


@pytest.mark.slow
def test_a_cut_leg_keeps_the_distance_invariant_exact(tiny: Scenario, world: World) -> None:
    result = run(tiny, world, operations__breakdowns__mean_time_between_failures_h=0.4)
    events = events_table(result)
    broken = events[events["kind"] == "breakdown"]
    assert len(broken)
    for _, event in broken.iterrows():  # the leg driven when it broke ends where and when
        legs = [leg for leg in result.legs if leg.robot_id == event["robot_id"]]
        ends = [abs(leg.depart_s + float(leg.cum_time_s[-1]) - event["time_s"]) for leg in legs]
        cut = legs[int(np.argmin(ends))]
        assert min(ends) < 1e-6 and int(cut.nodes[-1]) == int(event["node"])
    for robot in result.robots:
        legs_m = sum(leg.length_m for leg in result.legs if leg.robot_id == robot.robot_id)
        assert robot.stats.distance_m == pytest.approx(legs_m, rel=1e-9, abs=1e-6)


@pytest.mark.slow
def test_invariant_check_catches_a_lost_parcel(tiny: Scenario, world: World) -> None:
    result = run(tiny, world, fleet__robots__0__count=1, demand__orders_per_day=120)
    assert result.dispatcher is not None
    lost = next(iter(result.dispatcher.waiting))
    del result.dispatcher.waiting[lost]
    with pytest.raises(InvariantError, match=f"order {lost} .* lost"):
        check_invariants(result)


@pytest.mark.slow
def test_invariant_check_catches_a_robot_whose_log_goes_back_in_time(
    tiny: Scenario, world: World
) -> None:
    """The log is sorted by time at the end of a run; each actor's own rows must already be."""
    result = run(tiny, world)
    check_invariants(result)
    rows = result.events.rows
    mine = [k for k, row in enumerate(rows) if row[1] == "twinswheel-0002"]
    first, later = mine[3], mine[-1]
    rows[first], rows[later] = rows[later], rows[first]
    with pytest.raises(InvariantError, match=r"go backwards \(twinswheel-0002\)"):
        check_invariants(result)


# -- charging ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_dispatch_never_strands_a_robot_with_help_stops_escorts_and_breakdowns(
    tiny: Scenario, world: World
) -> None:
    for mode in ("remote", "escort"):
        result = run(
            tiny,
            world,
            fleet__robots__0__battery_wh=400.0,  # ~4.8 km of range
            fleet__robots__0__recharge_below_fraction=0.5,
            hubs__0__chargers=1,
            demand__orders_per_day=60,
            operations__supervision__mode=mode,
            operations__supervision__operators=2,
            operations__supervision__interventions_per_km=2.0,
            operations__breakdowns__mean_time_between_failures_h=2.0,
        )
        robots = robots_table(result)
        assert (robots["min_battery_wh"] >= 0.05 * 400.0 - 1e-6).all()  # reserve kept
        kpis = result_kpis(result)
        assert kpis["charging_h"] > 0
        assert kpis["charger_utilisation"] == pytest.approx(
            robots["charging_s"].sum() / (result.end_s - result.start_s)
        )


def _top_up_day(tiny: Scenario, world: World, **more: object) -> SimulationResult:
    settings: dict[str, object] = {
        "fleet__robots__0__battery_wh": 400.0,  # ~4.8 km of range
        "fleet__robots__0__recharge_below_fraction": 0.5,
        "fleet__robots__0__top_up_below_fraction": 0.95,
        "hubs__0__chargers": 1,
        "demand__orders_per_day": 60,
    }
    return run(tiny, world, **{**settings, **more})


@pytest.mark.slow
def test_top_ups_charge_idle_robots_and_keep_the_energy_books(tiny: Scenario, world: World) -> None:
    result = _top_up_day(tiny, world)
    events = events_table(result)
    assert (events["kind"] == "top_up_start").any()
    for robot in result.robots:  # what was charged minus what was driven, to the Wh
        battery = robot.spec.battery
        expected = battery.capacity_wh - robot.stats.drive_energy_wh + robot.stats.charged_wh
        assert robot.battery_wh == pytest.approx(expected, abs=1e-6)
        assert robot.battery_wh <= battery.capacity_wh + 1e-9
    assert json_kpis(result) == json_kpis(_top_up_day(tiny, world))  # reproducible
    plain = _top_up_day(tiny, world, fleet__robots__0__top_up_below_fraction=None)
    assert not (events_table(plain)["kind"] == "top_up_start").any()


@pytest.mark.slow
def test_a_top_up_never_keeps_a_robot_that_must_charge_waiting(
    tiny: Scenario, world: World
) -> None:
    """With one charger, a robot below its recharge level takes it from a topping-up robot at
    once: no wait for a charger overlaps a top-up."""
    result = _top_up_day(tiny, world, fleet__robots__0__count=4)
    events = events_table(result).sort_values("time_s", kind="stable")
    top_ups: list[tuple[float, float]] = []
    waits: list[tuple[float, float]] = []
    for _, rows in events[events["robot_id"].notna()].groupby("robot_id"):
        started = None
        for time_s, kind in zip(rows["time_s"], rows["kind"], strict=True):
            if kind == "top_up_start":
                started = time_s
            elif kind == "charge_end" and started is not None:
                top_ups.append((started, time_s))
                started = None
        states = rows[rows["kind"].str.startswith("state:")]
        for (time_s, kind), next_s in zip(
            zip(states["time_s"], states["kind"], strict=True),
            [*states["time_s"].iloc[1:], result.end_s],
            strict=True,
        ):
            if kind == "state:waiting_charger" and next_s > time_s:
                waits.append((time_s, next_s))
    assert top_ups, "the day has top-ups"
    for wait_from, wait_to in waits:
        for top_from, top_to in top_ups:
            assert min(wait_to, top_to) <= max(wait_from, top_from), (wait_from, top_from)


# -- plain functions --------------------------------------------------------------------------


def test_insert_pauses_repeats_the_vertex_and_shifts_later_times() -> None:
    nodes = np.array([1, 2, 3, 4])
    times = np.array([0.0, 10.0, 20.0, 30.0])
    new_nodes, new_times = insert_pauses(nodes, times, [(1, 5.0), (1, 2.0), (3, 4.0)])
    assert new_nodes.tolist() == [1, 2, 2, 3, 4, 4]
    assert new_times.tolist() == [0.0, 10.0, 17.0, 27.0, 37.0, 41.0]
    same_nodes, same_times = insert_pauses(nodes, times, [])
    assert same_nodes is nodes and same_times is times


def test_one_pause_is_inserted_as_the_general_case_does() -> None:
    """One pause takes a shortcut; it must give the arrays of the general case (here two
    halves at one vertex, which add up exactly), at every vertex, first and last included."""
    rng = np.random.default_rng(5)
    nodes = np.arange(100, 107)
    times = np.cumsum(rng.uniform(0.0, 30.0, 7))
    for vertex in range(7):
        seconds = float(rng.uniform(1.0, 90.0))
        one = insert_pauses(nodes, times, [(vertex, seconds)])
        halves = insert_pauses(nodes, times, [(vertex, seconds / 2), (vertex, seconds / 2)])
        for got, expected in zip(one, halves, strict=True):
            assert got.dtype == expected.dtype
            np.testing.assert_array_equal(got, expected)
    zero = insert_pauses(nodes, times, [(2, 0.0)])  # no stop: the leg's own times
    np.testing.assert_array_equal(zero[0], nodes)
    np.testing.assert_array_equal(zero[1], times)


def test_vertex_steps_map_repeated_vertices_to_their_route_node() -> None:
    route = np.array([7, 8, 9])
    assert vertex_steps(route, np.array([7, 8, 8, 9, 9])).tolist() == [0, 1, 1, 2, 2]
    assert vertex_steps(route, route).tolist() == [0, 1, 2]


def test_help_requests_follow_the_rate_per_km() -> None:
    settings = SupervisionSettings(
        mode="remote", interventions_per_km=2.0, takeovers_per_km=0.5, intervention_sd_s=0.0
    )
    cum_length = np.array([0.0, 400.0, 1000.0])  # a 1 km leg
    rng = np.random.default_rng(1)
    draws = [draw_help(cum_length, settings, rng=rng) for _ in range(4000)]
    counts = [sum(r.kind == "intervention" for r in d) for d in draws]
    assert np.mean(counts) == pytest.approx(2.0, rel=0.05)
    assert np.mean([sum(r.kind == "takeover" for r in d) for d in draws]) == pytest.approx(
        0.5, rel=0.1
    )
    for requests in draws[:200]:
        assert [r.vertex for r in requests] == sorted(r.vertex for r in requests)
        assert all(1 <= r.vertex <= 2 for r in requests)
        assert all(r.duration_s == 60.0 for r in requests if r.kind == "intervention")
    assert draw_help(np.array([0.0]), settings, rng=rng) == []


def test_lognormal_durations_have_the_asked_moments() -> None:
    draws = lognormal_durations_s(180.0, 120.0, 200_000, rng=np.random.default_rng(3))
    assert draws.mean() == pytest.approx(180.0, rel=0.02)
    assert draws.std() == pytest.approx(120.0, rel=0.05)


def test_failure_vertex_and_tow_time() -> None:
    drive = np.array([0.0, 30.0, 30.0, 90.0])
    assert failure_vertex(drive, 100.0) is None
    assert failure_vertex(drive, 10.0) == 1
    assert failure_vertex(drive, 90.0) == 3
    assert tow_time_s(1500.0, 15.0) == pytest.approx(360.0)


def test_operator_count_from_the_ratio() -> None:
    settings = SupervisionSettings(mode="remote", robots_per_operator=3.0)
    assert [settings.operator_count(n) for n in (0, 1, 3, 4, 20)] == [0, 1, 1, 2, 7]
    assert SupervisionSettings(mode="remote", operators=4).operator_count(20) == 4
    assert SupervisionSettings().operator_count(20) == 0


@pytest.mark.slow
def test_every_operations_kpi_is_computed_and_off_by_default(tiny: Scenario, world: World) -> None:
    kpis = result_kpis(simulate(tiny, world=world))
    assert {kpi.name for kpi in KPIS if kpi.group == "operations"} <= set(kpis)
    off = ("operators", "interventions", "breakdowns", "parcels_redispatched", "vans")
    assert all(kpis[name] == 0 for name in off)
    assert kpis["vehicle_km"] == kpis["robot_km"]


@pytest.mark.slow
def test_the_timeline_counts_robots_stopped_for_help_or_broken(
    tiny: Scenario, world: World, tmp_path: Path
) -> None:
    """Help stops and breakdowns are states of their own on the timeline (not hidden under
    'driving'), and every robot is in exactly one state at every minute."""
    from carreta.sim.output.results import write_run
    from carreta.sim.output.rundir import load_run
    from carreta.sim.output.timeline import robots_over_time

    result = remote(
        tiny, world, 1,
        operations__breakdowns__mean_time_between_failures_h=0.5,
        operations__breakdowns__repair_time_h=0.5,
    )  # fmt: skip
    run_dir = write_run(result, tmp_path / "run", command=["pytest"])
    loaded = load_run(run_dir)
    grid = np.arange(loaded.start_s, loaded.end_s, 60.0)
    counts = robots_over_time(loaded, grid)
    assert (counts.sum(axis=1) == len(result.robots)).all()
    for state in ("intervention", "waiting_help", "broken"):
        assert counts[state].max() > 0, state
