"""Captions for a clip from its note's transcript (pure): cues on the clip's own timeline, as SRT and VTT.

A transcript line runs from its timestamp to the next line's; the lines that overlap a clip become cues,
shifted so the clip's start is 0:00 and cut at its end. Long paragraphs are split at sentence ends into cues
of readable length, each given a share of the line's time in proportion to its length.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import pysubs2

from clipper.notes import Note, TranscriptLine, transcript

if TYPE_CHECKING:
    from clipper.plan import ClipJob

MAX_CUE_CHARS = 90
_SENTENCE_END_RE = re.compile(r"(?<=[.!?…])\s+(?=\S)")


@dataclass(frozen=True)
class Cue:
    start: float  # seconds from the clip's start
    end: float
    text: str


def _pieces(text: str) -> list[str]:
    """Sentences; a long one is split into the fewest even parts (at spaces) that each read in one go."""
    pieces: list[str] = []
    for sentence in _SENTENCE_END_RE.split(text.strip()):
        words = sentence.split()
        if not words:
            continue
        parts = -(-len(sentence) // MAX_CUE_CHARS)
        target = len(sentence) / parts
        current: list[str] = []
        for word in words:
            if current and len(" ".join([*current, word])) > target * 1.15:
                pieces.append(" ".join(current))
                current = []
            current.append(word)
        pieces.append(" ".join(current))
    return pieces


def clip_cues(lines: Sequence[TranscriptLine], start: float, end: float, video_end: float | None = None) -> list[Cue]:
    """The cues of the clip [start, end): transcript lines overlapping it, on the clip's timeline."""
    cues: list[Cue] = []
    ordered = sorted(lines, key=lambda line: line.time)
    for index, line in enumerate(ordered):
        line_end = ordered[index + 1].time if index + 1 < len(ordered) else (video_end or end)
        if line_end <= start or line.time >= end or line_end <= line.time:
            continue
        pieces = _pieces(line.text)
        total = sum(len(piece) for piece in pieces) or 1
        at = line.time
        for piece in pieces:
            piece_end = at + (line_end - line.time) * len(piece) / total
            if piece_end > start and at < end:
                cues.append(Cue(round(max(at, start) - start, 3), round(min(piece_end, end) - start, 3), piece))
            at = piece_end
    return [cue for cue in cues if cue.end - cue.start >= 0.05]


def shifted(cues: Sequence[Cue], seconds: float) -> list[Cue]:
    """The cues ``seconds`` later (burnt captions count from where the filters' timeline starts)."""
    return [Cue(round(cue.start + seconds, 3), round(cue.end + seconds, 3), cue.text) for cue in cues]


def _subtitles(cues: Sequence[Cue], escape: bool) -> pysubs2.SSAFile:
    subtitles = pysubs2.SSAFile()
    for cue in cues:
        text = cue.text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") if escape else cue.text
        event = pysubs2.SSAEvent(start=round(cue.start * 1000), end=round(cue.end * 1000))
        event.plaintext = text
        subtitles.append(event)
    return subtitles


def to_srt(cues: Sequence[Cue]) -> str:
    return str(_subtitles(cues, escape=False).to_string("srt"))


def to_vtt(cues: Sequence[Cue]) -> str:
    """WebVTT (what browsers show): ``<`` and ``&`` escaped, so a transcript's text never becomes markup."""
    return str(_subtitles(cues, escape=True).to_string("vtt"))


def with_captions(jobs: Sequence[ClipJob], notes: Sequence[Note]) -> list[ClipJob]:
    """The jobs with their cues from their notes' transcripts (each transcript is parsed once)."""
    by_path = {note.path: note for note in notes}
    lines: dict[Path, tuple[TranscriptLine, ...]] = {}
    result = []
    for job in jobs:
        note = by_path.get(job.note)
        if note is None:
            result.append(job)
            continue
        if note.path not in lines:
            lines[note.path] = transcript(note)
        cues = clip_cues(lines[note.path], job.start, job.end, note.duration)
        result.append(replace(job, captions=tuple(cues)))
    return result
