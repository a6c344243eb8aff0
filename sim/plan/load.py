"""Reading a plan file, checking it against its base scenario, and its configurations.

:func:`load_plan` validates the file with :class:`~carreta.sim.plan.spec.PlanSpec`, reads the
base scenario and the hub candidates, and applies every decision value (each bound of the
search range, each grid value) to the base scenario, so that a bad value is one line naming the
plan file and the field before anything runs — as :func:`carreta.sim.sweep.load.load_sweep`
does for sweeps.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import ValidationError

from carreta.sim.errors import ScenarioError
from carreta.sim.plan.spec import ALL_HUBS, PlanError, PlanSpec
from carreta.sim.scenario.messages import issues_from_validation_error
from carreta.sim.scenario.models import Scenario, validate_scenario
from carreta.sim.scenario.overrides import parse_field_path
from carreta.sim.scenario.reading import read_scenario_data
from carreta.sim.scenario.types import format_field_path
from carreta.sim.sweep.load import scenario_from_base
from carreta.sim.sweep.spec import describe_value, sweep_label

__all__ = ["Candidates", "Plan", "load_plan", "read_candidates"]

_FORBIDDEN = {
    "simulation.seed": "is set by the plan (seed and replicates)",
    "hubs": "is set by the hubs section (hub siting)",
}


@dataclass(frozen=True)
class Candidates:
    """Candidate hub sites: ids, longitudes, latitudes (degrees) and daily costs (EUR)."""

    ids: tuple[str, ...]
    lons: np.ndarray
    lats: np.ndarray
    cost_eur_per_day: np.ndarray


@dataclass(frozen=True)
class Plan:
    """A validated plan.

    Attributes
    ----------
    spec
        The plan file's content.
    source
        The plan file as the user named it (for messages).
    name
        ``spec.name`` or the file's name without extension.
    base_data
        The base scenario document as parsed (what runs apply overrides to).
    base_scenario
        The base scenario with ``spec.overrides``, validated.
    candidates
        Candidate hub sites read from ``hubs.candidates`` (None if generated or no siting).
    """

    spec: PlanSpec
    source: str
    name: str
    base_data: dict[str, Any]
    base_scenario: Scenario
    candidates: Candidates | None

    @property
    def base_file(self) -> Path:
        """The base scenario file (absolute)."""
        return self.spec.base

    def run_params(
        self, decisions: Mapping[str, Any], hubs: Sequence[Mapping[str, Any]] | None = None
    ) -> dict[str, Any]:
        """The scenario overrides of one configuration (the sweep run's parameters).

        ``decisions`` maps decision paths to values; ``hubs`` (siting) the chosen sites as hub
        sections. A ``hubs[*].X`` decision sets X at every hub.
        """
        params: dict[str, Any] = {}
        every_hub = {
            path.removeprefix(ALL_HUBS): value
            for path, value in decisions.items()
            if path.startswith(ALL_HUBS)
        }
        if hubs is not None:
            params["hubs"] = [{**hub, **every_hub} for hub in hubs]
        else:
            for index in range(len(self.base_scenario.hubs)):
                for name, value in every_hub.items():
                    params[f"hubs[{index}].{name}"] = value
        for path, value in decisions.items():
            if not path.startswith(ALL_HUBS):
                params[path] = value
        return params

    def siting_overrides(self) -> dict[str, Any]:
        """Fixed overrides under siting: every robot group spread over the chosen hubs."""
        if self.spec.hubs is None:
            return {}
        groups = len(self.base_scenario.fleet.robots)
        return {f"fleet.robots[{index}].hub": None for index in range(groups)}

    def scenario_for(self, params: Mapping[str, Any]) -> Scenario:
        """The validated scenario of a configuration's parameters."""
        overrides = {**self.spec.overrides, **self.siting_overrides(), **params}
        return scenario_from_base(
            self.base_data, self.base_file, overrides, label=str(self.base_file)
        )


def _read_plan_data(path: str) -> object:
    try:
        return read_scenario_data(path)
    except ScenarioError as error:
        problem = error.problem
        if problem.startswith("the file is empty"):
            problem = "the file is empty (or only comments): a plan needs base, seed and target"
        raise PlanError(error.path, error.field, problem) from None


def _validate_spec(data: object, source: str) -> PlanSpec:
    if not isinstance(data, Mapping):
        raise PlanError(source, None, "the top level must be a mapping (base, seed, target, ...)")
    context = {"base_dir": Path(os.path.dirname(os.path.abspath(source)))}
    try:
        return PlanSpec.model_validate(data, context=context)
    except ValidationError as error:
        issues = issues_from_validation_error(error, model=PlanSpec)
        raise PlanError.from_issues(source, issues) from None


def _decision_fields(spec: PlanSpec) -> list[tuple[str, str]]:
    fields = [(format_field_path(("overrides", path)), path) for path in spec.overrides]
    if spec.search is not None:
        fields.append(("search.path", spec.search.path))
    fields += [(format_field_path(("grid", path)), path) for path in spec.grid]
    return fields


def _check_paths(spec: PlanSpec, source: str) -> None:
    first: dict[str, str] = {}
    for field, path in _decision_fields(spec):
        checked = path.removeprefix(ALL_HUBS)
        try:
            parse_field_path(checked, source=source)
        except ScenarioError as error:
            raise PlanError(source, field, error.problem) from None
        if path == "simulation.seed":
            raise PlanError(source, field, _FORBIDDEN[path])
        one_hub = path == "hubs" or (path.startswith("hubs[") and not path.startswith(ALL_HUBS))
        if spec.hubs is not None and one_hub:
            problem = _FORBIDDEN.get(path, "cannot name one hub under hub siting: use hubs[*].")
            raise PlanError(source, field, problem)
        if path in first:
            raise PlanError(source, field, f"is already set in {first[path]}")
        first[path] = field


def _check_value(plan: Plan, field: str, decisions: Mapping[str, Any], what: str) -> None:
    try:
        plan.scenario_for(plan.run_params(decisions))
    except ScenarioError as error:
        where = f"{error.field}: " if error.field else ""
        raise PlanError(
            plan.source, field, f"{what} makes the base scenario invalid: {where}{error.problem}"
        ) from None


def _check_decisions(plan: Plan) -> None:
    spec = plan.spec
    if spec.search is not None:
        for bound in spec.search.range:
            what = f"the bound {bound}"
            _check_value(plan, "search.range", {spec.search.path: bound}, what)
    for path, values in spec.grid.items():
        field = format_field_path(("grid", path))
        for value in values:
            _check_value(plan, field, {path: value}, f"the value {describe_value(value)}")


def read_candidates(path: Path, *, source: str) -> Candidates:
    """Read a CSV of candidate hub sites (``lon``, ``lat``; optional ``id``, ``cost_eur_per_day``).

    Raises
    ------
    PlanError
        Naming the CSV file and the column of the first problem.
    """
    try:
        table = pd.read_csv(path)
    except FileNotFoundError:
        raise PlanError(source, "hubs.candidates", f"no such file: {path}") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        problem = " ".join(str(error).split())
        raise PlanError(str(path), None, f"not a readable CSV file: {problem}") from None
    for column in ("lon", "lat"):
        if column not in table.columns:
            raise PlanError(str(path), column, "missing column (columns: id, lon, lat, cost)")
    if len(table) == 0:
        raise PlanError(str(path), None, "no candidate site")
    limits = {"lon": 180.0, "lat": 90.0, "cost_eur_per_day": np.inf}
    values: dict[str, np.ndarray] = {}
    for column, limit in limits.items():
        if column not in table.columns:
            continue
        numbers = pd.to_numeric(table[column], errors="coerce").to_numpy(float)
        low = 0.0 if column == "cost_eur_per_day" else -limit
        bad = np.flatnonzero(~np.isfinite(numbers) | (numbers < low) | (numbers > limit))
        if bad.shape[0]:
            line = int(bad[0]) + 2  # the header is line 1
            shown = table[column].iloc[bad[0]]
            raise PlanError(str(path), column, f"line {line}: {shown!r} is not a valid {column}")
        values[column] = numbers
    ids = (
        [str(value) for value in table["id"]]
        if "id" in table.columns
        else [f"site-{index + 1}" for index in range(len(table))]
    )
    if len(set(ids)) != len(ids):
        raise PlanError(str(path), "id", "site ids must be unique")
    return Candidates(
        ids=tuple(ids),
        lons=values["lon"],
        lats=values["lat"],
        cost_eur_per_day=values.get("cost_eur_per_day", np.zeros(len(ids))),
    )


def load_plan(path: str | os.PathLike[str]) -> Plan:
    """Read and validate a plan file and its base scenario.

    Raises
    ------
    PlanError
        If the plan file is unreadable or invalid, a decision path is malformed or repeated, a
        decision value makes the base scenario invalid, or the candidates file is bad. One
        line, ``"<plan file>: <field>: <problem>"``.
    ScenarioError
        If the base scenario itself is missing or invalid (the message names it).
    """
    source = os.fspath(path)
    spec = _validate_spec(_read_plan_data(source), source)
    _check_paths(spec, source)
    base_data = read_scenario_data(spec.base)
    if not isinstance(base_data, Mapping):
        validate_scenario(base_data, source=spec.base)
        raise AssertionError("unreachable: a scenario that is not a mapping is invalid")
    validate_scenario(base_data, source=spec.base, base_dir=spec.base.parent)
    candidates = None
    siting = spec.hubs
    if siting is not None and siting.candidates is not None:
        candidates = read_candidates(siting.candidates, source=source)
        if siting.k > len(candidates.ids):
            raise PlanError(
                source, "hubs.k", f"{siting.k} hubs but only {len(candidates.ids)} candidates"
            )
    if siting is not None and siting.generate is not None and siting.k > siting.generate.n:
        raise PlanError(source, "hubs.k", f"{siting.k} hubs but {siting.generate.n} candidates")
    try:
        base = scenario_from_base(base_data, spec.base, {**spec.overrides}, label=str(spec.base))
    except ScenarioError as error:
        where = f"{error.field}: " if error.field else ""
        raise PlanError(
            source, "overrides", f"makes the base scenario invalid: {where}{error.problem}"
        ) from None
    plan = Plan(
        spec=spec,
        source=source,
        name=spec.name or sweep_label(source),
        base_data=dict(base_data),
        base_scenario=base,
        candidates=candidates,
    )
    _check_decisions(plan)
    return plan
