"""carreta's simulation layer: scenarios, the SimPy model, results, plots, sweeps, the command line.

Subpackages, in import order (each may import only those above it, and :mod:`carreta.routing`;
``tests/test_architecture.py`` enforces it):

- :mod:`carreta.sim.scenario` — the scenario file: pydantic models, reading, overrides, docs;
- :mod:`carreta.sim.model` — the world builder and the SimPy actors of one day;
- :mod:`carreta.sim.output` — tables, KPIs, costs, the results folder, comparisons;
- :mod:`carreta.sim.viz` and :mod:`carreta.sim.sweep` — plots and replay; parameter sweeps;
- :mod:`carreta.sim.cli` — the ``carreta`` command line.

:mod:`carreta.sim.errors` (the user-error family) sits below them all; atomic file writes are
:mod:`carreta.routing.files`. This module imports nothing, so ``carreta --version`` stays fast.
"""
