"""The report page's charts as SVG text: the day's timeline and the lead times, of one run or
of several runs overlaid.

Drawn with :class:`matplotlib.figure.Figure` (no pyplot), saved as SVG with the text as paths
(no font to fetch) and a fixed hash salt, so one run gives the same bytes every time. The
numbers come from :mod:`carreta.sim.viz.report_data` and the run's order table.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from carreta.sim.output.rundir import ROBOT_STATES, Run
from carreta.sim.viz.charts import STATE_COLOURS, STATE_LABELS, clock_axis

__all__ = ["lead_times_svg", "svg_text", "timeline_svg"]

#: One colour per run when runs are overlaid (the first run is the reference, in black).
RUN_COLOURS = ("#222222", "#d95f02", "#1b9e77", "#7570b3", "#e7298a", "#66a61e", "#e6ab02")
#: The timeline's overlaid panels: (column of report_data.timeline, axis label).
COUNT_PANELS = (
    ("orders_open", "orders open\n(waiting or on board)"),
    ("chargers_in_use", "chargers in use"),
    ("operators_busy", "operators busy"),
)


def plain(text: str) -> str:
    """``text`` shown literally by matplotlib (a ``$`` would start mathematics)."""
    return text.replace("$", r"\$")


def run_colour(index: int) -> str:
    """The colour of the ``index``-th run in overlaid charts."""
    return RUN_COLOURS[index % len(RUN_COLOURS)]


def svg_text(fig: Figure) -> str:
    """``fig`` as a standalone SVG document (text drawn as paths, no date, fixed ids)."""
    buffer = io.StringIO()
    with mpl.rc_context({"svg.fonttype": "path", "svg.hashsalt": "carreta-report"}):
        fig.savefig(buffer, format="svg", metadata={"Date": None}, facecolor="white")
    return buffer.getvalue()


def _tidy(ax: Axes) -> None:
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(alpha=0.3)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))


def _span(runs: Sequence[Run]) -> tuple[float, float]:
    return min(run.start_s for run in runs), max(run.end_s for run in runs)


def _states_panel(ax: Axes, run: Run, table: pd.DataFrame, *, legend: bool) -> None:
    shown = [s for s in ROBOT_STATES if s == "idle" or (s in table and table[s].any())]
    ax.stackplot(table.index.to_numpy(), [table[s].to_numpy() for s in shown],
                 colors=[STATE_COLOURS[s] for s in shown],
                 labels=[STATE_LABELS[s] for s in shown], step="post", alpha=0.9)  # fmt: skip
    ax.set_ylim(0, max(len(run.robots), 1))
    if legend:
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, title="robot state",
                  title_fontsize=8, frameon=False)  # fmt: skip
    _tidy(ax)


def timeline_svg(runs: Sequence[Run], tables: Sequence[pd.DataFrame], labels: Sequence[str]) -> str:
    """Robots by state (one stacked panel per run), then orders open, chargers in use and
    operators busy over the day, one line per run.

    Parameters
    ----------
    runs, tables, labels
        The runs, their :func:`~carreta.sim.viz.report_data.timeline` and their names.
    """
    several = len(runs) > 1
    rows = len(runs) + len(COUNT_PANELS)
    ratios = [1.3] * len(runs) + [1.0, 0.6, 0.6]
    fig = Figure(figsize=(11, 1.5 * sum(ratios) + 1.4), layout="constrained")
    axes = fig.subplots(rows, 1, sharex=True, height_ratios=ratios)
    for i, (run, table, label) in enumerate(zip(runs, tables, labels, strict=True)):
        ax = axes[i]
        _states_panel(ax, run, table, legend=i == 0)
        ax.set_ylabel(f"robots\n{plain(label)}" if several else "robots by state", fontsize=9)
    for ax, (column, text) in zip(axes[len(runs) :], COUNT_PANELS, strict=True):
        for i, (table, label) in enumerate(zip(tables, labels, strict=True)):
            ax.step(table.index.to_numpy(), table[column].to_numpy(), where="post",
                    color=run_colour(i) if several else "#1f77b4", linewidth=1.6,
                    label=plain(label))  # fmt: skip
        ax.set_ylabel(text, fontsize=9)
        peak = max(int(table[column].max()) for table in tables)
        ax.set_ylim(bottom=0, top=max(1, peak) * 1.1)
        if peak == 0:
            ax.text(0.5, 0.5, f"no {text.split(chr(10))[0]} all day", transform=ax.transAxes,
                    ha="center", va="center", fontsize=9, color="#666666")  # fmt: skip
        _tidy(ax)
    if several:
        axes[len(runs)].legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8,
                               title="run", title_fontsize=8, frameon=False)  # fmt: skip
    start, end = _span(runs)
    clock_axis(axes[-1], start, end)
    axes[-1].set_xlabel("time of day (local)")
    title = "The day minute by minute" + ("" if several else f" — {plain(runs[0].title)}")
    fig.suptitle(title, fontsize=12, x=0.01, ha="left")
    return svg_text(fig)


def _lead_minutes(run: Run) -> tuple[np.ndarray, np.ndarray]:
    delivered = run.orders[run.orders["state"].astype(str) == "delivered"]
    return delivered["lead_time_s"].to_numpy(float) / 60.0, delivered["late"].to_numpy(bool)


def lead_times_svg(runs: Sequence[Run], labels: Sequence[str]) -> str:
    """Lead times of delivered orders: for one run a histogram split on time / late, for
    several an outline histogram per run on the same bins; the time window dashed."""
    data = [_lead_minutes(run) for run in runs]
    windows = sorted({run.time_window_min for run in runs if run.time_window_min is not None})
    top = max([10.0, *windows, *(float(m.max()) for m, _ in data if m.size)])
    step = 5.0 if top <= 300 else 10.0
    bins = np.arange(0.0, top + step, step)
    fig = Figure(figsize=(11, 4.2), layout="constrained")
    ax = fig.subplots()
    if len(runs) == 1:
        minutes, late = data[0]
        legend = [f"on time ({int((~late).sum()):,})", f"late ({int(late.sum()):,})"]
        ax.hist([minutes[~late], minutes[late]], bins=bins.tolist(), stacked=True,
                color=["#2ca02c", "#d62728"], label=legend)  # fmt: skip
    else:
        for i, ((minutes, _), label) in enumerate(zip(data, labels, strict=True)):
            text = f"{plain(label)} ({minutes.size:,} delivered)"
            ax.hist(minutes, bins=bins.tolist(), histtype="step", linewidth=1.8,
                    color=run_colour(i), label=text)  # fmt: skip
    for window in windows:
        ax.axvline(window, color="black", linestyle="--", linewidth=1.2,
                   label=f"time window: {window:g} min")  # fmt: skip
    if not any(m.size for m, _ in data):
        ax.text(0.5, 0.5, "no order was delivered", transform=ax.transAxes, ha="center")
    ax.set_xlabel("lead time: order created → delivered [min]")
    ax.set_ylabel("delivered orders")
    ax.legend(loc="upper right", fontsize=9, frameon=False)
    _tidy(ax)
    ax.set_title("Lead times of delivered orders", fontsize=12, loc="left")
    return svg_text(fig)
