"""ffmpeg argv for a smart cut: the pieces (re-encoded head and tail, copied middle) written in one run, their
join with the source's audio into the clip, and a poster frame; and whether a source can be smart-cut at all.

Pure: each builder returns an argv list (what ``--dry-run`` prints); ``clipper.media.ffmpeg`` runs them. The
decision of which frames go in which piece is ``clipper.media.smart``'s.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from clipper.media.cut_args import (
    FFMPEG,
    SEEK_LEAD,
    audio_copy_or_encode,
    audio_encoder,
    container_for,
    output_args,
    own_timestamps,
    seconds_arg,
    subtitle_input,
)
from clipper.media.probe import SEEK_DTS_MARGIN, MediaInfo, file_arg

SMART_CODECS = ("h264", "hevc", "vp9", "av1")
# The encoder a smart cut of each codec needs (without it, such clips are re-encoded whole).
SMART_ENCODERS = {"h264": "libx264", "hevc": "libx265", "vp9": "libvpx-vp9", "av1": "libsvtav1"}


def encoders_argv() -> list[str]:
    """ffmpeg argv listing the encoders this ffmpeg has (``listed_encoders`` reads it)."""
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
_TS_MUX = ["-muxdelay", "0", "-muxpreload", "0"]


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
                 keyframe: float | None = None, *, one_thread: bool = False) -> Part:  # fmt: skip
    """Re-encode ``frames`` frames from timestamp ``start`` (absolute), keeping the source timestamps.

    Decoding starts at ``keyframe`` (the timestamp of the keyframe at or before ``start``, when the packets
    say it) or a little early (see SEEK_LEAD), and ``trim`` keeps the frames from ``start`` (half a frame of
    slack against rounding). A seek to the keyframe asks for it plus the margin ffmpeg's command line takes
    off for B-frames, and keeps every frame it decodes (``-noaccurate_seek``): so it lands on that keyframe and
    decodes no GOP before it. The seek is relative to the file's start time: with ``-copyts``, ffmpeg 5's
    exact-seek trim adds the start time to it (an absolute ``-seek_timestamp`` would be trimmed away whole).
    ``-noautorotate``: frames keep the stored orientation of the packets copied beside them (the join
    writes the display matrix). ``one_thread``: decode and encode on one thread (``-threads 1``), for a run
    that keeps the cores busy with other clips: on a piece's few dozen frames the threads cost more CPU time
    than they save.
    """
    container = piece_container(info)
    seek = max(0.0, start - info.start_time - SEEK_LEAD)
    exact: list[str] = []
    if keyframe is not None:
        seek, exact = keyframe_seek(info, keyframe), ["-noaccurate_seek"]
    half_frame = 0.5 / info.frame_rate if info.frame_rate else 0.001
    threads = ["-threads", "1"] if one_thread else []
    inputs = [*threads, "-noautorotate", *exact, "-ss", seconds_arg(seek), "-i", file_arg(source)]
    outputs = ["-an", "-sn", "-dn", "-vf", f"trim=start={seconds_arg(start - half_frame)}", "-frames:v", str(frames),
               *matching_encoder(info), *threads]  # fmt: skip
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
    sub_in, sub_out = subtitle_input(subtitles, 2 if info.has_audio else 1, container)
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
    return [*argv, *output_args(container, metadata), "-f", container, file_arg(output)]


def poster_argv(clip: str, at: float, output: str) -> list[str]:
    """A JPEG poster frame from the clip, at most 640 pixels wide, in a run of its own."""
    part = poster_part(clip, at, output)
    return ["ffmpeg", "-hide_banner", "-nostdin", "-y", "-loglevel", "error", *part.inputs, "-map", "0:v:0",
            *part.outputs]  # fmt: skip
