"""Where a clip's edges go when they snap to pauses in the speech: the pure side of ``clipper.share.snap``, which
reads the audio and feeds its levels here.

A note's times are whole seconds, so a clip often starts mid-word. With ``snap: speech`` each edge moves, at most
``snap_window`` seconds either way, into the nearest pause: a stretch of at least MIN_PAUSE whose level stays
SPEECH_TO_SILENCE dB under the speech around the clip's edges (relative, so quiet and loud recordings alike work;
raised over a noisy floor). Where the note's transcript starts a line inside the window, the pause nearest that
line wins. The cut keeps a short lead-in (a start) or tail (an end) of silence, up to LEAD, never nearer than
GUARD to a sound, and lands on a frame so that the clip is frame-accurate at the times it reports.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

from clipper.core.timecode import format_timestamp
from clipper.plan.jobs import ClipJob

FRAME_SECONDS = 0.01  # the analysis frame: levels are measured over 10 ms
CONTEXT = 0.5  # audio read past the window on each side, so a pause that crosses its border is measured whole
MIN_PAUSE = 0.2  # shorter silences are gaps inside words (a "p" or "t" closes the mouth for up to ~150 ms)
LEAD = 0.25  # the silence kept before a clip's first word and after its last, where the pause allows
GUARD = 0.05  # never cut nearer than this to a sound
SPEECH_TO_SILENCE = 30.0  # dB under the speech's level (its 98th percentile frame) that counts as silence
FLOOR_MARGIN = 6.0  # ... or this much over a noisy floor (its 10th percentile frame),
MIN_CONTRAST = 12.0  # ... but at least this much under the speech
SILENT = -60.0  # dBFS: a window whose loudest frames are this quiet holds no speech at all
MIN_CLIP = 0.5  # snapped edges never leave a clip shorter than this (or than it was)

Kind = Literal["start", "end"]


@dataclass(frozen=True)
class EdgeAudio:
    """The levels (dBFS, one per FRAME_SECONDS) of the audio read around an edge, from ``start`` (player time)."""

    start: float
    levels: tuple[float, ...]


@dataclass(frozen=True)
class Pause:
    start: float
    end: float


@dataclass(frozen=True)
class Edge:
    """What snapping did to one edge: the note's time, the clip's, and why."""

    note: float
    time: float
    reason: str


def read_range(time: float, window: float, end_of_media: float | None = None) -> tuple[float, float]:
    """(start, seconds) of the audio to read around an edge at ``time``: the window and CONTEXT on each side."""
    start = max(0.0, time - window - CONTEXT)
    end = time + window + CONTEXT
    if end_of_media is not None:
        end = max(start + FRAME_SECONDS, min(end, end_of_media))
    return round(start, 6), round(end - start, 6)


def _percentile(ordered: Sequence[float], share: float) -> float:
    return ordered[min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))]


def silence_threshold(levels: Sequence[float]) -> float | None:
    """The level (dBFS) under which a frame is silence, from the frames around both edges of a clip; None when
    they hold no speech at all."""
    if not levels:
        return None
    ordered = sorted(levels)
    speech, floor = _percentile(ordered, 0.98), _percentile(ordered, 0.10)
    if speech < SILENT:
        return None
    return max(speech - SPEECH_TO_SILENCE, min(floor + FLOOR_MARGIN, speech - MIN_CONTRAST))


def find_pauses(audio: EdgeAudio, threshold: float) -> list[Pause]:
    """The stretches of at least MIN_PAUSE whose frames are all under ``threshold``."""
    pauses: list[Pause] = []
    run_start: int | None = None
    for index, level in enumerate([*audio.levels, math.inf]):  # the sentinel ends a pause open at the end
        if level < threshold:
            if run_start is None:
                run_start = index
            continue
        if run_start is not None and (index - run_start) * FRAME_SECONDS >= MIN_PAUSE - 1e-9:
            pauses.append(Pause(round(audio.start + run_start * FRAME_SECONDS, 6),
                                round(audio.start + index * FRAME_SECONDS, 6)))  # fmt: skip
        run_start = None
    return pauses


def _on_frame(point: float, low: float, high: float, frame_rate: float | None) -> float | None:
    """The frame time (multiple of 1/frame_rate) in [low, high] nearest ``point``; None when none is there.
    Without a frame rate (audio only) the millisecond."""
    step = 1 / frame_rate if frame_rate else 0.001
    first, last = math.ceil(low / step - 1e-6), math.floor(high / step + 1e-6)
    if first > last:
        return None
    return round(min(max(round(point / step), first), last) * step, 6)


def _cut_in(kind: Kind, pause: Pause, low: float, high: float, frame_rate: float | None) -> float | None:
    """Where in ``pause`` an edge of ``kind`` cuts, within [low, high] (the window): a start LEAD before the next
    sound (a short pause: its middle), an end LEAD after the last; GUARD from either sound, on a frame."""
    middle = (pause.start + pause.end) / 2
    ideal = max(pause.end - LEAD, middle) if kind == "start" else min(pause.start + LEAD, middle)
    guarded = (max(pause.start + GUARD, low), min(pause.end - GUARD, high))
    if guarded[0] > guarded[1]:  # the window holds too little of the pause
        return None
    point = _on_frame(min(max(ideal, guarded[0]), guarded[1]), *guarded, frame_rate)
    if point is None:  # frames too far apart (a slideshow) for one that far from both sounds: one in the pause
        point = _on_frame(ideal, max(pause.start, low), min(pause.end, high), frame_rate)
    return point


def _seconds(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def snap_edge(kind: Kind, time: float, window: float, pauses: Sequence[Pause], boundaries: Sequence[float],
              frame_rate: float | None, end_of_media: float | None = None) -> Edge:  # fmt: skip
    """Move the edge at ``time`` into the pause nearest it (or nearest the transcript line that starts inside the
    window, when one does); keep it, and say why, when no pause is within the window."""
    low, high = max(0.0, time - window), time + window
    if end_of_media is not None:
        high = min(high, end_of_media)
    inside = [boundary for boundary in boundaries if low <= boundary <= high]
    anchor = min(inside, key=lambda boundary: (abs(boundary - time), boundary)) if inside else time
    best: tuple[float, float, float, Pause] | None = None
    for pause in pauses:
        point = _cut_in(kind, pause, low, high, frame_rate)
        if point is None:
            continue
        distance = max(pause.start - anchor, anchor - pause.end, 0.0)
        candidate = (round(distance, 6), round(abs(point - time), 6), point, pause)
        if best is None or candidate[:2] < best[:2]:
            best = candidate
    if best is None:
        return Edge(time, time, f"kept: no pause within {_seconds(window)}s")
    point, pause = best[2], best[3]
    where = f"the pause {_seconds(pause.start)}-{_seconds(pause.end)}s"
    if inside:
        where += f", at the transcript's line {format_timestamp(anchor)}"
    if abs(point - time) < 1e-6:
        return Edge(time, time, f"kept: in {where}")
    return Edge(time, point, f"{format_timestamp(time)} -> {format_timestamp(point)}, in {where}")


def place_edges(job: ClipJob, window: float, audio: tuple[EdgeAudio, EdgeAudio], frame_rate: float | None,
              end_of_media: float | None = None) -> tuple[Edge, Edge]:  # fmt: skip
    """Both edges of ``job`` (at its note's times), from the audio read around them (see ``read_range``)."""
    start, end = job.note_start, job.note_end
    threshold = silence_threshold([*audio[0].levels, *audio[1].levels])
    if threshold is None:
        reason = "kept: no speech around the clip's edges"
        return Edge(start, start, reason), Edge(end, end, reason)
    boundaries = [line.time for line in job.transcript]
    first = snap_edge("start", start, window, find_pauses(audio[0], threshold), boundaries, frame_rate, end_of_media)
    last = snap_edge("end", end, window, find_pauses(audio[1], threshold), boundaries, frame_rate, end_of_media)
    if last.time - first.time < min(MIN_CLIP, end - start) - 1e-6:
        reason = "kept: snapped, the clip would be too short"
        return Edge(start, start, reason), Edge(end, end, reason)
    return first, last


def snapped(job: ClipJob, edges: tuple[Edge, Edge]) -> ClipJob:
    """The job at its clip's own times (the note's kept in ``note_range``); its captions are made again by the
    caller (they follow the clip's times)."""
    first, last = edges
    return replace(job, start=first.time, end=last.time, note_range=(first.note, last.note),
                   snap_reasons=(first.reason, last.reason))  # fmt: skip


def kept(job: ClipJob, reason: str) -> ClipJob:
    """The job, its edges left where the note put them, and why (e.g. the source has no audio)."""
    return replace(job, note_range=(job.note_start, job.note_end), snap_reasons=(f"kept: {reason}",) * 2)


def summary(job: ClipJob) -> str:
    """One line for the log and the dry run: both times and why."""
    if job.note_range is None:
        return "edges not snapped"
    start_reason, end_reason = job.snap_reasons or ("", "")
    if start_reason == end_reason and start_reason.startswith("kept"):
        return f"edges {start_reason}"
    return f"start {start_reason}; end {end_reason}"
