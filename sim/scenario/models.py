"""The scenario file: what to simulate, validated by pydantic models.

A scenario is a YAML file read with :func:`load_scenario`. Its sections are the models below
(``network``, ``hubs``, ``fleet``, ``demand``, ``dispatch``, ``simulation``, ``energy``,
``outputs``); defaults and descriptions live only here and ``docs/scenario-reference.md`` is
generated from them (``python -m carreta.sim.scenario.docs``). Any problem raises
:class:`carreta.sim.errors.ScenarioError` with one line naming the file, the field and what is
wrong.

Examples
--------
>>> scenario = load_scenario("scenarios/tiny.yaml", overrides={"fleet.robots[0].count": 5})
>>> scenario.fleet.robot_count
5
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import AfterValidator, Field, ValidationError, model_validator

from carreta.sim.errors import ScenarioError, ScenarioIssue
from carreta.sim.scenario.demand import Demand, Destinations, WeightDistribution
from carreta.sim.scenario.fleet import Fleet, Hub, RobotType
from carreta.sim.scenario.messages import issues_from_validation_error, mark_override_issues
from carreta.sim.scenario.operations import Costs, Operations
from carreta.sim.scenario.overrides import apply_overrides, parse_override
from carreta.sim.scenario.reading import read_scenario_data
from carreta.sim.scenario.sections import Dispatch, Energy, NetworkSource, Outputs, Simulation
from carreta.sim.scenario.streets import Streets
from carreta.sim.scenario.types import FieldLocation, Section, raise_problems

__all__ = [
    "Costs",
    "Demand",
    "Destinations",
    "Dispatch",
    "Energy",
    "Fleet",
    "Hub",
    "NetworkSource",
    "Operations",
    "Outputs",
    "RobotType",
    "Scenario",
    "ScenarioError",
    "Simulation",
    "Streets",
    "WeightDistribution",
    "apply_overrides",
    "load_scenario",
    "parse_override",
    "scenario_to_yaml",
    "validate_scenario",
]

_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"


def _safe_name(value: str) -> str:
    if not re.match(_NAME_PATTERN, value):
        raise ValueError(
            "must be 1 to 64 letters, digits, '-', '_' or '.', starting with a letter or "
            "digit (it names the results folder)"
        )
    return value


class Scenario(Section):
    """A complete scenario: one simulated day of a robot fleet delivering parcels.

    Rules: hub ids are unique; every ``fleet.robots[i].hub`` and ``fleet.vans[i].hub`` names a
    hub; the heaviest parcel fits some robot's (or van's) payload_kg; generated demand has a
    positive hourly weight within the simulated hours; with only a ``network.bbox``, every hub
    lies inside it.
    """

    name: Annotated[str, AfterValidator(_safe_name)] = Field(
        json_schema_extra={"pattern": _NAME_PATTERN},
        description=(
            "Short name of the scenario: letters, digits, '-', '_' and '.'; it names the "
            "results folder."
        ),
    )
    description: str = Field(default="", description="Free text describing the scenario.")
    network: NetworkSource = Field(description="The street network.")
    hubs: list[Hub] = Field(min_length=1, description="The depots, at least one.")
    fleet: Fleet = Field(description="The robots.")
    demand: Demand = Field(default_factory=Demand, description="The parcels to deliver.")
    dispatch: Dispatch = Field(default_factory=Dispatch, description="How orders meet robots.")
    simulation: Simulation = Field(default_factory=Simulation, description="The simulated day.")
    energy: Energy = Field(default_factory=Energy, description="Emission and cost factors.")
    operations: Operations = Field(
        default_factory=Operations,
        description="Supervision and breakdowns of the robots (both off by default).",
    )
    costs: Costs = Field(default_factory=Costs, description="Vehicle, staff and upkeep costs.")
    outputs: Outputs = Field(default_factory=Outputs, description="What a run writes.")
    streets: Streets = Field(
        default_factory=Streets,
        description="Pedestrian zones, road crossings and closures (all off by default).",
    )

    @model_validator(mode="after")
    def _cross_section_rules(self) -> Scenario:
        problems: list[tuple[FieldLocation, str]] = []
        problems += self._hub_problems()
        problems += self._demand_problems()
        raise_problems(problems)
        return self

    def _hub_problems(self) -> list[tuple[FieldLocation, str]]:
        problems: list[tuple[FieldLocation, str]] = []
        first_index: dict[str, int] = {}
        for index, hub in enumerate(self.hubs):
            if hub.id in first_index:
                problems.append(
                    (
                        ("hubs", index, "id"),
                        f"duplicate hub id {hub.id!r} (also hubs[{first_index[hub.id]}])",
                    )
                )
            first_index.setdefault(hub.id, index)
        known = ", ".join(repr(hub_id) for hub_id in first_index)
        groups = [("robots", i, g.hub) for i, g in enumerate(self.fleet.robots)]
        groups += [("vans", i, g.hub) for i, g in enumerate(self.fleet.vans)]
        for kind, index, hub_id in groups:
            if hub_id is not None and hub_id not in first_index:
                problems.append(
                    (("fleet", kind, index, "hub"), f"unknown hub {hub_id!r} (hubs: {known})")
                )
        bbox = self.network.bbox
        network = self.network
        files = (network.osm_file, network.gis_file, network.place)
        if bbox is not None and all(value is None for value in files):
            west, south, east, north = bbox
            for index, hub in enumerate(self.hubs):
                if not (west <= hub.lon <= east and south <= hub.lat <= north):
                    problems.append((("hubs", index), "lies outside network.bbox"))
        return problems

    def _demand_problems(self) -> list[tuple[FieldLocation, str]]:
        demand = self.demand
        if not demand.generates_orders:
            return []
        problems: list[tuple[FieldLocation, str]] = []
        weights = demand.parcel_weight_kg
        carried = [group.payload_kg for group in self.fleet.robots if group.count > 0]
        carried += [group.payload_kg for group in self.fleet.vans if group.count > 0]
        if carried and weights.heaviest_kg > max(carried):
            name = "mean_kg" if weights.distribution == "fixed" else "max_kg"
            problems.append(
                (
                    ("demand", "parcel_weight_kg", name),
                    f"a {weights.heaviest_kg:g} kg parcel exceeds every robot's payload_kg "
                    f"(largest {max(carried):g})",
                )
            )
        start_h, end_h = self.simulation.window_h
        simulated = [
            weight
            for hour, weight in enumerate(demand.hourly_profile)
            if hour < end_h and hour + 1 > start_h
        ]
        if demand.orders_per_day > 0 and sum(demand.hourly_profile) > 0 and not any(simulated):
            start = self.simulation.start.strftime("%H:%M")
            problems.append(
                (
                    ("demand", "hourly_profile"),
                    f"no order would be created: every hour from {start} for "
                    f"{self.simulation.duration_h:g} h (the simulated window) has weight 0",
                )
            )
        return problems

    def with_overrides(self, overrides: Mapping[str, object]) -> Scenario:
        """Return a new scenario with ``overrides`` applied, validated again.

        Parameters
        ----------
        overrides
            Dotted field paths with list indices mapped to new values, e.g.
            ``{"fleet.robots[0].count": 10, "dispatch.policy": "batch"}``. Relative paths among
            the values stay relative (to the working directory).

        Raises
        ------
        ScenarioError
            If a path is malformed or the result is invalid; the file is named ``<overrides>``.
        """
        data = self.model_dump(mode="json")
        changed = apply_overrides(data, overrides, source="<overrides>")
        return validate_scenario(changed, source="<overrides>", overrides=overrides)


def validate_scenario(
    data: object,
    *,
    source: str | os.PathLike[str] = "<scenario>",
    base_dir: str | os.PathLike[str] | None = None,
    overrides: Mapping[str, object] | None = None,
) -> Scenario:
    """Validate an already-parsed scenario document.

    Parameters
    ----------
    data
        The parsed YAML document (normally a mapping).
    source
        Name of the file shown in error messages.
    base_dir
        Folder that relative paths are resolved against; ``None`` leaves them relative.
    overrides
        The overrides already applied to ``data``, if any; problems at their fields say so.

    Returns
    -------
    Scenario
        The validated scenario.

    Raises
    ------
    ScenarioError
        If the document is not a mapping or does not describe a valid scenario.
    """
    if not isinstance(data, Mapping):
        kind = "a list" if isinstance(data, list) else f"a single value ({data!r:.40})"
        raise ScenarioError(
            source,
            None,
            f"the top level must be a mapping of sections (name, network, hubs, fleet, ...), "
            f"not {kind}",
        )
    context: dict[str, Any] = {"base_dir": None if base_dir is None else Path(base_dir)}
    try:
        return Scenario.model_validate(data, context=context)
    except ValidationError as error:
        issues: list[ScenarioIssue] = issues_from_validation_error(error, model=Scenario)
        if overrides:
            issues = mark_override_issues(issues, overrides)
        raise ScenarioError.from_issues(source, issues) from None


def load_scenario(
    path: str | os.PathLike[str], *, overrides: Mapping[str, object] | None = None
) -> Scenario:
    """Read, override and validate a scenario file.

    Parameters
    ----------
    path
        The YAML scenario file. Error messages name it exactly as given.
    overrides
        Optional changes applied before validation: dotted field paths with list indices
        mapped to values, e.g. ``{"fleet.robots[0].count": 10, "dispatch.policy": "batch"}``.

    Returns
    -------
    Scenario
        The validated scenario; every path in it is absolute, resolved against the folder of
        the scenario file.

    Raises
    ------
    ScenarioError
        If the file is missing or unreadable, is not valid YAML, is empty or not a mapping, an
        override path is malformed, or a value is invalid. The message is one line,
        ``"<file>: <field>: <problem>"``; every problem found is in ``error.errors``.
    """
    data = read_scenario_data(path)
    if overrides and isinstance(data, Mapping):
        data = apply_overrides(data, overrides, source=path)
    base_dir = os.path.dirname(os.path.abspath(path))
    return validate_scenario(data, source=path, base_dir=base_dir, overrides=overrides)


def scenario_to_yaml(scenario: Scenario) -> str:
    """Dump a scenario as YAML with every field, defaults included and paths absolute.

    Loading the text back with :func:`load_scenario` gives an equal scenario (wherever the
    file is written, since its paths are absolute).
    """
    header = "# Resolved scenario: every field, defaults included; paths are absolute.\n"
    body = yaml.dump(
        scenario.model_dump(mode="json"),
        Dumper=_ResolvedDumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=100,
    )
    return header + body


class _ResolvedDumper(yaml.SafeDumper):
    """Block-style YAML, except lists of plain values which stay on one line."""


def _represent_list(dumper: yaml.SafeDumper, data: list[Any]) -> yaml.Node:
    flow = all(not isinstance(item, dict | list) for item in data)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


_ResolvedDumper.add_representer(list, _represent_list)
