"""The scenario reference and JSON schema are generated from the models and kept fresh."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from carreta.sim.scenario.docs import (
    REFERENCE_PATH,
    REGENERATE_COMMAND,
    SCHEMA_PATH,
    json_schema,
    main,
    render_reference,
    render_schema,
    stale_docs,
    write_docs,
)
from carreta.sim.scenario.models import Scenario

PROJECT = Path(__file__).resolve().parents[1]


def all_models(model: type[BaseModel]) -> Iterator[type[BaseModel]]:
    """Yield ``model`` and every model nested in it, once each."""
    seen: set[type[BaseModel]] = set()
    pending = [model]
    while pending:
        current = pending.pop()
        if current in seen:
            continue
        seen.add(current)
        yield current
        for field in current.model_fields.values():
            for candidate in _types_in(field.annotation):
                if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                    pending.append(candidate)


def _types_in(annotation: Any) -> Iterator[Any]:
    yield annotation
    for argument in getattr(annotation, "__args__", ()):
        yield from _types_in(argument)


@pytest.mark.parametrize(
    ("relative", "render"), [(REFERENCE_PATH, render_reference), (SCHEMA_PATH, render_schema)]
)
def test_committed_docs_match_the_models(relative: Path, render: Any) -> None:
    committed = PROJECT / relative
    assert committed.is_file(), f"{relative} is missing: run `{REGENERATE_COMMAND}`"
    assert committed.read_text(encoding="utf-8") == render(), (
        f"{relative} is stale (the scenario models changed): run `{REGENERATE_COMMAND}`"
    )


def test_every_field_has_a_description_and_a_row_in_the_reference() -> None:
    reference = render_reference()
    for model in all_models(Scenario):
        assert model.__doc__, f"{model.__name__} needs a docstring: it introduces its section"
        for name, field in model.model_fields.items():
            assert field.description, f"{model.__name__}.{name} has no description"
            assert f"| `{name}` |" in reference


def test_shipped_scenarios_satisfy_the_json_schema() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    validator = jsonschema.Draft202012Validator(json_schema())
    scenarios = sorted(PROJECT.glob("scenarios/**/*.yaml"))
    # Sweep files and plan files (scenarios/plans/) have their own models, checked in
    # test_sweep_spec.py and test_plan.py.
    scenarios = [p for p in scenarios if not p.name.startswith("sweep") and "plans" not in p.parts]
    for path in scenarios:
        # Round-trip through JSON as an editor would see the file (dates become text).
        document = json.loads(json.dumps(yaml.safe_load(path.read_text()), default=str))
        errors = [error.message for error in validator.iter_errors(document)]
        assert errors == [], f"{path.name}: {errors}"


def test_the_schema_is_as_strict_as_the_models_about_keys_and_enums() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    validator = jsonschema.Draft202012Validator(json_schema())
    document = yaml.safe_load((PROJECT / "scenarios" / "tiny.yaml").read_text())
    document["fleet"]["robots"][0]["spead_kph"] = 5
    document["dispatch"]["policy"] = "fastest"
    messages = " ".join(error.message for error in validator.iter_errors(document))
    assert "spead_kph" in messages and "fastest" in messages


def test_write_docs_then_check(tmp_path: Path) -> None:
    assert set(stale_docs(tmp_path)) == {REFERENCE_PATH, SCHEMA_PATH}
    written = write_docs(tmp_path)
    assert written == [tmp_path / REFERENCE_PATH, tmp_path / SCHEMA_PATH]
    assert main(["--check", str(tmp_path)]) == 0
    (tmp_path / SCHEMA_PATH).write_text("{}\n")
    assert main(["--check", str(tmp_path)]) == 1
    assert main([str(tmp_path)]) == 0
    assert stale_docs(tmp_path) == []
