"""The plan file: a planner's question as data — what to meet, what to change, what to spend.

A plan file (YAML) names a ``base`` scenario, a ``target`` on one KPI at a confidence level,
the decision variables and a budget::

    name: fleet-size
    base: ../montpellier_centre.yaml     # relative to the plan file
    seed: 2026                           # replicate seeds derive from it (as in sweeps)
    target:
      kpi: on_time_share
      at_least: 0.95                     # or at_most
      confidence: 0.90
    objective: robots                    # or a KPI to minimise among the configurations that
                                         # meet the target (cost_per_delivery_eur)
    search:                              # the monotone variable, bisected over whole numbers
      path: fleet.robots[0].count
      range: [8, 24]
    grid:                                # other decision variables: every value is tried
      operations.supervision.robots_per_operator: [1, 2]
      hubs[*].chargers: [10, 20]         # hubs[*]: the same value at every hub
    hubs:                                # hub siting (optional)
      k: 2
      candidates: candidates.csv         # columns lon, lat (id, cost_eur_per_day optional)
      simulate_best: 3
    replicates: {initial: 3, step: 2, max: 9}
    budget: {max_runs: 200}

The sequential rule, the search and the outputs are described in ``docs/plans.md``. This
module is pure (no files except the plan itself): :mod:`carreta.sim.plan.load` checks the plan
against its base scenario.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, JsonValue, model_validator

from carreta.sim.errors import ScenarioError
from carreta.sim.output.kpi_definitions import KPI_BY_NAME
from carreta.sim.scenario.types import Number, ScenarioPath, Section, WholeNumber
from carreta.sim.sweep.spec import safe_name

__all__ = [
    "ALL_HUBS",
    "HubSiting",
    "PlanError",
    "PlanSpec",
    "Replicates",
    "SearchVariable",
    "Target",
]


ALL_HUBS = "hubs[*]."
"""Prefix of a decision path applied to every hub of the scenario (``hubs[*].chargers``)."""

ROBOTS_OBJECTIVE = "robots"
"""The default objective: the fewest robots (the search variable's value)."""


class PlanError(ScenarioError):
    """A plan file cannot be read or does not describe a valid plan.

    ``str(error)`` is one line ``"<plan file>: <field>: <problem>"``, like
    :class:`~carreta.sim.errors.ScenarioError` (of which it is a subclass).
    """


def _known_kpi(value: str) -> str:
    if value not in KPI_BY_NAME:
        raise ValueError(f"unknown KPI {value!r} (see docs/kpis.md)")
    return value


KpiName = Annotated[str, AfterValidator(_known_kpi)]


class Target(Section):
    """What the recommendation must meet: one KPI above (or below) a threshold, with confidence.

    The KPI's interval is the two-sided ``confidence`` interval of
    :func:`carreta.sim.output.statistics.replicate_intervals`, over the replicates' values
    (Student-t, ``interval: replicates``) or with the house method (``pooled``: one Wilson
    interval of every replicate's orders for shares of orders). A configuration meets the
    target when that interval lies wholly on the right side of the threshold.
    """

    kpi: KpiName = Field(description="KPI the target is on (a name of docs/kpis.md).")
    at_least: Number | None = Field(
        default=None, description="Threshold the KPI must reach (shares as fractions: 0.95)."
    )
    at_most: Number | None = Field(
        default=None, description="Threshold the KPI must not exceed (instead of at_least)."
    )
    confidence: Number = Field(
        default=0.9, gt=0.5, lt=1.0, description="Confidence level of the KPI's interval."
    )
    interval: Literal["replicates", "pooled"] = Field(
        default="replicates",
        description=(
            "replicates: Student-t interval of the replicates' values (days vary: the honest "
            "default for a decision about days); pooled: the house method of replicate "
            "intervals (shares of orders pool every replicate's orders into one Wilson "
            "interval, narrower, which treats the orders of a day as independent)."
        ),
    )

    @model_validator(mode="after")
    def _one_threshold(self) -> Target:
        if (self.at_least is None) == (self.at_most is None):
            raise ValueError("give exactly one of at_least and at_most")
        return self

    @property
    def threshold(self) -> float:
        """The threshold, whichever side it is on."""
        value = self.at_least if self.at_least is not None else self.at_most
        assert value is not None
        return float(value)

    @property
    def higher_is_better(self) -> bool:
        """True for ``at_least``."""
        return self.at_least is not None

    def describe(self) -> str:
        """``on_time_share >= 0.95 (90 % confidence)``."""
        sign = ">=" if self.higher_is_better else "<="
        return f"{self.kpi} {sign} {self.threshold:g} ({100 * self.confidence:.0f} % confidence)"


class SearchVariable(Section):
    """The monotone decision variable: more of it never makes the target KPI worse.

    The plan finds its smallest whole value in ``range`` that meets the target, by bisection.
    """

    path: str = Field(
        description=(
            "Scenario field path of a whole number (fleet.robots[0].count, hubs[0].chargers); "
            "hubs[*].chargers sets every hub."
        )
    )
    range: tuple[WholeNumber, WholeNumber] = Field(
        description="[low, high], whole numbers, low < high: the values searched (inclusive)."
    )

    @model_validator(mode="after")
    def _ordered(self) -> SearchVariable:
        low, high = self.range
        if low >= high:
            raise ValueError(f"range: low ({low}) must be less than high ({high})")
        return self


class Replicates(Section):
    """How many replicates a configuration gets: the sequential rule.

    A configuration first runs ``initial`` replicates; while the target KPI's interval still
    straddles the threshold, ``step`` more are added, up to ``max``. At ``max`` an undecided
    configuration is decided by its estimate (and flagged ``undecided``).
    """

    initial: WholeNumber = Field(default=3, ge=1, le=1000, description="First batch.")
    step: WholeNumber = Field(default=2, ge=1, le=1000, description="Replicates added per look.")
    max: WholeNumber = Field(default=9, ge=1, le=1000, description="Most replicates per config.")

    @model_validator(mode="after")
    def _consistent(self) -> Replicates:
        if self.max < self.initial:
            raise ValueError(f"max ({self.max}) must be at least initial ({self.initial})")
        return self


class Budget(Section):
    """Limits on the plan's work."""

    max_runs: WholeNumber = Field(
        default=500,
        ge=1,
        description="Most simulation runs the search may make (held-out and grid checks apart).",
    )


class GenerateCandidates(Section):
    """Candidate hub sites generated on the network from the demand's address density."""

    n: WholeNumber = Field(ge=1, le=100, description="Number of candidate sites.")
    sample: WholeNumber = Field(
        default=2000, ge=10, le=200_000, description="Doors drawn from the demand model."
    )


class HubSiting(Section):
    """Choose ``k`` hub sites among candidates (p-median on the Router's travel times).

    Every chosen site becomes a hub with the base scenario's first hub's settings (chargers,
    loading time, power), and the robot groups are spread over the hubs (``hub: null``).
    """

    k: WholeNumber = Field(ge=1, le=20, description="Number of hubs to open.")
    candidates: ScenarioPath | None = Field(
        default=None,
        description=(
            "CSV of candidate sites: columns lon, lat (degrees), optional id and "
            "cost_eur_per_day; relative to the plan file."
        ),
    )
    generate: GenerateCandidates | None = Field(
        default=None, description="Generate candidates from the demand instead of a file."
    )
    simulate_best: WholeNumber = Field(
        default=3, ge=1, le=50, description="Best-ranked combinations simulated and compared."
    )
    demand_sample: WholeNumber = Field(
        default=2000,
        ge=10,
        le=200_000,
        description="Doors drawn from the demand model to weight the p-median.",
    )

    @model_validator(mode="after")
    def _one_source(self) -> HubSiting:
        if (self.candidates is None) == (self.generate is None):
            raise ValueError("give exactly one of candidates and generate")
        return self


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("must be a finite number")
    return value


class PlanSpec(Section):
    """A plan: the cheapest configuration of a base scenario that meets a target."""

    name: Annotated[str, AfterValidator(safe_name)] | None = Field(
        default=None, description="Short name of the plan; default: the plan file's name."
    )
    description: str = Field(default="", description="Free text describing the question.")
    base: ScenarioPath = Field(description="Scenario file planned for (relative to the plan).")
    seed: WholeNumber = Field(ge=0, description="Plan seed: replicate seeds derive from it.")
    target: Target = Field(description="What the recommendation must meet.")
    objective: str = Field(
        default=ROBOTS_OBJECTIVE,
        description=(
            "Among the configurations meeting the target, the one chosen: 'robots' (the "
            "smallest search value, then the lowest cost per delivery) or a KPI to minimise "
            "(cost_per_delivery_eur, co2_g_per_delivery, ...)."
        ),
    )
    overrides: dict[str, Annotated[JsonValue, AfterValidator(_finite)]] = Field(
        default_factory=dict, description="Field path → value applied to every run."
    )
    search: SearchVariable | None = Field(
        default=None, description="The monotone variable searched by bisection."
    )
    grid: dict[str, Annotated[list[JsonValue], Field(min_length=1)]] = Field(
        default_factory=dict, description="Other decision variables: path → values, all tried."
    )
    hubs: HubSiting | None = Field(default=None, description="Hub siting (optional).")
    replicates: Replicates = Field(default_factory=Replicates, description="Sequential rule.")
    budget: Budget = Field(default_factory=Budget, description="Limits on the work.")
    compare_with: ScenarioPath | None = Field(
        default=None,
        description=(
            "A scenario delivering the same demand otherwise (vans), run with the same "
            "replicate seeds as the recommendation and compared in the summary."
        ),
    )

    @model_validator(mode="after")
    def _something_to_decide(self) -> PlanSpec:
        if self.search is None and not self.grid and self.hubs is None:
            raise ValueError("give at least one of search, grid and hubs: nothing to decide")
        if self.objective != ROBOTS_OBJECTIVE and self.objective not in KPI_BY_NAME:
            raise ValueError(
                f"objective: must be 'robots' or a KPI (see docs/kpis.md), not {self.objective!r}"
            )
        return self

    def decision_paths(self) -> list[str]:
        """The decision variables' paths: the search variable's, then the grid's."""
        paths = [self.search.path] if self.search is not None else []
        return [*paths, *self.grid]
