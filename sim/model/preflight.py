"""Checks a run would make, made before it: ``carreta validate``, then ``run`` and ``sweep``.

:func:`estimate_size` says from the scenario alone how many orders, robots and events a day
will have and how much memory it will take, and :func:`check_size` stops a run that would not
fit in this machine's available memory before anything is allocated. :func:`preflight` then
does every check the run itself does, with the same functions, without simulating: the network
loads (from its cache or file), every hub and door lies on it (with a hint when longitude and
latitude look swapped), the orders or door files parse, closures name streets that exist, vans
find their network. Each problem is one :class:`~carreta.sim.errors.ScenarioError` or
:class:`~carreta.routing.errors.NetworkError` line.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from carreta.sim.errors import ScenarioError
from carreta.sim.model.closures import closure_windows
from carreta.sim.model.demand import door_sampler
from carreta.sim.model.orders_file import read_orders_file
from carreta.sim.model.world import World, build_world, swap_hint
from carreta.sim.scenario.models import Scenario

__all__ = [
    "MEMORY_CHECK_VARIABLE",
    "Preflight",
    "SizeEstimate",
    "available_memory_bytes",
    "check_size",
    "estimate_size",
    "preflight",
]

#: Set to ``off`` to run a scenario whose size estimate exceeds the available memory.
MEMORY_CHECK_VARIABLE = "CARRETA_MEMORY_CHECK"

# Measured on the 1,000-robot / 100,000-order and 10,000-robot / 1,000,000-order days (peak RSS
# less the libraries and a city graph): about 2.3 kB per order and 3 events per order; the
# estimate keeps a margin above both.
_BASE_BYTES = 500 * 2**20
_BYTES_PER_ORDER = 4_000
_BYTES_PER_ROBOT = 60_000
_EVENTS_PER_ORDER = 3.0
_SAMPLE_DOORS = 200


@dataclass(frozen=True)
class SizeEstimate:
    """How big a simulated day will be, from the scenario alone."""

    orders: int
    robots: int
    events: int
    memory_bytes: int

    def describe(self) -> str:
        """One line: ``~1,000 orders, 20 robots, ~3,000 events, ~0.5 GB``."""
        return (
            f"~{self.orders:,} orders, {self.robots:,} robots and vans, ~{self.events:,} events, "
            f"~{self.memory_bytes / 2**30:.1f} GB of memory"
        )


@dataclass(frozen=True)
class Preflight:
    """What :func:`preflight` found: the size estimate and one line per check passed."""

    size: SizeEstimate
    checks: list[str]


def _expected_orders(scenario: Scenario) -> int:
    demand = scenario.demand
    if demand.orders_csv is not None:
        return len(read_orders_file(demand.orders_csv))
    start_h, end_h = scenario.simulation.window_h
    profile = np.asarray(demand.hourly_profile, dtype=float)
    covered = sum(
        profile[hour % 24] * max(0.0, min(end_h, hour + 1) - max(start_h, hour))
        for hour in range(math.floor(start_h), math.ceil(end_h))
    )
    return round(demand.orders_per_day * covered / profile.sum())


def estimate_size(scenario: Scenario) -> SizeEstimate:
    """The expected orders, vehicles, events and memory of the scenario's day.

    Raises
    ------
    ScenarioError
        If ``demand.orders_csv`` cannot be read.
    """
    orders = _expected_orders(scenario)
    robots = scenario.fleet.robot_count + scenario.fleet.van_count
    memory = _BASE_BYTES + orders * _BYTES_PER_ORDER + robots * _BYTES_PER_ROBOT
    return SizeEstimate(orders, robots, round(orders * _EVENTS_PER_ORDER), memory)


def available_memory_bytes() -> int | None:
    """Memory available to a new run (``MemAvailable`` on Linux), None where unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def check_size(scenario: Scenario, *, label: str, memory_check: bool = True) -> SizeEstimate:
    """Stop a run that would not fit in memory, before it allocates anything.

    ``memory_check=False``, or ``CARRETA_MEMORY_CHECK=off`` in the environment, skips the
    comparison (the estimate is still returned).

    Raises
    ------
    ScenarioError
        If the estimate exceeds the memory available on this machine.
    """
    size = estimate_size(scenario)
    if not memory_check or os.environ.get(MEMORY_CHECK_VARIABLE, "").lower() == "off":
        return size
    available = available_memory_bytes()
    if available is not None and size.memory_bytes > available:
        field = "demand.orders_per_day" if size.orders * _BYTES_PER_ORDER > (
            size.robots * _BYTES_PER_ROBOT) else "fleet"  # fmt: skip
        raise ScenarioError(
            label,
            field,
            f"this day needs {size.describe()}, more than the "
            f"{available / 2**30:.1f} GB available here; make it smaller, or set "
            f"{MEMORY_CHECK_VARIABLE}=off to try anyway",
        )
    return size


def _check_doors(scenario: Scenario, world: World, *, label: str) -> str:
    """The doors' file parses and its points lie near the network."""
    destinations = scenario.demand.destinations
    limit = destinations.max_snap_distance_m
    if scenario.demand.orders_csv is not None:
        rows = read_orders_file(scenario.demand.orders_csv)
        lons, lats, field = rows.lon, rows.lat, "demand.orders_csv"
    else:
        draw = door_sampler(destinations, world.node_lonlat, cache_dir=scenario.network.cache_dir)
        lons, lats = draw(_SAMPLE_DOORS, np.random.default_rng(0))
        field = "demand.destinations"
    if lons.shape[0] == 0:
        return "no doors to check"
    snapped = world.snapper.snap(lons, lats)
    near = float(np.mean(snapped.distance_m <= limit))
    if near == 0.0:
        hint = swap_hint(world.snapper, float(lons[0]), float(lats[0]), limit_m=limit)
        raise ScenarioError(
            label, field, f"no door lies within {limit:g} m of the street network: {hint}"
        )
    return f"doors: {100 * near:.0f} % within {limit:g} m of the network"


def preflight(
    scenario: Scenario, *, label: str, memory_check: bool = True, world: World | None = None
) -> Preflight:
    """Every check a run of ``scenario`` makes, without simulating (see the module docstring).

    Raises
    ------
    ScenarioError, NetworkError
        The first problem found, in one line naming the file and the field.
    """
    size = check_size(scenario, label=label, memory_check=memory_check)
    checks = [f"size: {size.describe()}"]
    if world is None:
        world = build_world(scenario, label=label)
    checks.append(
        f"network: {world.graph.number_of_nodes():,} nodes, {world.graph.number_of_edges():,} "
        f"edges; hubs within {max(world.hub_snap_m.values()):.0f} m of it"
    )
    checks.append(_check_doors(scenario, world, label=label))
    streets = scenario.streets
    if streets.closures:
        windows = closure_windows(world.graph, streets.closures, scenario.simulation.date,
                                  label=label)  # fmt: skip
        checks.append(f"closures: {len(streets.closures)} found on the network, "
                      f"{len(windows)} windows on {scenario.simulation.date}")  # fmt: skip
    if scenario.fleet.van_count:
        vans = world.van_network(scenario)
        checks.append(f"vans: drive network of {vans.graph.number_of_nodes():,} nodes")
    for path in _named_files(scenario):
        if not path.is_file():
            raise ScenarioError(label, None, f"no such file: {path}")
    return Preflight(size, checks)


def _named_files(scenario: Scenario) -> list[Path]:
    files = [scenario.demand.destinations.addresses_file, scenario.demand.destinations.area_file,
             scenario.demand.destinations.points_csv]  # fmt: skip
    if scenario.streets.zones is not None:
        files.append(scenario.streets.zones.file)
    return [Path(path) for path in files if path is not None]
