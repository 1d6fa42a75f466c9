"""Benchmark: one batch made locally and through the Redis queue (`clipper worker` + `clipper batch --broker`).

Three 60 s test videos (320x180 H.264, 25 fps, a keyframe every 2 s, AAC beeps; each with its own look) are
generated and served from 127.0.0.1 (tests/redisd.serve_gauged: Range support, an optional delay before each
answer to stand for a host far away). Three notes ask for 4 clips of 5 s each (12 clips), none starting on a
keyframe. A redis-server of the benchmark's own runs on a free 127.0.0.1 port. Timed, one after another:

  local -j 1, local -j 2: `clipper batch NOTES --config CFG -j N`;
  queue 1x1, 1x2, 2x1: workers already waiting (1 worker -j 1, 1 worker -j 2, 2 workers -j 1), timed is
  `clipper batch NOTES --broker URL --config CFG` from its start to its end (the workers' own start is not).

Every run starts with an empty output folder and cache, and an empty Redis. Each run is repeated --repeat times
(3) and its median shown; the clips of the first are decoded and checked against their source (first and last
frame within one frame, no pre-roll). This is a benchmark, not a test: it prints numbers and exits 0.

    python bench/queue_bench.py [--markdown] [--repeat 3] [--delay 0] [--keep]
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from redisd import (  # noqa: E402
    REDIS_SERVER,
    QueueMedia,
    RedisServer,
    clip_problems,
    clips_of,
    make_queue_videos,
    serve_gauged,
    start_worker,
    write_config,
    write_notes,
)
from verify import thumbnails  # noqa: E402

SECONDS = 60
CLIP_SECONDS = 5.0
STARTS = {  # none on a keyframe (every 2 s)
    "queuevidA01": (3.3, 17.5, 31.1, 45.7),
    "queuevidB02": (5.5, 19.3, 33.9, 47.1),
    "queuevidC03": (1.7, 13.1, 27.5, 51.3),
}
RANGES = {video: [(start, start + CLIP_SECONDS) for start in starts] for video, starts in STARTS.items()}
CLIPS = clips_of(RANGES)


@dataclass(frozen=True)
class Setup:
    key: str
    label: str
    local_jobs: int = 0  # a local batch with -j this (0: through the queue)
    workers: tuple[int, ...] = ()  # the queue's workers, each with -j this


SETUPS = (
    Setup("L1", "local -j 1", local_jobs=1),
    Setup("L2", "local -j 2", local_jobs=2),
    Setup("Q11", "queue: 1 worker -j 1", workers=(1,)),
    Setup("Q12", "queue: 1 worker -j 2", workers=(2,)),
    Setup("Q21", "queue: 2 workers -j 1", workers=(1, 1)),
)


@dataclass
class Run:
    setup: Setup
    times: list[float] = field(default_factory=list)
    failure: str = ""
    problems: list[str] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return statistics.median(self.times) if self.times else 0.0


def run_process(argv: list[str], cwd: Path) -> str:
    """Run one command; '' when it succeeded, else the end of what it said."""
    result = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False)
    if result.returncode == 0:
        return ""
    said = (result.stderr.strip() or result.stdout.strip()).splitlines()[-3:]
    return f"{shlex.join(argv[2:5])}... exit {result.returncode}: " + " | ".join(said)


def compile_clipper() -> None:
    """Compile the bytecode of the clipper that ``python -m clipper`` runs, next to its sources (as an install does)."""
    code = "import clipper, compileall, pathlib; compileall.compile_dir(pathlib.Path(clipper.__file__).parent, quiet=1)"
    subprocess.run([sys.executable, "-c", code], check=False)


def one_run(
    setup: Setup, folder: Path, notes: Path, base: str, media: QueueMedia, redis: RedisServer
) -> tuple[float, str]:
    """Time one batch of ``setup`` in ``folder`` (its config, output and cache there); (seconds, failure)."""
    folder.mkdir(parents=True)
    config = write_config(folder, base, media.names)
    argv = [sys.executable, "-m", "clipper", "batch", str(notes), "--config", str(config)]
    if setup.local_jobs:
        began = time.perf_counter()
        failure = run_process([*argv, "-j", str(setup.local_jobs)], folder)
        return time.perf_counter() - began, failure
    redis.flushall()
    workers = [
        start_worker(redis.url, config, jobs, folder, folder / f"worker{number}.log")
        for number, jobs in enumerate(setup.workers, 1)
    ]
    try:
        for worker in workers:
            worker.wait_ready()
        began = time.perf_counter()
        failure = run_process([*argv, "--broker", redis.url], folder)
        return time.perf_counter() - began, failure
    finally:
        for worker in workers:
            worker.stop()


def bench(work: Path, repeat: int, delay: float, log: Callable[[str], None]) -> list[Run]:
    log(f"making {len(STARTS)} videos of {SECONDS} s...")
    files = make_queue_videos(work / "media", seconds=SECONDS, size="320x180")
    media = QueueMedia(work / "media", files, {video: thumbnails(path) for video, path in files.items()})
    notes = write_notes(work, RANGES, duration=SECONDS)
    compile_clipper()
    runs = [Run(setup) for setup in SETUPS]
    redis = RedisServer(work / "redis")
    redis.start()
    try:
        with serve_gauged(media.folder, delay=delay) as host:
            for attempt in range(repeat):
                for run in runs:  # interleaved: a slow spell of the machine falls on every setup alike
                    if run.failure:
                        continue
                    folder = work / f"{run.setup.key}-{attempt}"
                    seconds, run.failure = one_run(run.setup, folder, notes, host.base, media, redis)
                    run.times.append(seconds)
                    log(f"({run.setup.key}) {run.setup.label}: {seconds:.2f} s" + (f" FAILED: {run.failure}"
                                                                                   if run.failure else ""))  # fmt: skip
                    if attempt == 0 and not run.failure:
                        run.problems = clip_problems(folder / "out", media, CLIPS)
    finally:
        redis.stop()
    return runs


def render(table: list[list[str]], markdown: bool) -> str:
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    if markdown:
        head = "| " + " | ".join(table[0]) + " |"
        rule = "| " + " | ".join("---" if i < 1 else "---:" for i in range(len(widths))) + " |"
        return "\n".join([head, rule] + ["| " + " | ".join(row) + " |" for row in table[1:]])
    lines = []
    for number, row in enumerate(table):
        cells = [cell.ljust(w) if i < 1 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=True))]
        lines.append("  ".join(cells).rstrip())
        if number == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def table(runs: list[Run]) -> list[list[str]]:
    base = next((run for run in runs if run.setup.key == "L1" and not run.failure), None)
    rows = [["run", "wall s (median)", "runs", "vs local -j 1", "clips right"]]
    for run in runs:
        label = f"({run.setup.key}) {run.setup.label}" + (" FAILED" if run.failure else "")
        speedup = f"{base.seconds / run.seconds:.2f}x" if base and run.seconds and not run.failure else "-"
        times = ", ".join(f"{t:.2f}" for t in run.times)
        right = "-" if run.failure else f"{len(CLIPS) - len(run.problems)}/{len(CLIPS)}"
        rows.append([label, f"{run.seconds:.2f}" if run.times else "-", times, speedup, right])
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--markdown", action="store_true", help="print the results as a Markdown table")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each setup, whose median is shown (default 3)")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds the host waits before each answer")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (its path goes to stderr)")
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    missing = [tool for tool in ("ffmpeg", "ffprobe") if shutil.which(tool) is None]
    if not os.access(REDIS_SERVER, os.X_OK):
        missing.append(REDIS_SERVER)
    if missing:
        print(f"queue_bench: not found: {', '.join(missing)}; nothing measured", file=sys.stderr)
        return 0

    def log(message: str) -> None:
        print(f"[queue_bench] {message}", file=sys.stderr, flush=True)

    # The clipper of this tree, for every `python -m clipper` the benchmark starts (not one installed elsewhere).
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    work = Path(tempfile.mkdtemp(prefix="queue_bench-"))
    try:
        runs = bench(work, args.repeat, args.delay, log)
    finally:
        if args.keep:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    print(
        f"{len(CLIPS)} clips of {CLIP_SECONDS:.0f} s from {len(STARTS)} videos of {SECONDS} s (320x180 H.264 25 fps, "
        f"a keyframe every 2 s, AAC), served from 127.0.0.1 with {args.delay:g} s before each answer; smart cut; "
        f"{os.cpu_count()} cores; a local redis-server. Queue runs: the workers wait before the batch starts."
    )
    print()
    print(render(table(runs), args.markdown))
    for run in runs:
        if run.failure:
            print(f"\n({run.setup.key}) failed: {run.failure}")
        for problem in run.problems:
            print(f"\n({run.setup.key}) {problem}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
