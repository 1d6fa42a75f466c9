"""Self-checks of tests/hosts.py against the real yt-dlp and ffmpeg: the fake video hosts must look to them like
the real thing, or the end-to-end tests built on them prove nothing."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yt_dlp
from hosts import (
    BAD_TOKEN,
    BOT_CHECK,
    URL_EXPIRED,
    DashMedia,
    Host,
    forward_proxy,
    make_dash_media,
    serve_host,
    top_level_boxes,
    write_cookies_txt,
)
from media import make_media
from yt_dlp.networking import Request

COOKIE = "session=abc123"


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("hosts")


@pytest.fixture(scope="module")
def source(folder: Path) -> Path:
    return make_media(folder / "src.mp4", seconds=4, size="160x90", gop=25)


@pytest.fixture(scope="module")
def dash(folder: Path, source: Path) -> DashMedia:
    return make_dash_media(source, folder / "dash")


@pytest.fixture(scope="module")
def blob(folder: Path) -> Path:
    """256 KiB of random bytes, to measure transfers with."""
    path = folder / "blob.bin"
    path.write_bytes(os.urandom(256 * 1024))
    return path


def ydl_params(**extra: Any) -> dict[str, Any]:
    # proxy "" = no proxy at all, whatever the environment says (only an explicit proxy is wanted here)
    return {"quiet": True, "no_warnings": True, "noprogress": True, "cachedir": False, "proxy": "", **extra}


def fetch(url: str, headers: dict[str, str] | None = None, method: str = "GET") -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def streams(path: Path) -> list[str]:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "stream=codec_type", "-of", "json", str(path)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return sorted(stream["codec_type"] for stream in json.loads(out)["streams"])


@pytest.fixture
def host(folder: Path, dash: DashMedia) -> Iterator[Host]:
    with serve_host(folder, dash={"src": dash}) as running:
        yield running


def test_dash_media_layout(dash: DashMedia) -> None:
    for track in dash.tracks:
        kinds = [kind for kind, _, _ in top_level_boxes(track.path)]
        assert kinds[:4] == [b"ftyp", b"moov", b"sidx", b"moof"]
        assert track.init_range[0] == 0 and track.index_range[0] == track.init_range[1] + 1
        with track.path.open("rb") as handle:
            handle.seek(track.index_range[0] + 4)
            assert handle.read(4) == b"sidx"
    assert dash.video.codecs.startswith("avc1.") and dash.audio.codecs == "mp4a.40.2"
    assert (dash.video.width, dash.video.height, dash.video.frame_rate) == (160, 90, "25")
    assert dash.audio.sample_rate == 48000 and 3.9 < dash.duration < 4.2
    assert kinds.count(b"moof") > 2  # audio is cut into fragments too


def test_ranges_head_and_lengths(host: Host, blob: Path) -> None:
    url, size, data = host.url(blob.name), blob.stat().st_size, blob.read_bytes()
    assert fetch(url) == (200, data)
    assert fetch(url, {"Range": "bytes=100-199"}) == (206, data[100:200])
    assert fetch(url, {"Range": "bytes=1000-"}) == (206, data[1000:])
    assert fetch(url, {"Range": "bytes=-50"}) == (206, data[-50:])
    assert fetch(url, {"Range": f"bytes={size - 10}-{size + 99}"}) == (206, data[-10:])
    assert fetch(url, {"Range": f"bytes={size}-"})[0] == 416
    assert fetch(url, {"Range": "bytes=0-0"}, method="HEAD") == (206, b"")
    assert fetch(host.url("nothing.mp4"))[0] == 404
    assert host.range_lengths() == [100, None, 50, 110, None]
    head = host.requests[-2]
    assert (head.method, head.status, head.sent) == ("HEAD", 206, 0)
    assert [seen.sent for seen in host.requests[:4]] == [size, 100, size - 1000, 50]
    assert host.bytes_sent == size + 100 + (size - 1000) + 50 + 10 + len(b"Not found")
    host.no_range = True
    assert fetch(url, {"Range": "bytes=100-199"}) == (200, data)
    host.reset()
    assert host.requests == [] and host.bytes_sent == 0


def test_dash_formats_extract_and_download(host: Host, dash: DashMedia, tmp_path: Path) -> None:
    with yt_dlp.YoutubeDL(ydl_params()) as ydl:
        info = ydl.extract_info(host.mpd_url("src"), download=False)
    formats = {f["format_id"]: f for f in info["formats"]}
    assert set(formats) == {"video", "audio"}
    video, audio = formats["video"], formats["audio"]
    assert video["protocol"] == audio["protocol"] == "http"
    assert video["url"] == host.url("dash/src/video.mp4") and audio["url"] == host.url("dash/src/audio.mp4")
    assert "fragments" not in video and "fragments" not in audio
    assert (video["vcodec"], video["acodec"], video["width"]) == (dash.video.codecs, "none", 160)
    assert (audio["vcodec"], audio["acodec"], audio["ext"]) == ("none", "mp4a.40.2", "m4a")

    params = ydl_params(format="bv+ba", outtmpl=str(tmp_path / "%(id)s.%(ext)s"), merge_output_format="mkv")
    with yt_dlp.YoutubeDL(params) as ydl:
        info = ydl.extract_info(host.mpd_url("src"), download=False)
        assert [f["format_id"] for f in info["requested_formats"]] == ["video", "audio"]
        info = ydl.extract_info(host.mpd_url("src"), download=True)
    merged = Path(info["requested_downloads"][0]["filepath"])
    assert merged.suffix == ".mkv" and streams(merged) == ["audio", "video"]
    media_gets = host.gets("/dash/src/")
    assert sum(seen.sent for seen in media_gets) == dash.video.size + dash.audio.size


def test_expiring_tokens(folder: Path, dash: DashMedia) -> None:
    with serve_host(folder, dash={"src": dash}, expire_after_bytes=100_000) as host:
        with yt_dlp.YoutubeDL(ydl_params()) as ydl:
            info = ydl.extract_info(host.mpd_url("src"), download=False)
        video = next(f for f in info["formats"] if f["format_id"] == "video")
        assert "/t/" in video["url"] and host.tokens_issued >= 2
        assert fetch(video["url"], {"Range": "bytes=0-99999"})[0] == 206  # exactly the budget: still valid
        assert fetch(video["url"], {"Range": "bytes=100000-100000"})[0] == 206  # over budget from now on
        assert fetch(video["url"], {"Range": "bytes=0-9"}) == (403, URL_EXPIRED)
        assert fetch(host.token_url("dash/src/video.mp4", "f" * 16)) == (403, BAD_TOKEN)
        fresh = host.token_url("dash/src/video.mp4")
        assert fetch(fresh, {"Range": "bytes=0-9"})[0] == 206
        host.expire_after_bytes = None  # behaviours change while running
        assert fetch(video["url"], {"Range": "bytes=0-9"})[0] == 206


def test_cookie_host(folder: Path, dash: DashMedia, tmp_path: Path) -> None:
    cookies = write_cookies_txt(tmp_path / "cookies.txt", "session", "abc123")
    with serve_host(folder, dash={"src": dash}, require_cookie=COOKIE) as host:
        assert fetch(host.mpd_url("src")) == (403, BOT_CHECK)
        with yt_dlp.YoutubeDL(ydl_params()) as ydl, pytest.raises(yt_dlp.utils.DownloadError, match="403"):
            ydl.extract_info(host.mpd_url("src"), download=False)
        with yt_dlp.YoutubeDL(ydl_params(cookiefile=str(cookies))) as ydl:
            info = ydl.extract_info(host.mpd_url("src"), download=False)
            assert {f["format_id"] for f in info["formats"]} == {"video", "audio"}
            with ydl.urlopen(Request(host.url("dash/src/video.mp4"), headers={"Range": "bytes=0-99"})) as response:
                assert response.status == 206 and len(response.read()) == 100
        host.wait_idle()
        assert host.requests[-1].cookie == COOKIE and host.requests[-1].status == 206


def test_proxy(folder: Path, dash: DashMedia, blob: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with forward_proxy() as proxy, serve_host(folder, dash={"src": dash}, require_header=proxy.mark) as host:
        with yt_dlp.YoutubeDL(ydl_params()) as ydl, pytest.raises(yt_dlp.utils.DownloadError, match="403"):
            ydl.extract_info(host.mpd_url("src"), download=False)
        with yt_dlp.YoutubeDL(ydl_params(proxy=proxy.url)) as ydl:
            info = ydl.extract_info(host.mpd_url("src"), download=False)
            assert {f["format_id"] for f in info["formats"]} == {"video", "audio"}
            request = Request(host.url(blob.name), headers={"Range": "bytes=10-109", "Cookie": COOKIE})
            with ydl.urlopen(request) as response:
                assert response.status == 206 and response.read() == blob.read_bytes()[10:110]
        host.wait_idle()
        last = host.requests[-1]
        assert (last.range, last.cookie, last.headers.get("X-Test-Proxy")) == ("bytes=10-109", COOKIE, "1")
        assert "Proxy-Connection" not in last.headers
        assert proxy.requests[-1] == host.url(blob.name) and host.mpd_url("src") in proxy.requests

        # ffmpeg honours no_proxy for -http_proxy, so make sure it does not exempt loopback
        for name in ("no_proxy", "NO_PROXY"):
            monkeypatch.delenv(name, raising=False)
        probe = ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0"]
        url = host.url("dash/src/video.mp4")
        direct = subprocess.run([*probe, url], capture_output=True, text=True)
        assert direct.returncode != 0 and "403" in direct.stderr
        proxied = subprocess.run([*probe, "-http_proxy", proxy.url, url], capture_output=True, text=True)
        assert proxied.returncode == 0 and float(proxied.stdout) > 3.5, proxied.stderr
        assert proxy.requests[-1] == url


def test_throttle(folder: Path, blob: Path) -> None:
    size = blob.stat().st_size  # 256 KiB
    with serve_host(folder, throttle_over=64 * 1024, throttle_rate=512 * 1024) as host:
        started = time.monotonic()
        assert fetch(host.url(blob.name), {"Range": "bytes=0-65535"})[0] == 206  # at the threshold: full speed
        fast = time.monotonic() - started
        started = time.monotonic()
        assert fetch(host.url(blob.name)) == (200, blob.read_bytes())
        slow = time.monotonic() - started
        assert fast < 0.1 and 0.4 < slow < 1.5, (fast, slow)  # 256 KiB at 512 KiB/s: 0.5 s

        # a client that hangs up ends the throttled response at once
        host.reset()
        host.throttle_rate = 32 * 1024
        connection = http.client.HTTPConnection("127.0.0.1", host.port, timeout=5)
        connection.request("GET", f"/{blob.name}")
        response = connection.getresponse()
        response.read(5_000)  # the first 16 KiB piece goes at once; the next is 0.5 s away
        connection.close()
        started = time.monotonic()
        assert host.wait_idle(2)
        assert time.monotonic() - started < 0.3
        assert host.requests[-1].sent < size / 2


def test_drop_every(folder: Path, blob: Path) -> None:
    with serve_host(folder, drop_every=40_000) as host:
        with pytest.raises(http.client.IncompleteRead):
            fetch(host.url(blob.name))
        assert fetch(host.url(blob.name), {"Range": "bytes=0-39999"}) == (206, blob.read_bytes()[:40_000])
        host.wait_idle()
        assert [seen.sent for seen in host.requests] == [40_000, 40_000]


def test_cookies_txt_loaded_for_any_loopback_port(tmp_path: Path) -> None:
    path = write_cookies_txt(tmp_path / "cookies.txt", "session", "abc123")
    with yt_dlp.YoutubeDL(ydl_params(cookiefile=str(path))) as ydl:
        for port in (80, 8080, 54321):
            assert ydl.cookiejar.get_cookie_header(f"http://127.0.0.1:{port}/x/y.mp4") == COOKIE
        assert not ydl.cookiejar.get_cookie_header("http://localhost:8080/")
