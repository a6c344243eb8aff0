"""Topology of a street line layer: segment ends clustered into intersections, undershoots
joined, long segments cut (the steps of :func:`carreta.routing.gis.graph_from_lines`).

All functions work in a metric CRS (metres) on GeoDataFrames of line segments whose columns
follow the Montpellier centreline (``LIB_OFF`` name, ``TYPVOI`` street type, ``SENS_CIRCU``
direction, ``IDARC`` id); a column that is missing reads as empty.
"""

from __future__ import annotations

import itertools

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree
from shapely.ops import substring

__all__ = ["cluster_endpoints", "column", "cut_long", "endpoints", "join_undershoots", "text"]


def text(value: object) -> str:
    """A text field stripped of spaces; ``""`` for anything that is not a string (nulls)."""
    return value.strip() if isinstance(value, str) else ""


def cluster_endpoints(points: np.ndarray, tolerance_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Cluster label of each point and the mean position of each cluster.

    Points closer than ``tolerance_m`` (metres) are in one cluster, and so, transitively, are
    their neighbours' neighbours (pairs from a KD-tree, clusters as connected components).
    """
    pairs = cKDTree(points).query_pairs(tolerance_m, output_type="ndarray")
    n = points.shape[0]
    adjacency = coo_matrix(
        (np.ones(pairs.shape[0]), (pairs[:, 0], pairs[:, 1])), shape=(n, n)
    ).tocsr()
    count, labels = connected_components(adjacency, directed=False)
    centre = np.zeros((count, 2))
    np.add.at(centre, labels, points)
    centre /= np.bincount(labels, minlength=count)[:, None]
    return labels, centre


def column(layer: gpd.GeoDataFrame, name: str) -> list[object]:
    """The values of a column as a list; all ``None`` when the layer has no such column."""
    return layer[name].tolist() if name in layer.columns else [None] * len(layer)


def endpoints(geoms: np.ndarray) -> np.ndarray:
    """First then last point of each line (shape ``(2 n, 2)``: all starts, then all ends)."""
    coords = shapely.get_coordinates(geoms)
    last = np.cumsum(shapely.get_num_coordinates(geoms)) - 1
    first = last - shapely.get_num_coordinates(geoms) + 1
    return np.vstack((coords[first], coords[last]))


def join_undershoots(
    segments: gpd.GeoDataFrame, *, tolerance_m: float, join_m: float
) -> tuple[gpd.GeoDataFrame, list[str]]:
    """Link dangling segment ends to the nearest segment within ``join_m`` metres.

    ``segments`` is the metric layer of the segments a profile keeps. A dangling end (an
    intersection of one segment, impasses excepted) within ``join_m`` of another segment not
    touching it gets a straight connector to that segment's nearest point, where the target is
    split (or to the target's end when the nearest point is within ``tolerance_m`` of it; no
    connector when the gap itself is within ``tolerance_m``: the split point joins the end).
    Returns the new layer (split pieces, then connectors with a negative ``IDARC``) and one
    line per join: ``"<street> → <street> (<gap> m)"``.
    """
    geoms = segments.geometry.to_numpy()
    n = len(geoms)
    if join_m <= tolerance_m or n == 0:
        return segments, []
    labels, centre = cluster_endpoints(endpoints(geoms), tolerance_m)
    start, end = labels[:n], labels[n:]
    proper = start != end
    degree = np.bincount(np.concatenate((start[proper], end[proper])), minlength=len(centre))
    impasse = np.array([text(value).upper() == "IMP" for value in column(segments, "TYPVOI")])
    names = [text(value) or "(unnamed)" for value in column(segments, "LIB_OFF")]
    tree = shapely.STRtree(geoms)
    splits: dict[int, list[float]] = {}
    connectors: list[tuple[int, shapely.LineString]] = []
    joins: list[str] = []
    for node in np.flatnonzero(degree == 1):
        (own,) = np.flatnonzero(proper & ((start == node) | (end == node)))
        if impasse[own] or degree[node] != 1:
            continue
        point = shapely.Point(centre[node])
        near = tree.query(point, predicate="dwithin", distance=join_m)
        near = near[(start[near] != node) & (end[near] != node) & proper[near]]
        if near.size == 0:
            continue
        gaps = shapely.distance(geoms[near], point)
        target = int(near[np.argmin(gaps)])
        gap = float(gaps.min())
        line = geoms[target]
        along = float(line.project(point))
        if along <= tolerance_m:
            anchor, landed = line.coords[0], int(start[target])
        elif along >= line.length - tolerance_m:
            anchor, landed = line.coords[-1], int(end[target])
        else:
            anchor, landed = line.interpolate(along).coords[0], -1
            splits.setdefault(target, []).append(along)
        if landed >= 0:
            degree[landed] += 1
        degree[node] += 1
        if gap > tolerance_m or landed >= 0:
            connectors.append((int(own), shapely.LineString([centre[node], anchor])))
        joins.append(f"{names[own]} → {names[target]} ({gap:.1f} m)")
    if not joins:
        return segments, []
    rows = []
    for index in range(n):
        cuts = sorted(splits.get(index, []))
        if not cuts:
            rows.append((index, geoms[index]))
            continue
        bounds = [0.0, *cuts, float(geoms[index].length)]
        rows.extend((index, substring(geoms[index], a, b)) for a, b in itertools.pairwise(bounds))
    pieces = segments.iloc[[index for index, _ in rows]].copy()
    pieces = pieces.set_geometry(gpd.GeoSeries([g for _, g in rows], crs=segments.crs).values)
    links = segments.iloc[[own for own, _ in connectors]].copy()
    links = links.set_geometry(gpd.GeoSeries([g for _, g in connectors], crs=segments.crs).values)
    links["IDARC"] = -np.arange(1, len(links) + 1)
    if "SENS_CIRCU" in links.columns:
        links["SENS_CIRCU"] = "DOUBLE SENS"
    joined = pd.concat([pieces, links], ignore_index=True)
    return gpd.GeoDataFrame(joined, geometry=joined.geometry.name, crs=segments.crs), joins


def cut_long(segments: gpd.GeoDataFrame, max_edge_m: float) -> tuple[gpd.GeoDataFrame, int]:
    """Cut segments longer than ``max_edge_m`` into equal pieces; return the layer and the
    number of cut points (new degree-2 nodes)."""
    geoms = segments.geometry.to_numpy()
    pieces_per_row = np.maximum(np.ceil(shapely.length(geoms) / max_edge_m), 1).astype(int)
    if np.all(pieces_per_row == 1):
        return segments, 0
    rows: list[int] = []
    parts: list[shapely.Geometry] = []
    for index, (line, count) in enumerate(zip(geoms, pieces_per_row, strict=True)):
        if count == 1:
            rows.append(index)
            parts.append(line)
            continue
        bounds = np.linspace(0.0, float(line.length), count + 1)
        for a, b in itertools.pairwise(bounds):
            rows.append(index)
            parts.append(substring(line, float(a), float(b)))
    cut = segments.iloc[rows].copy()
    cut = cut.set_geometry(gpd.GeoSeries(parts, crs=segments.crs).values)
    return cut.reset_index(drop=True), int(np.sum(pieces_per_row - 1))
