"""Ctrl-C and SIGTERM during ``carreta run``: one line, exit 130 or 143, nothing half-written.

(The same for ``carreta sweep``, with the runs kept and the resume, is in tests/test_sweep_run.py.)
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from synthetic import grid_scenario_data

from carreta.sim.cli.interrupts import interrupted_line


@pytest.mark.parametrize(("signal_number", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_run_stopped_mid_day_says_so_in_one_line_and_writes_nothing(
    grid_graphml: Path, carreta_cache_dir: Path, tmp_path: Path, signal_number: int, code: int
) -> None:
    document = grid_scenario_data(grid_graphml, carreta_cache_dir)
    document["demand"]["orders_per_day"] = 50_000  # a day of well over 10 s
    document["fleet"]["robots"][0]["count"] = 60
    scenario = tmp_path / "long.yaml"
    scenario.write_text(yaml.safe_dump(document), "utf-8")
    out = tmp_path / "run"
    process = subprocess.Popen(
        [sys.executable, "-m", "carreta.sim.cli", "-v", "run", str(scenario), "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    for line in process.stderr:  # -v logs the orders once they are generated: simulating now
        if "generated" in line and "orders" in line:
            break
    time.sleep(0.5)
    assert process.poll() is None, process.communicate()
    process.send_signal(signal_number)
    stdout, rest = process.communicate(timeout=60)
    stderr = "\n".join(line for line in rest.splitlines() if not line.startswith("INFO "))
    assert process.returncode == code, stderr
    assert stderr.strip().splitlines() == [interrupted_line(0, 1)]
    assert interrupted_line(0, 1) == (
        "interrupted — 0 of 1 runs kept; rerun the same command to resume"
    )
    assert not out.exists() and not list(tmp_path.glob(".*"))  # no folder, no temporary one
    assert "Traceback" not in stderr and stdout == ""


def test_ctrl_c_while_the_report_is_made_keeps_the_run_and_says_how_to_make_it(
    grid_graphml: Path,
    carreta_cache_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from carreta.sim.cli import main
    from carreta.sim.viz import report

    def interrupted(*args: object, **kwargs: object) -> Path:
        raise KeyboardInterrupt

    monkeypatch.setattr(report, "write_report", interrupted)
    scenario = tmp_path / "grid.yaml"
    scenario.write_text(yaml.safe_dump(grid_scenario_data(grid_graphml, carreta_cache_dir)))
    out = tmp_path / "run"
    with pytest.raises(SystemExit) as caught:
        main(["run", str(scenario), "--out", str(out)])
    assert caught.value.code == 130
    stderr = capsys.readouterr().err.strip().splitlines()
    assert stderr[-1] == (
        f"interrupted — the run is kept in {out}; no report.html "
        f"(make it with: carreta report {out})"
    )
    assert (out / "kpis.json").exists() and not (out / "report.html").exists()


def test_an_interrupt_inside_compiled_code_is_an_interrupt_not_a_failed_run(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A signal handler raising inside a numba function surfaces as SystemError("... returned a
    result with an exception set") with the interrupt as its context: a sweep must stop, not
    record the run as failed."""
    from carreta.sim.cli.interrupts import Terminated
    from carreta.sim.errors import interrupt_behind
    from carreta.sim.sweep import worker

    def compiled_code_interrupted(*args: object) -> None:
        try:
            raise Terminated
        except Terminated as interrupt:  # what CPython does (_PyErr_FormatFromCause)
            raise SystemError("CPUDispatcher(<function preprocess>) returned a result with an "
                              "exception set") from interrupt  # fmt: skip

    with pytest.raises(SystemError) as caught:
        compiled_code_interrupted()
    assert isinstance(interrupt_behind(caught.value), Terminated)
    assert interrupt_behind(ValueError("a run's own error")) is None
    monkeypatch.setattr(worker, "_simulate_into", compiled_code_interrupted)
    task = worker.RunTask("r", {}, str(tmp_path / "base.yaml"), {}, 1, str(tmp_path / "run"))
    with pytest.raises(Terminated):
        worker.execute_run(task)


@pytest.mark.parametrize("interrupt", [KeyboardInterrupt, "Terminated"])
def test_an_interrupt_swallowed_by_a_c_callback_comes_again(
    interrupt: type[KeyboardInterrupt] | str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A Ctrl-C or SIGTERM handled inside a ctypes callback (numba compiling, with a cold cache,
    calls back into Python so) cannot propagate: it is not printed as an ignored exception
    but raised again in the main thread a moment later."""
    import ctypes

    from carreta.sim.cli.interrupts import Terminated, terminate_as_interrupt

    kind = Terminated if interrupt == "Terminated" else KeyboardInterrupt

    def callback() -> None:
        raise kind

    with terminate_as_interrupt(), pytest.raises(kind):
        ctypes.CFUNCTYPE(None)(callback)()  # the exception stops here, unraisable
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            time.sleep(0.01)
    assert "Exception ignored" not in capsys.readouterr().err
