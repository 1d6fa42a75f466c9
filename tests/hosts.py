"""Loopback HTTP servers that behave like real video hosts, for end-to-end tests and the benchmark.

Everything listens on 127.0.0.1 only (a free port each time) and uses the standard library alone.

* :func:`serve_host` - a file host with Range support and switchable host behaviours: throttling of large
  responses, ignoring Range, a required cookie or header (403 otherwise), dropped connections, expiring
  tokenised URLs (DASH manifests' and HLS playlists') and YouTube-style DASH manifests (``/dash/<name>.mpd``).
* :func:`make_dash_media` - split an H.264/AAC mp4 into video-only and audio-only fragmented MP4s with a sidx
  box, the way YouTube's DASH formats are stored, and find their init and index byte ranges.
* :func:`forward_proxy` - a plain HTTP forward proxy that marks what it forwards with a header.
* :func:`write_cookies_txt` - a Netscape cookies.txt for yt-dlp's ``--cookies`` / ``cookiefile``.

URL layout of a host::

    /<path under root>                   the file root/<path>
    /dash/<name>.mpd                     DASH manifest for dash[name] (GET and HEAD)
    /dash/<name>/video.mp4, audio.mp4    the DASH media files of dash[name] (wherever they are on disk)
    /t/<token>/<any of the above media>  the same media through an expiring token (see Host.issue_token)
    /<name>.m3u8                         an HLS playlist under root; with ``expire_after_bytes`` its segments'
                                         URLs go through one fresh token per fetch of the playlist
    any path in Host.redirects           a 302 to the URL given there

Notes for tests driving yt-dlp:

* yt-dlp's ``proxy`` option (``--proxy``) is applied to every URL including 127.0.0.1: with it set, yt-dlp's
  proxy table is ``{"all": proxy}`` and has no ``"no"`` key, so ``no_proxy`` / ``NO_PROXY`` from the
  environment is *not* consulted. Only without the option does yt-dlp take proxies (and ``no_proxy``) from the
  environment. ffmpeg's ``-http_proxy`` on the other hand *does* honour the ``no_proxy`` environment variable
  (libavformat's ff_http_match_no_proxy), so a test running ffmpeg through the proxy should make sure
  ``no_proxy`` does not cover 127.0.0.1 (e.g. ``monkeypatch.delenv("no_proxy", raising=False)`` and
  ``NO_PROXY``).
* yt-dlp's cookie jar accepts a bare-IP domain (``127.0.0.1``, "include subdomains" FALSE) and sends the cookie
  to ``http://127.0.0.1:<any port>/``: cookies are not port-specific.
* A :class:`Seen` record is added when a response has finished (``sent`` is what was actually written), which
  can be a moment after the client saw the last byte. Call :meth:`Host.wait_idle` before asserting on
  :attr:`Host.requests`.
"""

from __future__ import annotations

import bisect
import contextlib
import dataclasses
import html
import http.client
import io
import json
import re
import secrets
import select
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, BinaryIO

PIECE = 16 * 1024
"""Bytes written per piece of a response body (throttling sleeps between pieces)."""

BOT_CHECK = b"Sign in to confirm you're not a bot"
URL_EXPIRED = b"URL expired"
BAD_TOKEN = b"Invalid URL token"
FORBIDDEN = b"Forbidden"

CONTENT_TYPES = {
    ".mp4": "video/mp4",
    ".m4v": "video/mp4",
    ".m4a": "audio/mp4",
    ".webm": "video/webm",
    ".weba": "audio/webm",
    ".mkv": "video/x-matroska",
    ".mpd": "application/dash+xml",
    ".m3u8": "application/vnd.apple.mpegurl",
    ".ts": "video/mp2t",
    ".vtt": "text/vtt",
    ".srt": "application/x-subrip",
    ".json": "application/json",
    ".html": "text/html; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".jpg": "image/jpeg",
    ".png": "image/png",
}

HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-connection", "proxy-authenticate", "proxy-authorization", "te"}
    | {"trailer", "trailers", "transfer-encoding", "upgrade"}
)


def end_to_end(headers: Any) -> list[tuple[str, str]]:
    """The headers of an http.client/http.server message a proxy passes on: without hop-by-hop headers, neither
    the standard ones nor those the Connection header names."""
    named = {token.strip().lower() for value in headers.get_all("Connection", []) for token in value.split(",")}
    return [(name, value) for name, value in headers.items() if name.lower() not in HOP_BY_HOP | named]


def content_type(name: str) -> str:
    """Content-Type for a file name, by extension (application/octet-stream when unknown)."""
    return CONTENT_TYPES.get(Path(name).suffix.lower(), "application/octet-stream")


# --------------------------------------------------------------------------------------------------------------
# DASH media
# --------------------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class DashTrack:
    """One DASH representation: a fragmented MP4 with a single stream and a sidx index.

    Byte ranges are inclusive ``(first, last)`` pairs, as written in the MPD.
    """

    path: Path
    kind: str  # "video" or "audio"
    mime_type: str  # "video/mp4" or "audio/mp4"
    codecs: str  # e.g. "avc1.64000d" or "mp4a.40.2"
    duration: float  # seconds
    bandwidth: int  # bits per second, averaged over the whole file
    size: int  # bytes
    init_range: tuple[int, int]  # ftyp + moov
    index_range: tuple[int, int]  # the sidx box
    width: int | None = None
    height: int | None = None
    frame_rate: str | None = None  # "25" or "30000/1001"
    sample_rate: int | None = None
    channels: int | None = None


@dataclasses.dataclass(frozen=True)
class DashMedia:
    """The video-only and audio-only DASH representations made from one source by :func:`make_dash_media`."""

    video: DashTrack
    audio: DashTrack

    @property
    def duration(self) -> float:
        """mediaPresentationDuration: the longer of the two tracks."""
        return max(self.video.duration, self.audio.duration)

    @property
    def tracks(self) -> tuple[DashTrack, DashTrack]:
        return (self.video, self.audio)


def top_level_boxes(path: Path) -> list[tuple[bytes, int, int]]:
    """(type, offset, size) for every top-level ISO BMFF box of ``path``."""
    boxes: list[tuple[bytes, int, int]] = []
    file_size = path.stat().st_size
    with path.open("rb") as handle:
        offset = 0
        while offset + 8 <= file_size:
            handle.seek(offset)
            header = handle.read(16)
            size = int.from_bytes(header[:4], "big")
            kind = header[4:8]
            if size == 1:
                size = int.from_bytes(header[8:16], "big")
            elif size == 0:
                size = file_size - offset
            if size < 8:
                raise ValueError(f"{path}: bad box size {size} at offset {offset}")
            boxes.append((kind, offset, size))
            offset += size
    return boxes


def _box_ranges(path: Path) -> tuple[tuple[int, int], tuple[int, int]]:
    """(init range, index range) of a fragmented MP4: ftyp..moov, then the sidx box."""
    boxes = top_level_boxes(path)
    kinds = [kind for kind, _, _ in boxes]
    if b"moov" not in kinds or b"sidx" not in kinds:
        raise ValueError(f"{path}: no moov or no sidx box (top-level boxes: {kinds})")
    _, moov_at, moov_size = boxes[kinds.index(b"moov")]
    _, sidx_at, sidx_size = boxes[kinds.index(b"sidx")]
    if sidx_at < moov_at or kinds.index(b"moof") < kinds.index(b"sidx"):
        raise ValueError(f"{path}: expected ftyp, moov, sidx, then fragments; got {kinds}")
    return (0, moov_at + moov_size - 1), (sidx_at, sidx_at + sidx_size - 1)


def _avc_codecs(path: Path, init_end: int) -> str:
    """The RFC 6381 codecs string ``avc1.PPCCLL`` from the avcC box in the init segment."""
    with path.open("rb") as handle:
        init = handle.read(init_end + 1)
    at = init.find(b"avcC")
    if at < 0:
        raise ValueError(f"{path}: no avcC box, not H.264")
    profile, compat, level = init[at + 5], init[at + 6], init[at + 7]
    return f"avc1.{profile:02x}{compat:02x}{level:02x}"


def _aac_codecs(profile: str | None) -> str:
    object_type = {"LC": 2, "HE-AAC": 5, "HE-AACv2": 29, "Main": 1, "LTP": 4}.get(profile or "LC", 2)
    return f"mp4a.40.{object_type}"


def _probe(path: Path) -> dict[str, Any]:
    entries = "stream=codec_type,codec_name,profile,width,height,r_frame_rate,sample_rate,channels:format=duration"
    command = ["ffprobe", "-v", "error", "-show_entries", entries, "-of", "json", str(path)]
    result: dict[str, Any] = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)
    return result


def _fragment(source: Path, out: Path, stream: str, extra: list[str]) -> None:
    """Copy the first ``stream`` ("v" or "a") of ``source`` into a fragmented MP4 of its own."""
    command = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-i", str(source), "-map", f"0:{stream}:0"]
    subprocess.run([*command, "-c", "copy", "-f", "mp4", *extra, str(out)], check=True)


def make_dash_media(source_mp4: Path, out_dir: Path, *, audio_fragment_seconds: float = 1.0) -> DashMedia:
    """Write ``out_dir/<stem>.video.mp4`` and ``out_dir/<stem>.audio.mp4``: single-stream fragmented MP4s laid out
    as ftyp, moov, sidx, then moof/mdat pairs (what YouTube serves for its DASH formats).

    Video fragments start at each keyframe; audio fragments last ``audio_fragment_seconds``. The source must have
    H.264 video and AAC audio (e.g. ``media.make_media``'s defaults).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    flags = "+empty_moov+default_base_moof+global_sidx"
    video_path = out_dir / f"{source_mp4.stem}.video.mp4"
    audio_path = out_dir / f"{source_mp4.stem}.audio.mp4"
    _fragment(source_mp4, video_path, "v", ["-movflags", "+frag_keyframe" + flags])
    _fragment(
        source_mp4,
        audio_path,
        "a",
        ["-frag_duration", str(int(audio_fragment_seconds * 1_000_000)), "-movflags", flags],
    )

    tracks: list[DashTrack] = []
    for kind, path in (("video", video_path), ("audio", audio_path)):
        probe = _probe(path)
        stream = probe["streams"][0]
        duration = float(probe["format"]["duration"])
        size = path.stat().st_size
        init_range, index_range = _box_ranges(path)
        common: dict[str, Any] = {
            "path": path,
            "kind": kind,
            "mime_type": f"{kind}/mp4",
            "duration": duration,
            "bandwidth": round(size * 8 / duration) if duration > 0 else 0,
            "size": size,
            "init_range": init_range,
            "index_range": index_range,
        }
        if kind == "video":
            if stream.get("codec_name") != "h264":
                raise ValueError(f"{source_mp4}: video is {stream.get('codec_name')}, not h264")
            num, _, den = str(stream.get("r_frame_rate", "0/1")).partition("/")
            rate = num if den in ("", "1") else f"{num}/{den}"
            track = DashTrack(
                **common,
                codecs=_avc_codecs(path, init_range[1]),
                width=int(stream["width"]),
                height=int(stream["height"]),
                frame_rate=rate,
            )
        else:
            if stream.get("codec_name") != "aac":
                raise ValueError(f"{source_mp4}: audio is {stream.get('codec_name')}, not aac")
            track = DashTrack(
                **common,
                codecs=_aac_codecs(stream.get("profile")),
                sample_rate=int(stream["sample_rate"]),
                channels=int(stream["channels"]),
            )
        tracks.append(track)
    return DashMedia(video=tracks[0], audio=tracks[1])


def _iso_duration(seconds: float) -> str:
    return f"PT{seconds:.3f}S"


def render_mpd(media: DashMedia, video_url: str, audio_url: str) -> str:
    """A static on-demand DASH MPD for ``media`` whose BaseURLs are the given absolute URLs.

    Representation ids (hence yt-dlp's format_ids for a manifest it reads with the generic extractor) are
    ``video`` and ``audio``.
    """
    v, a = media.video, media.audio

    def segment_base(track: DashTrack) -> str:
        return (
            f'<SegmentBase indexRange="{track.index_range[0]}-{track.index_range[1]}">'
            f'<Initialization range="{track.init_range[0]}-{track.init_range[1]}"/></SegmentBase>'
        )

    duration = _iso_duration(media.duration)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" profiles="urn:mpeg:dash:profile:isoff-on-demand:2011"'
        f' type="static" mediaPresentationDuration="{duration}" minBufferTime="PT1.500S">\n'
        f' <Period duration="{duration}">\n'
        '  <AdaptationSet id="0" contentType="video" mimeType="video/mp4" subsegmentAlignment="true"'
        ' subsegmentStartsWithSAP="1">\n'
        f'   <Representation id="video" codecs="{v.codecs}" width="{v.width}" height="{v.height}"'
        f' frameRate="{v.frame_rate}" bandwidth="{v.bandwidth}" startWithSAP="1">\n'
        f"    <BaseURL>{html.escape(video_url)}</BaseURL>\n"
        f"    {segment_base(v)}\n"
        "   </Representation>\n"
        "  </AdaptationSet>\n"
        '  <AdaptationSet id="1" contentType="audio" mimeType="audio/mp4" lang="en" subsegmentAlignment="true"'
        ' subsegmentStartsWithSAP="1">\n'
        f'   <Representation id="audio" codecs="{a.codecs}" audioSamplingRate="{a.sample_rate}"'
        f' bandwidth="{a.bandwidth}" startWithSAP="1">\n'
        '    <AudioChannelConfiguration schemeIdUri="urn:mpeg:dash:23003:3:audio_channel_configuration:2011"'
        f' value="{a.channels}"/>\n'
        f"    <BaseURL>{html.escape(audio_url)}</BaseURL>\n"
        f"    {segment_base(a)}\n"
        "   </Representation>\n"
        "  </AdaptationSet>\n"
        " </Period>\n"
        "</MPD>\n"
    )


# --------------------------------------------------------------------------------------------------------------
# Shared server plumbing
# --------------------------------------------------------------------------------------------------------------


class _LoopbackServer(ThreadingHTTPServer):
    """ThreadingHTTPServer on 127.0.0.1 that can be closed with no connection or thread left behind."""

    daemon_threads = True
    request_queue_size = 128

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(("127.0.0.1", 0), handler)
        self.live_lock = threading.Lock()
        self.live_sockets: set[socket.socket] = set()
        self.live_threads: set[threading.Thread] = set()
        self.closing = False
        name = f"loopback-{self.port}"
        self.thread = threading.Thread(target=self.serve_forever, args=(0.05,), name=name, daemon=True)

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def track(self, sock: socket.socket, thread: threading.Thread | None = None) -> None:
        """Remember an open socket (and the thread serving it) so that close() can end it."""
        with self.live_lock:
            self.live_sockets.add(sock)
            if thread is not None:
                self.live_threads.add(thread)
            closing = self.closing
        if closing:  # accepted just before close(): end it too
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def untrack(self, sock: socket.socket, thread: threading.Thread | None = None) -> None:
        with self.live_lock:
            self.live_sockets.discard(sock)
            if thread is not None:
                self.live_threads.discard(thread)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # a client going away mid-response is normal here; anything else still gets the default report
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)

    def start(self) -> None:
        self.thread.start()

    def close(self) -> None:
        self.shutdown()
        self.server_close()
        with self.live_lock:
            self.closing = True
            sockets = list(self.live_sockets)
            threads = list(self.live_threads)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        deadline = time.monotonic() + 5
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self.thread.join(max(0.0, deadline - time.monotonic()))


class _QuietHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 120  # idle keep-alive connections end by themselves eventually
    server: _LoopbackServer

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, threading.current_thread())

    def finish(self) -> None:
        try:
            with contextlib.suppress(OSError):
                super().finish()
        finally:
            self.server.untrack(self.connection, threading.current_thread())

    def log_message(self, format: str, *args: object) -> None:  # keep test output clean
        pass

    def hang_up(self) -> None:
        """Close the connection abruptly (FIN without the rest of the body)."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.wfile.flush()
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)


# --------------------------------------------------------------------------------------------------------------
# The video host
# --------------------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Seen:
    """One request a host answered, recorded when the response finished (the log keeps arrival order)."""

    method: str
    path: str  # as requested, query included
    range: str | None  # the Range header
    cookie: str | None  # the Cookie header
    headers: dict[str, str]
    status: int
    sent: int  # body bytes actually written


class _Unsatisfiable(Exception):
    pass


def parse_range(value: str | None, size: int) -> tuple[int, int] | None:
    """Inclusive (start, end) for a single ``bytes=`` range over ``size`` bytes, or None to serve the whole file
    (no header, multiple ranges, or a syntactically invalid one, which RFC 9110 says to ignore).
    Raises _Unsatisfiable for a range that starts past the end (416)."""
    if not value:
        return None
    match = re.fullmatch(r"\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*", value)
    if not match or not (match.group(1) or match.group(2)):
        return None
    first, last = match.group(1), match.group(2)
    if first:
        start = int(first)
        if last and int(last) < start:
            return None
        if start >= size:
            raise _Unsatisfiable
        end = min(int(last), size - 1) if last else size - 1
        return start, end
    suffix = int(last)
    if suffix == 0 or size == 0:
        raise _Unsatisfiable
    return max(0, size - suffix), size - 1


def requested_length(value: str) -> int | None:
    """Bytes a Range header asks for: ``bytes=N-M`` -> M-N+1, ``bytes=-S`` -> S, ``bytes=N-`` -> None
    (several ranges: their sum, or None if any is open-ended)."""
    total = 0
    unit, _, spec = value.partition("=")
    if unit.strip().lower() != "bytes":
        return None
    for part in spec.split(","):
        first, _, last = (side.strip() for side in part.partition("-"))
        if not (last.isdigit() and (first.isdigit() or not first)):
            return None
        total += int(last) - int(first) + 1 if first else int(last)
    return total


class Host:
    """A running :func:`serve_host` server. Behaviour attributes may be changed while it runs; each response uses
    the values current when it starts."""

    def __init__(
        self,
        root: Path,
        dash: Mapping[str, DashMedia] | None,
        *,
        throttle_over: int | None,
        throttle_rate: int,
        no_range: bool,
        require_cookie: str | None,
        require_header: tuple[str, str] | None,
        drop_every: int | None,
        expire_after_bytes: int | None,
    ) -> None:
        self.root = root
        self.dash: dict[str, DashMedia] = dict(dash or {})
        """Manifests served at /dash/<name>.mpd; add entries while running if needed."""
        self.redirects: dict[str, str] = {}
        """Paths answered with a 302 to the URL given (``{"/v.mp4": "http://..."}``); set while running."""
        self.redirect_ranges_only = False
        """Redirect only requests with a Range header (media reads), not a first look at the file."""
        self.throttle_over = throttle_over
        self.throttle_rate = throttle_rate
        self.no_range = no_range
        self.require_cookie = require_cookie
        self.require_header = require_header
        self.drop_every = drop_every
        self.expire_after_bytes = expire_after_bytes
        self.requests: list[Seen] = []  # in the order the requests arrived (see _end)
        self._arrivals: list[int] = []  # each request's arrival number, parallel to ``requests``
        self._arrived = 0
        self.bytes_sent = 0
        self._lock = threading.Condition()
        self._tokens: dict[str, int] = {}  # token -> media bytes served through it
        self._tokens_issued = 0
        self._in_flight = 0
        self._server: _LoopbackServer | None = None

    # -- addresses ---------------------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.port

    @property
    def base(self) -> str:
        """``http://127.0.0.1:PORT`` (no trailing slash)."""
        return f"http://127.0.0.1:{self.port}"

    def url(self, name: str) -> str:
        """Absolute URL of ``name`` (a path on this host, e.g. ``"short.mp4"`` or ``"dash/short.mpd"``)."""
        return f"{self.base}/{urllib.parse.quote(name.lstrip('/'), safe='/')}"

    def mpd_url(self, name: str) -> str:
        """URL of the DASH manifest of ``dash[name]``."""
        return self.url(f"dash/{name}.mpd")

    def token_url(self, name: str, token: str | None = None) -> str:
        """``name`` through ``/t/<token>/``; a fresh token is issued when none is given."""
        return self.url(f"t/{token or self.issue_token()}/{name.lstrip('/')}")

    # -- tokens ------------------------------------------------------------------------------------------------

    def issue_token(self) -> str:
        """A new valid token for ``/t/<token>/...`` URLs (the DASH manifest issues one per representation)."""
        token = secrets.token_hex(8)
        with self._lock:
            self._tokens[token] = 0
            self._tokens_issued += 1
        return token

    @property
    def tokens_issued(self) -> int:
        with self._lock:
            return self._tokens_issued

    def token_bytes(self, token: str) -> int:
        """Media bytes served through ``token`` so far."""
        with self._lock:
            return self._tokens[token]

    # -- logs --------------------------------------------------------------------------------------------------

    def reset(self) -> None:
        """Clear the request log, byte count and token count (issued tokens stay valid)."""
        with self._lock:
            self.requests.clear()
            self._arrivals.clear()
            self.bytes_sent = 0
            self._tokens_issued = 0

    def wait_idle(self, timeout: float = 2.0) -> bool:
        """Wait until no response is in progress (so the log is complete); False on timeout."""
        with self._lock:
            return self._lock.wait_for(lambda: self._in_flight == 0, timeout)

    def range_lengths(self) -> list[int | None]:
        """For every GET with a Range header, in order: the bytes it asked for (None for open-ended ``bytes=N-``)."""
        self.wait_idle()
        return [requested_length(seen.range) for seen in list(self.requests) if seen.method == "GET" and seen.range]

    def gets(self, contains: str = "") -> list[Seen]:
        """The GETs whose path contains ``contains``."""
        self.wait_idle()
        return [seen for seen in list(self.requests) if seen.method == "GET" and contains in seen.path]

    # -- used by the handler -----------------------------------------------------------------------------------

    def _begin(self) -> int:
        """Count a request in; its arrival number."""
        with self._lock:
            self._in_flight += 1
            self._arrived += 1
            return self._arrived

    def _end(self, seen: Seen, arrival: int) -> None:
        # Logged in arrival order: a client may send its next request before this handler has finished logging.
        with self._lock:
            at = bisect.bisect(self._arrivals, arrival)
            self._arrivals.insert(at, arrival)
            self.requests.insert(at, seen)
            self._in_flight -= 1
            self._lock.notify_all()

    def _count(self, sent: int, token: str | None) -> None:
        with self._lock:
            self.bytes_sent += sent
            if token is not None:
                self._tokens[token] += sent

    def _token_state(self, token: str) -> bytes | None:
        """None if the token may be used, else the 403 body."""
        with self._lock:
            if token not in self._tokens:
                return BAD_TOKEN
            budget = self.expire_after_bytes
            if budget is not None and self._tokens[token] > budget:
                return URL_EXPIRED
        return None


class _HostHandler(_QuietHandler):
    host: Host

    def do_GET(self) -> None:
        self._handle(head=False)

    def do_HEAD(self) -> None:
        self._handle(head=True)

    # -- plumbing ----------------------------------------------------------------------------------------------

    def _handle(self, head: bool) -> None:
        host = self.host
        self._status = 0
        self._sent = 0
        arrival = host._begin()
        try:
            self._route(head)
        finally:
            host._end(
                Seen(
                    method=self.command,
                    path=self.path,
                    range=self.headers.get("Range"),
                    cookie=self.headers.get("Cookie"),
                    headers=dict(self.headers.items()),
                    status=self._status,
                    sent=self._sent,
                ),
                arrival,
            )

    def _start(self, status: int, headers: dict[str, str]) -> None:
        self._status = status
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()

    def _small(self, status: int, body: bytes, head: bool, extra: dict[str, str] | None = None) -> None:
        self._start(
            status,
            {"Content-Type": "text/plain; charset=utf-8", "Content-Length": str(len(body)), **(extra or {})},
        )
        if not head and body:
            self.wfile.write(body)
            self._sent = len(body)
            self.host._count(len(body), None)

    def _wait(self, until: float) -> bool:
        """Sleep until ``until`` (monotonic); False as soon as the client has closed the connection."""
        while True:
            remaining = until - time.monotonic()
            if remaining <= 0:
                return True
            readable, _, _ = select.select([self.connection], [], [], remaining)
            if not readable:
                return True
            try:
                peek = self.connection.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                return False
            if not peek:
                return False
            # a pipelined request is waiting; it is not ours to read, so just sleep
            time.sleep(max(0.0, until - time.monotonic()))
            return True

    def _send_body(self, source: BinaryIO, length: int, token: str | None) -> None:
        """Write ``length`` bytes from ``source`` with the host's throttling and dropping behaviour."""
        host = self.host
        throttle_over, rate, drop_every = host.throttle_over, max(1, host.throttle_rate), host.drop_every
        throttled = throttle_over is not None and length > throttle_over
        limit = min(length, drop_every) if drop_every else length
        started = time.monotonic()
        while self._sent < limit:
            piece = source.read(min(PIECE, limit - self._sent))
            if not piece:
                break
            try:
                self.wfile.write(piece)
            except OSError:
                self.close_connection = True
                return
            self._sent += len(piece)
            host._count(len(piece), token)
            if throttled and self._sent < limit and not self._wait(started + self._sent / rate):
                self.close_connection = True
                return
        if self._sent < length:
            self.hang_up()

    # -- routes ------------------------------------------------------------------------------------------------

    def _route(self, head: bool) -> None:
        host = self.host
        wanted_header = host.require_header
        if wanted_header is not None and self.headers.get(wanted_header[0]) != wanted_header[1]:
            self._small(403, FORBIDDEN, head)
            return
        wanted_cookie = host.require_cookie
        if wanted_cookie is not None:
            cookies = [part.strip() for part in self.headers.get_all("Cookie", []) for part in part.split(";")]
            if wanted_cookie.strip() not in cookies:
                self._small(403, BOT_CHECK, head)
                return

        path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path)
        if path in host.redirects and (self.headers.get("Range") or not host.redirect_ranges_only):
            self._small(302, b"", head, {"Location": host.redirects[path]})
            return
        token = None
        if path.startswith("/t/"):
            token, _, path = path[3:].partition("/")
            path = "/" + path
            refusal = host._token_state(token)
            if refusal is not None:
                self._small(403, refusal, head)
                return

        if token is None and path.endswith(".m3u8") and host.expire_after_bytes is not None:
            playlist = self._resolve(path)
            if playlist is not None:
                self._playlist(playlist, path, head)
                return
        mpd = re.fullmatch(r"/dash/([^/]+)\.mpd", path)
        if mpd and token is None and mpd.group(1) in host.dash:
            self._manifest(host.dash[mpd.group(1)], mpd.group(1), head)
            return
        file = self._resolve(path)
        if file is None:
            self._small(404, b"Not found", head)
            return
        self._file(file, head, token)

    def _resolve(self, path: str) -> Path | None:
        host = self.host
        media = re.fullmatch(r"/dash/([^/]+)/(video|audio)\.mp4", path)
        if media and media.group(1) in host.dash:
            dash = host.dash[media.group(1)]
            return dash.video.path if media.group(2) == "video" else dash.audio.path
        root = host.root.resolve()
        candidate = (root / path.lstrip("/")).resolve()
        if candidate != root and root not in candidate.parents:
            return None
        return candidate if candidate.is_file() else None

    def _manifest(self, media: DashMedia, name: str, head: bool) -> None:
        host = self.host
        if host.expire_after_bytes is not None:
            video_url = host.token_url(f"dash/{name}/video.mp4")
            audio_url = host.token_url(f"dash/{name}/audio.mp4")
        else:
            video_url = host.url(f"dash/{name}/video.mp4")
            audio_url = host.url(f"dash/{name}/audio.mp4")
        body = render_mpd(media, video_url, audio_url).encode()
        self._start(200, {"Content-Type": content_type(".mpd"), "Content-Length": str(len(body))})
        if not head:
            self._send_body(io.BytesIO(body), len(body), None)

    def _playlist(self, playlist: Path, path: str, head: bool) -> None:
        """An HLS playlist whose segment URLs go through a fresh token (one for all of this fetch's segments)."""
        host = self.host
        token = host.issue_token()
        folder = path.rsplit("/", 1)[0]
        lines = [line if not line.strip() or line.startswith("#") else host.token_url(f"{folder}/{line.strip()}", token)
                 for line in playlist.read_text().splitlines()]  # fmt: skip
        body = ("\n".join(lines) + "\n").encode()
        self._start(200, {"Content-Type": content_type(".m3u8"), "Content-Length": str(len(body))})
        if not head:
            self._send_body(io.BytesIO(body), len(body), None)

    def _file(self, file: Path, head: bool, token: str | None) -> None:
        host = self.host
        size = file.stat().st_size
        headers = {"Content-Type": content_type(file.name)}
        try:
            wanted = None if host.no_range else parse_range(self.headers.get("Range"), size)
        except _Unsatisfiable:
            self._small(416, b"", head, {"Content-Range": f"bytes */{size}"})
            return
        if not host.no_range:
            headers["Accept-Ranges"] = "bytes"
        if wanted is None:
            start, end, status = 0, size - 1, 200
        else:
            (start, end), status = wanted, 206
            headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        length = end - start + 1
        headers["Content-Length"] = str(length)
        self._start(status, headers)
        if head or length <= 0:
            return
        with file.open("rb") as handle:
            handle.seek(start)
            self._send_body(handle, length, token)


@contextlib.contextmanager
def serve_host(
    root: Path,
    *,
    dash: Mapping[str, DashMedia] | None = None,
    throttle_over: int | None = None,
    throttle_rate: int = 128 * 1024,
    no_range: bool = False,
    require_cookie: str | None = None,
    require_header: tuple[str, str] | None = None,
    drop_every: int | None = None,
    expire_after_bytes: int | None = None,
) -> Iterator[Host]:
    """Serve ``root`` (and the DASH media in ``dash``) on 127.0.0.1 like a video host; see the module docstring for
    the URL layout. All behaviours are off by default and can be combined or changed on the Host while it runs:

    * ``throttle_over``/``throttle_rate``: a response whose body is longer than ``throttle_over`` bytes is sent at
      ``throttle_rate`` bytes/s (YouTube throttles responses over ~10 MiB); shorter ones go at full speed.
    * ``no_range``: ignore Range headers (always 200 with the whole file, no Accept-Ranges).
    * ``require_cookie`` (``"name=value"``): 403 "Sign in to confirm you're not a bot" for any request without it.
    * ``require_header`` (``(name, value)``): 403 for any request without that header value.
    * ``drop_every``: a response is cut (connection closed) after this many body bytes.
    * ``expire_after_bytes``: the DASH manifest's BaseURLs go through fresh ``/t/<token>/`` paths (one token per
      representation), and so do an HLS playlist's segments (one token per fetch of the playlist); once a token
      has served more than this many bytes, requests with it get 403 "URL expired".
      Unknown tokens always get 403.
    * ``dash``: ``{name: make_dash_media(...)}``; the manifest is at ``/dash/<name>.mpd``.
    """
    host = Host(
        root,
        dash,
        throttle_over=throttle_over,
        throttle_rate=throttle_rate,
        no_range=no_range,
        require_cookie=require_cookie,
        require_header=require_header,
        drop_every=drop_every,
        expire_after_bytes=expire_after_bytes,
    )
    handler = type("HostHandler", (_HostHandler,), {"host": host})
    server = _LoopbackServer(handler)
    host._server = server
    server.start()
    try:
        yield host
    finally:
        server.close()


# --------------------------------------------------------------------------------------------------------------
# Forward proxy
# --------------------------------------------------------------------------------------------------------------


class Proxy:
    """A running :func:`forward_proxy`."""

    def __init__(self, mark: tuple[str, str]) -> None:
        self.mark = mark
        self.requests: list[str] = []
        """Absolute URLs forwarded, in arrival order (recorded when each request arrives)."""
        self.refused: list[str] = []
        """Requests it would not forward (CONNECT, non-http targets), as ``"METHOD target"``."""
        self._server: _LoopbackServer | None = None

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.port

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``, for yt-dlp's ``proxy`` and ffmpeg's ``-http_proxy``."""
        return f"http://127.0.0.1:{self.port}"

    def reset(self) -> None:
        self.requests.clear()
        self.refused.clear()


class _ProxyHandler(_QuietHandler):
    proxy: Proxy

    def do_CONNECT(self) -> None:
        self.proxy.refused.append(f"CONNECT {self.path}")
        self._reply(501, b"CONNECT is not supported by this test proxy")

    def do_GET(self) -> None:
        self._forward()

    do_HEAD = do_POST = do_PUT = do_DELETE = do_OPTIONS = do_PATCH = do_GET

    def _reply(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _forward(self) -> None:
        target = urllib.parse.urlsplit(self.path)
        if target.scheme.lower() != "http" or not target.hostname:
            self.proxy.refused.append(f"{self.command} {self.path}")
            self._reply(400, b"This test proxy wants absolute http:// request targets")
            return
        self.proxy.requests.append(self.path)
        headers = [(name, value) for name, value in end_to_end(self.headers) if name.lower() != "host"]
        headers.insert(0, ("Host", target.netloc))
        headers.append(self.proxy.mark)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)) or None
        upstream = http.client.HTTPConnection(target.hostname, target.port or 80, timeout=60)
        sock: socket.socket | None = None
        try:
            try:
                upstream.putrequest(
                    self.command,
                    urllib.parse.urlunsplit(("", "", target.path or "/", target.query, "")),
                    skip_host=True,
                    skip_accept_encoding=True,
                )
                for name, value in headers:
                    upstream.putheader(name, value)
                upstream.endheaders(body)
                sock = upstream.sock
                if sock is not None:
                    self.server.track(sock)
                response = upstream.getresponse()
            except OSError as error:
                self._reply(502, f"Upstream failed: {error}".encode())
                return
            self._relay(response)
        finally:
            if sock is not None:
                self.server.untrack(sock)
            upstream.close()

    def _relay(self, response: http.client.HTTPResponse) -> None:
        self.send_response_only(response.status, response.reason)
        for name, value in end_to_end(response.headers):
            self.send_header(name, value)
        length_header = response.headers.get("Content-Length")
        bodiless = self.command == "HEAD" or response.status in (204, 304) or 100 <= response.status < 200
        if length_header is None and not bodiless:
            self.send_header("Connection", "close")  # length unknown: the end of the body is the end of the stream
            self.close_connection = True
        self.end_headers()
        if bodiless:
            return
        remaining = int(length_header) if length_header is not None else None
        while remaining is None or remaining > 0:
            try:
                piece = response.read1(PIECE if remaining is None else min(PIECE, remaining))
            except (OSError, http.client.HTTPException):
                piece = b""
            if not piece:
                break
            try:
                self.wfile.write(piece)
            except OSError:  # the client went away: let the upstream see it too
                self.close_connection = True
                return
            if remaining is not None:
                remaining -= len(piece)
        if remaining:  # upstream cut the body short: so do we
            self.hang_up()


@contextlib.contextmanager
def forward_proxy(mark: tuple[str, str] = ("X-Test-Proxy", "1")) -> Iterator[Proxy]:
    """A plain HTTP forward proxy on 127.0.0.1 for absolute-URI requests (``GET http://host:port/x``; CONNECT gets
    501). It forwards method, headers (Range and Cookie included, hop-by-hop headers dropped) and body, adds the
    ``mark`` header, and streams status, headers and body back. Pair it with ``serve_host(require_header=mark)``.
    """
    proxy = Proxy(mark)
    handler = type("ProxyHandler", (_ProxyHandler,), {"proxy": proxy})
    server = _LoopbackServer(handler)
    proxy._server = server
    server.start()
    try:
        yield proxy
    finally:
        server.close()


# --------------------------------------------------------------------------------------------------------------
# Cookies
# --------------------------------------------------------------------------------------------------------------


def write_cookies_txt(path: Path, name: str, value: str, domain: str = "127.0.0.1") -> Path:
    """Write a Netscape cookies.txt holding one cookie that yt-dlp (``cookiefile`` / ``--cookies``) sends to
    ``http://<domain>:<any port>/``: path ``/``, not secure, expiring in 2100. A domain starting with ``.`` also
    covers subdomains (not meaningful for an IP address)."""
    include_subdomains = "TRUE" if domain.startswith(".") else "FALSE"
    line = "\t".join([domain, include_subdomains, "/", "FALSE", "4102444800", name, value])
    path.write_text(f"# Netscape HTTP Cookie File\n\n{line}\n")
    return path
