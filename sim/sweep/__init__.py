"""Parameter sweeps: a sweep file expands into runs executed in this process, a local process pool
or a Dask cluster; resumable, reproducible from the sweep's seed whatever the number of workers.

Imports the scenario, model and output layers; only the CLI imports it.
"""

from __future__ import annotations

from carreta.sim.sweep.load import load_sweep
from carreta.sim.sweep.runner import run_sweep

__all__ = ["load_sweep", "run_sweep"]
