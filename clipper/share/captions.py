"""Captions for a clip from its note's transcript (pure): cues on the clip's own timeline, as SRT and VTT.

A transcript line runs from its timestamp to the next line's; the lines that overlap a clip become cues,
shifted so the clip's start is 0:00 and cut at its end. Long paragraphs are split at sentence ends into cues
of readable length, each given a share of the line's time in proportion to its length.

Burnt into a clip of a share format (9:16, 1:1), captions are styled for a phone: large, in the bottom third, at
most two lines, inside safe margins (an ASS file made for the clip's canvas).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from clipper.notes.parse import Note
from clipper.notes.transcript import TranscriptLine, transcript
from clipper.plan.jobs import ClipJob, Cue

if TYPE_CHECKING:
    import pysubs2

__all__ = ["Cue", "clip_cues", "recaption", "shifted", "to_ass", "to_srt", "to_vtt", "with_captions"]

MAX_CUE_CHARS = 90
_SENTENCE_END_RE = re.compile(r"(?<=[.!?…])\s+(?=\S)")
# Phone captions, as shares of the canvas's short side (1080 px on a 9:16 canvas of 1080x1920).
PHONE_FONT = 0.062  # about 67 px: large, and still about 22 characters a line
PHONE_SIDE_MARGIN = 0.08
PHONE_OUTLINE = 0.006
# Above the bottom fifth of a tall picture, where phone apps lay their buttons and titles (still in its bottom third).
PHONE_BOTTOM_MARGIN = 0.2
CHAR_WIDTH = 0.6  # a bold sans-serif character's width in font sizes (wide enough that two lines never become three)


def _pieces(text: str, max_chars: int = MAX_CUE_CHARS) -> list[str]:
    """Sentences; a long one is split into the fewest even parts (at spaces) that each read in one go."""
    pieces: list[str] = []
    for sentence in _SENTENCE_END_RE.split(text.strip()):
        words = sentence.split()
        if not words:
            continue
        parts = -(-len(sentence) // max_chars)
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


def _subtitles(cues: Sequence[Cue], escape: bool) -> pysubs2.SSAFile:
    import pysubs2  # here: a run without captions does not wait for it to load

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


def nearby_lines(lines: Sequence[TranscriptLine], start: float, end: float,
                 margin: float) -> tuple[TranscriptLine, ...]:  # fmt: skip
    """The lines a clip of [start, end] needs when its edges may move by ``margin``: from the one said at
    ``start - margin`` to the first that starts after ``end + margin`` (its time ends the one before)."""
    ordered = sorted(lines, key=lambda line: line.time)
    first = max((i for i, line in enumerate(ordered) if line.time <= start - margin), default=0)
    last = next((i for i, line in enumerate(ordered) if line.time > end + margin), len(ordered) - 1)
    return tuple(ordered[first : last + 1])


def with_captions(jobs: Sequence[ClipJob], notes: Sequence[Note], *, margin: float = 0.0,
                  cues: bool = True) -> list[ClipJob]:  # fmt: skip
    """The jobs with their notes' transcript lines around them (``margin``: how far their edges may move) and,
    with ``cues``, their captions from them. Each transcript is parsed once."""
    by_path = {note.path: note for note in notes}
    lines: dict[Path, tuple[TranscriptLine, ...]] = {}
    result = []
    for job in jobs:
        note = by_path.get(job.note) if isinstance(job.note, Path) else None
        if note is None:
            result.append(job)
            continue
        if note.path not in lines:
            lines[note.path] = transcript(note)
        job = replace(job, transcript=nearby_lines(lines[note.path], job.start, job.end, margin + 1.0))
        result.append(recaption(job) if cues else job)
    return result


def recaption(job: ClipJob) -> ClipJob:
    """The job with the captions of its own times (after its edges moved), from the transcript lines it holds."""
    return replace(job, captions=tuple(clip_cues(job.transcript, job.start, job.end, job.video_duration)))


def shifted(cues: Sequence[Cue], seconds: float) -> list[Cue]:
    """The cues ``seconds`` later (burnt captions count from where the filters' timeline starts)."""
    return [Cue(round(cue.start + seconds, 3), round(cue.end + seconds, 3), cue.text) for cue in cues]


def _two_lines(text: str, line_chars: int) -> str:
    """``text`` on one line when it fits, else on two of about even length (broken at the space nearest the
    middle), joined by ASS's line break."""
    if len(text) <= line_chars or " " not in text:
        return text
    middle = len(text) / 2
    spaces = [index for index, char in enumerate(text) if char == " "]
    cut = min(spaces, key=lambda index: (abs(index - middle), index))
    return text[:cut] + "\\N" + text[cut + 1 :]


def phone_cues(cues: Sequence[Cue], line_chars: int) -> list[Cue]:
    """The cues split (at sentence ends, then evenly at spaces) so each is at most two lines of ``line_chars``,
    each piece given a share of its cue's time in proportion to its length; the lines broken explicitly."""
    result: list[Cue] = []
    for cue in cues:
        pieces = _pieces(cue.text, 2 * line_chars)
        total = sum(len(piece) for piece in pieces) or 1
        at = cue.start
        for piece in pieces:
            piece_end = at + (cue.end - cue.start) * len(piece) / total
            result.append(Cue(round(at, 3), round(piece_end, 3), _two_lines(piece, line_chars)))
            at = piece_end
    return result


def phone_line_chars(canvas: tuple[int, int]) -> int:
    """How many characters fit on a caption line of the canvas."""
    short = min(canvas)
    usable = canvas[0] - 2 * round(short * PHONE_SIDE_MARGIN)
    return max(8, int(usable / (CHAR_WIDTH * round(short * PHONE_FONT))))


def to_ass(cues: Sequence[Cue], canvas: tuple[int, int]) -> str:
    """Captions for a phone, as ASS for the clip's canvas (width, height): large bold white text with a dark
    outline, centred in the bottom third above the apps' buttons, at most two lines, never wrapped by libass."""
    import pysubs2

    width, height = canvas
    short = min(canvas)
    subtitles = pysubs2.SSAFile()
    subtitles.info.update({"PlayResX": str(width), "PlayResY": str(height), "WrapStyle": "2",
                           "ScaledBorderAndShadow": "yes"})  # fmt: skip
    tall = height > width
    subtitles.styles["Default"] = pysubs2.SSAStyle(
        fontname="DejaVu Sans", fontsize=round(short * PHONE_FONT), bold=True,
        primarycolor=pysubs2.Color(255, 255, 255), outlinecolor=pysubs2.Color(0, 0, 0),
        backcolor=pysubs2.Color(0, 0, 0, 128), outline=max(1, round(short * PHONE_OUTLINE)), shadow=0,
        alignment=pysubs2.Alignment.BOTTOM_CENTER, marginl=round(short * PHONE_SIDE_MARGIN),
        marginr=round(short * PHONE_SIDE_MARGIN),
        marginv=round(height * (PHONE_BOTTOM_MARGIN if tall else PHONE_SIDE_MARGIN)),
    )  # fmt: skip
    # Note text is never markup: braces would open ASS override tags, a backslash an escape (\\N, \\h).
    safe = [replace(cue, text=cue.text.replace("\\", "\u29f5").replace("{", "(").replace("}", ")")) for cue in cues]
    for cue in phone_cues(safe, phone_line_chars(canvas)):
        subtitles.append(pysubs2.SSAEvent(start=round(cue.start * 1000), end=round(cue.end * 1000), text=cue.text))
    return str(subtitles.to_string("ass"))
