"""Byte counts as yt-dlp reads them (``10M``, ``65536``)."""

from __future__ import annotations

import re

_BYTE_UNITS = ("", *"KMGTPEZY")  # powers of 1024, as yt-dlp counts
_SIMPLE_BYTES_RE = re.compile(r"([0-9]+)([KMGTPEZY]?)")


def parse_bytes(text: str) -> int | None:
    """yt-dlp's ``parse_bytes`` (what its --http-chunk-size reads): the same count for every text, or None.

    Digits with one unit letter (``10M``, ``65536``) are computed here as yt-dlp computes them; other forms
    load yt-dlp, whose import costs more than planning a folder of notes.
    """
    match = _SIMPLE_BYTES_RE.fullmatch(text.upper())
    if match is None:
        from yt_dlp.utils import parse_bytes as yt_dlp_parse_bytes

        return yt_dlp_parse_bytes(text)
    return round(float(match[1]) * 1024 ** _BYTE_UNITS.index(match[2]))
