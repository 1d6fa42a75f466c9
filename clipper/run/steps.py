"""The ffmpeg steps that make each clip from a local file (pure): a copy, a re-encode or a smart cut's pieces and
their join, with the loudness measured first when it is normalised; and the steps that fetch a section or copy a
file into MP4. ``--dry-run`` prints these steps (``cli/dry_run.py``) and the run runs them: one place builds them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path

from clipper.core.streams import MediaStream
from clipper.media import cut_args, ffmpeg, smart_args
from clipper.media.bitstream import splice
from clipper.media.probe import MediaInfo
from clipper.media.refresh import WHOLE, Refresh
from clipper.media.smart import Packet, smart_cut
from clipper.plan.config import Config, parse_aspect
from clipper.plan.jobs import ClipJob
from clipper.run.paths import piece_prefix, poster_path, temp_path
from clipper.run.videos import SECTION_LEAD, SECTION_TAIL, Section
from clipper.share import loudness, reframe
from clipper.share.captions import shifted, to_ass, to_srt

# per local file: what ffprobe says, the video packets around each clip, the intra refresh points each starts from
LocalMedia = Mapping[str, tuple[MediaInfo, Mapping[ClipJob, Sequence[Packet]], Mapping[ClipJob, Refresh]]]


PIECE_PHASES = ("pieces", "splice")  # steps that write the pieces of a smart cut (removed after the join)


@dataclass(frozen=True)
class Piece:
    """A piece of a smart cut as it must come out: checked before it is joined."""

    kind: str  # encode | copy
    output: str
    frames: int  # video frames it must hold
    starts_at: float  # the timestamp its first frame must have


@dataclass(frozen=True)
class Step:
    """One ffmpeg run: its argv, the file it writes and how to read its progress."""

    phase: str  # fetch | cut | measure | pieces | splice | join
    argv: tuple[str, ...]
    output: str
    seconds: float  # media seconds it writes (the progress bar's total)
    offset: float = 0.0  # ffmpeg reports source timestamps for pieces: progress = out_time - offset
    files: tuple[tuple[str, str], ...] = field(default=())  # (path, text) to write before running
    cwd: str | None = None  # run in this folder (burnt captions name their file relative to it)
    frames: int | None = None  # video frames the output must hold (checked after a smart join)
    joins: tuple[float, ...] = ()  # where (seconds into the output) pieces meet: decoded to check the seams
    fill: int | None = None  # the argument that holds a measuring step's values (filled after it ran)
    pieces: tuple[Piece, ...] = ()  # the pieces a ``pieces`` step writes (``output`` is the first)
    span: tuple[float, float] | None = None  # (shortest, longest) seconds its picture may last (frame_span)

    @property
    def outputs(self) -> tuple[str, ...]:
        """Every file the step writes."""
        return tuple(piece.output for piece in self.pieces) or (self.output,)


@dataclass(frozen=True)
class ClipSteps:
    """The steps that make a clip, the mode they cut it in, and what the log says of it (why a re-encode)."""

    steps: list[Step]
    mode: str
    notes: tuple[str, ...] = ()


def remux_step(source: str, output: Path, seconds: float) -> Step:
    """Copy a file's video and audio into MP4 (unchanged), its timeline counted from the file's start: MP4's index
    makes every seek of the cut land on the keyframe it asks for."""
    return Step("fetch", tuple(cut_args.remux_argv(source, str(output))), str(output), seconds)


def poster_time(duration: float) -> float:
    """Where in a clip its poster frame is taken: a second in, or a third of a short clip."""
    return min(1.0, duration / 3)


def section_step(streams: Sequence[MediaStream], section: Section, output: Path) -> Step:
    """Copy a section of the streams (URLs, the relay's for a run) into ``output``: progress counts from its start."""
    argv = cut_args.section_argv(streams, section.start, section.end, str(output))
    return Step("fetch", tuple(argv), str(output), section.end - section.start, offset=section.start)


def clip_metadata(job: ClipJob) -> list[tuple[str, str]]:
    """The tags a clip carries: what it is, whose words, from which video and moment."""
    speaker = job.speaker or job.channel
    tags = [("title", job.title), ("artist", speaker or ""), ("album", job.video_title),
            ("album_artist", job.channel or ""), ("comment", job.moment_url),
            ("description", f"\u201c{job.quote}\u201d \u2014 {speaker}" if job.quote and speaker else job.quote),
            ("date", (job.upload_date or "")[:10]), ("genre", ", ".join(job.tags))]  # fmt: skip
    return [(key, value) for key, value in tags if value]


@dataclass(frozen=True)
class _Treatment:
    """What a clip gets beyond its range: a new shape, captions (a soft track or burnt in), its audio's loudness."""

    mode: str  # the mode it is cut in, once what it gets is known
    notes: tuple[str, ...]
    shape: tuple[int, int] | None
    burn: bool
    subtitles: str | None  # the soft track's file
    files: tuple[tuple[str, str], ...]
    audio_filter: str | None


def _treatment(job: ClipJob, config: Config, info: MediaInfo | None, refresh: Refresh) -> _Treatment:
    """What ``job`` gets beyond its range, and the mode that allows it (a new shape or burnt captions re-encode,
    and so does a copy or smart cut that would start on an intra refresh point)."""
    mode = config.mode
    notes: list[str] = []
    subtitles = None
    files: tuple[tuple[str, str], ...] = ()
    shape = parse_aspect(config.aspect)
    if (
        shape is not None
        and config.pad == "none"
        and info is not None
        and reframe.has_shape(info.width, info.height, shape)
    ):
        notes.append(f"already {config.aspect}: the picture is kept as it is")
        shape = None
    burn = config.captions == "burn" and bool(job.captions)
    if config.captions == "embed" and job.captions:  # a soft track, muxed in (smart or not)
        subtitles = piece_prefix(job, config) + ".srt"
        files = ((subtitles, to_srt(job.captions)),)
    reason = None
    if shape is not None:
        reason = f"{reframe.describe(shape, config.pad, config.crop_x)} (every frame changes)"
    elif burn:
        reason = "burnt-in captions change every frame"
    if reason is not None and (mode != "reencode" or shape is not None):
        mode = "reencode"
        notes.append(f"re-encoding the whole clip: {reason}")
    uncopyable = refresh.copy_point if mode == "copy" else refresh.decode_seek if mode == "smart" else None
    if uncopyable is not None:
        mode = "reencode"
        notes.append("re-encoding the whole clip: the keyframe before its start is an intra refresh point "
                     "(no whole picture to copy from)")  # fmt: skip
    audio_filter = None
    if config.loudnorm is not None and (info is None or info.has_audio):
        audio_filter = loudness.apply_filter(config.loudnorm)
    return _Treatment(mode, tuple(notes), shape, burn, subtitles, files, audio_filter)


def clip_steps(job: ClipJob, config: Config, source: str, origin: float, info: MediaInfo | None,
               packets: Sequence[Packet] | None, *, poster: bool = False,
               refresh: Refresh = WHOLE) -> ClipSteps:  # fmt: skip
    """The ffmpeg steps that make ``job`` from a local file, the mode they cut it in, and notes for the log.

    ``origin`` is the timestamp of the file's player time 0. Smart cut needs ``info`` and the video
    ``packets`` around the clip (see ``packet_window``); without them the clip is re-encoded whole.
    Captions ``embed`` add a soft subtitle track while muxing; ``burn`` draws them, which re-encodes, as does a
    new shape (``aspect``); burnt into a new shape they are styled for a phone. ``loudnorm`` measures the clip's
    audio first, then re-encodes the audio alone (a smart cut's or a copy's video stays as it is). ``poster``:
    a smart cut also takes the clip's poster frame (``poster_path``) from the source as it cuts. ``refresh``: the
    intra refresh points (H.264 keyframes that are no whole picture) the cut would start on: a copy is re-encoded
    instead, a re-encode decodes from the keyframe before (see ``clipper.media.refresh``).
    """
    treatment = _treatment(job, config, info, refresh)
    mode, notes, audio_filter = treatment.mode, list(treatment.notes), treatment.audio_filter
    if mode == "smart":
        why = "no media information" if info is None else smart_args.smart_unsupported(info, job.output)
        if why is None and not packets:
            why = "no video packets found in the clip's range"
        if why is None:
            assert info is not None and packets is not None
            steps = _smart_steps(job, config, source, origin, info, packets, treatment.subtitles, treatment.files,
                                 audio_filter, poster)  # fmt: skip
            return ClipSteps(steps, "smart", (*notes, *_loudness_note(audio_filter, config)))
        mode = "reencode"
        notes.append(f"re-encoding the whole clip: {why}")
    steps = _whole_steps(job, config, source, origin, info, packets, replace(treatment, mode=mode), refresh)
    if mode != "reencode":
        notes += _loudness_note(audio_filter, config)
    return ClipSteps(steps, mode, tuple(notes))


def _whole_steps(job: ClipJob, config: Config, source: str, origin: float, info: MediaInfo | None,
                 packets: Sequence[Packet] | None, treatment: _Treatment, refresh: Refresh) -> list[Step]:  # fmt: skip
    """The steps of a clip cut in one ffmpeg run (a copy or a re-encode), led by the measuring of its loudness when
    that is normalised."""
    mode, shape, files, audio_filter = treatment.mode, treatment.shape, treatment.files, treatment.audio_filter
    temp = str(temp_path(job, config))
    start, end = job.start, job.end
    if mode == "reencode" and info is not None and packets and info.time_base is not None:
        # Cut at the source's own frames (the first at or after each time): a variable frame rate has no grid.
        start = snap_to_packets(start, origin, packets, info.time_base)
        end = snap_to_packets(end, origin, packets, info.time_base)
    elif mode == "reencode" and info is not None and info.frame_rate:
        # Cut at frame boundaries (the first frame at or after each time), so the output's timestamps start
        # at 0 on the frame grid: off-grid ones make ffmpeg drop or repeat a frame to keep the rate constant.
        start, end = snap_to_frame(start, info.frame_rate), snap_to_frame(end, info.frame_rate)
    lead = cut_args.seek_lead(mode, start)
    if mode == "reencode" and refresh.decode_seek is not None:
        # Decode from the keyframe before the refresh point the seek would land on: the picture is whole by
        # then, and ffmpeg's decoder drops the frames before it is.
        lead = max(lead, origin + start - refresh.decode_seek)
    burnt = None
    if treatment.burn:  # drawn on the frames the filters see, which start ``lead`` before the clip
        cues = shifted(job.captions, lead)
        if shape is not None:  # styled for a phone, on the clip's new canvas
            path, text = piece_prefix(job, config) + ".ass", to_ass(cues, reframe.canvas(shape))
        else:
            path, text = piece_prefix(job, config) + ".srt", to_srt(cues)
        files, burnt = ((path, text),), Path(path).name
    video_filter = reframe.video_filter(shape, config.pad, config.crop_x) if shape is not None else None
    argv = cut_args.cut_argv(source, origin, start, end - start, mode, temp, metadata=clip_metadata(job),
                        subtitles=treatment.subtitles, burn=burnt, container=cut_args.container_for(job.output),
                        video_filter=video_filter, audio_filter=audio_filter, info=info, lead=lead)  # fmt: skip
    cwd = str(config.output_dir) if burnt else None
    frames, span = None, None
    if mode == "reencode" and info is not None and packets and info.time_base is not None:
        # The source's own frames in the range, to check the clip by (a variable frame rate has no grid).
        first, last = round((origin + start) / info.time_base), round((origin + end) / info.time_base)
        frames = sum(1 for packet in packets if first <= packet.pts < last) or None
        span = frame_span(packets, first, last, info)
    steps = [Step("cut", tuple(argv), temp, job.duration, files=files, cwd=cwd,
                  fill=argv.index(audio_filter) if audio_filter else None, frames=frames, span=span)]  # fmt: skip
    if audio_filter is not None:
        steps.insert(0, _measure_step(job, config, source, origin + start, end - start))
    return steps


def _poster(packets: Sequence[Packet], first: float, last: float, duration: float, info: MediaInfo, source: str,
            output: str) -> smart_args.Part:  # fmt: skip
    """The poster frame of a smart cut from ``first`` to ``last`` (timestamps): the first keyframe from
    ``poster_time`` on, which is decoded alone (a frame a GOP into the clip at most; often a shot's first, where
    encoders put keyframes); the frame at ``poster_time`` when no keyframe comes before the clip's end."""
    assert info.time_base is not None
    at = first + poster_time(duration)
    keys = [packet.pts * info.time_base for packet in packets if packet.key]
    later = [float(key) for key in keys if at - _FRAME_SLACK <= key < last]
    if later:
        return smart_args.poster_part(source, smart_args.keyframe_seek(info, min(later)), output, keyframe_only=True)
    return smart_args.poster_part(source, at - info.start_time, output)


_FRAME_SLACK = 0.0005


def _measure_step(job: ClipJob, config: Config, source: str, start: float, seconds: float) -> Step:
    """The first loudness pass over the clip's audio: [start, start + seconds) (timestamps)."""
    assert config.loudnorm is not None
    argv = loudness.measure_argv(source, start, seconds, config.loudnorm)
    return Step("measure", tuple(argv), "", seconds)


def _loudness_note(audio_filter: str | None, config: Config) -> tuple[str, ...]:
    if audio_filter is None:
        return ()
    return (f"its audio is re-encoded: loudness normalised to {config.loudnorm:g} LUFS",)


def snap_to_packets(seconds: float, origin: float, packets: Sequence[Packet], time_base: Fraction) -> float:
    """The player time of the first frame at or after ``seconds``, from the source's own timestamps (``seconds``
    itself past the last frame listed)."""
    later = [packet.pts for packet in packets if packet.pts * time_base >= Fraction(origin + seconds) - _EPSILON]
    return float(min(later) * time_base) - origin if later else seconds


_EPSILON = Fraction(1, 1_000_000)


def snap_to_frame(seconds: float, frame_rate: float) -> float:
    """The time of the first frame at or after ``seconds`` (frames at multiples of 1/frame_rate)."""
    return math.ceil(seconds * frame_rate - 1e-6) / frame_rate


def frame_span(packets: Sequence[Packet], first: int, end: int, info: MediaInfo) -> tuple[float, float] | None:
    """(shortest, longest) seconds the picture of a clip that shows the source frames in [first, end) (time-base
    units) may last, from its first frame: to the start of its last frame (which lasts something), and to the
    next frame, or a nominal frame (the average rate's) past the last one when that is later (MPEG-TS pieces
    carry no duration: the muxer guesses the last frame's). Judged so (``probe.verify_clip``), a variable frame
    rate's clip whose first frame comes well after its start, or whose last frame lasts longer than the
    average, is right; one that runs into the next frame is not (a frame too few: the frame count tells).
    None when no frame is listed in the range."""
    if info.time_base is None:
        return None
    time_base = info.time_base
    times = sorted(packet.pts for packet in packets)
    shown = [pts for pts in times if first <= pts < end]
    if not shown:
        return None
    later = [pts for pts in times if pts >= end]
    nominal = 1 / info.frame_rate if info.frame_rate else 0.0
    shortest = float((shown[-1] - first) * time_base)
    longest = max(float((later[0] - first) * time_base) if later else 0.0, shortest + nominal)
    return shortest, longest


def packet_window(job: ClipJob, origin: float) -> tuple[float, float]:
    """The timestamps to list packets for: from before the keyframe that precedes the clip to past its end."""
    return origin + job.start - SECTION_LEAD, origin + job.end + SECTION_TAIL


def _smart_steps(job: ClipJob, config: Config, source: str, origin: float, info: MediaInfo,
                 packets: Sequence[Packet], subtitles: str | None, files: tuple[tuple[str, str], ...],
                 audio_filter: str | None = None, poster: bool = False) -> list[Step]:  # fmt: skip
    assert info.time_base is not None
    time_base = info.time_base
    clip_start = origin + job.start
    smart = smart_cut(list(packets), round(clip_start / time_base), round((origin + job.end) / time_base))
    prefix = piece_prefix(job, config)
    suffix = "ts" if smart_args.piece_container(info) == "mpegts" else "nut"
    delay = float(smart.decode_delay * time_base)
    parts: list[smart_args.Part] = []
    written: list[Piece] = []
    splices: list[Step] = []
    pieces: list[str] = []
    for index, piece in enumerate(smart.pieces):
        name = "mid" if piece.kind == "copy" else ("head" if index == 0 else "tail")
        path = f"{prefix}.{name}.{suffix}"
        start = float(piece.start * time_base)
        seconds = float((piece.end - piece.start) * time_base)
        if piece.kind == "encode":
            keys = [packet.pts for packet in packets if packet.key and packet.pts <= piece.start]
            keyframe = float(max(keys) * time_base) if keys else None
            parts.append(smart_args.encode_piece(source, info, start, piece.frames, delay, path, keyframe,
                                                 one_thread=config.jobs > 1))  # fmt: skip
            written.append(Piece("encode", path, piece.frames, start))
        else:
            seek = max(0.0, packet_window(job, origin)[0])  # where the packet listing started: lands alike
            copied = f"{prefix}.copy.{suffix}" if info.video_codec in smart_args.ANNEX_B_CODECS else path
            parts.append(smart_args.copy_piece(source, info, seek, piece.skip, piece.packets, piece.drop, copied))
            written.append(Piece("copy", copied, piece.frames, start))
            if copied != path:  # an open GOP's keyframe starts a new sequence after the head (else a no-op copy)
                splices.append(Step("splice", tuple(splice.splice_argv(copied, path)), path, seconds))
        pieces.append(path)
    first = float(smart.pieces[0].start * time_base)
    last = float(smart.pieces[-1].end * time_base)
    if poster:  # first: see smart_args.poster_part
        parts.insert(0, _poster(packets, first, last, job.duration, info, source, str(poster_path(job, config))))
    steps = [Step("pieces", tuple(smart_args.pieces_argv(parts)), written[0].output, last - first, offset=clip_start,
                  pieces=tuple(written)), *splices]  # fmt: skip
    list_file = None
    if suffix == "nut":
        list_file = prefix + ".list"
        lengths = [float((piece.end - piece.start) * time_base) for piece in smart.pieces]
        files = (*files, (list_file, smart_args.concat_list(list(zip(pieces, lengths, strict=True)))))
    temp = str(temp_path(job, config))
    join = smart_args.join_argv(pieces, list_file, info, source, first, last - first, temp, metadata=clip_metadata(job),
                         subtitles=subtitles, container=cut_args.container_for(job.output), audio_filter=audio_filter,
                         display_rotation=bool(info.rotation) and ffmpeg.has_display_rotation(),  # a cached look
                         encoded=any(piece.kind == "encode" for piece in smart.pieces))  # fmt: skip
    joins = tuple(float((piece.start - smart.pieces[0].start) * time_base) for piece in smart.pieces)
    frames = sum(piece.frames for piece in smart.pieces)
    span = frame_span(packets, smart.pieces[0].start, smart.pieces[-1].end, info)
    steps.append(Step("join", tuple(join), temp, last - first, files=files, frames=frames, joins=joins,
                      fill=join.index(audio_filter) if audio_filter else None, span=span))  # fmt: skip
    if audio_filter is not None:  # the audio the join takes: from the first piece's start to the last's end
        steps.insert(0, _measure_step(job, config, source, first, last - first))
    return steps
