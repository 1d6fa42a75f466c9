"""Check clips against their source by decoding both (not only by duration)."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

THUMB_W, THUMB_H = 32, 18
THUMB = THUMB_W * THUMB_H


def thumbnails(path: Path | str) -> list[bytes]:
    """Every decoded video frame, in order, as a tiny grey picture (decoded from the start, no seeking)."""
    raw = subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-i",
            str(path),
            "-an",
            "-vf",
            f"scale={THUMB_W}:{THUMB_H}:flags=area,format=gray",
            "-fps_mode",
            "passthrough",
            "-f",
            "rawvideo",
            "-",
        ],
        check=True,
        capture_output=True,
    ).stdout
    return [raw[i : i + THUMB] for i in range(0, len(raw), THUMB)]


def frame_md5s(path: Path | str) -> list[str]:
    """md5 of every decoded video frame (for bit-identical comparisons)."""
    out = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-an", "-f", "framemd5", "-"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return [line.rsplit(",", 1)[1].strip() for line in out.splitlines() if line and not line.startswith("#")]


def distance(a: bytes, b: bytes) -> float:
    return sum((x - y) ** 2 for x, y in zip(a, b, strict=True)) / len(a)


def nearest_frame(frame: bytes, source: list[bytes], expected: int, window: int = 12) -> int:
    """Index of the source frame that looks most like ``frame``, searched around ``expected``."""
    low, high = max(0, expected - window), min(len(source), expected + window + 1)
    return min(range(low, high), key=lambda index: distance(frame, source[index]))


@dataclass(frozen=True)
class ClipCheck:
    first_error: int  # frames between the clip's first frame and the source frame at start
    last_error: int  # frames between the clip's last frame and the source frame just before end
    frames: int
    expected_frames: int
    preroll_packets: int
    duration: float


def preroll_packets(path: Path | str, stream: str = "v") -> int:
    """Packets an edit list hides before the clip's start (negative timestamps or the discard flag).

    Video by default; for audio an AAC encoder's one priming frame is expected and counted too."""
    out = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-select_streams",
            stream,
            "-show_entries",
            "packet=pts_time,flags",
            "-of",
            "json",
            str(path),
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    packets = json.loads(out).get("packets", [])
    return sum(1 for p in packets if "D" in p.get("flags", "") or float(p.get("pts_time", "0") or 0) < -1e-6)


def run_clipper(
    *args: str, cwd: Path, timeout: float = 300, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The real CLI, as a user runs it: ``python -m clipper ARGS`` in ``cwd`` (with ``env``, else this one's)."""
    return subprocess.run(
        [sys.executable, "-m", "clipper", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**(os.environ if env is None else env), "PYTHONUNBUFFERED": "1"},
    )


def ffprobe_entries(path: Path | str, entries: str, output: str = "csv=p=0") -> str:
    """``ffprobe -show_entries ENTRIES -of OUTPUT PATH``'s text."""
    return subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", entries, "-of", output, str(path)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def duration_of(path: Path | str) -> float:
    return float(ffprobe_entries(path, "format=duration").strip())


def check_clip(clip: Path, source_thumbs: list[bytes], start: float, end: float, fps: float) -> ClipCheck:
    """Compare a clip's first and last frames with the source frames at ``start`` and just before ``end``."""
    clip_thumbs = thumbnails(clip)
    first_expected = round(start * fps)
    last_expected = round(end * fps) - 1
    first = nearest_frame(clip_thumbs[0], source_thumbs, first_expected)
    last = nearest_frame(clip_thumbs[-1], source_thumbs, last_expected)
    return ClipCheck(
        first_error=first - first_expected,
        last_error=last - last_expected,
        frames=len(clip_thumbs),
        expected_frames=last_expected - first_expected + 1,
        preroll_packets=preroll_packets(clip),
        duration=duration_of(clip),
    )


def beep_onsets(path: Path | str, rate: int = 48000) -> list[float]:
    """Times (s) where the test tone's once-a-second beep starts, found by its higher zero-crossing rate."""
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-vn", "-ac", "1", "-ar", str(rate), "-f", "s16le", "-"],
        check=True,
        capture_output=True,
    ).stdout
    samples = memoryview(raw).cast("h")
    window = rate // 400  # 2.5 ms
    onsets: list[float] = []
    beeping = False
    for start in range(0, len(samples) - window, window):
        chunk = samples[start : start + window]
        crossings = sum(1 for a, b in itertools.pairwise(chunk) if (a < 0) != (b < 0))
        high = crossings > window * 2 * 2500 / rate  # well above the 1 kHz carrier's rate
        # A beep once a second: an onset within 0.2 s of the last is that beep's AAC ringing (later ffmpeg's
        # encoder at 48 kb/s leaves some), not another beep.
        if high and not beeping and (not onsets or start / rate - onsets[-1] >= 0.2):
            onsets.append(start / rate)
        beeping = high
    return onsets


def decode_errors(path: Path | str) -> str:
    """What ffmpeg reports while decoding every stream of ``path`` in full ('' for a clean file)."""
    result = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-f", "null", "-"], capture_output=True, text=True, check=False
    )
    errors = result.stderr.strip()
    if result.returncode != 0:
        errors += f"\n(ffmpeg exit status {result.returncode})"
    return errors.strip()


def stream_kinds(path: Path | str) -> list[str]:
    """The codec type of each stream (``video``, ``audio``...), in order."""
    out = ffprobe_entries(path, "stream=codec_type")
    return [line.strip().rstrip(",") for line in out.splitlines() if line.strip()]


def container_of(path: Path | str) -> str:
    """The demuxer ffprobe picks for ``path`` by its content (e.g. ``matroska,webm``), not by its name."""
    out = ffprobe_entries(path, "format=format_name", "default=nw=1:nk=1")
    return out.strip()


def processes_mentioning(text: str) -> list[int]:
    """Processes whose command line holds ``text`` (from /proc): a child that outlived its parent is found too,
    though it now has another parent."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if text in (entry / "cmdline").read_bytes().decode(errors="replace"):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found
