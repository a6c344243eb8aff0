"""A plan's figures (PNG): the target KPI and the cost per delivery against the search variable,
and the chosen hubs on the street map with their catchments.

Every figure is drawn from ``plan.parquet`` columns (estimates and interval bounds), so it can be
redrawn from the table; maps carry the street network's credit line.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from carreta.routing.files import write_file_atomic
from carreta.sim.output.kpi_definitions import KPI_BY_NAME, kpi_label
from carreta.sim.plan.planner import PlanResult
from carreta.sim.viz.maps import new_map

__all__ = ["plot_cost", "plot_hubs", "plot_target"]

DPI = 150
COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2")


def _save(fig: Figure, path: Path) -> Path:
    return write_file_atomic(path, lambda temporary: fig.savefig(temporary, format="png"))


def _arm_label(table: pd.DataFrame, arm: int, result: PlanResult) -> str:
    label = next(item.arm.label() for item in result.arms if item.arm.index == arm)
    return "search" if label == "base" else label


def _plot_kpi(
    result: PlanResult, kpi: str, path: Path, *, target: float | None, title: str
) -> list[Path]:
    spec = result.plan.spec
    table = result.evaluations
    if spec.search is None or table.empty or kpi not in table:
        return []
    x_path = spec.search.path
    definition = KPI_BY_NAME[kpi]
    scale = 100.0 if definition.is_share else 1.0
    fig = Figure(figsize=(8.0, 5.0), dpi=DPI, layout="constrained")
    ax = fig.subplots()
    for position, (arm, rows) in enumerate(table.groupby("arm", sort=True)):
        rows = rows.sort_values(x_path)
        colour = COLOURS[position % len(COLOURS)]
        x = rows[x_path].to_numpy(float)
        y = rows[kpi].to_numpy(float) * scale
        low = np.nan_to_num(y - rows[f"{kpi}_low"].to_numpy(float) * scale)
        high = np.nan_to_num(rows[f"{kpi}_high"].to_numpy(float) * scale - y)
        label = _arm_label(table, int(str(arm)), result)
        ax.errorbar(
            x, y, yerr=[low, high], fmt="o-", color=colour, capsize=3, label=label, zorder=3
        )
        for xi, yi, n in zip(x, y, rows["replicates"], strict=True):
            ax.annotate(f"{n}", (xi, yi), textcoords="offset points", xytext=(4, -11), fontsize=7,
                        color=colour)  # fmt: skip
        chosen = rows[rows["recommended"]]
        if len(chosen):
            ax.scatter(chosen[x_path], chosen[kpi] * scale, s=220, facecolors="none",
                       edgecolors="black", linewidths=2, zorder=4, label="recommended")  # fmt: skip
    grid = result.grid_check
    if grid is not None and kpi == spec.target.kpi and grid["value"].notna().any():
        ax.errorbar(
            grid["value"].to_numpy(float) + 0.15,
            grid["estimate"].to_numpy(float) * scale,
            yerr=[
                np.nan_to_num((grid["estimate"] - grid["low"]).to_numpy(float) * scale),
                np.nan_to_num((grid["high"] - grid["estimate"]).to_numpy(float) * scale),
            ],
            fmt="s", markersize=3, color="#888888", capsize=2, linewidth=0.8, zorder=2,
            label=f"exhaustive grid ({spec.replicates.max} replicates each)",
        )  # fmt: skip
    if target is not None:
        ax.axhline(target * scale, color="black", linestyle="--", linewidth=1,
                   label=f"target {target * scale:g}{' %' if scale == 100 else ''}")  # fmt: skip
    level = spec.target.confidence
    ax.set_xlabel(x_path)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel(kpi_label(kpi))
    subtitle = f"points: estimate, bars: {100 * level:.0f} % interval, numbers: replicates"
    ax.set_title(f"{title}\n({subtitle})", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return [_save(fig, path)]


def plot_target(result: PlanResult, out_dir: Path) -> list[Path]:
    """The target KPI against the search variable, each evaluated value with its interval."""
    target = result.plan.spec.target
    name = f"{target.kpi}_vs_{_file_part(result)}.png"
    return _plot_kpi(
        result, target.kpi, out_dir / name, target=target.threshold,
        title=f"Plan {result.plan.name}: {target.describe()}",
    )  # fmt: skip


def plot_cost(result: PlanResult, out_dir: Path) -> list[Path]:
    """The cost per delivery against the search variable."""
    name = f"cost_per_delivery_vs_{_file_part(result)}.png"
    return _plot_kpi(
        result, "cost_per_delivery_eur", out_dir / name, target=None,
        title=f"Plan {result.plan.name}: cost per delivery",
    )  # fmt: skip


def _file_part(result: PlanResult) -> str:
    search = result.plan.spec.search
    if search is None:
        return "configuration"
    path = search.path
    if path.startswith("fleet.robots") and path.endswith(".count"):
        return "fleet"
    return "".join(char if char.isalnum() else "_" for char in path).strip("_")


def plot_hubs(result: PlanResult, out_dir: Path) -> list[Path]:
    """The candidate sites, the recommended (or best-ranked) hub set and its catchments."""
    siting = result.siting
    if siting is None:
        return []
    from carreta.sim.model.world import build_world

    plan = result.plan
    chosen_ids = (
        result.recommended.arm.sites
        if result.recommended is not None and result.recommended.arm.sites is not None
        else tuple(siting.ranking["sites"].iloc[0].split("+"))
    )
    candidates = siting.candidates
    indices = tuple(candidates.ids.index(site) for site in chosen_ids)
    demand = siting.demand
    lons = np.concatenate([demand.lons, candidates.lons])
    lats = np.concatenate([demand.lats, candidates.lats])
    pad_lon = max(0.002, 0.08 * float(np.ptp(lons)))
    pad_lat = max(0.0015, 0.08 * float(np.ptp(lats)))
    bounds = (
        float(lons.min()) - pad_lon,
        float(lats.min()) - pad_lat,
        float(lons.max()) + pad_lon,
        float(lats.max()) + pad_lat,
    )
    fig, ax, projection = new_map(bounds, attribution=plan.base_scenario.network.credit())
    world = build_world(plan.base_scenario, label=str(plan.base_file))
    west, south, east, north = bounds
    segments = []
    for u, v in world.graph.edges():
        (x1, y1), (x2, y2) = world.lonlat(u), world.lonlat(v)
        if west <= x1 <= east and south <= y1 <= north:
            segments.append(np.column_stack(projection(np.array([x1, x2]), np.array([y1, y2]))))
    ax.add_collection(LineCollection(segments, colors="#c8c8c8", linewidths=0.4, zorder=1,
                                     rasterized=True))  # fmt: skip
    nearest = siting.catchment(indices)
    x, y = projection(demand.lons, demand.lats)
    sizes = 4 + 10 * demand.weights / demand.weights.max()
    for position, site in enumerate(indices):
        colour = COLOURS[position % len(COLOURS)]
        mask = nearest == position
        ax.scatter(x[mask], y[mask], s=sizes[mask], color=colour, alpha=0.45, linewidths=0,
                   zorder=2, label=f"doors served from {candidates.ids[site]} "
                   f"({demand.weights[mask].sum() / demand.weights.sum():.0%})")  # fmt: skip
    cx, cy = projection(candidates.lons, candidates.lats)
    ax.scatter(cx, cy, marker="^", s=110, facecolors="white", edgecolors="black", zorder=4,
               label="candidate sites")  # fmt: skip
    for position, site in enumerate(indices):
        ax.scatter(cx[site], cy[site], marker="*", s=420, color=COLOURS[position % len(COLOURS)],
                   edgecolors="black", zorder=5)  # fmt: skip
    for index, site_id in enumerate(candidates.ids):
        ax.annotate(site_id, (cx[index], cy[index]), textcoords="offset points", xytext=(7, 7),
                    fontsize=9, zorder=6)  # fmt: skip
    ax.set_title(f"Plan {plan.name}: hubs {' + '.join(chosen_ids)} (stars) and their "
                 "catchments by travel time", fontsize=10)  # fmt: skip
    ax.legend(loc="upper left", fontsize=8)
    return [_save(fig, out_dir / "hubs_map.png")]
