"""yt-dlp, through its Python API: which media a URL serves, and full downloads into the cache.

Commands are data: ``resolve_argv`` builds the yt-dlp command line that ``--dry-run`` prints, and
``resolve`` runs exactly that argv through ``yt_dlp.parse_options`` and ``YoutubeDL`` (never a shell,
never a subprocess). Every argv is hardened: no config files, no plugins, the URL after ``--``.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import socket
import subprocess
import threading
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from clipper.core.errors import FetchError, UnknownHost, Unreachable
from clipper.core.streams import RELAYABLE_PROTOCOLS, MediaStream
from clipper.fetch import netguard

HARDENING = ("--ignore-config", "--no-plugin-dirs", "--no-playlist")


def cache_key(source: str, fmt: str, format_sort: tuple[str, ...]) -> str:
    """Names a whole download by what it was fetched from and how (another format is another file)."""
    return hashlib.sha1("\0".join([source, fmt, *format_sort]).encode()).hexdigest()[:10]


def js_runtime() -> tuple[str, str] | None:
    """The JavaScript runtime yt-dlp should use for YouTube: the ``deno`` package, else deno or node on PATH."""
    try:
        import deno  # type: ignore[import-not-found,import-untyped,unused-ignore]

        path = deno.find_deno_bin()
        if path and os.path.exists(path):
            return ("deno", str(path))
    except (ImportError, OSError, RuntimeError):
        pass
    for name in ("deno", "node"):
        found = shutil.which(name)
        if found and (name == "deno" or _node_major(found) >= 20):
            return (name, found)
    return None


def _node_major(path: str) -> int:
    try:
        version = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=10).stdout
        return int(version.strip().lstrip("v").split(".")[0])
    except (OSError, ValueError, subprocess.SubprocessError):
        return 0


def runtime_args(runtime: tuple[str, str] | None) -> list[str]:
    if runtime is None:
        return []
    name, path = runtime
    return ["--no-js-runtimes", "--js-runtimes", f"{name}:{path}"]


def resolve_argv(url: str, fmt: str, format_sort: tuple[str, ...], runtime: tuple[str, str] | None = None,
                 user_args: Sequence[str] = ()) -> list[str]:  # fmt: skip
    """The yt-dlp command that finds the media URLs of ``url`` for the chosen format.

    ``user_args`` are the user's own (checked) yt-dlp options: cookies, proxy, impersonation and the like.
    """
    argv = ["yt-dlp", *HARDENING, *runtime_args(runtime), *user_args, "-f", fmt]
    if format_sort:
        argv += ["-S", ",".join(format_sort)]
    return [*argv, "--get-url", "--", url]


def _hardened_options(argv: list[str]) -> dict[str, Any]:
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


def _youtube_dl(options: dict[str, Any], url: str) -> tuple[Any, str | None]:
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


def _guard(public_only: bool, options: Mapping[str, Any]) -> contextlib.AbstractContextManager[None]:
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


def resolve(argv: list[str], public_only: bool = False) -> list[MediaStream]:
    """Run the yt-dlp argv from ``resolve_argv`` (format selection only, nothing downloaded); ``public_only``:
    the URL is a note's, and may lead to public addresses only (redirects included)."""
    import yt_dlp

    options = _hardened_options(argv)
    url = argv[argv.index("--") + 1]
    try:
        ydl, key = _youtube_dl(options, url)
        with ydl, _guard(public_only, options):
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


def session_argv(runtime: tuple[str, str] | None = None, user_args: Sequence[str] = ()) -> list[str]:
    """The yt-dlp options media requests are made with (``YoutubeDL.urlopen``): the user's network options."""
    return ["yt-dlp", *HARDENING, *runtime_args(runtime), *user_args, "--", "-"]


class Session:
    """yt-dlp's networking for media requests (the relay's): cookies, proxy, impersonation, headers and
    source address as the user's options set them. Thread-safe, as yt-dlp's fragment downloads use it."""

    def __init__(self, argv: list[str]) -> None:
        import yt_dlp

        self.params = _hardened_options(argv)
        self._ydl = yt_dlp.YoutubeDL(self.params, auto_init=False)  # requests only: no extractors to load

    def open(self, url: str, headers: Mapping[str, str]) -> Any:
        from yt_dlp.networking import Request

        return self._ydl.urlopen(Request(url, headers=dict(headers)))

    def close(self) -> None:
        self._ydl.close()


def download_argv(url: str, fmt: str, format_sort: tuple[str, ...], target: str,
                  runtime: tuple[str, str] | None = None, user_args: Sequence[str] = (),
                  chunk_size: int = 0, public_only: bool = False) -> list[str]:  # fmt: skip
    """The yt-dlp command that downloads the whole video once (native downloader) to ``target``, asking
    for at most ``chunk_size`` bytes a request (0: as the host's format says). ``public_only``: a note's URL,
    whose fragments come one at a time (each connection is checked in the thread that asks for it)."""
    # A fragment the host will not give (an expired URL) fails the download, where yt-dlp would skip it and
    # keep a file that ends early; the next attempt looks the video up again and resumes.
    argv = ["yt-dlp", *HARDENING, *runtime_args(runtime), *user_args, "--abort-on-unavailable-fragments", "-f", fmt]
    if public_only:
        argv += ["--concurrent-fragments", "1"]
    if chunk_size:
        argv += ["--http-chunk-size", str(chunk_size)]
    if format_sort:
        argv += ["-S", ",".join(format_sort)]
    return [*argv, "--merge-output-format", "mkv", "--no-mtime", "-o", target, "--", url]


MEDIA_EXTENSIONS = ("mp4", "mkv", "webm", "m4a", "mov", "mp3", "ogg", "opus")
# {video_id}-{10 hex digits}.{ext}[.part|.ytdl|...]: the names download_argv's template gives.
_CACHE_NAME_RE = re.compile(r"^[A-Za-z0-9_-]+-[0-9a-f]{10}\.")


def cached_download(cache_dir: Path, video_id: str, key: str) -> Path | None:
    """A finished whole download in the cache (yt-dlp's .part and per-format pieces do not count)."""
    for ext in MEDIA_EXTENSIONS:
        path = cache_dir / f"{video_id}-{key}.{ext}"
        if path.is_file():
            return path
    return None


def cache_entries(cache_dir: Path) -> list[Path]:
    """Everything clipper's downloads left in the cache: finished files and yt-dlp's partial ones."""
    if not cache_dir.is_dir():
        return []
    return sorted(path for path in cache_dir.iterdir() if path.is_file() and _CACHE_NAME_RE.match(path.name))


def clean_cache(cache_dir: Path) -> list[tuple[Path, int]]:
    """Delete the cache's downloads; returns (path, size) of what was removed. Other files are left alone."""
    removed = []
    for path in cache_entries(cache_dir):
        size = path.stat().st_size
        path.unlink()
        removed.append((path, size))
    return removed


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
    options = _hardened_options(argv)
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
        ydl, key = _youtube_dl(options, url)
        with ydl, _guard(public_only, options):
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


_SIGN_IN_HINT = ("the host wants you signed in: pass your browser's cookies with --cookies-from-browser firefox"
                 " or --cookies FILE")  # fmt: skip
_HINTS = (
    (("sign in to confirm", "http error 403", "forbidden", "login required", "cookies"), _SIGN_IN_HINT),
    (("http error 429", "too many requests", "rate-limit", "rate limit"),
     "the host is rate-limiting: add --sleep-requests 1.5 to yt_dlp_args, or try later"),
    (("failed to resolve", "name or service not known", "getaddrinfo", "nodename nor servname",
      "temporary failure in name resolution", "network is unreachable", "no address associated"),
     "offline or the host cannot be found; `sources:` in the config can point this video at a local copy"),
)  # fmt: skip


def hint_for(message: str) -> str | None:
    """What a user can do about a fetch failure, when there is something."""
    lowered = message.lower()
    for words, hint in _HINTS:
        if any(word in lowered for word in words):
            return hint
    return None


# getaddrinfo's numbers for a name that does not exist, where asking again gets the same answer: EAI_NONAME and
# EAI_NODATA of glibc and musl (-2, -5) and of macOS (8, 7), Windows' WSAHOST_NOT_FOUND and WSANO_DATA (11001,
# 11004). The platforms' numbers do not overlap; any other lookup failure (EAI_AGAIN: -3, 2, 11002) may pass.
_NO_SUCH_NAME = frozenset({-2, -5, 7, 8, 11001, 11004, socket.EAI_NONAME})
# getaddrinfo's words for a name that does not exist (glibc, musl, macOS, Windows), for a failure that carries no
# number. Windows says "getaddrinfo failed" for every lookup failure, final or not: not among them.
_UNKNOWN_HOST = ("name or service not known", "nodename nor servname", "no address associated",
                 "name does not resolve", "no such host is known")  # fmt: skip
_LOOKUP_WORDS = (*_UNKNOWN_HOST, "getaddrinfo", "name resolution")
_ERRNO_RE = re.compile(r"\[Errno (-?\d+)\] ([^)\]>]+)")
_UNKNOWN_HOST_HINT = "check the URL; `sources:` in the config can point this video at a local copy"


def _lookup_number(error: BaseException | None) -> int | None:
    """The number of the name lookup's failure (``socket.gaierror``) somewhere behind ``error``: yt-dlp wraps it
    in its own errors (``DownloadError.exc_info``, ``TransportError.cause``), urllib and urllib3 in theirs."""
    seen: set[int] = set()
    todo = [error]
    while todo:
        current = todo.pop(0)
        if current is None or id(current) in seen or len(seen) > 50:
            continue
        seen.add(id(current))
        if isinstance(current, socket.gaierror) and isinstance(current.errno, int):
            return current.errno
        exc_info = getattr(current, "exc_info", None)
        linked = [current.__cause__, current.__context__, getattr(current, "cause", None),
                  getattr(current, "reason", None), *(exc_info[1:2] if isinstance(exc_info, tuple) else ()),
                  *current.args]  # fmt: skip
        todo.extend(item for item in linked if isinstance(item, BaseException))
    return None


def unknown_host(message: str, error: BaseException | None = None) -> bool | None:
    """Whether yt-dlp's (or the network's) failure says the host's name does not exist (True), or that looking
    it up failed for now (False: asking again may find it); None when no lookup failed. Decided by the lookup's
    error number (behind ``error``, or in the message), by its words only when there is no number."""
    lowered = message.lower()
    number = _lookup_number(error)
    if number is None:
        found = next((match for match in _ERRNO_RE.finditer(message)
                      if any(words in match.group(2).lower() for words in _LOOKUP_WORDS)), None)  # fmt: skip
        number = int(found.group(1)) if found else None
    if number is not None:
        return number in _NO_SUCH_NAME
    if any(words in lowered for words in _UNKNOWN_HOST):
        return True
    return False if any(words in lowered for words in _LOOKUP_WORDS) else None


def fetch_error(message: str, retryable: bool | None = None, url: str | None = None,
                partway: bool = False, error: BaseException | None = None) -> FetchError:  # fmt: skip
    """yt-dlp's (or the host's) reason on one line, with a hint where one helps; ``url``: what was fetched,
    named whole where the reason would not say it (a host that does not exist); ``partway``: the failure
    came after the download got under way; ``error``: the exception that said ``message`` (its causes tell a
    name that does not exist from a lookup that failed for now)."""
    short = _short(message)
    refused = netguard.refusal(message)
    if refused is not None:  # a note's URL led to a private address: final
        return Unreachable(f"{url or 'a redirect or media URL'}: {refused} (a note's URL may only lead to public"
                           " hosts; a `sources:` entry in the config may point a video there)")  # fmt: skip
    lookup = unknown_host(message, error)
    if lookup:  # final: every try would get the same answer
        found = _ERRNO_RE.search(message)
        reason = found.group(2).strip() if found else "the name does not resolve"
        where = url or short
        return UnknownHost(f"{where}: the host cannot be found ({reason}; {_UNKNOWN_HOST_HINT})")
    hint = hint_for(short)
    retry = (_is_network(message) or lookup is False) if retryable is None else retryable
    if hint is _SIGN_IN_HINT:
        retry = False  # asking again without cookies gets the same answer
    if partway:
        # The host served the start, then refused (a signed URL that expired, most often): a fresh lookup
        # gets fresh URLs, and yt-dlp resumes from its .part file (and a fragment list from the fragment).
        retry, hint = True, "the host stopped serving it partway; its URL may have expired"
    return FetchError(f"{short} ({hint})" if hint and hint not in short else short, retryable=retry)


def _short(message: str) -> str:
    """yt-dlp's error on one line, without its ``ERROR:`` prefix and its ``(caused by ...)`` repetition."""
    if not message.strip():
        return "yt-dlp failed"
    line = message.replace("ERROR: ", "").strip().splitlines()[-1]
    return line.split(" (caused by ")[0]


def _is_network(message: str) -> bool:
    lowered = message.lower()
    return any(
        word in lowered
        for word in (
            "http error",
            "timed out",
            "connection",
            "unable to download",
            "network",
            "temporarily",
            "reset by peer",
            "incomplete",
        )
    )
