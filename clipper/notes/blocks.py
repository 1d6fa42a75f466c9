"""Clip blocks in a note's text (pure): under each highlight, a block that clipper alone writes, embedding the
highlight's clip::

    <!-- clipper:begin id=u3HBJVjpXuw-0m38s.mp4 sha=0123abcd -->
    ![[../clips/u3HBJVjpXuw-0m38s.mp4]]
    <!-- clipper:end -->

``sha`` is a checksum of the lines between the markers: a block whose lines no longer match it was edited by
someone, and is left as it is. Nothing outside the blocks changes, but for the blank line written before a new
block (and after it, when a heading follows right away); line endings and the file's last line ending (or its
absence) stay as they are.
"""

from __future__ import annotations

import difflib
import hashlib
import ntpath
import posixpath
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import PurePath, PureWindowsPath
from urllib.parse import quote

from clipper.notes.highlights import heading_lines
from clipper.notes.sections import Section

LINK_STYLES = ("markdown", "obsidian")
BEGIN = "<!-- clipper:begin id={id} sha={sha} -->"
END = "<!-- clipper:end -->"
_BEGIN_RE = re.compile(r"<!-- clipper:begin id=(\S+) sha=([0-9a-f]{8}) -->")
_LINE_RE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")
_EOL_RE = re.compile(r"\r\n|\r|\n")
# What a link destination cannot hold bare (CommonMark): spaces, controls, parentheses, angle brackets, backslash.
_BARE_UNSAFE_RE = re.compile(r"[\s()<>\\\x00-\x1f\x7f]")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
_ALT_SPECIAL_RE = re.compile(r"([\\\[\]<>`*_&])")
_WIKILINK_UNSAFE = set("[]|#^")


@dataclass(frozen=True)
class ClipLink:
    """A highlight's clip to embed: the highlight's heading line (1-based), the block's id, the embed line."""

    line: int
    block_id: str
    embed: str


@dataclass(frozen=True)
class Change:
    """``text[start:end]`` of the note replaced by ``new`` (offsets in the note as read)."""

    start: int
    end: int
    new: str


@dataclass(frozen=True)
class LinkedText:
    """The note's new text, the changes that make it, and what was left alone ((line, message) pairs)."""

    text: str
    changes: tuple[Change, ...]
    notices: tuple[tuple[int, str], ...]


@dataclass(frozen=True)
class _Block:
    block_id: str
    sha: str
    begin: int  # line index (0-based) of the begin marker
    end: int | None  # of the end marker; None: no end before the next begin or the end of the text
    content: tuple[str, ...]  # the lines between, without their line endings


def block_id(clip_name: str) -> str:
    """The id a clip's block carries: its file name, percent-escaped (no space, no ``-->``)."""
    return quote(clip_name, safe="")


def checksum(content: Sequence[str]) -> str:
    """The block's checksum: of its lines, whatever line endings the note has."""
    return hashlib.sha256("\n".join(content).encode("utf-8", "surrogatepass")).hexdigest()[:8]


def clip_target(clip: PurePath, note_folder: PurePath) -> str:
    """Where the note links to the clip: its path relative to the note's folder, with forward slashes (both
    absolute); a clip on another drive (Windows), its absolute path."""
    flavour = ntpath if isinstance(clip, PureWindowsPath) else posixpath
    try:
        relative = flavour.relpath(str(clip), str(note_folder))
    except ValueError:
        return clip.as_posix()
    return relative.replace("\\", "/") if flavour is ntpath else relative


def _destination(target: str) -> str:
    """A markdown link destination: bare when it can be, else in angle brackets (controls %-escaped)."""
    if not _BARE_UNSAFE_RE.search(target):
        return target
    escaped = re.sub(r"([\\<>])", r"\\\1", target)
    return "<" + _CONTROL_RE.sub(lambda match: quote(match.group()), escaped) + ">"


def embed_line(style: str, title: str, target: str) -> str:
    """The line that embeds a clip: ``![[target]]`` (obsidian) or ``![title](target)`` (markdown; also for a
    target an Obsidian link cannot hold: ``[ ] | # ^`` or control characters)."""
    if style == "obsidian" and not (_WIKILINK_UNSAFE & set(target)) and not _CONTROL_RE.search(target):
        return f"![[{target}]]"
    alt = _ALT_SPECIAL_RE.sub(r"\\\1", " ".join(_CONTROL_RE.sub(" ", title).split()))
    return f"![{alt}]({_destination(target)})"


def split_lines(text: str) -> list[str]:
    """The text's lines with their endings (``\\r\\n``, ``\\r`` or ``\\n``, as the note parser counts them)."""
    return _LINE_RE.findall(text)


def _ending(line: str) -> str:
    return line[len(line.rstrip("\r\n")) :]


def _find_blocks(lines: Sequence[str]) -> list[_Block]:
    blocks: list[_Block] = []
    open_at: int | None = None
    found: re.Match[str] | None = None
    for index, line in enumerate(lines):
        stripped = line.strip()
        match = _BEGIN_RE.fullmatch(stripped)
        if match is not None or stripped == END:
            if open_at is not None and found is not None:
                closed = index if match is None else None  # a begin inside a block: that block has no end
                content = tuple(item.rstrip("\r\n") for item in lines[open_at + 1 : index])
                blocks.append(_Block(found.group(1), found.group(2), open_at, closed, content))
            open_at, found = (index, match) if match is not None else (None, None)
    if open_at is not None and found is not None:
        blocks.append(_Block(found.group(1), found.group(2), open_at, None, ()))
    return blocks


def _insertion_line(link: ClipLink, section: Section, headings: Sequence[int], lines: Sequence[str]) -> int:
    """The line index (0-based) the highlight's block follows: its last line that is not blank, before the next
    heading (or the end of the section)."""
    section_end = section.line + section.text.count("\n")  # 1-based, inclusive
    following = [line for line in headings if line > link.line]
    last = (min(following) - 1 if following else section_end) - 1  # 0-based
    last = min(last, len(lines) - 1)
    while last > link.line - 1 and not lines[last].strip():
        last -= 1
    return last


def _new_block(link: ClipLink, eol: str) -> list[str]:
    return [BEGIN.format(id=link.block_id, sha=checksum([link.embed])), eol, link.embed, eol, END]


def link_text(text: str, section: Section | None, links: Sequence[ClipLink], keep: Collection[str] = ()) -> LinkedText:
    """``text`` with a block for each link: an existing block (its checksum intact) updated in place, else a new
    one after the highlight's last line. Blocks edited by hand (their checksum no longer matches), broken or
    doubled are left as they are, and so are blocks whose id is in no link (``keep``: ids whose blocks stay
    without a word, e.g. a clip that failed this time); each is said in ``notices``."""
    lines = split_lines(text)
    found = _EOL_RE.search(text)
    eol = found.group() if found else "\n"
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    by_id: dict[str, list[_Block]] = {}
    for block in _find_blocks(lines):
        by_id.setdefault(block.block_id, []).append(block)
    changes: list[Change] = []
    notices: list[tuple[int, str]] = []
    wanted = {link.block_id for link in links}
    headings = heading_lines(section) if section is not None else []
    done: set[str] = set()
    for link in sorted(links, key=lambda item: item.line):
        if link.block_id in done:  # two highlights of the note make the same clip: one block
            continue
        done.add(link.block_id)
        existing = by_id.get(link.block_id)
        if existing:
            change = _update(existing, link, lines, offsets, notices)
            if change is not None:
                changes.append(change)
            continue
        if section is None:
            continue
        after = _insertion_line(link, section, headings, lines)
        line = lines[after]
        line_eol = _ending(line)
        following = lines[after + 1] if after + 1 < len(lines) else None
        lead = eol + eol if not line_eol else eol
        trail = eol if following is not None and following.strip() else ""
        new = lead + "".join(_new_block(link, eol)) + (eol if line_eol else "") + trail
        changes.append(Change(offsets[after + 1], offsets[after + 1], new))
    for block_key, blocks in by_id.items():
        if block_key not in wanted and block_key not in keep:
            notices.append((blocks[0].begin + 1, f"the clip block {block_key} belongs to no highlight's clip now;"
                                                 " left as it is (delete it if it is not wanted)"))  # fmt: skip
    changes.sort(key=lambda change: change.start)
    return LinkedText(apply_changes(text, changes), tuple(changes), tuple(sorted(notices)))


def _update(blocks: Sequence[_Block], link: ClipLink, lines: Sequence[str], offsets: Sequence[int],
            notices: list[tuple[int, str]]) -> Change | None:  # fmt: skip
    """The change that brings the link's block up to date; None (and a notice) when it is to be left alone."""
    block = blocks[0]
    where = block.begin + 1
    if len(blocks) > 1:
        notices.append((where, f"{len(blocks)} clip blocks for {link.block_id}; left as they are (keep one)"))
        return None
    if block.end is None:
        notices.append((where, f"the clip block {link.block_id} has no end marker ({END}); left as it is"))
        return None
    if checksum(block.content) != block.sha:
        notices.append((where, f"the clip block {link.block_id} was edited; left as it is"
                               " (delete it to have clipper write it again)"))  # fmt: skip
        return None
    if block.content == (link.embed,) and block.sha == checksum([link.embed]):
        return None
    eol = _ending(lines[block.begin]) or "\n"
    start = offsets[block.begin] + len(lines[block.begin]) - len(lines[block.begin].lstrip())
    end_line = lines[block.end]
    end = offsets[block.end] + len(end_line.rstrip())
    return Change(start, end, "".join(_new_block(link, eol)))


def apply_changes(text: str, changes: Sequence[Change]) -> str:
    """``text`` with the changes (sorted, not overlapping) made."""
    pieces: list[str] = []
    at = 0
    for change in changes:
        pieces += [text[at : change.start], change.new]
        at = change.end
    pieces.append(text[at:])
    return "".join(pieces)


def note_diff(old: str, new: str, name: str) -> list[str]:
    """A unified diff of a note's text (one string per line, without line endings)."""
    return list(difflib.unified_diff(_EOL_RE.split(old), _EOL_RE.split(new), name, name, lineterm=""))
