"""The errors clipper raises. Only the CLI turns them into messages and exit codes."""

from __future__ import annotations

from pathlib import Path


class ClipperError(Exception):
    """Base error: a one-line message, optionally located in a file (and line)."""

    def __init__(self, message: str, path: str | Path | None = None, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.path = str(path) if path is not None else None
        self.line = line

    def __str__(self) -> str:
        where = ""
        if self.path is not None:
            where = f"{self.path}:{self.line}: " if self.line else f"{self.path}: "
        return where + self.message


class ArgumentError(ClipperError):
    """A command's argument is wrong (a usage error); ``param`` names it, when it is one argument."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


class NoteError(ClipperError):
    """A note (or its clip command) cannot be used."""


class ConfigError(ClipperError):
    """config.yaml or a command-line setting is invalid."""


class PlanError(ClipperError):
    """The clips cannot be planned together (e.g. two clips want the same file name)."""


class NameTaken(ClipperError):
    """A clip's file name holds another clip already (another video or range): it is not replaced unasked."""


class ToolError(ClipperError):
    """An external tool (ffmpeg, ffprobe, yt-dlp) is missing or failed."""


class JobError(ToolError):
    """One clip failed; ``retryable`` when trying again may help (network trouble)."""

    def __init__(
        self, message: str, path: str | Path | None = None, line: int | None = None, retryable: bool = False
    ) -> None:
        super().__init__(message, path, line)
        self.retryable = retryable


class FetchError(JobError):
    """Finding or downloading media failed."""


class Unreachable(FetchError):
    """A video's media could not be found, retries spent (or none would help): every other fetch of it fails
    at once with this."""


class UnknownHost(Unreachable):
    """A host's name does not exist: no try will find it, so none is made again."""


class CutError(JobError):
    """ffmpeg could not cut or verify a clip."""


class Interrupted(ClipperError):
    """The run was stopped by SIGINT or SIGTERM; finished clips are kept, partial ones removed."""
