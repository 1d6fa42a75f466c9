"""yt-dlp as the runner and the CLI use it, in one namespace: its command lines (``ytdlp_argv``), format
lookup (``resolve``), the relay's session (``youtubedl``), whole downloads (``download``), the download cache
(``cache``) and failure reports (``failures``). yt-dlp itself is imported only when one of them runs.
"""

from __future__ import annotations

from clipper.core.streams import MediaStream
from clipper.fetch.cache import MEDIA_EXTENSIONS, cache_entries, cache_key, cached_download, clean_cache
from clipper.fetch.download import Download, download, download_options, same_short, short_download_problem
from clipper.fetch.downloader_guard import downloader_refusal
from clipper.fetch.failures import fetch_error, hint_for, unknown_host
from clipper.fetch.resolve import resolve
from clipper.fetch.youtubedl import Session, extractor_for
from clipper.fetch.ytdlp_argv import HARDENING, download_argv, js_runtime, resolve_argv, runtime_args, session_argv

__all__ = [
    "HARDENING",
    "MEDIA_EXTENSIONS",
    "Download",
    "MediaStream",
    "Session",
    "cache_entries",
    "cache_key",
    "cached_download",
    "clean_cache",
    "download",
    "download_argv",
    "download_options",
    "downloader_refusal",
    "extractor_for",
    "fetch_error",
    "hint_for",
    "js_runtime",
    "resolve",
    "resolve_argv",
    "runtime_args",
    "same_short",
    "session_argv",
    "short_download_problem",
    "unknown_host",
]
