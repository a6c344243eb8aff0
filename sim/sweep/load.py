"""Reading a sweep file and checking every parameter against its base scenario.

:func:`load_sweep` validates the file with the :class:`~carreta.sim.sweep.spec.SweepSpec` model,
then applies every value of every parameter to the base scenario (and every combination, once
expanded) so that a bad value is reported before anything runs, in one line naming the sweep
file, the parameter and the value.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from carreta.sim.errors import ScenarioError
from carreta.sim.scenario.messages import issues_from_validation_error
from carreta.sim.scenario.models import Scenario, apply_overrides, validate_scenario
from carreta.sim.scenario.overrides import parse_field_path
from carreta.sim.scenario.reading import read_scenario_data
from carreta.sim.scenario.types import format_field_path
from carreta.sim.sweep.spec import (
    SweepError,
    SweepRun,
    SweepSpec,
    canonical_json,
    describe_value,
    expand_runs,
    parameter_combinations,
    sweep_label,
)

__all__ = ["RESERVED_COLUMNS", "Sweep", "load_sweep", "sweep_to_yaml"]

RESERVED_COLUMNS = ("run_id", "replicate", "seed", "status", "error", "wall_time_s")
"""Columns of ``runs.parquet`` that a parameter path may not be named like."""

_FORBIDDEN_PATHS = {
    "simulation.seed": "is set by the sweep (seed and replicates): vary replicates instead",
}


@dataclass(frozen=True)
class Sweep:
    """A validated sweep, expanded into its runs.

    Attributes
    ----------
    spec
        The sweep file's content.
    source
        The sweep file as the user named it (for messages).
    name
        ``spec.name``, or the sweep file's name without extension.
    base_data
        The base scenario document as parsed from YAML (what workers apply overrides to).
    base_scenario
        The base scenario with ``spec.overrides`` applied, validated.
    runs
        Every run, in expansion order (the row order of ``runs.parquet``).
    """

    spec: SweepSpec
    source: str
    name: str
    base_data: dict[str, Any]
    base_scenario: Scenario
    runs: tuple[SweepRun, ...]

    @property
    def base_file(self) -> Path:
        """The base scenario file (absolute)."""
        return self.spec.base

    @property
    def parameter_paths(self) -> list[str]:
        """The varied field paths, in file order."""
        return self.spec.parameter_paths()

    def run_overrides(self, run: SweepRun) -> dict[str, Any]:
        """Every override applied to the base for ``run``: the fixed ones, then its parameters."""
        return {**self.spec.overrides, **run.params}

    def scenario_for(self, run: SweepRun) -> Scenario:
        """The validated scenario of ``run`` (its seed is applied when it runs)."""
        return scenario_from_base(
            self.base_data, self.base_file, self.run_overrides(run), label=str(self.base_file)
        )

    def resolved(self) -> dict[str, Any]:
        """What makes the sweep's results: stored as ``sweep.resolved.yaml`` and compared on resume.

        Plain JSON-like data: the spec with absolute paths plus the whole resolved base scenario.
        """
        spec = self.spec.model_dump(mode="json")
        spec["name"] = self.name
        data = {**spec, "base_scenario": self.base_scenario.model_dump(mode="json")}
        normalised: dict[str, Any] = json.loads(json.dumps(data))  # plain lists, str keys
        return normalised


def scenario_from_base(
    base_data: Mapping[str, Any],
    base_file: str | os.PathLike[str],
    overrides: Mapping[str, object],
    *,
    label: str,
) -> Scenario:
    """Apply ``overrides`` to a parsed base scenario and validate it like :func:`load_scenario`.

    Raises
    ------
    ScenarioError
        If an override path does not fit or the result is invalid (named ``label``).
    """
    data = apply_overrides(base_data, overrides, source=label)
    base_dir = os.path.dirname(os.path.abspath(base_file))
    return validate_scenario(data, source=label, base_dir=base_dir, overrides=overrides)


def _read_sweep_data(path: str | os.PathLike[str]) -> object:
    try:
        return read_scenario_data(path)
    except ScenarioError as error:
        problem = error.problem
        if problem.startswith("the file is empty"):
            problem = "the file is empty (or only comments): a sweep needs at least base and seed"
        raise SweepError(error.path, error.field, problem) from None


def _validate_spec(data: object, source: str) -> SweepSpec:
    if not isinstance(data, Mapping):
        raise SweepError(source, None, "the top level must be a mapping (base, seed, grid, ...)")
    context = {"base_dir": Path(os.path.dirname(os.path.abspath(source)))}
    try:
        return SweepSpec.model_validate(data, context=context)
    except ValidationError as error:
        issues = issues_from_validation_error(error, model=SweepSpec)
        raise SweepError.from_issues(source, issues) from None


def _parameter_fields(spec: SweepSpec) -> list[tuple[str, str]]:
    """``(field in the sweep file, parameter path)`` for every path the sweep names."""
    fields = [(format_field_path(("overrides", path)), path) for path in spec.overrides]
    fields += [(format_field_path(("grid", path)), path) for path in spec.grid]
    if spec.sample is not None:
        fields += [
            (format_field_path(("sample", "ranges", path)), path) for path in spec.sample.ranges
        ]
    return fields


def _check_paths(spec: SweepSpec, source: str) -> None:
    first_field: dict[str, str] = {}
    for field, path in _parameter_fields(spec):
        try:
            parse_field_path(path, source=source)
        except ScenarioError as error:
            raise SweepError(source, field, error.problem) from None
        if path in _FORBIDDEN_PATHS:
            raise SweepError(source, field, _FORBIDDEN_PATHS[path])
        if path in RESERVED_COLUMNS:
            raise SweepError(source, field, "is the name of a column of runs.parquet")
        if path in first_field:
            raise SweepError(source, field, f"is already set in {first_field[path]}")
        first_field[path] = field
    for path, values in spec.grid.items():
        seen: set[str] = set()
        for value in values:
            text = canonical_json(value)
            if text in seen:
                field = format_field_path(("grid", path))
                raise SweepError(source, field, f"lists {describe_value(value)} more than once")
            seen.add(text)


def _check_value(
    sweep_source: str,
    field: str,
    base_data: Mapping[str, Any],
    base_file: Path,
    overrides: Mapping[str, object],
    what: str,
) -> Scenario:
    try:
        return scenario_from_base(base_data, base_file, overrides, label=str(base_file))
    except ScenarioError as error:
        where = f"{error.field}: " if error.field else ""
        raise SweepError(
            sweep_source, field, f"{what} makes the base scenario invalid: {where}{error.problem}"
        ) from None


def _check_parameters(spec: SweepSpec, source: str, base_data: Mapping[str, Any]) -> Scenario:
    """Validate the fixed overrides, each parameter value alone, then return the fixed base."""
    fixed = dict(spec.overrides)
    base = _check_value(source, "overrides", base_data, spec.base, fixed, "this value")
    for path, values in spec.grid.items():
        field = format_field_path(("grid", path))
        for value in values:
            what = f"the value {describe_value(value)}"
            _check_value(source, field, base_data, spec.base, {**fixed, path: value}, what)
    if spec.sample is not None:
        for path, (low, high) in spec.sample.ranges.items():
            field = format_field_path(("sample", "ranges", path))
            for bound in (low, high):
                what = f"the bound {describe_value(bound)}"
                _check_value(source, field, base_data, spec.base, {**fixed, path: bound}, what)
    return base


def _check_combinations(spec: SweepSpec, source: str, base_data: Mapping[str, Any]) -> None:
    """Validate every distinct combination (values valid alone may clash together)."""
    if len(spec.parameter_paths()) < 2:
        return  # one varied parameter: its values were checked one by one
    field = "grid" if spec.grid else "sample"
    for params in parameter_combinations(spec):
        shown = ", ".join(f"{path}={describe_value(value)}" for path, value in params.items())
        overrides = {**spec.overrides, **params}
        _check_value(source, field, base_data, spec.base, overrides, f"the combination {shown}")


def _with_settings(spec: SweepSpec, source: str, settings: Mapping[str, Any]) -> SweepSpec:
    """``spec`` with the command line's ``--set`` values added to its fixed overrides."""
    for path in settings:
        if path in spec.parameter_paths():
            raise SweepError(
                source, f"--set {path}", "is a parameter the sweep varies: change its values in "
                "the sweep file instead",
            )  # fmt: skip
        if path in _FORBIDDEN_PATHS:
            raise SweepError(source, f"--set {path}", _FORBIDDEN_PATHS[path])
    overrides = {**spec.overrides, **json.loads(json.dumps(dict(settings), default=str))}
    return spec.model_copy(update={"overrides": overrides})


def load_sweep(path: str | os.PathLike[str], *, settings: Mapping[str, Any] | None = None) -> Sweep:
    """Read and validate a sweep file and its base scenario; expand the runs.

    Parameters
    ----------
    path
        The sweep file (YAML). Its ``base`` is relative to the file's folder.
    settings
        Field path → value given on the command line (``--set``): added to the file's fixed
        ``overrides`` (replacing a value it gives), so they are checked like them and recorded
        in ``sweep.resolved.yaml`` and in every run's ``scenario.resolved.yaml``.

    Returns
    -------
    Sweep
        The validated, expanded sweep.

    Raises
    ------
    SweepError
        If the sweep file is unreadable or invalid, a parameter path is malformed, repeated or
        reserved, or a value (or a combination) makes the base scenario invalid. One line,
        ``"<sweep file>: <field>: <problem>"``.
    ScenarioError
        If the base scenario file itself is missing or invalid (the message names it).
    """
    source = os.fspath(path)
    spec = _validate_spec(_read_sweep_data(source), source)
    if settings:
        spec = _with_settings(spec, source, settings)
    _check_paths(spec, source)
    base_data = read_scenario_data(spec.base)
    if not isinstance(base_data, Mapping):
        validate_scenario(base_data, source=spec.base)  # raises the scenario's own message
        raise AssertionError("unreachable: a scenario that is not a mapping is invalid")
    validate_scenario(base_data, source=spec.base, base_dir=spec.base.parent)
    base = _check_parameters(spec, source, base_data)
    _check_combinations(spec, source, base_data)
    return Sweep(
        spec=spec,
        source=source,
        name=spec.name or sweep_label(source),
        base_data=dict(base_data),
        base_scenario=base,
        runs=tuple(expand_runs(spec)),
    )


def sweep_to_yaml(resolved: Mapping[str, Any]) -> str:
    """The text of ``sweep.resolved.yaml`` for :meth:`Sweep.resolved` data."""
    header = (
        "# Resolved sweep: the sweep file with absolute paths and the whole base scenario.\n"
        "# A sweep folder only accepts the sweep that matches this file exactly.\n"
    )
    return header + yaml.safe_dump(
        dict(resolved), sort_keys=False, allow_unicode=True, default_flow_style=False, width=100
    )
