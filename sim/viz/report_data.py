"""The numbers behind the report page: per-hour and per-district tables, the day's timeline.

Plain pandas on a :class:`~carreta.sim.output.rundir.Run` (its ``orders``, ``robots`` and
``events`` tables), so every figure of ``report.html`` can be recomputed from the run folder.
Shares use the definitions of :mod:`carreta.sim.output.kpi_definitions`: on time over the
orders whose outcome is known (on time, late, rejected; not ``open_not_due``).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from carreta.sim.output.rundir import Run
from carreta.sim.output.timeline import orders_over_time, robots_over_time

__all__ = [
    "OUTSIDE",
    "SUMMARY_COLUMNS",
    "orders_by_district",
    "orders_by_hour",
    "timeline",
]

#: The district of orders outside every polygon.
OUTSIDE = "outside the districts"
#: Columns of :func:`orders_by_hour` and :func:`orders_by_district` after the key, with units.
SUMMARY_COLUMNS: dict[str, str] = {
    "orders": "orders created",
    "delivered": "delivered",
    "on_time": "on time",
    "late": "late",
    "rejected": "rejected",
    "on_time_share": "on-time share [%]",
    "lead_time_mean_min": "mean lead time [min]",
    "lead_time_p95_min": "95th pct lead time [min]",
}


def _summarise(orders: pd.DataFrame, key: pd.Series) -> pd.DataFrame:
    """:data:`SUMMARY_COLUMNS` per value of ``key`` (aligned with ``orders``)."""
    outcome = orders["outcome"].astype(str)
    delivered = (orders["state"].astype(str) == "delivered").to_numpy()
    lead_min = orders["lead_time_s"].to_numpy(float) / 60.0
    frame = pd.DataFrame(
        {
            "key": key.to_numpy(),
            "orders": 1,
            "delivered": delivered.astype(int),
            "on_time": (outcome == "on_time").to_numpy(int),
            "late": (outcome == "late").to_numpy(int),
            "rejected": (outcome == "rejected").to_numpy(int),
            "due": (outcome != "open_not_due").to_numpy(int),
            "lead": np.where(delivered, lead_min, np.nan),
        }
    )
    grouped = frame.groupby("key", sort=False)
    table = grouped[["orders", "delivered", "on_time", "late", "rejected", "due"]].sum()
    table["on_time_share"] = table["on_time"] / table["due"].where(table["due"] > 0)
    table["lead_time_mean_min"] = grouped["lead"].mean()
    table["lead_time_p95_min"] = grouped["lead"].quantile(0.95)
    return table.drop(columns="due")[list(SUMMARY_COLUMNS)]


def orders_by_hour(run: Run) -> pd.DataFrame:
    """Orders per hour of creation (local time): created, delivered, on time, late, rejected,
    on-time share (a fraction of the orders whose outcome is known), lead times (delivered).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``hour`` (``"09:00–10:00"``), in time order, columns :data:`SUMMARY_COLUMNS`.
    """
    orders = run.orders
    if orders.empty:
        return pd.DataFrame(columns=list(SUMMARY_COLUMNS), index=pd.Index([], name="hour"))
    hours = (orders["created_s"].to_numpy(float) // 3600).astype(int)
    table = _summarise(orders, pd.Series(hours)).sort_index()
    table.index = pd.Index(
        [f"{h % 24:02d}:00–{(h + 1) % 24:02d}:00" for h in table.index], name="hour"
    )
    return table


def orders_by_district(run: Run, districts: gpd.GeoDataFrame, name: str) -> pd.DataFrame:
    """Orders per district of their door (a spatial join), as :func:`orders_by_hour`.

    Parameters
    ----------
    districts
        Polygons in EPSG:4326 (:func:`carreta.sim.viz.maps.read_districts`).
    name
        The column naming them.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``district``, most orders first; districts without an order are left out,
        orders outside every polygon are counted under :data:`OUTSIDE`.
    """
    orders = run.orders.reset_index(drop=True)
    points = gpd.GeoDataFrame(
        {"row": np.arange(len(orders))},
        geometry=gpd.points_from_xy(orders["lon"], orders["lat"]),
        crs="EPSG:4326",
    )
    joined = gpd.sjoin(points, districts[[name, "geometry"]], how="left", predicate="within")
    joined = joined.drop_duplicates(subset="row").sort_values("row")
    key = joined[name].astype(object).where(joined[name].notna(), OUTSIDE).astype(str)
    table = _summarise(orders, key.reset_index(drop=True))
    table = table.sort_values("orders", ascending=False, kind="stable")
    table.index.name = "district"
    return table


def timeline(run: Run, *, step_s: float = 60.0) -> pd.DataFrame:
    """The day minute by minute: robots per state, orders open, chargers in use, operators busy.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``time_s`` (seconds since midnight, every ``step_s``): one column per robot
        state (:func:`~carreta.sim.output.timeline.robots_over_time`), ``orders_waiting``
        (created, not loaded), ``orders_on_board``, ``orders_open`` (their sum),
        ``chargers_in_use`` (robots charging: each holds a charger) and ``operators_busy``
        (robots being helped by a remote operator; with walking escorts
        (``operations.supervision.mode: escort``), the tours under way with one).
    """
    grid = np.arange(run.start_s, run.end_s + step_s / 2, step_s)
    robots = robots_over_time(run, grid)
    orders = orders_over_time(run, grid)
    table = robots.copy()
    table["orders_waiting"] = orders["waiting"].to_numpy()
    table["orders_on_board"] = orders["on_board"].to_numpy()
    table["orders_open"] = table["orders_waiting"] + table["orders_on_board"]
    table["chargers_in_use"] = robots["charging"].to_numpy() if "charging" in robots else 0
    supervision = (run.scenario.get("operations") or {}).get("supervision") or {}
    if supervision.get("mode") == "escort":  # an escort helps the robot it walks with
        table["operators_busy"] = _escorts(run, grid)
    else:
        table["operators_busy"] = robots["intervention"].to_numpy()
    return table


def _escorts(run: Run, grid: np.ndarray) -> np.ndarray:
    """Escorts out with a robot at each time of ``grid`` (escort_start … escort_end)."""
    events = run.events
    if events is None or events.empty:
        return np.zeros(grid.size, dtype=np.int64)
    kinds = events["kind"].astype(str)
    starts = np.sort(events.loc[kinds == "escort_start", "time_s"].to_numpy(float))
    ends = np.sort(events.loc[kinds == "escort_end", "time_s"].to_numpy(float))
    started = np.searchsorted(starts, grid, side="right")
    ended = np.searchsorted(ends, grid, side="right")
    return (started - ended).astype(np.int64)
