"""Timestamps as people write them in notes (``M:SS``, ``H:MM:SS``, ``1:20:00.5``)."""

from __future__ import annotations

import re

_TIMESTAMP_RE = re.compile(r"\d+(?::[0-5]?\d){0,2}(?:\.\d+)?", re.ASCII)
_UNITS_RE = re.compile(r"(?:([0-9]+)h)?(?:([0-9]+)m)?(?:([0-9]+)s)?")  # a link's t=38s or t=1h2m3s
# No video is this long; a bound keeps "99999...9" (a float overflow, an inf) out of names and arithmetic.
MAX_HOURS = 10_000
MAX_SECONDS = MAX_HOURS * 3600


def parse_duration(text: str) -> int | float | None:
    """yt-dlp's ``parse_duration``: the same value for every text (``11:39``, ``11m39s``, ``PT1H``), or None.

    Timestamps (``SS``, ``M:SS``, ``H:MM:SS``, with a fraction) and a link's ``t=1h2m3s`` are computed here the
    way yt-dlp computes them, part by part in the same order, so the float is the same to the last bit; only
    other forms load yt-dlp, whose import costs more than planning a folder of notes.
    """
    stripped = text.strip()
    ms = None
    if _TIMESTAMP_RE.fullmatch(stripped):
        *front, last = stripped.split(":")
        secs, dot, fraction = last.partition(".")
        hours, mins = [None, None, *front][-2:]
        ms = dot + fraction if dot else None
    elif stripped and (units := _UNITS_RE.fullmatch(stripped)):
        hours, mins, secs = units.groups()
    else:
        from yt_dlp.utils import parse_duration as yt_dlp_parse_duration

        return yt_dlp_parse_duration(text)
    # yt-dlp: sum(float(part or 0) * mult for (days, 86400), (hours, 3600), (mins, 60), (secs, 1), (ms, 1))
    parts = ((None, 86400), (hours, 3600), (mins, 60), (secs, 1), (ms, 1))
    total = sum((float(part or 0) * mult for part, mult in parts), 0.0)  # 0 + x == 0.0 + x for every float x
    return int(total) if total.is_integer() else total


def parse_timestamp(text: str) -> float:
    """Return seconds for ``SS``, ``M:SS``, ``H:MM:SS`` with optional fraction; raise ValueError otherwise.

    The shape is checked here (so ``1:2:3:4`` or ``1h`` are refused) and the value is the one yt-dlp's
    own ``parse_duration`` gives, the parser it uses for ``--download-sections``.
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
