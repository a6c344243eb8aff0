"""Property tests: whatever is in a scenario file, loading it fails only with ScenarioError.

A broken file must never crash the loader with a pydantic, YAML, type or OS error: it gets one
line that starts with the file name.
"""

from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from carreta.sim.errors import ScenarioError
from carreta.sim.scenario.models import Scenario, load_scenario

VALID: dict[str, Any] = {
    "name": "prop",
    "network": {
        "osm_file": "absent.osm.bz2",
        "place": "Montpellier, France",
        "if_file_missing": "download",
        "simplify": True,
    },
    "hubs": [{"id": "h1", "lon": 3.88, "lat": 43.6, "chargers": 2}],
    "fleet": {"robots": [{"type": "tw", "count": 2, "hub": "h1", "speed_kph": 6.0}]},
    "demand": {
        "orders_per_day": 100,
        "destinations": {"kind": "circle", "center_lon": 3.88, "center_lat": 43.6, "radius_m": 900},
        "parcel_weight_kg": {"distribution": "uniform", "min_kg": 1, "max_kg": 5},
    },
    "dispatch": {"policy": "batch", "max_stops_per_tour": 4},
    "simulation": {"date": dt.date(2026, 11, 25), "start": "07:00", "duration_h": 13, "seed": 1},
    "energy": {"grid_co2_g_per_kwh": 52},
    "outputs": {"dir": "out", "events": True},
}

SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.dates(),
    st.sampled_from(["", "07:00", "25:61", "nodes", "circle", "batch", "h1", "-1", "1e400"]),
)
junk = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=8,
)


def locations(document: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path and list index inside ``document``, outermost first."""
    found: list[tuple[Any, ...]] = []
    children: list[tuple[Any, Any]] = []
    if isinstance(document, dict):
        children = list(document.items())
    elif isinstance(document, list):
        children = list(enumerate(document))
    for key, value in children:
        found.append((*prefix, key))
        found.extend(locations(value, (*prefix, key)))
    return found


def mutate(document: dict[str, Any], data: st.DataObject) -> dict[str, Any]:
    """Apply one to three random breakages to a copy of ``document``."""
    result = copy.deepcopy(document)
    for _ in range(data.draw(st.integers(1, 3), label="mutations")):
        targets = locations(result)
        if not targets:
            break
        location = data.draw(st.sampled_from(targets), label="location")
        parent: Any = result
        for key in location[:-1]:
            parent = parent[key]
        key = location[-1]
        action = data.draw(
            st.sampled_from(["delete", "replace", "negate", "unknown_key", "empty_section"])
        )
        if action == "delete":
            del parent[key]
        elif action == "replace":
            parent[key] = data.draw(junk, label="value")
        elif action == "negate" and isinstance(parent[key], int | float):
            parent[key] = -parent[key] - 1
        elif action == "unknown_key" and isinstance(parent[key], dict):
            parent[key][data.draw(st.text(min_size=1, max_size=10), label="key")] = data.draw(junk)
        elif action == "empty_section":
            parent[key] = {} if isinstance(parent[key], dict) else []
    return result


def assert_loads_or_reports(path: Path) -> None:
    try:
        scenario = load_scenario(path)
    except ScenarioError as error:
        message = str(error)
        assert message.startswith(f"{path}: "), message
        assert "\n" not in message
        assert error.errors and error.path == str(path)
    else:
        assert isinstance(scenario, Scenario)


def test_the_valid_document_is_valid(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(VALID))
    assert load_scenario(path).network.source_kind() == "place"


@SETTINGS
@given(data=st.data())
def test_mutated_scenarios_fail_only_with_scenario_error(
    tmp_path: Path, data: st.DataObject
) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(mutate(VALID, data), allow_unicode=True), encoding="utf-8")
    assert_loads_or_reports(path)


@SETTINGS
@given(document=junk)
def test_arbitrary_documents_fail_only_with_scenario_error(tmp_path: Path, document: Any) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert str(caught.value).startswith(f"{path}: ")


@SETTINGS
@given(text=st.text(max_size=200))
def test_arbitrary_text_fails_only_with_scenario_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "s.yaml"
    path.write_bytes(text.encode("utf-8", errors="surrogatepass"))
    assert_loads_or_reports(path)


@SETTINGS
@given(blob=st.binary(max_size=200))
def test_arbitrary_bytes_fail_only_with_scenario_error(tmp_path: Path, blob: bytes) -> None:
    path = tmp_path / "s.yaml"
    path.write_bytes(blob)
    assert_loads_or_reports(path)


@SETTINGS
@given(
    overrides=st.dictionaries(
        st.one_of(st.text(max_size=20), st.sampled_from(["fleet.robots[5].count", "hubs[0]"])),
        junk,
        max_size=3,
    )
)
def test_arbitrary_overrides_fail_only_with_scenario_error(
    tmp_path: Path, overrides: dict[str, Any]
) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(VALID), encoding="utf-8")
    try:
        load_scenario(path, overrides=overrides)
    except ScenarioError as error:
        assert str(error).startswith(f"{path}: ")
