"""Hub siting: candidate sites, the demand they serve, and a p-median ranking of k-site sets.

The demand is a sample of doors drawn from the scenario's own destination model (addresses,
circle, points file, ...) with a stream of the plan's seed, snapped to the street network like
the simulation's orders. Travel times from every candidate to every door come from the
:class:`~carreta.routing.Router` of the robots' network (``Router.matrix``). A set of ``k`` sites
costs the demand-weighted mean time from each door to its nearest site (the p-median
objective); every set is enumerated (exact) and ranked. Candidates generated from the demand are
the street nodes nearest the centres of a k-means clustering of the door sample.
"""

from __future__ import annotations

import itertools
import math
import zlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from carreta.sim.model.demand import door_sampler, read_orders
from carreta.sim.model.world import World
from carreta.sim.plan.load import Candidates
from carreta.sim.plan.spec import PlanError
from carreta.sim.scenario.models import Scenario

__all__ = [
    "MAX_COMBINATIONS",
    "DemandSample",
    "Siting",
    "demand_sample",
    "generate_candidates",
    "rank_sites",
    "siting_rng",
]

MAX_COMBINATIONS = 200_000
"""Most k-site sets enumerated exactly."""

KM_PER_DEGREE_LAT = 110.574


@dataclass(frozen=True)
class DemandSample:
    """Doors of the demand: street nodes and their weight (doors per node), with positions."""

    nodes: np.ndarray
    weights: np.ndarray
    lons: np.ndarray
    lats: np.ndarray


@dataclass(frozen=True)
class Siting:
    """The ranking of k-site sets.

    Attributes
    ----------
    candidates
        The candidate sites.
    candidate_nodes
        Street node of each candidate (snapped).
    demand
        The demand sample.
    times_s
        Travel time from each candidate (rows) to each demand node (columns), seconds.
    ranking
        One row per set, best first: ``rank``, ``sites`` (ids joined by '+'), ``indices``
        (tuple), ``mean_time_s`` (demand-weighted mean time to the nearest site of the set),
        ``cost_eur_per_day`` (the sites' costs summed).
    """

    candidates: Candidates
    candidate_nodes: np.ndarray
    demand: DemandSample
    times_s: np.ndarray
    ranking: pd.DataFrame

    def catchment(self, indices: tuple[int, ...]) -> np.ndarray:
        """For each demand node, the position in ``indices`` of its nearest site."""
        return np.argmin(self.times_s[list(indices)], axis=0)


def siting_rng(seed: int) -> np.random.Generator:
    """The plan's siting stream (demand sample, k-means), independent of the runs' streams."""
    key = zlib.crc32(b"plan-siting")
    return np.random.default_rng(np.random.SeedSequence(entropy=seed, spawn_key=(key,)))


def demand_sample(scenario: Scenario, world: World, *, count: int, seed: int) -> DemandSample:
    """Doors where the scenario's parcels go: ``count`` drawn from its destination model (or the
    orders of its orders file), snapped to the street network and counted per node."""
    demand = scenario.demand
    if demand.generates_orders:
        draw = door_sampler(
            demand.destinations, world.node_lonlat, cache_dir=scenario.network.cache_dir
        )
        lons, lats = draw(count, siting_rng(seed))
        snapped = world.snapper.snap(lons, lats)
        keep = snapped.distance_m <= demand.destinations.max_snap_distance_m
        nodes = snapped.nodes[keep]
    else:
        orders = read_orders(scenario, world.snapper)
        nodes = np.array([order.node for order in orders], dtype=np.int64)
    if nodes.shape[0] == 0:
        raise PlanError("<plan>", "hubs", "the demand model gives no door on the network")
    unique, weights = np.unique(nodes, return_counts=True)
    node_ids, node_lons, node_lats = world.node_lonlat
    position = {int(node): index for index, node in enumerate(node_ids)}
    at = np.array([position[int(node)] for node in unique])
    return DemandSample(unique, weights.astype(float), node_lons[at], node_lats[at])


def generate_candidates(
    scenario: Scenario, world: World, *, count: int, sample: int, seed: int
) -> Candidates:
    """``count`` candidate sites at the street nodes nearest the k-means centres of the doors."""
    from scipy.cluster.vq import kmeans2

    doors = demand_sample(scenario, world, count=sample, seed=seed)
    if doors.nodes.shape[0] < count:
        raise PlanError(
            "<plan>", "hubs.generate.n", f"the demand reaches only {doors.nodes.shape[0]} nodes"
        )
    lat0 = float(np.mean(doors.lats))
    scale = math.cos(math.radians(lat0))
    points = np.repeat(
        np.column_stack([doors.lons * scale, doors.lats]), doors.weights.astype(int), axis=0
    )
    centres, _ = kmeans2(points, count, minit="++", seed=siting_rng(seed + 1))
    centres = centres[np.lexsort((centres[:, 0], centres[:, 1]))]  # south to north: stable ids
    snapped = world.snapper.snap(centres[:, 0] / scale, centres[:, 1])
    node_ids, node_lons, node_lats = world.node_lonlat
    position = {int(node): index for index, node in enumerate(node_ids)}
    at = np.array([position[int(node)] for node in snapped.nodes])
    return Candidates(
        ids=tuple(f"site-{index + 1}" for index in range(count)),
        lons=node_lons[at],
        lats=node_lats[at],
        cost_eur_per_day=np.zeros(count),
    )


def rank_sites(
    candidates: Candidates, world: World, demand: DemandSample, *, k: int, speed_kph: float
) -> Siting:
    """Rank every set of ``k`` candidates by the p-median objective (exact enumeration).

    Raises
    ------
    PlanError
        If there are more than :data:`MAX_COMBINATIONS` sets, or a door is unreachable from
        every candidate.
    """
    n = len(candidates.ids)
    total = math.comb(n, k)
    if total > MAX_COMBINATIONS:
        raise PlanError(
            "<plan>", "hubs.k", f"{total:,} sets of {k} among {n} candidates: at most "
            f"{MAX_COMBINATIONS:,} are enumerated (fewer candidates or a smaller k)",
        )  # fmt: skip
    snapped = world.snapper.snap(candidates.lons, candidates.lats)
    router = world.router(speed_kph)
    times = np.asarray(router.matrix(snapped.nodes.tolist(), demand.nodes.tolist()), dtype=float)
    if not np.isfinite(times).any(axis=0).all():
        raise PlanError("<plan>", "hubs", "some doors cannot be reached from any candidate site")
    weights = demand.weights / demand.weights.sum()
    rows = []
    for indices in itertools.combinations(range(n), k):
        nearest = times[list(indices)].min(axis=0)
        mean = float(np.sum(np.where(np.isfinite(nearest), nearest, np.inf) * weights))
        rows.append(
            {
                "sites": "+".join(candidates.ids[i] for i in indices),
                "indices": indices,
                "mean_time_s": mean,
                "cost_eur_per_day": float(sum(candidates.cost_eur_per_day[i] for i in indices)),
            }
        )
    ranking = pd.DataFrame(rows).sort_values(
        ["mean_time_s", "cost_eur_per_day", "sites"], kind="stable"
    )
    ranking.insert(0, "rank", np.arange(1, len(ranking) + 1))
    return Siting(candidates, snapped.nodes, demand, times, ranking.reset_index(drop=True))
