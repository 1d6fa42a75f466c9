"""ffmpeg and ffprobe: the argv that cut a clip, and probing what came out. ffmpeg lives in this module.

Builders are pure and return argv lists (what ``--dry-run`` prints); ``run_ffmpeg`` and ``probe`` run them.
File names are passed as ``file:NAME`` so a name starting with ``-`` or holding ``:`` is read as a file.
"""

from __future__ import annotations

import json
import re
import subprocess
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from clipper.errors import CutError, ToolError
from clipper.fetch import MediaStream

CONTAINERS = {"mp4": "mp4", "mkv": "matroska", "webm": "webm"}
_URL_RE = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)


def seconds_arg(value: float) -> str:
    """ffmpeg time argument with microsecond precision and no float noise: 38 -> '38', 34.5 -> '34.5'."""
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return text or "0"


def file_arg(location: str) -> str:
    """A URL as is; a local path as ``file:PATH`` (safe for names starting with ``-`` or holding ``:``)."""
    return location if _URL_RE.match(location) or location.startswith("$") else "file:" + location


def container_for(name: str) -> str:
    return CONTAINERS.get(Path(name).suffix.lower().lstrip("."), "mp4")


def input_args(stream: MediaStream, start: float) -> list[str]:
    """Input options for one stream, seeking (by index, fast) to ``start``."""
    args: list[str] = []
    if _URL_RE.match(stream.url) or stream.url.startswith("$"):
        # Ride out dropped connections: ffmpeg reopens at the byte it had reached, with a Range request.
        args += [
            "-reconnect",
            "1",
            "-reconnect_on_network_error",
            "1",
            "-reconnect_delay_max",
            "4",
            "-rw_timeout",
            "30000000",
        ]
        if stream.headers:
            args += ["-headers", "".join(f"{key}: {value}\r\n" for key, value in stream.headers.items())]
    if start > 0:
        args += ["-ss", seconds_arg(start)]
    return [*args, "-i", file_arg(stream.url)]


def _maps(streams: Sequence[MediaStream]) -> list[str]:
    if len(streams) == 1:
        return ["-map", "0:v:0?", "-map", "0:a:0?"]
    maps: list[str] = []
    for index, stream in enumerate(streams):
        if stream.has_video:
            maps += ["-map", f"{index}:v:0?"]
        if stream.has_audio:
            maps += ["-map", f"{index}:a:0?"]
    return maps


def encoder_args(container: str) -> list[str]:
    """Re-encoding settings: H.264/AAC for mp4 and mkv, VP9/Opus for webm."""
    if container == "webm":
        return [
            "-c:v",
            "libvpx-vp9",
            "-crf",
            "32",
            "-b:v",
            "0",
            "-row-mt",
            "1",
            "-deadline",
            "good",
            "-cpu-used",
            "4",
            "-c:a",
            "libopus",
            "-b:a",
            "128k",
        ]
    return [
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-crf",
        "18",
        "-pix_fmt",
        "yuv420p",
        "-c:a",
        "aac",
        "-b:a",
        "160k",
    ]


def cut_argv(streams: Sequence[MediaStream], start: float, duration: float, mode: str, output: str) -> list[str]:
    """The ffmpeg command that writes the clip [start, start+duration) of ``streams`` to ``output``.

    ``reencode``: input seeking then decoding makes the first frame the one at ``start`` and ``-t`` ends
    at the last frame before ``start+duration``: frame-accurate, timestamps from zero, no edit-list pre-roll.
    ``copy``: packets are copied from the keyframe at or before ``start`` (fast, inexact), shifted to zero.
    """
    container = container_for(output)
    argv = ["ffmpeg", "-hide_banner", "-nostdin", "-y", "-loglevel", "error", "-progress", "pipe:1", "-nostats"]
    for stream in streams:
        argv += input_args(stream, start)
    argv += _maps(streams)
    argv += ["-t", seconds_arg(duration)]
    if mode == "copy":
        argv += ["-c", "copy", "-avoid_negative_ts", "make_zero"]
    else:
        argv += encoder_args(container)
    argv += ["-map_metadata", "-1", "-map_chapters", "-1"]
    if container == "mp4":
        argv += ["-movflags", "+faststart"]
    return [*argv, "-f", container, file_arg(output)]


def probe_argv(path: str) -> list[str]:
    return ["ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams", file_arg(path)]


@dataclass(frozen=True)
class MediaInfo:
    """What ffprobe says about a file."""

    duration: float
    video_duration: float | None
    frame_rate: float | None
    has_video: bool
    has_audio: bool
    size: int
    video_codec: str | None = None
    audio_codec: str | None = None


def _rate(text: str | None) -> float | None:
    if not text or text in ("0/0", "0"):
        return None
    num, _, den = text.partition("/")
    try:
        return float(num) / float(den or 1)
    except (ValueError, ZeroDivisionError):
        return None


def probe(path: str) -> MediaInfo:
    """ffprobe a local file or URL."""
    try:
        result = subprocess.run(probe_argv(path), capture_output=True, text=True, timeout=120)
    except FileNotFoundError:
        raise ToolError("ffprobe not found: install ffmpeg (e.g. apt-get install ffmpeg)") from None
    if result.returncode != 0:
        raise CutError(f"ffprobe cannot read it: {last_line(result.stderr)}", path)
    data = json.loads(result.stdout or "{}")
    streams = data.get("streams") or []
    video = next(
        (s for s in streams if s.get("codec_type") == "video" and not (s.get("disposition") or {}).get("attached_pic")),
        None,
    )
    audio = next((s for s in streams if s.get("codec_type") == "audio"), None)
    fmt = data.get("format") or {}
    video_duration = float(video["duration"]) if video and video.get("duration") else None
    return MediaInfo(
        duration=float(fmt.get("duration") or video_duration or 0.0),
        video_duration=video_duration,
        frame_rate=_rate(video.get("avg_frame_rate") or video.get("r_frame_rate")) if video else None,
        has_video=video is not None,
        has_audio=audio is not None,
        size=int(fmt.get("size") or 0),
        video_codec=video.get("codec_name") if video else None,
        audio_codec=audio.get("codec_name") if audio else None,
    )


def tolerance(info: MediaInfo) -> float:
    """One frame (or one audio frame's worth for audio-only), plus rounding."""
    return (1.0 / info.frame_rate if info.frame_rate else 0.025) + 0.002


def verify_clip(info: MediaInfo, duration: float, mode: str) -> str | None:
    """Why a clip does not verify, or None when it does."""
    if info.duration <= 0:
        return "it holds no media"
    measured = info.video_duration if info.video_duration is not None else info.duration
    if mode == "copy":  # keyframe-aligned: may start early, never much shorter than asked
        if measured < duration - 1.0:
            return f"it lasts {measured:.3f}s, asked for {duration:.3f}s"
        return None
    if abs(measured - duration) > tolerance(info):
        return f"it lasts {measured:.3f}s, asked for {duration:.3f}s (more than a frame off)"
    return None


def last_line(stderr: str) -> str:
    lines = [line.strip() for line in stderr.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no message"


class ChildProcesses:
    """The ffmpeg processes running now, so an interrupted run can end them all."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: set[subprocess.Popen[str]] = set()
        self.stopping = threading.Event()

    def add(self, process: subprocess.Popen[str]) -> None:
        with self._lock:
            self._running.add(process)
        if self.stopping.is_set():
            process.terminate()

    def discard(self, process: subprocess.Popen[str]) -> None:
        with self._lock:
            self._running.discard(process)

    def stop_all(self) -> None:
        self.stopping.set()
        with self._lock:
            running = list(self._running)
        for process in running:
            if process.poll() is None:
                process.terminate()


def run_ffmpeg(
    argv: Sequence[str], on_seconds: Callable[[float], None] | None = None, children: ChildProcesses | None = None
) -> None:
    """Run an ffmpeg argv from this module, reporting media seconds written (from ``-progress``)."""
    if children is not None and children.stopping.is_set():
        raise CutError("interrupted")
    try:
        process = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
        )
    except FileNotFoundError:
        raise ToolError("ffmpeg not found: install ffmpeg (e.g. apt-get install ffmpeg)") from None
    if children is not None:
        children.add(process)
    stderr_lines: list[str] = []
    reader = threading.Thread(target=lambda: stderr_lines.extend(process.stderr or []), daemon=True)
    reader.start()
    try:
        for line in process.stdout or []:
            key, _, value = line.strip().partition("=")
            if key == "out_time_us" and on_seconds and value.lstrip("-").isdigit():
                on_seconds(max(0, int(value)) / 1_000_000)
        process.wait()
        reader.join(timeout=5)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if children is not None:
            children.discard(process)
    if children is not None and children.stopping.is_set():
        raise CutError("interrupted")
    if process.returncode != 0:
        message = last_line("".join(stderr_lines))
        raise CutError(f"ffmpeg failed: {message}", retryable=_is_network(message))


def _is_network(message: str) -> bool:
    lowered = message.lower()
    return any(
        word in lowered
        for word in ("server returned", "connection", "timed out", "i/o error", "http error", "network", "end of file")
    )
