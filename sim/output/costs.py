"""Cost and CO2 arithmetic of a simulated day: plain functions, testable without SimPy.

A day's cost has three parts, each from the run's tables and the scenario's ``costs`` and
``energy`` sections:

- vehicles: capital spread over the vehicle's working days (``purchase / (lifetime_years ×
  working_days_per_year)`` per vehicle and day), robot operating cost per robot-hour of the
  simulated window, van maintenance per km;
- staff: operators (or escorts) and van drivers, paid for the whole simulated window;
- energy: grid electricity (robots and electric vans, at the charging efficiency) and diesel.

CO2e counts energy only (grid factor per kWh, well-to-wheel factor per litre of diesel), not
the making of vehicles or batteries.
"""

from __future__ import annotations

from dataclasses import dataclass

from carreta.sim.scenario.operations import Costs
from carreta.sim.scenario.sections import Energy

__all__ = ["DayCosts", "FleetDay", "co2e_kg", "daily_capital_eur", "day_costs"]


@dataclass(frozen=True, slots=True)
class FleetDay:
    """What a fleet used over one simulated window.

    Attributes
    ----------
    window_h
        Length of the simulated window, hours.
    robots
        Robots in the fleet.
    operators
        Remote operators or escorts on shift.
    diesel_vans, electric_vans
        Vans of each energy source (each with one driver).
    van_km
        Km driven by all vans.
    grid_kwh
        Electricity drawn from the grid for the km driven (robots and electric vans), kWh.
    diesel_l
        Diesel burnt by the vans, litres.
    """

    window_h: float
    robots: int
    operators: int
    diesel_vans: int
    electric_vans: int
    van_km: float
    grid_kwh: float
    diesel_l: float


@dataclass(frozen=True, slots=True)
class DayCosts:
    """A simulated window's costs in EUR, by part."""

    vehicles_eur: float
    staff_eur: float
    energy_eur: float

    @property
    def total_eur(self) -> float:
        """All costs, EUR."""
        return self.vehicles_eur + self.staff_eur + self.energy_eur


def daily_capital_eur(purchase_eur: float, lifetime_years: float, days_per_year: float) -> float:
    """A vehicle's purchase price spread evenly over its working days, EUR per day."""
    return purchase_eur / (lifetime_years * days_per_year)


def day_costs(fleet: FleetDay, costs: Costs, energy: Energy) -> DayCosts:
    """The costs of ``fleet``'s window (see the module docstring)."""
    days = costs.working_days_per_year
    robot_day = daily_capital_eur(costs.robot_purchase_eur, costs.robot_lifetime_years, days)
    diesel_day = daily_capital_eur(costs.diesel_van_purchase_eur, costs.van_lifetime_years, days)
    electric_day = daily_capital_eur(
        costs.electric_van_purchase_eur, costs.van_lifetime_years, days
    )
    vehicles = (
        fleet.robots * (robot_day + costs.robot_operating_eur_per_h * fleet.window_h)
        + fleet.diesel_vans * diesel_day
        + fleet.electric_vans * electric_day
        + fleet.van_km * costs.van_maintenance_eur_per_km
    )
    drivers = fleet.diesel_vans + fleet.electric_vans
    staff = fleet.window_h * (
        fleet.operators * costs.operator_wage_eur_per_h + drivers * costs.driver_wage_eur_per_h
    )
    energy_eur = (
        fleet.grid_kwh * energy.energy_price_eur_per_kwh
        + fleet.diesel_l * energy.diesel_price_eur_per_l
    )
    return DayCosts(vehicles_eur=vehicles, staff_eur=staff, energy_eur=energy_eur)


def co2e_kg(grid_kwh: float, diesel_l: float, energy: Energy) -> float:
    """CO2e of the energy used, kg: grid electricity plus diesel (well to wheel)."""
    return grid_kwh * energy.grid_co2_g_per_kwh / 1000.0 + diesel_l * energy.diesel_co2e_kg_per_l
