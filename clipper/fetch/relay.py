"""A relay on 127.0.0.1 between ffmpeg and a media host: ffmpeg seeks as it likes, the host sees bounded requests.

ffmpeg reads a URL with open-ended Range requests (``bytes=N-``), and hosts like YouTube throttle any long
response to a crawl. So ffmpeg reads from this relay instead, and the relay serves each of its reads from
Range requests of at most ``chunk_size`` bytes, made through yt-dlp's own networking (``YoutubeDL.urlopen``,
so the user's cookies, proxy, impersonation and headers apply as yt-dlp applies them), one after another as
ffmpeg reads on. ffmpeg keeps its own seeking (it reads an MP4's index, then jumps to the section); a read it
abandons costs at most the block in flight.

A connection the host drops mid-chunk is resumed from the byte where it stopped (ffmpeg never notices); a 403
or 410 (a signed URL that expired) asks ``refresh`` for a fresh URL once and goes on from the same byte.
Other failures end ffmpeg's read, and ``failure(url)`` tells the runner why, in words a user can act on.

Only clipper's own ffmpeg may read from the relay (it fetches with the user's cookies): every request must carry
the run's secret, and the secret never appears in a command line, which every local user can read (``ps``). The
relay is ffmpeg's HTTP *proxy*: ffmpeg takes its proxy, credentials and all, from the ``http_proxy`` variable of
its environment (``environment``), which only the user's own processes can read (Linux: /proc/PID/environ is
the owner's; macOS and Windows show a process's environment to its owner and administrators only), and sends the
credentials in ``Proxy-Authorization`` on every request once the relay asked for them (407). The media URLs in
its argv name only a stream. (ffmpeg has no option that reads headers or a URL from a file: ``-headers`` would
put the secret back in argv; a concat list in a private file would, but changes how the input is demuxed.)
"""

from __future__ import annotations

import base64
import contextlib
import hmac
import re
import secrets
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import urlsplit

from clipper.core.streams import SOCKET_BUFFER  # each end of a socket between the relay and ffmpeg

BLOCK = 64 * 1024
_RANGE_RE = re.compile(r"bytes=(\d+)-(\d*)$")
_CONTENT_RANGE_RE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")
_NO_RETRY = (400, 401, 404, 405, 416)  # the host's answer will not change by asking again
FIRST_CHUNK = 512 * 1024  # a read's first upstream request (see next_chunk_size)
MAX_REFRESHES = 3  # lookups of a fresh URL for one chunk (the runner makes one lookup serve every reader)
PROXY_USER = "clipper"
# ffmpeg skips the proxy for hosts listed in ``no_proxy``: its environment has none (the relay is the only host),
# and no other proxy under any spelling (Windows' names ignore case).
_PROXY_VARIABLES = ("http_proxy", "no_proxy")


class Response(Protocol):
    status: int
    headers: Any

    def read(self, amount: int) -> bytes: ...

    def close(self) -> None: ...


Opener = Callable[[str, Mapping[str, str]], Response]


@dataclass(frozen=True)
class Upstream:
    """Where a stream's bytes come from now (a host's URL and the headers it wants)."""

    url: str
    headers: Mapping[str, str] = field(default_factory=dict)


class RelayError(Exception):
    """The host would not give the bytes; ``status`` is its HTTP status when it answered."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status

    @property
    def retryable(self) -> bool:
        """Whether asking again (a new lookup, a new section) may help: not when the host refused outright."""
        return self.status not in (*_NO_RETRY, 403, 410)


@dataclass
class _Stream:
    upstream: Upstream
    refresh: Callable[[Upstream], Upstream] | None
    chunk_size: int  # 0: no limit
    on_bytes: Callable[[int], None] | None
    opener: Opener | None = None  # this stream's own (a note's: connections checked), else the relay's
    size: int | None = None
    failure: RelayError | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


def child_environment(base: Mapping[str, str], proxy: str) -> dict[str, str]:
    """``base`` with ``proxy`` as ffmpeg's HTTP proxy (``http_proxy``, the only name ffmpeg reads) and no
    ``no_proxy`` list that could send ffmpeg past it."""
    environment = {key: value for key, value in base.items() if key.lower() not in _PROXY_VARIABLES}
    environment["http_proxy"] = proxy
    return environment


def stream_key(target: str) -> str:
    """The stream a request names: its path without the leading ``/``, whether ffmpeg sent the path alone or,
    talking to a proxy, the whole URL."""
    if "://" in target:
        parts = urlsplit(target)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
    return target.removeprefix("/")


def status_of(error: BaseException) -> int | None:
    """The HTTP status of a yt-dlp (or urllib) HTTP error, else None."""
    status = getattr(error, "status", None) or getattr(error, "code", None)
    return status if isinstance(status, int) else None


def parse_range(header: str | None) -> tuple[int, int | None]:
    """``bytes=N-`` / ``bytes=N-M`` -> (N, M or None); no header: the whole file."""
    match = _RANGE_RE.match((header or "").strip())
    if not match:
        return 0, None
    return int(match.group(1)), int(match.group(2)) if match.group(2) else None


def next_chunk_size(previous: int | None, chunk_size: int) -> int:
    """The size of a read's next upstream request: the first is small and each one after doubles, up to
    ``chunk_size`` (0: no limit). ffmpeg leaves many reads after a few bytes (an index, a seek), and what
    the host sent of an abandoned request is wasted; long reads soon reach the full chunk size."""
    if chunk_size <= 0:
        return 0
    return min(chunk_size, FIRST_CHUNK if previous is None else 2 * previous)


def chunk_ranges(start: int, last: int | None, chunk_size: int) -> tuple[int, int | None]:
    """The next upstream request from ``start``: at most ``chunk_size`` bytes, never past ``last``."""
    if chunk_size <= 0:
        return start, last
    end = start + chunk_size - 1
    return start, end if last is None else min(end, last)


class Relay:
    """The relay server. ``add`` gives ffmpeg a local URL for an upstream stream; ``close`` stops it all."""

    def __init__(self, opener: Opener, *, retries: int = 3, retry_delay: float = 0.5, rate_limit: float | None = None,
                 stopping: threading.Event | None = None,
                 log: Callable[[str], None] | None = None) -> None:  # fmt: skip
        self.opener = opener
        self.retries = retries
        self.retry_delay = retry_delay
        self.rate_limit = rate_limit
        self.stopping = stopping or threading.Event()
        self.log = log or (lambda text: None)
        self._secret = secrets.token_hex(16)  # other local users cannot use the relay (and its cookies)
        self._streams: dict[str, _Stream] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        # serve_forever looks for a shutdown request every poll interval: 0.5 s by default, which every run
        # would wait at its end.
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02},
                                        name="relay", daemon=True)  # fmt: skip
        self._thread.start()

    @property
    def base(self) -> str:
        """Where the streams' URLs start: no secret in it (they are shown in ffmpeg's argv)."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def proxy(self) -> str:
        """The relay as ffmpeg's HTTP proxy, with the run's secret as the proxy password."""
        return f"http://{PROXY_USER}:{self._secret}@127.0.0.1:{self._server.server_address[1]}"

    def environment(self, base: Mapping[str, str]) -> dict[str, str]:
        """The environment an ffmpeg reading the relay runs in: ``base`` with the relay as its proxy."""
        return child_environment(base, self.proxy)

    def authorized(self, header: str | None) -> bool:
        """Whether a ``Proxy-Authorization`` header carries this run's secret."""
        scheme, _, value = (header or "").strip().partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            given = base64.b64decode(value.strip(), validate=True)
        except ValueError:
            return False
        return hmac.compare_digest(given, f"{PROXY_USER}:{self._secret}".encode())

    def add(self, upstream: Upstream, *, chunk_size: int, refresh: Callable[[Upstream], Upstream] | None = None,
            on_bytes: Callable[[int], None] | None = None, name: str = "media",
            opener: Opener | None = None) -> str:  # fmt: skip
        """A local URL that serves ``upstream``'s bytes; ``name`` only makes logs readable; ``opener``: how this
        stream's requests are made (and its refreshed URLs'), when not as the relay's."""
        key = f"{secrets.token_hex(6)}/{re.sub(r'[^A-Za-z0-9._-]', '_', name)[:60]}"
        with self._lock:
            self._streams[key] = _Stream(upstream, refresh, chunk_size, on_bytes, opener)
        return f"{self.base}/{key}"

    def failure(self, url: str) -> RelayError | None:
        """Why the host would not serve the stream behind ``url`` (its last failure), or None."""
        stream = self._lookup(url.removeprefix(f"{self.base}/"))
        return stream.failure if stream else None

    def remove(self, url: str) -> None:
        with self._lock:
            self._streams.pop(url.removeprefix(f"{self.base}/"), None)

    def close(self) -> None:
        self.stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def _lookup(self, key: str) -> _Stream | None:
        with self._lock:
            return self._streams.get(key)

    # -- upstream requests ------------------------------------------------------------------------------
    def open_chunk(self, stream: _Stream, start: int, last: int | None,
                   size: int | None = None) -> tuple[Response, int, int | None]:  # fmt: skip
        """Open the request for the chunk from ``start`` (``size`` bytes, or the stream's chunk size):
        (response positioned at ``start``, its last byte, the whole file's size). Retries what the network
        broke; asks for a fresh URL when one expired."""
        attempt, refreshes = 0, 0
        while True:
            if self.stopping.is_set():
                raise RelayError("interrupted")
            chunk_start, chunk_end = chunk_ranges(start, last, stream.chunk_size if size is None else size)
            upstream = stream.upstream
            headers = {**upstream.headers, "Accept-Encoding": "identity",
                       "Range": f"bytes={chunk_start}-{'' if chunk_end is None else chunk_end}"}  # fmt: skip
            try:
                response = (stream.opener or self.opener)(upstream.url, headers)
                return self._positioned(stream, response, start)
            except Exception as error:  # yt-dlp's networking errors, OSError, http.client's
                status = status_of(error)
                if status == 416:
                    raise RelayError("past the end of the file", 416) from None
                if getattr(error, "final", False):  # the opener knows asking again cannot help
                    raise RelayError(_describe(error)) from None
                # A fresh URL may be refused too when the lookup raced another reader's: a few lookups, no more.
                if status in (403, 410) and stream.refresh is not None and refreshes < MAX_REFRESHES:
                    refreshes += 1
                    self.log(f"the host answered {status}: the media URL has expired; looking it up again")
                    try:
                        new = stream.refresh(upstream)
                    except Exception as refresh_error:
                        raise RelayError(f"looking the media up again failed: {refresh_error}") from None
                    with stream.lock:
                        stream.upstream = new
                    continue
                if status is not None and (status in _NO_RETRY or status in (403, 410)):
                    raise RelayError(f"HTTP Error {status}: {_reason(error)}", status) from None
                attempt += 1
                if attempt > self.retries:
                    raise RelayError(_describe(error), status) from None
                delay = self.retry_delay * 2 ** (attempt - 1)
                self.log(f"{_describe(error)}; retrying from byte {start} in {delay:g}s ({attempt}/{self.retries})")
                self.stopping.wait(delay)

    def _positioned(self, stream: _Stream, response: Response, start: int) -> tuple[Response, int, int | None]:
        content_range = _header(response, "Content-Range")
        match = _CONTENT_RANGE_RE.match(content_range or "")
        if response.status == 206 and match:
            if int(match.group(1)) != start:
                response.close()
                raise RelayError(f"the host sent bytes from {match.group(1)}, not from {start}")
            size = None if match.group(3) == "*" else int(match.group(3))
            stream.size = size or stream.size
            return response, int(match.group(2)), stream.size
        # A host that ignores Range sends the whole file: skip to ``start`` (nothing can be chunked then).
        length = _header(response, "Content-Length")
        size = int(length) if length and length.isdigit() else None
        stream.size = size or stream.size
        skip = start
        while skip > 0:
            data = response.read(min(BLOCK, skip))
            if not data:
                response.close()
                raise RelayError(f"the file ends before byte {start}", 416)
            skip -= len(data)
        return response, (size - 1 if size else -1), stream.size


def _header(response: Response, name: str) -> str | None:
    headers = response.headers
    value = headers.get(name) if hasattr(headers, "get") else None
    return str(value) if value is not None else None


def _reason(error: BaseException) -> str:
    reason = getattr(error, "reason", None) or getattr(error, "msg", None) or ""
    return str(reason) or type(error).__name__


def _describe(error: BaseException) -> str:
    status = status_of(error)
    if status is not None:
        return f"HTTP Error {status}: {_reason(error)}"
    return str(error).strip().splitlines()[-1] if str(error).strip() else type(error).__name__


def _handler_for(relay: Relay) -> type[BaseHTTPRequestHandler]:
    class Handler(_RelayHandler):
        pass

    Handler.relay = relay
    return Handler


class _RelayHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    relay: Relay

    def log_message(self, format: str, *args: object) -> None:
        pass

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SOCKET_BUFFER)

    def do_HEAD(self) -> None:
        self._serve(body=False)

    def do_GET(self) -> None:
        self._serve(body=True)

    def _serve(self, body: bool) -> None:
        relay = self.relay
        credentials = self.headers.get("Proxy-Authorization")
        if credentials is None:  # ffmpeg sends the proxy's credentials once asked for them
            self._empty(407, {"Proxy-Authenticate": f'Basic realm="{PROXY_USER}"'})
            return
        if not relay.authorized(credentials):
            self._empty(403)
            return
        stream = relay._lookup(stream_key(self.path))
        if stream is None:
            self._empty(404)
            return
        start, last = parse_range(self.headers.get("Range"))
        if stream.size is not None and start >= stream.size:
            self._empty(416, {"Content-Range": f"bytes */{stream.size}"})
            return
        chunk = next_chunk_size(None, stream.chunk_size)
        try:
            response, chunk_end, size = relay.open_chunk(stream, start, last, chunk)
        except RelayError as error:
            if error.status == 416:
                self._empty(416, {"Content-Range": f"bytes */{stream.size or '*'}"})
            else:
                stream.failure = error
                self._empty(502)
            return
        end = last if last is not None else (size - 1 if size else None)
        headers = {"Accept-Ranges": "bytes", "Content-Type": _header(response, "Content-Type") or "video/mp4"}
        if end is None:  # size unknown: send until the host's body ends
            headers["Connection"] = "close"
            self.close_connection = True
        else:
            headers["Content-Length"] = str(end - start + 1)
            if self.headers.get("Range") or start:
                headers["Content-Range"] = f"bytes {start}-{end}/{size if size else '*'}"
        self.send_response(206 if "Content-Range" in headers else 200)
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        if not body:
            response.close()
            return
        self._pump(stream, response, start, chunk_end, end, chunk)

    def _pump(self, stream: _Stream, response: Response, position: int, chunk_end: int, end: int | None,
              chunk: int) -> None:  # fmt: skip
        """Copy chunk after chunk to ffmpeg until ``end``; resume dropped chunks where they stopped."""
        relay = self.relay
        started, sent, resumes = time.monotonic(), 0, 0
        try:
            while end is None or position <= end:
                chunk_done = 0 <= chunk_end < position
                data: bytes | None = b""
                if not chunk_done:
                    want = BLOCK if end is None else min(BLOCK, end - position + 1)
                    if chunk_end >= 0:
                        want = min(want, chunk_end - position + 1)
                    try:
                        data = response.read(want)
                    except Exception as error:  # the host dropped the connection: resume from here
                        relay.log(f"the host's connection broke at byte {position} ({_describe(error)}); resuming")
                        data = None
                if data:
                    self.wfile.write(data)
                    position += len(data)
                    sent += len(data)
                    if stream.on_bytes:
                        stream.on_bytes(len(data))
                    if relay.rate_limit:
                        ahead = sent / relay.rate_limit - (time.monotonic() - started)
                        if ahead > 0:
                            time.sleep(ahead)
                    continue
                response.close()
                if chunk_done:
                    resumes = 0
                else:
                    if data == b"" and chunk_end < 0:
                        return  # a body of unknown length ended
                    resumes += 1
                    if resumes > relay.retries:
                        raise RelayError(f"the host kept dropping the connection ({resumes} times in one chunk)")
                    if data == b"":
                        relay.log(f"the host's response ended early at byte {position}; resuming")
                    relay.stopping.wait(relay.retry_delay * 2 ** (resumes - 1) if resumes > 1 else 0)
                try:
                    # A resumed chunk asks for the rest of that chunk only: it completes, and the count starts over.
                    until = end if chunk_done or chunk_end < 0 else chunk_end
                    if chunk_done:
                        chunk = next_chunk_size(chunk, stream.chunk_size)
                    response, chunk_end, _ = relay.open_chunk(stream, position, until, chunk)
                except RelayError as error:
                    if error.status == 416 and end is None:
                        return  # the file's size was unknown: this was its end
                    raise
        except RelayError as error:
            stream.failure = error
            self.close_connection = True  # ffmpeg sees a short read and reports it; the runner says why
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError):
            self.close_connection = True  # ffmpeg went elsewhere (a seek) or stopped
        finally:
            with contextlib.suppress(Exception):
                response.close()

    def _empty(self, status: int, headers: Mapping[str, str] | None = None) -> None:
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", "0")
        self.end_headers()
