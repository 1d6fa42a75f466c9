"""yt-dlp's ``YoutubeDL`` built from a clipper argv: the argv checked and read by yt-dlp's own parser, only
the extractor the URL needs loaded, its messages kept for error reports; and the relay's request session.
"""

from __future__ import annotations

import os
import urllib.parse
from collections.abc import Mapping
from typing import Any

from clipper.fetch.cache import MEDIA_EXTENSIONS
from clipper.fetch.ytdlp_argv import HARDENING


def hardened_options(argv: list[str]) -> dict[str, Any]:
    """The YoutubeDL options of an argv clipper built (``ytdlp_argv``), as yt-dlp's own parser reads it:
    quiet, simulating, failures raised; any other argv is refused."""
    import yt_dlp

    if argv[:1] != ["yt-dlp"] or argv[1 : 1 + len(HARDENING)] != list(HARDENING) or argv.count("--") != 1:
        raise ValueError("refusing to run a yt-dlp argv that was not built by clipper")
    os.environ["YTDLP_NO_PLUGINS"] = "1"
    options: dict[str, Any] = dict(yt_dlp.parse_options(argv[1:]).ydl_opts)
    # ignoreerrors off: a failure raises with yt-dlp's own message instead of returning nothing.
    options.update(quiet=True, no_warnings=True, noprogress=True, forceurl=False, simulate=True,
                   ignoreerrors=False, logger=_QuietLogger())  # fmt: skip
    return options


class _QuietLogger:
    """yt-dlp's messages, kept for error reports instead of printed over the progress bars."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def debug(self, message: str) -> None:
        pass

    def info(self, message: str) -> None:
        pass

    def warning(self, message: str) -> None:
        self.messages.append(message)

    def error(self, message: str) -> None:
        self.messages.append(message)


def extractor_for(url: str) -> Any:
    """yt-dlp's extractor class for ``url`` when it is plain which: the generic one for a media file's URL (a
    path ending in .mp4, .webm, ...), YouTube's for a YouTube video; else None, and yt-dlp tries every
    extractor's URL pattern in turn (some 1,900 regular expressions compiled: a quarter of a second before any
    fetch). Only that extractor's module is loaded (yt-dlp's index of them all takes a twentieth of a second)."""
    extension = urllib.parse.urlsplit(url).path.rsplit("/", 1)[-1].rpartition(".")[2].lower()
    if extension in MEDIA_EXTENSIONS:
        from yt_dlp.extractor.generic import GenericIE

        return GenericIE
    from yt_dlp.extractor.youtube import YoutubeIE

    return YoutubeIE if YoutubeIE.suitable(url) else None


def youtube_dl(options: dict[str, Any], url: str) -> tuple[Any, str | None]:
    """A YoutubeDL for ``url`` with only the extractor it needs (``extractor_for``), and that extractor's key;
    all of them (and None) when the URL does not say which or the user chose which may run
    (``--use-extractors``)."""
    import yt_dlp

    ydl = yt_dlp.YoutubeDL(options, auto_init=False)
    extractor = extractor_for(url) if options.get("allowed_extractors") in (None, ["default"]) else None
    if extractor is None:
        ydl.add_default_info_extractors()
        return ydl, None
    ydl.add_info_extractor(extractor())
    return ydl, extractor.ie_key()


class Session:
    """yt-dlp's networking for media requests (the relay's): cookies, proxy, impersonation, headers and
    source address as the user's options set them. Thread-safe, as yt-dlp's fragment downloads use it."""

    def __init__(self, argv: list[str]) -> None:
        import yt_dlp

        self.params = hardened_options(argv)
        self._ydl = yt_dlp.YoutubeDL(self.params, auto_init=False)  # requests only: no extractors to load

    def open(self, url: str, headers: Mapping[str, str]) -> Any:
        from yt_dlp.networking import Request

        return self._ydl.urlopen(Request(url, headers=dict(headers)))

    def close(self) -> None:
        self._ydl.close()
