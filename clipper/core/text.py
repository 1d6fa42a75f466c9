"""Untrusted text made safe to show on a terminal (pure; the CLI decides where it goes)."""

from __future__ import annotations

import re

# C0 and C1 controls and DEL (ESC starts CSI/OSC sequences; U+009B and U+009D are one-character CSI and OSC on
# some terminals), line and paragraph separators (shown as new lines by some terminals and editors), the bidi
# embedding, override and isolate controls (they reorder what is shown: "Trojan Source"), and lone surrogates
# (file names read with surrogateescape; they cannot be encoded for the terminal).
_UNSAFE_RE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_SHORT = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in _SHORT:
        return _SHORT[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    r"""``text`` with the characters that could steer a terminal shown as escapes, everything else as it is.

    ``"\x1b]0;pwned\x07"`` -> ``"\\x1b]0;pwned\\x07"``; tabs and new lines become ``\t`` and ``\n`` (so the
    result is one line), accents, CJK and emoji (with their joiners) stay. Backslashes are not doubled, so
    the result is for people to read, not to be parsed back. Applying it twice changes nothing more.
    """
    return _UNSAFE_RE.sub(_escape, text)
