"""Scenario sections for what a fleet operator decides on: supervision, breakdowns and costs.

Every default is either a public figure (named with its source) or an assumption, said so in
the field's description. Everything here is off or neutral by default: a scenario without an
``operations`` section runs exactly as before (no operators, no interventions, no breakdowns);
``costs`` only turn a run's hours, km, kWh and litres into euros.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import Field

from carreta.sim.scenario.types import Number, Section, WholeNumber

__all__ = ["Breakdowns", "Costs", "Operations", "Supervision"]

Positive = Annotated[Number, Field(gt=0.0)]


class Supervision(Section):
    """Remote operators (or walking escorts) who help robots, a scarce shared resource.

    'off': robots are never helped nor held up (the default). 'remote': a pool of operators
    (``operators``, or one per ``robots_per_operator`` robots, rounded up) serves requests for
    help first come, first served. While driving, a robot needs help at random: routine
    interventions at ``interventions_per_km`` and fixed-obstacle take-overs at
    ``takeovers_per_km`` (each a Poisson count on the km of each leg, placed uniformly along the
    leg and taking effect at the next street node — junctions and crossings are where help is
    needed). The robot stops, waits until an operator is free, is helped for the drawn duration,
    then resumes; both times lengthen the leg. 'escort': one walking supervisor per robot, as in
    the first months of the Montpellier Carreta trial: a robot waits at its hub for a free
    escort before each tour, keeps them until it is back, and drives no faster than
    ``walking_speed_kph``; interventions still happen but the escort handles them at once.
    Intervention and take-over durations are lognormal with the given mean and standard
    deviation (a standard deviation of 0 gives a fixed duration). Vans are never supervised.

    The operator count is ``operators`` if given, else the robot count divided by
    ``robots_per_operator``, rounded up.
    """

    mode: Literal["off", "remote", "escort"] = Field(
        default="off", description="Who helps the robots (see above); 'off' models no help."
    )
    operators: WholeNumber | None = Field(
        default=None,
        ge=1,
        description=(
            "Number of operators (or escorts); it takes precedence over robots_per_operator. "
            "None: one per robots_per_operator robots."
        ),
    )
    robots_per_operator: Positive = Field(
        default=3.0,
        description=(
            "Robots per operator when operators is None; the operator count is the robot count "
            "divided by this, rounded up. 3 is the ratio Kiwibot reported in its early "
            "operations (later about 10 robots per supervisor)."
        ),
    )
    interventions_per_km: Number = Field(
        default=0.5,
        ge=0.0,
        description=(
            "Routine requests for remote help (crossing a road, an unclear situation) per km "
            "driven. Assumption: no operator publishes this figure."
        ),
    )
    intervention_mean_s: Positive = Field(
        default=60.0,
        description="Mean duration of a routine intervention, in seconds (assumption).",
    )
    intervention_sd_s: Number = Field(
        default=45.0,
        ge=0.0,
        description="Standard deviation of a routine intervention's duration, s (assumption).",
    )
    takeovers_per_km: Number = Field(
        default=0.1,
        ge=0.0,
        description=(
            "Take-overs per km driven: a fixed obstacle (parked car on the pavement, road works) "
            "the robot cannot pass alone, an operator drives it round. Assumption."
        ),
    )
    takeover_mean_s: Positive = Field(
        default=180.0, description="Mean duration of a take-over, in seconds (assumption)."
    )
    takeover_sd_s: Number = Field(
        default=120.0,
        ge=0.0,
        description="Standard deviation of a take-over's duration, in seconds (assumption).",
    )
    walking_speed_kph: Positive = Field(
        default=5.0,
        description=(
            "For 'escort': the robot drives no faster than this walking pace, in km/h (an "
            "adult walks at about 5 km/h, 1.4 m/s)."
        ),
    )

    def operator_count(self, robots: int) -> int:
        """Operators (or escorts) for a fleet of ``robots`` robots; 0 when mode is 'off' or
        there are no robots."""
        if self.mode == "off" or robots == 0:
            return 0
        if self.operators is not None:
            return self.operators
        return max(math.ceil(robots / self.robots_per_operator - 1e-9), 1)


class Breakdowns(Section):
    """Robot failures: when they happen and how a broken robot gets back into service.

    Failures come with a mean time between failures counted in hours of driving: each robot's
    driving time to its next failure is exponential, drawn again after each repair. A failure
    stops the robot at the next street node of the leg it is driving. Then, after
    ``response_time_s`` (a technician or a recovery van reaches it):

    - 'tow': the robot is towed back to its hub at ``towing_speed_kph`` along the street network,
      and repaired there in ``repair_time_h``;
    - 'repair_in_place': it is repaired on the spot in ``repair_in_place_s`` and drives back to
      its hub (it is towed if its battery cannot take it there).

    Either way, the parcels still on board go back to the hub's waiting queue when the robot
    arrives and are dispatched again (``attempts`` counts each assignment, ``returned`` each
    return). Vans do not break down in this model.
    """

    mean_time_between_failures_h: Positive | None = Field(
        default=None,
        description=(
            "Mean hours of driving between two failures of one robot. None (the default): "
            "robots never fail. Assumption when set: no operator publishes this figure."
        ),
    )
    recovery: Literal["tow", "repair_in_place"] = Field(
        default="tow", description="How a broken robot gets back into service (see above)."
    )
    response_time_s: Number = Field(
        default=1800.0,
        ge=0.0,
        description="Time until help reaches a broken robot, in seconds (assumption: 30 min).",
    )
    towing_speed_kph: Positive = Field(
        default=15.0,
        description="Speed of a tow back to the hub, km/h (assumption: a van in city traffic).",
    )
    repair_time_h: Number = Field(
        default=2.0,
        ge=0.0,
        description="For 'tow': repair time at the hub after the tow, in hours (assumption).",
    )
    repair_in_place_s: Number = Field(
        default=900.0,
        ge=0.0,
        description="For 'repair_in_place': repair time on the spot, in seconds (assumption).",
    )


class Operations(Section):
    """How the fleet is run: who supervises the robots and what happens when one breaks down."""

    supervision: Supervision = Field(
        default_factory=Supervision, description="Remote operators or walking escorts."
    )
    breakdowns: Breakdowns = Field(
        default_factory=Breakdowns, description="Robot failures and their recovery."
    )

    @property
    def enabled(self) -> bool:
        """Whether supervision or breakdowns change anything in a run."""
        failures = self.breakdowns.mean_time_between_failures_h is not None
        return self.supervision.mode != "off" or failures


class Costs(Section):
    """Figures that turn a run into euros: vehicles, staff, maintenance.

    Capital is spread evenly: a vehicle costs ``purchase / (lifetime_years ×
    working_days_per_year)`` per simulated day. Staff (operators, van drivers) and robot operating
    costs are paid for the whole simulated window. Energy prices and emission factors are in the
    ``energy`` section. Defaults are assumptions of the right order of magnitude for France in
    2024; replace them with your own figures.
    """

    working_days_per_year: Annotated[Number, Field(gt=0.0, le=366.0)] = Field(
        default=250.0,
        description="Days a vehicle works per year (assumption: 5 days a week, 2 weeks off).",
    )
    robot_purchase_eur: Number = Field(
        default=25_000.0,
        ge=0.0,
        description=(
            "Price of one robot, EUR. Assumption: TwinswHeel publishes no price; small "
            "pavement robots (Starship, Kiwibot) were reported at a few thousand dollars, a "
            "300 kg droid costs several times more."
        ),
    )
    robot_lifetime_years: Positive = Field(
        default=5.0, description="Years over which a robot is written off (assumption)."
    )
    robot_operating_eur_per_h: Number = Field(
        default=2.0,
        ge=0.0,
        description=(
            "Maintenance, insurance and mobile data per robot and hour in service, EUR/h "
            "(assumption). For scale: Starship reported about 2.6 km and 36 min of robot time "
            "per delivery, so each EUR/h costs about 0.6 EUR per delivery at that pace."
        ),
    )
    operator_wage_eur_per_h: Number = Field(
        default=25.0,
        ge=0.0,
        description=(
            "Cost of one remote operator or escort per hour, employer contributions included, "
            "EUR/h (assumption: about 1.5 times a French gross hourly wage of 16 EUR)."
        ),
    )
    driver_wage_eur_per_h: Number = Field(
        default=25.0,
        ge=0.0,
        description="Cost of one van driver per hour, contributions included, EUR/h (assumption).",
    )
    diesel_van_purchase_eur: Number = Field(
        default=30_000.0,
        ge=0.0,
        description="Price of a compact diesel van, EUR excluding VAT (assumption).",
    )
    electric_van_purchase_eur: Number = Field(
        default=40_000.0,
        ge=0.0,
        description="Price of a compact electric van, EUR excluding VAT (assumption).",
    )
    van_lifetime_years: Positive = Field(
        default=6.0, description="Years over which a van is written off (assumption)."
    )
    van_maintenance_eur_per_km: Number = Field(
        default=0.08,
        ge=0.0,
        description="Tyres, servicing and repairs per van km, EUR/km (assumption).",
    )
