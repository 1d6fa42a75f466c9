"""For a note's URL: every address yt-dlp connects to is public, and only yt-dlp's own downloaders (which
connect through Python, each address checked) fetch its media; never ffmpeg or rtmpdump.
"""

from __future__ import annotations

import contextlib
import threading
import urllib.parse
from collections.abc import Callable, Mapping
from typing import Any

from clipper.fetch import netguard


def guard(public_only: bool, options: Mapping[str, Any]) -> contextlib.AbstractContextManager[None]:
    """For a note's URL: every address yt-dlp connects to must be public (``netguard``), and only yt-dlp's own
    downloaders fetch its media (``_guard_downloaders``)."""
    if not public_only:
        return contextlib.nullcontext()
    _guard_downloaders()
    return netguard.only_public([options.get("proxy")])


_downloaders_lock = threading.Lock()


def _guard_downloaders() -> None:
    """In a thread that works for a note's URL, refuse every yt-dlp downloader but its own HTTP, HLS and DASH
    ones, which connect through Python (each address checked). yt-dlp hands live HLS and DASH, the ``m3u8`` and
    ``rtmp`` protocols, and HLS its own downloader cannot read, to ffmpeg or rtmpdump: processes that look the
    hosts up themselves, unchecked, so a playlist on a public host could list segments on 127.0.0.1. Checked
    where each download starts (``FileDownloader.download``) and where yt-dlp hands one to ffmpeg directly
    (``real_download`` of the external downloaders), before any process starts. Other threads are untouched."""
    from yt_dlp.downloader.common import FileDownloader
    from yt_dlp.downloader.dash import DashSegmentsFD
    from yt_dlp.downloader.external import ExternalFD
    from yt_dlp.downloader.hls import HlsFD
    from yt_dlp.downloader.http import HttpFD
    from yt_dlp.downloader.rtmp import RtmpFD
    from yt_dlp.networking.exceptions import TransportError

    def refusing(method: Callable[..., Any], allowed: tuple[type, ...]) -> Callable[..., Any]:
        def checked(self: Any, filename: str, info_dict: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
            if netguard.guarded() and not isinstance(self, allowed):
                # yt-dlp reports a TransportError as "unable to download video data: ..." and stops
                raise TransportError(downloader_refusal(self.get_basename(), info_dict))
            return method(self, filename, info_dict, *args, **kwargs)

        checked.clipper_guarded = True  # type: ignore[attr-defined]
        return checked

    with _downloaders_lock:
        for cls, name, allowed in ((FileDownloader, "download", (HttpFD, HlsFD, DashSegmentsFD)),
                                   (ExternalFD, "real_download", ()), (RtmpFD, "real_download", ())):  # fmt: skip
            method = cls.__dict__[name]
            if not getattr(method, "clipper_guarded", False):
                setattr(cls, name, refusing(method, allowed))


def downloader_refusal(downloader: str, info: Mapping[str, Any]) -> str:
    """Why a note's media is not handed to ``downloader`` (ffmpeg, rtmpdump, ...): one line."""
    host = urllib.parse.urlsplit(str(info.get("url") or "")).hostname or "its host"
    what = "a live stream" if info.get("is_live") else f"{info.get('protocol') or 'its'} media"
    return (f"{netguard.REFUSED} {host} through {downloader} ({what}): only yt-dlp's own downloaders, which check "
            "every address, fetch a note's media")  # fmt: skip
