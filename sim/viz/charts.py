"""Charts of a run and of a sweep: the day's timeline, lead times, KPIs against a parameter.

Built with :class:`matplotlib.figure.Figure` directly (no pyplot, no global backend change).
The sweep charts draw intervals computed by the caller
(:func:`carreta.sim.output.statistics.replicate_intervals`, passed in by the command line:
``sim.viz`` and ``sim.sweep`` do not import each other), so the PNGs and ``carreta
sweep-report`` show the same numbers.
"""

from __future__ import annotations

import logging
import math
import textwrap
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator, PercentFormatter

from carreta.sim.model.vehicles import RobotState
from carreta.sim.output.kpi_definitions import is_share, kpi_label
from carreta.sim.output.rundir import ROBOT_STATES, Run
from carreta.sim.output.timeline import orders_over_time, robots_over_time

__all__ = [
    "SERVICE_LINES",
    "STATE_COLOURS",
    "STATE_LABELS",
    "clock_axis",
    "plot_kpi_sweep",
    "plot_lead_times",
    "plot_service_sweep",
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


def clock_axis(ax: Axes, start_s: float, end_s: float) -> None:
    """Time-of-day ticks (``HH:MM``) on ``ax``'s x axis from ``start_s`` to ``end_s``
    (seconds since midnight): every 30 min, hour or two hours depending on the span."""
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
    clock_axis(bottom, run.start_s, run.end_s)
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


#: The service chart's lines: (KPI, colour, line style, legend label).
SERVICE_LINES: tuple[tuple[str, str, str, str], ...] = (
    ("on_time_share", "#1a9850", "-", "on-time share: on time ÷ orders due"),
    ("service_rate", "#2c7bb6", "-", "service rate: delivered ÷ servable orders"),
    ("on_time_among_delivered", "#4d4d4d", "--", "on time among delivered orders"),
)


def _namer(labels: Mapping[str, str] | None) -> Callable[[str], str]:
    """A parameter's label (``labels``, else its path), safe from mathtext (``$``)."""
    known = dict(labels or {})
    return lambda path: known.get(path, path).replace("$", r"\$")


def _method_text(intervals: pd.DataFrame, level: float) -> str:
    """What the lines and bands of ``intervals`` (one KPI) are."""
    percent = f"{100 * level:g} %"
    methods = set(intervals["method"])
    if "wilson_pooled" in methods:
        return f"lines: orders pooled over the replicates; bands: {percent} Wilson interval"
    if "student_t" in methods:
        return f"lines: mean of the replicates; bands: {percent} Student-t interval"
    return "lines: one replicate each (no interval)"


def _positions(values: pd.Series, categories: list[object] | None) -> np.ndarray:
    """x coordinates: the values themselves if numeric, else their rank in ``categories``."""
    if categories is None:
        return values.to_numpy(float)
    return values.map({value: i for i, value in enumerate(categories)}).to_numpy(float)


def _x_axis(
    ax: Axes, runs: pd.DataFrame, x: str, categories: list[object] | None, *, label: str
) -> None:
    if categories is not None:
        ax.set_xticks(range(len(categories)), [str(value) for value in categories])
    elif pd.api.types.is_integer_dtype(runs[x]):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(label)


def _categories(runs: pd.DataFrame, x: str) -> list[object] | None:
    if pd.api.types.is_numeric_dtype(runs[x]) and not pd.api.types.is_bool_dtype(runs[x]):
        return None
    return list(dict.fromkeys(runs[x]))


def _groups(frame: pd.DataFrame, by: list[str]) -> list[tuple[tuple[object, ...], pd.DataFrame]]:
    """(values of ``by``, rows) per combination of ``by``, in order of first appearance."""
    if not by:
        return [((), frame)]
    grouped = frame.groupby(by, sort=False, dropna=False)
    return [(key if isinstance(key, tuple) else (key,), rows) for key, rows in grouped]


def _rows_of(frame: pd.DataFrame, by: list[str], key: tuple[object, ...]) -> pd.DataFrame:
    mask = np.ones(len(frame), bool)
    for column, value in zip(by, key, strict=True):
        mask &= (frame[column] == value).to_numpy()
    return frame[mask]


def _band_and_line(
    ax: Axes,
    rows: pd.DataFrame,
    x: str,
    categories: list[object] | None,
    *,
    scale: float,
    colour: str,
    style: str = "-",
    label: str,
    band: bool = True,
) -> None:
    rows = rows.assign(_x=_positions(rows[x], categories)).sort_values("_x")
    if band:
        ax.fill_between(rows["_x"], rows["low"] * scale, rows["high"] * scale, color=colour,
                        alpha=0.18, linewidth=0)  # fmt: skip
    ax.plot(rows["_x"], rows["estimate"] * scale, marker="o", linestyle=style, color=colour,
            linewidth=2 if style == "-" else 1.5, markersize=5 if style == "-" else 3,
            label=label)  # fmt: skip


def plot_kpi_sweep(
    runs: pd.DataFrame,
    intervals: pd.DataFrame,
    x: str,
    kpi: str,
    path: Path,
    *,
    by: list[str] | None = None,
    description: str = "",
    title: str = "",
    level: float = 0.95,
    labels: Mapping[str, str] | None = None,
) -> Path:
    """``kpi`` against parameter ``x``: estimate line, confidence band, replicate dots.

    Parameters
    ----------
    runs
        The completed runs (one dot each).
    intervals
        :func:`carreta.sim.output.statistics.replicate_intervals` of ``runs`` grouped by
        ``[x, *by]`` (rows of other KPIs are ignored): shares of orders pool their orders
        (Wilson band), other KPIs are means (Student-t band).
    by
        Other swept parameters: one line per combination of their values.
    level
        Confidence level of ``intervals`` (for the subtitle).
    labels
        Human names of the parameters (``robots at saint-roch`` for
        ``fleet.robots[0].count``: :func:`carreta.sim.scenario.labels.parameter_labels`);
        default: their field paths.
    """
    by = list(by or [])
    name = _namer(labels)
    percent = is_share(kpi)
    scale = 100.0 if percent else 1.0
    rows = intervals[intervals["kpi"] == kpi]
    categories = _categories(runs, x)
    fig = Figure(figsize=(9, 5.5), dpi=DPI, layout="constrained")
    ax = fig.subplots()
    for i, (key, group) in enumerate(_groups(rows, by)):
        colour = f"C{i}"
        label = ", ".join(str(value) for value in key) if by else "estimate"
        _band_and_line(ax, group, x, categories, scale=scale, colour=colour, label=label)
        mine = _rows_of(runs, by, key)
        ax.scatter(_positions(mine[x], categories), mine[kpi] * scale, s=16, color=colour,
                   alpha=0.5, linewidths=0, zorder=3)  # fmt: skip
    if percent:
        ax.yaxis.set_major_formatter(PercentFormatter(100.0, decimals=None))
    _x_axis(ax, runs, x, categories, label=name(x))
    ax.set_ylabel(kpi_label(kpi))
    ax.grid(alpha=0.3)
    if by:
        ax.legend(fontsize=9, title=", ".join(map(name, by)), title_fontsize=9)
    ax.spines[["top", "right"]].set_visible(False)
    replicates = int(rows["replicates"].max()) if len(rows) else 0
    fig.suptitle(
        title or f"{kpi_label(kpi).split(' [')[0].capitalize()} against {name(x)}",
        fontsize=13, x=0.02, ha="left",
    )  # fmt: skip
    subtitle = f"{_method_text(rows, level)}; dots: each of the {replicates} replicates"
    if description:
        subtitle = f"{textwrap.fill(description, 115)}\n{subtitle}"
    ax.set_title(subtitle, fontsize=9, color="#555555", loc="left")
    return _save(fig, path)


def plot_service_sweep(
    intervals: pd.DataFrame,
    x: str,
    path: Path,
    *,
    by: list[str] | None = None,
    level: float = 0.95,
    labels: Mapping[str, str] | None = None,
) -> Path:
    """On-time share and service rate (and, dashed, on time among delivered) against ``x``.

    One panel per combination of the ``by`` parameters; each line is a share of orders pooled
    over the replicates, with its Wilson band (:func:`plot_kpi_sweep` says how ``intervals``
    is made). Put side by side, they show a planner that a small fleet can deliver its
    orders punctually (dashed line high) while leaving many undelivered.
    """
    by = list(by or [])
    name = _namer(labels)
    shown = [line for line in SERVICE_LINES if line[0] in set(intervals["kpi"])]
    rows = intervals[intervals["kpi"].isin([line[0] for line in shown])]
    panels = _groups(rows, by)
    columns = min(len(panels), 3)
    lines = math.ceil(len(panels) / columns)
    fig = Figure(figsize=(max(8.0, 4.6 * columns), 3.8 * lines + 1.8), dpi=DPI,
                 layout="constrained")  # fmt: skip
    axes = fig.subplots(lines, columns, sharex=True, sharey=True, squeeze=False)
    categories = _categories(rows, x)
    for ax, (key, panel) in zip(axes.ravel(), panels, strict=False):
        for kpi, colour, style, label in shown:
            _band_and_line(ax, panel[panel["kpi"] == kpi], x, categories, scale=100.0,
                           colour=colour, style=style, label=label, band=style == "-")  # fmt: skip
        if by:
            ax.set_title(", ".join(f"{name(b)}: {v}" for b, v in zip(by, key, strict=True)),
                         fontsize=10, loc="left")  # fmt: skip
        ax.set_ylim(-3, 103)
        ax.yaxis.set_major_formatter(PercentFormatter(100.0, decimals=0))
        _x_axis(ax, rows, x, categories, label=name(x))
        ax.grid(alpha=0.3)
        ax.spines[["top", "right"]].set_visible(False)
    for ax in axes.ravel()[len(panels) :]:
        ax.set_visible(False)
    for ax in axes[:, 0]:
        ax.set_ylabel("share of orders [%]")
    handles, labels = axes.ravel()[0].get_legend_handles_labels()
    replicates = int(rows["replicates"].max()) if len(rows) else 0
    note = (
        f"orders pooled over {replicates} replicates; bands: {100 * level:g} % Wilson intervals\n"
        "orders due: outcome known at the end (delivered, or past due, or rejected); "
        "servable: due − rejected"
    )
    fig.legend(handles, labels, loc="outside lower center", ncols=1 if columns == 1 else 3,
               fontsize=9, frameon=False, title=note, title_fontsize=8)  # fmt: skip
    fig.suptitle(f"On-time share and service rate against {name(x)}", fontsize=13, x=0.02,
                 ha="left")  # fmt: skip
    return _save(fig, path)


def _save(fig: Figure, path: Path) -> Path:
    fig.savefig(path, dpi=DPI, facecolor="white")
    logger.info("wrote %s", path)
    return path
