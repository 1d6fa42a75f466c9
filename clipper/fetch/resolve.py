"""Which media a URL serves: yt-dlp's format selection (nothing downloaded) -> the streams to read."""

from __future__ import annotations

from types import MappingProxyType

from clipper.core.errors import FetchError
from clipper.core.streams import MediaStream
from clipper.fetch.downloader_guard import guard
from clipper.fetch.failures import fetch_error
from clipper.fetch.youtubedl import hardened_options, youtube_dl


def resolve(argv: list[str], public_only: bool = False) -> list[MediaStream]:
    """Run the yt-dlp argv from ``resolve_argv`` (format selection only, nothing downloaded); ``public_only``:
    the URL is a note's, and may lead to public addresses only (redirects included)."""
    import yt_dlp

    options = hardened_options(argv)
    url = argv[argv.index("--") + 1]
    try:
        ydl, key = youtube_dl(options, url)
        with ydl, guard(public_only, options):
            info = ydl.extract_info(url, download=False, ie_key=key)
    except yt_dlp.utils.DownloadError as error:
        raise fetch_error(str(error), url=url, error=error) from None
    if not info:
        raise FetchError(f"yt-dlp found no media at {url}")
    formats = info.get("requested_formats") or [info]
    available_at = max((float(fmt.get("available_at") or 0) for fmt in formats), default=0.0) or None
    streams = []
    for fmt in formats:
        vcodec, acodec = fmt.get("vcodec"), fmt.get("acodec")
        size = fmt.get("filesize") or fmt.get("filesize_approx")
        streams.append(
            MediaStream(
                url=fmt["url"],
                headers=MappingProxyType(dict(fmt.get("http_headers") or {})),
                has_video=vcodec != "none",
                has_audio=acodec != "none",
                format_id=str(fmt.get("format_id") or ""),
                protocol=str(fmt.get("protocol") or "https"),
                size=int(size) if size else None,
                duration=info.get("duration"),
                chunk_size=(fmt.get("downloader_options") or {}).get("http_chunk_size"),
                available_at=available_at,
                ext=str(fmt.get("ext") or ""),
            )
        )
    return streams
