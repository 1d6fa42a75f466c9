"""ffprobe: what a media file holds (streams, codecs, timing) and its video packets around a clip, and whether a
finished clip decodes cleanly. The runs go through ``clipper.media.ffmpeg``, which tracks them."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Any

from clipper.core.errors import ClipperError, CutError
from clipper.media import ffmpeg
from clipper.media.smart import Packet


@dataclass(frozen=True)
class MediaInfo:
    """What ffprobe says about a file (the first video and audio streams)."""

    duration: float
    video_duration: float | None
    frame_rate: float | None
    has_video: bool
    has_audio: bool
    size: int
    start_time: float = 0.0
    video_codec: str | None = None
    audio_codec: str | None = None
    profile: str | None = None
    level: int | None = None
    pix_fmt: str | None = None
    time_base: Fraction | None = None
    has_b_frames: int = 0
    field_order: str | None = None
    color: tuple[tuple[str, str], ...] = ()  # (ffmpeg option, value) for the colour properties that are set
    frames: int | None = None  # video frames, from the container's index when it has one (MP4)
    video_start: float | None = None  # the first video frame's timestamp
    rotation: int = 0  # degrees the picture is turned for display (its display matrix), as MP4's ``rotate`` tag
    width: int | None = None  # the picture as it is shown: turned by ``rotation``, stretched by its pixels' shape
    height: int | None = None
    hdr10: tuple[str, ...] = ()  # x265 parameters for its HDR10 metadata (see clipper.media.hdr), read apart
    comment: str | None = None  # its ``comment`` tag (clipper writes the clip's moment URL there)
    container: str = ""  # ffprobe's format_name (``mpegts``, ``matroska,webm``, ``mov,mp4,m4a,3gp,3g2,mj2``)

    @property
    def origin(self) -> float:
        """The timestamp of the video's time 0 (what a note's times count from): the file's start time, as
        ``ffmpeg -ss`` and players count. An MPEG-TS file starts at 1.4 s or later, and a stream may start
        after the file does (Matroska whose picture starts a frame after its audio): a note's 0:20 is 20 s
        after the file's start, whatever the video's first timestamp."""
        return self.start_time

    @property
    def seeks_exactly(self) -> bool:
        """Whether seeks in this file land where asked: MPEG-TS has no index, and its seeks land on the
        packet nearest the time, between keyframes (the frames up to the next keyframe cannot be decoded)."""
        return "mpegts" not in self.container.split(",")


_URL_RE = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)


def is_url(location: str) -> bool:
    return bool(_URL_RE.match(location))


def file_arg(location: str) -> str:
    """A URL as is; a local path as ``file:PATH`` (safe for names starting with ``-`` or holding ``:``).

    A ``$NAME`` placeholder (a dry run's shell variable for a URL yt-dlp finds) is kept as is."""
    return location if is_url(location) or location.startswith("$") else "file:" + location


def _rate(text: str | None) -> float | None:
    if not text or text in ("0/0", "0"):
        return None
    try:
        value = Fraction(text)
    except (ValueError, ZeroDivisionError):
        return None
    return float(value) if value else None


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def optional_output(argv: Sequence[str], timeout: float = 120) -> str | None:
    """What an ffprobe argv prints for a check the cut can do without (HDR metadata, intra refresh), or None when
    it cannot run or fails: the clip is then cut as it would be without the check."""
    try:
        result = ffmpeg.capture(argv, timeout=timeout)
    except (OSError, ClipperError):
        return None
    return result.text if result.returncode == 0 else None


def probe(path: str) -> MediaInfo:
    """ffprobe a local file or URL: its format and streams."""
    result = ffmpeg.capture(probe_argv(path), timeout=None)
    if result.returncode != 0:
        raise CutError(f"ffprobe cannot read it: {result.last_error}", path)
    return media_info(json.loads(result.text))


def probe_argv(path: str) -> list[str]:
    """ffprobe argv printing a file's format and streams as JSON."""
    return ["ffprobe", "-show_format", "-show_streams", "-of", "json", "-v", "error", file_arg(path)]


def rotation(video: dict[str, Any]) -> int:
    """The turn (degrees, 0 <= r < 360) a stream's display matrix asks for, in the terms of the MP4 muxer's
    ``rotate`` tag, so writing it back gives the same matrix; 0 without one.

    ffprobe reports the matrix as side data (ffmpeg 5 and later); older demuxers exported a ``rotate`` tag.
    """
    matrix = next((data for data in video.get("side_data_list") or []
                   if data.get("side_data_type") == "Display Matrix"), None)  # fmt: skip
    degrees = _number(matrix.get("rotation") if matrix else (video.get("tags") or {}).get("rotate"))
    return round(degrees) % 360 if degrees is not None and math.isfinite(degrees) else 0


def display_size(video: dict[str, Any]) -> tuple[int | None, int | None]:
    """(width, height) of a video stream as players show it: non-square pixels stretched, a quarter turn turned."""
    width, height = video.get("width"), video.get("height")
    if not isinstance(width, int) or not isinstance(height, int) or width <= 0 or height <= 0:
        return None, None
    aspect = _rate(str(video.get("sample_aspect_ratio") or "1:1").replace(":", "/"))
    if aspect and aspect != 1:
        width = round(width * aspect / 2) * 2
    return (height, width) if rotation(video) in (90, 270) else (width, height)


def _is_picture(stream: dict[str, Any]) -> bool:
    """A video stream that is not a cover picture."""
    return stream.get("codec_type") == "video" and not (stream.get("disposition") or {}).get("attached_pic")


def media_info(data: dict[str, Any]) -> MediaInfo:
    """ffprobe's ``-show_format -show_streams`` JSON -> MediaInfo."""
    streams = data.get("streams") or []
    video = next((stream for stream in streams if _is_picture(stream)), None)
    audio = next((s for s in streams if s.get("codec_type") == "audio"), None)
    fmt = data.get("format") or {}
    video_duration = _number(video.get("duration")) if video else None
    color: list[tuple[str, str]] = []
    if video:
        for key, option in (
            ("color_space", "-colorspace"),
            ("color_primaries", "-color_primaries"),
            ("color_transfer", "-color_trc"),
            ("color_range", "-color_range"),
        ):
            value = video.get(key)
            if value and value not in ("unknown", "reserved"):
                color.append((option, value))
    return MediaInfo(
        duration=_number(fmt.get("duration")) or video_duration or 0.0,
        video_duration=video_duration,
        frame_rate=(_rate(video.get("avg_frame_rate")) or _rate(video.get("r_frame_rate"))) if video else None,
        has_video=video is not None,
        has_audio=audio is not None,
        size=int(fmt.get("size") or 0),
        start_time=_number(fmt.get("start_time")) or 0.0,
        video_codec=video.get("codec_name") if video else None,
        audio_codec=audio.get("codec_name") if audio else None,
        profile=video.get("profile") if video else None,
        level=int(video["level"]) if video and isinstance(video.get("level"), int) else None,
        pix_fmt=video.get("pix_fmt") if video else None,
        time_base=Fraction(video["time_base"]) if video and video.get("time_base") else None,
        has_b_frames=int(video.get("has_b_frames") or 0) if video else 0,
        field_order=video.get("field_order") if video else None,
        color=tuple(color),
        frames=int(video["nb_frames"]) if video and str(video.get("nb_frames") or "").isdigit() else None,
        video_start=_number(video.get("start_time")) if video else None,
        rotation=rotation(video) if video else 0,
        width=display_size(video)[0] if video else None,
        height=display_size(video)[1] if video else None,
        container=str(fmt.get("format_name") or ""),
        comment=next((str(value) for key, value in (fmt.get("tags") or {}).items() if key.lower() == "comment"), None),
    )


def packets_argv(path: str, start: float, end: float) -> list[str]:
    """ffprobe argv listing the video packets (decode order) from the keyframe before ``start`` to past ``end``."""
    return ["ffprobe", "-v", "error", "-select_streams", "v:0", "-read_intervals",
            f"{max(0.0, start):.6f}%{end:.6f}", "-show_entries", "packet=pts,dts,flags", "-of", "csv=p=0",
            file_arg(path)]  # fmt: skip


def parse_packets(csv: str) -> list[Packet]:
    """``pts,dts,flags`` lines -> Packets (lines without a pts are skipped)."""
    packets = []
    for line in csv.splitlines():
        fields = line.strip().split(",")
        if len(fields) < 3 or not fields[0].lstrip("-").isdigit():
            continue
        dts = int(fields[1]) if fields[1].lstrip("-").isdigit() else None
        packets.append(Packet(int(fields[0]), dts, "K" in fields[2]))
    return packets


def probe_with_packets(path: str, start: float, end: float) -> tuple[MediaInfo, list[Packet]]:
    """What ``probe`` and ``packets`` read, in one ffprobe run (each run costs a process start and a read
    of the file's index): the streams, and the video packets from the keyframe before ``start`` to ``end``."""
    argv = ["ffprobe", "-v", "error", "-of", "json", "-show_format", "-show_streams", "-show_entries",
            "packet=stream_index,pts,dts,flags", "-read_intervals", f"{max(0.0, start):.6f}%{end:.6f}",
            file_arg(path)]  # fmt: skip
    result = ffmpeg.capture(argv, timeout=300)
    if result.returncode != 0:
        raise CutError(f"ffprobe cannot read it: {result.last_error}", path)
    data = json.loads(result.text)
    info = media_info(data)
    video = next((stream.get("index") for stream in data.get("streams") or [] if _is_picture(stream)), None)
    found = [Packet(int(packet["pts"]), int(packet["dts"]) if "dts" in packet else None, "K" in packet["flags"])
             for packet in data.get("packets") or []
             if packet.get("stream_index") == video and "pts" in packet]  # fmt: skip
    return info, found


def packets(path: str, start: float, end: float) -> list[Packet]:
    """Run ``packets_argv``."""
    result = ffmpeg.capture(packets_argv(path, start, end), timeout=300)
    if result.returncode != 0:
        raise CutError(f"ffprobe cannot list packets: {result.stderr.strip()[-200:]}", path)
    return parse_packets(result.text)


def tolerance(info: MediaInfo) -> float:
    """One frame (or one audio frame's worth for audio-only), plus rounding."""
    return (1.0 / info.frame_rate if info.frame_rate else 0.025) + 0.002


def verify_clip(info: MediaInfo, duration: float, mode: str, slack: float = 0.0,
                span: tuple[float, float] | None = None) -> str | None:  # fmt: skip
    """Why a finished clip does not verify, or None when it does. ``slack``: seconds it may differ by on top of
    a frame (a clip whose edges snapped to speech, when the times it was made at are not known).

    ``span``: (shortest, longest) its picture may last, from the source frames the clip shows (see
    ``steps.frame_span``): judged by those, not by the asked length and a nominal frame, since a variable frame
    rate's first frame may come well after the start and its last frame last longer or shorter than the average.
    """
    if info.duration <= 0:
        return "it holds no media"
    measured = info.video_duration if info.video_duration is not None else info.duration
    if mode == "copy":  # keyframe-aligned: may start early, never much shorter than asked
        if measured < duration - 1.0 - slack:
            return f"it lasts {measured:.3f}s, asked for {duration:.3f}s"
        return None
    if span is not None and info.video_duration is not None:
        shortest, longest = span
        # An MP4 track with B-frames may count its length from its first decode time: up to a frame shorter.
        if not shortest - tolerance(info) - slack < measured <= longest + _ROUNDING + slack:
            frames = f"the source's frames in its range {shortest:.3f}s to {longest:.3f}s"
            return f"its picture lasts {measured:.3f}s, {frames}"
        return None
    if abs(measured - duration) > tolerance(info) + slack:
        return f"it lasts {measured:.3f}s, asked for {duration:.3f}s (more than a frame off)"
    return None


_ROUNDING = 0.002  # timestamps rounded to a millisecond (Matroska) or to a muxer's time base


def missing_streams(source: MediaInfo, clip: MediaInfo) -> str | None:
    """Why a clip lacks a stream its source has (a video or audio stream that could not be made), or None.

    A clip with only the sound of a video, or only its picture, is not the clip asked for."""
    kinds = (("video", source.has_video, clip.has_video), ("audio", source.has_audio, clip.has_audio))
    missing = [kind for kind, wanted, found in kinds if wanted and not found]
    if not missing:
        return None
    return f"it has no {' and no '.join(missing)} stream, which its source has"


def packet_times(path: str) -> list[float]:
    """pts (seconds) of every video packet of a (small) file, in file order."""
    argv = ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "packet=pts_time", "-of", "csv=p=0"]
    result = ffmpeg.capture([*argv, file_arg(path)], timeout=300)
    times = []
    for line in result.text.split():
        try:
            times.append(float(line.strip(",")))
        except ValueError:
            continue
    return times


# ffmpeg's command line seeks this much before an input -ss when the video has a decode delay (B-frames)
SEEK_DTS_MARGIN = 3 / 23


# Decoded frames thrown away, each at its own timestamp on a microsecond grid: on ffmpeg's default grid (the
# frame rate), a variable-rate stream's frames can round onto one tick ("non monotonically increasing
# dts"), an error of the check, not of the file. (ffmpeg 5 also took -1, "the source's"; later ffmpeg refuses it.)
_NULL_OUTPUT = ["-enc_time_base", "1:1000000", "-f", "null", "-"]


def probe_clip(path: str, seams: Sequence[float], packets: int = 4) -> tuple[MediaInfo, str | None]:
    """What ``probe`` says of a smart-cut clip's format and video (its audio is not described), and the first
    decoder error in ``packets`` video packets decoded from each seam (where pieces meet), in one ffprobe run.

    A seam that starts a piece is a keyframe of the clip (an IDR), so the decoding starts on it and a missing
    or wrong parameter set shows at once. ffprobe seeks to the keyframe at or before each time (unlike
    ffmpeg's -ss, it takes off no margin for B-frames: an open GOP's keyframe inside a copied piece, whose
    leading pictures cannot decode when started there, is not where it starts) and decodes each interval
    with fresh decoders.
    """
    intervals = ",".join(f"{seam + 0.0005:.6f}%+#{packets}" for seam in seams)
    argv = ["ffprobe", "-v", "error", "-of", "json", "-show_format", "-show_streams", "-select_streams", "v:0",
            "-threads", "1", "-show_entries", "frame=pts", "-read_intervals", intervals, file_arg(path)]  # fmt: skip
    result = ffmpeg.capture(argv, timeout=300)
    message = result.stderr.strip()
    try:
        data = json.loads(result.text or "{}")
    except json.JSONDecodeError:
        data = {}
    if result.returncode != 0 or not data.get("streams"):
        raise CutError(f"ffprobe cannot read it: {message.splitlines()[-1] if message else 'no message'}", path)
    info = media_info(data)
    # Only the video stream is listed (its frames alone are decoded at the seams); the file's other streams are
    # counted: a smart clip's join maps the sound or fails, so another stream is its sound (or its captions).
    others = int((data.get("format") or {}).get("nb_streams") or 0) - len(data.get("streams") or [])
    info = replace(info, has_audio=others > 0)
    return info, (f"decoding at the seams: {message.splitlines()[-1]}" if message else None)


def decode_problems(path: str) -> str | None:
    """Decode the whole file (video and audio); the first decoder error, or None when it decodes cleanly."""
    argv = ["ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-i", file_arg(path), *_NULL_OUTPUT]
    try:
        result = ffmpeg.capture(argv, timeout=3600)
    except (OSError, ClipperError) as error:
        return str(error)
    message = result.stderr.strip()
    if result.returncode != 0 or message:
        return message.splitlines()[-1] if message else "ffmpeg could not decode it"
    return None
