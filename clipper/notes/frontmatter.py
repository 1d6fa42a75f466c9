"""A note's YAML front matter -> a mapping of its values, with their line numbers (pure, untrusted input).

The front matter is bounded (size, depth), holds no anchors or aliases, and every value YAML accepts but Python
cannot build is one located ``NoteError``: a hostile note costs a moment and never a traceback.
"""

from __future__ import annotations

import datetime
import inspect
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml

from clipper.core.errors import NoteError
from clipper.core.text import printable
from clipper.core.timecode import MAX_SECONDS, parse_duration

_YAML_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# Front matter is a few short lines; these bounds keep a hostile note from costing more than a moment.
MAX_FRONT_MATTER_BYTES = 64 * 1024
# libyaml's composer recurses in C (a few thousand levels crash the interpreter) and its scanner slows down
# with every open flow level, so the depth is checked on the event stream, before anything is composed.
MAX_FRONT_MATTER_DEPTH = 32
_FRONT_MATTER_END_RE = re.compile(r"^---[ \t]*$", re.MULTILINE)


def shown(value: object, limit: int = 40) -> str:
    """A value as an error message shows it: text quoted (repr), others as written; one line, cut short."""
    text = repr(value) if isinstance(value, str) else printable(str(value))
    return text if len(text) <= limit else text[: limit - 3] + "..."


def value_kind(value: object) -> str:
    """What a YAML value is, in words: ``a list``, ``a number``."""
    for kind, name in (
        (bool, "true or false"), (int, "a number"), (float, "a number"), (str, "text"), (list, "a list"),
        (dict, "a mapping"), (bytes, "binary data"), (set, "a set"), (datetime.date, "a date"),
    ):  # fmt: skip
        if isinstance(value, kind):
            return name
    return type(value).__name__


# Whole numbers past this many bits (about 300 digits) are refused: Python cannot even print an int of
# over 4300 digits (ValueError), and YAML builds one from a short "1:00:00:00:..." (base 60).
_MAX_INT_BITS = 1000
_SCALAR_KINDS = {"timestamp": "date", "int": "whole number", "float": "number", "bool": "true or false"}


class _ValueProblem(yaml.constructor.ConstructorError):
    """A scalar the YAML is fine with but Python cannot build (``2025-02-30``)."""


def _located(constructor: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    """Wrap a scalar constructor so a value it cannot build is an error with a line, not a traceback.

    PyYAML's constructors call ``datetime.date(2025, 2, 30)`` or ``int("9" * 5000)`` unguarded (ValueError),
    and ``!!bool maybe`` or ``!!timestamp x`` fail with KeyError or AttributeError.
    """

    def construct(loader: Any, node: Any) -> Any:
        try:
            value = constructor(loader, node)
            if isinstance(value, int) and value.bit_length() > _MAX_INT_BITS:
                raise ValueError("too large a number")  # "1:00:00:...": sexagesimal, 60**n
        except yaml.YAMLError:
            raise
        except Exception as error:
            kind = _SCALAR_KINDS.get(str(node.tag).rsplit(":", 1)[-1], f"{node.tag} value")
            reason = f" ({str(error).split(';')[0]})" if isinstance(error, (ValueError, OverflowError)) else ""
            implicit = not node.style and loader.resolve(yaml.ScalarNode, node.value, (True, False)) == node.tag
            hint = "; put it in quotes to keep it as text" if implicit else ""  # plain style: None, or "" (libyaml)
            problem = f"{shown(node.value)} is not a valid {kind}{reason}{hint}"
            raise _ValueProblem(None, None, problem, node.start_mark) from None
        return value

    return construct


class _FrontMatterLoader(_YAML_LOADER):
    """The safe loader (libyaml's when there is one), with located errors for values it cannot build."""


for _tag, _constructor in list(_FrontMatterLoader.yaml_constructors.items()):
    if not inspect.isgeneratorfunction(_constructor):  # collections: built lazily, they raise YAML errors
        _FrontMatterLoader.add_constructor(_tag, _located(_constructor))


def _yaml_error(error: yaml.YAMLError, path: Path, block: str, key_lines: Mapping[str, int]) -> NoteError:
    if isinstance(error, yaml.reader.ReaderError) and isinstance(error.character, int):
        # A control character (libyaml's position counts bytes, PyYAML's characters: find the character instead).
        at = block.find(chr(error.character))
        line = block.count("\n", 0, at) + 2 if at >= 0 else 1
        shown = printable(repr(chr(error.character)))
        return NoteError(f"front matter is not valid YAML: {error.reason} ({shown})", path, line)
    mark = getattr(error, "problem_mark", None)
    line = mark.line + 2 if mark is not None else 1
    problem = printable(getattr(error, "problem", None) or "invalid YAML")
    if isinstance(error, _ValueProblem):
        key = next((key for key, key_line in key_lines.items() if key_line == line), None)
        return NoteError(f"{key}: {problem}" if key else f"front matter: {problem}", path, line)
    return NoteError(f"front matter is not valid YAML: {problem}", path, line)


def _check_front_matter(path: Path, block: str) -> dict[str, int]:
    """Refuse anchors, aliases and deep nesting from the event stream, before anything is built.

    An alias makes a shared reference: nine lines of ``&a [*b, *b, ...]`` expand to billions of items
    when the value is printed or copied, so front matter may hold none. Returns the line of each top-level key.
    """
    try:
        return _key_lines_checked(path, block)
    except yaml.YAMLError as error:  # libyaml 0.2.6 and later refuse deep nesting themselves, in their own words
        if "nesting depth" not in str(error):
            raise
        mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
        line = mark.line + 2 if mark is not None else 1
        raise NoteError(f"front matter nests more than {MAX_FRONT_MATTER_DEPTH} levels deep", path, line) from None


def _key_lines_checked(path: Path, block: str) -> dict[str, int]:
    key_lines: dict[str, int] = {}
    open_nodes: list[list[int]] = []  # per open collection: [1 for a mapping else 0, children so far]
    for event in yaml.parse(block, Loader=_YAML_LOADER):
        line = event.start_mark.line + 2 if event.start_mark is not None else 1
        if isinstance(event, yaml.NodeEvent) and event.anchor is not None:  # an alias event has one too
            found = ("*" if isinstance(event, yaml.AliasEvent) else "&") + printable(str(event.anchor))
            raise NoteError(f"YAML anchors and aliases are not allowed in front matter (found {found})", path, line)
        if isinstance(event, (yaml.ScalarEvent, yaml.CollectionStartEvent)):
            at_top_key = len(open_nodes) == 1 and open_nodes[0][0] == 1 and open_nodes[0][1] % 2 == 0
            if at_top_key and isinstance(event, yaml.ScalarEvent):
                key_lines[event.value] = line  # the last one wins, as in the mapping PyYAML builds
            if open_nodes:
                open_nodes[-1][1] += 1
            if isinstance(event, yaml.CollectionStartEvent):
                open_nodes.append([int(isinstance(event, yaml.MappingStartEvent)), 0])
                if len(open_nodes) > MAX_FRONT_MATTER_DEPTH:
                    raise NoteError(f"front matter nests more than {MAX_FRONT_MATTER_DEPTH} levels deep", path, line)
        elif isinstance(event, yaml.CollectionEndEvent):
            open_nodes.pop()
    return key_lines


def split_front_matter(path: Path, text: str) -> tuple[dict[str, Any] | None, int, dict[str, int]]:
    """Return (front matter, index of the first body line, line of each key); (None, 0, {}) when there is none."""
    first_line, _, rest = text.partition("\n")
    if first_line.rstrip() != "---":
        return None, 0, {}
    closing = _FRONT_MATTER_END_RE.search(rest)
    if closing is None:
        raise NoteError("front matter starts with --- but never ends", path, 1)
    block = rest[: closing.start()]
    if len(block) > MAX_FRONT_MATTER_BYTES or len(block.encode("utf-8")) > MAX_FRONT_MATTER_BYTES:
        raise NoteError(
            f"front matter is longer than {MAX_FRONT_MATTER_BYTES // 1024} KiB (it should be a few key: value lines)",
            path,
            1,
        )
    try:
        key_lines = _check_front_matter(path, block)
    except yaml.YAMLError as error:
        raise _yaml_error(error, path, block, {}) from None
    try:
        data = yaml.load(block, Loader=_FrontMatterLoader)
    except yaml.YAMLError as error:
        raise _yaml_error(error, path, block, key_lines) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise NoteError("front matter must be a YAML mapping (key: value lines)", path, 2)
    return data, block.count("\n") + 2, key_lines


def text_value(meta: Mapping[str, Any], key: str, path: Path, lines: Mapping[str, int]) -> str | None:
    """A front-matter value shown as text (``title: 1984`` is a fine title); None when absent."""
    value = meta.get(key)
    if value is None:
        return None
    if isinstance(value, (str, int, float, datetime.date)):  # bool is an int; datetime is a date
        return str(value)
    raise NoteError(f"{key} must be text, not {value_kind(value)}", path, lines.get(key, 1))


def duration_value(value: Any, path: Path, line: int) -> float | None:
    """``duration`` in seconds: a number, or text yt-dlp reads (``11:39``, ``11m39s``)."""
    if value is None:
        return None
    seconds = None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = value
    elif isinstance(value, str):
        seconds = parse_duration(value)
    seconds = float(seconds) if seconds is not None else None  # ints past 1000 bits never get here
    if seconds is None or not 0 <= seconds <= MAX_SECONDS:  # also NaN and infinities
        raise NoteError(
            f"duration {shown(value)} is not a video length (use seconds or H:MM:SS, e.g. 699 or 11:39)", path, line
        )
    return seconds
