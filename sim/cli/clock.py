"""When the command started: imported first by the ``carreta`` entry point, so the wall time a
command reports is the whole command's (imports, network loading, simulation and writing)."""

from __future__ import annotations

import time

__all__ = ["COMMAND_STARTED"]

#: ``time.perf_counter()`` when the command line was imported.
COMMAND_STARTED = time.perf_counter()
