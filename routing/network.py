"""Load a street network from a local file, a place name or a bounding box, profiled and cached.

:func:`load_graph` is the one entry point. It returns an OSMnx ``nx.MultiDiGraph`` in EPSG:4326
with OSMnx's attribute names (``length`` m, ``travel_time`` s, ``speed_kph``, ``geometry``,
``highway``, ``name``, node ``x``/``y`` in degrees), reduced to its largest strongly connected
component by :func:`~carreta.routing.profile.apply_profile`.

Caching (all under one cache folder, see :func:`~carreta.routing._cache.default_cache_dir`):

- OSM XML files: the parsed graph is pickled under ``graphs/``, keyed by the file's SHA-256,
  ``simplify`` and the OSMnx version, and so is the profiled graph (key plus profile). Parsing
  the Montpellier extract takes about 5 s; a cache hit takes a fraction of a second.
- Places and bounding boxes: OSMnx's HTTP cache goes to ``osmnx/`` during the download, and the
  downloaded graph is saved as GraphML under ``graphs/`` keyed by (query, OSM filter, simplify),
  so a second call needs no network at all.
"""

from __future__ import annotations

import logging
import math
import os
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path
from typing import Final

import networkx as nx

from carreta.routing._cache import (
    cache_key,
    default_cache_dir,
    file_sha256,
    load_or_build_pickle,
    osmnx_http_cache,
)
from carreta.routing.errors import NetworkError
from carreta.routing.files import write_file_atomic
from carreta.routing.gis import GIS_SUFFIXES, load_gis_graph
from carreta.routing.profile import (
    NetworkReport,
    Profile,
    apply_profile,
    check_profile,
    graph_report,
    load_profiled,
)

__all__ = ["NetworkReport", "NetworkSource", "apply_profile", "graph_report", "load_graph"]

logger = logging.getLogger(__name__)

#: A file path, a place name (``"Montpellier, France"``) or a bbox (west, south, east, north).
NetworkSource = str | os.PathLike[str] | Sequence[float]

_OSM_XML_SUFFIXES: Final = (".osm", ".osm.bz2", ".xml", ".xml.bz2")
_GRAPHML_SUFFIXES: Final = (".graphml",)
# Suffixes that mark a string as a file name rather than a place name.
_FILE_SUFFIXES: Final = (
    *_OSM_XML_SUFFIXES,
    *_GRAPHML_SUFFIXES,
    ".pbf",
    ".bz2",
    ".gz",
    ".zip",
    ".json",
    ".geojson",
    ".gpkg",
    ".shp",
    ".csv",
    ".txt",
    ".yaml",
    ".yml",
)
#: Overpass filter for robots: every highway OSMnx's "all" network keeps, minus motorways and
#: trunk roads (footways, pedestrian streets, paths and service roads stay).
ROBOT_OSM_FILTER: Final = (
    '["highway"]["area"!~"yes"]["highway"!~"abandoned|construction|no|planned|platform|'
    'proposed|raceway|razed|rest_area|services|motorway|motorway_link|trunk|trunk_link"]'
)
_LOCAL_EXTRACT_HINT: Final = (
    "pass a local OSM extract such as ../shared/data/osm/montpellier_drive_2024-10-30.osm.bz2 "
    "or set network.osm_file in the scenario"
)


def _one_line(exc: BaseException, *, limit: int = 200) -> str:
    text = " ".join(f"{type(exc).__name__}: {exc}".split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _looks_like_path(text: str) -> bool:
    if "/" in text or os.sep in text or Path(text).exists():
        return True
    return text.lower().endswith(_FILE_SUFFIXES)


def _parse_osm_xml(path: Path, *, simplify: bool) -> nx.MultiDiGraph:
    """Parse an OSM XML file with OSMnx, turning every failure into a one-line NetworkError."""
    import osmnx as ox  # importing OSMnx takes a second or more: only when parsing
    from osmnx._errors import InsufficientResponseError

    logger.info("parsing OSM XML %s (simplify=%s)", path, simplify)
    try:
        graph = ox.graph_from_xml(path, simplify=simplify, retain_all=True)
    except ET.ParseError as exc:
        raise NetworkError(f"{path}: not an OSM XML file ({exc})") from exc
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise NetworkError(f"{path}: cannot read OSM XML ({_one_line(exc)})") from exc
    except InsufficientResponseError as exc:  # no <node>/<way> elements: empty, or not OSM
        raise NetworkError(
            f"{path}: no OSM elements in this file (empty, or XML that is not OSM data)"
        ) from exc
    if graph.number_of_edges() == 0:
        raise NetworkError(f"{path}: no streets in this file (the OSM data has no usable ways)")
    return graph


def _load_graphml(path: Path) -> nx.MultiDiGraph:
    import osmnx as ox

    try:
        graph = ox.load_graphml(path)
    except ET.ParseError as exc:
        raise NetworkError(f"{path}: not a GraphML file ({exc})") from exc
    except (nx.NetworkXError, KeyError, ValueError, TypeError, OSError) as exc:
        raise NetworkError(f"{path}: cannot load GraphML ({_one_line(exc)})") from exc
    if not isinstance(graph, nx.MultiDiGraph):
        raise NetworkError(f"{path}: GraphML does not hold a directed multigraph")
    _check_graphml(path, graph)
    return graph


def _check_graphml(path: Path, graph: nx.MultiDiGraph) -> None:
    """Raise a :class:`NetworkError` naming ``path`` and the first node or edge whose
    coordinates or length a street network cannot have."""
    if graph.number_of_edges() == 0:
        raise NetworkError(f"{path}: no streets in this GraphML file")
    for node, data in graph.nodes(data=True):
        x, y = data.get("x"), data.get("y")
        if not (isinstance(x, float | int) and isinstance(y, float | int)) or not (
            -180.0 <= x <= 180.0 and -90.0 <= y <= 90.0
        ):
            raise NetworkError(
                f"{path}: node {node} has no longitude/latitude x, y in degrees (x={x!r}, y={y!r})"
            )
    for u, v, key, length in graph.edges(keys=True, data="length"):
        if not isinstance(length, float | int) or not math.isfinite(length) or length < 0:
            raise NetworkError(
                f"{path}: edge ({u}, {v}, {key}) has an invalid length {length!r} "
                "(metres, a finite number ≥ 0)"
            )


def _load_osm_file(
    path: Path, *, profile: Profile, simplify: bool, robot_speed_kph: float, cache_dir: Path
) -> nx.MultiDiGraph:
    digest = file_sha256(path)
    folder = cache_dir / "graphs"
    raw_file = folder / f"osm-{cache_key('osm', digest, simplify)}.pickle"
    profiled_file = folder / f"osm-{profile}-{cache_key('osm', digest, simplify, profile)}.pickle"

    def build_profiled() -> nx.MultiDiGraph:
        raw, raw_hit = load_or_build_pickle(
            raw_file, lambda: _parse_osm_xml(path, simplify=simplify)
        )
        logger.debug("raw graph of %s from cache: %s", path, raw_hit)
        graph, _ = apply_profile(raw, profile, robot_speed_kph=robot_speed_kph, source=str(path))
        return graph

    return load_profiled(
        path, profiled_file, build_profiled, profile=profile, robot_speed_kph=robot_speed_kph
    )


def _load_file(
    path: Path, *, profile: Profile, simplify: bool, robot_speed_kph: float, cache_dir: Path
) -> nx.MultiDiGraph:
    if not path.exists():
        raise NetworkError(f"{path}: no such file")
    if not path.is_file():
        raise NetworkError(f"{path}: not a file (expected an OSM XML or GraphML file)")
    name = path.name.lower()
    if name.endswith(_OSM_XML_SUFFIXES):
        return _load_osm_file(
            path,
            profile=profile,
            simplify=simplify,
            robot_speed_kph=robot_speed_kph,
            cache_dir=cache_dir,
        )
    if name.endswith(_GRAPHML_SUFFIXES):
        graph, _ = apply_profile(
            _load_graphml(path), profile, robot_speed_kph=robot_speed_kph, source=str(path)
        )
        return graph
    if name.endswith(GIS_SUFFIXES):
        return load_gis_graph(
            path, profile=profile, robot_speed_kph=robot_speed_kph, cache_dir=cache_dir
        )
    if name.endswith(".pbf"):
        raise NetworkError(
            f"{path}: OSM PBF is not supported; convert it to OSM XML first "
            f"(e.g. osmium cat {path.name} -o extract.osm.bz2)"
        )
    raise NetworkError(
        f"{path}: unknown network file type (expected .osm, .osm.bz2, .xml, .graphml or a GIS "
        "line layer: .zip, .shp, .gpkg, .geojson)"
    )


def _check_bbox(bbox: object) -> tuple[float, float, float, float]:
    if not isinstance(bbox, Sequence) or isinstance(bbox, str):
        raise NetworkError(f"invalid bbox {bbox!r}: expected (west, south, east, north)")
    try:
        west, south, east, north = (float(value) for value in bbox)
    except (TypeError, ValueError) as exc:
        raise NetworkError(f"invalid bbox {bbox!r}: expected (west, south, east, north)") from exc
    if not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
        raise NetworkError(
            f"invalid bbox {bbox!r}: expected (west, south, east, north) in degrees "
            "with west < east and south < north"
        )
    return west, south, east, north


def _osm_filter(profile: Profile) -> tuple[str, str | None]:
    """Return OSMnx's ``(network_type, custom_filter)`` for downloads of a profile."""
    if profile == "van":
        return "drive", None
    return "all", ROBOT_OSM_FILTER


def _download(
    query: str | tuple[float, float, float, float],
    *,
    label: str,
    profile: Profile,
    simplify: bool,
    cache_dir: Path,
) -> nx.MultiDiGraph:
    """Download a place or bbox through OSMnx once; later calls read the cached GraphML."""
    network_type, custom_filter = _osm_filter(profile)
    osm_filter = {"network_type": network_type, "custom_filter": custom_filter}
    kind = "place" if isinstance(query, str) else "bbox"
    cached = cache_dir / "graphs" / f"{kind}-{cache_key(kind, query, osm_filter, simplify)}.graphml"
    if cached.is_file():
        try:
            graph = _load_graphml(cached)
        except NetworkError as exc:
            logger.warning("ignoring unreadable cache file %s (%s)", cached, exc)
        else:
            logger.info("loaded %s from cache %s", label, cached)
            return graph

    import osmnx as ox
    from osmnx._errors import InsufficientResponseError, ResponseStatusCodeError

    logger.info("downloading %s from OpenStreetMap (%s)", label, osm_filter)
    try:
        with osmnx_http_cache(cache_dir / "osmnx"):
            if isinstance(query, str):
                graph = ox.graph_from_place(
                    query,
                    network_type=network_type,
                    custom_filter=custom_filter,
                    simplify=simplify,
                    retain_all=True,
                )
            else:
                graph = ox.graph_from_bbox(
                    query,
                    network_type=network_type,
                    custom_filter=custom_filter,
                    simplify=simplify,
                    retain_all=True,
                )
    except InsufficientResponseError as exc:
        raise NetworkError(f"found no streets for {label} in OpenStreetMap ({exc})") from exc
    except (OSError, ResponseStatusCodeError) as exc:  # requests' errors are OSErrors
        raise NetworkError(
            f"could not download {label} (offline?): {_LOCAL_EXTRACT_HINT} [{_one_line(exc)}]"
        ) from exc
    except (TypeError, ValueError) as exc:  # e.g. a place that geocodes to a point
        raise NetworkError(f"cannot use {label} as a street network ({_one_line(exc)})") from exc

    try:
        write_file_atomic(cached, lambda temporary: ox.save_graphml(graph, temporary))
    except OSError as exc:
        logger.warning("could not write cache file %s (%s)", cached, exc)
    return graph


def load_graph(
    source: NetworkSource,
    *,
    profile: Profile = "robot",
    simplify: bool = True,
    robot_speed_kph: float = 6.0,
    cache_dir: str | os.PathLike[str] | None = None,
) -> nx.MultiDiGraph:
    """Load a street network and prepare it for a movement profile.

    Parameters
    ----------
    source
        One of:

        - a path (``str`` or ``Path``) to an OSM XML file (``.osm``, ``.osm.bz2``, ``.xml``,
          ``.xml.bz2``, read with ``ox.graph_from_xml``) or a GraphML file (``.graphml``, read
          with ``ox.load_graphml``);
        - a GIS line layer (``.zip`` shapefile archive, ``.shp``, ``.gpkg``, ``.geojson``),
          such as the city's street centreline, joined into a graph by
          :func:`carreta.routing.gis.graph_from_lines` (robots: every street but motorways and
          tunnels; vans: streets open to motor traffic, one-way rules from ``SENS_CIRCU``);
        - a place name such as ``"Montpellier, France"``, downloaded with
          ``ox.graph_from_place``;
        - a bbox ``(west, south, east, north)`` in degrees, downloaded with
          ``ox.graph_from_bbox``.

        Downloads use the ``drive`` network for vans and, for robots, every highway except
        motorways and trunk roads (:data:`ROBOT_OSM_FILTER`). A string counts as a path if it
        contains ``/``, exists, or ends with a file extension such as ``.osm``.
    profile
        ``"robot"`` or ``"van"``; see :func:`~carreta.routing.profile.apply_profile`.
    simplify
        Simplify the graph topology (OSMnx); ``False`` keeps every OSM node.
    robot_speed_kph
        Robot speed in km/h (robot profile only).
    cache_dir
        Cache folder; default ``$CARRETA_CACHE_DIR`` or ``~/.cache/carreta``.

    Returns
    -------
    networkx.MultiDiGraph
        The profiled graph (EPSG:4326); its :class:`NetworkReport` is stored as a plain dict in
        ``G.graph["carreta_report"]`` (read it with :func:`graph_report`).

    Raises
    ------
    NetworkError
        One line naming the source: missing file, not OSM XML/GraphML, unknown file type, no
        streets, invalid bbox or profile, or a download that failed (offline) with no cached
        copy.
    """
    check_profile(profile, robot_speed_kph)
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    if isinstance(source, os.PathLike) or (isinstance(source, str) and _looks_like_path(source)):
        return _load_file(
            Path(source),
            profile=profile,
            simplify=simplify,
            robot_speed_kph=robot_speed_kph,
            cache_dir=cache,
        )
    if isinstance(source, str):
        if not source.strip():
            raise NetworkError("empty network source: give a file path, a place name or a bbox")
        raw = _download(
            source, label=repr(source), profile=profile, simplify=simplify, cache_dir=cache
        )
        label = source
    elif isinstance(source, Sequence):
        bbox = _check_bbox(source)
        label = "bbox({:.6f}, {:.6f}, {:.6f}, {:.6f})".format(*bbox)
        raw = _download(bbox, label=label, profile=profile, simplify=simplify, cache_dir=cache)
    else:
        raise NetworkError(
            f"unsupported network source {source!r}: give a file path, a place name or a bbox"
        )
    graph, _ = apply_profile(raw, profile, robot_speed_kph=robot_speed_kph, source=label)
    return graph
