"""A markdown note file -> Note: its front matter checked, its ``## `` sections split, its highlights read
(with line numbers); and the note files of a list of files and folders.

Only the front matter and the ``## Highlights`` section are parsed eagerly (that is all planning needs);
``key_points.key_points()`` and ``transcript.transcript()`` tokenize their own sections on demand, so
planning thousands of notes stays cheap.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from clipper.core.errors import NoteError
from clipper.notes.frontmatter import duration_value, shown, split_front_matter, text_value, value_kind
from clipper.notes.highlights import Highlight, read_highlights
from clipper.notes.sections import Section, split_sections
from clipper.policy.clip_command import video_id_of


@dataclass(frozen=True)
class Note:
    """A note: its video, its front matter's values, its highlights (and the problems of those that cannot
    be read) and its ``## `` sections, kept raw for the readers that want them."""

    path: Path
    video_id: str
    title: str
    url: str | None
    channel: str | None
    duration: float | None
    meta: Mapping[str, Any]
    highlights: tuple[Highlight, ...]
    sections: Mapping[str, Section] = field(repr=False)
    problems: tuple[NoteError, ...] = ()
    digest: str = ""  # SHA-256 of the file's bytes as they were read (a write-back checks it first)


def parse_note(path: Path) -> Note | None:
    """Parse a note file. Returns None for markdown that is not a note (no front matter with a video).

    Raises NoteError when the file claims to be a note but cannot be read as one. Problems with single
    highlights do not raise: they are collected in ``Note.problems`` and the other highlights are kept.
    """
    try:
        data = path.read_bytes()
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise NoteError(f"not UTF-8 text ({error.reason} at byte {error.start})", path) from None
    except OSError as error:
        raise NoteError(f"cannot read: {error.strerror}", path) from None
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    meta, body_start, key_lines = split_front_matter(path, text)
    if meta is None:
        return None
    sections = split_sections(text, body_start)
    video_id = meta.get("video_id")
    url = meta.get("url")
    if video_id is None and isinstance(url, str):
        try:
            video_id = video_id_of(url)
        except ValueError:  # urlparse refuses some hosts ("http://[x")
            video_id = None
    if video_id is None:
        if "highlights" in sections:
            raise NoteError("front matter has no video_id (and no YouTube url to take it from)", path, 1)
        return None
    if not isinstance(video_id, str) or not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", video_id):
        line = key_lines.get("video_id", key_lines.get("url", 1))
        raise NoteError(f"video_id {shown(video_id)} must be letters, digits, - or _", path, line)
    if url is not None and not isinstance(url, str):
        raise NoteError("url must be a string", path, key_lines.get("url", 1))
    duration = duration_value(meta.get("duration"), path, key_lines.get("duration", 1))
    title = text_value(meta, "title", path, key_lines)
    channel = text_value(meta, "channel", path, key_lines)
    text_value(meta, "upload_date", path, key_lines)  # the planner shows it as text
    if meta.get("tags") is not None and not isinstance(meta["tags"], list):
        raise NoteError(
            f"tags must be a list (a '- tag' line each), not {value_kind(meta['tags'])}", path, key_lines.get("tags", 1)
        )

    section = sections.get("highlights")
    highlights, problems = read_highlights(section, path, video_id, url) if section is not None else ([], [])
    return Note(
        path=path,
        video_id=video_id,
        title=title if title is not None else video_id,
        url=url,
        channel=channel,
        duration=duration,
        meta=meta,
        highlights=tuple(highlights),
        sections=sections,
        problems=tuple(problems),
        digest=hashlib.sha256(data).hexdigest(),
    )


def find_notes(paths: list[Path]) -> list[Path]:
    """Expand files and folders (searched recursively for ``*.md``) into a sorted, de-duplicated list."""
    found: dict[Path, None] = {}
    for path in paths:
        if path.is_dir():
            for candidate in sorted(path.rglob("*.md")):
                if candidate.is_file():
                    found[candidate] = None
        else:
            found[path] = None
    return list(found)
