"""The relay against a loopback host, with a plain HTTP reader in ffmpeg's place: what the host is asked for."""

from __future__ import annotations

import http.client
import os
import socket
import time
import urllib.parse
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hosts import serve_host

from clipper.cut import http_args
from clipper.fetch import MediaStream
from clipper.relay import FIRST_CHUNK, Relay, Upstream


def _open(url: str, headers: Mapping[str, str]) -> Any:
    return urllib.request.urlopen(urllib.request.Request(url, headers=dict(headers)), timeout=10)


class _Reader(http.client.HTTPConnection):
    """ffmpeg's side of the socket: its receive buffer as clipper sets it (``-recv_buffer_size``)."""

    def __init__(self, host: str, port: int | None, receive_buffer: int) -> None:
        super().__init__(host, port, timeout=10)
        self.receive_buffer = receive_buffer

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.receive_buffer)
        self.sock.settimeout(self.timeout)
        self.sock.connect((self.host, self.port))


def test_a_reader_that_stops_reading_costs_the_host_about_one_small_chunk(tmp_path: Path) -> None:
    """ffmpeg reads an MP4's index from byte 0, then seeks away or stops at a section's end, and leaves that
    read open a while: the relay must not fetch ahead of it (into sockets' buffers, megabytes on loopback)."""
    args = http_args(MediaStream(url="http://127.0.0.1/x", via_relay=True))
    receive_buffer = int(args[args.index("-recv_buffer_size") + 1])
    (tmp_path / "video.mp4").write_bytes(os.urandom(24 * 1024 * 1024))
    with serve_host(tmp_path) as host:
        relay = Relay(_open)
        try:
            local = urllib.parse.urlsplit(relay.add(Upstream(host.url("video.mp4")), chunk_size=10 * 1024 * 1024))
            reader = _Reader(local.hostname or "", local.port, receive_buffer)
            reader.request("GET", local.path, headers={"Range": "bytes=0-"})
            response = reader.getresponse()
            assert response.status == 206
            assert len(response.read(300_000)) == 300_000  # the index
            time.sleep(0.5)  # the relay and the host do what they will while the reader reads elsewhere
            host.wait_idle(0.5)
            sent = host.bytes_sent
            reader.close()
        finally:
            relay.close()
    # The first request (512 KiB) and perhaps the next; never the 4+ MB a loopback socket would take in.
    assert sent <= 3 * FIRST_CHUNK, sent
