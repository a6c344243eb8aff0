"""carreta's street-network layer: load OSM networks, apply movement profiles, snap and route.

:func:`load_graph` returns the OSMnx ``networkx.MultiDiGraph`` analysts know (``length`` in
metres, ``travel_time`` in seconds, ``speed_kph``); :class:`Router` compiles it once into arrays
(CSR, contraction hierarchies with numba) for many fast, exact queries, checked against networkx
in the tests. Pure graph code (networkx, OSMnx, numpy, scipy): it never imports
:mod:`carreta.sim` or SimPy.
"""

from __future__ import annotations

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
