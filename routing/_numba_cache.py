"""numba's on-disk cache, made safe for processes that compile the same kernel at the same time.

numba keeps a kernel's compiled versions (one per argument-type signature) in numbered data files,
listed in an index. Its ``save`` picks the first unused number from the index *as it read it*,
writes the index, then the data: two processes compiling two signatures of one kernel at once
(pytest-xdist workers, a sweep's worker processes, Dask workers on one machine, all starting on a
cold cache) can both pick number 1, and the index can end up naming one signature's machine code
for the other — a later process that loads it crashes (numba issue #4807, open since 2019).

Here each signature's data file is named by a hash of the cache key (the signature, the target
machine and the hash of the kernel's code), and written before the index: an index entry only
ever names a finished file holding that very entry's code. Two processes that update the index at
once may still drop one of their entries, which costs one recompilation, never a wrong load.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any


def _keyed_cache_file_class() -> type | None:
    try:
        from numba.core.caching import IndexDataCacheFile
    except ImportError:  # pragma: no cover - numba missing or its internals moved
        return None

    class KeyedCacheFile(IndexDataCacheFile):
        """:class:`numba.core.caching.IndexDataCacheFile` with data files named by their key."""

        def save(self, key: object, data: object) -> None:
            digest = hashlib.sha256(repr(key).encode()).hexdigest()
            name = self._data_name(int(digest[:15], 16))
            self._save_data(name, data)  # first: an index entry always names a written file
            overloads = self._load_index()
            if overloads.get(key) != name:
                overloads[key] = name
                self._save_index(overloads)

    return KeyedCacheFile


_KEYED = _keyed_cache_file_class()


def safe_cache(dispatcher: Any) -> Any:
    """Make the on-disk cache of a ``cache=True`` numba dispatcher safe for concurrent
    processes (see the module's docstring); returns the dispatcher. A dispatcher without a
    cache, or a numba whose cache internals differ, is returned unchanged."""
    cache_file = getattr(getattr(dispatcher, "_cache", None), "_cache_file", None)
    if _KEYED is not None and type(cache_file) is _KEYED.__bases__[0]:
        cache_file.__class__ = _KEYED
    return dispatcher


def cached_njit(**options: Any) -> Callable[[Callable[..., Any]], Any]:
    """``numba.njit(cache=True, **options)`` with :func:`safe_cache` applied (a numba
    dispatcher, typed ``Any`` as numba's own decorators are)."""
    from numba import njit

    def decorate(function: Callable[..., Any]) -> Any:
        return safe_cache(njit(cache=True, **options)(function))

    return decorate
