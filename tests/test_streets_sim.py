"""Street rules in a simulated day (scenarios/ecusson_phase3.yaml, real Montpellier data):
zone speed caps, closures, crossings and address-based demand."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely

from carreta.routing.zones import read_zones
from carreta.sim.errors import ScenarioError
from carreta.sim.model.engine import SimulationResult, simulate
from carreta.sim.model.world import build_world
from carreta.sim.output.kpis import result_kpis
from carreta.sim.output.tables import events_table, legs_table, orders_table, robots_table
from carreta.sim.scenario.models import Scenario, load_scenario

pytestmark = pytest.mark.slow

ECUSSON = Path(__file__).resolve().parents[1] / "scenarios" / "ecusson_phase3.yaml"
MAGUELONE_CLOSURE = {
    "name": "works-maguelone",
    "streets": ["Rue de Maguelone"],
    "hours": [{"start": "08:00", "end": "09:00"}],
}


@pytest.fixture(scope="module")
def ecusson(carreta_cache_dir: Path) -> Scenario:
    return load_scenario(ECUSSON, overrides={"network.cache_dir": str(carreta_cache_dir)})


def run(scenario: Scenario, **overrides: object) -> SimulationResult:
    return simulate(scenario.with_overrides(overrides) if overrides else scenario)


@pytest.fixture(scope="module")
def day(ecusson: Scenario) -> SimulationResult:
    """The Écusson day with a works closure on Rue de Maguelone (station → Comédie) 08-09."""
    closures = [c.model_dump(mode="json") for c in ecusson.streets.closures]
    return run(ecusson, **{"streets.closures": [*closures, MAGUELONE_CLOSURE]})


def moving_edges(result: SimulationResult) -> pd.DataFrame:
    """One row per edge driven: u, v, enter and leave times (s), length (m), zone."""
    graph = result.world.graph
    rows = []
    for leg in legs_table(result).itertuples():
        for (u, v), (t0, t1) in zip(
            itertools.pairwise(leg.nodes), itertools.pairwise(leg.times_s), strict=True
        ):
            if u == v:  # a wait before a crossing
                continue
            data = min(graph[u][v].values(), key=lambda d: d["length"])
            rows.append((u, v, t0, t1, data["length"], data.get("zone")))
    return pd.DataFrame(rows, columns=["u", "v", "enter_s", "leave_s", "length_m", "zone"])


def test_robots_never_exceed_the_zone_speed_cap(ecusson: Scenario) -> None:
    fast = run(ecusson, **{"fleet.robots[0].speed_kph": 9.0, "streets.closures": []})
    edges = moving_edges(fast)
    speed_kph = edges["length_m"] / (edges["leave_s"] - edges["enter_s"]) * 3.6
    in_zone = edges["zone"].notna()
    assert in_zone.sum() > 100 and (~in_zone).sum() > 100
    assert speed_kph[in_zone].max() <= 6.0 + 1e-6
    assert speed_kph[~in_zone].max() == pytest.approx(9.0)  # the cap is what slows them


def _closed_pairs(result: SimulationResult, name: str) -> set[tuple[int, int]]:
    from carreta.sim.model.closures import closure_windows

    scenario = result.scenario
    windows = closure_windows(
        result.world.graph, scenario.streets.closures, scenario.simulation.date, label="t"
    )
    return {pair for w in windows if w.label.startswith(name) for pair in w.pairs}


@pytest.mark.parametrize(
    ("name", "start_s", "end_s"),
    [
        ("works-maguelone", 8 * 3600.0, 9 * 3600.0),
        ("school-ecole-mage", 8 * 3600.0, 8.5 * 3600.0),
        ("market-jean-jaures", 7 * 3600.0, 13.5 * 3600.0),
    ],
)
def test_no_robot_on_a_closed_edge_while_the_closure_is_active(
    day: SimulationResult, name: str, start_s: float, end_s: float
) -> None:
    closed = _closed_pairs(day, name)
    assert closed
    edges = moving_edges(day)
    on_closed = edges[[(u, v) in closed for u, v in zip(edges["u"], edges["v"], strict=True)]]
    during = on_closed[(on_closed["leave_s"] > start_s) & (on_closed["enter_s"] < end_s)]
    assert during.empty, during


def test_routes_use_a_closed_street_again_after_it_reopens(day: SimulationResult) -> None:
    closed = _closed_pairs(day, "works-maguelone")
    edges = moving_edges(day)
    used = edges[[(u, v) in closed for u, v in zip(edges["u"], edges["v"], strict=True)]]
    assert (used["enter_s"] < 8 * 3600.0).any()  # the way from the hub before the works...
    assert (used["enter_s"] >= 9 * 3600.0).any()  # ...and again once they end
    kinds = pd.Series(day.events.kind)
    assert (kinds == "closure_start").sum() == 3 and (kinds == "closure_end").sum() == 2


def test_address_orders_have_door_node_and_access(day: SimulationResult) -> None:
    orders = orders_table(day)
    assert len(orders) > 100
    for column in ("lon", "lat", "node", "access_m", "access_s"):
        assert orders[column].notna().all()
    assert set(orders["node"]) <= set(day.world.graph.nodes)
    walk_kph = day.scenario.demand.destinations.access_speed_kph
    assert np.allclose(orders["access_s"], orders["access_m"] / (walk_kph / 3.6))
    # doors are real addresses inside the Écusson
    destinations = day.scenario.demand.destinations
    assert destinations.area_file is not None
    ecusson = read_zones(destinations.area_file, names=["MOLIERE"])[0].polygon
    assert shapely.contains_xy(ecusson, orders["lon"], orders["lat"]).all()
    # service at each stop includes the walk to the door
    delivered = orders[orders["state"] == "delivered"].set_index("order_id")
    assert (delivered["access_s"] > 0).all() and len(delivered) > 50
    events = events_table(day)
    arrivals = events[events["kind"] == "arrive"]
    service_s = day.scenario.fleet.robots[0].service_time_s
    for delivery in events[events["kind"] == "deliver"].head(40).itertuples():
        mine = arrivals[(arrivals["robot_id"] == delivery.robot_id)]
        arrived_s = mine.loc[mine["time_s"] <= delivery.time_s, "time_s"].max()
        expected = service_s + delivered.loc[delivery.order_id, "access_s"]
        assert delivery.time_s - arrived_s == pytest.approx(expected)


def test_doors_far_from_any_street_are_rejected(ecusson: Scenario) -> None:
    result = run(ecusson, **{"demand.destinations.max_snap_distance_m": 8.0})
    orders = orders_table(result)
    far = orders[orders["reason"] == "address_too_far"]
    assert len(far) > 10 and (far["state"] == "rejected").all()
    assert (far["access_m"] > 8.0).all()
    near = ~orders["reason"].eq("address_too_far").fillna(False)  # no reason: <NA>
    assert near.sum() > 0 and (orders.loc[near, "access_m"] <= 8.0).all()


def test_crossings_are_counted_and_waited_for(day: SimulationResult) -> None:
    robots = robots_table(day)
    kpis = result_kpis(day)
    assert kpis["road_crossings"] == robots["crossings"].sum() > 0
    waits = 0
    for leg in day.legs:
        repeated = np.flatnonzero(leg.nodes[1:] == leg.nodes[:-1])
        waits += repeated.shape[0]
        assert np.all(np.diff(leg.cum_time_s) >= 0)
    assert waits == kpis["road_crossings"]


def test_without_crossings_legs_are_plain_routes(ecusson: Scenario) -> None:
    result = run(ecusson, **{"streets.crossings": None, "streets.closures": []})
    assert result_kpis(result)["road_crossings"] == 0
    router = result.robots[0].router
    for leg in result.legs[:50]:
        route = router.route(int(leg.nodes[0]), int(leg.nodes[-1]))
        assert np.array_equal(route.nodes, leg.nodes)


def test_bad_closure_street_names_the_field(ecusson: Scenario) -> None:
    bad = {
        "name": "x",
        "streets": ["Rue Qui N'Existe Pas"],
        "hours": [MAGUELONE_CLOSURE["hours"][0]],
    }
    scenario = ecusson.with_overrides({"streets.closures": [bad]})
    with pytest.raises(ScenarioError, match=r"streets\.closures\[0\]\.streets\[0\]: no street"):
        simulate(scenario, world=build_world(scenario))


def test_unknown_area_name_names_the_field(ecusson: Scenario) -> None:
    scenario = ecusson.with_overrides({"demand.destinations.area_names": ["ATLANTIS"]})
    with pytest.raises(ScenarioError, match="area_names: no zone named 'ATLANTIS'"):
        simulate(scenario)
