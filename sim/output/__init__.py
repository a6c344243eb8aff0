"""What a run leaves behind: tables, KPIs, costs, the results folder, comparisons.

:func:`write_run` writes a :class:`~carreta.sim.model.SimulationResult` into a new folder,
atomically; :func:`load_run` reads such a folder back into tables and KPIs. Imports the model and
the scenario layers, never the plots, sweeps or the command line.
"""

from __future__ import annotations

from carreta.sim.output.kpis import result_kpis
from carreta.sim.output.results import write_run
from carreta.sim.output.rundir import Run, load_run
from carreta.sim.output.tables import orders_table

__all__ = ["Run", "load_run", "orders_table", "result_kpis", "write_run"]
