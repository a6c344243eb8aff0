"""The ``carreta`` command line.

The root :data:`app` gathers the sub-commands (``carreta network ...`` lives in
:mod:`carreta.sim.cli.network`; add new ones with ``app.add_typer`` or ``@app.command``).
:func:`main`,
the console-script entry point, gives every command the same error policy:

- a user error (any :class:`~carreta.routing.errors.CarretaError`, or ``FileNotFoundError`` /
  ``PermissionError`` on a user's file) prints one line ``carreta: error: <message>`` on stderr
  and exits with code 2, without a traceback;
- a usage error (unknown option, bad value) keeps click's message and exit code 2;
- anything else is a bug and keeps its traceback.

Library code only logs; this module and its sub-commands decide what the user sees.

Start-up stays fast: the app and every command signature need only typer and the standard library
(parameter types are ``Path``, ``int``, ``str``, local enums); each command imports the heavy
libraries it needs (OSMnx, pandas, matplotlib, the SimPy model) when it runs.
``tests/test_cli_startup.py`` checks it, ``benchmarks/bench_startup.py`` times it.
"""

from __future__ import annotations

import errno
import logging
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Annotated, Final

import typer

from carreta.routing.errors import CarretaError
from carreta.sim.cli.compare import compare_command
from carreta.sim.cli.network import network_app
from carreta.sim.cli.plan import plan_command
from carreta.sim.cli.plots import plot_command, replay_command
from carreta.sim.cli.report import report_command
from carreta.sim.cli.run import run_command, validate_command
from carreta.sim.cli.sweep import sweep_command, sweep_report_command

__all__ = ["USER_ERRORS", "app", "describe_error", "main"]

#: Exceptions that are the user's to fix: one line and exit code 2, no traceback.
USER_ERRORS: Final = (CarretaError, FileNotFoundError, PermissionError)
#: File-system conditions a user can fix (a full disk, a read-only folder, a quota): one line.
FILE_SYSTEM_ERRNOS: Final = frozenset({errno.ENOSPC, errno.EROFS, errno.EDQUOT, errno.EACCES})
#: Exit code for user and usage errors (the same as click's usage errors).
USER_ERROR_EXIT_CODE: Final = 2

app = typer.Typer(
    name="carreta",
    help="Simulate autonomous urban-logistics robots on the real streets of Montpellier.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(network_app, name="network")
app.command("validate")(validate_command)
app.command("run")(run_command)
app.command("compare")(compare_command)
app.command("plot")(plot_command)
app.command("replay")(replay_command)
app.command("report")(report_command)
app.command("sweep")(sweep_command)
app.command("sweep-report")(sweep_report_command)
app.command("plan")(plan_command)


def _package_version() -> str:
    try:
        return version("carreta")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "unknown"


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"carreta {_package_version()}")
        raise typer.Exit()


@app.callback()
def _root(
    version_flag: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_show_version,
            is_eager=True,
            help="Show the carreta version and exit.",
        ),
    ] = False,
    verbose: Annotated[
        int,
        typer.Option("--verbose", "-v", count=True, help="Log progress on stderr (-vv: debug)."),
    ] = 0,
) -> None:
    """Simulate autonomous urban-logistics robots on the real streets of Montpellier."""
    if verbose:  # without -v, Python's last-resort handler shows warnings only
        level = logging.INFO if verbose == 1 else logging.DEBUG
        logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
        logging.getLogger().setLevel(level)


def _published_name(filename: str) -> tuple[str, str] | None:
    """``(target, inside)`` when ``filename`` lies in a temporary file or folder of
    ``carreta.routing.files`` (``.NAME.RANDOM.tmp`` beside its target), else None."""
    path = Path(filename)
    for depth, part in enumerate(path.parts):
        if part.startswith(".") and part.endswith(".tmp") and part.count(".") >= 3:
            name = part[1 : -len(".tmp")].rsplit(".", 1)[0]
            target = Path(*path.parts[:depth], name)
            inside = Path(name, *path.parts[depth + 1 :])
            return str(target), str(inside)
    return None


def describe_error(error: BaseException) -> str:
    """Return a user error as one line of text (file name included for OS errors).

    A failure while writing a temporary file or folder names the file or folder the user asked
    for (the temporary one is already removed), not the temporary name.
    """
    if isinstance(error, OSError) and error.filename is not None:
        text = f"{error.filename}: {error.strerror or error}"
        published = _published_name(str(error.filename))
        if published is not None:
            target, inside = published
            text = (
                f"{target}: {error.strerror or error} (while writing {inside}; nothing was "
                "written there: free space or fix the folder and rerun)"
            )
    else:
        text = str(error) or type(error).__name__
    return " ".join(text.split())


def main(argv: Sequence[str] | None = None) -> None:
    """Run the ``carreta`` command line; the console-script entry point.

    Parameters
    ----------
    argv
        Arguments without the program name; default ``sys.argv[1:]``.

    Raises
    ------
    SystemExit
        Always: 0 on success, 2 on a user or usage error, click's code otherwise.
    """
    command = typer.main.get_command(app)
    try:
        command.main(
            args=list(argv) if argv is not None else None,
            prog_name="carreta",
            standalone_mode=True,
        )
    except USER_ERRORS as error:
        typer.echo(f"carreta: error: {describe_error(error)}", err=True)
        raise SystemExit(USER_ERROR_EXIT_CODE) from None
    except OSError as error:
        if error.errno not in FILE_SYSTEM_ERRNOS:
            raise  # a bug, or a fault nobody can act on: keep the traceback
        typer.echo(f"carreta: error: {describe_error(error)}", err=True)
        raise SystemExit(USER_ERROR_EXIT_CODE) from None


if __name__ == "__main__":
    main()
