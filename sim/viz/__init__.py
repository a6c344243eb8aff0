"""Pictures of a run or a sweep: maps and charts (matplotlib, PNG) and the HTML replay.

Everything here starts from a results folder (:func:`carreta.sim.output.load_run`), so a run can be
drawn long after it was simulated. Imports the output layer; nothing imports this but the CLI.
"""

from __future__ import annotations

from carreta.sim.viz.plots import plot_run, plot_sweep
from carreta.sim.viz.replay import write_replay

__all__ = ["plot_run", "plot_sweep", "write_replay"]
