"""The small family of exceptions raised by :mod:`routing`.

Every error a user can cause derives from :class:`CarretaError`, so a command-line front end can
turn any of them into a one-line message and exit code 2 without catching programming errors.
"""

from __future__ import annotations


class CarretaError(Exception):
    """Base class of every error caused by user input (files, places, points, scenario values)."""


class NetworkError(CarretaError, ValueError):
    """A street network cannot be loaded, downloaded or built (bad file, empty graph, offline)."""


class SnapError(NetworkError):
    """A point lies farther from the street network than the allowed snapping distance."""


class UnknownNodeError(CarretaError, LookupError):
    """A node id passed to the router is not a node of its graph."""

    def __str__(self) -> str:  # LookupError would quote the message like a dict key
        return str(self.args[0]) if self.args else "unknown node"


class NoRouteError(CarretaError, LookupError):
    """No path joins the origin to the destination in the routed graph."""

    def __init__(self, origin: object, destination: object) -> None:
        super().__init__(origin, destination)
        self.origin = origin
        self.destination = destination

    def __str__(self) -> str:
        return f"no route from node {self.origin} to node {self.destination}"
