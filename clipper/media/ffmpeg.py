"""The one place clipper starts ffmpeg and ffprobe: a cut with its progress (``run_ffmpeg``) and the short runs
whose output is read (``capture``). Every process is tracked (``ChildProcesses``), so an interrupt ends them all,
and a failure is told in one line: the tool's last.

The argv these run are built elsewhere (``cut_args``, ``smart_args``, ``probe``, ...): commands are data.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clipper.core.errors import CutError, ToolError

Process = subprocess.Popen[Any]


class ChildProcesses:
    """The ffmpeg and ffprobe processes a batch has running now, so an interrupted run can end them all.

    ``stop_all`` also ends the processes started with no tracker of their own (a probe, a poster: see ``LOOSE``):
    an interrupt ends every child clipper has."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: set[Process] = set()
        self._ended: set[Process] = set()  # ended by stop_all: their failure is the interrupt
        self.stopping = threading.Event()

    def add(self, process: Process) -> None:
        with self._lock:
            self._running.add(process)
        if self.stopping.is_set():
            self._end(process)

    def discard(self, process: Process) -> bool:
        """Forget a finished process; whether ``stop_all`` ended it."""
        with self._lock:
            self._running.discard(process)
            ended = process in self._ended
            self._ended.discard(process)
        return ended

    def running(self) -> int:
        """How many of its processes run now."""
        with self._lock:
            return sum(1 for process in self._running if process.poll() is None)

    def stop_all(self) -> None:
        self.stopping.set()
        self._end_running()
        if self is not LOOSE:
            LOOSE._end_running()

    def _end_running(self) -> None:
        with self._lock:
            running = list(self._running)
        for process in running:
            self._end(process)

    def _end(self, process: Process) -> None:
        if process.poll() is None:
            with self._lock:
                self._ended.add(process)
            process.terminate()


# Runs started with no tracker of their own (a probe while cutting, a poster, a dry run's reads): tracked here,
# so every batch's interrupt ends them too. It never stops refusing: a dry run after an interrupt still reads.
LOOSE = ChildProcesses()


@functools.lru_cache(maxsize=1)
def die_with_parent() -> tuple[str, ...]:
    """A prefix that makes a child die with clipper even when clipper is killed outright (SIGKILL): Linux's
    parent-death signal, set by util-linux's ``setpriv`` before it runs the command. Elsewhere (macOS,
    Windows) nothing: clipper ends its children itself on Ctrl-C and SIGTERM."""
    if sys.platform.startswith("linux"):
        setpriv = shutil.which("setpriv")
        if setpriv and subprocess.run([setpriv, "--pdeathsig", "KILL", "true"], capture_output=True).returncode == 0:
            return (setpriv, "--pdeathsig", "KILL", "--")
    return ()


def last_line(stderr: str) -> str:
    lines = [line.strip() for line in stderr.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no message"


def _start(argv: Sequence[str], children: ChildProcesses, *, text: bool, cwd: str | None = None,
           env: Mapping[str, str] | None = None) -> Process:  # fmt: skip
    """Start ``argv`` (stdin closed, stdout and stderr piped) and track it; ToolError when the tool is missing."""
    if children.stopping.is_set():
        raise CutError("interrupted")
    prefix = die_with_parent() if shutil.which(argv[0]) else ()  # a missing tool is reported as such
    try:
        process: Process = subprocess.Popen([*prefix, *argv], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                            stderr=subprocess.PIPE, text=text, errors="replace" if text else None,
                                            cwd=cwd, env=None if env is None else dict(env))  # fmt: skip
    except FileNotFoundError:
        tool = Path(argv[0]).name
        raise ToolError(f"{tool} not found: install ffmpeg (e.g. apt-get install ffmpeg)") from None
    children.add(process)
    return process


def _finish(process: Process, children: ChildProcesses) -> bool:
    """End ``process`` if it still runs and stop tracking it; whether an interrupt ended it."""
    if process.poll() is None:
        process.kill()
        process.wait()
    return children.discard(process)


def run_ffmpeg(
    argv: Sequence[str],
    on_seconds: Callable[[float], None] | None = None,
    children: ChildProcesses | None = None,
    cwd: str | None = None,
    env: Mapping[str, str] | None = None,
) -> str:
    """Run an ffmpeg argv, reporting the media time written (from ``-progress``); return what it wrote to stderr
    (a measuring pass's report). ``children``: the batch's tracker (else ``LOOSE``); ``env``: its environment
    (else clipper's). CutError when it fails (retryable when the network failed) or is interrupted."""
    tracker = children if children is not None else LOOSE
    process = _start(argv, tracker, text=True, cwd=cwd, env=env)
    stderr_lines: list[str] = []
    reader = threading.Thread(target=lambda: stderr_lines.extend(process.stderr or []), daemon=True)
    reader.start()
    try:
        for line in process.stdout or []:
            key, _, value = line.strip().partition("=")
            if key == "out_time_us" and on_seconds and value.lstrip("-").isdigit():
                on_seconds(int(value) / 1_000_000)
        process.wait()
        reader.join(timeout=5)
    finally:
        ended = _finish(process, tracker)
    if ended or tracker.stopping.is_set():
        raise CutError("interrupted")
    if process.returncode != 0:
        message = last_line("".join(stderr_lines))
        raise CutError(f"ffmpeg failed: {message}", retryable=_is_network(message))
    return "".join(stderr_lines)


def _is_network(message: str) -> bool:
    lowered = message.lower()
    words = ("server returned", "connection", "timed out", "i/o error", "http error", "network", "end of file")
    return any(word in lowered for word in words)


class TookTooLong(CutError):
    """A captured run passed its timeout (it was ended)."""


@dataclass(frozen=True)
class Captured:
    """What a finished run wrote, and its exit status."""

    returncode: int
    stdout: bytes
    stderr: str

    @property
    def text(self) -> str:
        return self.stdout.decode(errors="replace")

    @property
    def last_error(self) -> str:
        """Its stderr's last line ("no message" when it wrote none)."""
        return last_line(self.stderr)


def capture(argv: Sequence[str], timeout: float | None = 300, children: ChildProcesses | None = None) -> Captured:
    """Run an ffmpeg or ffprobe argv whose output is read, tracked like every run (``children``, else ``LOOSE``).

    A failing run is returned (its ``returncode`` says so) for the caller to word. ToolError: the tool is
    missing; TookTooLong: it ran past ``timeout`` seconds; CutError("interrupted"): an interrupt ended it."""
    tracker = children if children is not None else LOOSE
    process = _start(argv, tracker, text=False)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise TookTooLong(f"{Path(argv[0]).name} took longer than {timeout:g} s") from None
    finally:
        ended = _finish(process, tracker)
    if ended or (children is not None and children.stopping.is_set()):
        raise CutError("interrupted")
    return Captured(process.returncode, stdout, stderr.decode(errors="replace"))


@functools.lru_cache(maxsize=1)
def has_display_rotation() -> bool:
    """Whether this ffmpeg takes ``-display_rotation`` (ffmpeg 5.1 does not): ``ffmpeg -h long`` lists it."""
    try:
        listing = capture(["ffmpeg", "-hide_banner", "-h", "long"], timeout=60).text
    except (OSError, CutError, ToolError):
        return False
    return "-display_rotation" in listing
