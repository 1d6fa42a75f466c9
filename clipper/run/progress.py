"""Progress events -> tqdm bars on a terminal, plain lines otherwise, or only problems with -q.

The runner reports from worker threads; every method takes a lock. Events:
``start(total clips)``, ``task_started(key, label, total, unit)`` / ``task_progress(key, done)`` /
``task_finished(key)`` for each fetch or cut in flight, ``clip_finished(name, status, detail)``, ``message``.
"""

from __future__ import annotations

import sys
import threading
from typing import TYPE_CHECKING, TextIO

from clipper.core.text import printable

if TYPE_CHECKING:
    from tqdm import tqdm

SECONDS_BAR = "{desc}: {percentage:3.0f}%|{bar}| {n:.1f}/{total:.1f}s [{elapsed}<{remaining}]"


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
            self._write(f"clipper: {total} clip(s)")

    def task_started(self, key: str, label: str, total: float | None, unit: str = "s") -> None:
        with self.lock:
            size = "" if total is None else (f" ({total:.1f}s)" if unit == "s" else f" ({total / 1e6:.1f} MB)")
            self._write(f"[{self.finished}/{self.total}] {label}{size}")

    def task_progress(self, key: str, done: float, total: float | None = None) -> None:
        pass

    def task_finished(self, key: str) -> None:
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
        print(printable(text), file=self.stream, flush=True)


class QuietReporter(Reporter):
    """-q: only problems."""

    def start(self, total: int) -> None:
        self.total = total

    def task_started(self, key: str, label: str, total: float | None, unit: str = "s") -> None:
        pass

    def clip_finished(self, name: str, status: str, detail: str = "") -> None:
        if status == "failed":
            super().clip_finished(name, status, detail)

    def message(self, text: str) -> None:
        pass


class BarReporter(Reporter):
    """A terminal: one overall bar (clips, with ETA) and one bar per fetch or cut in flight."""

    def __init__(self, stream: TextIO | None = None, verbose: bool = False) -> None:
        super().__init__(stream, verbose)
        self.overall: tqdm | None = None
        self.bars: dict[str, tqdm] = {}
        self.free_rows: list[int] = []

    def start(self, total: int) -> None:
        from tqdm import tqdm  # here: only bars need it (plans, lines and -q never load it)

        with self.lock:
            self.total = total
            self.overall = tqdm(total=total, desc="clips", unit="clip", file=self.stream, position=0,
                                dynamic_ncols=True)  # fmt: skip

    def task_started(self, key: str, label: str, total: float | None, unit: str = "s") -> None:
        from tqdm import tqdm

        label = printable(label)
        with self.lock:
            old = self.bars.pop(key, None)
            if old is not None:
                row = abs(old.pos)
                old.close()
            else:
                row = self.free_rows.pop(0) if self.free_rows else len(self.bars) + 1
            if unit == "s":
                bar = tqdm(total=round(total or 0, 2) or None, desc=label, unit="s", file=self.stream, position=row,
                           leave=False, dynamic_ncols=True, bar_format=SECONDS_BAR)  # fmt: skip
            else:
                bar = tqdm(total=total, desc=label, unit="B", unit_scale=True, unit_divisor=1024, file=self.stream,
                           position=row, leave=False, dynamic_ncols=True)  # fmt: skip
            self.bars[key] = bar

    def task_progress(self, key: str, done: float, total: float | None = None) -> None:
        with self.lock:
            bar = self.bars.get(key)
            if bar is None:
                return
            if total and bar.total != total:
                bar.total = total
            done = max(0.0, done)  # a bar runs from 0 to 100%, whatever a tool reports
            bar.n = min(round(done, 2), bar.total) if bar.total else round(done, 2)
            bar.refresh()

    def task_finished(self, key: str) -> None:
        with self.lock:
            bar = self.bars.pop(key, None)
            if bar is not None:
                self.free_rows.append(abs(bar.pos))
                bar.close()

    def clip_finished(self, name: str, status: str, detail: str = "") -> None:
        from tqdm import tqdm

        with self.lock:
            self.finished += 1
            if status == "failed" or self.verbose:
                tqdm.write(printable(f"{status} {name}" + (f": {detail}" if detail else "")), file=self.stream)
            if self.overall is not None:
                self.overall.update(1)

    def message(self, text: str) -> None:
        from tqdm import tqdm

        with self.lock:
            tqdm.write(printable(text), file=self.stream)

    def close(self) -> None:
        with self.lock:
            for bar in self.bars.values():
                bar.close()
            self.bars.clear()
            if self.overall is not None:
                self.overall.close()
                self.overall = None


class SilentProgress(Reporter):
    """--progress off: no line per fetch or cut; messages and failures as usual."""

    def task_started(self, key: str, label: str, total: float | None, unit: str = "s") -> None:
        pass


PROGRESS_STYLES = ("auto", "bars", "lines", "off")


def make_reporter(quiet: bool = False, verbose: bool = False, stream: TextIO | None = None,
                  progress: str = "auto") -> Reporter:  # fmt: skip
    """Bars on a terminal, plain lines when stderr is a pipe or file (or as ``progress`` says), problems only
    with -q."""
    stream = stream or sys.stderr
    if quiet:
        return QuietReporter(stream)
    if progress == "off":
        return SilentProgress(stream, verbose)
    if progress == "bars" or (progress == "auto" and stream.isatty()):
        return BarReporter(stream, verbose)
    return Reporter(stream, verbose)
