"""Markdown note -> Note, Highlight, KeyPoint, TranscriptLine (frozen dataclasses with line numbers).

Only the front matter and the ``## Highlights`` section are parsed eagerly (that is all planning needs);
``key_points()`` and ``transcript()`` tokenize their own sections on demand, so planning thousands of
notes stays cheap.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from markdown_it import MarkdownIt
from markdown_it.token import Token

from clipper.core.errors import NoteError
from clipper.core.text import printable
from clipper.core.timecode import MAX_SECONDS, parse_duration, parse_timestamp
from clipper.notes.frontmatter import duration_value, shown, split_front_matter, text_value, value_kind
from clipper.policy.clip_command import ClipOptions, UnsafeCommand, parse_clip_command, video_id_of

# A clip command is one line of a few hundred characters; shlex, which splits those with a backslash, takes
# quadratic time in a word's length (seconds for a 400 KB one).
MAX_COMMAND_CHARS = 10_000
_MD = MarkdownIt("commonmark")
# Planning needs only the block structure of the Highlights section (headings, fences, quotes, with line
# numbers): inline parsing is most of markdown-it's cost, so this parser skips it (and block rules a note's
# highlights do not use) and _LINK_RE reads the links.
_BLOCK_MD = (
    MarkdownIt("zero", {"html": True})
    .enable(["heading", "fence", "blockquote", "html_block", "code"])
    .disable("inline")
)
# [text](href "title") where text may hold nested [..](..) / ![..](..) (the thumbnail links of the notes).
# Written so that every character can be read only one way, which keeps matching linear in the line's length:
# a nested [..] always takes the (..) right after it when there is one (an optional group there would let
# every nested link be read two ways: 2**n tries on a line that does not close), and the spaces around an
# empty href belong to the first \s* (the (?!\s) stops it giving them back one by one to the title's \s+).
_LINK_RE = re.compile(
    r"!?\[((?:[^\[\]]|\[[^\[\]]*\](?:\([^()\s]*\)|(?!\([^()\s]*\))))*)\]"
    r"\(\s*(?!\s)<?([^()\s<>]*)>?(?:(?<=\s)\"[^\"]*\"|\s+\"[^\"]*\")?\s*\)"
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


@dataclass(frozen=True)
class KeyPoint:
    title: str
    time: float | None
    text: str
    line: int


@dataclass(frozen=True)
class TranscriptLine:
    time: float
    text: str
    line: int


@dataclass(frozen=True)
class Section:
    """A ``## `` section kept as raw text; ``line`` is the 1-based line of its first body line."""

    title: str
    line: int
    text: str


@dataclass(frozen=True)
class Note:
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


def time_of_link(href: str, text: str) -> float | None:
    """Seconds a timestamp link points at: its text (``3:34``) or else its ``t=`` parameter."""
    try:
        return parse_timestamp(text)
    except ValueError:
        pass
    try:
        query = parse_qs(urlparse(href).query)
    except ValueError:  # e.g. "http://[x?t=1": an unclosed IPv6 host
        return None
    values = query.get("t") or query.get("start")
    seconds = parse_duration(values[0]) if values else None
    if seconds is None or not 0 <= seconds <= MAX_SECONDS:
        return None
    return float(seconds)


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


def _split_sections(text: str, first_line: int) -> dict[str, Section]:
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


def parse_note(path: Path) -> Note | None:
    """Parse a note file. Returns None for markdown that is not a note (no front matter with a video).

    Raises NoteError when the file claims to be a note but cannot be read as one. Problems with single
    highlights do not raise: they are collected in ``Note.problems`` and the other highlights are kept.
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise NoteError(f"not UTF-8 text ({error.reason} at byte {error.start})", path) from None
    except OSError as error:
        raise NoteError(f"cannot read: {error.strerror}", path) from None
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    meta, body_start, key_lines = split_front_matter(path, text)
    if meta is None:
        return None
    sections = _split_sections(text, body_start)
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

    highlights: list[Highlight] = []
    problems: list[NoteError] = []
    section = sections.get("highlights")
    if section is not None:
        for item in _highlight_blocks(section):
            try:
                highlights.append(_build_highlight(item, video_id, url))
            except NoteError as error:
                problems.append(NoteError(error.message, path, error.line))
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
    )


def _tokens(section: Section) -> list[Token]:
    tokens = _MD.parse(section.text)
    return tokens


def _line_of(token: Token, section: Section) -> int:
    return section.line + (token.map[0] if token.map else 0)


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


def _raw_inline_lines(content: str) -> Iterator[tuple[str, list[tuple[str, str]]]]:
    """Like _inline_lines for an inline token that was not parsed: (text, links) per source line."""
    for line in content.split("\n"):
        links: list[tuple[str, str]] = []

        def keep_text(match: re.Match[str], links: list[tuple[str, str]] = links) -> str:
            if match.group(0).startswith("!"):
                return ""
            text = _LINK_RE.sub(lambda inner: "" if inner.group(0).startswith("!") else inner.group(1), match.group(1))
            links.append((match.group(2), text))
            return text

        text = _LINK_RE.sub(keep_text, line) if "](" in line else line
        yield text, links


def _inline_lines(token: Token) -> Iterator[tuple[str, list[tuple[str, str]]]]:
    """Yield (text, links) for each source line of an inline token; links are (href, text)."""
    text, links = "", list[tuple[str, str]]()
    href: str | None = None
    link_text = ""
    for child in token.children or []:
        if child.type in ("softbreak", "hardbreak"):
            yield text, links
            text, links = "", []
        elif child.type == "link_open":
            href, link_text = str(child.attrs.get("href", "")), ""
        elif child.type == "link_close":
            links.append((href or "", link_text))
            href = None
        elif child.type in ("text", "code_inline"):
            if href is not None:
                link_text += child.content
            text += child.content
        elif child.type == "image":
            pass
    yield text, links


def _highlight_blocks(section: Section) -> Iterator[_RawHighlight]:
    tokens = _BLOCK_MD.parse(section.text)
    current: _RawHighlight | None = None
    quote_depth = 0
    for index, token in enumerate(tokens):
        if token.type == "heading_open" and token.tag == "h3":
            if current is not None:
                yield current
            current = _RawHighlight(_strip_quotes(tokens[index + 1].content), _line_of(token, section))
        elif current is None:
            continue
        elif token.type == "blockquote_open":
            quote_depth += 1
        elif token.type == "blockquote_close":
            quote_depth -= 1
        elif token.type == "fence" and current.command is None:
            current.command = token.content
            current.command_line = _line_of(token, section) + 1
        elif (
            token.type == "html_block"
            and current.command is None
            and (fence := _FENCE_IN_HTML_RE.search(token.content))
        ):
            # A fence right after <summary> (no blank line) is part of the HTML block in CommonMark.
            current.command = fence.group(2)
            current.command_line = _line_of(token, section) + token.content[: fence.start()].count("\n") + 1
        elif token.type == "inline" and quote_depth:
            for text, links in _raw_inline_lines(token.content):
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
            for _, links in _raw_inline_lines(token.content):
                for link_href, link_text in links:
                    if "t=" in link_href:
                        current.link_start = time_of_link(link_href, link_text)
                        break
    if current is not None:
        yield current


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


def key_points(note: Note) -> tuple[KeyPoint, ...]:
    """The ``## Key Points`` list: ``**title** ([0:38](url)) - text``."""
    section = note.sections.get("key points")
    if section is None:
        return ()
    points: list[KeyPoint] = []
    tokens = _tokens(section)
    for index, token in enumerate(tokens):
        if token.type != "list_item_open":
            continue
        inline = next((t for t in tokens[index:] if t.type == "inline"), None)
        if inline is None:
            continue
        title, time = "", None
        in_strong = False
        href: str | None = None
        link_text = ""
        rest = ""
        for child in inline.children or []:
            if child.type == "strong_open":
                in_strong = True
            elif child.type == "strong_close":
                in_strong = False
            elif child.type == "link_open":
                href, link_text = str(child.attrs.get("href", "")), ""
            elif child.type == "link_close":
                if time is None:
                    time = time_of_link(href or "", link_text)
                href = None
            elif child.type in ("text", "code_inline", "softbreak"):
                content = " " if child.type == "softbreak" else child.content
                if in_strong:
                    title += content
                elif href is not None:
                    link_text += content
                else:
                    rest += content
        text = re.sub(r"^\s*\(\s*\)\s*", "", rest).lstrip(" -—–").strip()
        points.append(KeyPoint(title.strip(), time, text, _line_of(token, section)))
    return tuple(points)


def transcript(note: Note) -> tuple[TranscriptLine, ...]:
    """The ``## Transcript`` paragraphs that start with a timestamp link, in order."""
    section = note.sections.get("transcript")
    if section is None:
        return ()
    result: list[TranscriptLine] = []
    tokens = _tokens(section)
    for index, token in enumerate(tokens):
        if token.type != "inline" or not token.children or index == 0 or tokens[index - 1].type != "paragraph_open":
            continue
        children = token.children
        if children[0].type != "link_open":
            continue
        close = next((i for i, c in enumerate(children) if c.type == "link_close"), None)
        if close is None:
            continue
        link_text = "".join(c.content for c in children[1:close])
        time = time_of_link(str(children[0].attrs.get("href", "")), link_text)
        if time is None:
            continue
        text = "".join(" " if c.type in ("softbreak", "hardbreak") else c.content for c in children[close + 1 :])
        result.append(TranscriptLine(time, text.strip(), _line_of(tokens[index - 1], section)))
    return tuple(result)


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
