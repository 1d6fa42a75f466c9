"""Links in a note's text: timestamp links (``[3:34](https://youtu.be/ID?t=214)``) read to seconds, and the
links of a line found without a full markdown parse (linear in the line's length).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import parse_qs, urlparse

from clipper.core.timecode import MAX_SECONDS, parse_duration, parse_timestamp

# [text](href "title") where text may hold nested [..](..) / ![..](..) (the thumbnail links of the notes).
# Written so that every character can be read only one way, which keeps matching linear in the line's length:
# a nested [..] always takes the (..) right after it when there is one (an optional group there would let
# every nested link be read two ways: 2**n tries on a line that does not close), and the spaces around an
# empty href belong to the first \s* (the (?!\s) stops it giving them back one by one to the title's \s+).
_LINK_RE = re.compile(
    r"!?\[((?:[^\[\]]|\[[^\[\]]*\](?:\([^()\s]*\)|(?!\([^()\s]*\))))*)\]"
    r"\(\s*(?!\s)<?([^()\s<>]*)>?(?:(?<=\s)\"[^\"]*\"|\s+\"[^\"]*\")?\s*\)"
)


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


def raw_inline_lines(content: str) -> Iterator[tuple[str, list[tuple[str, str]]]]:
    """(text, links) per source line of an inline token that was not parsed: links are (href, text), images
    dropped."""
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
