"""Overrides: change fields of a parsed scenario by dotted path, e.g. for sweeps and the CLI.

A path names keys separated by dots, with list indices in brackets:
``fleet.robots[0].count``, ``demand.destinations.radius_m``, ``hubs[1].chargers``.
"""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Mapping
from typing import Any

import yaml

from carreta.sim.errors import ScenarioError
from carreta.sim.scenario.types import format_field_path

__all__ = ["apply_overrides", "parse_field_path", "parse_override"]

_PATH = re.compile(r"^[A-Za-z_]\w*(\[\d+\])*(\.[A-Za-z_]\w*(\[\d+\])*)*$")
_TOKEN = re.compile(r"([A-Za-z_]\w*)|\[(\d+)\]")


def parse_field_path(
    path: str, *, source: str | os.PathLike[str] = "<overrides>"
) -> tuple[str | int, ...]:
    """Split ``"fleet.robots[0].count"`` into ``("fleet", "robots", 0, "count")``.

    Raises
    ------
    ScenarioError
        If ``path`` is not a dotted path of names with optional ``[index]`` suffixes.
    """
    if not isinstance(path, str) or not _PATH.match(path):
        raise ScenarioError(
            source,
            str(path),
            "is not a field path: write names separated by dots, with list indices in "
            "brackets, e.g. fleet.robots[0].count",
        )
    return tuple(name if name else int(index) for name, index in _TOKEN.findall(path))


def _step(container: Any, part: str | int, *, create: bool) -> Any:
    """Return ``container[part]``, creating an empty section for a missing key if asked."""
    if isinstance(part, int):
        if not isinstance(container, list):
            raise LookupError("{where} is " + _kind(container) + ", not a list")
        if part >= len(container):
            raise LookupError(
                f"{{where}} has {len(container)} item(s), so index {part} is out of range"
            )
        return container[part]
    if not isinstance(container, dict):
        raise LookupError("{where} is " + _kind(container) + ", not a section")
    if create and container.get(part) is None:
        container[part] = {}
    return container.get(part)


def _kind(value: object) -> str:
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "empty"
    return f"a single value ({value!r:.30})"


def _override_error(
    source: str | os.PathLike[str],
    path: str,
    above: tuple[str | int, ...],
    error: LookupError,
) -> ScenarioError:
    where = format_field_path(above) or "the top level"
    return ScenarioError(
        source, path, "cannot override: " + error.args[0].replace("{where}", where)
    )


def apply_overrides(
    data: Mapping[str, Any],
    overrides: Mapping[str, object],
    *,
    source: str | os.PathLike[str] = "<overrides>",
) -> dict[str, Any]:
    """Return a copy of a parsed scenario document with some fields replaced.

    Parameters
    ----------
    data
        The parsed scenario (a mapping, as read from YAML); it is not modified.
    overrides
        Dotted paths with list indices mapped to new values, applied in order, e.g.
        ``{"fleet.robots[0].count": 10, "dispatch.policy": "batch"}``. Missing sections on the
        way are created (``dispatch.policy`` works even without a ``dispatch`` section); list
        items must already exist.
    source
        Name of the scenario file, used in error messages.

    Returns
    -------
    dict
        A deep copy of ``data`` with the values replaced; validate it with
        :func:`carreta.sim.scenario.models.validate_scenario`.

    Raises
    ------
    ScenarioError
        If a path is malformed, indexes past the end of a list or goes through a value that is
        not a section or list. The message names the path.
    """
    if not isinstance(data, Mapping):
        raise ScenarioError(source, None, "overrides need a scenario that is a mapping")
    result: dict[str, Any] = copy.deepcopy(dict(data))
    for path, value in overrides.items():
        parts = parse_field_path(path, source=source)
        container: Any = result
        for depth, part in enumerate(parts[:-1]):
            try:
                container = _step(container, part, create=isinstance(parts[depth + 1], str))
            except LookupError as error:
                raise _override_error(source, path, parts[:depth], error) from None
        last = parts[-1]
        try:
            _step(container, last, create=False)
        except LookupError as error:
            raise _override_error(source, path, parts[:-1], error) from None
        container[last] = copy.deepcopy(value)
    return result


def parse_override(text: str) -> tuple[str, object]:
    """Parse a command-line override ``"field.path=value"``; the value is read as YAML.

    ``"fleet.robots[0].count=10"`` gives ``("fleet.robots[0].count", 10)`` and
    ``"dispatch.policy=batch"`` gives ``("dispatch.policy", "batch")``.

    Raises
    ------
    ScenarioError
        If there is no ``=``, the path is malformed or the value is not valid YAML.
    """
    path, equals, value_text = text.partition("=")
    path = path.strip()
    if not equals:
        raise ScenarioError("<overrides>", None, f"{text!r} must look like field.path=value")
    parse_field_path(path)
    try:
        value = yaml.safe_load(value_text)
    except yaml.YAMLError as error:
        problem = " ".join(str(error).split())
        raise ScenarioError("<overrides>", path, f"invalid YAML value: {problem}") from None
    return path, value
