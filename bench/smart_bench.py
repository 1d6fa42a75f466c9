"""Benchmark: clipper's smart cut against the note's own yt-dlp commands, a full re-encode and smartcut.

A 720p H.264 source (25 fps, a keyframe every 2 s, x264's default B-frames, AAC beeps) is generated and served
from 127.0.0.1 (tests/media.serve, with Range support and a byte log). A note asks for 4 clips of 30 s whose
starts are not on keyframes. Timed, one after another on this machine:

  (a) the note's own yt-dlp commands, run one after another (`python -m yt_dlp`, the YouTube URL replaced by the
      served URL, plus --ignore-config);
  (b) `clipper batch NOTE --config CFG` with the defaults (smart cut), fresh output folder and cache;
  (c) the same with `--mode reencode`;
  (d) smartcut (PyPI) on the local copy of the source, one `smartcut SRC OUT -k start,end` per clip.

Every clip is decoded and compared with the source: first and last frame (in frames from where they should be),
frame count, hidden pre-roll packets, and the share of frames bit-identical to the source's at the same position.
(b) and (d), the short runs that load on the machine sways most, are run --repeat times (3) and their median shown.
clipper's bytecode is compiled first, as installing it does (run from a source tree with PYTHONDONTWRITEBYTECODE
set, Python would compile its modules again at every start). --runs bd times only (b) and (d), for quick checks.
This is a benchmark, not a test: it prints numbers and exits 0.

    python bench/smart_bench.py [--minutes 6] [--markdown] [--keep] [--repeat 3] [--runs abcd]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
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

from media import serve  # noqa: E402
from verify import frame_md5s, nearest_frame, preroll_packets, thumbnails  # noqa: E402

FPS = 25
GOP = 50  # frames: a keyframe every 2 s
SIZE = "1280x720"
VIDEO_ID = "bench720p25"
YOUTUBE_URL = f"https://www.youtube.com/watch?v={VIDEO_ID}"
# Clip starts for a 6-minute source; none is on a keyframe (those are at even seconds). Other lengths scale the
# whole seconds and keep the fractions.
BASE_MINUTES = 6.0
BASE_STARTS = (37.3, 131.7, 185.5, 288.9)
CLIP_SECONDS = 30.0
SEARCH_WINDOW = 25  # frames either side of the expected one that nearest_frame searches
RUNS = {
    "a": "note's yt-dlp commands",
    "b": "clipper batch (smart)",
    "c": "clipper batch --mode reencode",
    "d": "smartcut (local file)",
}


# --- media, note, config -------------------------------------------------------------------------------------


def make_source(path: Path, seconds: float) -> None:
    """testsrc2 (every frame differs) + a 1 kHz beep once a second; x264 veryfast with its default B-frames."""
    video = ["-c:v", "libx264", "-preset", "veryfast", "-g", str(GOP), "-keyint_min", str(GOP)]
    subprocess.run(
        [
            *["ffmpeg", "-hide_banner", "-loglevel", "error", "-y"],
            *["-f", "lavfi", "-i", f"testsrc2=size={SIZE}:rate={FPS}:duration={seconds}"],
            *["-f", "lavfi", "-i", f"sine=frequency=1000:beep_factor=4:sample_rate=48000:duration={seconds}"],
            *["-map", "0:v", "-map", "1:a", *video, "-x264-params", "scenecut=0", "-pix_fmt", "yuv420p"],
            *["-c:a", "aac", "-b:a", "128k", "-movflags", "+faststart", str(path)],
        ],
        check=True,
    )


def clip_ranges(minutes: float) -> list[tuple[float, float]]:
    scale = minutes / BASE_MINUTES
    starts = [math.floor(base * scale) + round(base % 1, 1) for base in BASE_STARTS]
    return [(start, start + CLIP_SECONDS) for start in starts]


def timestamp(seconds: float) -> str:
    """0:37.3, 2:11.7, 1:02:03.5 (one decimal only when needed)."""
    tenths = round(seconds * 10)
    whole, frac = divmod(tenths, 10)
    hours, rest = divmod(whole, 3600)
    mins, secs = divmod(rest, 60)
    text = f"{hours}:{mins:02d}:{secs:02d}" if hours else f"{mins}:{secs:02d}"
    return text + (f".{frac}" if frac else "")


def clip_name(start: float) -> str:
    mins, secs = divmod(int(start), 60)
    return f"{VIDEO_ID}-{mins}m{secs:02d}s.mp4"


def clip_command(start: float, end: float) -> str:
    return (
        f'yt-dlp --download-sections "*{timestamp(start)}-{timestamp(end)}" "{YOUTUBE_URL}" '
        f'--force-keyframes-at-cuts --merge-output-format mp4 -o "{clip_name(start)}"'
    )


def write_note(path: Path, ranges: list[tuple[float, float]], seconds: float) -> None:
    lines = [
        "---",
        f"video_id: {VIDEO_ID}",
        'title: "Smart cut benchmark: testsrc2 at 720p"',
        "channel: clipper bench",
        f"duration: {int(seconds)}",
        f'duration_formatted: "{timestamp(int(seconds))}"',
        f"url: {YOUTUBE_URL}",
        "---",
        "",
        "# Smart cut benchmark",
        "",
        "## Summary",
        "",
        "A generated 720p test picture with a beep once a second, cut into four clips that start between keyframes.",
        "",
        "## Highlights",
        "",
    ]
    for number, (start, end) in enumerate(ranges, 1):
        link = f"{YOUTUBE_URL}&t={int(start)}s"
        lines += [
            f'### "Clip {number} at {timestamp(start)}"',
            "",
            f"[![Clip](https://img.youtube.com/vi/{VIDEO_ID}/hqdefault.jpg)]({link})",
            "<details>",
            "<summary>Clip command</summary>",
            "",
            "```bash",
            clip_command(start, end),
            "```",
            "</details>",
            "",
            f'> "Thirty seconds of test picture, starting between two keyframes (clip {number})."',
            f"> -- testsrc2, [{timestamp(int(start))}]({link})",
            "",
        ]
    lines += ["## Key Points", "", f"- **Start** ([0:00]({YOUTUBE_URL}&t=0s)) - The test picture begins.", ""]
    path.write_text("\n".join(lines), encoding="utf-8")


def write_config(path: Path, source_url: str, output_dir: Path, cache_dir: Path) -> None:
    lines = [
        f"output_dir: {json.dumps(str(output_dir))}",
        f"cache_dir: {json.dumps(str(cache_dir))}",
        "sources:",
        f"  {VIDEO_ID}: {json.dumps(source_url)}",
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


# --- runs ------------------------------------------------------------------------------------------------------


@dataclass
class ClipRow:
    name: str
    first_error: int | None = None
    last_error: int | None = None
    frames: int = 0
    expected_frames: int = 0
    preroll: int | None = None
    identical: float | None = None  # share of frames bit-identical to the source's at the same position
    in_place: float | None = None  # share of frames showing the source's picture at the same position (any codec)


@dataclass
class Run:
    key: str
    label: str
    seconds: float = 0.0
    bytes_fetched: int | None = None
    requests: int | None = None
    failure: str = ""
    other_cpu: float | None = None  # cores busy with other work (not this process or its children) during the run
    clips: list[ClipRow] = field(default_factory=list)


def run_process(argv: list[str], cwd: Path) -> str:
    """Run one command; '' when it succeeded, else the end of what it said."""
    result = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False)
    if result.returncode == 0:
        return ""
    said = (result.stderr.strip() or result.stdout.strip()).splitlines()[-3:]
    return f"{shlex.join(argv[:4])}... exit {result.returncode}: " + " | ".join(said)


def timed(run: Run, work: Callable[[], str], handler: type | None) -> None:
    if handler is not None:
        handler.bytes_sent.clear()  # type: ignore[attr-defined]
        handler.requests.clear()  # type: ignore[attr-defined]
    busy, mine = machine_cpu(), own_cpu()
    began = time.perf_counter()
    run.failure = work()
    run.seconds = time.perf_counter() - began
    busy_after = machine_cpu()
    if busy is not None and busy_after is not None and run.seconds > 0:
        run.other_cpu = max(0.0, (busy_after - busy) - (own_cpu() - mine)) / run.seconds
    if handler is not None:
        run.bytes_fetched = sum(handler.bytes_sent)  # type: ignore[attr-defined]
        run.requests = len(handler.requests)  # type: ignore[attr-defined]


def machine_cpu() -> float | None:
    """CPU seconds every core of the machine spent busy (or stolen by the hypervisor) since boot; Linux only."""
    try:
        fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    except (OSError, ValueError):
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def own_cpu() -> float:
    """CPU seconds of this process and of its finished children (and theirs)."""
    me, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


def ytdlp_commands(note: Path, served_url: str) -> list[list[str]]:
    """The note's clip commands as yt-dlp subprocesses: the served URL for the YouTube one, --ignore-config."""
    commands = []
    for line in note.read_text(encoding="utf-8").splitlines():
        if line.startswith("yt-dlp "):
            argv = shlex.split(line)
            argv = [served_url if arg == YOUTUBE_URL else arg for arg in argv[1:]]
            commands.append([sys.executable, "-m", "yt_dlp", "--ignore-config", *argv])
    return commands


def compile_clipper() -> None:
    """Compile the bytecode of the clipper that ``python -m clipper`` runs, next to its sources (as an install does)."""
    code = "import clipper, compileall, pathlib; compileall.compile_dir(pathlib.Path(clipper.__file__).parent, quiet=1)"
    subprocess.run([sys.executable, "-c", code], check=False)


def run_all(argvs: list[list[str]], cwd: Path) -> str:
    for argv in argvs:
        failure = run_process(argv, cwd)
        if failure:
            return failure
    return ""


# --- checks ----------------------------------------------------------------------------------------------------


def check(path: Path, start: float, end: float, src_thumbs: list[bytes], src_md5s: list[str]) -> ClipRow:
    first = math.ceil(round(start * FPS, 6))
    last = math.ceil(round(end * FPS, 6)) - 1
    row = ClipRow(path.name, expected_frames=last - first + 1)
    if not path.is_file():
        return row
    thumbs = thumbnails(path)
    md5s = frame_md5s(path)
    if not thumbs:
        return row
    row.frames = len(thumbs)
    row.first_error = nearest_frame(thumbs[0], src_thumbs, first, SEARCH_WINDOW) - first
    row.last_error = nearest_frame(thumbs[-1], src_thumbs, last, SEARCH_WINDOW) - last
    row.preroll = preroll_packets(path)
    same = [first + i < len(src_md5s) and md5 == src_md5s[first + i] for i, md5 in enumerate(md5s)]
    row.identical = sum(same) / len(md5s) if md5s else 0.0
    # A re-encoded frame is "in place" when it looks more like the source frame at its position than like either
    # neighbour: this catches a duplicated or dropped frame that the first/last check cannot see.
    placed = sum(
        1
        for i, thumb in enumerate(thumbs)
        if (i < len(same) and same[i]) or nearest_frame(thumb, src_thumbs, first + i, 1) == first + i
    )
    row.in_place = placed / len(thumbs)
    return row


# --- report ----------------------------------------------------------------------------------------------------


def fmt_err(value: int | None) -> str:
    return "-" if value is None else f"{value:+d}"


def tables(runs: list[Run]) -> tuple[list[list[str]], list[list[str]]]:
    base = next((run for run in runs if run.key == "a" and not run.failure), None)
    summary = [["run", "wall s", "speedup vs (a)", "fetched MB", "requests", "other CPU"]]
    for run in runs:
        speedup = f"{base.seconds / run.seconds:.1f}x" if base and run.seconds else "-"
        fetched = "local file" if run.bytes_fetched is None else f"{run.bytes_fetched / 1e6:.1f}"
        requests = "-" if run.requests is None else str(run.requests)
        label = f"({run.key}) {run.label}" + (" FAILED" if run.failure else "")
        other = "-" if run.other_cpu is None else f"{run.other_cpu:.2f}"
        summary.append([label, f"{run.seconds:.1f}", speedup, fetched, requests, other])
    clips = [["run", "clip", "first err", "last err", "frames", "pre-roll", "identical %", "in place %"]]
    for run in runs:
        for row in run.clips:
            if not row.frames:
                clips.append([f"({run.key})", row.name, "missing", "", "", "", "", ""])
                continue
            identical = "-" if row.identical is None else f"{row.identical * 100:.1f}"
            in_place = "-" if row.in_place is None else f"{row.in_place * 100:.1f}"
            preroll = "-" if row.preroll is None else str(row.preroll)
            frames = f"{row.frames}/{row.expected_frames}"
            errors = [fmt_err(row.first_error), fmt_err(row.last_error)]
            clips.append([f"({run.key})", row.name, *errors, frames, preroll, identical, in_place])
    return summary, clips


def render(table: list[list[str]], markdown: bool) -> str:
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    if markdown:
        head = "| " + " | ".join(table[0]) + " |"
        rule = "| " + " | ".join("---" if i < 2 else "---:" for i in range(len(widths))) + " |"
        return "\n".join([head, rule] + ["| " + " | ".join(row) + " |" for row in table[1:]])
    lines = []
    for number, row in enumerate(table):
        cells = [cell.ljust(w) if i < 2 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=True))]
        lines.append("  ".join(cells).rstrip())
        if number == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def accurate(row: ClipRow) -> bool:
    return (
        row.first_error is not None
        and row.last_error is not None
        and abs(row.first_error) <= 1
        and abs(row.last_error) <= 1
        and row.preroll == 0
    )


def verdict(runs: dict[str, Run]) -> list[tuple[bool | None, str]]:
    a, b, c, d = (runs.get(key) for key in "abcd")
    out: list[tuple[bool | None, str]] = []
    if b is None or b.failure:
        return [(False, "(b) clipper smart did not finish: " + (b.failure if b else "not run"))]
    if d is not None and not d.failure:
        out.append((b.seconds < d.seconds, f"(b) faster than smartcut (d): {b.seconds:.1f} s vs {d.seconds:.1f} s"))
    if a is not None and not a.failure:
        speedup = a.seconds / b.seconds
        grade = " (20x: great)" if speedup >= 20 else (" (short of 20x)" if speedup >= 10 else "")
        out.append((speedup >= 10, f"(b) at least 10x faster than (a): {speedup:.1f}x{grade}"))
    for run in (b, c):
        if run is None or run.failure:
            continue
        bad = [row.name for row in run.clips if not accurate(row)]
        text = f"({run.key}) every clip within one frame at both ends, no pre-roll"
        out.append((not bad, text + (f": not {', '.join(bad)}" if bad else "")))
    shares = [row.identical or 0.0 for row in b.clips]
    low = min(shares) if shares else 0.0
    out.append((bool(shares) and low >= 0.9, f"(b) >= 90% of each clip's frames bit-identical: lowest {low:.1%}"))
    if a is not None and not a.failure and a.bytes_fetched is not None and b.bytes_fetched is not None:
        out.append(
            (
                b.bytes_fetched <= a.bytes_fetched,
                f"(b) fetched no more than (a): {b.bytes_fetched / 1e6:.1f} MB vs {a.bytes_fetched / 1e6:.1f} MB",
            )
        )
    for run in (a, d):  # not targets, but worth knowing
        if run is not None and not run.failure:
            bad = [row.name for row in run.clips if not accurate(row)]
            if bad:
                out.append((None, f"({run.key}) {run.label}: off by more than a frame or with pre-roll: {len(bad)}"))
    return out


# --- main ------------------------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=BASE_MINUTES, help="source length (default 6, min 3.5)")
    parser.add_argument("--markdown", action="store_true", help="print the results as Markdown tables")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (its path goes to stderr)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of (b) and (d), whose median is shown (default 3)")
    parser.add_argument("--runs", default="abcd", help="which runs to time (default abcd: all)")
    args = parser.parse_args()
    if not args.runs or set(args.runs) - set(RUNS):
        parser.error(f"--runs takes letters of {''.join(RUNS)}")
    if args.minutes < 3.5:
        parser.error("--minutes must be at least 3.5 (four 30 s clips that do not overlap)")
    missing = [tool for tool in ("ffmpeg", "ffprobe", "smartcut") if shutil.which(tool) is None]
    if missing:
        print(f"smart_bench: not found: {', '.join(missing)}; nothing measured", file=sys.stderr)
        return 0

    def log(message: str) -> None:
        print(f"[smart_bench] {message}", file=sys.stderr, flush=True)

    work = Path(tempfile.mkdtemp(prefix="smart_bench-"))
    try:
        runs = bench(work, args.minutes, log, args.repeat, args.runs)
    finally:
        if args.keep:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    summary, clips = tables(list(runs.values()))
    seconds = args.minutes * 60
    heading = (
        f"Source: {SIZE} H.264 {FPS} fps, keyframe every {GOP // FPS} s, x264 veryfast with B-frames, AAC; "
        f"{timestamp(seconds)} long; 4 clips of {CLIP_SECONDS:.0f} s starting between keyframes; "
        f"{os.cpu_count()} cores. 'other CPU': cores busy with work that is not this benchmark's during the run "
        "(other processes, hypervisor steal): it slows the run down."
    )
    print(heading)
    print()
    print(render(summary, args.markdown))
    print()
    print(
        "fetched MB: what the server wrote to its sockets. On loopback a client that hangs up mid-response leaves "
        "megabytes unread in TCP buffers, so this overstates what was read, most for fast (stream-copying) readers."
    )
    print()
    print(render(clips, args.markdown))
    print()
    failures = [run for run in runs.values() if run.failure]
    for run in failures:
        print(f"({run.key}) failed: {run.failure}")
    if failures:
        print()
    print("Verdict:" if not args.markdown else "**Verdict**")
    if args.markdown:
        print()
    for ok, text in verdict(runs):
        mark = "info" if ok is None else ("PASS" if ok else "MISS")
        print(f"- {mark}: {text}" if args.markdown else f"  {mark:4}  {text}")
    return 0


def bench(
    work: Path, minutes: float, log: Callable[[str], None], repeat: int = 3, which: str = "abcd"
) -> dict[str, Run]:
    seconds = minutes * 60
    media = work / "media"
    media.mkdir()
    source = media / "source.mp4"
    log(f"making a {timestamp(seconds)} {SIZE} source (x264 veryfast)...")
    began = time.perf_counter()
    make_source(source, seconds)
    log(f"  {source.stat().st_size / 1e6:.1f} MB in {time.perf_counter() - began:.0f} s; decoding it once...")
    src_thumbs = thumbnails(source)
    src_md5s = frame_md5s(source)
    ranges = clip_ranges(minutes)
    note = work / "notes" / f"{VIDEO_ID}.md"
    note.parent.mkdir()
    write_note(note, ranges, seconds)
    names = [clip_name(start) for start, _ in ranges]
    pairs = list(zip(names, ranges, strict=True))

    runs: dict[str, Run] = {}
    compile_clipper()
    with serve(media) as (base, handler):
        url = f"{base}/source.mp4"

        if "a" in which:
            run = runs["a"] = Run("a", RUNS["a"])
            folder = work / "ytdlp"
            folder.mkdir()
            log(f"(a) {len(ranges)} yt-dlp commands...")
            timed(run, lambda: run_all(ytdlp_commands(note, url), folder), handler)
            run.clips = [check(folder / n, s, e, src_thumbs, src_md5s) for n, (s, e) in pairs]

        for key, extra in (("b", []), ("c", ["--mode", "reencode"])):
            if key not in which:
                continue
            times = []
            for attempt in range(repeat if key == "b" else 1):  # the fast runs are the noisy ones: take the median
                run = Run(key, RUNS[key])
                out, cache = work / f"out-{key}{attempt}", work / f"cache-{key}{attempt}"
                config = work / f"config-{key}{attempt}.yaml"
                write_config(config, url, out, cache)
                argv = [sys.executable, "-m", "clipper", "batch", str(note), "--config", str(config), *extra]
                log(f"({key}) {shlex.join(argv[1:])}")
                timed(run, lambda argv=argv: run_process(argv, work), handler)  # type: ignore[misc]
                times.append(run.seconds)
                if attempt == 0:
                    runs[key] = run
                    run.clips = [check(out / n, s, e, src_thumbs, src_md5s) for n, (s, e) in pairs]
            runs[key].seconds = statistics.median(times)
            log(f"({key}) runs: {', '.join(f'{t:.2f}' for t in times)} s")

    smartcut = shutil.which("smartcut") or "smartcut"
    times = []
    for attempt in range(repeat if "d" in which else 0):
        run = Run("d", RUNS["d"])
        folder = work / f"smartcut{attempt}"
        folder.mkdir()
        argvs = [[smartcut, str(source), str(folder / n), "-k", f"{s},{e}"] for n, (s, e) in pairs]
        log(f"(d) {len(argvs)} smartcut commands...")
        timed(run, lambda argvs=argvs, folder=folder: run_all(argvs, folder), None)  # type: ignore[misc]
        times.append(run.seconds)
        if attempt == 0:
            runs["d"] = run
            run.clips = [check(folder / n, s, e, src_thumbs, src_md5s) for n, (s, e) in pairs]
    if times:
        runs["d"].seconds = statistics.median(times)
        log(f"(d) runs: {', '.join(f'{t:.2f}' for t in times)} s")
    for run in runs.values():
        log(f"({run.key}) {run.seconds:.1f} s" + (f"; FAILED: {run.failure}" if run.failure else ""))
    return runs


if __name__ == "__main__":
    sys.exit(main())
