"""ffmpeg: the argv that fetch a section, cut a clip (reencode, copy, smart) and join smart-cut pieces.

Builders are pure and return argv lists (what ``--dry-run`` prints); ``run_ffmpeg`` runs one with progress.
File names are passed as ``file:NAME`` so a name starting with ``-`` or holding ``:`` is read as a file.

Times: a clip's start and end are *player* times (seconds from the start of the video). ``origin`` is the
timestamp at which a file's player time 0 sits (its start time; 0 for section files, which keep the
source's own timeline), and every seek is absolute (``-seek_timestamp 1``) so sections and whole files are
cut the same way.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from clipper.core.errors import CutError, ToolError
from clipper.core.streams import SOCKET_BUFFER, MediaStream
from clipper.media.probe import SEEK_DTS_MARGIN, MediaInfo, file_arg, is_url

CONTAINERS = {"mp4": "mp4", "mkv": "matroska", "webm": "webm"}
FFMPEG = ["ffmpeg", "-hide_banner", "-nostdin", "-y", "-loglevel", "error", "-progress", "pipe:1", "-nostats"]
SMART_CODECS = ("h264", "hevc", "vp9", "av1")
# The encoder a smart cut of each codec needs (without it, such clips are re-encoded whole).
SMART_ENCODERS = {"h264": "libx264", "hevc": "libx265", "vp9": "libvpx-vp9", "av1": "libsvtav1"}


def encoders_argv() -> list[str]:
    return ["ffmpeg", "-hide_banner", "-encoders"]


def listed_encoders(listing: str) -> set[str]:
    """The encoder names in ``ffmpeg -encoders`` output (lines like `` V....D libx264  libx264 H.264 ...``)."""
    names = set()
    for line in listing.splitlines():
        fields = line.split()
        if len(fields) >= 2 and len(fields[0]) == 6 and fields[0][0] in "VAS" and fields[1] != "=":
            names.add(fields[1])
    return names


ANNEX_B_CODECS = ("h264", "hevc")  # joined as MPEG-TS pieces: parameter sets travel in-band
# ffprobe's profile -> (the encoder's name for it, the pixel formats it holds that the encoder makes).
Profiles = dict[str, tuple[str, tuple[str, ...]]]
_H264_420 = ("yuv420p", "yuvj420p")
_H264_422 = (*_H264_420, "yuv420p10le", "yuv422p", "yuvj422p", "yuv422p10le")
_H264_PROFILES: Profiles = {
    "Constrained Baseline": ("baseline", _H264_420),
    "Baseline": ("baseline", _H264_420),
    "Main": ("main", _H264_420),
    "High": ("high", _H264_420),
    "High 10": ("high10", (*_H264_420, "yuv420p10le")),
    "High 4:2:2": ("high422", _H264_422),
    "High 4:4:4 Predictive": ("high444", (*_H264_422, "yuv444p", "yuvj444p", "yuv444p10le")),
}
_HEVC_PROFILES: Profiles = {
    "Main": ("main", ("yuv420p", "yuvj420p")),
    "Main 10": ("main10", ("yuv420p", "yuv420p10le")),
}
_PROFILED: dict[str, tuple[str, Profiles]] = {  # codec -> (its name, its profiles)
    "h264": ("H.264", _H264_PROFILES),
    "hevc": ("HEVC", _HEVC_PROFILES),
}
_AV1_PIX_FMTS = ("yuv420p", "yuv420p10le")  # what libsvtav1 encodes
# The lowest libx264 profile that holds each pixel format (a re-encode keeps the source's format).
_X264_PROFILE_FOR = {"yuv420p": "high", "yuvj420p": "high", "yuv420p10le": "high10", "yuv422p": "high422",
                     "yuvj422p": "high422", "yuv422p10le": "high422", "yuv444p": "high444", "yuvj444p": "high444",
                     "yuv444p10le": "high444"}  # fmt: skip
# What libvpx-vp9 encodes (it picks the VP9 profile from the pixel format).
_VP9_PIX_FMTS = ("yuv420p", "yuv422p", "yuv440p", "yuv444p", "yuv420p10le", "yuv422p10le", "yuv440p10le",
                 "yuv444p10le", "yuv420p12le", "yuv422p12le", "yuv440p12le", "yuv444p12le")  # fmt: skip
_TS_MUX = ["-muxdelay", "0", "-muxpreload", "0"]
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


def _output_args(container: str, metadata: Sequence[tuple[str, str]] = ()) -> list[str]:
    """Drop the source's tags and chapters; write the clip's own tags while muxing (no extra pass)."""
    args = ["-map_metadata", "-1", "-map_chapters", "-1"]
    for key, value in metadata:
        args += ["-metadata", f"{key}={value}"]
    if container == "mp4":
        args += ["-movflags", "+faststart"]
    return args


def _subtitle_input(subtitles: str | None, index: int, container: str) -> tuple[list[str], list[str]]:
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
    sub_in, sub_out = _subtitle_input(subtitles, 1, container)
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
    return [*argv, *_output_args(container, metadata), "-f", container, file_arg(output)]


# --- smart cut -------------------------------------------------------------------------------------


def smart_unsupported(info: MediaInfo, output: str) -> str | None:
    """Why a file cannot be smart-cut into ``output`` (then the clip is re-encoded), or None."""
    if not info.has_video:
        return "no video stream"
    if info.video_codec not in SMART_CODECS:
        return f"no matching encoder for {info.video_codec} video"
    if info.field_order not in (None, "progressive", "unknown"):
        return "interlaced video"
    if info.time_base is None or not info.frame_rate:
        return "no frame rate"
    if info.video_codec in _PROFILED:
        name, profiles = _PROFILED[info.video_codec]
        if info.profile not in profiles:
            return f"{name} profile {info.profile} cannot be matched"
        if info.pix_fmt not in profiles[info.profile][1]:
            return f"pixel format {info.pix_fmt} cannot be matched"
        if container_for(output) == "webm":
            return f"webm cannot hold {name}"
    elif info.video_codec == "av1":
        if info.pix_fmt not in _AV1_PIX_FMTS:
            return f"AV1 pixel format {info.pix_fmt} cannot be matched"
    elif info.pix_fmt != "yuv420p":
        return f"VP9 pixel format {info.pix_fmt} cannot be matched"
    if info.rotation % 90:
        return f"a display matrix turned by {info.rotation} degrees"
    if info.rotation and container_for(output) != "mp4":
        # ffmpeg 5.1 writes a rotation only into MP4; re-encoding turns the frames upright instead.
        return f"{container_for(output)} cannot hold the picture's rotation"
    return None


def piece_container(info: MediaInfo) -> str:
    """MPEG-TS for H.264 and HEVC (parameter sets in-band); else NUT, which keeps the stream's own time base
    (Matroska rounds timestamps to the millisecond: 29.97 fps frames would come out 33 and 34 ms long)."""
    return "mpegts" if info.video_codec in ANNEX_B_CODECS else "nut"


def matching_encoder(info: MediaInfo) -> list[str]:
    """An encoder set up like the source stream, so its frames join the copied ones cleanly.

    Same codec, profile, level, pixel format (bit depth, chroma subsampling) and colour properties; size and
    frame timing come from the source frames. No B-frames: the piece's decode delay is then set to the
    source's by ``setts``.
    """
    color = [arg for pair in info.color for arg in pair]
    if info.video_codec == "hevc":
        # x265 levels are the ffprobe level / 30 (90 -> 3, 123 -> 4.1); its own log stays quiet.
        params = "log-level=error" + (f":level-idc={info.level / 30:g}" if info.level else "")
        params += "".join(f":{param}" for param in info.hdr10)  # the source's HDR10 metadata, from frame 0
        return ["-c:v", "libx265", "-preset", "ultrafast", "-crf", "16", "-bf", "0", "-x265-params", params,
                "-profile:v", _HEVC_PROFILES.get(info.profile or "", ("main",))[0],
                "-pix_fmt", info.pix_fmt or "yuv420p", *color]  # fmt: skip
    if info.video_codec == "av1":
        # SVT-AV1 at preset 10: about x264-veryfast speed; its sequence header matches SVT-made sources, and
        # every copied keyframe carries its own anyway.
        return ["-c:v", "libsvtav1", "-preset", "10", "-crf", "20", "-g", "300", "-pix_fmt", info.pix_fmt or "yuv420p",
                *color]  # fmt: skip
    if info.video_codec == "vp9":
        return ["-c:v", "libvpx-vp9", "-crf", "18", "-b:v", "0", "-deadline", "good", "-cpu-used", "4",
                "-row-mt", "1", "-pix_fmt", info.pix_fmt or "yuv420p", *color]  # fmt: skip
    level = f"{info.level / 10:g}" if info.level else "auto"
    return ["-c:v", "libx264", "-preset", "superfast", "-crf", "16", "-bf", "0",
            "-profile:v", _H264_PROFILES.get(info.profile or "", ("high",))[0], "-level:v", level,
            "-pix_fmt", info.pix_fmt or "yuv420p", *color]  # fmt: skip


def keyframe_seek(info: MediaInfo, keyframe: float) -> float:
    """The ``-ss`` that, with ``-noaccurate_seek``, lands on the keyframe at timestamp ``keyframe``: counted from
    the file's start, plus the margin ffmpeg's command line takes off for B-frames (and half a millisecond)."""
    margin = SEEK_DTS_MARGIN if info.has_b_frames else 0.0
    return max(0.0, keyframe - info.start_time + margin + 0.0005)


@dataclass(frozen=True)
class Part:
    """One input of a pieces run and the file written from its first video stream."""

    inputs: tuple[str, ...]  # input options, ending with ``-i FILE``
    outputs: tuple[str, ...]  # output options, ending with the file (``pieces_argv`` adds the ``-map``)


def pieces_argv(parts: Sequence[Part]) -> list[str]:
    """One ffmpeg run that writes every part: a smart cut's pieces (and its poster frame) cost one process
    start, not one each. Each part reads its own input, so each seeks and decodes only what it needs."""
    argv = [*FFMPEG, "-copyts"]
    for part in parts:
        argv += part.inputs
    for index, part in enumerate(parts):
        argv += ["-map", f"{index}:v:0", *part.outputs]
    return argv


def encode_piece(source: str, info: MediaInfo, start: float, frames: int, delay: float, output: str,
                 keyframe: float | None = None) -> Part:  # fmt: skip
    """Re-encode ``frames`` frames from timestamp ``start`` (absolute), keeping the source timestamps.

    Decoding starts at ``keyframe`` (the timestamp of the keyframe at or before ``start``, when the packets
    say it) or a little early (see SEEK_LEAD), and ``trim`` keeps the frames from ``start`` (half a frame of
    slack against rounding). A seek to the keyframe asks for it plus the margin ffmpeg's command line takes
    off for B-frames, and keeps every frame it decodes (``-noaccurate_seek``): so it lands on that keyframe and
    decodes no GOP before it. The seek is relative to the file's start time: with ``-copyts``, ffmpeg 5's
    exact-seek trim adds the start time to it (an absolute ``-seek_timestamp`` would be trimmed away whole).
    ``-noautorotate``: frames keep the stored orientation of the packets copied beside them (the join
    writes the display matrix).
    """
    container = piece_container(info)
    seek = max(0.0, start - info.start_time - SEEK_LEAD)
    exact: list[str] = []
    if keyframe is not None:
        seek, exact = keyframe_seek(info, keyframe), ["-noaccurate_seek"]
    half_frame = 0.5 / info.frame_rate if info.frame_rate else 0.001
    inputs = ["-noautorotate", *exact, "-ss", seconds_arg(seek), "-i", file_arg(source)]
    outputs = ["-an", "-sn", "-dn", "-vf", f"trim=start={seconds_arg(start - half_frame)}", "-frames:v", str(frames),
               *matching_encoder(info)]  # fmt: skip
    if container == "mpegts":
        # The encoder counts in MPEG-TS's own 90 kHz: ffmpeg 5 runs ``setts`` (below) on the muxer's 1/90000,
        # later ffmpeg on the encoder's time base; on 1/90000 both shift by the same ticks.
        outputs += ["-fps_mode", "passthrough", "-enc_time_base:v", "1:90000"]
    else:
        outputs += own_timestamps(info)
    if delay > 0 and container == "mpegts":
        # Give the piece the source's decode delay so decode timestamps rise across the joins.
        outputs += ["-bsf:v", f"setts=dts=DTS-{round(delay * 90000)}"]
    if container == "mpegts":
        outputs += _TS_MUX
    return Part(tuple(inputs), (*outputs, "-f", container, file_arg(output)))


def copy_piece(source: str, info: MediaInfo, seek: float, skip: int, packets: int, drop: Sequence[int],
               output: str) -> Part:  # fmt: skip
    """Copy ``packets`` video packets in decode order from a keyframe, unchanged.

    The seek goes to ``seek``, the timestamp ffprobe's packet listing started from, so it lands on that
    listing's first packet (MP4, Matroska and MPEG-TS alike; a seek straight to the keyframe lands on an
    earlier one in Matroska); the ``skip`` packets before the keyframe are dropped. ``drop`` are indexes
    (0 = the keyframe) of an open GOP's leading pictures, which need the GOP before.
    """
    container = piece_container(info)
    filters = []
    if info.video_codec in ANNEX_B_CODECS:
        # Parameter sets before every keyframe: an open GOP's recovery point is no IDR, and the
        # Annex B filter adds them only before IDRs (after the head, the decoder would use the head's).
        filters.append("h264_mp4toannexb" if info.video_codec == "h264" else "hevc_mp4toannexb")
        filters.append("dump_extra=freq=keyframe")
    dropped = ([f"lt(n\\,{skip})"] if skip else []) + [f"eq(n\\,{skip + index})" for index in drop]
    if dropped:
        filters.append("noise=drop=" + "+".join(dropped))
    outputs = ["-an", "-sn", "-dn", "-c:v", "copy"]
    if filters:
        outputs += ["-bsf:v", ",".join(filters)]
    outputs += ["-frames:v", str(packets - len(drop))]  # ffmpeg counts the packets the filters let through
    if container == "mpegts":
        outputs += _TS_MUX
    inputs = ("-seek_timestamp", "1", "-ss", seconds_arg(seek), "-i", file_arg(source))
    return Part(inputs, (*outputs, "-f", container, file_arg(output)))


def poster_part(source: str, seek: float, output: str, *, keyframe_only: bool = False) -> Part:
    """A JPEG poster frame (at most 640 pixels wide), upright: the first frame at or after ``seek`` (seconds from
    the file's start); with ``keyframe_only``, the keyframe a ``keyframe_seek`` lands on, decoded alone (the
    decoder skips every other frame). In a pieces run it must be the first part: after a finished part,
    ffmpeg 5.1 decodes an input no output takes from to its end."""
    exact = ("-skip_frame", "nokey", "-noaccurate_seek") if keyframe_only else ()
    inputs = ("-threads", "1", *exact, "-ss", seconds_arg(max(0.0, seek)), "-i", file_arg(source))
    outputs = ("-frames:v", "1", "-vf", "scale='min(640,iw)':-2", "-q:v", "4", "-f", "image2", "-c:v", "mjpeg",
               file_arg(output))  # fmt: skip
    return Part(inputs, outputs)


def encode_piece_argv(source: str, info: MediaInfo, start: float, frames: int, delay: float, output: str,
                      keyframe: float | None = None) -> list[str]:  # fmt: skip
    """``encode_piece`` in a run of its own."""
    return pieces_argv([encode_piece(source, info, start, frames, delay, output, keyframe)])


def copy_piece_argv(source: str, info: MediaInfo, seek: float, skip: int, packets: int, drop: Sequence[int],
                    output: str) -> list[str]:  # fmt: skip
    """``copy_piece`` in a run of its own."""
    return pieces_argv([copy_piece(source, info, seek, skip, packets, drop, output)])


def concat_list(pieces: Sequence[tuple[str, float]]) -> str:
    """The concat demuxer's list for NUT pieces: (name, duration) each, names quoted for it.

    The durations are given because a piece that keeps the source's timestamps reports one counted from 0.
    """
    return "".join("file '" + piece.replace("'", "'\\''") + f"'\nduration {seconds_arg(seconds)}\n"
                   for piece, seconds in pieces)  # fmt: skip


def join_argv(pieces: Sequence[str], list_file: str | None, info: MediaInfo, source: str, audio_start: float,
              duration: float, output: str, *, metadata: Sequence[tuple[str, str]] = (),
              subtitles: str | None = None, container: str | None = None,
              audio_filter: str | None = None, display_rotation: bool = False,
              encoded: bool = True) -> list[str]:  # fmt: skip
    """Join the pieces (video) with the source's audio for [audio_start, +duration) into the clip.

    MPEG-TS pieces are read back to back (``concat:`` protocol: a single stream whose parameter sets
    change in-band at the joins); NUT pieces through the concat demuxer (``list_file``). Neither
    carries a display matrix: the source's rotation is written again, with the input option
    ``-display_rotation`` when this ffmpeg has it (``display_rotation``: newer ffmpeg, which ignores
    the ``rotate`` tag that ffmpeg 5's MP4 muxer takes; Matroska has no rotation, see
    ``smart_unsupported``). ``encoded``: a piece was re-encoded (its parameter sets are not the source's).
    ``audio_filter`` (loudness) re-encodes the audio; the video is copied all the same.
    """
    container = container or container_for(output)
    turn = []
    if container == "mp4" and info.rotation and display_rotation:
        turn = ["-display_rotation:v:0", str(info.rotation)]
    if list_file is None:
        argv = [*FFMPEG, *turn, "-i", "concat:" + "|".join(pieces)]
    else:
        argv = [*FFMPEG, "-f", "concat", "-safe", "0", *turn, "-i", file_arg(list_file)]
    maps = ["-map", "0:v:0"]
    if info.has_audio:
        argv += ["-seek_timestamp", "1", "-ss", seconds_arg(audio_start), "-t", seconds_arg(duration),
                 "-i", file_arg(source)]  # fmt: skip
        maps += ["-map", "1:a:0"]
    sub_in, sub_out = _subtitle_input(subtitles, 2 if info.has_audio else 1, container)
    argv += [*sub_in, *maps, *sub_out, "-c:v", "copy"]
    if info.has_audio and audio_filter:
        argv += ["-af", audio_filter, *audio_encoder(container)]
    elif info.has_audio:
        argv += audio_copy_or_encode(info.audio_codec, container)
    if container == "mp4" and info.time_base is not None:
        argv += ["-video_track_timescale", str(info.time_base.denominator)]
    if container == "mp4":
        # MPEG-TS packets carry no duration, so the last frame's sample may have none, and the edit list end at
        # its start: in milliseconds (ffmpeg 5's default) it rounds past it, exact (later ffmpeg) it cuts it off.
        argv += ["-movie_timescale", "1000"]
    if container == "mp4" and info.video_codec == "hevc":
        # hvc1 (what Apple's players take) holds parameter sets in the sample entry only: later ffmpeg drops
        # the in-band ones, and the copied frames would be decoded with the head's. A clip with a re-encoded
        # piece changes them in-band: hev1, the tag the standard has for that.
        argv += ["-tag:v", "hev1" if encoded else "hvc1"]
    if container == "mp4" and info.rotation and not turn:
        argv += ["-metadata:s:v:0", f"rotate={info.rotation}"]
    return [*argv, *_output_args(container, metadata), "-f", container, file_arg(output)]


def remux_argv(source: str, output: str) -> list[str]:
    """Copy a file's video and audio into MP4, unchanged."""
    return [*FFMPEG, "-i", file_arg(source), "-map", "0:v:0?", "-map", "0:a:0?", "-c", "copy", "-f", "mp4",
            file_arg(output)]  # fmt: skip


def poster_argv(clip: str, at: float, output: str) -> list[str]:
    """A JPEG poster frame from the clip, at most 640 pixels wide, in a run of its own."""
    part = poster_part(clip, at, output)
    return ["ffmpeg", "-hide_banner", "-nostdin", "-y", "-loglevel", "error", *part.inputs, "-map", "0:v:0",
            *part.outputs]  # fmt: skip


# --- running -----------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def has_display_rotation() -> bool:
    """Whether this ffmpeg takes ``-display_rotation`` (ffmpeg 5.1 does not): ``ffmpeg -h long`` lists it."""
    try:
        listing = subprocess.run(["ffmpeg", "-hide_banner", "-h", "long"], capture_output=True, text=True,
                                 errors="replace", timeout=60).stdout  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return False
    return "-display_rotation" in listing


@functools.lru_cache(maxsize=1)
def die_with_parent() -> tuple[str, ...]:
    """A prefix that makes a child die with clipper even when clipper is killed outright (SIGKILL): Linux's
    parent-death signal, set by util-linux's ``setpriv`` before it runs the command. Elsewhere (macOS,
    Windows) nothing: clipper ends its children itself on Ctrl-C and SIGTERM."""
    if sys.platform.startswith("linux"):
        setpriv = shutil.which("setpriv")
        if setpriv and subprocess.run([setpriv, "--pdeathsig", "KILL", "true"], capture_output=True).returncode == 0:
            return (setpriv, "--pdeathsig", "KILL", "--")
    return ()


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
    argv: Sequence[str],
    on_seconds: Callable[[float], None] | None = None,
    children: ChildProcesses | None = None,
    cwd: str | None = None,
    env: Mapping[str, str] | None = None,
) -> str:
    """Run an ffmpeg argv from this module, reporting the media time written (from ``-progress``); return what
    it wrote to stderr (a measuring pass's report). ``env``: its environment (else clipper's)."""
    if children is not None and children.stopping.is_set():
        raise CutError("interrupted")
    try:
        prefix = die_with_parent() if shutil.which(argv[0]) else ()  # a missing ffmpeg is reported as such
        process = subprocess.Popen([*prefix, *argv], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True, errors="replace", cwd=cwd,
                                   env=None if env is None else dict(env))  # fmt: skip
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
                on_seconds(int(value) / 1_000_000)
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
    return "".join(stderr_lines)


def _is_network(message: str) -> bool:
    lowered = message.lower()
    words = ("server returned", "connection", "timed out", "i/o error", "http error", "network", "end of file")
    return any(word in lowered for word in words)
