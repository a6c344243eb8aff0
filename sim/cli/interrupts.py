"""Ctrl-C and SIGTERM during a long command: one line saying what is kept, exit 130 or 143.

``run``, ``sweep`` (and any command that makes runs) wrap their work in
:func:`terminate_as_interrupt`, so that a SIGTERM (``kill PID``, a batch system's time limit)
stops the command like Ctrl-C does: by raising :class:`Terminated`, a
:class:`KeyboardInterrupt`, in the main thread. The command then catches
:class:`KeyboardInterrupt`, counts what was kept and calls :func:`exit_interrupted`, which prints
``interrupted — N of M runs kept; rerun the same command to resume`` on stderr and exits with the
shell's code for the signal: 130 for SIGINT, 143 for SIGTERM.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any, NoReturn

import typer

__all__ = [
    "Terminated",
    "exit_interrupted",
    "interrupt_exit_code",
    "interrupted_line",
    "terminate_as_interrupt",
]


class Terminated(KeyboardInterrupt):
    """SIGTERM received while :func:`terminate_as_interrupt` was active."""

    signal_number = signal.SIGTERM


@contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM raises :class:`Terminated` in the main thread, and an
    interrupt that C code swallowed is delivered again (see :func:`_interrupt_again`).

    Child processes forked meanwhile (a ``fork`` process pool) inherit the handler; in them it
    restores the default action and terminates the child, as if no handler were set. Outside
    the main thread, the block changes nothing (Python only handles signals there).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    owner = os.getpid()

    def handler(signal_number: int, frame: FrameType | None) -> None:
        if os.getpid() != owner:  # a forked child: die of the signal, as by default
            signal.signal(signal_number, signal.SIG_DFL)
            os.kill(os.getpid(), signal_number)
            return
        raise Terminated

    previous = signal.signal(signal.SIGTERM, handler)
    previous_hook = sys.unraisablehook
    sys.unraisablehook = _interrupt_again(previous_hook)
    try:
        yield
    finally:
        sys.unraisablehook = previous_hook
        signal.signal(signal.SIGTERM, previous)


def _interrupt_again(
    previous_hook: Callable[[Any], object],
) -> Callable[[Any], object]:
    """An unraisable-exception hook that sends again the signal of an interrupt C code swallowed.

    A signal handled while C code has called back into Python (numba compiling, through the
    ctypes callbacks of its object cache) raises there, and ctypes can only print the
    exception ("Exception ignored ...") and go on: the Ctrl-C or SIGTERM would be lost. The
    signal is sent again a moment later, when the main thread is back in Python code.
    """

    def hook(unraisable: Any) -> None:
        interrupt = unraisable.exc_value
        if isinstance(interrupt, KeyboardInterrupt):
            number = interrupt_exit_code(interrupt) - 128
            again = threading.Timer(0.05, os.kill, (os.getpid(), number))
            again.daemon = True
            again.start()
            return
        previous_hook(unraisable)

    return hook


def interrupted_line(kept: int, total: int | None) -> str:
    """``"interrupted — 3 of 12 runs kept; rerun the same command to resume"`` (``total`` None:
    interrupted before the runs were known)."""
    if total is None:
        return "interrupted before any run started; rerun the same command to start"
    return f"interrupted — {kept} of {total} runs kept; rerun the same command to resume"


def exit_interrupted(interrupt: KeyboardInterrupt, *, kept: int, total: int | None) -> NoReturn:
    """Print :func:`interrupted_line` on stderr and exit: 143 after SIGTERM, else 130 (SIGINT).

    Raises
    ------
    typer.Exit
        Always.
    """
    typer.echo("\n" + interrupted_line(kept, total), err=True)
    raise typer.Exit(interrupt_exit_code(interrupt))


def interrupt_exit_code(interrupt: KeyboardInterrupt) -> int:
    """The shell's exit code for the signal behind ``interrupt``: 143 (SIGTERM) or 130 (SIGINT)."""
    number = interrupt.signal_number if isinstance(interrupt, Terminated) else signal.SIGINT
    return 128 + int(number)
