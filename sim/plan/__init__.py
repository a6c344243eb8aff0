"""Planning: search a scenario's decision variables for the cheapest configuration meeting a
target — fleet size, chargers, supervision ratio by bisection with common random numbers and a
sequential rule on replicates; hub sites by p-median on the router's travel times — with every
simulation run through the sweep machinery (resumable, any executor).

Imports the sweep layer and those below; only the CLI imports it.
"""

from __future__ import annotations

from carreta.sim.plan.load import load_plan
from carreta.sim.plan.spec import PlanError

__all__ = ["PlanError", "load_plan"]
