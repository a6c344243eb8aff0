"""Which doors each robot group can reach, how soon, and with how much energy.

Computed once per run from the hubs' shortest-path trees, for every order of the day at once:
the dispatcher then answers "how long from the hub to this door, and how much energy for the
round trip?" with a list lookup, and knows on arrival whether any robot could ever serve an order.
It uses no information an operator would not have: only each order's own door and weight.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from carreta.sim.model.records import Order
from carreta.sim.model.robot import Robot

# Rejection reasons, in the order they are reported when several robot groups disagree.
REASONS = ("", "over_payload", "no_route", "beyond_range")


@dataclass
class Reach:
    """Per robot group (type × hub) and per order: hub → door seconds and round-trip Wh.

    One float64 array per group (8 bytes an order: 10,000 robots at 50 hubs and 1,000,000
    orders hold 0.8 GB, where lists of Python floats held 3.2 GB).
    """

    group_of: dict[str, int]
    out_s: list[np.ndarray]
    round_trip_wh: list[np.ndarray]
    reasons: list[str]

    def trip(self, robot: Robot, order: Order) -> tuple[float, float] | None:
        """(seconds hub → door, Wh hub → door → hub) for ``robot``; None if unreachable."""
        group = self.group_of[robot.robot_id]
        energy = float(self.round_trip_wh[group][order.seq])
        if energy == float("inf"):
            return None
        return float(self.out_s[group][order.seq]), energy


def build_reach(robots: list[Robot], orders: list[Order]) -> Reach:
    """The :class:`Reach` of ``orders`` (numbered by ``Order.seq``) for the fleet ``robots``."""
    groups: dict[tuple[str, str], int] = {}
    leads: list[Robot] = []
    group_of: dict[str, int] = {}
    for robot in robots:
        key = (robot.spec.type_name, robot.hub.hub_id)
        if key not in groups:
            groups[key] = len(leads)
            leads.append(robot)
        group_of[robot.robot_id] = groups[key]
    weights = np.array([order.weight_kg for order in orders], dtype=float)
    indices: dict[tuple[int, int], np.ndarray] = {}
    out_s, round_trip_wh = [], []
    codes = np.empty((len(leads), len(orders)), dtype=np.int8)
    for g, lead in enumerate(leads):
        router = lead.router
        doors = (id(router), id(lead.doors))  # vans stop at doors of their own network
        index = indices.get(doors)
        if index is None:
            nodes = [lead.door_node(order) for order in orders]
            index = indices[doors] = np.asarray(router.index_of(nodes), dtype=np.int64)
        out = router.tree(lead.hub.node)
        back = router.tree(lead.hub.node, reverse=True)
        length_m = out.length_m[index] + back.length_m[index]
        battery = lead.spec.battery
        reachable = np.isfinite(length_m)
        energy = np.full(len(orders), np.inf)  # stays inf where unreachable (0 Wh/km: diesel)
        energy[reachable] = length_m[reachable] / 1000.0 * battery.consumption_wh_per_km
        out_s.append(np.asarray(out.duration_s[index], dtype=np.float64))
        round_trip_wh.append(energy)
        code = np.zeros(len(orders), dtype=np.int8)
        code[energy > battery.capacity_wh - battery.reserve_wh] = 3
        code[~np.isfinite(length_m)] = 2
        code[weights > lead.spec.payload_kg] = 1
        codes[g] = code
    servable = (codes == 0).any(axis=0) if leads else np.zeros(len(orders), dtype=bool)
    failing = np.where(codes == 0, len(REASONS), codes).min(axis=0) if leads else None
    if failing is None:
        reasons = ["no_robot"] * len(orders)
    else:
        reasons = [
            "" if ok else REASONS[code]
            for ok, code in zip(servable.tolist(), failing.tolist(), strict=True)
        ]
    return Reach(group_of, out_s, round_trip_wh, reasons)
