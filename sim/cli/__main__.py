"""``python -m carreta.sim.cli``: the ``carreta`` command line."""

from carreta.sim.cli import main

main()
