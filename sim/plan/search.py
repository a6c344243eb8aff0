"""The search: a sequential decision per configuration, bisection over the monotone variable.

Pure logic, no simulation: an ``evaluate(value, replicates)`` callback returns the target KPI's
interval over the first ``replicates`` replicates of a configuration (the runner simulates
them). The same replicate numbers — hence the same seeds — are used at every configuration
(common random numbers), so neighbouring fleet sizes are compared on the same days.

**Sequential rule.** A configuration first gets ``initial`` replicates. After each look, if the
``confidence`` interval of the target KPI lies wholly on the good side of the threshold the
configuration *meets* the target; wholly on the bad side it *fails*; otherwise ``step`` more
replicates are added, up to ``max``. At ``max`` a still-straddling interval is decided by the
estimate, and the decision is marked ``undecided`` (reported, never hidden). Repeated looks at
one interval make its error rate somewhat larger than ``1 - confidence``: the held-out check
(``carreta plan --holdout``) measures the recommendation on fresh seeds.

**Bisection.** With the target monotone in the variable (more robots never hurt the on-time
share), the smallest value meeting it in ``[low, high]`` is found with about ``log2(high - low)``
decisions: ``high`` is decided first (if it fails, no value does), then ``low``, then midpoints.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "Decision",
    "Interval",
    "Verdict",
    "decide",
    "minimal_meeting",
]

Verdict = Literal["meets", "fails", "undecided_meets", "undecided_fails"]


@dataclass(frozen=True)
class Interval:
    """A KPI's estimate and two-sided confidence interval over some replicates."""

    estimate: float
    low: float
    high: float
    replicates: int


@dataclass(frozen=True)
class Decision:
    """How one configuration was decided.

    Attributes
    ----------
    value
        The search variable's value (or an arm's index when there is no search variable).
    verdict
        ``meets``, ``fails``, or ``undecided_meets`` / ``undecided_fails`` when the interval
        still straddled the threshold at the most replicates (decided by the estimate).
    interval
        The target KPI's interval at the last look.
    looks
        How many times the interval was computed (batches of replicates).
    """

    value: int
    verdict: Verdict
    interval: Interval
    looks: int

    @property
    def meets(self) -> bool:
        """True if the configuration is taken to meet the target."""
        return self.verdict in ("meets", "undecided_meets")


Evaluate = Callable[[int, int], Interval]
"""``evaluate(value, replicates)`` → the target KPI's interval over replicates 0..n-1."""


def _side(
    interval: Interval, threshold: float, *, higher_is_better: bool
) -> Literal["good", "bad", "straddles"]:
    low, high = interval.low, interval.high
    if not (math.isfinite(low) and math.isfinite(high)):  # one replicate, or no data
        return "straddles"
    if higher_is_better:
        return "good" if low >= threshold else "bad" if high < threshold else "straddles"
    return "good" if high <= threshold else "bad" if low > threshold else "straddles"


def decide(
    value: int,
    evaluate: Evaluate,
    *,
    threshold: float,
    higher_is_better: bool,
    initial: int,
    step: int,
    most: int,
) -> Decision:
    """Decide whether the configuration ``value`` meets the target (the sequential rule).

    Parameters
    ----------
    value
        The configuration, passed to ``evaluate``.
    evaluate
        Returns the target KPI's interval over the first ``n`` replicates.
    threshold, higher_is_better
        The target: KPI ≥ threshold (``higher_is_better``) or KPI ≤ threshold.
    initial, step, most
        Replicates of the first look, added per look, and at most.
    """
    replicates = min(initial, most)
    looks = 0
    while True:
        interval = evaluate(value, replicates)
        looks += 1
        side = _side(interval, threshold, higher_is_better=higher_is_better)
        if side == "good":
            return Decision(value, "meets", interval, looks)
        if side == "bad":
            return Decision(value, "fails", interval, looks)
        if replicates >= most:
            estimate = interval.estimate
            good = math.isfinite(estimate) and (
                estimate >= threshold if higher_is_better else estimate <= threshold
            )
            return Decision(
                value, "undecided_meets" if good else "undecided_fails", interval, looks
            )
        replicates = min(replicates + step, most)


def minimal_meeting(
    low: int, high: int, decide_value: Callable[[int], Decision]
) -> tuple[int | None, list[Decision]]:
    """The smallest value in ``[low, high]`` that meets the target, by bisection.

    Assumes the target is monotone in the value (once met, met for every larger value).

    Returns
    -------
    tuple
        The value (None if ``high`` fails: nothing in the range meets the target) and the
        decisions made, in order.
    """
    decisions: list[Decision] = []

    def check(value: int) -> bool:
        decision = decide_value(value)
        decisions.append(decision)
        return decision.meets

    if not check(high):
        return None, decisions
    if check(low):
        return low, decisions
    failing, meeting = low, high
    while meeting - failing > 1:
        middle = (failing + meeting) // 2
        if check(middle):
            meeting = middle
        else:
            failing = middle
    return meeting, decisions
