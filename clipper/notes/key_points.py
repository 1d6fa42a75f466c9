"""A note's ``## Key Points`` list -> KeyPoint: ``**title** ([0:38](url)) - text``, read on demand."""

from __future__ import annotations

import re
from dataclasses import dataclass

from clipper.notes.links import time_of_link
from clipper.notes.parse import Note
from clipper.notes.sections import line_of, section_tokens


@dataclass(frozen=True)
class KeyPoint:
    """One key point: its bold title, the time its link points at (None: no timestamp link), its text."""

    title: str
    time: float | None
    text: str
    line: int


def key_points(note: Note) -> tuple[KeyPoint, ...]:
    """The ``## Key Points`` list: ``**title** ([0:38](url)) - text``."""
    section = note.sections.get("key points")
    if section is None:
        return ()
    points: list[KeyPoint] = []
    tokens = section_tokens(section)
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
        points.append(KeyPoint(title.strip(), time, text, line_of(token, section)))
    return tuple(points)
