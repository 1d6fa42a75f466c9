"""The relay against a loopback host, with a plain HTTP reader in ffmpeg's place: what the host is asked for."""

from __future__ import annotations

import base64
import http.client
import os
import shutil
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from hosts import serve_host
from media import make_media

from clipper.core.errors import CutError
from clipper.core.streams import MediaStream
from clipper.fetch.relay import FIRST_CHUNK, Relay, Upstream, child_environment
from clipper.media.cut_args import http_args, section_argv
from clipper.media.ffmpeg import run_ffmpeg


def _open(url: str, headers: Mapping[str, str]) -> Any:
    return urllib.request.urlopen(urllib.request.Request(url, headers=dict(headers)), timeout=10)


def _secret(relay: Relay) -> str:
    return urllib.parse.urlsplit(relay.proxy).password or ""


def _credentials(user: str, password: str) -> dict[str, str]:
    return {"Proxy-Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def _get(url: str, headers: Mapping[str, str]) -> tuple[int, Mapping[str, str], bytes]:
    """A request as ffmpeg sends it to its proxy: the whole URL as the target."""
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    try:
        connection.request("GET", url, headers=dict(headers))
        response = connection.getresponse()
        return response.status, dict(response.headers), response.read()
    finally:
        connection.close()


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
            reader.request("GET", local.path, headers={"Range": "bytes=0-", **_credentials("clipper", _secret(relay))})
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


def test_only_requests_with_the_runs_secret_are_served(tmp_path: Path) -> None:
    """Any local user can reach 127.0.0.1: without the run's secret nothing is served, nothing asked of the host."""
    data = os.urandom(100_000)
    (tmp_path / "video.mp4").write_bytes(data)
    with serve_host(tmp_path) as host:
        relay = Relay(_open)
        try:
            url = relay.add(Upstream(host.url("video.mp4")), chunk_size=0)
            secret = _secret(relay)
            assert len(secret) >= 32 and secret not in url

            status, headers, _ = _get(url, {})
            assert status == 407 and headers["Proxy-Authenticate"] == 'Basic realm="clipper"'
            for user, password in [("clipper", "0" * len(secret)), ("clipper", secret[:-1]), ("other", secret),
                                   ("clipper", "")]:  # fmt: skip
                assert _get(url, _credentials(user, password))[0] == 403, (user, password)
            assert _get(url, {"Proxy-Authorization": "Basic !!"})[0] == 403
            assert _get(url, {"Proxy-Authorization": f"Bearer {secret}"})[0] == 403
            # The secret in the path (where it once was) is no credential.
            assert _get(f"{relay.base}/{secret}/{url.removeprefix(relay.base + '/')}", {})[0] == 407
            assert host.requests == []  # the host was never asked

            status, _, body = _get(url, _credentials("clipper", secret))
            assert status == 200 and body == data
            assert _get(f"{relay.base}/0123/unknown", _credentials("clipper", secret))[0] == 404
        finally:
            relay.close()


def test_the_secret_is_asked_of_every_request_and_only_in_proxy_authorization(tmp_path: Path) -> None:
    """The secret opens one request, not a connection; it counts only as the proxy's password, never in
    ``Authorization``, the path (the old form), the query or a header that is not Basic credentials."""
    (tmp_path / "video.mp4").write_bytes(os.urandom(10_000))
    with serve_host(tmp_path) as host:
        relay = Relay(_open)
        try:
            url = relay.add(Upstream(host.url("video.mp4")), chunk_size=0)
            secret = _secret(relay)
            good = _credentials("clipper", secret)
            key = url.removeprefix(relay.base + "/")
            refused = [
                (url, {"Authorization": good["Proxy-Authorization"]}, 407),  # a server's credentials, not a proxy's
                (f"{url}?secret={secret}", {}, 407),
                (f"{relay.base}/{secret}/{key}", {}, 407),  # the secret-path form clipper once used
                (f"{relay.base}/{secret}/{key}", good, 404),  # ... names no stream even with the secret
                (url, {"Proxy-Authorization": "Basic " + base64.b64encode(secret.encode()).decode()}, 403),  # no user
                (url, {"Proxy-Authorization": f"Basic {good['Proxy-Authorization'].split()[1]}x"}, 403),  # bad base64
                (url, {"Proxy-Authorization": "Basic"}, 403),
                (url, {"Proxy-Authorization": "Basic \u00e9\u00e9\u00e9\u00e9"}, 403),  # not ASCII
                (url, {"Proxy-Authorization": f"Digest username=clipper, response={secret}"}, 403),
                (url, _credentials("CLIPPER", secret), 403),  # the user name is part of the secret
                (url, _credentials("clipper", secret.upper()), 403),
                (url, _credentials("clipper", f"{secret}\n"), 403),
            ]
            for target, headers, status in refused:
                assert _get(target, headers)[0] == status, (target, headers)

            # One connection: a request with the secret is served, the next one without it is refused.
            parts = urllib.parse.urlsplit(url)
            connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
            try:
                for method, headers, status in [
                    ("GET", good, 200),
                    ("GET", {}, 407),
                    ("HEAD", {}, 407),
                    ("GET", _credentials("clipper", "x"), 403),
                    ("HEAD", good, 200),
                ]:
                    connection.request(method, url, headers=headers)
                    response = connection.getresponse()
                    response.read()
                    assert response.status == status, (method, headers)
            finally:
                connection.close()
            host.wait_idle(0.5)
            assert len(host.requests) == 2  # the two requests with the secret; none for the others
            # The secret is the relay's alone: the host is never shown it.
            assert not any(secret in f"{seen.path} {seen.headers}" for seen in host.requests), host.requests
        finally:
            relay.close()


def test_ffmpegs_environment_has_the_relay_as_its_proxy_and_no_way_around_it() -> None:
    base = {
        "PATH": "/bin",
        "no_proxy": "127.0.0.1,localhost",
        "NO_PROXY": "*",
        "http_proxy": "http://corp:3128",
        "HTTP_PROXY": "http://corp:3128",
    }
    assert child_environment(base, "http://clipper:s@127.0.0.1:9") == {
        "PATH": "/bin",
        "http_proxy": "http://clipper:s@127.0.0.1:9",
    }


def _ffmpegs() -> list[Any]:
    """The system's ffmpeg, and the newer one of the test extras (ffmpeg's proxy handling is what this relies on)."""
    found: list[Any] = ["ffmpeg"]
    try:
        import imageio_ffmpeg

        found.append(imageio_ffmpeg.get_ffmpeg_exe())
    except ImportError:
        found.append(pytest.param(None, marks=pytest.mark.skip(reason="no newer ffmpeg (imageio-ffmpeg)")))
    return found


def _framemd5(path: Path) -> list[str]:
    """Every packet's stream, timestamps, size and hash (a copy that seeked elsewhere differs)."""
    listing = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-map", "0", "-c", "copy", "-f", "framemd5",
                              "-"], capture_output=True, text=True, check=True).stdout  # fmt: skip
    return [line for line in listing.splitlines() if not line.startswith("#")]


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """20 s, a keyframe a second, its index at the end (ffmpeg reads it first, then seeks back)."""
    return make_media(tmp_path_factory.mktemp("relay-media") / "video.mp4", seconds=20, size="160x90", gop=25)


@pytest.mark.slow
@pytest.mark.parametrize("ffmpeg", _ffmpegs(), ids=["system", "newer"])
def test_ffmpeg_reads_a_section_through_the_relay_with_the_secret_from_its_environment_only(
    tmp_path: Path, source: Path, ffmpeg: str
) -> None:
    """The section's argv (what ``ps`` shows) holds no secret; ffmpeg seeks (an MP4's index, then the section)
    with Range requests through the relay, and gets the same packets as from the file itself."""
    tools = tmp_path / "bin"
    tools.mkdir()
    shutil.copy(shutil.which(ffmpeg) or ffmpeg, tools / "ffmpeg")
    environ = {**os.environ, "PATH": f"{tools}{os.pathsep}{os.environ['PATH']}", "no_proxy": "127.0.0.1"}
    direct = tmp_path / "direct.mp4"
    run_ffmpeg(section_argv([MediaStream(str(source))], 6.0, 12.0, str(direct)), env=environ)
    with serve_host(source.parent) as host:
        relay = Relay(_open)
        try:
            url = relay.add(Upstream(host.url("video.mp4")), chunk_size=64 * 1024)
            argv = section_argv([MediaStream(url, via_relay=True)], 6.0, 12.0, str(tmp_path / "relayed.mp4"))
            assert not any(_secret(relay) in arg for arg in argv)
            with pytest.raises(CutError):  # without the secret: refused
                run_ffmpeg(argv, env=environ)
            run_ffmpeg(argv, env=relay.environment(environ))
            ranges = [seen.range for seen in host.requests if seen.range]
        finally:
            relay.close()
    assert _framemd5(tmp_path / "relayed.mp4") == _framemd5(direct)
    assert any(not (value or "").startswith("bytes=0-") for value in ranges), ranges  # it did seek
