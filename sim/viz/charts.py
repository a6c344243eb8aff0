"""Charts of a run and of a sweep: the day's timeline, lead times, KPI against parameter.

Built with :class:`matplotlib.figure.Figure` directly (no pyplot, no global backend change).
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator, PercentFormatter
from scipy import stats

from carreta.sim.model.robot import RobotState
from carreta.sim.output.kpi_definitions import is_share, kpi_label
from carreta.sim.output.rundir import ROBOT_STATES, Run
from carreta.sim.output.timeline import orders_over_time, robots_over_time

__all__ = [
    "STATE_COLOURS",
    "confidence_table",
    "plot_kpi_sweep",
    "plot_lead_times",
    "plot_timeline",
]

logger = logging.getLogger(__name__)

DPI = 150
#: One colour per robot state, shared by the charts and the HTML replay.
STATE_COLOURS: dict[str, str] = {
    RobotState.IDLE: "#9e9e9e",
    RobotState.LOADING: "#8e44ad",
    RobotState.DRIVING: "#1f77b4",
    RobotState.SERVING: "#2ca02c",
    RobotState.WAITING_HELP: "#d62728",
    RobotState.INTERVENTION: "#f7b6d2",
    RobotState.WAITING_CHARGER: "#ff7f0e",
    RobotState.CHARGING: "#e6b800",
    RobotState.BROKEN: "#000000",
    RobotState.TOWED: "#8c564b",
    RobotState.REPAIR: "#c49c94",
}
STATE_LABELS: dict[str, str] = {
    RobotState.IDLE: "idle at hub",
    RobotState.LOADING: "loading",
    RobotState.DRIVING: "driving",
    RobotState.SERVING: "serving a door",
    RobotState.WAITING_HELP: "stopped, waiting for help",
    RobotState.INTERVENTION: "being helped (operator)",
    RobotState.WAITING_CHARGER: "waiting for a charger",
    RobotState.CHARGING: "charging",
    RobotState.BROKEN: "broken down",
    RobotState.TOWED: "towed",
    RobotState.REPAIR: "in repair",
}


def _clock(seconds: float, _position: object = None) -> str:
    minutes = round(seconds / 60.0)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _clock_axis(ax: Axes, start_s: float, end_s: float) -> None:
    ax.set_xlim(start_s, end_s)
    hours = (end_s - start_s) / 3600.0
    step = 3600.0 if hours <= 14 else 7200.0
    if hours <= 4:
        step = 1800.0
    first = math.ceil(start_s / step) * step
    ax.set_xticks(np.arange(first, end_s + 1, step))
    ax.xaxis.set_major_formatter(FuncFormatter(_clock))


def plot_timeline(run: Run, path: Path, *, step_s: float = 60.0) -> Path:
    """Orders waiting / on board (top) and robots per state (bottom) over the day."""
    grid = np.arange(run.start_s, run.end_s + step_s / 2, step_s)
    orders = orders_over_time(run, grid)
    robots = robots_over_time(run, grid)
    fig = Figure(figsize=(12, 7.5), dpi=DPI, layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=(1, 1))
    top.fill_between(grid, orders["waiting"], step="post", color="#d62728", alpha=0.25)
    top.step(grid, orders["waiting"], where="post", color="#d62728", linewidth=1.8,
             label="waiting for a robot (not yet loaded)")  # fmt: skip
    top.step(grid, orders["on_board"], where="post", color="#1f77b4", linewidth=1.8,
             label="on board a robot")  # fmt: skip
    top.set_ylabel("orders")
    top.yaxis.set_major_locator(MaxNLocator(integer=True))
    top.legend(loc="upper left", fontsize=9)
    top.grid(alpha=0.3)
    top.set_title(f"Orders and robots over the day — {run.title}", fontsize=13)
    shown = [state for state in ROBOT_STATES if state == "idle" or robots[state].any()]
    bottom.stackplot(
        grid,
        [robots[state].to_numpy() for state in shown],
        colors=[STATE_COLOURS[state] for state in shown],
        labels=[STATE_LABELS[state] for state in shown],
        step="post",
        alpha=0.9,
    )
    bottom.set_ylabel("robots")
    bottom.set_ylim(0, max(len(run.robots), 1))
    bottom.yaxis.set_major_locator(MaxNLocator(integer=True))
    bottom.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=9, title="robot state")
    bottom.set_xlabel("time of day (local)")
    _clock_axis(bottom, run.start_s, run.end_s)
    for ax in (top, bottom):
        ax.spines[["top", "right"]].set_visible(False)
    return _save(fig, path)


def plot_lead_times(run: Run, path: Path) -> Path:
    """Histogram of delivered orders' lead times with the time-window line."""
    delivered = run.orders[run.orders["state"] == "delivered"]
    minutes = delivered["lead_time_s"].to_numpy(float) / 60.0
    late = delivered["late"].to_numpy(bool)
    fig = Figure(figsize=(10, 5.5), dpi=DPI, layout="constrained")
    ax = fig.subplots()
    top = max(float(minutes.max()) if minutes.size else 0.0, run.time_window_min or 0.0, 10.0)
    bins = np.arange(0.0, top + 5.0, 5.0 if top <= 300 else 10.0)
    ax.hist([minutes[~late], minutes[late]], bins=bins.tolist(), stacked=True,
            color=["#2ca02c", "#d62728"],
            label=[f"on time ({int((~late).sum()):,})", f"late ({int(late.sum()):,})"])  # fmt: skip
    if run.time_window_min is not None:
        ax.axvline(run.time_window_min, color="black", linestyle="--", linewidth=1.5,
                   label=f"time window: {run.time_window_min:g} min")  # fmt: skip
    if minutes.size:
        p50, p95 = np.percentile(minutes, [50, 95])
        on_time = 100.0 * (~late).mean()
        ax.text(0.99, 0.97, f"median {p50:.0f} min · 95th percentile {p95:.0f} min\n"
                f"on time: {on_time:.1f} % of {minutes.size:,} deliveries",
                transform=ax.transAxes, ha="right", va="top", fontsize=10,
                bbox={"facecolor": "white", "alpha": 0.85, "edgecolor": "#cccccc"})  # fmt: skip
    else:
        ax.text(0.5, 0.5, "no order was delivered", transform=ax.transAxes, ha="center")
    ax.set_xlabel("lead time: order created → delivered [min]")
    ax.set_ylabel("delivered orders")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(loc="upper left", fontsize=9)
    ax.spines[["top", "right"]].set_visible(False)
    ax.set_title(f"Lead times of delivered orders — {run.title}", fontsize=13)
    return _save(fig, path)


def confidence_table(
    runs: pd.DataFrame, x: str, kpi: str, *, by: list[str] | None = None, level: float = 0.95
) -> pd.DataFrame:
    """Mean of ``kpi`` per value of ``x`` (and of ``by``) with a Student-t confidence interval.

    Returns
    -------
    pandas.DataFrame
        Columns ``x``, ``by``..., ``n``, ``mean``, ``low``, ``high``; with one replicate the
        interval collapses to the mean.
    """
    keys = [x, *(by or [])]
    values = runs.dropna(subset=[kpi])
    grouped = values.groupby(keys, sort=True)[kpi]
    table = grouped.agg(n="count", mean="mean", sd="std").reset_index()
    dof = np.maximum(table["n"].to_numpy() - 1, 1)
    quantile = stats.t.ppf(0.5 + level / 2.0, dof)
    half = np.where(table["n"] > 1, quantile * table["sd"].fillna(0) / np.sqrt(table["n"]), 0.0)
    table["low"] = table["mean"] - half
    table["high"] = table["mean"] + half
    return table.drop(columns="sd")


def plot_kpi_sweep(
    runs: pd.DataFrame,
    x: str,
    kpi: str,
    path: Path,
    *,
    by: list[str] | None = None,
    description: str = "",
    title: str = "",
) -> Path:
    """``kpi`` against parameter ``x``: replicate points, mean line and 95 % confidence band.

    Each combination of the ``by`` parameters gets its own line; rates are shown in percent
    and their bands clipped to [0, 100] %.
    """
    percent = is_share(kpi)
    scale = 100.0 if percent else 1.0
    table = confidence_table(runs, x, kpi, by=by)
    fig = Figure(figsize=(9, 5.5), dpi=DPI, layout="constrained")
    ax = fig.subplots()
    groups = table.groupby(by, sort=True) if by else [((), table)]
    for i, (key, group) in enumerate(groups):
        colour = f"C{i}"
        values = key if isinstance(key, tuple) else (key,)
        label = ", ".join(str(k) for k in values) if by else "mean"
        low, high = group["low"] * scale, group["high"] * scale
        if percent:
            low, high = low.clip(0.0, 100.0), high.clip(0.0, 100.0)
        ax.fill_between(group[x], low, high, color=colour, alpha=0.18, linewidth=0)
        ax.plot(group[x], group["mean"] * scale, "o-", color=colour, linewidth=2, label=label)
        mask = np.ones(len(runs), bool)
        for b, k in zip(by or [], values, strict=True):
            mask &= (runs[b] == k).to_numpy()
        ax.scatter(runs.loc[mask, x], runs.loc[mask, kpi] * scale, s=16, color=colour,
                   alpha=0.5, linewidths=0)  # fmt: skip
    if percent:
        ax.yaxis.set_major_formatter(PercentFormatter(100.0, decimals=0))
    if pd.api.types.is_integer_dtype(runs[x]):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(x)
    ax.set_ylabel(kpi_label(kpi))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=9, title=", ".join(by) if by else None, title_fontsize=9)
    ax.spines[["top", "right"]].set_visible(False)
    replicates = int(table["n"].max()) if len(table) else 0
    fig.suptitle(
        title or f"{kpi_label(kpi).split(' [')[0].capitalize()} against {x}",
        fontsize=13, x=0.02, ha="left",
    )  # fmt: skip
    subtitle = f"lines: mean; bands: 95 % confidence interval; dots: the {replicates} replicates"
    if description:
        subtitle = f"{description}\n{subtitle}"
    ax.set_title(subtitle, fontsize=9, color="#555555", loc="left")
    return _save(fig, path)


def _save(fig: Figure, path: Path) -> Path:
    fig.savefig(path, dpi=DPI, facecolor="white")
    logger.info("wrote %s", path)
    return path
