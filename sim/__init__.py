"""carreta's simulation layer: scenarios, the SimPy model, results and the command line.

``sim`` imports :mod:`routing`; ``routing`` never imports ``sim``.
"""
