"""The model of one day: the world builder and the SimPy actors.

:func:`simulate` builds the world (:mod:`~carreta.sim.model.world`: street graph, routers, hubs),
then one :class:`simpy.Environment` with its actors — the order source, the dispatcher and its
policy (:mod:`~carreta.sim.model.policies`), robots and vans, chargers, operators, breakdowns and
street rules — runs it and checks the invariants. Travel, energy and demand arithmetic are plain
functions testable without SimPy. Imports :mod:`carreta.sim.scenario` and :mod:`carreta.routing`.
"""

from __future__ import annotations

from carreta.sim.model.engine import InvariantError, SimulationResult, simulate

__all__ = ["InvariantError", "SimulationResult", "simulate"]
