"""Real delivery addresses: door points drawn from a city's address file.

Montpellier publishes its 36,395 geocoded postal addresses (``VilleMTP_MTP_PointAdresse.zip``,
field ``ADR``: "118, Rue Bernard Blier"). Destinations of kind ``addresses`` draw doors uniformly
among them, optionally only inside named polygons (a pedestrian zone such as MOLIERE, the
Écusson, or a district of ``VilleMTP_MTP_Quartiers.geojson``). Each door is then snapped to the
street network by :func:`carreta.sim.model.demand.generate_orders`; the distance from the street
node to the door (``access_m``) is walked at the stop.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np
import shapely

from carreta.routing.errors import NetworkError
from carreta.routing.gis import read_layer
from carreta.routing.zones import read_zones
from carreta.sim.errors import ScenarioError
from carreta.sim.scenario.demand import Destinations

__all__ = ["address_points", "address_sampler"]

logger = logging.getLogger(__name__)


def address_points(destinations: Destinations) -> tuple[np.ndarray, np.ndarray]:
    """Longitudes and latitudes (EPSG:4326) of the addresses the destinations allow.

    Raises
    ------
    ScenarioError
        Naming the file and field: unreadable file, no points, an unknown area name, or no
        address inside the areas.
    """
    path = destinations.addresses_file
    assert path is not None
    try:
        layer = read_layer(path)
    except NetworkError as exc:
        raise ScenarioError(str(path), None, str(exc).removeprefix(f"{path}: ")) from None
    layer = layer[layer.geometry.notna() & (layer.geom_type == "Point")].to_crs(4326)
    if layer.empty:
        raise ScenarioError(str(path), None, "no address points in this file")
    lons, lats = layer.geometry.x.to_numpy(), layer.geometry.y.to_numpy()
    if destinations.area_file is not None:
        area = destinations.area_file
        try:
            zones = read_zones(area, names=destinations.area_names)
        except NetworkError as exc:
            field = "area_names" if "no zone named" in str(exc) else None
            raise ScenarioError(str(area), field, str(exc).removeprefix(f"{area}: ")) from None
        region = shapely.union_all([zone.polygon for zone in zones])
        inside = shapely.contains_xy(region, lons, lats)
        lons, lats = lons[inside], lats[inside]
        if lons.shape[0] == 0:
            raise ScenarioError(str(area), "area_names", "no address lies inside these areas")
    logger.info("%s: %d addresses to draw doors from", path, lons.shape[0])
    return lons, lats


def address_sampler(
    destinations: Destinations,
) -> Callable[[int, np.random.Generator], tuple[np.ndarray, np.ndarray]]:
    """A function drawing ``count`` doors (lons, lats) uniformly among the allowed addresses."""
    lons, lats = address_points(destinations)

    def draw(count: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        pick = rng.integers(0, lons.shape[0], size=count)
        return lons[pick], lats[pick]

    return draw
