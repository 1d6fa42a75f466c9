"""Progress events -> tqdm bars on a terminal, plain lines otherwise, or nothing with -q.

The runner calls a Reporter from worker threads; every method here takes a lock.
"""

from __future__ import annotations

import sys
import threading
from typing import TextIO

from tqdm import tqdm


class Reporter:
    """Plain progress: one line per event on stderr (what a log file or CI wants)."""

    def __init__(self, stream: TextIO | None = None, verbose: bool = False) -> None:
        self.stream = stream or sys.stderr
        self.verbose = verbose
        self.lock = threading.Lock()
        self.total = 0
        self.finished = 0

    def start(self, total: int) -> None:
        with self.lock:
            self.total = total
            self._write(f"clipper: {total} clip(s) to make")

    def clip_started(self, name: str, phase: str, seconds: float) -> None:
        with self.lock:
            self._write(f"[{self.finished}/{self.total}] {phase} {name} ({seconds:.1f}s)")

    def clip_progress(self, name: str, seconds: float) -> None:
        pass

    def clip_finished(self, name: str, status: str, detail: str = "") -> None:
        with self.lock:
            self.finished += 1
            self._write(f"[{self.finished}/{self.total}] {status} {name}" + (f": {detail}" if detail else ""))

    def message(self, text: str) -> None:
        with self.lock:
            self._write(text)

    def debug(self, text: str) -> None:
        if self.verbose:
            self.message(text)

    def close(self) -> None:
        pass

    def _write(self, text: str) -> None:
        print(text, file=self.stream, flush=True)


class QuietReporter(Reporter):
    """-q: only problems."""

    def start(self, total: int) -> None:
        self.total = total

    def clip_started(self, name: str, phase: str, seconds: float) -> None:
        pass

    def clip_finished(self, name: str, status: str, detail: str = "") -> None:
        if status == "failed":
            super().clip_finished(name, status, detail)


class BarReporter(Reporter):
    """A terminal: one overall bar (clips, with ETA) and one bar per clip in progress (media seconds)."""

    def __init__(self, stream: TextIO | None = None, verbose: bool = False) -> None:
        super().__init__(stream, verbose)
        self.overall: tqdm | None = None
        self.bars: dict[str, tqdm] = {}
        self.free_rows: list[int] = []

    def start(self, total: int) -> None:
        with self.lock:
            self.total = total
            self.overall = tqdm(
                total=total, desc="clips", unit="clip", file=self.stream, position=0, dynamic_ncols=True
            )

    def clip_started(self, name: str, phase: str, seconds: float) -> None:
        with self.lock:
            old = self.bars.pop(name, None)
            row = old.pos if old is not None else (self.free_rows.pop(0) if self.free_rows else len(self.bars) + 1)
            if old is not None:
                old.close()
            self.bars[name] = tqdm(
                total=round(seconds, 2),
                desc=f"{phase} {name}",
                unit="s",
                file=self.stream,
                position=abs(row),
                leave=False,
                dynamic_ncols=True,
                bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.1f}/{total:.1f}s",
            )

    def clip_progress(self, name: str, seconds: float) -> None:
        with self.lock:
            bar = self.bars.get(name)
            if bar is not None:
                bar.n = min(round(seconds, 2), bar.total)
                bar.refresh()

    def clip_finished(self, name: str, status: str, detail: str = "") -> None:
        with self.lock:
            self.finished += 1
            bar = self.bars.pop(name, None)
            if bar is not None:
                self.free_rows.append(abs(bar.pos))
                bar.close()
            if status == "failed" or self.verbose:
                tqdm.write(f"{status} {name}" + (f": {detail}" if detail else ""), file=self.stream)
            if self.overall is not None:
                self.overall.update(1)

    def message(self, text: str) -> None:
        with self.lock:
            tqdm.write(text, file=self.stream)

    def close(self) -> None:
        with self.lock:
            for bar in self.bars.values():
                bar.close()
            self.bars.clear()
            if self.overall is not None:
                self.overall.close()


def make_reporter(quiet: bool = False, verbose: bool = False, stream: TextIO | None = None) -> Reporter:
    """Bars on a terminal, plain lines when stderr is a pipe or file, problems only with -q."""
    stream = stream or sys.stderr
    if quiet:
        return QuietReporter(stream)
    if stream.isatty():
        return BarReporter(stream, verbose)
    return Reporter(stream, verbose)
