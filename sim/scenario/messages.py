"""Turn pydantic validation errors into plain scenario messages.

Pydantic says ``Input should be greater than 0`` at location ``('fleet', 'robots', 0,
'speed_kph')``; a scenario author wants ``fleet.robots[0].speed_kph: must be greater than 0``.
This module does that translation, suggests the closest field name for unknown keys and places
the cross-field problems raised by model validators (:class:`CrossFieldError`) at their own fields.
"""

from __future__ import annotations

import difflib
import re
import types
from collections.abc import Iterator, Mapping, Sequence
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from carreta.sim.errors import ScenarioIssue
from carreta.sim.scenario.types import CrossFieldError, FieldLocation, format_field_path

__all__ = ["issues_from_validation_error", "mark_override_issues"]

_TYPE_PHRASES: dict[str, str] = {
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "string_type": "must be text",
    "list_type": "must be a list",
    "tuple_type": "must be a list",
    "model_type": "must be a section of 'key: value' lines",
    "model_attributes_type": "must be a section of 'key: value' lines",
    "dict_type": "must be a section of 'key: value' lines",
}

_BOUND_PHRASES: dict[str, tuple[str, str]] = {
    "greater_than": ("gt", "must be greater than"),
    "greater_than_equal": ("ge", "must be at least"),
    "less_than": ("lt", "must be less than"),
    "less_than_equal": ("le", "must be at most"),
}


def _describe(value: object) -> str:
    """Name a YAML value for a message: ``the text 'fast'``, ``a list``, ``empty``."""
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"the text {shown!r}"
    if isinstance(value, int | float):
        return f"the number {value!r}"
    if isinstance(value, Mapping):
        return "a section"
    if isinstance(value, list | tuple):
        return "a list"
    return f"a {type(value).__name__}"


def _number(value: object) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _unwrap(annotation: Any) -> Any:
    """Strip ``Annotated`` and ``None`` from an annotation: ``Annotated[X, ...] | None`` → X."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin is Union or origin is types.UnionType:
            members = [arg for arg in get_args(annotation) if arg is not type(None)]
            if len(members) != 1:
                return annotation
            annotation = members[0]
        else:
            return annotation


def _model_at(model: type[BaseModel], location: Sequence[str | int]) -> type[BaseModel] | None:
    """Return the model class found at ``location`` under ``model``, or None."""
    current: Any = model
    for part in location:
        current = _unwrap(current)
        if isinstance(part, int):
            if get_origin(current) not in (list, tuple) or not get_args(current):
                return None
            current = get_args(current)[0]
        elif isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(part)
            if field is None:
                return None
            current = field.annotation
        else:
            return None
    current = _unwrap(current)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _all_fields(model: type[BaseModel], prefix: FieldLocation = ()) -> Iterator[tuple[str, str]]:
    """Yield ``(section path, field name)`` for every field of every nested model."""
    for name, field in model.model_fields.items():
        yield format_field_path(prefix) or "the top level", name
        inner = _unwrap(field.annotation)
        location: FieldLocation = (*prefix, name)
        if get_origin(inner) is list:
            inner = _unwrap(get_args(inner)[0])
            location = (*location, 0)
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            yield from _all_fields(inner, location)


def _unknown_field(model: type[BaseModel], location: FieldLocation) -> str:
    key = str(location[-1])
    section = _model_at(model, location[:-1])
    names = list(section.model_fields) if section is not None else []
    close = difflib.get_close_matches(key, names, n=1, cutoff=0.6)
    if close:
        return f"unknown field {key!r} (did you mean {close[0]!r}?)"
    elsewhere = {name: path for path, name in _all_fields(model) if name not in names}
    close = difflib.get_close_matches(key, list(elsewhere), n=1, cutoff=0.75)
    if close:
        where = elsewhere[close[0]].replace("[0]", "[i]")
        return f"unknown field {key!r} (did you mean {close[0]!r} in {where}?)"
    if names:
        return f"unknown field {key!r} (expected one of: {', '.join(names)})"
    return f"unknown field {key!r}"


def _literal_problem(error: ErrorDetails) -> str:
    expected = str(error.get("ctx", {}).get("expected", ""))
    choices = re.findall(r"'([^']*)'", expected)
    problem = f"must be one of {expected}, not {_describe(error['input'])}"
    given = error["input"]
    if isinstance(given, str):
        close = difflib.get_close_matches(given, choices, n=1, cutoff=0.6)
        if close:
            problem += f" (did you mean {close[0]!r}?)"
    return problem


def _length_problem(error: ErrorDetails) -> str:
    ctx = error.get("ctx", {})
    if error["type"] == "string_too_short":
        return "must not be empty"
    if error["type"] == "too_short":
        count = ctx.get("min_length")
        if count == 1:
            return "must have at least one item"
        return f"must have at least {count} items, not {ctx.get('actual_length')}"
    return f"must have at most {ctx.get('max_length')} items, not {ctx.get('actual_length')}"


def _problem(error: ErrorDetails) -> str:
    kind = error["type"]
    ctx = error.get("ctx", {})
    if kind == "missing":
        return "required field is missing"
    if kind in _TYPE_PHRASES:
        problem = f"{_TYPE_PHRASES[kind]}, not {_describe(error['input'])}"
        if kind == "string_type" and isinstance(error["input"], int | float):
            problem += " (put it in quotes)"
        return problem
    if kind in _BOUND_PHRASES:
        key, phrase = _BOUND_PHRASES[kind]
        return f"{phrase} {_number(ctx.get(key))}"
    if kind == "finite_number":
        return "must be a finite number"
    if kind == "literal_error":
        return _literal_problem(error)
    if kind in ("too_short", "too_long", "string_too_short", "string_too_long"):
        return _length_problem(error)
    if kind == "recursion_loop":
        return "refers to itself (a YAML alias inside its own anchor)"
    if kind in ("value_error", "assertion_error") and "error" in ctx:
        return str(ctx["error"])
    message = error["msg"]
    message = re.sub(r"^(Value error|Assertion failed), ", "", message)
    message = re.sub(r"^Input should be", "must be", message)
    return message[:1].lower() + message[1:]


def issues_from_validation_error(
    error: ValidationError, *, model: type[BaseModel]
) -> list[ScenarioIssue]:
    """Translate every error of a pydantic ``ValidationError`` into a :class:`ScenarioIssue`.

    Parameters
    ----------
    error
        Raised by ``model.model_validate``.
    model
        The root model that was validated (used to suggest field names).

    Returns
    -------
    list of ScenarioIssue
        In pydantic's order, which follows the order of the fields in the models.
    """
    issues: list[ScenarioIssue] = []
    for details in error.errors(include_url=False):
        location: FieldLocation = tuple(details["loc"])
        cause = details.get("ctx", {}).get("error")
        if details["type"] == "value_error" and isinstance(cause, CrossFieldError):
            for relative, message in cause.problems:
                full = (*location, *relative)
                issues.append(ScenarioIssue(format_field_path(full) or None, message))
            continue
        if details["type"] == "extra_forbidden":
            problem = _unknown_field(model, location)
            location = location[:-1]
        elif details["type"] == "invalid_key":
            problem = f"the key {location[-1]!r} must be text (put it in quotes)"
            location = location[:-1]
        else:
            problem = _problem(details)
        issues.append(ScenarioIssue(format_field_path(location) or None, problem))
    return issues


def _parent_path(key: str) -> str:
    return key.rsplit(".", 1)[0] if "." in key else ""


def _last_key(key: str) -> str:
    return re.sub(r"\[\d+\]$", "", key.rsplit(".", 1)[-1])


def mark_override_issues(
    issues: Sequence[ScenarioIssue], overrides: Mapping[str, object]
) -> list[ScenarioIssue]:
    """Add ``(set by override)`` to issues at, inside or just above an overridden field."""
    marked: list[ScenarioIssue] = []
    for issue in issues:
        field = issue.field or ""
        touched = any(
            field == key
            or field.startswith((key + ".", key + "["))
            or (_parent_path(key) == field and repr(_last_key(key)) in issue.problem)
            for key in overrides
        )
        if touched:
            issue = ScenarioIssue(issue.field, f"{issue.problem} (set by override)")
        marked.append(issue)
    return marked
