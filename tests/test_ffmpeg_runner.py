"""One runner owns every ffmpeg and ffprobe run (clipper.media.ffmpeg): no other module of media or share starts a
process, and a run whose output is read is tracked like a cut, so an interrupt ends it."""

from __future__ import annotations

import ast
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from clipper.core.errors import CutError
from clipper.media import ffmpeg, probe

CLIPPER = Path(__file__).resolve().parent.parent / "clipper"
RUNNER = CLIPPER / "media" / "ffmpeg.py"
# Modules that start processes: subprocess itself, and ffmpeg-python (which runs ffprobe with it).
STARTERS = {"subprocess", "ffmpeg", "multiprocessing", "asyncio"}
# An ffmpeg that runs for a minute (in real time) unless it is ended.
SLOW = ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-re", "-f", "lavfi", "-i", "anullsrc=r=8000",
        "-t", "60", "-f", "null", "-"]  # fmt: skip


def imported_modules(path: Path) -> set[str]:
    """The top-level names of the modules a file imports (``import a.b``, ``from a import b``)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_only_the_runner_starts_processes() -> None:
    # Every module of clipper but the JS runtime's version check (yt-dlp's helper, not an ffmpeg tool).
    modules = [path for path in sorted(CLIPPER.rglob("*.py")) if path != CLIPPER / "fetch" / "ytdlp_argv.py"]
    assert RUNNER in modules
    bypassing = {str(path.relative_to(CLIPPER)): sorted(imported_modules(path) & STARTERS)
                 for path in modules if path != RUNNER and imported_modules(path) & STARTERS}  # fmt: skip
    assert bypassing == {}, "start ffmpeg and ffprobe through clipper.media.ffmpeg"


def interrupted_after(read: Callable[..., object], *args: object) -> tuple[float, object]:
    """Call ``read(*args)`` in a thread, end every run with a batch's interrupt once it runs; (seconds it took to
    return after the interrupt, what it returned or raised)."""
    outcome: list[object] = []

    def target() -> None:
        try:
            outcome.append(read(*args))
        except Exception as error:  # the outcome is asserted by the caller
            outcome.append(error)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while ffmpeg.LOOSE.running() == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert ffmpeg.LOOSE.running() == 1, "the run is not tracked"
    batch = ffmpeg.ChildProcesses()
    stopped = time.monotonic()
    batch.stop_all()  # what the runner does on Ctrl-C or SIGTERM
    thread.join(timeout=20)
    took = time.monotonic() - stopped
    assert not thread.is_alive(), "the interrupt did not end the run"
    return took, outcome[0]


@pytest.mark.slow
def test_an_interrupt_ends_a_captured_run() -> None:
    took, outcome = interrupted_after(ffmpeg.capture, SLOW, 120)
    assert took < 10
    assert isinstance(outcome, CutError) and outcome.message == "interrupted"
    assert ffmpeg.LOOSE.running() == 0


@pytest.mark.slow
def test_an_interrupt_ends_a_check_the_cut_can_do_without() -> None:
    """An optional read (intra refresh, HDR metadata) goes through the runner too: the interrupt ends it, and the
    check is then skipped (None)."""
    took, outcome = interrupted_after(probe.optional_output, SLOW)
    assert took < 10
    assert outcome is None
