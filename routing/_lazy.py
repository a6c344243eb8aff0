"""Public names imported on first use (PEP 562), for the package facades ``carreta`` and
:mod:`carreta.routing`: importing them stays fast (no OSMnx, SimPy or numba until needed)."""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from importlib import import_module
from typing import Any


def lazy_exports(
    package: str, exports: dict[str, str], namespace: MutableMapping[str, Any]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """A module's ``__getattr__`` and ``__dir__``: ``exports`` maps each public name to the
    module defining it; a name is imported on first use and then kept in ``namespace`` (the
    package's ``globals()``), so later reads do not come back here."""

    def get(name: str) -> Any:
        try:
            module = exports[name]
        except KeyError:
            raise AttributeError(f"module {package!r} has no attribute {name!r}") from None
        value = getattr(import_module(module), name)
        namespace[name] = value
        return value

    def names() -> list[str]:
        return sorted({*namespace, *exports})

    return get, names
