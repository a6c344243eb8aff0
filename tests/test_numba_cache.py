"""numba's disk cache when processes compile one kernel at once (routing/_numba_cache.py).

Two processes saving two signatures of one kernel are replayed in every order their file
operations can take (the index read, the index write, the data write): numba's own cache file
can leave an index entry naming the other signature's code (the crash numba issue #4807
describes, and the likely cause of a one-off -SIGSEGV in a sweep test on a cold CI cache); the
keyed cache file never does.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

pytest.importorskip("numba")

from numba.core.caching import IndexDataCacheFile

from carreta.routing import _ch_numba
from carreta.routing._numba_cache import _KEYED
from carreta.sim.model import tour_kernels

KEYS = (("(array(int32, 1d, C),)", "x86_64"), ("(array(float64, 1d, C),)", "x86_64"))
DATA = ("machine code for int32 arrays", "machine code for float64 arrays")
STEPS = 3  # file operations of one save of a new key: read the index, write it, write the data


def schedules() -> list[tuple[int, ...]]:
    """Every interleaving of two saves' file operations (which save does each next)."""
    return [
        tuple(0 if step in first else 1 for step in range(2 * STEPS))
        for first in itertools.combinations(range(2 * STEPS), STEPS)
    ]


def save_concurrently(cls: type, folder: Path, schedule: tuple[int, ...]) -> None:
    """Save ``DATA[i]`` under ``KEYS[i]`` from two cache files of one kernel (as two processes
    would), each on its own thread, their file operations in the order ``schedule`` gives."""
    files = [cls(str(folder), "kernel-12", ("source stamp", 1)) for _ in KEYS]
    done = [0]
    turn = threading.Condition()

    def in_turn(who: int, operation):  # type: ignore[no-untyped-def]
        def run(*args):  # type: ignore[no-untyped-def]
            with turn:
                turn.wait_for(lambda: schedule[done[0]] == who, timeout=5)
                assert schedule[done[0]] == who, "a save did other file operations than expected"
                result = operation(*args)
                done[0] += 1
                turn.notify_all()
            return result

        return run

    for who, cache_file in enumerate(files):
        for name in ("_load_index", "_save_index", "_save_data"):
            setattr(cache_file, name, in_turn(who, getattr(cache_file, name)))
    threads = [
        threading.Thread(target=cache_file.save, args=(key, data))
        for cache_file, key, data in zip(files, KEYS, DATA, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert done[0] == 2 * STEPS


def wrong_loads(cls: type, tmp_path: Path) -> list[tuple[int, ...]]:
    """The schedules after which a fresh process would load one key's data for the other."""
    wrong = []
    for number, schedule in enumerate(schedules()):
        folder = tmp_path / f"schedule-{number}"
        folder.mkdir(parents=True)
        save_concurrently(cls, folder, schedule)
        reader = cls(str(folder), "kernel-12", ("source stamp", 1))
        loaded = [reader.load(key) for key in KEYS]
        if any(got is not None and got != data for got, data in zip(loaded, DATA, strict=True)):
            wrong.append(schedule)
    return wrong


def test_keyed_cache_file_never_names_another_signatures_code(tmp_path: Path) -> None:
    assert _KEYED is not None
    assert wrong_loads(_KEYED, tmp_path / "keyed") == []
    # The harness finds numba's race (if this fails, numba fixed it and the keyed file can go).
    assert wrong_loads(IndexDataCacheFile, tmp_path / "numba") != []


def test_every_kernel_uses_the_keyed_cache_file() -> None:
    kernels = [_ch_numba.route, _ch_numba.route_many, tour_kernels.uniform]
    assert all(type(kernel._cache._cache_file) is _KEYED for kernel in kernels)


def test_keyed_cache_round_trip_in_fresh_processes(tmp_path: Path) -> None:
    """A kernel compiled for two signatures in one process is loaded from disk, both
    signatures, by the next, and computes the same."""
    (tmp_path / "kernels_for_cache_test.py").write_text(
        textwrap.dedent(
            """
            import numpy as np
            from carreta.routing._numba_cache import cached_njit

            @cached_njit()
            def total(values):
                return values.sum() * 2

            def run():
                return (total(np.arange(5, dtype=np.int32)), total(np.linspace(0, 1, 5)),
                        sorted(total.stats.cache_hits.values()))
            """
        )
    )
    command = [sys.executable, "-c", "import kernels_for_cache_test as k; print(k.run())"]
    env = os.environ | {"NUMBA_CACHE_DIR": str(tmp_path / "cache"), "PYTHONPATH": str(tmp_path)}
    runs = [
        subprocess.run(command, capture_output=True, text=True, check=True, env=env).stdout.strip()
        for _ in range(2)
    ]
    assert runs == ["(20, 5.0, [])", "(20, 5.0, [1, 1])"]
    assert len(list((tmp_path / "cache").rglob("*.nbc"))) == 2
