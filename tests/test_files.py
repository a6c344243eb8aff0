"""Atomic writes (:mod:`carreta.routing.files`): all or nothing, no leftovers, no overwriting."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import pytest

from carreta.routing.files import (
    create_dir_atomic,
    write_bytes_atomic,
    write_file_atomic,
    write_text_atomic,
)


class InterruptedWriteError(RuntimeError):
    """Raised by the writers below to interrupt a write half-way."""


def _half_write(temporary: Path) -> None:
    temporary.write_bytes(b"half a ")
    raise InterruptedWriteError("disk full")


def _names(folder: Path) -> list[str]:
    return sorted(entry.name for entry in folder.iterdir())


def test_replace_writes_the_new_content_and_leaves_nothing_else(tmp_path: Path) -> None:
    path = tmp_path / "table.json"
    path.write_text("old", "utf-8")
    assert write_text_atomic(path, "névé\n") == path
    assert path.read_text("utf-8") == "névé\n"
    assert write_bytes_atomic(path, b"\x00\x01") == path
    assert path.read_bytes() == b"\x00\x01"
    assert _names(tmp_path) == ["table.json"]


def test_a_failed_replace_keeps_the_old_content_and_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "runs.parquet"
    path.write_bytes(b"complete old table")
    with pytest.raises(InterruptedWriteError, match="disk full"):
        write_file_atomic(path, _half_write)
    assert path.read_bytes() == b"complete old table"
    assert _names(tmp_path) == ["runs.parquet"]


def test_a_failed_first_write_leaves_no_file(tmp_path: Path) -> None:
    with pytest.raises(InterruptedWriteError):
        write_file_atomic(tmp_path / "cache" / "graph.pickle", _half_write)
    assert _names(tmp_path / "cache") == []


def test_unencodable_text_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "page.html"
    path.write_text("old", "utf-8")
    with pytest.raises(UnicodeEncodeError):
        write_text_atomic(path, "café", encoding="ascii")
    assert path.read_text("utf-8") == "old"
    assert _names(tmp_path) == ["page.html"]


def test_the_writer_gets_a_hidden_temporary_sibling(tmp_path: Path) -> None:
    seen: list[Path] = []

    def write(temporary: Path) -> None:
        seen.append(temporary)
        temporary.write_text("x", "utf-8")

    write_file_atomic(tmp_path / "a.txt", write, fsync=True)
    (temporary,) = seen
    assert temporary.parent == tmp_path
    assert temporary.name.startswith(".a.txt.") and temporary.name.endswith(".tmp")
    assert not temporary.exists()


def test_files_get_the_permissions_of_an_ordinary_write(tmp_path: Path) -> None:
    ordinary = tmp_path / "ordinary.txt"
    ordinary.write_text("x", "utf-8")
    atomic = write_text_atomic(tmp_path / "atomic.txt", "x")
    assert stat.S_IMODE(atomic.stat().st_mode) == stat.S_IMODE(ordinary.stat().st_mode)


def test_no_overwrite_creates_a_new_file(tmp_path: Path) -> None:
    path = write_text_atomic(tmp_path / "new" / "replay.html", "<html>", overwrite=False)
    assert path.read_text("utf-8") == "<html>"
    assert _names(path.parent) == ["replay.html"]


def test_no_overwrite_refuses_an_existing_file_and_leaves_it_untouched(tmp_path: Path) -> None:
    path = tmp_path / "replay.html"
    path.write_text("somebody's page", "utf-8")
    calls: list[Path] = []
    with pytest.raises(FileExistsError) as raised:
        write_file_atomic(path, calls.append, overwrite=False)
    assert raised.value.filename == str(path)
    assert calls == [], "nothing is written when the target is already there"
    assert path.read_text("utf-8") == "somebody's page"
    assert _names(tmp_path) == ["replay.html"]


def test_no_overwrite_refuses_a_file_that_appears_while_writing(tmp_path: Path) -> None:
    path = tmp_path / "replay.html"

    def write_while_another_process_publishes(temporary: Path) -> None:
        temporary.write_text("our page", "utf-8")
        path.write_text("their page", "utf-8")

    with pytest.raises(FileExistsError):
        write_file_atomic(path, write_while_another_process_publishes, overwrite=False)
    assert path.read_text("utf-8") == "their page"
    assert _names(tmp_path) == ["replay.html"]


def test_no_overwrite_works_without_hard_links(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_hard_links(source: object, destination: object) -> None:
        raise PermissionError(errno.EPERM, "hard links not supported")

    monkeypatch.setattr(os, "link", no_hard_links)
    path = write_text_atomic(tmp_path / "replay.html", "ours", overwrite=False)
    assert path.read_text("utf-8") == "ours"
    other = tmp_path / "other.html"

    def write_while_another_process_publishes(temporary: Path) -> None:
        other.write_text("theirs", "utf-8")

    with pytest.raises(FileExistsError):
        write_file_atomic(other, write_while_another_process_publishes, overwrite=False)
    assert other.read_text("utf-8") == "theirs"
    assert _names(tmp_path) == ["other.html", "replay.html"]


def test_create_dir_fills_then_publishes_the_folder(tmp_path: Path) -> None:
    seen: list[Path] = []

    def fill(folder: Path) -> None:
        seen.append(folder)
        assert folder.parent == tmp_path / "runs" and folder.name.endswith(".tmp")
        (folder / "kpis.json").write_text("{}", "utf-8")

    target = create_dir_atomic(tmp_path / "runs" / "tiny", fill)
    assert target == tmp_path / "runs" / "tiny"
    assert _names(target) == ["kpis.json"]
    assert _names(tmp_path / "runs") == ["tiny"]
    assert not seen[0].exists()
    assert stat.S_IMODE(target.stat().st_mode) == 0o777 & ~_current_umask()


def test_create_dir_refuses_an_existing_folder_without_filling(tmp_path: Path) -> None:
    target = tmp_path / "tiny"
    target.mkdir()
    (target / "kpis.json").write_text("old", "utf-8")
    calls: list[Path] = []
    with pytest.raises(FileExistsError) as raised:
        create_dir_atomic(target, calls.append)
    assert raised.value.filename == str(target)
    assert calls == []
    assert (target / "kpis.json").read_text("utf-8") == "old"
    assert _names(tmp_path) == ["tiny"]


def test_create_dir_refuses_a_folder_that_appears_while_filling(tmp_path: Path) -> None:
    target = tmp_path / "tiny"

    def fill_while_another_run_finishes(folder: Path) -> None:
        (folder / "kpis.json").write_text("ours", "utf-8")
        target.mkdir()
        (target / "kpis.json").write_text("theirs", "utf-8")

    with pytest.raises(FileExistsError):
        create_dir_atomic(target, fill_while_another_run_finishes)
    assert (target / "kpis.json").read_text("utf-8") == "theirs"
    assert _names(tmp_path) == ["tiny"]


def test_a_failed_fill_leaves_nothing(tmp_path: Path) -> None:
    def fill(folder: Path) -> None:
        (folder / "orders.parquet").write_bytes(b"half")
        raise InterruptedWriteError("killed")

    with pytest.raises(InterruptedWriteError):
        create_dir_atomic(tmp_path / "tiny", fill)
    assert _names(tmp_path) == []


def _current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@pytest.mark.parametrize("kind", ["folder", "file"])
def test_a_full_disk_names_what_the_user_asked_for_not_the_temporary(
    tmp_path: Path, kind: str
) -> None:
    from carreta.sim.cli import describe_error

    def full(where: Path) -> None:
        inside = where / "legs.parquet" if kind == "folder" else where
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(inside))

    target = tmp_path / ("run" if kind == "folder" else "replay.html")
    with pytest.raises(OSError) as caught:
        if kind == "folder":
            create_dir_atomic(target, full)
        else:
            write_file_atomic(target, full)
    assert ".tmp" in caught.value.filename and _names(tmp_path) == []
    inside = "run/legs.parquet" if kind == "folder" else "replay.html"
    assert describe_error(caught.value) == (
        f"{target}: {os.strerror(errno.ENOSPC)} (while writing {inside}; nothing was written "
        "there: free space or fix the folder and rerun)"
    )


def test_an_os_error_naming_no_file_is_given_the_target(tmp_path: Path) -> None:
    """pyarrow reports a full disk as OSError(28) without a file name: the target is named."""

    def full(folder: Path) -> None:
        raise OSError(errno.ENOSPC, "Error writing bytes to file")

    with pytest.raises(OSError) as caught:
        create_dir_atomic(tmp_path / "run", full)
    assert caught.value.errno == errno.ENOSPC
    assert caught.value.filename == str(tmp_path / "run") and _names(tmp_path) == []


def test_ctrl_c_during_a_file_write_waits_until_the_file_is_whole(tmp_path: Path) -> None:
    """A signal in the middle of a write is handled once the file is in place: no half-closed
    writer, and the interrupt still comes."""
    import signal

    target = tmp_path / "runs.parquet"

    def interrupted_write(temporary: Path) -> None:
        temporary.write_bytes(b"first half, ")
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C now: held until the write is done
        with temporary.open("ab") as stream:
            stream.write(b"second half")

    with pytest.raises(KeyboardInterrupt):
        write_file_atomic(target, interrupted_write)
    assert target.read_bytes() == b"first half, second half" and _names(tmp_path) == [target.name]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # restored
