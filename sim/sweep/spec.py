"""The sweep file: which scenario variants to run, and how they expand into concrete runs.

A sweep file (YAML) names a ``base`` scenario and the parameters to vary, as dotted scenario
field paths (the same paths as :func:`carreta.sim.scenario.models.apply_overrides`)::

    name: fleet-size
    base: tiny.yaml                  # relative to the sweep file
    seed: 2026                       # the sweep seed
    replicates: 3
    overrides:                       # applied to every run (not varied)
      demand.orders_per_day: 40
    grid:                            # full factorial
      fleet.robots[0].count: [2, 3, 4]
      dispatch.policy: [nearest_idle, batch]
    sample:                          # crossed with the grid, if both are given
      method: lhs                    # or random
      n: 8
      ranges:
        hubs[0].loading_time_per_parcel_s: [10.0, 60.0]   # floats: uniform in [low, high)
        fleet.robots[0].parcel_slots: [4, 24]             # integers: low..high inclusive

Reproducibility rules (also in ``docs/sweeps.md``):

- a run's id is a short SHA-256 of the canonical JSON of its varied parameters and replicate, so
  it does not depend on the other runs of the sweep, nor on the order of the file's keys;
- a run's seed depends only on the sweep seed and its replicate: every parameter combination of
  one replicate sees the same random numbers (common random numbers, for paired comparisons);
- sample points come from their own stream derived from the sweep seed.

This module is pure (no files, no scenario): :mod:`carreta.sim.sweep.load` reads and checks the
file.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
import re
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import AfterValidator, Field, JsonValue, PlainValidator

from carreta.sim.errors import ScenarioError
from carreta.sim.scenario.types import ScenarioPath, Section, WholeNumber

__all__ = [
    "SampleSpec",
    "SweepError",
    "SweepRun",
    "SweepSpec",
    "canonical_json",
    "expand_runs",
    "parameter_combinations",
    "replicate_seed",
    "run_id",
    "sample_points",
]

RUN_ID_LENGTH = 12
"""Hex digits of SHA-256 kept in a run id (48 bits: collisions are negligible)."""

_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"


class SweepError(ScenarioError):
    """A sweep file cannot be read or does not describe a valid sweep.

    ``str(error)`` is one line ``"<sweep file>: <field>: <problem>"``, like
    :class:`~carreta.sim.errors.ScenarioError` (of which it is a subclass).
    """


def safe_name(value: str) -> str:
    """A sweep's or plan's name, used in folder names: checked against ``_NAME_PATTERN``."""
    if not re.match(_NAME_PATTERN, value):
        raise ValueError(
            "must be 1 to 64 letters, digits, '-', '_' or '.', starting with a letter or digit"
        )
    return value


def _bound(value: Any) -> int | float:
    """Accept an integer or a finite real number as it is (integers stay integers)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"must be a number, not {value!r:.40}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("must be a finite number")
    return value


Bound = Annotated[int | float, PlainValidator(_bound)]
"""A range bound: an integer (integer parameter) or a real number (real parameter)."""


def _ordered(value: tuple[int | float, int | float]) -> tuple[int | float, int | float]:
    low, high = value
    if low > high or (low == high and not _is_integer_range(value)):
        raise ValueError(f"low ({low!r}) must be less than high ({high!r})")
    return value


def _is_integer_range(bounds: tuple[int | float, int | float]) -> bool:
    return all(isinstance(bound, int) for bound in bounds)


Range = Annotated[tuple[Bound, Bound], AfterValidator(_ordered)]


class SampleSpec(Section):
    """Parameters drawn at random within ranges (crossed with the grid, if any).

    A range whose two bounds are integers gives integers from low to high inclusive; otherwise
    reals uniform in [low, high). ``lhs`` is a Latin hypercube (each parameter's range is cut
    into ``n`` strata, one point in each); ``random`` draws independent uniform points.
    """

    method: Literal["random", "lhs"] = Field(
        default="lhs", description="Latin hypercube (lhs) or independent uniform draws (random)."
    )
    n: WholeNumber = Field(ge=1, le=100_000, description="Number of points drawn.")
    ranges: dict[str, Range] = Field(
        min_length=1, description="Field path → [low, high] of each sampled parameter."
    )


class SweepSpec(Section):
    """A parameter sweep over a base scenario (see the module docstring)."""

    name: Annotated[str, AfterValidator(safe_name)] | None = Field(
        default=None, description="Short name of the sweep; default: the sweep file's name."
    )
    description: str = Field(default="", description="Free text describing the sweep.")
    base: ScenarioPath = Field(description="Scenario file varied (relative to the sweep file).")
    seed: WholeNumber = Field(ge=0, description="Sweep seed: run seeds and samples derive from it.")
    replicates: WholeNumber = Field(
        default=1, ge=1, le=10_000, description="Runs of each parameter combination."
    )
    overrides: dict[str, JsonValue] = Field(
        default_factory=dict, description="Field path → value applied to every run."
    )
    grid: dict[str, Annotated[list[JsonValue], Field(min_length=1)]] = Field(
        default_factory=dict, description="Field path → list of values; full factorial."
    )
    sample: SampleSpec | None = Field(default=None, description="Randomly sampled parameters.")

    def parameter_paths(self) -> list[str]:
        """The varied field paths: the grid's, then the sample's, in file order."""
        sampled = list(self.sample.ranges) if self.sample is not None else []
        return [*self.grid, *sampled]


@dataclass(frozen=True)
class SweepRun:
    """One concrete run of a sweep.

    Attributes
    ----------
    run_id
        Stable id: short SHA-256 of the canonical JSON of ``params`` and ``replicate``.
    replicate
        Replicate number, from 0.
    seed
        The run's seed (from the sweep seed and the replicate only).
    params
        Varied field path → value, in :meth:`SweepSpec.parameter_paths` order.
    """

    run_id: str
    replicate: int
    seed: int
    params: dict[str, Any]


def canonical_json(value: object) -> str:
    """JSON with sorted keys and no spaces: the same text for equal data, whatever the order."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def run_id(params: Mapping[str, object], replicate: int) -> str:
    """The stable id of the run of ``params`` (path → value) in replicate ``replicate``."""
    text = canonical_json({"params": dict(params), "replicate": replicate})
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:RUN_ID_LENGTH]


def replicate_seed(sweep_seed: int, replicate: int) -> int:
    """The seed of every run of replicate ``replicate``: 32 bits of SHA-256 of both numbers.

    Runs of one replicate share it whatever their parameters (common random numbers): a
    scenario's demand has its own stream, so fleet or dispatch variants see the same orders.
    """
    digest = hashlib.sha256(f"{sweep_seed}:replicate:{replicate}".encode()).hexdigest()
    return int(digest[:8], 16)


def _sample_rng(sweep_seed: int) -> np.random.Generator:
    """The stream sample points are drawn from, independent of every run's streams."""
    key = zlib.crc32(b"sweep-sample")
    return np.random.default_rng(np.random.SeedSequence(entropy=sweep_seed, spawn_key=(key,)))


def _scale(unit: float, bounds: tuple[int | float, int | float]) -> int | float:
    low, high = bounds
    if _is_integer_range(bounds):
        span = int(high) - int(low) + 1
        return int(low) + min(math.floor(unit * span), span - 1)
    return float(low + unit * (high - low))


def sample_points(sample: SampleSpec, *, sweep_seed: int) -> list[dict[str, int | float]]:
    """Draw the sample's ``n`` points (path → value), reproducibly from the sweep seed.

    With ``random``, the first k points do not depend on ``n``; with ``lhs`` (scipy's
    :class:`~scipy.stats.qmc.LatinHypercube`) every point depends on ``n``.
    """
    from scipy.stats import qmc  # imported here: scipy.stats takes seconds to import

    rng = _sample_rng(sweep_seed)
    paths = list(sample.ranges)
    if sample.method == "lhs":
        units = qmc.LatinHypercube(d=len(paths), rng=rng).random(sample.n)
    else:
        units = rng.random((sample.n, len(paths)))
    return [
        {path: _scale(float(row[j]), sample.ranges[path]) for j, path in enumerate(paths)}
        for row in units
    ]


def parameter_combinations(spec: SweepSpec) -> list[dict[str, Any]]:
    """Every combination of the varied parameters, in expansion order, without duplicates.

    The grid's full factorial (last path varying fastest), each crossed with every sample
    point; a sweep with neither has one empty combination. Identical combinations (integer
    samples can repeat) are kept once.
    """
    grid_paths = list(spec.grid)
    grid = [
        dict(zip(grid_paths, values, strict=True))
        for values in itertools.product(*(spec.grid[path] for path in grid_paths))
    ]
    points: list[dict[str, Any]] = (
        [dict(point) for point in sample_points(spec.sample, sweep_seed=spec.seed)]
        if spec.sample is not None
        else [{}]
    )
    combinations: dict[str, dict[str, Any]] = {}
    for cell in grid:
        for point in points:
            combination = {**cell, **point}
            combinations.setdefault(canonical_json(combination), combination)
    return list(combinations.values())


def expand_runs(spec: SweepSpec) -> list[SweepRun]:
    """The sweep's runs: each combination, then each replicate (the runs table's row order)."""
    return [
        SweepRun(
            run_id=run_id(params, replicate),
            replicate=replicate,
            seed=replicate_seed(spec.seed, replicate),
            params=params,
        )
        for params in parameter_combinations(spec)
        for replicate in range(spec.replicates)
    ]


def describe_value(value: object) -> str:
    """A parameter value as written in messages and tables (JSON, strings unquoted)."""
    return value if isinstance(value, str) else canonical_json(value)


def sweep_label(path: str | os.PathLike[str]) -> str:
    """The default name of a sweep: its file name without extension."""
    return os.path.splitext(os.path.basename(os.fspath(path)))[0]
