"""Human labels for scenario field paths, for the axes and columns a planner reads.

A sweep varies fields by their dotted path (``fleet.robots[0].count``); its charts and tables
name them as the scenario says it: ``robots at saint-roch``, ``loading time per parcel at
saint-roch [s]``, ``orders per day``. :func:`parameter_label` builds the label from the field's
name (its unit suffix becomes ``[unit]``, as in the scenario reference) and, for an item of a
list, from what the scenario says of that item (a hub's id, a robot or van group's hub).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from carreta.sim.errors import ScenarioError
from carreta.sim.scenario.overrides import parse_field_path

__all__ = ["parameter_label", "parameter_labels"]

#: Field-name suffixes that are units (``speed_kph`` → ``speed [km/h]``).
UNITS: Final[Mapping[str, str]] = {
    "s": "s", "min": "min", "h": "h", "m": "m", "km": "km", "kph": "km/h", "wh": "Wh",
    "kwh": "kWh", "w": "W", "kg": "kg", "eur": "EUR", "l": "L", "g": "g", "pct": "%",
}  # fmt: skip
#: Sections whose name adds nothing to a field's own (``demand.orders_per_day``: orders per day).
PLAIN_SECTIONS: Final = frozenset(
    {"demand", "simulation", "fleet", "outputs", "network", "operations"}
)
#: Words for a group of the fleet: (list name, its ``count``).
GROUPS: Final[Mapping[str, str]] = {"robots": "robots", "vans": "vans"}


def _words(name: str) -> tuple[str, str]:
    """``"loading_time_per_parcel_s"`` → (``"loading time per parcel"``, ``"s"``)."""
    head, _, tail = name.rpartition("_")
    if head and tail.lower() in UNITS:
        return head.replace("_", " "), UNITS[tail.lower()]
    return name.replace("_", " "), ""


def _item(scenario: Mapping[str, Any] | None, parts: tuple[str | int, ...]) -> Any:
    node: Any = scenario
    for part in parts:
        if isinstance(part, int):
            node = node[part] if isinstance(node, list) and part < len(node) else None
        else:
            node = node.get(part) if isinstance(node, Mapping) else None
        if node is None:
            return None
    return node


def _where(scenario: Mapping[str, Any] | None, parts: tuple[str | int, ...]) -> str:
    """``at <hub>`` for a hub or a fleet group, from the scenario; the index otherwise."""
    item = _item(scenario, parts)
    list_name, index = parts[-2], parts[-1]
    if list_name == "hubs" and isinstance(item, Mapping) and item.get("id"):
        return f"at {item['id']}"
    if list_name in GROUPS:
        hubs = _item(scenario, ("hubs",))
        hub = item.get("hub") if isinstance(item, Mapping) else None
        if hub is None and isinstance(hubs, list) and len(hubs) == 1:
            hub = hubs[0].get("id") if isinstance(hubs[0], Mapping) else None
        if hub:
            return f"at {hub}"
        if isinstance(item, Mapping) and item.get("type"):
            return f"({item['type']})"
        return f"(group {int(index) + 1})"
    if list_name == "hubs":
        return f"at hub {int(index) + 1}"
    return f"#{int(index) + 1}"


def parameter_label(path: str, scenario: Mapping[str, Any] | None = None) -> str:
    """A label for the scenario field ``path`` that a planner reads without the reference.

    Parameters
    ----------
    path
        A dotted field path (``fleet.robots[0].count``, ``hubs[1].chargers``).
    scenario
        The scenario the path applies to, as plain data (a sweep's base scenario): it names the
        hubs and groups of lists. Without it, list items are numbered.

    Returns
    -------
    str
        ``"robots at saint-roch"``, ``"chargers at saint-roch"``, ``"orders per day"``,
        ``"dispatch policy"``, ``"speed of robots at saint-roch [km/h]"``; the path itself if it
        is not a field path.
    """
    try:
        parts = parse_field_path(path)
    except ScenarioError:
        return path
    field = parts[-1]
    if isinstance(field, int):
        return path
    words, unit = _words(field)
    owner = parts[:-1]
    index = max((i for i, part in enumerate(owner) if isinstance(part, int)), default=None)
    if index is not None and index >= 1:
        container = owner[: index + 1]
        where = _where(scenario, container)
        group = owner[index - 1]
        if group in GROUPS and field == "count":
            text = f"{GROUPS[str(group)]} {where}"
        elif group in GROUPS:
            text = f"{words} of {GROUPS[str(group)]} {where}"
        else:
            text = f"{words} {where}"
    else:
        sections = [str(part) for part in owner if str(part) not in PLAIN_SECTIONS]
        text = " ".join([*(s.replace("_", " ") for s in sections), words])
    return f"{text} [{unit}]" if unit else text


def parameter_labels(paths: list[str], scenario: Mapping[str, Any] | None = None) -> dict[str, str]:
    """:func:`parameter_label` of each path; a label shared by two paths gets its path added."""
    labels = {path: parameter_label(path, scenario) for path in paths}
    shown = list(labels.values())
    return {
        path: f"{label} ({path})" if shown.count(label) > 1 else label
        for path, label in labels.items()
    }
