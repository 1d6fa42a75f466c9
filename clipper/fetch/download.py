"""Whole downloads through yt-dlp into the cache, with progress, and the check that one is not short."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from clipper.core.errors import FetchError
from clipper.core.streams import RELAYABLE_PROTOCOLS
from clipper.fetch.downloader_guard import guard
from clipper.fetch.failures import fetch_error
from clipper.fetch.youtubedl import hardened_options, youtube_dl


@dataclass(frozen=True)
class Download:
    """A whole download yt-dlp finished: its file, and how long yt-dlp says the video lasts (None: unsaid)."""

    path: str
    duration: float | None
    resumable: bool = False  # one file over HTTP: yt-dlp resumes its .part from where it ends


# How much shorter than the video a whole download may be (containers and hosts round differently); a lost
# fragment or a cut-off response costs more than this.
SHORT_SLACK = 2.0
SHORT_SLACK_SHARE = 0.005


SAME_SHORT = 0.1  # seconds: two downloads this close in length got the same media


def short_download_problem(url: str, expected: float | None, actual: float,
                           before: float | None = None) -> str | None:  # fmt: skip
    """Why a whole download of ``url`` that lasts ``actual`` seconds is not the whole video, or None. ``before``:
    how long the last download of it lasted, when that was short too."""
    if not expected or actual >= expected - SHORT_SLACK - SHORT_SLACK_SHARE * expected:
        return None
    if before is not None and abs(before - actual) <= SAME_SHORT:
        return (f"the download of {url} lasts {actual:.1f}s again, but the host says the video lasts "
                f"{expected:.1f}s: the host serves no more (or says the wrong length); not kept")  # fmt: skip
    return (f"the download of {url} lasts {actual:.1f}s but the video {expected:.1f}s: part of it is missing "
            "(not kept)")  # fmt: skip


def same_short(problem: str) -> bool:
    """Whether ``short_download_problem`` said a download came short twice with the same length (final)."""
    return "s again, but the host says" in problem


def download_options(argv: list[str], public_only: bool = False) -> dict[str, Any]:
    """The YoutubeDL options ``download`` runs the argv from ``download_argv`` with. ``public_only``: a note's
    URL, whose fragments are fetched one at a time whatever the argv says (each connection is checked in the
    thread that asks for it: threads yt-dlp starts carry no mark), and only by yt-dlp's own downloaders."""
    options = hardened_options(argv)
    options.update(simulate=False)
    if public_only:
        options["concurrent_fragment_downloads"] = 1
    return options


def download(argv: list[str], on_progress: Callable[[int, int | None], None], public_only: bool = False) -> Download:
    """Run the argv from ``download_argv``; report (bytes done, bytes total) as it goes; return the file.
    ``public_only``: as for ``resolve``."""
    import yt_dlp

    options = download_options(argv, public_only)
    started = [False]

    def hook(status: dict[str, Any]) -> None:
        if status.get("status") == "downloading":  # ignore statuses we do not know, as yt-dlp advises
            started[0] = started[0] or bool(status.get("downloaded_bytes"))
            on_progress(
                int(status.get("downloaded_bytes") or 0),
                status.get("total_bytes") or status.get("total_bytes_estimate"),
            )

    options["progress_hooks"] = [hook]
    url = argv[argv.index("--") + 1]
    try:
        ydl, key = youtube_dl(options, url)
        with ydl, guard(public_only, options):
            info = ydl.extract_info(url, download=True, ie_key=key)
    except yt_dlp.utils.DownloadError as error:
        raise fetch_error(str(error), url=url, partway=started[0], error=error) from None
    downloads = (info or {}).get("requested_downloads") or []
    if not downloads or not downloads[0].get("filepath"):
        raise FetchError(f"yt-dlp downloaded nothing from {url}")
    duration = (info or {}).get("duration")
    formats = (info or {}).get("requested_formats") or [info or {}]
    resumable = len(formats) == 1 and formats[0].get("protocol") in RELAYABLE_PROTOCOLS  # not merged, not fragments
    return Download(str(downloads[0]["filepath"]), float(duration) if duration else None, resumable)
