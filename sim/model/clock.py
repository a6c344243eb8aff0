"""Simulated clocks: land a SimPy environment on an absolute time, not one float step before it.

A process that waits ``at_s - env.now`` seconds can wake one unit in the last place *before*
``at_s`` (``now + (at - now) != at`` in floating point); an order released then would exist
before its own creation time. :func:`delay_until` gives the delay that lands on ``at_s`` or, where
no float sum can, on the first time after it.
"""

from __future__ import annotations

import math

__all__ = ["delay_until"]


def delay_until(now_s: float, at_s: float) -> float:
    """The delay that brings a SimPy clock from ``now_s`` to ``at_s`` or, where floating point
    cannot land on it exactly, to the nearest time after it (never before)."""
    delay = at_s - now_s
    while now_s + delay < at_s:
        delay = math.nextafter(delay, math.inf)
    return delay
