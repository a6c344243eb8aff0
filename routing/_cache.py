"""On-disk cache helpers for street networks: cache folder, keys, pickled graphs, OSMnx settings.

Nothing here keeps state between calls. The cache folder is always passed in explicitly; the only
place that reads the environment is :func:`default_cache_dir`.

Cache files are written atomically (:func:`carreta.routing.files.write_file_atomic`: a temporary
sibling file, then :func:`os.replace`), so a run that is killed half-way never leaves a truncated
file under the final name, and two processes that fill the same entry at once each write a
complete file.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import pickle
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path

import networkx as nx

from carreta.routing.errors import NetworkError
from carreta.routing.files import write_file_atomic

__all__ = [
    "CACHE_ENV_VAR",
    "cache_key",
    "default_cache_dir",
    "file_sha256",
    "load_or_build_pickle",
    "osmnx_http_cache",
]

logger = logging.getLogger(__name__)

#: Environment variable that overrides the default cache folder.
CACHE_ENV_VAR = "CARRETA_CACHE_DIR"

#: Bump when the content of cached graphs changes (profile rules, attribute names, speeds).
CACHE_FORMAT = 2  # 2: a checked header (see _dump_pickle)

# Errors that mean "this pickle is stale or damaged": rebuild it rather than fail.
_BAD_PICKLE_ERRORS = (
    pickle.UnpicklingError,
    EOFError,
    AttributeError,
    ImportError,
    IndexError,
    TypeError,
    ValueError,
    OSError,
)


def default_cache_dir() -> Path:
    """Return the folder where downloaded and parsed street networks are cached.

    Returns
    -------
    Path
        ``$CARRETA_CACHE_DIR`` if set, else ``$XDG_CACHE_HOME/carreta``, else
        ``~/.cache/carreta``. The folder is not created here.
    """
    override = os.environ.get(CACHE_ENV_VAR)
    if override:
        return Path(override).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "carreta"


def _osmnx_version() -> str:
    """OSMnx's version, read from its installed metadata (importing OSMnx takes a second)."""
    return metadata.version("osmnx")


def cache_key(*parts: object) -> str:
    """Return a short stable hash of ``parts`` (plus the cache format and OSMnx version).

    Parameters
    ----------
    *parts
        JSON-serialisable values that determine the cached content.

    Returns
    -------
    str
        20 hexadecimal characters.
    """
    payload = json.dumps([CACHE_FORMAT, _osmnx_version(), *parts], sort_keys=True, default=str)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:20]


def file_sha256(path: Path) -> str:
    """Return the SHA-256 hex digest of a file's bytes (read in 1 MiB chunks).

    Raises
    ------
    NetworkError
        If the file cannot be read.
    """
    digest = hashlib.sha256()
    try:
        with path.open("rb") as stream:
            for chunk in iter(lambda: stream.read(1 << 20), b""):
                digest.update(chunk)
    except OSError as exc:
        raise NetworkError(f"{path}: cannot read file ({exc.strerror or exc})") from exc
    return digest.hexdigest()


_MAGIC = b"carreta-graph\n"


def _dump_pickle(graph: nx.MultiDiGraph, path: Path, *, entry: str) -> None:
    """Write ``graph`` to ``path`` as a checked cache file for the entry named ``entry``: a
    magic line, a JSON header line (the entry, the payload's SHA-256 and size, node and edge
    counts), then the pickle."""
    payload = pickle.dumps(graph, protocol=pickle.HIGHEST_PROTOCOL)
    header = {
        "entry": entry,
        "sha256": hashlib.sha256(payload).hexdigest(),
        "bytes": len(payload),
        "nodes": graph.number_of_nodes(),
        "edges": graph.number_of_edges(),
    }
    with path.open("wb") as stream:
        stream.write(_MAGIC + json.dumps(header, sort_keys=True).encode("ascii") + b"\n")
        stream.write(payload)


def _load_checked(path: Path) -> nx.MultiDiGraph:
    """The graph of a cache file written by :func:`_dump_pickle`.

    Raises
    ------
    ValueError
        If the file is not one, was written for another entry, or its payload does not match
        its header (a flipped bit, a truncated or replaced file), or holds an empty graph.
    """
    data = path.read_bytes()
    if not data.startswith(_MAGIC):
        raise ValueError("not a carreta graph cache file")
    end = data.index(b"\n", len(_MAGIC))
    header = json.loads(data[len(_MAGIC) : end])
    payload = data[end + 1 :]
    if header.get("entry") != path.name:
        raise ValueError(f"written for another entry ({header.get('entry')})")
    if len(payload) != header["bytes"] or hashlib.sha256(payload).hexdigest() != header["sha256"]:
        raise ValueError("its content does not match its checksum")
    graph = pickle.loads(payload)
    if not isinstance(graph, nx.MultiDiGraph):
        raise ValueError("it does not hold a MultiDiGraph")
    if graph.number_of_nodes() == 0 or (
        (graph.number_of_nodes(), graph.number_of_edges()) != (header["nodes"], header["edges"])
    ):
        raise ValueError("its graph is empty or not the one its header describes")
    return graph


def load_or_build_pickle(
    path: Path, build: Callable[[], nx.MultiDiGraph]
) -> tuple[nx.MultiDiGraph, bool]:
    """Return the graph cached at ``path``, or build it and store it there.

    The cache folder belongs to the user (like OSMnx's own cache), so unpickling its files is
    trusted once their checksum matches. A damaged, stale, empty or misplaced file (another
    entry's, another profile's) is rebuilt with a warning; a cache that cannot be written only
    logs a warning, because the graph itself was built fine.

    Parameters
    ----------
    path
        Cache file.
    build
        Builds the graph on a cache miss. Its exceptions propagate unchanged.

    Returns
    -------
    tuple of (networkx.MultiDiGraph, bool)
        The graph and whether it came from the cache.
    """
    if path.is_file():
        try:
            graph = _load_checked(path)
        except (*_BAD_PICKLE_ERRORS, KeyError, json.JSONDecodeError, MemoryError) as exc:
            logger.warning("rebuilding cache file %s: %s", path, exc)
        else:
            logger.debug("loaded cached graph %s", path)
            return graph, True
    graph = build()
    try:
        write_file_atomic(path, lambda temporary: _dump_pickle(graph, temporary, entry=path.name))
    except OSError as exc:
        logger.warning("could not write cache file %s (%s)", path, exc)
    return graph, False


@contextmanager
def osmnx_http_cache(folder: Path) -> Iterator[None]:
    """Point OSMnx's HTTP response cache at ``folder`` for the duration of a ``with`` block.

    OSMnx only offers process-wide settings, so this sets ``ox.settings.use_cache`` and
    ``ox.settings.cache_folder`` and restores both afterwards, even on error. It is not
    thread-safe: do not download networks from two threads at once.

    Parameters
    ----------
    folder
        Folder for OSMnx's JSON responses.
    """
    import osmnx as ox  # only when downloading: importing OSMnx takes a second or more

    saved = (ox.settings.use_cache, ox.settings.cache_folder)
    ox.settings.use_cache = True
    ox.settings.cache_folder = str(folder)
    try:
        yield
    finally:
        ox.settings.use_cache, ox.settings.cache_folder = saved
