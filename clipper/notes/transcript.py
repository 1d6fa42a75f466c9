"""A note's ``## Transcript`` -> TranscriptLine: the paragraphs that start with a timestamp link, read on
demand."""

from __future__ import annotations

from dataclasses import dataclass

from clipper.notes.links import time_of_link
from clipper.notes.parse import Note
from clipper.notes.sections import line_of, section_tokens


@dataclass(frozen=True)
class TranscriptLine:
    """One transcript paragraph: the time its link points at and its text."""

    time: float
    text: str
    line: int


def transcript(note: Note) -> tuple[TranscriptLine, ...]:
    """The ``## Transcript`` paragraphs that start with a timestamp link, in order."""
    section = note.sections.get("transcript")
    if section is None:
        return ()
    result: list[TranscriptLine] = []
    tokens = section_tokens(section)
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
        result.append(TranscriptLine(time, text.strip(), line_of(tokens[index - 1], section)))
    return tuple(result)
