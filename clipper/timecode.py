"""Timestamps as people write them in notes (``M:SS``, ``H:MM:SS``, ``1:20:00.5``)."""

from __future__ import annotations

import re

from yt_dlp.utils import parse_duration

_TIMESTAMP_RE = re.compile(r"\d+(?::[0-5]?\d){0,2}(?:\.\d+)?", re.ASCII)
# No video is this long; a bound keeps "99999...9" (a float overflow, an inf) out of names and arithmetic.
MAX_HOURS = 10_000
MAX_SECONDS = MAX_HOURS * 3600


def parse_timestamp(text: str) -> float:
    """Return seconds for ``SS``, ``M:SS``, ``H:MM:SS`` with optional fraction; raise ValueError otherwise.

    The shape is checked here (so ``1:2:3:4`` or ``1h`` are refused) and the value is computed by
    yt-dlp's own ``parse_duration``, the parser it uses for ``--download-sections``.
    """
    text = text.strip()
    if not _TIMESTAMP_RE.fullmatch(text):
        raise ValueError(f"{text!r} is not a timestamp (use M:SS, H:MM:SS or seconds, e.g. 1:20:00.5)")
    seconds = parse_duration(text)
    if seconds is None:  # pragma: no cover - the regex admits only what parse_duration reads
        raise ValueError(f"{text!r} is not a timestamp")
    if not seconds <= MAX_SECONDS:  # also inf: parse_duration reads 400 nines as float("inf")
        shown = text if len(text) <= 24 else text[:21] + "..."
        raise ValueError(f"{shown!r} is too late a time (more than {MAX_HOURS} hours)")
    return float(seconds)


def parse_range(text: str) -> tuple[float, float]:
    """Parse ``START-END`` into seconds; END must be after START."""
    start_text, sep, end_text = text.strip().partition("-")
    if not sep:
        raise ValueError(f"{text!r} is not a range (use START-END, e.g. 3:34-4:30)")
    start, end = parse_timestamp(start_text), parse_timestamp(end_text)
    if end == start:
        raise ValueError(f"range {text.strip()!r} is empty (it ends where it starts)")
    if end < start:
        raise ValueError(f"range {text.strip()!r} ends before it starts")
    return start, end


def format_timestamp(seconds: float) -> str:
    """``38`` -> ``0:38``, ``4800.5`` -> ``1:20:00.5`` (the notes' own style)."""
    hours, minutes, secs, fraction = _split(seconds)
    text = f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
    return text + fraction


def name_timestamp(seconds: float) -> str:
    """A file-name friendly stamp: ``38`` -> ``0m38s``, ``3723`` -> ``1h02m03s``, ``38.5`` -> ``0m38.5s``."""
    hours, minutes, secs, fraction = _split(seconds)
    sec_text = f"{secs:02d}{fraction}"
    return f"{hours}h{minutes:02d}m{sec_text}s" if hours else f"{minutes}m{sec_text}s"


def _split(seconds: float) -> tuple[int, int, int, str]:
    """(hours, minutes, seconds, ".fff" or "") rounded to the millisecond first, so 59.9996 is 1:00, not 0:591."""
    whole, millis = divmod(round(seconds * 1000), 1000)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return hours, minutes, secs, f".{millis:03d}".rstrip("0") if millis else ""
