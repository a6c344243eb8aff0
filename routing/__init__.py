"""carreta's street-network layer: load OSM networks, apply movement profiles, snap and route.

Pure graph code (networkx, OSMnx, numpy, scipy); it never imports :mod:`sim`.
"""

from __future__ import annotations

from routing.errors import (
    CarretaError,
    NetworkError,
    NoRouteError,
    SnapError,
    UnknownNodeError,
)
from routing.network import load_graph
from routing.profile import NetworkReport, apply_profile, graph_report
from routing.snap import Snapper, SnapResult

# Router exports (routing.router: Router, Route) are added here by the router's author.

__all__ = [
    "CarretaError",
    "NetworkError",
    "NetworkReport",
    "NoRouteError",
    "SnapError",
    "SnapResult",
    "Snapper",
    "UnknownNodeError",
    "apply_profile",
    "graph_report",
    "load_graph",
]
