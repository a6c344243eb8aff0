"""Generate the scenario reference (Markdown) and JSON schema from the scenario models.

The models in :mod:`carreta.sim.scenario.models` are the only source of defaults and descriptions;
this module renders them into ``docs/scenario-reference.md`` and ``docs/scenario.schema.json``. A
test fails
when the committed files differ from freshly generated ones. Regenerate them with::

    python -m carreta.sim.scenario.docs          # writes docs/ in the project root
    python -m carreta.sim.scenario.docs --check  # exit status 1 if they are stale
"""

from __future__ import annotations

import datetime as dt
import inspect
import json
import types
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from carreta.sim.generated_docs import GeneratedFiles
from carreta.sim.scenario.models import Scenario
from carreta.sim.scenario.types import format_field_path

__all__ = [
    "REFERENCE_PATH",
    "REGENERATE_COMMAND",
    "SCHEMA_PATH",
    "json_schema",
    "main",
    "render_reference",
    "render_schema",
    "stale_docs",
    "write_docs",
]

REFERENCE_PATH = Path("docs/scenario-reference.md")
SCHEMA_PATH = Path("docs/scenario.schema.json")
REGENERATE_COMMAND = "python -m carreta.sim.scenario.docs"

_INTRO = f"""\
# Scenario file reference

<!-- Generated from the models in sim/scenario*.py by `{REGENERATE_COMMAND}`. Do not edit. -->

A scenario is a YAML file describing one simulated day: the street network, the hubs, the robot
fleet, the demand, the dispatch policy, the simulated day itself, energy factors and outputs.
It is read with `yaml.safe_load` and checked against the models in `sim/scenario.py`
(`carreta.sim.scenario.models.load_scenario`). Examples: `scenarios/montpellier_centre.yaml`,
`scenarios/tiny.yaml`. A JSON schema for editors is in `docs/scenario.schema.json`; add
`# yaml-language-server: $schema=../docs/scenario.schema.json` at the top of a file under
`scenarios/` to get completion and checks in editors that support it.

- Unknown keys are errors; every key with a default may be left out.
- Relative paths are relative to the folder of the scenario file.
- Units are part of the names: `_m` metres, `_km` kilometres, `_s` seconds, `_min` minutes,
  `_h` hours, `_kph` km/h, `_kg` kilograms, `_w` watts, `_wh` watt-hours, `_fraction` 0 to 1.
  Coordinates are WGS 84 degrees (`lon` east, `lat` north).
- Write times of day in quotes (`start: "07:00"`): YAML reads an unquoted `7:00` as a number.
- A problem is reported as one line, `<file>: <field>: <problem>`, e.g.
  `scenarios/x.yaml: fleet.robots[0].speed_kph: must be greater than 0`.
- Overrides change fields by dotted path with list indices, e.g.
  `{{"fleet.robots[0].count": 10, "dispatch.policy": "batch"}}`
  (`load_scenario(path, overrides=...)`, `carreta.sim.scenario.models.apply_overrides`).
"""


def _unwrap(annotation: Any) -> tuple[Any, list[Any], bool]:
    """Strip ``Annotated`` and ``None``; return (bare type, collected metadata, nullable)."""
    metadata: list[Any] = []
    nullable = False
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation, *extra = get_args(annotation)
            metadata.extend(extra)
        elif origin is Union or origin is types.UnionType:
            members = [arg for arg in get_args(annotation) if arg is not type(None)]
            nullable = nullable or len(members) < len(get_args(annotation))
            if len(members) != 1:
                return annotation, metadata, nullable
            annotation = members[0]
        else:
            return annotation, metadata, nullable


def _flatten(metadata: Sequence[Any]) -> Iterator[Any]:
    for item in metadata:
        if isinstance(item, FieldInfo):
            yield from _flatten(item.metadata)
        else:
            yield item


def _number(value: object) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _length_texts(metadata: Sequence[Any], unit: str) -> list[str]:
    lengths = {
        type(item): item
        for item in _flatten(metadata)
        if isinstance(item, annotated_types.MinLen | annotated_types.MaxLen)
    }
    shortest = lengths.get(annotated_types.MinLen)
    longest = lengths.get(annotated_types.MaxLen)
    low = shortest.min_length if isinstance(shortest, annotated_types.MinLen) else None
    high = longest.max_length if isinstance(longest, annotated_types.MaxLen) else None
    if low is not None and low == high:
        return [f"exactly {low}{unit}"]
    texts = [] if low is None else ["not empty" if low == 1 else f"at least {low}{unit}"]
    return texts + ([] if high is None else [f"at most {high}{unit}"])


def _constraint_texts(metadata: Sequence[Any], *, unit: str = "") -> list[str]:
    texts: list[str] = []
    for item in _flatten(metadata):
        if isinstance(item, annotated_types.Gt):
            texts.append(f"> {_number(item.gt)}")
        elif isinstance(item, annotated_types.Ge):
            texts.append(f"≥ {_number(item.ge)}")
        elif isinstance(item, annotated_types.Lt):
            texts.append(f"< {_number(item.lt)}")
        elif isinstance(item, annotated_types.Le):
            texts.append(f"≤ {_number(item.le)}")
    return texts + _length_texts(metadata, unit)


def _type_text(annotation: Any) -> str:
    bare, _, nullable = _unwrap(annotation)
    text = _bare_type_text(bare)
    return f"{text} or null" if nullable else text


def _bare_type_text(bare: Any) -> str:
    origin = get_origin(bare)
    if origin is Literal:
        return "one of " + ", ".join(f"`{choice}`" for choice in get_args(bare))
    if origin is list:
        item = _bare_type_text(_unwrap(get_args(bare)[0])[0])
        return "list of sections" if item == "section" else f"list of {item}"
    if origin is tuple:
        items = get_args(bare)
        if len(items) == 4:
            return "[west, south, east, north] (numbers)"
        return f"list of {len(items)} numbers"
    if isinstance(bare, type) and issubclass(bare, BaseModel):
        return "section"
    names = {
        bool: "boolean",
        int: "integer",
        float: "number",
        str: "text",
        dt.date: "date `YYYY-MM-DD`",
        dt.time: 'time `"HH:MM"`',
    }
    if isinstance(bare, type) and issubclass(bare, Path):
        return "path"
    return names.get(bare, str(bare))


def _inline(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.time):
        return f'"{value.strftime("%H:%M")}"'
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_inline(item) for item in value) + "]"
    if isinstance(value, str | Path):
        return f'"{value}"' if str(value) else '""'
    return _number(value)


def _default_text(field: FieldInfo) -> str:
    if field.is_required():
        return "**required**"
    value = field.get_default(call_default_factory=True)
    if isinstance(value, BaseModel):
        return "see below"
    return f"`{_inline(value)}`"


def _constraints(field: FieldInfo) -> str:
    bare, inner_metadata, _ = _unwrap(field.annotation)
    texts = _constraint_texts([*inner_metadata, *field.metadata], unit=_length_unit(bare))
    if get_origin(bare) is list:
        item_metadata = _unwrap(get_args(bare)[0])[1]
        texts += [f"each {text}" for text in _constraint_texts(item_metadata)]
    extra = field.json_schema_extra
    if isinstance(extra, dict) and "pattern" in extra:
        texts.append(f"matches `{extra['pattern']}`")
    if get_origin(bare) is tuple:
        texts.append("lon in [-180, 180], lat in [-90, 90], west < east, south < north")
    return "; ".join(texts)


def _length_unit(bare: Any) -> str:
    if bare is str:
        return " characters"
    return " items" if get_origin(bare) in (list, tuple) else ""


def _cell(text: str) -> str:
    return " ".join(text.replace("|", "\\|").split())


def _nested_model(field: FieldInfo) -> tuple[type[BaseModel], bool] | None:
    bare = _unwrap(field.annotation)[0]
    is_list = get_origin(bare) is list
    if is_list:
        bare = _unwrap(get_args(bare)[0])[0]
    if isinstance(bare, type) and issubclass(bare, BaseModel):
        return bare, is_list
    return None


def _render_model(
    model: type[BaseModel], location: tuple[str | int, ...], level: int
) -> Iterator[str]:
    title = format_field_path(location).replace("[0]", "[i]") or "Top level"
    heading = title if not location else f"`{title}`"
    yield f"{'#' * level} {heading}"
    yield ""
    if model.__doc__:
        yield inspect.cleandoc(model.__doc__)
        yield ""
    yield "| Field | Type | Default | Constraints | Description |"
    yield "| --- | --- | --- | --- | --- |"
    for name, field in model.model_fields.items():
        row = [
            f"`{name}`",
            _type_text(field.annotation),
            _default_text(field),
            _constraints(field),
            field.description or "",
        ]
        yield "| " + " | ".join(_cell(text) for text in row) + " |"
    yield ""
    for name, field in model.model_fields.items():
        nested = _nested_model(field)
        if nested is not None:
            child, is_list = nested
            child_location = (*location, name, 0) if is_list else (*location, name)
            yield from _render_model(child, child_location, min(level + 1, 3))


def render_reference() -> str:
    """Return the Markdown scenario reference generated from the models."""
    lines = [_INTRO, *_render_model(Scenario, (), 2)]
    return "\n".join(lines).rstrip() + "\n"


def json_schema() -> dict[str, Any]:
    """Return the JSON schema (draft 2020-12) of a scenario file."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        **Scenario.model_json_schema(),
    }


def render_schema() -> str:
    """Return :func:`json_schema` as the text written to ``docs/scenario.schema.json``."""
    return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"


def _generated() -> dict[Path, str]:
    return {REFERENCE_PATH: render_reference(), SCHEMA_PATH: render_schema()}


_FILES = GeneratedFiles(REGENERATE_COMMAND, __doc__.split("\n")[0], _generated)


def write_docs(root: str | Path) -> list[Path]:
    """Write the generated files under ``root`` (the project root); return their paths."""
    return _FILES.write(root)


def stale_docs(root: str | Path) -> list[Path]:
    """The generated files under ``root`` that are missing or differ from the code."""
    return _FILES.stale(root)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: regenerate the files, or with ``--check`` report whether they are stale."""
    return _FILES.main(argv)


if __name__ == "__main__":
    raise SystemExit(main())
