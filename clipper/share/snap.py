"""Snapping clip edges to pauses in the speech, on media that is local (the I/O side): the audio around both edges
is read in one short ffmpeg run and measured, the edges are placed by ``clipper.share.pauses`` (pure), and the
clip's captions follow its new times.

The audio read: each range is its own input (a seek, then a few seconds decoded: never the whole video), turned to
16 kHz mono with the hum and rumble under 100 Hz filtered out (they would hide a pause), and the ranges go side by
side as the channels of one raw stream; ``frame_levels`` turns those samples into the level of every 10 ms.

The runner snaps each clip once its media is local (a URL's section or download, or the user's file); a dry run
snaps the clips of local files before it prints their commands (it reads a few seconds of audio per clip, and
writes nothing). A clip made before keeps the times its manifest entry records (``recorded``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from clipper.core.errors import ClipperError, CutError
from clipper.media import ffmpeg, probe
from clipper.media.cut_args import seconds_arg
from clipper.media.probe import MediaInfo, file_arg
from clipper.plan.config import Config
from clipper.plan.jobs import ClipJob
from clipper.share import pauses
from clipper.share.captions import recaption
from clipper.share.pauses import FRAME_SECONDS

RATE = 16000  # speech's energy, fricatives included, lies under 8 kHz
_QUIET = 1e-12  # a level's floor (digital silence is -120 dBFS, not minus infinity)


def edge_audio_argv(source: str, origin: float, ranges: Sequence[tuple[float, float]]) -> list[str]:
    """ffmpeg argv writing the audio of each (start, seconds) range of ``source`` (player times; ``origin`` is the
    timestamp of player time 0) to stdout: 16-bit samples at RATE, one channel per range (a shorter range is
    padded with silence to the longest)."""
    argv = ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error"]
    for start, seconds in ranges:
        argv += ["-seek_timestamp", "1", "-ss", seconds_arg(origin + start), "-t", seconds_arg(seconds),
                 "-i", file_arg(source)]  # fmt: skip
    mono = f"highpass=f=100,aresample={RATE},aformat=sample_fmts=s16:channel_layouts=mono,apad"
    chains = [f"[{index}:a:0]{mono}[e{index}]" for index in range(len(ranges))]
    joined = "".join(f"[e{index}]" for index in range(len(ranges)))
    graph = ";".join(chains) + (f";{joined}amerge=inputs={len(ranges)}[out]" if len(ranges) > 1 else "")
    output = "[out]" if len(ranges) > 1 else "[e0]"
    longest = max(seconds for _, seconds in ranges)
    return [*argv, "-filter_complex", graph, "-map", output, "-t", seconds_arg(longest), "-f", "s16le", "pipe:1"]


def frame_levels(pcm: bytes, seconds: Sequence[float]) -> list[tuple[float, ...]]:
    """The level (dBFS, RMS) of every FRAME_SECONDS of each channel of ``pcm`` (16-bit little-endian,
    interleaved, one channel per range), each channel cut to its range's ``seconds``."""
    channels = len(seconds)
    samples = memoryview(pcm[: len(pcm) - len(pcm) % (2 * channels)]).cast("h")
    size = round(RATE * FRAME_SECONDS)
    full_scale = 32768.0**2
    result = []
    for channel, length in enumerate(seconds):
        values = samples[channel::channels]
        count = min(len(values), round(length * RATE)) // size
        levels = []
        for frame in range(count):
            chunk = values[frame * size : (frame + 1) * size]
            power = sum(sample * sample for sample in chunk) / size
            levels.append(round(10 * math.log10(power / full_scale + _QUIET), 2))
        result.append(tuple(levels))
    return result


def read_levels(source: str, origin: float, ranges: Sequence[tuple[float, float]]) -> list[tuple[float, ...]]:
    """Run ``edge_audio_argv`` and measure its output (a few seconds of audio: a fraction of a second's work)."""
    try:
        result = ffmpeg.capture(edge_audio_argv(source, origin, ranges), timeout=300)
    except ffmpeg.TookTooLong:
        raise CutError("reading the audio around the clip's edges took too long") from None
    if result.returncode != 0:
        raise CutError(f"ffmpeg cannot read the audio: {result.last_error}")
    return frame_levels(result.stdout, [seconds for _, seconds in ranges])


def end_of_media(info: MediaInfo, origin: float) -> float | None:
    """The last player time the file holds (a section's file keeps the source's timeline)."""
    if info.duration <= 0:
        return None
    return info.start_time + info.duration - origin


def snap_to_speech(job: ClipJob, source: str, origin: float, info: MediaInfo, config: Config) -> ClipJob:
    """``job`` at the clip's own times: each edge moved into the nearest pause in the speech (see ``snap``);
    kept, and why, when there is none or the audio cannot be read."""
    if not info.has_audio:
        return pauses.kept(job, "the source has no audio")
    end = end_of_media(info, origin)
    if job.video_duration:
        end = min(end, job.video_duration) if end is not None else job.video_duration
    ranges = (pauses.read_range(job.note_start, config.snap_window, end),
              pauses.read_range(job.note_end, config.snap_window, end))  # fmt: skip
    try:
        levels = read_levels(source, origin, ranges)
    except ClipperError as error:
        return pauses.kept(job, f"the audio around the edges cannot be read ({error.message})")
    audio = (pauses.EdgeAudio(ranges[0][0], levels[0]), pauses.EdgeAudio(ranges[1][0], levels[1]))
    edges = pauses.place_edges(job, config.snap_window, audio, info.frame_rate, end)
    return _with_captions(pauses.snapped(job, edges), config)


def _with_captions(job: ClipJob, config: Config) -> ClipJob:
    return recaption(job) if config.captions != "off" else job


def snap_local(jobs: Sequence[ClipJob], config: Config) -> list[ClipJob]:
    """For a dry run: the jobs whose source is a local file, snapped (each file probed once); the others as they
    are (theirs are snapped once fetched). A file ffprobe cannot read leaves its jobs as they are (the dry run's
    own probe says why)."""
    infos: dict[str, MediaInfo | ClipperError] = {}
    result: list[ClipJob] = []
    for job in jobs:
        if not job.source_is_local or job.note_range is not None or not Path(job.source).is_file():
            result.append(job)
            continue
        if job.source not in infos:
            try:
                infos[job.source] = probe.probe(job.source)
            except ClipperError as error:
                infos[job.source] = error
        info = infos[job.source]
        result.append(job if isinstance(info, ClipperError) else snap_to_speech(job, job.source, info.origin, info,
                                                                                  config))  # fmt: skip
    return result


def recorded(job: ClipJob, entry: Mapping[str, Any], config: Config) -> ClipJob | None:
    """The job at the times its clip was made at, when its manifest ``entry`` says the clip was snapped from the
    same note times with the same window (snapping the same audio again would give the same times)."""
    snapped = entry.get("snap")
    if not isinstance(snapped, Mapping) or snapped.get("window") != config.snap_window:
        return None
    numbers = [entry.get(key) for key in ("note_start", "note_end", "start", "end")]
    if not all(isinstance(number, (int, float)) and math.isfinite(number) for number in numbers):
        return None
    note_start, note_end, start, end = (float(number) for number in numbers)  # type: ignore[arg-type]
    if (note_start, note_end) != (job.note_start, job.note_end) or not 0 <= start < end:
        return None
    reasons = (str(snapped.get("start") or ""), str(snapped.get("end") or ""))
    edges = (pauses.Edge(note_start, start, reasons[0]), pauses.Edge(note_end, end, reasons[1]))
    return _with_captions(pauses.snapped(job, edges), config)
