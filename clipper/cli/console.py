"""What the commands say on stderr (one-line errors, warnings -q hides), the exit statuses, and the -v/-q state."""

from __future__ import annotations

import re
from collections.abc import Sequence

import click

from clipper.core.errors import ClipperError
from clipper.core.text import printable

EXIT_PROBLEMS = 1
EXIT_INTERRUPTED = 130


def error_line(message: str) -> str:
    """A problem as one line: note text in it with its control characters escaped, ``clipper:`` before it when it
    names no file."""
    message = printable(message)
    return f"clipper: {message}" if not re.match(r"^\S+:\d*:? ", message) else message


def os_error_text(error: OSError) -> str:
    """An OSError (the disk is full, a folder cannot be written) in one line, naming its file."""
    return f"{error.filename + ': ' if error.filename else ''}{error.strerror or error}"


def show_error(message: str) -> None:
    """One line on stderr (see ``error_line``)."""
    click.echo(error_line(message), err=True)


def show_warning(message: str) -> None:
    """A line worth knowing that is no problem (the exit status stays 0); -q hides it."""
    if not said(click.get_current_context(silent=True), "quiet"):
        show_error(message)


def report(problems: Sequence[ClipperError]) -> None:
    """Each problem as one line on stderr."""
    for problem in problems:
        show_error(str(problem))


def said(ctx: click.Context | None, name: str) -> bool:
    """Whether -v, -q (``name``: verbose, quiet) was given, before the command or after it."""
    return bool(ctx is not None and (ctx.obj or {}).get(name))
