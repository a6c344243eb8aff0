"""carreta: simulate autonomous urban-logistics robots on the real streets of Montpellier.

The installed import namespace is ``carreta``; its two layers are :mod:`carreta.routing` (street
networks and the :class:`Router`, pure graph code) and :mod:`carreta.sim` (scenarios, the SimPy
model, results, plots, sweeps and the command line). This module is the small facade a notebook
needs::

    import carreta

    scenario = carreta.load_scenario("scenarios/tiny.yaml", overrides={"fleet.robots[0].count": 5})
    result = carreta.simulate(scenario, seed=1)
    run_dir = carreta.write_run(result, "results/tiny-5-robots")
    run = carreta.load_run(run_dir)  # tables (pandas) and KPIs read back from the folder
    run.kpis["on_time_share"], run.orders.head()

Names are imported on first use (PEP 562), so ``import carreta`` and ``carreta --version`` stay
fast; ``dir(carreta)`` and ``__all__`` list them all.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING

from carreta.routing._lazy import lazy_exports

try:
    __version__ = version("carreta")
except PackageNotFoundError:  # the source tree imported without being installed
    __version__ = "0+unknown"

#: Public name -> the module that defines it.
_EXPORTS = {
    "load_scenario": "carreta.sim.scenario",
    "Scenario": "carreta.sim.scenario",
    "simulate": "carreta.sim.model",
    "SimulationResult": "carreta.sim.model",
    "write_run": "carreta.sim.output",
    "load_run": "carreta.sim.output",
    "Run": "carreta.sim.output",
    "Router": "carreta.routing",
    "Route": "carreta.routing",
    "load_graph": "carreta.routing",
    "CarretaError": "carreta.routing",
    "NetworkError": "carreta.routing",
    "NoRouteError": "carreta.routing",
    "SnapError": "carreta.routing",
    "UnknownNodeError": "carreta.routing",
    "ScenarioError": "carreta.sim.errors",
    "RunDirError": "carreta.sim.errors",
    "ResultsExistError": "carreta.sim.errors",
}

__all__ = [
    "CarretaError",
    "NetworkError",
    "NoRouteError",
    "ResultsExistError",
    "Route",
    "Router",
    "Run",
    "RunDirError",
    "Scenario",
    "ScenarioError",
    "SimulationResult",
    "SnapError",
    "UnknownNodeError",
    "__version__",
    "load_graph",
    "load_run",
    "load_scenario",
    "simulate",
    "write_run",
]

if TYPE_CHECKING:
    from carreta.routing import (
        CarretaError,
        NetworkError,
        NoRouteError,
        Route,
        Router,
        SnapError,
        UnknownNodeError,
        load_graph,
    )
    from carreta.sim.errors import ResultsExistError, RunDirError, ScenarioError
    from carreta.sim.model import SimulationResult, simulate
    from carreta.sim.output import Run, load_run, write_run
    from carreta.sim.scenario import Scenario, load_scenario


__getattr__, __dir__ = lazy_exports("carreta", _EXPORTS, globals())
