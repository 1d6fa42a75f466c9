"""A note's ``## Highlights`` section -> Highlight: each ``### title`` with its clip command (a fenced yt-dlp
command, checked by ``policy.clip_command``), its timestamp link and its quote with the speaker.

Only the block structure is parsed here (headings, fences, quotes, with line numbers); links are read with
``links.raw_inline_lines``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from markdown_it import MarkdownIt

from clipper.core.errors import NoteError
from clipper.core.text import printable
from clipper.notes.links import raw_inline_lines, time_of_link
from clipper.notes.sections import Section, line_of
from clipper.policy.clip_command import ClipOptions, UnsafeCommand, parse_clip_command

# A clip command is one line of a few hundred characters; shlex, which splits those with a backslash, takes
# quadratic time in a word's length (seconds for a 400 KB one).
MAX_COMMAND_CHARS = 10_000
# Planning needs only the block structure of the Highlights section (headings, fences, quotes, with line
# numbers): inline parsing is most of markdown-it's cost, so this parser skips it (and block rules a note's
# highlights do not use) and ``links.raw_inline_lines`` reads the links.
_BLOCK_MD = (
    MarkdownIt("zero", {"html": True})
    .enable(["heading", "fence", "blockquote", "html_block", "code"])
    .disable("inline")
)
_FENCE_IN_HTML_RE = re.compile(r"^ {0,3}(```|~~~)[^\n]*\n(.*?)^ {0,3}\1", re.MULTILINE | re.DOTALL)
_QUOTES = "\"'“”‘’«»"


@dataclass(frozen=True)
class Highlight:
    """One highlight of a note: what to clip and what it says."""

    title: str
    line: int
    start: float
    end: float
    options: ClipOptions
    command_line: int
    link_start: float | None = None
    quote: str = ""
    speaker: str | None = None


def _strip_quotes(text: str) -> str:
    """``"A title"`` -> ``A title``; ``"Yes" or "No"`` stays whole (its quotes are not one pair)."""
    text = text.strip()
    if (
        len(text) >= 2
        and text[0] in _QUOTES
        and text[-1] in _QUOTES
        and not any(mark in text[1:-1] for mark in (text[0], text[-1]))
    ):
        return text[1:-1].strip()
    return text


@dataclass
class _RawHighlight:
    title: str
    line: int
    link_start: float | None = None
    command: str | None = None
    command_line: int = 0
    quote_lines: list[str] = field(default_factory=list)
    speaker: str | None = None
    quote_time: float | None = None


def _highlight_blocks(section: Section) -> Iterator[_RawHighlight]:
    tokens = _BLOCK_MD.parse(section.text)
    current: _RawHighlight | None = None
    quote_depth = 0
    for index, token in enumerate(tokens):
        if token.type == "heading_open" and token.tag == "h3":
            if current is not None:
                yield current
            current = _RawHighlight(_strip_quotes(tokens[index + 1].content), line_of(token, section))
        elif current is None:
            continue
        elif token.type == "blockquote_open":
            quote_depth += 1
        elif token.type == "blockquote_close":
            quote_depth -= 1
        elif token.type == "fence" and current.command is None:
            current.command = token.content
            current.command_line = line_of(token, section) + 1
        elif (
            token.type == "html_block"
            and current.command is None
            and (fence := _FENCE_IN_HTML_RE.search(token.content))
        ):
            # A fence right after <summary> (no blank line) is part of the HTML block in CommonMark.
            current.command = fence.group(2)
            current.command_line = line_of(token, section) + token.content[: fence.start()].count("\n") + 1
        elif token.type == "inline" and quote_depth:
            for text, links in raw_inline_lines(token.content):
                stripped = text.strip()
                if stripped[:2] in ("--", "—", "–") or stripped[:1] in ("—", "–"):
                    attribution = stripped.lstrip("-—– ").strip()
                    speaker = attribution
                    if links:
                        link_href, link_text = links[-1]
                        speaker = attribution[: len(attribution) - len(link_text)].rstrip(" ,")
                        current.quote_time = time_of_link(link_href, link_text)
                    current.speaker = speaker or None
                elif stripped:
                    current.quote_lines.append(stripped)
        elif token.type == "inline" and current.link_start is None:
            for _, links in raw_inline_lines(token.content):
                for link_href, link_text in links:
                    if "t=" in link_href:
                        current.link_start = time_of_link(link_href, link_text)
                        break
    if current is not None:
        yield current


def heading_lines(section: Section) -> list[int]:
    """The note's lines (1-based) of the section's headings that end a highlight (``#`` to ``###``)."""
    return [line_of(token, section) for token in _BLOCK_MD.parse(section.text)
            if token.type == "heading_open" and token.tag in ("h1", "h2", "h3")]  # fmt: skip


def _build_highlight(raw: _RawHighlight, video_id: str, url: str | None) -> Highlight:
    if raw.command is None:
        raise NoteError(f"highlight {raw.title!r} has no clip command (a ```bash block with yt-dlp)", line=raw.line)
    if len(raw.command) > MAX_COMMAND_CHARS:
        raise NoteError(f"clip command is longer than {MAX_COMMAND_CHARS} characters", line=raw.command_line)
    try:
        options = parse_clip_command(raw.command, video_id, url)
    except UnsafeCommand as error:  # its messages quote the note's own words: escape what could steer a terminal
        raise NoteError(printable(str(error)), line=raw.command_line) from None
    except ValueError as error:  # urlparse refuses some URLs ("http://[x")
        raise NoteError(f"clip command URL cannot be read: {printable(str(error))}", line=raw.command_line) from None
    return Highlight(
        title=raw.title,
        line=raw.line,
        start=options.start,
        end=options.end,
        options=options,
        command_line=raw.command_line,
        link_start=raw.link_start,
        quote=_strip_quotes(" ".join(raw.quote_lines)),
        speaker=raw.speaker,
    )


def read_highlights(
    section: Section, path: Path, video_id: str, url: str | None
) -> tuple[list[Highlight], list[NoteError]]:
    """The section's highlights, and the problems of those that cannot be read (each naming ``path`` and its
    line): one bad highlight never costs the others."""
    highlights: list[Highlight] = []
    problems: list[NoteError] = []
    for item in _highlight_blocks(section):
        try:
            highlights.append(_build_highlight(item, video_id, url))
        except NoteError as error:
            problems.append(NoteError(error.message, path, error.line))
    return highlights, problems
