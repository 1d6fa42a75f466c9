"""Test media made with ffmpeg's lavfi sources, and a loopback HTTP server that honours Range requests.

Used by the test suite's session fixtures and by the benchmark under bench/.
"""

from __future__ import annotations

import contextlib
import re
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


def make_media(
    path: Path,
    *,
    seconds: float = 60,
    size: str = "320x180",
    rate: str = "25",
    gop: int = 50,
    vcodec: str = "libx264",
    acodec: str | None = "aac",
    bframes: int | None = None,
    extra: list[str] | None = None,
    pix_fmt: str = "yuv420p",
    audio: str | None = None,
) -> Path:
    """Write a test video: testsrc2 picture (every frame differs) plus a 1 kHz beep once a second.

    ``gop`` frames between keyframes, fixed (scene-cut keyframes off) so tests know where they are.
    ``pix_fmt`` is libx264's (x264 picks the profile that holds it: High 10, High 4:2:2, High 4:4:4).
    ``audio``: another lavfi audio source instead of the beeps (``speech_bursts`` for one with pauses).
    """
    args = [
        "ffmpeg",
        "-hide_banner",
        "-loglevel",
        "error",
        "-y",
        "-f",
        "lavfi",
        "-i",
        f"testsrc2=size={size}:rate={rate}:duration={seconds}",
    ]
    if acodec:
        source = audio or f"sine=frequency=1000:beep_factor=4:sample_rate=48000:duration={seconds}"
        args += ["-f", "lavfi", "-i", source]
    args += ["-map", "0:v"] + (["-map", "1:a"] if acodec else [])
    if vcodec == "libx264":
        params = "scenecut=0" + (f":bframes={bframes}" if bframes is not None else "")
        args += [
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-g",
            str(gop),
            "-keyint_min",
            str(gop),
            "-x264-params",
            params,
            "-pix_fmt",
            pix_fmt,
        ]
    elif vcodec == "libvpx-vp9":
        args += [
            "-c:v",
            "libvpx-vp9",
            "-g",
            str(gop),
            "-keyint_min",
            str(gop),
            "-deadline",
            "realtime",
            "-cpu-used",
            "8",
            "-b:v",
            "300k",
        ]
    else:
        args += ["-c:v", vcodec, "-g", str(gop)]
    if acodec:
        args += ["-c:a", acodec] + (["-b:a", "96k"] if acodec in ("aac", "libopus") else [])
    args += extra or []
    args.append(str(path))
    subprocess.run(args, check=True)
    return path


def speech_bursts(seconds: float, level: float = 0.05, period: float = 1.8, sounding: float = 1.2) -> str:
    """A lavfi source of "speech": a 440 Hz tone for ``sounding`` seconds of every ``period``, silent in between
    (tone from 0 to 1.2 s, a pause to 1.8 s, and so on), at ``level`` of full scale (0.05: about -30 LUFS)."""
    return f"aevalsrc='{level}*sin(2*PI*440*t)*lt(mod(t\\,{period})\\,{sounding})':s=48000:d={seconds}"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    root: Path
    requests: list[tuple[str, str | None]]
    bytes_sent: list[int]
    dropped: list[str]

    def log_message(self, format: str, *args: object) -> None:  # keep test output clean
        pass

    def do_HEAD(self) -> None:
        self._serve(head=True)

    def do_GET(self) -> None:
        self._serve(head=False)

    def _serve(self, head: bool) -> None:
        self.requests.append((self.path, self.headers.get("Range")))
        name = self.path.split("?")[0].lstrip("/")
        mode, _, name = name.partition("/") if name.startswith(("drop/", "drop1/", "404/", "slow/")) else ("", "", name)
        path = self.root / name
        if mode == "404" or not path.is_file():
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        data_size = path.stat().st_size
        start, end = 0, data_size - 1
        match = re.fullmatch(r"bytes=(\d*)-(\d*)", self.headers.get("Range", ""))
        if match and (match.group(1) or match.group(2)):
            if match.group(1):
                start = int(match.group(1))
                end = min(int(match.group(2)), data_size - 1) if match.group(2) else data_size - 1
            else:
                start = max(0, data_size - int(match.group(2)))
            if start >= data_size:
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{data_size}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{end}/{data_size}")
        else:
            self.send_response(200)
        length = end - start + 1
        self.send_header("Content-Type", "video/webm" if name.endswith(".webm") else "video/mp4")
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Length", str(length))
        self.end_headers()
        if head:
            return
        # drop1: the first large response to a read from inside the file is cut once (a read from byte 0 is a
        # lookup's or a player's first look, which it may leave after a few bytes: it would not see the cut).
        drop = mode == "drop" or (mode == "drop1" and length > 100_000 and start > 0 and not self.dropped)
        limit = length // 3 if drop else length
        with path.open("rb") as handle:
            handle.seek(start)
            remaining = limit
            while remaining > 0:
                chunk = handle.read(min(65536, remaining))
                if not chunk:
                    break
                try:
                    self.wfile.write(chunk)
                except (BrokenPipeError, ConnectionResetError):
                    return
                self.bytes_sent.append(len(chunk))
                remaining -= len(chunk)
                if mode == "slow":
                    time.sleep(0.05)
        if drop:  # counted only once the client has had its third: a client that left before was not cut off
            self.dropped.append(self.path)
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(2)


@contextlib.contextmanager
def serve(root: Path) -> Iterator[tuple[str, type[_Handler]]]:
    """Serve ``root`` on 127.0.0.1 (a free port). ``/drop/NAME`` cuts every response after a third
    (``/drop1/NAME`` only the first large one),
    ``/404/NAME`` answers 404, ``/slow/NAME`` sends about 1 MB/s. Yields (base URL, handler class
    holding the request log and byte count)."""
    handler = type("Handler", (_Handler,), {"root": root, "requests": [], "bytes_sent": [], "dropped": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)  # a quick shutdown
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler
    finally:
        server.shutdown()
        server.server_close()


@contextlib.contextmanager
def serve_without_ranges(root: Path) -> Iterator[tuple[str, list[tuple[str, str | None]]]]:
    """Serve ``root`` on 127.0.0.1 as ``python3 -m http.server`` does: Python's own file server, which ignores
    Range requests (every GET answers 200 with the whole file) and says nothing of Accept-Ranges. Yields (base URL,
    the requests: path and Range header)."""
    requests: list[tuple[str, str | None]] = []

    class Handler(SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(root), **kwargs)

        def log_message(self, format: str, *args: object) -> None:
            pass

        def send_head(self) -> Any:
            requests.append((self.path, self.headers.get("Range")))
            return super().send_head()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", requests
    finally:
        server.shutdown()
        server.server_close()
