"""Building blocks shared by the scenario models: strict scalar types, paths, times, bounding boxes.

The scenario models (:mod:`carreta.sim.scenario.models`, :mod:`carreta.sim.scenario.fleet`,
:mod:`carreta.sim.scenario.demand`) are assembled from these annotated types so that every section
validates numbers, coordinates, file paths and times of day the same way and reports problems in
the same words.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AllowInfNan,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    Strict,
    ValidationInfo,
    WithJsonSchema,
    model_validator,
)

__all__ = [
    "BBox",
    "CalendarDate",
    "CrossFieldError",
    "FieldLocation",
    "Flag",
    "Latitude",
    "Longitude",
    "Number",
    "ScenarioPath",
    "Section",
    "TimeOfDay",
    "WholeNumber",
    "format_field_path",
    "hours_of_day",
    "raise_problems",
]

FieldLocation = tuple[str | int, ...]
"""A location inside the scenario document: keys and list indices, outermost first."""

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def format_field_path(location: Sequence[str | int]) -> str:
    """Render a location as a dotted path with list indices: ``fleet.robots[0].speed_kph``.

    Keys that are not plain identifiers are shown quoted in brackets (``hubs[0]["my key"]``).
    """
    text = ""
    for part in location:
        if isinstance(part, int):
            text += f"[{part}]"
        elif _IDENTIFIER.match(part):
            text += f".{part}" if text else part
        else:
            text += f"[{part!r}]"
    return text


class CrossFieldError(ValueError):
    """Cross-field problems found by a model validator, each tied to a location in that model.

    Pydantic reports a model validator's ``ValueError`` at the model itself; the message
    translator (:mod:`carreta.sim.scenario.messages`) reads :attr:`problems` from this subclass to
    place each problem at its precise field instead.

    Parameters
    ----------
    problems
        ``(location relative to the model, message)`` pairs; at least one.
    """

    def __init__(self, problems: Sequence[tuple[FieldLocation, str]]) -> None:
        self.problems = tuple(problems)
        super().__init__(
            "; ".join(
                f"{format_field_path(location)}: {message}" if location else message
                for location, message in self.problems
            )
        )


def raise_problems(problems: Sequence[tuple[FieldLocation, str]]) -> None:
    """Raise :class:`CrossFieldError` if ``problems`` is not empty."""
    if problems:
        raise CrossFieldError(problems)


class Section(BaseModel):
    """Base of every scenario model: unknown keys are errors and instances are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _validate_default_sections(cls, data: Any) -> Any:
        """Build omitted sub-sections from ``{}`` so they see the validation context too.

        A section left out of the file would otherwise be built by its default factory without
        the scenario folder, leaving its default paths (``outputs.dir``) relative.
        """
        if not isinstance(data, dict):
            return data
        missing = [
            name
            for name, field in cls.model_fields.items()
            if name not in data
            and isinstance(field.default_factory, type)
            and issubclass(field.default_factory, BaseModel)
        ]
        return {**data, **{name: {} for name in missing}} if missing else data


Number = Annotated[float, Strict(), AllowInfNan(False)]
"""A finite real number; integers are accepted, text and booleans are not."""

WholeNumber = Annotated[int, Strict()]
"""An integer; ``3.0``, ``"3"`` and ``true`` are rejected rather than silently converted."""

Flag = Annotated[bool, Strict()]
"""``true`` or ``false``."""

Longitude = Annotated[Number, Field(ge=-180.0, le=180.0)]
"""Longitude in degrees east (WGS 84, EPSG:4326)."""

Latitude = Annotated[Number, Field(ge=-90.0, le=90.0)]
"""Latitude in degrees north (WGS 84, EPSG:4326)."""


def _four_items(value: Any) -> Any:
    if isinstance(value, list | tuple) and len(value) != 4:
        raise ValueError(
            f"must be a list of 4 numbers [west, south, east, north], not {len(value)} numbers"
        )
    return value


def _ordered_bbox(value: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    west, south, east, north = value
    if west >= east:
        raise ValueError(f"west ({west:g}) must be less than east ({east:g})")
    if south >= north:
        raise ValueError(f"south ({south:g}) must be less than north ({north:g})")
    return value


BBox = Annotated[
    tuple[Longitude, Latitude, Longitude, Latitude],
    BeforeValidator(_four_items),
    AfterValidator(_ordered_bbox),
]
"""A bounding box ``[west, south, east, north]`` in degrees (WGS 84)."""


def _path_text(value: Any) -> Any:
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if not isinstance(value, str):
        raise ValueError("must be a file path written as text")
    if not value.strip():
        raise ValueError("must not be empty")
    if "\x00" in value:
        raise ValueError("must not contain a NUL character")
    return value


def _resolve_against_base(value: Path, info: ValidationInfo) -> Path:
    try:
        value = value.expanduser()
    except RuntimeError as error:  # no home directory to expand "~" against
        raise ValueError(f"cannot expand '~': {error}") from None
    context = info.context
    base_dir = context.get("base_dir") if isinstance(context, dict) else None
    if value.is_absolute() or base_dir is None:
        return value
    return Path(os.path.normpath(Path(base_dir) / value))


ScenarioPath = Annotated[Path, BeforeValidator(_path_text), AfterValidator(_resolve_against_base)]
"""A file or folder path; relative paths are resolved against the scenario file's folder."""


_TIME_OF_DAY = re.compile(r"^\s*(\d{1,2}):(\d{2})(?::(\d{2}))?\s*$")


def _parse_time(value: Any) -> dt.time:
    if isinstance(value, dt.time):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        raise ValueError(
            "must be a time of day in quotes, such as '07:00' "
            "(YAML reads an unquoted 7:00 as the number 420)"
        )
    match = _TIME_OF_DAY.match(value) if isinstance(value, str) else None
    if match is None:
        raise ValueError("must be a time of day written 'HH:MM' or 'HH:MM:SS'")
    hour, minute, second = (int(group) if group else 0 for group in match.groups())
    if hour > 23 or minute > 59 or second > 59:
        raise ValueError(f"{value.strip()!r} is not a time of day (00:00 to 23:59:59)")
    return dt.time(hour, minute, second)


def _format_time(value: dt.time) -> str:
    return value.strftime("%H:%M:%S" if value.second else "%H:%M")


TimeOfDay = Annotated[
    dt.time,
    BeforeValidator(_parse_time),
    PlainSerializer(_format_time, return_type=str, when_used="json"),
    WithJsonSchema(
        {"type": "string", "pattern": r"^\d{1,2}:\d{2}(:\d{2})?$", "examples": ["07:00"]}
    ),
]
"""A local time of day written ``"HH:MM"`` or ``"HH:MM:SS"`` (quote it in YAML)."""


def _parse_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        raise ValueError("must be a date YYYY-MM-DD without a time of day")
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValueError("must be a date written YYYY-MM-DD")


CalendarDate = Annotated[
    dt.date,
    BeforeValidator(_parse_date),
    PlainSerializer(dt.date.isoformat, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date", "examples": ["2026-11-25"]}),
]
"""A calendar date written ``YYYY-MM-DD``."""


def hours_of_day(start: dt.time, duration_h: float) -> tuple[float, float]:
    """Return the simulated window as ``(start_h, end_h)``, hours since midnight of the date."""
    start_h = start.hour + start.minute / 60.0 + start.second / 3600.0
    return start_h, start_h + duration_h
