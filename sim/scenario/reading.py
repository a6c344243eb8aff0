"""Reading a scenario file into plain Python data, with one-line errors for unreadable files."""

from __future__ import annotations

import os

import yaml

from carreta.sim.errors import ScenarioError

__all__ = ["MAX_FILE_CHARS", "MAX_VALUES", "read_scenario_data"]

#: A document that expands to more values than this is refused: through aliases, a few lines
#: can stand for billions of values (a "billion laughs" file).
MAX_VALUES = 1_000_000
#: A scenario or sweep file longer than this is refused (it is no hand-written file).
MAX_FILE_CHARS = 10_000_000


def _yaml_problem(error: yaml.YAMLError) -> str:
    """Describe a YAML error as ``"line L, column C: invalid YAML: <what>"``."""
    if isinstance(error, yaml.MarkedYAMLError):
        mark = error.problem_mark or error.context_mark
        what = error.problem or error.context or "syntax error"
        if error.context and error.problem:
            what = f"{error.problem} ({error.context})"
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        return f"{where}invalid YAML: {what}"
    if isinstance(error, yaml.reader.ReaderError):
        character = error.character
        code = character if isinstance(character, int) else ord(str(character)[:1] or "\0")
        return (
            f"invalid YAML: character #x{code:04x} at position {error.position} is not "
            "allowed (is this a text file?)"
        )
    return "invalid YAML: " + " ".join(str(error).split())


def _expanded_size(root: yaml.Node | None) -> int:
    """How many values the document holds once every alias is expanded (counted, not built)."""
    sizes: dict[int, int] = {}

    def size(node: yaml.Node) -> int:
        known = sizes.get(id(node))
        if known is not None:
            return known
        total = 1
        if isinstance(node, yaml.SequenceNode):
            total += sum(size(item) for item in node.value)
        elif isinstance(node, yaml.MappingNode):
            total += sum(size(key) + size(value) for key, value in node.value)
        sizes[id(node)] = total
        return total

    return 0 if root is None else size(root)


def read_scenario_data(path: str | os.PathLike[str]) -> object:
    """Read a YAML scenario file with ``yaml.safe_load``.

    Parameters
    ----------
    path
        The file; error messages name it exactly as given.

    Returns
    -------
    object
        The parsed document; never ``None``.

    Raises
    ------
    ScenarioError
        If the file does not exist or cannot be read, is not UTF-8 text, is not valid YAML,
        holds no document, is too large or expands through aliases beyond :data:`MAX_VALUES`.
    """
    try:
        with open(path, encoding="utf-8") as stream:
            text = stream.read()
    except FileNotFoundError:
        raise ScenarioError(path, None, "no such file") from None
    except IsADirectoryError:
        raise ScenarioError(path, None, "is a folder, not a scenario file") from None
    except UnicodeDecodeError as error:
        raise ScenarioError(
            path, None, f"is not UTF-8 text (undecodable byte at position {error.start})"
        ) from None
    except OSError as error:
        raise ScenarioError(path, None, f"cannot be read: {error.strerror or error}") from None
    if len(text) > MAX_FILE_CHARS:
        raise ScenarioError(
            path, None, f"is {len(text):,} characters long: a scenario or sweep file is smaller"
        )
    try:
        values = _expanded_size(yaml.compose(text, Loader=yaml.SafeLoader))
        if values > MAX_VALUES:
            raise ScenarioError(
                path, None, f"expands to {values:,} YAML values through its aliases (*name); "
                f"at most {MAX_VALUES:,} are read",
            )  # fmt: skip
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ScenarioError(path, None, _yaml_problem(error)) from None
    except RecursionError:
        raise ScenarioError(path, None, "invalid YAML: nested too deeply") from None
    if data is None:
        raise ScenarioError(
            path,
            None,
            "the file is empty (or only comments): a scenario needs at least name, network, "
            "hubs and fleet",
        )
    return data
