"""ffmpeg argv for a plain cut: a URL's section fetched, a clip cut in one pass (re-encoded or copied), a file
remuxed, and the pieces they share (seconds, containers, encoders, HTTP input options).

Pure: each builder returns an argv list (what ``--dry-run`` prints); ``clipper.media.ffmpeg`` runs them.
File names are passed as ``file:NAME`` so a name starting with ``-`` or holding ``:`` is read as a file.

Times: a clip's start and end are *player* times (seconds from the start of the video). ``origin`` is the
timestamp at which a file's player time 0 sits (its start time; 0 for section files, which keep the
source's own timeline), and every seek is absolute (``-seek_timestamp 1``) so sections and whole files are
cut the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from clipper.core.streams import SOCKET_BUFFER, MediaStream
from clipper.media.probe import MediaInfo, file_arg, is_url

CONTAINERS = {"mp4": "mp4", "mkv": "matroska", "webm": "webm"}
FFMPEG = ["ffmpeg", "-hide_banner", "-nostdin", "-y", "-loglevel", "error", "-progress", "pipe:1", "-nostats"]
# The lowest libx264 profile that holds each pixel format (a re-encode keeps the source's format).
_X264_PROFILE_FOR = {"yuv420p": "high", "yuvj420p": "high", "yuv420p10le": "high10", "yuv422p": "high422",
                     "yuvj422p": "high422", "yuv422p10le": "high422", "yuv444p": "high444", "yuvj444p": "high444",
                     "yuv444p10le": "high444"}  # fmt: skip
# What libvpx-vp9 encodes (it picks the VP9 profile from the pixel format).
_VP9_PIX_FMTS = ("yuv420p", "yuv422p", "yuv440p", "yuv444p", "yuv420p10le", "yuv422p10le", "yuv440p10le",
                 "yuv444p10le", "yuv420p12le", "yuv422p12le", "yuv440p12le", "yuv444p12le")  # fmt: skip
# Decoding starts this long before a clip: ffmpeg seeks to the keyframe whose *decode* time is before the
# seek point, and a frame shown before that keyframe (B-frame delay, open GOP) would otherwise be lost.
SEEK_LEAD = 1.0


def own_timestamps(info: MediaInfo | None) -> list[str]:
    """Encoded frames keep the timestamps they had, in the source's time base: on ffmpeg's default grid (the
    frame rate) a variable-rate stream's frames would be moved, repeated or dropped. The time base is given
    as a ratio: ffmpeg 5 also took -1 for "the source's", which later ffmpeg (9.0) refuses."""
    if info is None or info.time_base is None:
        return ["-fps_mode", "passthrough"]
    return ["-fps_mode", "passthrough", "-enc_time_base:v", f"{info.time_base.numerator}:{info.time_base.denominator}"]


def seconds_arg(value: float) -> str:
    """ffmpeg time argument with microsecond precision and no float noise: 38 -> '38', 34.5 -> '34.5'."""
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"


def container_for(name: str) -> str:
    return CONTAINERS.get(Path(name).suffix.lower().lstrip("."), "mp4")


def http_args(stream: MediaStream) -> list[str]:
    """Input options for a URL: ride out dropped connections (ffmpeg reopens with a Range request)."""
    if not (is_url(stream.url) or stream.url.startswith("$")):
        return []
    if stream.via_relay:  # the relay resumes dropped connections and sends the host's headers
        return ["-rw_timeout", "60000000", "-recv_buffer_size", str(SOCKET_BUFFER)]
    args = ["-reconnect", "1", "-reconnect_on_network_error", "1", "-reconnect_delay_max", "4",
            "-rw_timeout", "30000000"]  # fmt: skip
    if stream.headers:
        args += ["-headers", "".join(f"{key}: {value}\r\n" for key, value in stream.headers.items())]
    return args


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


def section_argv(streams: Sequence[MediaStream], start: float, end: float, output: str) -> list[str]:
    """Copy [start, end] of the streams (from the keyframe before start) into one local MP4 file.

    ``-copyts -start_at_zero`` keep the source's own timeline in the file, so clips are cut from it at
    their player times exactly as from the whole video. MP4 because its index makes seeks land exactly
    (MPEG-TS seeks can land past the asked time; Matroska's on an earlier keyframe).
    """
    argv = [*FFMPEG, "-copyts", "-start_at_zero"]
    for stream in streams:
        argv += [*http_args(stream), "-ss", seconds_arg(start), "-to", seconds_arg(end), "-i", file_arg(stream.url)]
    argv += [*_maps(streams), "-c", "copy", "-map_metadata", "-1"]
    return [*argv, "-f", "mp4", file_arg(output)]


def audio_encoder(container: str) -> list[str]:
    """Opus for webm, else AAC (ffmpeg's own; its fast coder is several times quicker, and at 160 kb/s
    the difference does not show)."""
    if container == "webm":
        return ["-c:a", "libopus", "-b:a", "128k"]
    return ["-c:a", "aac", "-aac_coder", "fast", "-b:a", "160k"]


def audio_copy_or_encode(codec: str | None, container: str) -> list[str]:
    """Copy AAC audio into MP4: every audio packet is a keyframe, so the copy starts within one audio frame
    of the cut and MP4's edit list trims it to the exact sample, as an encoder's priming would (re-encoding
    30 s of AAC costs more than all the rest of a smart cut). Matroska and WebM have no edit list: the early
    audio would delay the picture, so their audio is re-encoded."""
    if container == "mp4" and codec == "aac":
        return ["-c:a", "copy"]
    return audio_encoder(container)


def encoder_args(container: str, info: MediaInfo | None = None) -> list[str]:
    """Re-encoding settings for a whole clip: H.264/AAC for mp4 and mkv, VP9/Opus for webm.

    The picture keeps the source's bit depth and chroma subsampling (its pixel format, when the encoder has
    it; else ffmpeg picks the encoder's nearest, as it does without ``info``) and its colour description.
    Orientation: frames are decoded turned upright (ffmpeg's autorotation), and the display matrix is then
    written as none. Frames keep their own timestamps, in the source's time base: a variable frame rate
    stays variable (a constant output rate would repeat or drop frames to hold it).
    """
    pix_fmt = info.pix_fmt if info else None
    if container == "webm":
        video = ["-c:v", "libvpx-vp9", "-crf", "32", "-b:v", "0", "-row-mt", "1", "-deadline", "good",
                 "-cpu-used", "4"]  # fmt: skip
        if pix_fmt in _VP9_PIX_FMTS:
            video += ["-pix_fmt", pix_fmt]
    else:
        video = ["-c:v", "libx264", "-preset", "veryfast", "-crf", "18"]
        if pix_fmt in _X264_PROFILE_FOR:
            video += ["-profile:v", _X264_PROFILE_FOR[pix_fmt], "-pix_fmt", pix_fmt]
    color = [arg for pair in info.color for arg in pair] if info else []
    return [*video, *color, *own_timestamps(info), *audio_encoder(container)]


SUBTITLE_CODECS = {"mp4": "mov_text", "matroska": "srt", "webm": "webvtt"}


def output_args(container: str, metadata: Sequence[tuple[str, str]] = ()) -> list[str]:
    """Drop the source's tags and chapters; write the clip's own tags while muxing (no extra pass)."""
    args = ["-map_metadata", "-1", "-map_chapters", "-1"]
    for key, value in metadata:
        args += ["-metadata", f"{key}={value}"]
    if container == "mp4":
        args += ["-movflags", "+faststart"]
    return args


def subtitle_input(subtitles: str | None, index: int, container: str) -> tuple[list[str], list[str]]:
    """(input args, output args) for a soft subtitle track read from an SRT file."""
    if subtitles is None:
        return [], []
    codec = SUBTITLE_CODECS[container]
    return ["-i", file_arg(subtitles)], ["-map", f"{index}:s:0", "-c:s", codec, "-metadata:s:s:0", "title=Transcript"]


def burn_filter(subtitles_name: str) -> str:
    """Draw captions (SRT, or ASS with its own styles) into the picture. ``subtitles_name`` is a bare file name in
    the step's folder (a path would need filtergraph escaping)."""
    return f"subtitles=filename={subtitles_name}"


def seek_lead(mode: str, start: float) -> float:
    """How long before ``start`` a clip's decoding starts (see ``cut_argv``): the frames of the lead pass through
    the filters (burnt captions see them: ffmpeg trims an output after its filters) and are dropped after."""
    return 0.0 if mode == "copy" else min(SEEK_LEAD, start)


def cut_argv(source: str, origin: float, start: float, duration: float, mode: str, output: str, *,
             metadata: Sequence[tuple[str, str]] = (), subtitles: str | None = None,
             burn: str | None = None, container: str | None = None, info: MediaInfo | None = None,
             video_filter: str | None = None, audio_filter: str | None = None,
             lead: float | None = None) -> list[str]:  # fmt: skip
    """The ffmpeg command that writes the clip [start, start+duration) of a local file in one pass.

    ``reencode``: seeking then decoding makes the first frame the one at ``start``, and ``-t`` ends at the
    last frame before the end: frame-accurate, timestamps from zero, no edit-list pre-roll. ``info`` (the
    source's) lets the encoder keep its pixel format and colour (see ``encoder_args``).
    ``copy``: packets are copied from the keyframe at or before ``start`` (fast, inexact), shifted to zero;
    the display matrix goes with them (into MP4).
    ``video_filter`` (re-encoding only: a new shape) comes before burnt captions (``burn``), so they are drawn on
    the clip's own frame; their file's times count from ``start - seek_lead(mode, start)``, where the filters'
    timeline starts. ``audio_filter`` re-encodes the audio (copied video too). ``lead``: how long before ``start``
    the decode starts, when not ``seek_lead`` (an intra refresh source: see ``clipper.media.refresh``).
    """
    container = container or container_for(output)
    sub_in, sub_out = subtitle_input(subtitles, 1, container)
    # reencode: seek a little early, then drop the decoded frames before the start (output -ss): exact
    # even when the start frame is shown before the keyframe the seek lands on.
    lead = seek_lead(mode, start) if lead is None else lead
    argv = [*FFMPEG, "-seek_timestamp", "1", "-ss", seconds_arg(origin + start - lead), "-i", file_arg(source),
            *sub_in, "-map", "0:v:0?", "-map", "0:a:0?", *sub_out]  # fmt: skip
    if lead:
        argv += ["-ss", seconds_arg(lead)]
    argv += ["-t", seconds_arg(duration)]
    if mode == "copy":
        if video_filter or burn:
            raise ValueError("a copied clip's picture cannot be filtered")
        audio = ["-af", audio_filter, *audio_encoder(container)] if audio_filter else ["-c:a", "copy"]
        argv += ["-c:v", "copy", *audio, "-avoid_negative_ts", "make_zero"]
    else:
        argv += encoder_args(container, info)
        filters = [chain for chain in (video_filter, burn_filter(burn) if burn else None) if chain]
        if filters:
            argv += ["-vf", ",".join(filters)]
        if audio_filter:
            argv += ["-af", audio_filter]
    return [*argv, *output_args(container, metadata), "-f", container, file_arg(output)]


def remux_argv(source: str, output: str) -> list[str]:
    """Copy a file's video and audio into MP4, unchanged."""
    return [*FFMPEG, "-i", file_arg(source), "-map", "0:v:0?", "-map", "0:a:0?", "-c", "copy", "-f", "mp4",
            file_arg(output)]  # fmt: skip
