"""Benchmark: clipper and the note's own yt-dlp commands against a host that throttles long responses.

Hosts like YouTube send any single response longer than ~10 MiB at a crawl. clipper asks for every byte in
Range requests of at most `http_chunk_size` bytes (default 10 MiB): with `--fetch sections` ffmpeg reads through
clipper's relay, which makes the bounded requests; with `--fetch full` yt-dlp gets `--http-chunk-size`.

bench/smart_bench.py's 720p H.264 source (6 minutes, about 115 MB) and note (4 clips of 30 s) are served from
127.0.0.1 by tests/hosts.py's `serve_host`, either at full speed or throttling every response longer than 10 MiB
to 128 KiB/s. Timed, one after another:

  (1) `clipper batch NOTE --fetch sections`, unthrottled;   (2) the same, throttled;
  (3) `clipper batch NOTE --fetch full`, unthrottled;       (4) the same, throttled;
  (5u) the note's own `yt-dlp --download-sections ... --force-keyframes-at-cuts` commands, one after another,
       unthrottled (the baseline for (5));
  (5) the same commands on the throttling host, stopped after --cap seconds.

clipper runs as `python -m clipper batch NOTE --config CFG --fetch MODE` with `sources: {VIDEO_ID: URL}`, a fresh
output_dir and cache_dir per run and http_chunk_size at its default. For each run the host's request log gives the
bytes it sent, the largest bounded Range asked and every open-ended GET (no Range, or `bytes=N-`) with what it
was sent. A run counts as made when it exits 0 and all 4 clips exist. This is a benchmark: it prints numbers and
exits 0.

    python bench/hosts_bench.py [--quick] [--cap 900] [--markdown] [--minutes 6] [--source FILE] [--keep]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

from hosts import Host, Seen, requested_length, serve_host  # noqa: E402
from smart_bench import (  # noqa: E402
    BASE_MINUTES,
    VIDEO_ID,
    clip_name,
    clip_ranges,
    make_source,
    render,
    timestamp,
    write_config,
    write_note,
    ytdlp_commands,
)

MIB = 1024 * 1024
LIMIT = 10 * MIB  # YouTube throttles responses longer than this; clipper's default http_chunk_size
THROTTLE_RATE = 128 * 1024  # bytes/s for a throttled response
# An open-ended GET (e.g. the lookup of yt-dlp's generic extractor, which reads a media URL's first bytes and hangs
# up) counts as abandoned when the host sent no more than this: a few 16 KiB pieces when throttled; when not,
# loopback's socket buffers take a few MB of a response before the host sees the hang-up.
GLANCE_THROTTLED = 64 * 1024
GLANCE_UNTHROTTLED = LIMIT


@dataclass(frozen=True)
class Scenario:
    key: str
    label: str
    throttled: bool
    fetch: str | None  # clipper's --fetch; None: the note's yt-dlp commands
    baseline: str | None = None  # the unthrottled scenario this one is compared with


SCENARIOS = (
    Scenario("1", "clipper --fetch sections", False, "sections"),
    Scenario("2", "clipper --fetch sections, throttled", True, "sections", "1"),
    Scenario("3", "clipper --fetch full", False, "full"),
    Scenario("4", "clipper --fetch full, throttled", True, "full", "3"),
    Scenario("5u", "note's yt-dlp commands", False, None),
    Scenario("5", "note's yt-dlp commands, throttled", True, None, "5u"),
)


@dataclass
class Result:
    scenario: Scenario
    seconds: float = 0.0
    stopped: bool = False
    failure: str = ""  # the failing command's exit status and what it said
    bytes_sent: int = 0
    requests: list[Seen] = field(default_factory=list)
    clips_made: int = 0

    @property
    def gets(self) -> list[Seen]:
        return [seen for seen in self.requests if seen.method == "GET"]

    @property
    def bounded(self) -> list[int]:
        """Bytes asked by every GET with a bounded Range."""
        lengths = (requested_length(seen.range) for seen in self.gets if seen.range)
        return [length for length in lengths if length is not None]

    @property
    def open_ended(self) -> list[Seen]:
        """GETs without a Range or with an open-ended one: they ask for the rest of the file."""
        return [seen for seen in self.gets if not seen.range or requested_length(seen.range) is None]

    @property
    def largest_asked(self) -> int | None:
        return max(self.bounded, default=None)

    @property
    def glance(self) -> int:
        return GLANCE_THROTTLED if self.scenario.throttled else GLANCE_UNTHROTTLED

    @property
    def open_ended_reads(self) -> list[Seen]:
        """Open-ended GETs that were sent more than a glance: the client read on."""
        return [seen for seen in self.open_ended if seen.sent > self.glance]

    @property
    def kept_under_limit(self) -> bool:
        """No bounded request asked for more than LIMIT, no open-ended one was read past a glance."""
        return all(length <= LIMIT for length in self.bounded) and not self.open_ended_reads

    @property
    def made(self) -> bool:
        return not self.failure and not self.stopped and self.clips_made == 4


# --- running ---------------------------------------------------------------------------------------------------


def run_capped(argvs: list[list[str]], cwd: Path, deadline: float, log_file: Path) -> tuple[str, bool]:
    """Run the commands one after another until ``deadline`` (monotonic). Returns (failure, stopped): failure is
    '' or the failing command's exit status and output; stopped is True when the deadline ended the run (each
    command runs in its own process group, which is ended with it: ffmpeg children included)."""
    with log_file.open("a", encoding="utf-8") as log:
        for argv in argvs:
            log.write(f"$ {shlex.join(argv)}\n")
            log.flush()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return "", True
            process = subprocess.Popen(
                argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
            )
            try:
                out, err = process.communicate(timeout=remaining)
            except subprocess.TimeoutExpired:
                stop_group(process)
                log.write("(stopped at the cap)\n")
                return "", True
            log.write(out + err)
            if process.returncode != 0:
                said = "\n".join((err.strip() or out.strip()).splitlines()[-40:])
                return f"$ {shlex.join(argv)}\nexit {process.returncode}:\n{said}", False
    return "", False


def stop_group(process: subprocess.Popen[str]) -> None:
    """End the process group this benchmark started for ``process``: SIGTERM, then SIGKILL after 10 s."""
    for sig, wait in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 10.0)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            process.communicate(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def run_scenario(
    scenario: Scenario,
    host: Host,
    source_url: str,
    note: Path,
    names: list[str],
    work: Path,
    cap: float,
    log: Callable[[str], None],
    show_requests: bool = False,
) -> Result:
    result = Result(scenario)
    folder = work / f"run-{scenario.key}"
    folder.mkdir()
    out = folder / "out"
    if scenario.fetch is None:
        out.mkdir()
        argvs = ytdlp_commands(note, source_url)
    else:
        config = folder / "config.yaml"
        write_config(config, source_url, out, folder / "cache")  # http_chunk_size left at its default
        argvs = [[sys.executable, "-m", "clipper", "batch", str(note), "--config", str(config)]]
        argvs[0] += ["--fetch", scenario.fetch]
    log(f"({scenario.key}) {scenario.label}: {shlex.join(argvs[0][1:])}" + (" ..." if len(argvs) > 1 else ""))
    host.throttle_over = LIMIT if scenario.throttled else None
    host.throttle_rate = THROTTLE_RATE
    host.reset()
    began = time.monotonic()
    result.failure, result.stopped = run_capped(argvs, out if scenario.fetch is None else folder, began + cap,
                                                folder / "output.log")  # fmt: skip
    result.seconds = time.monotonic() - began
    host.wait_idle(10.0)
    result.bytes_sent = host.bytes_sent
    result.requests = list(host.requests)
    result.clips_made = sum(1 for name in names if (out / name).is_file() and (out / name).stat().st_size > 0)
    state = "stopped at the cap" if result.stopped else ("FAILED" if result.failure else "ok")
    log(f"  {result.seconds:.1f} s, {result.bytes_sent / 1e6:.1f} MB sent, {len(result.gets)} GETs, {state}")
    if show_requests:
        for seen in result.requests:
            log(f"    {seen.method} {seen.range or '(no Range)'} -> {seen.status}, {seen.sent:,} bytes sent")
    return result


# --- report ----------------------------------------------------------------------------------------------------


def wall(result: Result, cap: float) -> str:
    return f"> {cap:.0f} s (stopped)" if result.stopped else f"{result.seconds:.1f}"


def ratio(result: Result, results: dict[str, Result]) -> str:
    base = results.get(result.scenario.baseline or "")
    if base is None or base.stopped or base.seconds <= 0:
        return "-"
    value = result.seconds / base.seconds
    return f"> {value:.1f}x" if result.stopped else f"{value:.1f}x"


def open_ended_cell(result: Result) -> str:
    if not result.open_ended:
        return "none"
    biggest = max(seen.sent for seen in result.open_ended)
    reads = len(result.open_ended_reads)
    kind = f"{reads} read on" if reads else "abandoned"
    return f"{len(result.open_ended)} ({kind}), largest answer {biggest / 1e6:.2f} MB"


def table(results: dict[str, Result], cap: float) -> list[list[str]]:
    rows = [["run", "wall s", "vs unthrottled", "MB sent by host", "GETs", "largest asked MiB", "open-ended GETs",
             "clips"]]  # fmt: skip
    for result in results.values():
        largest = result.largest_asked
        asked = [] if largest is None else [f"{largest / MIB:.2f}"]
        if result.open_ended_reads:
            asked.append("open-ended")
        asked_cell = " + ".join(asked) or "-"
        if result.stopped:
            clips = f"{result.clips_made}/4 (stopped)"
        elif result.failure:
            clips = f"{result.clips_made}/4 (FAILED)"
        else:
            clips = f"{result.clips_made}/4"
        rows.append(
            [
                f"({result.scenario.key}) {result.scenario.label}",
                wall(result, cap),
                ratio(result, results),
                f"{result.bytes_sent / 1e6:.1f}",
                str(len(result.gets)),
                asked_cell,
                open_ended_cell(result),
                clips,
            ]
        )
    return rows


def limit_lines(results: dict[str, Result]) -> list[str]:
    lines = []
    for result in results.values():
        if result.scenario.fetch is None:
            continue
        largest = result.largest_asked
        largest_text = "no bounded GETs" if largest is None else f"largest bounded GET {largest / MIB:.2f} MiB"
        if result.open_ended:
            biggest = max(seen.sent for seen in result.open_ended)
            largest_text += f"; {len(result.open_ended)} open-ended GET(s), the host sent at most {biggest:,} bytes" + (
                f", {len(result.open_ended_reads)} read on" if result.open_ended_reads else ", abandoned"
            )
        verdict = "yes" if result.kept_under_limit else "NO"
        made = "clips made" if result.made else "clips NOT made"
        lines.append(f"({result.scenario.key}) every request at or under 10 MiB: {verdict} ({largest_text}); {made}")
    return lines


# --- main ------------------------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="skip the note's yt-dlp commands (5u) and (5)")
    parser.add_argument("--cap", type=float, default=900.0, help="seconds after which a run is stopped (default 900)")
    parser.add_argument("--markdown", action="store_true", help="print the results as a Markdown table")
    parser.add_argument("--minutes", type=float, default=BASE_MINUTES, help="source length (default 6, min 3.5)")
    parser.add_argument("--source", type=Path, help="reuse a source made by smart_bench.make_source (any length)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (its path goes to stderr)")
    parser.add_argument("--requests", action="store_true", help="log every request the host answered (stderr)")
    args = parser.parse_args()
    if args.minutes < 3.5:
        parser.error("--minutes must be at least 3.5 (four 30 s clips that do not overlap)")
    missing = [tool for tool in ("ffmpeg", "ffprobe") if shutil.which(tool) is None]
    if missing:
        print(f"hosts_bench: not found: {', '.join(missing)}; nothing measured", file=sys.stderr)
        return 0

    started = time.monotonic()

    def log(message: str) -> None:
        print(f"[hosts_bench {time.monotonic() - started:6.1f}s] {message}", file=sys.stderr, flush=True)

    work = Path(tempfile.mkdtemp(prefix="hosts_bench-"))
    try:
        results, size, seconds = bench(work, args, log)
    finally:
        if args.keep:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    print(
        f"Source: smart_bench's 720p H.264 video, {timestamp(seconds)} long, {size / 1e6:.1f} MB; 4 clips of 30 s. "
        f"Throttled host: any response longer than {LIMIT // MIB} MiB is sent at {THROTTLE_RATE // 1024} KiB/s. "
        f"clipper's http_chunk_size at its default; a fresh output and cache folder per run; {os.cpu_count()} cores."
    )
    print()
    print(render(table(results, args.cap), args.markdown))
    print()
    print(
        "vs unthrottled: wall time over the same run on the unthrottled host. MB sent by host: what the server wrote "
        "to its sockets (a client that hangs up leaves some unread). largest asked: the largest bounded Range; "
        "open-ended GETs: requests without a Range or with `bytes=N-`, and the most any of them was sent. "
        f"An open-ended GET counts as read on (not abandoned after its first bytes) when the host sent more than "
        f"{GLANCE_THROTTLED // 1024} KiB throttled or {GLANCE_UNTHROTTLED // MIB} MiB unthrottled (loopback's socket "
        "buffers take a few MB of an abandoned response)."
    )
    print()
    for line in limit_lines(results):
        print(f"- {line}" if args.markdown else line)
    failures = [result for result in results.values() if result.failure]
    for result in failures:
        print()
        print(f"({result.scenario.key}) failed:")
        print(result.failure)
    return 0


def bench(work: Path, args: argparse.Namespace, log: Callable[[str], None]) -> tuple[dict[str, Result], int, float]:
    media = work / "media"
    media.mkdir()
    source = media / "source.mp4"
    if args.source:
        shutil.copyfile(args.source, source)
        probe = ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(source)]
        seconds = float(subprocess.run(probe, check=True, capture_output=True, text=True).stdout)
        log(f"using {args.source} ({source.stat().st_size / 1e6:.1f} MB, {seconds:.1f} s)")
    else:
        seconds = args.minutes * 60
        log(f"making a {timestamp(seconds)} source (smart_bench.make_source)...")
        made = time.monotonic()
        make_source(source, seconds)
        log(f"  {source.stat().st_size / 1e6:.1f} MB in {time.monotonic() - made:.0f} s")
    size = source.stat().st_size
    note = work / "notes" / f"{VIDEO_ID}.md"
    note.parent.mkdir()
    ranges = clip_ranges(seconds / 60)
    write_note(note, ranges, seconds)
    names = [clip_name(start) for start, _ in ranges]

    scenarios = [s for s in SCENARIOS if not (args.quick and s.fetch is None)]
    results: dict[str, Result] = {}
    with serve_host(media, throttle_rate=THROTTLE_RATE) as host:
        url = host.url(source.name)
        for scenario in scenarios:
            results[scenario.key] = run_scenario(scenario, host, url, note, names, work, args.cap, log, args.requests)
    return results, size, seconds


if __name__ == "__main__":
    sys.exit(main())
