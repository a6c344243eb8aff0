"""KPIs of operating a robot fleet: supervision and breakdowns (see :mod:`.kpi_definitions`)."""

from __future__ import annotations

import pandas as pd

from carreta.sim.scenario.models import Scenario

__all__ = ["operations_kpis"]


def _share(busy: float, available: float) -> float:
    """Share of ``available`` time that was ``busy``; 0 when nothing was available."""
    return float(busy / available) if available else 0.0


def _sum(table: pd.DataFrame, column: str) -> float:
    return float(table[column].sum()) if column in table else 0.0


def operations_kpis(
    orders: pd.DataFrame, robots: pd.DataFrame, scenario: Scenario, *, duration_s: float
) -> dict[str, float | int]:
    """The operations KPIs from the order table and the robots' rows (robots only, no vans)."""
    supervision = scenario.operations.supervision
    operators = supervision.operator_count(len(robots))
    helped_s = _sum(robots, "escorted_s" if supervision.mode == "escort" else "help_s")
    return {
        "operators": operators,
        "interventions": int(_sum(robots, "interventions") + _sum(robots, "takeovers")),
        "takeovers": int(_sum(robots, "takeovers")),
        "operator_utilisation": _share(helped_s, operators * duration_s),
        "waiting_for_help_h": _sum(robots, "waiting_help_s") / 3600.0,
        "breakdowns": int(_sum(robots, "breakdowns")),
        "robot_downtime_h": _sum(robots, "down_s") / 3600.0,
        "parcels_redispatched": int(_sum(orders, "returned")),
    }
