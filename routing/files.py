"""Atomic writes: fill a temporary sibling, then give it its final name in one rename.

A reader never sees a half-written file or folder under the final name, and a process killed
half-way leaves at most a hidden temporary sibling (``.<name>.<random>.tmp``, which sweeps clean
up) — never a truncated file. Two flavours:

- :func:`write_file_atomic`, :func:`write_bytes_atomic` and :func:`write_text_atomic` *replace*
  an existing file by default (:func:`os.replace`: cache entries, a sweep's tables) or, with
  ``overwrite=False``, refuse to (a hard link, which fails if the name is taken: replay pages);
- :func:`create_dir_atomic` creates a new folder (a run directory, plots) and never replaces one.

Files and folders get the permissions :func:`open` and :func:`os.mkdir` would give them under the
process's umask (the temporary ones :mod:`tempfile` makes are private). The module has no state
and imports only the standard library, so any layer can use it.
"""

from __future__ import annotations

import errno
import os
import shutil
import signal
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

__all__ = ["create_dir_atomic", "write_bytes_atomic", "write_file_atomic", "write_text_atomic"]

_TEMPORARY_SUFFIX = ".tmp"


def _umask() -> int:
    """The process's umask, read without changing it (``os.umask`` would, for every thread)."""
    try:
        lines = Path("/proc/self/status").read_text("ascii", errors="replace").splitlines()
    except OSError:  # not Linux: assume the usual umask
        return 0o022
    for line in lines:
        if line.startswith("Umask:"):
            return int(line.split()[1], 8)
    return 0o022  # Linux before 4.7 does not report it


def _exists_error(path: Path) -> FileExistsError:
    return FileExistsError(errno.EEXIST, "already exists and is never overwritten", str(path))


def _fsync_path(path: Path, *, directory: bool = False) -> None:
    flags = os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if directory else 0)
    handle = os.open(path, flags)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def _publish_file(temporary: Path, path: Path, *, overwrite: bool) -> None:
    """Give the complete file ``temporary`` the name ``path`` (replacing it only if allowed)."""
    if overwrite:
        os.replace(temporary, path)
        return
    try:
        os.link(temporary, path)  # atomic, and fails if path appeared meanwhile
    except FileExistsError:
        raise _exists_error(path) from None
    except OSError:  # a file system without hard links: check, then rename (a narrow race)
        if os.path.lexists(path):
            raise _exists_error(path) from None
        os.rename(temporary, path)


def write_file_atomic(
    path: str | os.PathLike[str],
    write: Callable[[Path], object],
    *,
    overwrite: bool = True,
    fsync: bool = False,
) -> Path:
    """Write a file through a temporary sibling, then rename it into place.

    Parameters
    ----------
    path
        Final file path; its folder is created (with parents) if needed.
    write
        Called once with the temporary file's path (an empty file, in the same folder); must
        write the complete content there. Its return value is ignored.
    overwrite
        True: replace an existing ``path`` atomically (:func:`os.replace`). False: never replace
        it; fail if ``path`` exists before writing or appears while ``write`` runs.
    fsync
        Flush the file and its folder to disk before returning (slower; for data that must
        survive a power cut, not only a crash of the process).

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    FileExistsError
        With ``overwrite=False``, if ``path`` exists (``error.filename`` is ``str(path)``); the
        existing file is left untouched.
    OSError
        If the folder or the file cannot be written; an existing ``path`` keeps its old content.

    Any exception raised by ``write`` propagates unchanged. The temporary file is removed in
    every case.
    """
    path = Path(path)
    if not overwrite and os.path.lexists(path):
        raise _exists_error(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary_name = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.", suffix=_TEMPORARY_SUFFIX
    )
    os.close(handle)
    temporary = Path(temporary_name)
    try:
        with _interrupts_deferred():
            with _naming(path):
                write(temporary)
            os.chmod(temporary, 0o666 & ~_umask())
            if fsync:
                _fsync_path(temporary)
            _publish_file(temporary, path, overwrite=overwrite)
            if fsync:
                _fsync_path(path.parent, directory=True)
    finally:
        temporary.unlink(missing_ok=True)
    return path


@contextmanager
def _interrupts_deferred() -> Iterator[None]:
    """Within the block, SIGINT and SIGTERM wait: on leaving it, the first that came is handed
    to the handler that was in place (Ctrl-C's KeyboardInterrupt, the command line's SIGTERM
    handler, or the default action).

    A file write is short, and a signal in its middle can leave a library's writer half-closed
    (pyarrow then prints "Exception ignored in ParquetWriter.__del__" at exit). Only the main
    thread can set handlers; elsewhere the block changes nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending: list[tuple[int, FrameType | None]] = []

    def hold(number: int, frame: FrameType | None) -> None:
        pending.append((number, frame))

    previous: dict[int, Any] = {
        number: signal.signal(number, hold) for number in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        yield
    finally:
        for held, handler in previous.items():  # None: set outside Python, use the default
            signal.signal(held, signal.SIG_DFL if handler is None else handler)
        if pending:
            first, frame = pending[0]
            handler = previous[first]
            if callable(handler):
                handler(first, frame)  # raises KeyboardInterrupt (or the CLI's Terminated)
            elif handler == signal.SIG_DFL:
                signal.raise_signal(first)  # the default action, now that it is back


@contextmanager
def _naming(target: Path) -> Iterator[None]:
    """Give an OS error that names no file (a full disk seen by a library such as pyarrow,
    ``"[Errno 28] Error writing bytes to file"``) the ``target`` being written, so the user
    learns where; errors that name a file pass unchanged."""
    try:
        yield
    except OSError as error:
        if error.filename is not None or error.errno is None:
            raise
        raise OSError(error.errno, os.strerror(error.errno), str(target)) from error


def write_bytes_atomic(
    path: str | os.PathLike[str],
    data: bytes,
    *,
    overwrite: bool = True,
    fsync: bool = False,
) -> Path:
    """Write ``data`` to the file ``path`` atomically (see :func:`write_file_atomic`).

    Raises
    ------
    FileExistsError
        With ``overwrite=False``, if ``path`` exists; it is left untouched.
    OSError
        If the file cannot be written; an existing ``path`` keeps its old content.
    """
    return write_file_atomic(
        path, lambda temporary: temporary.write_bytes(data), overwrite=overwrite, fsync=fsync
    )


def write_text_atomic(
    path: str | os.PathLike[str],
    text: str,
    *,
    encoding: str = "utf-8",
    overwrite: bool = True,
    fsync: bool = False,
) -> Path:
    """Write ``text`` to the file ``path`` atomically (see :func:`write_file_atomic`).

    Parameters
    ----------
    path, overwrite, fsync
        As for :func:`write_file_atomic`.
    text
        The whole content; line endings are written as given.
    encoding
        Text encoding of the file.

    Raises
    ------
    FileExistsError
        With ``overwrite=False``, if ``path`` exists; it is left untouched.
    OSError
        If the file cannot be written; an existing ``path`` keeps its old content.
    UnicodeEncodeError
        If ``text`` cannot be encoded; nothing is written.
    """
    data = text.encode(encoding)
    return write_bytes_atomic(path, data, overwrite=overwrite, fsync=fsync)


def create_dir_atomic(
    target: str | os.PathLike[str],
    fill: Callable[[Path], object],
) -> Path:
    """Create the new folder ``target`` by filling a temporary sibling, then renaming it.

    Parameters
    ----------
    target
        Folder to create; it must not exist. Its parent is created (with parents) if needed.
    fill
        Called once with the temporary folder (empty, next to ``target``); must write
        everything the folder holds. Its return value is ignored.

    Returns
    -------
    Path
        ``target``.

    Raises
    ------
    FileExistsError
        If ``target`` exists before filling or appeared meanwhile (``error.filename`` is
        ``str(target)``); it is left untouched. (POSIX lets a rename replace an *empty* folder:
        one created in the instant between the last check and the rename would be replaced.)
    OSError
        If the folder cannot be written.

    Any exception raised by ``fill`` propagates unchanged. On any failure the temporary
    folder is removed, so nothing is left under ``target``.
    """
    target = Path(target)
    if os.path.lexists(target):
        raise _exists_error(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = Path(
        tempfile.mkdtemp(prefix=f".{target.name}.", suffix=_TEMPORARY_SUFFIX, dir=target.parent)
    )
    try:
        with _naming(target):
            fill(temporary)
        os.chmod(temporary, 0o777 & ~_umask())
        if os.path.lexists(target):
            raise _exists_error(target)
        try:
            os.rename(temporary, target)  # fails if target appeared meanwhile (and is not empty)
        except OSError:
            if os.path.lexists(target):
                raise _exists_error(target) from None
            raise
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    return target
