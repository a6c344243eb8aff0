"""Dispatch policies, by the name a scenario gives in ``dispatch.policy``.

A policy is a class built with the scenario's ``dispatch`` settings, with an ``event_driven``
class attribute and one method, ``assign(dispatcher)`` (the
:class:`~carreta.sim.model.dispatch.DispatchPolicy` protocol). A new policy is one new module
here plus one line in :data:`POLICIES` (and its name in the scenario's ``dispatch.policy``
choices, :data:`carreta.sim.scenario.sections.DispatchPolicyName`; a test keeps the two equal).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import get_args

from carreta.sim.model.dispatch import DispatchPolicy
from carreta.sim.model.policies.batch import Batch
from carreta.sim.model.policies.nearest_idle import NearestIdle
from carreta.sim.model.policies.tours import Tours
from carreta.sim.scenario.models import Dispatch
from carreta.sim.scenario.sections import DispatchPolicyName

__all__ = ["POLICIES", "Batch", "NearestIdle", "Tours", "make_policy"]

POLICIES: Mapping[str, Callable[[Dispatch], DispatchPolicy]] = MappingProxyType(
    {
        "nearest_idle": NearestIdle,
        "batch": Batch,
        "tours": Tours,
    }
)
"""Policy name (``dispatch.policy``) -> the class that implements it."""

if set(POLICIES) != set(get_args(DispatchPolicyName)):  # pragma: no cover - a developer's slip
    raise ImportError(
        f"dispatch policies {sorted(POLICIES)} differ from the scenario's choices "
        f"{sorted(get_args(DispatchPolicyName))}"
    )


def make_policy(settings: Dispatch) -> DispatchPolicy:
    """The policy the scenario's ``dispatch`` section names.

    Raises
    ------
    KeyError
        If no policy has that name (the scenario model accepts only registered names).
    """
    return POLICIES[settings.policy](settings)
