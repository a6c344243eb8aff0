"""Energy arithmetic of a robot: plain functions, testable without SimPy."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class BatterySpec:
    """What a robot type's battery can do.

    Attributes
    ----------
    capacity_wh
        Usable energy when full, Wh.
    consumption_wh_per_km
        Energy used per km driven, Wh/km.
    reserve_wh
        Energy never planned for use, Wh.
    recharge_below_wh
        A robot back at its hub charges when its level is below this, Wh.
    top_up_below_wh
        A robot idle at its hub tops up on a free charger when its level is below this, Wh
        (0: never).
    """

    capacity_wh: float
    consumption_wh_per_km: float
    reserve_wh: float
    recharge_below_wh: float
    top_up_below_wh: float = 0.0


def drive_energy_wh(length_m: float, consumption_wh_per_km: float) -> float:
    """Energy to drive ``length_m`` metres, in Wh."""
    return length_m / 1000.0 * consumption_wh_per_km


def can_afford(level_wh: float, need_wh: float, spec: BatterySpec) -> bool:
    """Whether a robot at ``level_wh`` can spend ``need_wh`` and keep its reserve."""
    return level_wh - need_wh >= spec.reserve_wh - 1e-9


def charge_time_s(level_wh: float, spec: BatterySpec, power_w: float) -> float:
    """Seconds to charge from ``level_wh`` to full at ``power_w`` watts (constant power)."""
    missing = max(spec.capacity_wh - level_wh, 0.0)
    return missing / power_w * 3600.0


def grid_energy_wh(charged_wh: float, efficiency: float) -> float:
    """Energy drawn from the grid to store ``charged_wh`` in the battery."""
    return charged_wh / efficiency
