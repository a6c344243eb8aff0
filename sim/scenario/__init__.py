"""The scenario file: pydantic models (frozen, ``extra="forbid"``), reading, overrides, docs.

Imports only :mod:`carreta.sim.errors` and the standard scientific stack: nothing of the model.
"""

from __future__ import annotations

from carreta.sim.scenario.models import (
    Scenario,
    apply_overrides,
    load_scenario,
    parse_override,
    scenario_to_yaml,
    validate_scenario,
)

__all__ = [
    "Scenario",
    "apply_overrides",
    "load_scenario",
    "parse_override",
    "scenario_to_yaml",
    "validate_scenario",
]
