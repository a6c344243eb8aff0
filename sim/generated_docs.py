"""Files generated from code (the scenario reference, the outputs and KPI pages), and the
command that rewrites them or checks that they are fresh.

:class:`GeneratedFiles` serves :mod:`carreta.sim.scenario.docs` and
:mod:`carreta.sim.output.docs`; a test of each fails when a committed file is stale.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["GeneratedFiles"]


@dataclass(frozen=True)
class GeneratedFiles:
    """Files under a project root rendered by ``render`` (relative path -> text).

    Parameters
    ----------
    command
        How a person regenerates them (``python -m ...``), shown in messages.
    description
        One line for the command's ``--help``.
    render
        Returns every file's relative path and text.
    """

    command: str
    description: str
    render: Callable[[], Mapping[Path, str]]

    def write(self, root: str | Path) -> list[Path]:
        """Write every file under ``root``; return their paths.

        Raises
        ------
        OSError
            If a file cannot be written.
        """
        written = []
        for relative, text in self.render().items():
            target = Path(root) / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
            written.append(target)
        return written

    def stale(self, root: str | Path) -> list[Path]:
        """The files under ``root`` that are missing or differ from what ``render`` gives."""
        stale: list[Path] = []
        for relative, text in self.render().items():
            target = Path(root) / relative
            if not target.is_file() or target.read_text(encoding="utf-8") != text:
                stale.append(relative)
        return stale

    def main(self, argv: Sequence[str] | None = None) -> int:
        """Command line: regenerate the files, or with ``--check`` report the stale ones
        (exit code 1 if any)."""
        parser = argparse.ArgumentParser(prog=self.command, description=self.description)
        parser.add_argument(
            "root",
            nargs="?",
            default=Path.cwd(),
            type=Path,
            help="project root, the checkout holding docs/ (default: the current folder)",
        )
        parser.add_argument("--check", action="store_true", help="only report stale files")
        arguments = parser.parse_args(argv)
        if arguments.check:
            stale = self.stale(arguments.root)
            for relative in stale:
                sys.stderr.write(f"{relative} is stale; run `{self.command}`\n")
            return 1 if stale else 0
        for path in self.write(arguments.root):
            sys.stdout.write(f"wrote {path}\n")
        return 0
