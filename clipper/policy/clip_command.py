"""A note's clip command (untrusted text) -> the few yt-dlp options clipper allows, or a refusal.

The command is split with ``shlex`` and never reaches a shell. Every option name is resolved the way
yt-dlp's own optparse parser resolves it (unique prefixes, short forms, aliases) and checked against
an allowlist *before* yt-dlp parses anything for real: ``yt_dlp.parse_options`` would read the files
that ``--config-locations`` names, and those can hold ``--exec``.
"""

from __future__ import annotations

import functools
import optparse
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple
from urllib.parse import parse_qs, urlparse

from clipper.core.timecode import parse_timestamp

# yt-dlp option ``dest`` -> our name. Checking the resolved dest (not the spelling) covers every alias.
ALLOWED_DESTS = {
    "download_ranges": "--download-sections",
    "force_keyframes_at_cuts": "--force-keyframes-at-cuts",
    "merge_output_format": "--merge-output-format",
    "outtmpl": "-o/--output",
    "format": "-f/--format",
    "format_sort": "-S/--format-sort",
    "noplaylist": "--no-playlist",
}
MERGE_FORMATS = ("mp4", "mkv", "webm")
PROGRAM_NAMES = ("yt-dlp", "yt_dlp", "yt-dlp.exe")
_FORBIDDEN_NAME_PARTS = ("/", "\\", "..", "~", "$", "%(", ":")
_SIMPLE_WORD_RE = re.compile(r"""(?:[^\s'"\\]+|"[^"\\]*"|'[^']*')+""")
_SHELL_OPERATORS = {"&&", "||", ";", "|", "&", ">", ">>", "<", "<<", "(", ")"}
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")


class Spelled(NamedTuple):
    """What yt-dlp's parser holds for one allowed option spelling: its ``dest``, ``action`` and whether it takes a
    value (tests/test_clipcmd.py checks each row against the installed yt-dlp's own parser)."""

    dest: str
    action: str
    takes_value: bool


# The allowed options written out in full, as notes write them. optparse takes an exact spelling as itself, before
# any prefix matching, so a command spelled only with these resolves without yt-dlp's parser: building that
# parser loads all of yt-dlp (a third of a second), more than planning a folder of notes. Any other spelling
# (a prefix, an alias not listed, a refused option) goes through the parser as before.
EXACT_SPELLINGS = {
    "--download-sections": Spelled("download_ranges", "append", True),
    "--force-keyframes-at-cuts": Spelled("force_keyframes_at_cuts", "store_true", False),
    "--no-force-keyframes-at-cuts": Spelled("force_keyframes_at_cuts", "store_false", False),
    "--merge-output-format": Spelled("merge_output_format", "store", True),
    "--output": Spelled("outtmpl", "callback", True),
    "-o": Spelled("outtmpl", "callback", True),
    "--format": Spelled("format", "store", True),
    "-f": Spelled("format", "store", True),
    "--format-sort": Spelled("format_sort", "callback", True),
    "-S": Spelled("format_sort", "callback", True),
    "--no-playlist": Spelled("noplaylist", "store_true", False),
    "--yes-playlist": Spelled("noplaylist", "store_false", False),
}


@dataclass(frozen=True)
class ClipOptions:
    """What a checked clip command asks for."""

    url: str
    start: float
    end: float
    output: str | None = None
    format: str | None = None
    format_sort: tuple[str, ...] = ()
    merge_output_format: str | None = None
    force_keyframes_at_cuts: bool = False


class UnsafeCommand(ValueError):
    """The clip command asks for something clipper does not allow; the message names it."""


@functools.lru_cache(maxsize=1)
def _parser() -> optparse.OptionParser:
    from yt_dlp.options import create_parser  # here: only a command spelled unusually needs it (see above)

    return create_parser()


def _resolve(token: str) -> tuple[optparse.Option, str, str | None]:
    """Resolve one long option token to (option, canonical spelling, inline value)."""
    parser = _parser()
    name, eq, value = token.partition("=")
    try:
        canonical = parser._match_long_opt(name)
    except optparse.AmbiguousOptionError:  # a subclass of BadOptionError: catch it first
        raise UnsafeCommand(f"{name} is ambiguous (it could mean several yt-dlp options)") from None
    except optparse.BadOptionError:
        raise UnsafeCommand(f"{name} is not a yt-dlp option") from None
    return parser._long_opt[canonical], canonical, (value if eq else None)


def iter_options(
    args: list[str], check: Callable[[optparse.Option, str], None] | None = None
) -> tuple[list[tuple[optparse.Option, str, str | None]], list[str]]:
    """Split argv into resolved (option, spelling, value) triples and positional arguments.

    ``check(option, shown)`` sees every option (its yt-dlp ``dest`` decides) before its value is read, and
    raises UnsafeCommand to refuse it; by default, the clip-command allowlist.
    """
    check = check or _check_allowed
    parser = _parser()
    options: list[tuple[optparse.Option, str, str | None]] = []
    positionals: list[str] = []
    index = 0
    while index < len(args):
        token = args[index]
        index += 1
        if token == "--":
            positionals.extend(args[index:])
            break
        if token.startswith("--"):
            option, spelling, value = _resolve(token)
            check(
                option,
                spelling
                if spelling == token.partition("=")[0]
                else f"{token.partition('=')[0]} (yt-dlp reads it as {spelling})",
            )
            if option.takes_value():
                if value is None:
                    if index >= len(args):
                        raise UnsafeCommand(f"{spelling} needs a value")
                    value = args[index]
                    index += 1
            elif value is not None:
                raise UnsafeCommand(f"{spelling} takes no value")
            options.append((option, spelling, value))
        elif token.startswith("-") and token != "-":
            # Short options may be bundled (-fbest, -fo name): walk them like optparse does.
            chars = token[1:]
            while chars:
                flag, chars = "-" + chars[0], chars[1:]
                short = parser._short_opt.get(flag)
                if short is None:
                    raise UnsafeCommand(f"{flag} is not a yt-dlp option")
                option = short
                check(option, flag)
                value = None
                if option.takes_value():
                    if chars:
                        value, chars = chars, ""
                    elif index < len(args):
                        value = args[index]
                        index += 1
                    else:
                        raise UnsafeCommand(f"{flag} needs a value")
                options.append((option, flag, value))
        else:
            positionals.append(token)
    return options, positionals


def _exact_options(args: list[str]) -> tuple[list[tuple[Spelled, str, str | None]], list[str]] | None:
    """``iter_options(args)`` for a command that spells every option exactly as in EXACT_SPELLINGS (the same
    triples, the same refusals); None for any other, which needs yt-dlp's parser."""
    options: list[tuple[Spelled, str, str | None]] = []
    positionals: list[str] = []
    index = 0
    while index < len(args):
        token = args[index]
        index += 1
        if token.startswith("--"):
            spelling, eq, value = token.partition("=")
            option = EXACT_SPELLINGS.get(spelling)
            if option is None:  # also "--" itself: rare, left to the general walk
                return None
            if option.takes_value:
                if value == "" and not eq:
                    if index >= len(args):
                        raise UnsafeCommand(f"{spelling} needs a value")
                    value = args[index]
                    index += 1
            elif eq:
                raise UnsafeCommand(f"{spelling} takes no value")
            options.append((option, spelling, value if eq or option.takes_value else None))
        elif token.startswith("-") and token != "-":
            flag, value = token[:2], token[2:]
            option = EXACT_SPELLINGS.get(flag)
            if option is None or not option.takes_value:  # bundles of flags: the general walk
                return None
            if not value:
                if index >= len(args):
                    raise UnsafeCommand(f"{flag} needs a value")
                value = args[index]
                index += 1
            options.append((option, flag, value))
        else:
            positionals.append(token)
    return options, positionals


def _check_allowed(option: optparse.Option, shown: str) -> None:
    if option.dest not in ALLOWED_DESTS:
        raise UnsafeCommand(f"{shown} is not allowed in a clip command")


def _check_output_name(name: str) -> str:
    if not name or _CONTROL_RE.search(name):
        raise UnsafeCommand("-o must be a plain file name")
    for part in _FORBIDDEN_NAME_PARTS:
        if part in name:
            raise UnsafeCommand(f"-o {name!r} must be a plain file name inside the output folder (no {part!r})")
    if name.startswith("."):
        raise UnsafeCommand(f"-o {name!r} must not be a hidden file")
    if not name.lower().endswith(tuple("." + ext for ext in MERGE_FORMATS)):
        raise UnsafeCommand(f"-o {name!r} must end in .mp4, .mkv or .webm")
    return name


def _parse_section(value: str) -> tuple[float, float]:
    if not value.startswith("*"):
        raise UnsafeCommand(f'--download-sections {value!r} must be a time range like "*0:38-1:35"')
    start_text, sep, end_text = value[1:].partition("-")
    if not sep or "," in value:
        raise UnsafeCommand(f"--download-sections {value!r} must be one range START-END")
    try:
        start, end = parse_timestamp(start_text), parse_timestamp(end_text)
    except ValueError as error:
        raise UnsafeCommand(f"--download-sections {value!r}: {error}") from None
    if end == start:
        raise UnsafeCommand(f"--download-sections {value!r} is empty (it ends where it starts)")
    if end < start:
        raise UnsafeCommand(f"--download-sections {value!r} ends before it starts")
    return start, end


def split_command(text: str) -> list[str]:
    """Split like a POSIX shell (``shlex``) without running anything; a backslash-newline joins lines.

    Commands without backslashes take a regex fast path that gives the same words as ``shlex.split``
    (planning thousands of notes spends much of its time here otherwise).
    """
    text = text.replace("\\\n", " ")
    if "\\" not in text and not _SIMPLE_WORD_RE.sub(" ", text).strip():  # only words, quotes balanced
        return [_unquote(word) for word in _SIMPLE_WORD_RE.findall(text)]
    return shlex.split(text, comments=False, posix=True)


def _unquote(word: str) -> str:
    if "'" not in word and '"' not in word:
        return word
    return "".join(
        part[1:-1] if part[:1] in "'\"" and len(part) > 1 and part[0] == part[-1] else part
        for part in re.findall(r"""[^'"]+|"[^"]*"|'[^']*'""", word)
    )


def video_id_of(url: str) -> str | None:
    """The YouTube video id in a watch, youtu.be, shorts or embed URL, or None."""
    try:
        parsed = urlparse(url)
        parsed.hostname  # noqa: B018  (a bracketed host that is no IPv6 address raises here)
    except ValueError:
        return None
    host = (parsed.hostname or "").lower().removeprefix("www.").removeprefix("m.")
    if host == "youtu.be":
        return parsed.path.strip("/").split("/")[0] or None
    if host in ("youtube.com", "music.youtube.com", "youtube-nocookie.com"):
        if parsed.path == "/watch":
            values = parse_qs(parsed.query).get("v")
            return values[0] if values else None
        parts = parsed.path.strip("/").split("/")
        if len(parts) >= 2 and parts[0] in ("shorts", "embed", "live", "v"):
            return parts[1]
    return None


def same_video(url: str, video_id: str, note_url: str | None) -> bool:
    """True when ``url`` points at the note's video."""
    found = video_id_of(url)
    if found is not None:
        return found == video_id
    return note_url is not None and url == note_url


def parse_clip_command(text: str, video_id: str, note_url: str | None) -> ClipOptions:
    """Check a clip command and return its options; raise UnsafeCommand naming what is refused."""
    try:
        argv = split_command(text)
    except ValueError as error:
        raise UnsafeCommand(f"clip command cannot be split: {error}") from None
    if not argv:
        raise UnsafeCommand("clip command is empty")
    for token in argv:
        if token in _SHELL_OPERATORS or "`" in token or "$(" in token:
            raise UnsafeCommand(f"shell syntax {token!r} is not allowed in a clip command (one yt-dlp command only)")
    if argv[0] not in PROGRAM_NAMES:
        raise UnsafeCommand(f"clip command must start with yt-dlp, not {argv[0]!r}")
    exact = _exact_options(argv[1:])
    if exact is None:
        resolved, positionals = iter_options(argv[1:])
        options = [
            (Spelled(str(option.dest), str(option.action), option.takes_value()), spelling, value)
            for option, spelling, value in resolved
        ]
    else:
        options, positionals = exact

    if len(positionals) != 1:
        raise UnsafeCommand(f"clip command must name exactly one URL, found {len(positionals)}")
    url = positionals[0]
    if not same_video(url, video_id, note_url):
        raise UnsafeCommand(f"clip command URL {url!r} is not the note's video {video_id}")

    section: tuple[float, float] | None = None
    output = fmt = merge = None
    sort: tuple[str, ...] = ()
    keyframes = False
    for option, spelling, value in options:
        dest = option.dest
        if dest == "download_ranges":
            if section is not None:
                raise UnsafeCommand("only one --download-sections range per clip command")
            section = _parse_section(value or "")
        elif dest == "outtmpl":
            output = _check_output_name(value or "")
        elif dest == "merge_output_format":
            if value not in MERGE_FORMATS:
                raise UnsafeCommand(f"--merge-output-format {value!r} must be one of {', '.join(MERGE_FORMATS)}")
            merge = value
        elif dest == "format":
            fmt = _plain_value(spelling, value)
        elif dest == "format_sort":
            sort = tuple(part.strip() for part in _plain_value(spelling, value).split(",") if part.strip())
        elif dest == "force_keyframes_at_cuts":
            keyframes = option.action == "store_true"
    if section is None:
        raise UnsafeCommand('clip command has no --download-sections "*START-END"')
    if output and merge and not output.lower().endswith("." + merge):
        raise UnsafeCommand(f"-o {output!r} does not match --merge-output-format {merge}")
    return ClipOptions(
        url=url,
        start=section[0],
        end=section[1],
        output=output,
        format=fmt,
        format_sort=sort,
        merge_output_format=merge,
        force_keyframes_at_cuts=keyframes,
    )


def _plain_value(spelling: str, value: str | None) -> str:
    if not value or _CONTROL_RE.search(value) or len(value) > 200:
        raise UnsafeCommand(f"{spelling} needs a short plain value")
    return value
