"""carreta's street-network layer: load OSM networks, apply movement profiles, snap and route.

:func:`load_graph` returns the OSMnx ``networkx.MultiDiGraph`` analysts know (``length`` in
metres, ``travel_time`` in seconds, ``speed_kph``); :class:`Router` compiles it once into arrays
(CSR, contraction hierarchies with numba) for many fast, exact queries, checked against networkx
in the tests. Pure graph code (networkx, OSMnx, numpy, scipy): it never imports
:mod:`carreta.sim` or SimPy.

Names are imported on first use (PEP 562): importing a light submodule such as
:mod:`carreta.routing.errors` or :mod:`carreta.routing.files` does not load OSMnx, so the command
line starts fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from carreta.routing._lazy import lazy_exports

#: Public name -> the submodule that defines it.
_EXPORTS = {
    "CarretaError": "carreta.routing.errors",
    "NetworkError": "carreta.routing.errors",
    "NoRouteError": "carreta.routing.errors",
    "SnapError": "carreta.routing.errors",
    "UnknownNodeError": "carreta.routing.errors",
    "load_graph": "carreta.routing.network",
    "NetworkReport": "carreta.routing.profile",
    "apply_profile": "carreta.routing.profile",
    "graph_report": "carreta.routing.profile",
    "Route": "carreta.routing.router",
    "Router": "carreta.routing.router",
    "Snapper": "carreta.routing.snap",
    "SnapResult": "carreta.routing.snap",
}

__all__ = [
    "CarretaError",
    "NetworkError",
    "NetworkReport",
    "NoRouteError",
    "Route",
    "Router",
    "SnapError",
    "SnapResult",
    "Snapper",
    "UnknownNodeError",
    "apply_profile",
    "graph_report",
    "load_graph",
]

if TYPE_CHECKING:
    from carreta.routing.errors import (
        CarretaError,
        NetworkError,
        NoRouteError,
        SnapError,
        UnknownNodeError,
    )
    from carreta.routing.network import load_graph
    from carreta.routing.profile import NetworkReport, apply_profile, graph_report
    from carreta.routing.router import Route, Router
    from carreta.routing.snap import Snapper, SnapResult


__getattr__, __dir__ = lazy_exports("carreta.routing", _EXPORTS, globals())
