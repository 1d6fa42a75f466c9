"""Runs a run's steps on local files: one ffmpeg step (or a smart cut's splice, in-process) at a time as a
progress task under the run's child processes, and ffprobe's view of each local file, read once per run.
"""

from __future__ import annotations

import shlex
import threading
from collections.abc import Sequence

from clipper.core.errors import CutError
from clipper.media import ffmpeg, hdr, probe
from clipper.media.bitstream import splice
from clipper.media.probe import MediaInfo
from clipper.run.progress import Reporter
from clipper.run.steps import Step


class MediaClock:
    """A step's progress (0 to its length) from ffmpeg's ``out_time``, which counts from the source's own
    timestamps when ffmpeg keeps them (``-copyts``) and from 0 otherwise: the first report tells which."""

    def __init__(self, offset: float, total: float) -> None:
        self.offset = offset
        self.total = total
        self.origin: float | None = None

    def done(self, out_time: float) -> float:
        if self.origin is None:
            if out_time <= 0:
                return 0.0  # nothing written yet: the timeline is not known
            self.origin = self.offset if out_time >= self.offset - 1.0 else 0.0
        return min(max(out_time - self.origin, 0.0), self.total)


class StepRunner:
    """Runs steps with their progress, each ffmpeg a child the run ends when it stops (``children``)."""

    def __init__(self, reporter: Reporter, children: ffmpeg.ChildProcesses) -> None:
        self.reporter = reporter
        self.children = children

    def run_step(self, step: Step, label: str) -> str:
        """Run one step with its progress; what it wrote to stderr."""
        self.reporter.debug("$ " + shlex.join(step.argv))
        key = f"{label}#{threading.get_ident()}"
        self.reporter.task_started(key, label, step.seconds)
        clock = MediaClock(step.offset, step.seconds)
        try:
            if step.phase == "splice":  # the same function the step's command runs, without starting Python
                try:
                    splice.rewrite_file(*step.argv[-2:])
                except (OSError, splice.SpliceError) as error:
                    raise CutError(f"the open GOP cannot be spliced: {error}") from None
                return ""
            return ffmpeg.run_ffmpeg(step.argv, lambda seconds: self.reporter.task_progress(key, clock.done(seconds)),
                                  self.children, cwd=step.cwd)  # fmt: skip
        finally:
            self.reporter.task_finished(key)

    def run_read(self, argv: Sequence[str]) -> None:
        """Run a small ffmpeg that reads (an intra refresh check) as the cuts run: logged, ended with clipper."""
        self.reporter.debug("$ " + shlex.join(argv))
        ffmpeg.run_ffmpeg(argv, None, self.children)


class MediaInfos:
    """What ffprobe says of each local file (HDR metadata included), read once per run by whichever asks first."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._known: dict[str, MediaInfo] = {}

    def known(self, path: str) -> MediaInfo | None:
        """What was read of ``path`` so far (None: nothing yet)."""
        with self._lock:
            return self._known.get(path)

    def remember(self, path: str, info: MediaInfo) -> None:
        """Keep what another ffprobe run read of ``path`` (one that listed its packets too)."""
        with self._lock:
            self._known[path] = info

    def info(self, path: str) -> MediaInfo:
        """What ffprobe says of ``path``, read now if no one has."""
        known = self.known(path)
        if known is None:
            known = hdr.with_metadata(probe.probe(path), path)
            self.remember(path, known)
        return known
