"""Scenario files: the shipped examples, error messages, path resolution, overrides, YAML dump."""

from __future__ import annotations

import copy
import math
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from carreta.routing.errors import CarretaError
from carreta.sim.errors import ScenarioError, ScenarioIssue
from carreta.sim.scenario.models import (
    Scenario,
    apply_overrides,
    load_scenario,
    parse_override,
    scenario_to_yaml,
    validate_scenario,
)

PROJECT = Path(__file__).resolve().parents[1]
SCENARIOS = PROJECT / "scenarios"
CITY_STREETS = PROJECT.parent / "shared" / "data" / "montpellier" / "VilleMTP_MTP_FilaireVoies.zip"
MONTPELLIER_OSM = (
    PROJECT.parent / "shared" / "data" / "osm" / "montpellier_drive_2024-10-30.osm.bz2"
)
# Node bounding box of that extract (west, south, east, north), from shared/data/osm/SOURCE.md.
EXTRACT_BBOX = (3.8216, 43.5564, 3.9275, 43.6371)

MINIMAL: dict[str, Any] = {
    "name": "minimal",
    "network": {"place": "Montpellier, France"},
    "hubs": [{"id": "saint-roch", "lon": 3.8812, "lat": 43.6046}],
    "fleet": {"robots": [{"count": 2}]},
}


def write_yaml(folder: Path, data: object, name: str = "s.yaml") -> Path:
    """Write ``data`` (a document, or raw text) as a scenario file and return its path."""
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    text = data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False)
    path.write_text(text, encoding="utf-8")
    return path


def load_error(path: Path | str, **kwargs: Any) -> ScenarioError:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path, **kwargs)
    return caught.value


def metres_between(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlmb = phi2 - phi1, math.radians(lon2 - lon1)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * 6_371_009.0 * math.asin(math.sqrt(h))


# --- the shipped scenarios ------------------------------------------------------------------


def test_montpellier_centre_describes_the_carreta_day() -> None:
    """Droids on the pavement: the city's centreline with its pedestrian streets, doors at real
    addresses in the pedestrian zones, the 6 km/h cap there, an escort per droid."""
    scenario = load_scenario(SCENARIOS / "montpellier_centre.yaml")
    assert scenario.network.gis_file == CITY_STREETS and CITY_STREETS.is_file()
    assert scenario.network.source_kind() == "gis_file"
    assert "Ville de Montpellier" in scenario.network.credit()
    assert scenario.demand.destinations.kind == "addresses"
    assert scenario.streets.zones is not None and scenario.streets.zones.speed_cap_kph == 6.0
    assert scenario.operations.supervision.mode == "escort"
    assert [hub.id for hub in scenario.hubs] == ["saint-roch"]
    (robots,) = scenario.fleet.robots
    assert (robots.count, robots.speed_kph, robots.payload_kg) == (20, 6.0, 300.0)
    autonomy_h = robots.battery_wh / robots.consumption_wh_per_km / robots.speed_kph
    assert autonomy_h == pytest.approx(4.0, rel=0.05)
    assert scenario.demand.orders_per_day == 1000
    profile = scenario.demand.hourly_profile
    assert all(weight == 0 for hour, weight in enumerate(profile) if hour < 8 or hour >= 19)
    assert scenario.simulation.window_h == (7.0, 20.0)
    assert scenario.outputs.dir == PROJECT / "results"


@pytest.mark.parametrize("name", ["tiny.yaml"])
def test_shipped_scenarios_lie_inside_the_osm_extract(name: str) -> None:
    scenario = load_scenario(SCENARIOS / name)
    west, south, east, north = EXTRACT_BBOX
    for hub in scenario.hubs:
        assert west < hub.lon < east and south < hub.lat < north
    area = scenario.demand.destinations
    assert area.kind == "circle"
    assert area.center_lon is not None and area.center_lat is not None
    assert area.radius_m is not None
    to_edges = [
        metres_between(area.center_lon, area.center_lat, west, area.center_lat),
        metres_between(area.center_lon, area.center_lat, east, area.center_lat),
        metres_between(area.center_lon, area.center_lat, area.center_lon, south),
        metres_between(area.center_lon, area.center_lat, area.center_lon, north),
    ]
    assert area.radius_m < min(to_edges)


def test_tiny_has_three_robots_and_about_40_orders_over_two_hours() -> None:
    scenario = load_scenario(SCENARIOS / "tiny.yaml")
    assert scenario.fleet.robot_count == 3
    start_h, end_h = scenario.simulation.window_h
    profile = scenario.demand.hourly_profile
    busy_hours = [hour for hour, weight in enumerate(profile) if weight > 0]
    assert len(busy_hours) == 2
    assert all(start_h <= hour and hour + 1 <= end_h for hour in busy_hours)
    assert scenario.demand.orders_per_day == 40


# --- error messages -------------------------------------------------------------------------


def test_the_example_message_of_the_style_guide(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = copy.deepcopy(MINIMAL)
    data["fleet"]["robots"][0]["speed_kph"] = 0
    write_yaml(tmp_path / "scenarios", data, "x.yaml")
    monkeypatch.chdir(tmp_path)
    error = load_error("scenarios/x.yaml")
    assert str(error) == "scenarios/x.yaml: fleet.robots[0].speed_kph: must be greater than 0"
    assert (error.path, error.field, error.problem) == (
        "scenarios/x.yaml",
        "fleet.robots[0].speed_kph",
        "must be greater than 0",
    )


def _robot(**changes: Any) -> Callable[[dict[str, Any]], None]:
    return lambda data: data["fleet"]["robots"][0].update(changes)


def _drop_count(data: dict[str, Any]) -> None:
    del data["fleet"]["robots"][0]["count"]


def _duplicate_hub(data: dict[str, Any]) -> None:
    data["hubs"].append(dict(data["hubs"][0]))


MUTATIONS: list[tuple[Callable[[dict[str, Any]], None], str]] = [
    (_robot(spead_kph=5), "fleet.robots[0]: unknown field 'spead_kph' (did you mean 'speed_kph'?)"),
    (_drop_count, "fleet.robots[0].count: required field is missing"),
    (_robot(speed_kph="fast"), "fleet.robots[0].speed_kph: must be a number, not the text 'fast'"),
    (_robot(count=2.5), "fleet.robots[0].count: must be a whole number, not the number 2.5"),
    (_robot(count=True), "fleet.robots[0].count: must be a whole number, not true"),
    (_robot(hub="gare"), "fleet.robots[0].hub: unknown hub 'gare' (hubs: 'saint-roch')"),
    (_duplicate_hub, "hubs[1].id: duplicate hub id 'saint-roch' (also hubs[0])"),
    (lambda data: data["hubs"][0].update(lat=95), "hubs[0].lat: must be at most 90"),
    (
        lambda data: data["network"].update(robot_speed_kph=6),
        "network: unknown field 'robot_speed_kph' (did you mean 'speed_kph' in fleet.robots[i]?)",
    ),
    (
        lambda data: data.update(dispatch={"policy": "batched"}),
        "dispatch.policy: must be one of 'nearest_idle', 'batch' or 'tours', "
        "not the text 'batched' (did you mean 'batch'?)",
    ),
    (
        lambda data: data.update(simulation={"start": 420}),
        "simulation.start: must be a time of day in quotes, such as '07:00' "
        "(YAML reads an unquoted 7:00 as the number 420)",
    ),
    (
        lambda data: data.update(simulation={"start": "20:00", "duration_h": 6}),
        "simulation.duration_h: must be at most 4: starting at 20:00, the simulation must end "
        "by midnight",
    ),
    (
        lambda data: data.update(network={}),
        "network: needs a source: give gis_file, osm_file, place or bbox",
    ),
    (
        lambda data: data.update(network=None),
        "network: must be a section of 'key: value' lines, not empty",
    ),
    (
        lambda data: data.update(demand={"parcel_weight_kg": {"min_kg": 5, "max_kg": 1}}),
        "demand.parcel_weight_kg.max_kg: must be at least min_kg (5)",
    ),
    (
        lambda data: data.update(demand={"parcel_weight_kg": {"max_kg": 400}}),
        "demand.parcel_weight_kg.max_kg: a 400 kg parcel exceeds every robot's payload_kg "
        "(largest 300)",
    ),
    (
        lambda data: data.update(demand={"hourly_profile": [1] * 12}),
        "demand.hourly_profile: must have exactly 24 weights, one per hour from 00:00, not 12",
    ),
    (
        lambda data: data.update(demand={"hourly_profile": [0] * 24}),
        "demand.hourly_profile: all 24 weights are 0: at least one must be positive",
    ),
    (
        lambda data: data.update(demand={"hourly_profile": [1] + [0] * 23}),
        "demand.hourly_profile: no order would be created: every hour from 07:00 for 13 h "
        "(the simulated window) has weight 0",
    ),
    (
        lambda data: data.update(demand={"destinations": {"kind": "circle", "radius_m": 500}}),
        "demand.destinations.center_lon: required when kind is 'circle'",
    ),
    (
        lambda data: data.update(demand={"destinations": {"bbox": [3.9, 43.5, 3.8, 43.6]}}),
        "demand.destinations.bbox: west (3.9) must be less than east (3.8)",
    ),
    (_robot(reserve_fraction=0.5), "fleet.robots[0].reserve_fraction: must not exceed "
     "recharge_below_fraction (0.25), or robots would never recharge"),
    (_robot(count=0), "fleet.robots: the fleet has no robots: every count is 0"),
    (lambda data: data.update(name="my day"), "name: must be 1 to 64 letters, digits, '-', "
     "'_' or '.', starting with a letter or digit (it names the results folder)"),
    (lambda data: data.update(nmae="x"), "unknown field 'nmae' (did you mean 'name'?)"),
    (lambda data: data["hubs"][0].update(id=7), "hubs[0].id: must be text, not the number 7 "
     "(put it in quotes)"),
    (lambda data: data.update(outputs={"events": "yes"}), "outputs.events: must be true or "
     "false, not the text 'yes'"),
]  # fmt: skip


@pytest.mark.parametrize(("mutate", "expected"), MUTATIONS)
def test_each_kind_of_mistake_gets_a_plain_message(
    tmp_path: Path, mutate: Callable[[dict[str, Any]], None], expected: str
) -> None:
    data = copy.deepcopy(MINIMAL)
    mutate(data)
    path = write_yaml(tmp_path, data)
    error = load_error(path)
    assert str(error) == f"{path}: {expected}"


def test_all_problems_are_kept_and_the_first_is_reported(tmp_path: Path) -> None:
    data = copy.deepcopy(MINIMAL)
    data["fleet"]["robots"][0].update(speed_kph=-1, payload_kg=0)
    data["hubs"][0]["lon"] = "east"
    path = write_yaml(tmp_path, data)
    error = load_error(path)
    assert [issue.field for issue in error.errors] == [
        "hubs[0].lon",
        "fleet.robots[0].speed_kph",
        "fleet.robots[0].payload_kg",
    ]
    assert str(error) == f"{path}: hubs[0].lon: must be a number, not the text 'east'"
    assert error.describe_all().splitlines()[2] == (
        f"{path}: fleet.robots[0].payload_kg: must be greater than 0"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name: x\n  bad: indent\n", "line 2, column 6: invalid YAML: mapping values are not "
         "allowed here"),
        ("name: [x\n", "line 2, column 1: invalid YAML: expected ',' or ']', but got "
         "'<stream end>' (while parsing a flow sequence)"),
        ("", "the file is empty (or only comments): a scenario needs at least name, network, "
         "hubs and fleet"),
        ("# nothing but a comment\n", "the file is empty (or only comments): a scenario needs "
         "at least name, network, hubs and fleet"),
        ("- name: x\n", "the top level must be a mapping of sections (name, network, hubs, "
         "fleet, ...), not a list"),
        ("just text\n", "the top level must be a mapping of sections (name, network, hubs, "
         "fleet, ...), not a single value ('just text')"),
        ("a: !!python/object/apply:os.system [ls]\n", "line 1, column 4: invalid YAML: could "
         "not determine a constructor for the tag 'tag:yaml.org,2002:python/object/apply:"
         "os.system'"),
    ],
)  # fmt: skip
def test_unreadable_documents_get_a_plain_message(tmp_path: Path, text: str, expected: str) -> None:
    path = write_yaml(tmp_path, text)
    assert str(load_error(path)) == f"{path}: {expected}"


def test_missing_folder_and_binary_files(tmp_path: Path) -> None:
    assert str(load_error(tmp_path / "nope.yaml")) == f"{tmp_path / 'nope.yaml'}: no such file"
    assert str(load_error(tmp_path)) == f"{tmp_path}: is a folder, not a scenario file"
    binary = tmp_path / "b.yaml"
    binary.write_bytes(b"\xff\xfe\x00name")
    assert str(load_error(binary)) == (
        f"{binary}: is not UTF-8 text (undecodable byte at position 0)"
    )


def test_scenario_error_is_a_value_error_of_the_family_and_survives_pickling() -> None:
    error = ScenarioError.from_issues(
        "x.yaml", [ScenarioIssue("a.b", "must be 1"), ScenarioIssue(None, "second")]
    )
    assert isinstance(error, CarretaError) and isinstance(error, ValueError)
    copy_ = pickle.loads(pickle.dumps(error))
    assert str(copy_) == "x.yaml: a.b: must be 1"
    assert copy_.errors == error.errors


# --- paths ----------------------------------------------------------------------------------


def test_relative_paths_are_resolved_against_the_scenario_folder(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "streets.osm").write_text("<osm/>")
    (tmp_path / "sub" / "orders.csv").parent.mkdir()
    (tmp_path / "sub" / "orders.csv").write_text("created_s,lon,lat,weight_kg\n")
    data = copy.deepcopy(MINIMAL)
    data["network"] = {"osm_file": "../data/streets.osm", "cache_dir": "cache"}
    data["demand"] = {"orders_csv": "orders.csv"}
    data["outputs"] = {"dir": str(tmp_path / "elsewhere")}
    scenario = load_scenario(write_yaml(tmp_path / "sub", data))
    assert scenario.network.osm_file == tmp_path / "data" / "streets.osm"
    assert scenario.network.cache_dir == tmp_path / "sub" / "cache"
    assert scenario.demand.orders_csv == tmp_path / "sub" / "orders.csv"
    assert scenario.outputs.dir == tmp_path / "elsewhere"


def test_default_results_folder_is_next_to_the_scenario(tmp_path: Path) -> None:
    scenario = load_scenario(write_yaml(tmp_path, MINIMAL))
    assert scenario.outputs.dir == tmp_path / "results"


def test_a_missing_named_file_is_an_error_unless_the_scenario_asks_to_download(
    tmp_path: Path,
) -> None:
    data = copy.deepcopy(MINIMAL)
    data["network"] = {"osm_file": "absent.osm.bz2", "place": "Montpellier, France"}
    path = write_yaml(tmp_path, data)
    assert str(load_error(path)) == (
        f"{path}: network.osm_file: no such file: {tmp_path / 'absent.osm.bz2'} "
        "(or set network.if_file_missing: download to download the place instead)"
    )
    data["network"]["if_file_missing"] = "download"
    scenario = load_scenario(write_yaml(tmp_path, data))
    assert scenario.network.source_kind() == "place"
    data["network"] = {"osm_file": "absent.osm.bz2", "if_file_missing": "download"}
    path = write_yaml(tmp_path, data)
    assert str(load_error(path)) == (
        f"{path}: network.osm_file: no such file: {tmp_path / 'absent.osm.bz2'} "
        "(and no place or bbox to download instead)"
    )


def test_validate_scenario_without_a_folder_keeps_paths_relative() -> None:
    data = copy.deepcopy(MINIMAL)
    data["outputs"] = {"dir": "runs"}
    assert validate_scenario(data).outputs.dir == Path("runs")


def test_yaml_dump_round_trips_from_another_folder(tmp_path: Path) -> None:
    scenario = load_scenario(SCENARIOS / "montpellier_centre.yaml")
    text = scenario_to_yaml(scenario)
    assert f"gis_file: {CITY_STREETS}" in text
    copy_path = write_yaml(tmp_path / "elsewhere", text, "resolved.yaml")
    assert load_scenario(copy_path) == scenario


# --- overrides ------------------------------------------------------------------------------


def test_overrides_change_fields_and_create_missing_sections(tmp_path: Path) -> None:
    path = write_yaml(tmp_path, MINIMAL)
    scenario = load_scenario(
        path, overrides={"fleet.robots[0].count": 10, "dispatch.policy": "batch"}
    )
    assert scenario.fleet.robots[0].count == 10
    assert scenario.dispatch.policy == "batch"
    assert load_scenario(path).fleet.robots[0].count == 2


def test_apply_overrides_leaves_its_input_alone() -> None:
    data = copy.deepcopy(MINIMAL)
    changed = apply_overrides(data, {"hubs[0].chargers": 5, "simulation.seed": 3})
    assert data == MINIMAL
    assert changed["hubs"][0]["chargers"] == 5
    assert changed["simulation"] == {"seed": 3}


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"fleet.robots[3].count": 1}, "fleet.robots[3].count: cannot override: fleet.robots "
         "has 1 item(s), so index 3 is out of range"),
        ({"name.first": "x"}, "name.first: cannot override: name is a single value "
         "('minimal'), not a section"),
        ({"hubs.chargers": 1}, "hubs.chargers: cannot override: hubs is a list, not a section"),
        ({"fleet..count": 1}, "fleet..count: is not a field path: write names separated by "
         "dots, with list indices in brackets, e.g. fleet.robots[0].count"),
        ({"fleet.robots[0].count": -1}, "fleet.robots[0].count: must be at least 0 "
         "(set by override)"),
        ({"dispatch.polcy": "batch"}, "dispatch: unknown field 'polcy' (did you mean "
         "'policy'?) (set by override)"),
    ],
)  # fmt: skip
def test_bad_overrides_name_the_path(
    tmp_path: Path, overrides: dict[str, object], expected: str
) -> None:
    path = write_yaml(tmp_path, MINIMAL)
    assert str(load_error(path, overrides=overrides)) == f"{path}: {expected}"


def test_parse_override_reads_the_value_as_yaml() -> None:
    assert parse_override("fleet.robots[0].count=10") == ("fleet.robots[0].count", 10)
    assert parse_override("dispatch.policy=batch") == ("dispatch.policy", "batch")
    assert parse_override("demand.hourly_profile=[1, 2]") == ("demand.hourly_profile", [1, 2])
    with pytest.raises(ScenarioError) as caught:
        parse_override("fleet.robots[0].count")
    assert (
        str(caught.value) == "<overrides>: 'fleet.robots[0].count' must look like field.path=value"
    )


def test_with_overrides_revalidates(tmp_path: Path) -> None:
    scenario = load_scenario(write_yaml(tmp_path, MINIMAL))
    bigger = scenario.with_overrides({"fleet.robots[0].count": 9})
    assert bigger.fleet.robot_count == 9
    assert bigger.outputs.dir == scenario.outputs.dir
    with pytest.raises(ScenarioError) as caught:
        scenario.with_overrides({"fleet.robots[0].speed_kph": 0})
    assert str(caught.value) == (
        "<overrides>: fleet.robots[0].speed_kph: must be greater than 0 (set by override)"
    )


def test_models_are_frozen() -> None:
    scenario = validate_scenario(MINIMAL)
    assert isinstance(scenario, Scenario)
    with pytest.raises(ValueError, match="frozen"):
        scenario.fleet.robots[0].count = 3


def test_the_network_credit_follows_the_source_in_use(tmp_path: Path) -> None:
    osm = load_scenario(SCENARIOS / "tiny.yaml")
    assert osm.network.credit() == "Street network © OpenStreetMap contributors (ODbL)"
    city = load_scenario(SCENARIOS / "ecusson_phase3.yaml")
    assert city.network.source_kind() == "gis_file"
    assert "Ville de Montpellier" in city.network.credit()
    layer = tmp_path / "voies.gpkg"
    layer.write_bytes(b"")
    unnamed = validate_scenario(
        {
            **MINIMAL,
            "network": {
                "gis_file": str(layer),
                "place": "Montpellier, France",
                "if_file_missing": "download",
            },
        }
    )
    assert unnamed.network.credit() == "Street network: voies.gpkg"
    layer.unlink()  # gone: the place is downloaded from OpenStreetMap instead
    assert "OpenStreetMap" in unnamed.network.credit()


def test_a_yaml_alias_bomb_is_refused_in_one_line(tmp_path: Path) -> None:
    """A "billion laughs" file (nine levels of nine aliases) is refused before it is built."""
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, 9):
        aliases = ", ".join([f"*a{level - 1}"] * 9)
        lines.append(f"a{level}: &a{level} [{aliases}]")
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(
        ScenarioError, match=r"bomb.yaml: expands to [\d,]+ YAML values through its aliases"
    ):
        load_scenario(path)
