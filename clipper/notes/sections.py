"""A note's body -> its ``## `` sections, kept as raw text with the line each starts on (pure, linear time).

Only the sections a reader asks for are tokenized (``section_tokens``), so planning thousands of notes stays
cheap.
"""

from __future__ import annotations

from dataclasses import dataclass

from markdown_it import MarkdownIt
from markdown_it.token import Token

_MD = MarkdownIt("commonmark")


@dataclass(frozen=True)
class Section:
    """A ``## `` section kept as raw text; ``line`` is the 1-based line of its first body line."""

    title: str
    line: int
    text: str


def _line_starts(text: str, start: int, marker: str) -> list[int]:
    """Offsets of the lines (from offset ``start``) that begin with ``marker`` (str.find: fast)."""
    found = []
    position = text.find("\n" + marker, start - 1) if start else (0 if text.startswith(marker) else -1)
    if position == 0 and start == 0:
        found.append(0)
        position = text.find("\n" + marker, 0)
    while position != -1:
        found.append(position + 1)
        position = text.find("\n" + marker, position + 1)
    return found


def split_sections(text: str, first_line: int) -> dict[str, Section]:
    """``## `` sections of the body (from 0-based line ``first_line``), skipping ``##`` lines inside fences."""
    offset = 0
    for _ in range(first_line):
        offset = text.find("\n", offset) + 1
    marks = sorted(
        [(at, "h") for at in _line_starts(text, offset, "##")]
        + [(at, "f") for marker in ("```", "~~~") for at in _line_starts(text, offset, marker)]
    )
    sections: dict[str, Section] = {}
    in_fence = False
    title: str | None = None
    body_start = 0
    for at, kind in marks:
        if kind == "f":
            in_fence = not in_fence
            continue
        line_end = text.find("\n", at)
        line_end = len(text) if line_end == -1 else line_end
        heading = None if in_fence else _section_title(text[at:line_end])
        if heading is None:
            continue
        if title is not None and title.lower() not in sections:
            sections[title.lower()] = _section(text, title, body_start, at, first_line, offset)
        title, body_start = heading, line_end + 1
    if title is not None and title.lower() not in sections:
        sections[title.lower()] = _section(text, title, body_start, len(text), first_line, offset)
    return sections


def _section_title(line: str) -> str | None:
    """The title of a ``## Title ##`` line, or None; string methods, linear in the line's length.

    Reads a line as ``##[ \\t]+(.+?)[ \\t]*#*[ \\t]*$`` did (a title of at least one character, trailing
    spaces and closing #s dropped); that regex tried every split of a run of spaces: cubic.
    """
    if not line.startswith(("## ", "##\t")):
        return None
    rest = line[2:].lstrip(" \t")
    if not rest:  # "##" and spaces only: the title is the last space (the + gives one back to the .+?)
        return line[-1] if len(line) > 3 else None
    title = rest.rstrip(" \t").rstrip("#").rstrip(" \t")
    return title or rest[0]  # "## ###": the title is "#"


def _section(text: str, title: str, start: int, end: int, first_line: int, offset: int) -> Section:
    body = text[start:end].removesuffix("\n") if start < end else ""
    return Section(title, first_line + text.count("\n", offset, start) + 1, body)


def section_tokens(section: Section) -> list[Token]:
    """The section's markdown, tokenized in full (block and inline)."""
    return _MD.parse(section.text)


def line_of(token: Token, section: Section) -> int:
    """The note's line (1-based) where a token of the section starts."""
    return section.line + (token.map[0] if token.map else 0)
