"""Replicate statistics: intervals that respect each KPI's range, pooled Wilson for shares of
orders, Student-t for means, one row per combination × KPI, no pandas performance warnings."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from carreta.sim.output.statistics import (
    INTERVAL_COLUMNS,
    ONE_REPLICATE,
    STUDENT_T,
    WILSON_POOLED,
    replicate_intervals,
    wilson_interval,
)

pytestmark = pytest.mark.filterwarnings("error::pandas.errors.PerformanceWarning")

FLEET = "fleet.robots[0].count"


def runs_table(rows: list[dict[str, float]]) -> pd.DataFrame:
    """Runs with consistent order counts: on_time, delivered, due, created (nothing rejected);
    the share columns are derived as the KPIs define them."""
    table = pd.DataFrame(rows)
    table["orders_rejected"] = 0
    table["on_time_share"] = table["orders_on_time"] / table["orders_due"]
    table["service_rate"] = table["orders_delivered"] / table["orders_created"]
    table["on_time_among_delivered"] = table["orders_on_time"] / table["orders_delivered"]
    return table


def one(table: pd.DataFrame, kpi: str, **keys: object) -> pd.Series:
    mask = table["kpi"] == kpi
    for column, value in keys.items():
        mask &= table[column] == value
    assert mask.sum() == 1
    return table[mask].iloc[0]


def test_pooled_wilson_equals_scipy_on_a_known_example() -> None:
    table = runs_table(
        [
            {FLEET: 1, "orders_on_time": 7, "orders_due": 19, "orders_delivered": 8,
             "orders_created": 43},
            {FLEET: 1, "orders_on_time": 10, "orders_due": 20, "orders_delivered": 11,
             "orders_created": 45},
            {FLEET: 1, "orders_on_time": 8, "orders_due": 23, "orders_delivered": 8,
             "orders_created": 38},
        ]
    )  # fmt: skip
    result = replicate_intervals(table, [FLEET], kpis=["on_time_share", "service_rate"])
    row = one(result, "on_time_share")
    expected = stats.binomtest(25, 62).proportion_ci(confidence_level=0.95, method="wilson")
    assert row["method"] == WILSON_POOLED
    assert (row["successes"], row["trials"], row["replicates"]) == (25, 62, 3)
    assert row["estimate"] == pytest.approx(25 / 62)  # pooled, not the mean of the 3 shares
    assert row["estimate"] != pytest.approx(table["on_time_share"].mean())
    assert row["low"] == pytest.approx(expected.low, abs=1e-12)
    assert row["high"] == pytest.approx(expected.high, abs=1e-12)
    assert row["half_width"] == pytest.approx((expected.high - expected.low) / 2)
    service = one(result, "service_rate")  # delivered / (due - rejected), rejected: 0
    expected = stats.binomtest(27, 62).proportion_ci(confidence_level=0.9, method="wilson")
    low, high = wilson_interval(27, 62, level=0.9)
    assert service["estimate"] == pytest.approx(27 / 62)
    assert (low, high) == (pytest.approx(expected.low), pytest.approx(expected.high))


@pytest.mark.parametrize("on_time", [0, 20], ids=["no-success", "all-successes"])
def test_share_intervals_stay_within_0_and_1(on_time: int) -> None:
    rows = [
        {FLEET: robots, "orders_on_time": on_time, "orders_due": 20, "orders_delivered": 20,
         "orders_created": 20, "utilisation": utilisation}
        for robots, utilisation in ((1, 0.999), (1, 0.98), (1, 1.0), (2, 0.99), (2, 0.97))
    ]  # fmt: skip
    result = replicate_intervals(runs_table(rows), [FLEET])
    shares = result[result["kpi"].isin(["on_time_share", "service_rate", "utilisation"])]
    assert len(shares) == 6
    assert (shares["low"] >= 0).all() and (shares["high"] <= 1).all()
    assert (shares["low"] <= shares["estimate"]).all()
    assert (shares["estimate"] <= shares["high"]).all()
    on_time_share = one(result, "on_time_share", **{FLEET: 1})
    assert on_time_share["estimate"] == on_time / 20
    # the interval is not empty: 60 orders without a success still allow a few percent
    assert on_time_share["high"] - on_time_share["low"] == pytest.approx(
        stats.binomtest(0, 60).proportion_ci(method="wilson").high
    )
    assert one(result, "utilisation", **{FLEET: 1})["high"] == 1.0  # the t interval, clipped


def test_nonnegative_kpis_never_get_a_negative_low() -> None:
    table = pd.DataFrame(
        {
            FLEET: [1, 1, 1, 2, 2],
            "orders_late": [0.0, 0.0, 6.0, 0.0, 0.0],
            "waiting_for_charger_h": [0.0, 0.01, 2.5, 0.0, 0.0],
            "lead_time_p95_min": [30.0, 31.0, 90.0, 40.0, 41.0],
        }
    )
    result = replicate_intervals(table, [FLEET])
    assert set(result["method"]) == {STUDENT_T}
    assert (result["low"] >= 0).all()
    late = one(result, "orders_late", **{FLEET: 1})
    half = stats.t.ppf(0.975, 2) * np.std([0, 0, 6], ddof=1) / math.sqrt(3)
    assert 2.0 - half < 0  # the plain t interval would go below 0
    assert late["low"] == 0.0
    assert late["high"] == pytest.approx(2.0 + half)
    assert one(result, "orders_late", **{FLEET: 2})[["low", "high"]].tolist() == [0.0, 0.0]


def test_means_get_student_t_and_one_replicate_gets_no_interval() -> None:
    table = runs_table(
        [
            {FLEET: 2, "orders_on_time": 5, "orders_due": 10, "orders_delivered": 6,
             "orders_created": 12, "robot_km": 10.0},
            {FLEET: 2, "orders_on_time": 6, "orders_due": 10, "orders_delivered": 7,
             "orders_created": 12, "robot_km": 12.0},
            {FLEET: 2, "orders_on_time": 7, "orders_due": 10, "orders_delivered": 8,
             "orders_created": 12, "robot_km": 14.0},
            {FLEET: 3, "orders_on_time": 9, "orders_due": 10, "orders_delivered": 9,
             "orders_created": 12, "robot_km": 20.0},
        ]
    )  # fmt: skip
    result = replicate_intervals(table, [FLEET], kpis=["robot_km", "on_time_share"])
    km = one(result, "robot_km", **{FLEET: 2})
    half = stats.t.ppf(0.975, 2) * 2.0 / math.sqrt(3)  # sd of 10, 12, 14 is 2
    assert km["method"] == STUDENT_T and km["replicates"] == 3
    assert (km["estimate"], km["low"], km["high"]) == (
        pytest.approx(12.0),
        pytest.approx(12.0 - half),
        pytest.approx(12.0 + half),
    )
    single = one(result, "robot_km", **{FLEET: 3})
    assert single["method"] == ONE_REPLICATE and single["estimate"] == 20.0
    assert math.isnan(single["half_width"]) and math.isnan(single["low"])
    share = one(result, "on_time_share", **{FLEET: 3})  # one replicate, but 10 orders
    assert share["method"] == WILSON_POOLED and 0 < share["low"] < 0.9 < share["high"] <= 1
    assert share["half_width"] > 0


def test_one_row_per_combination_and_kpi_in_order() -> None:
    rng = np.random.default_rng(5)
    combinations = [(robots, policy) for robots in (1, 2, 3) for policy in ("batch", "tours")]
    rows = [
        {FLEET: robots, "dispatch.policy": policy, "orders_on_time": int(rng.integers(0, 10)),
         "orders_due": 10, "orders_delivered": 10, "orders_created": 12,
         "robot_km": float(rng.uniform(5, 9))}
        for robots, policy in combinations
        for _ in range(2)
    ]  # fmt: skip
    kpis = ["service_rate", "robot_km", "on_time_share"]
    result = replicate_intervals(runs_table(rows), [FLEET, "dispatch.policy"], kpis=kpis)
    assert list(result.columns) == [FLEET, "dispatch.policy", *INTERVAL_COLUMNS]
    assert len(result) == len(combinations) * len(kpis)
    expected = [(*combination, kpi) for combination in combinations for kpi in kpis]
    assert list(result[[FLEET, "dispatch.policy", "kpi"]].itertuples(index=False)) == expected
    assert (result["replicates"] == 2).all()


def test_shares_without_their_counts_are_averaged() -> None:
    """A runs table of an older version has the share but not the counts."""
    table = pd.DataFrame({FLEET: [1, 1, 2, 2], "on_time_share": [0.9, 0.99, 1.0, 1.0]})
    result = replicate_intervals(table, [FLEET])
    assert list(result["method"]) == [STUDENT_T, STUDENT_T]
    assert result["high"].max() <= 1.0
    assert one(result, "on_time_share", **{FLEET: 1})["estimate"] == pytest.approx(0.945)


def test_missing_values_and_columns() -> None:
    table = pd.DataFrame(
        {FLEET: [1, 1, 2], "lead_time_p95_min": [np.nan, 50.0, np.nan], "orders_due": 0}
    )
    result = replicate_intervals(table, [FLEET])
    assert one(result, "lead_time_p95_min", **{FLEET: 1})["replicates"] == 1
    assert one(result, "lead_time_p95_min", **{FLEET: 2})["method"] == "no_data"
    with pytest.raises(ValueError, match="no_such_kpi"):
        replicate_intervals(table, [FLEET], kpis=["no_such_kpi"])
    with pytest.raises(ValueError, match="level"):
        replicate_intervals(table, [FLEET], level=95)
    whole = replicate_intervals(table, [], kpis=["orders_due"])
    assert list(whole.columns) == list(INTERVAL_COLUMNS) and len(whole) == 1


def test_many_combinations_build_no_fragmented_frame() -> None:
    """Every KPI of a 300-combination sweep (the module turns PerformanceWarning into errors)."""
    rng = np.random.default_rng(1)
    rows = [
        {FLEET: combination, "orders_on_time": int(rng.integers(0, 30)), "orders_due": 30,
         "orders_delivered": 30, "orders_created": 40, "robot_km": float(rng.uniform(1, 9)),
         "utilisation": float(rng.uniform(0, 1)), "lead_time_p95_min": float(rng.uniform(9, 99))}
        for combination in range(300)
        for _ in range(3)
    ]  # fmt: skip
    result = replicate_intervals(runs_table(rows), [FLEET])
    assert len(result) == 300 * result["kpi"].nunique()


@given(
    counts=st.lists(
        st.tuples(st.integers(0, 60), st.integers(0, 60)).map(sorted), min_size=1, max_size=6
    ),
    level=st.sampled_from([0.8, 0.9, 0.95, 0.99]),
)
def test_pooled_share_interval_contains_its_estimate(counts: list[list[int]], level: float) -> None:
    table = pd.DataFrame(
        {"orders_on_time": [k for k, _ in counts], "orders_due": [n for _, n in counts]}
    )
    row = replicate_intervals(table, [], kpis=["on_time_share"], level=level).iloc[0]
    trials = sum(n for _, n in counts)
    if trials == 0:
        assert row["method"] == "no_data" and math.isnan(row["estimate"])
        return
    assert 0.0 <= row["low"] <= row["estimate"] <= row["high"] <= 1.0
    expected = stats.binomtest(int(row["successes"]), trials).proportion_ci(level, "wilson")
    assert row["low"] == pytest.approx(expected.low, abs=1e-9)
    assert row["high"] == pytest.approx(expected.high, abs=1e-9)
