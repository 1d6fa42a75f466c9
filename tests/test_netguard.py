"""Where a note's URL may lead clipper: the addresses judged, the connections checked, the failures told apart."""

from __future__ import annotations

import socket
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from clipper.core.errors import UnknownHost
from clipper.fetch import download, failures, netguard, youtubedl, ytdlp_argv
from clipper.policy.addresses import note_url_problem


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        # A bracketed host is an IPv6 address or nothing: urlsplit takes IPvFuture (``v1.x``) as a host name.
        ("http://[v1.127.0.0.1]/", "url 'http://[v1.127.0.0.1]/' has a host name readers may take for different hosts"),
        ("http://[v1.example.org]/v.mp4", "url 'http://[v1.example.org]/v.mp4' has a host name readers may take"
                                          " for different hosts"),
        ("http://[::ffff:0:7f00:1]/", "::ffff:0:7f00:1 is not a public address"),  # IPv4-translated (RFC 2765)
        ("http://[::ffff:0:a9fe:a9fe]/", "::ffff:0:a9fe:a9fe is not a public address"),
        ("http://[::ffff:0:5db8:d822]/v.mp4", None),  # translated 93.184.216.34: public
        ("http://[fec0::1]/", "fec0::1 is not a public address"),  # site-local (deprecated, RFC 3879)
        ("http://[feff::1]/", "feff::1 is not a public address"),
        ("http://[2606:4700::1111]/v.mp4", None),
    ],
)  # fmt: skip
def test_bracketed_hosts_and_ipv6_forms_that_lead_somewhere_private(url: str, problem: str | None) -> None:
    found = note_url_problem(url)
    assert (found if problem is None else (found or "").split(" (")[0]) == problem


@pytest.fixture
def proxied(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """An environment with proxies on 127.0.0.1 (and no lookups: every name answers 127.0.0.1)."""
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:3128")
    monkeypatch.setenv("https_proxy", "http://127.0.0.2")
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    monkeypatch.setattr(netguard, "_original_getaddrinfo", lambda host, port, *a, **k: [
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", int(port or 0)))])  # fmt: skip
    netguard.environment_proxies.cache_clear()  # read afresh: the environment is this test's
    yield
    netguard.environment_proxies.cache_clear()


USERS = ["socks5://127.0.0.3", "https://user:secret@127.0.0.4:8888"]


@pytest.mark.parametrize(
    ("proxies", "host", "port", "allowed"),
    [
        ([None], "127.0.0.1", 3128, True),  # the environment's proxy, on its port
        ([None], "127.0.0.1", 8080, False),  # the proxy's host on another port: a direct connection (no_proxy)
        ([None], "127.0.0.1", 80, False),
        ([None], "127.0.0.2", 80, True),  # a proxy URL without a port: http's
        ([None], "127.0.0.2", 443, False),
        (USERS, "127.0.0.3", 1080, True),  # the user's own SOCKS proxy, its default port
        (USERS, "127.0.0.3", 1081, False),
        (USERS, "127.0.0.4", 8888, True),
        (USERS, "127.0.0.4", 443, False),
        (USERS, "127.0.0.1", 3128, False),  # with a proxy of the user's, yt-dlp does not use the environment's
        ([""], "127.0.0.1", 3128, False),  # --proxy "": no proxy at all
    ],
)
def test_only_a_proxys_own_host_and_port_are_trusted(
    proxied: None, proxies: list[str | None], host: str, port: int, allowed: bool
) -> None:
    with netguard.only_public(proxies):
        if allowed:
            assert socket.getaddrinfo(host, port)
        else:
            with pytest.raises(netguard.NotPublic, match=rf"refused to connect to {host}"):
                socket.getaddrinfo(host, port)


def test_the_environments_proxies_are_read_once(proxied: None, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real = urllib.request.getproxies

    def counted() -> dict[str, str]:
        calls.append(1)
        return real()

    monkeypatch.setattr(urllib.request, "getproxies", counted)
    for _ in range(5):
        with netguard.only_public([None]):
            socket.getaddrinfo("127.0.0.1", 3128)
    assert len(calls) == 1  # read at the first check, then remembered


def _wrapped(inner: BaseException) -> Exception:
    """A failure as yt-dlp reports it: the lookup's error deep in a chain of its own (and urllib3's)."""
    from yt_dlp.networking.exceptions import TransportError
    from yt_dlp.utils import DownloadError

    try:
        try:
            try:
                raise inner
            except BaseException as error:
                raise urllib.error.URLError(error) from error
        except urllib.error.URLError as error:
            raise TransportError(cause=error) from error
    except TransportError as error:
        message = f"ERROR: [generic] Unable to download webpage: {inner} (caused by {error!r})"
        return DownloadError(message, (type(error), error, error.__traceback__))


WINDOWS_WORDS = "getaddrinfo failed"
MACOS_WORDS = "nodename nor servname provided, or not known"


@pytest.mark.parametrize(
    ("number", "words", "final"),
    [
        (socket.EAI_NONAME, "Name or service not known", True),
        (socket.EAI_AGAIN, "Temporary failure in name resolution", False),
        (socket.EAI_AGAIN, WINDOWS_WORDS, False),  # Windows says the same words for every lookup failure
        (11001, WINDOWS_WORDS, True),  # WSAHOST_NOT_FOUND
        (11002, WINDOWS_WORDS, False),  # WSATRY_AGAIN: the server may answer next time
        (8, MACOS_WORDS, True),  # macOS's EAI_NONAME
        (2, "nodename nor servname provided, or not known", False),  # macOS's EAI_AGAIN, whatever the words
        (socket.EAI_NONAME, MACOS_WORDS, True),
    ],
)
def test_a_lookup_failure_is_final_by_its_number_not_its_words(number: int, words: str, final: bool) -> None:
    error = _wrapped(socket.gaierror(number, words))
    found = failures.fetch_error(str(error), url="http://example.org/v.mp4", error=error)
    assert isinstance(found, UnknownHost) is final, found.message
    if not final:
        assert found.retryable, found.message


@pytest.mark.parametrize(
    ("message", "final"),
    [
        ("ERROR: Unable to download webpage: [Errno -2] Name or service not known", True),
        ("ERROR: Unable to download webpage: <urlopen error [Errno 11002] getaddrinfo failed>", False),
        ("ERROR: Unable to download webpage: <urlopen error [Errno 11001] getaddrinfo failed>", True),
        ("ERROR: Unable to download webpage: nodename nor servname provided, or not known", True),
    ],
)
def test_without_the_exception_the_number_in_the_message_decides(message: str, final: bool) -> None:
    found = failures.fetch_error(message, url="http://example.org/v.mp4")
    assert isinstance(found, UnknownHost) is final, found.message


def test_a_notes_whole_download_fetches_one_fragment_at_a_time_whatever_the_user_asks() -> None:
    argv = ytdlp_argv.download_argv("https://example.org/v.m3u8", "b", (), "out.%(ext)s", user_args=["-N", "8"],
                               public_only=True)  # fmt: skip
    assert download.download_options(argv, public_only=True)["concurrent_fragment_downloads"] == 1
    # However the argv came to be (an option after clipper's own), a note's download never runs threads.
    argv = [*argv[:-2], "-N", "8", *argv[-2:]]
    assert download.download_options(argv, public_only=True)["concurrent_fragment_downloads"] == 1
    users = ytdlp_argv.download_argv("https://example.org/v.m3u8", "b", (), "out.%(ext)s", user_args=["-N", "8"])
    assert download.download_options(users, public_only=False)["concurrent_fragment_downloads"] == 8


class _FakeResponse:
    status = 200
    headers: ClassVar[dict[str, str]] = {"Content-Length": "0"}

    def read(self, amount: int) -> bytes:
        return b""

    def close(self) -> None:
        pass


class _FakeSession:
    """A session that records whether a runner's lock was held while it was built (a real one may read a
    browser's cookies and wait for the user)."""

    built: ClassVar[list[bool]] = []
    opened: ClassVar[list[str]] = []
    runner: Any = None

    def __init__(self, argv: list[str]) -> None:
        runner = _FakeSession.runner  # its bookkeeping locks: the fetcher's and the manifest's
        _FakeSession.built.append(runner.fetcher._lock.locked() or runner.manifest._lock.locked())
        self.params: dict[str, Any] = {}

    def open(self, url: str, headers: Any) -> Any:
        _FakeSession.opened.append(f"{'guarded' if netguard.guarded() else 'unguarded'} {url}")
        return _FakeResponse()

    def close(self) -> None:
        pass


def test_a_notes_relay_session_is_built_outside_the_runners_lock_and_guards_its_streams(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from clipper.fetch import relay
    from clipper.plan.config import Config
    from clipper.run import pool
    from clipper.run.progress import Reporter

    monkeypatch.setattr(youtubedl, "Session", _FakeSession)
    monkeypatch.setattr(ytdlp_argv, "js_runtime", lambda: None)
    made = pool.Runner(Config(output_dir=tmp_path), Reporter())
    _FakeSession.runner, _FakeSession.built, _FakeSession.opened = made, [], []
    media_relay = made.fetcher.relay.media_relay()
    try:
        for public in (True, False):
            # A note's stream asks through the notes' session, guarded, whatever URL it is refreshed to.
            url = media_relay.add(relay.Upstream(f"http://example.org/{public}.mp4"), chunk_size=0,
                                  opener=made.fetcher.relay.open_public if public else None)  # fmt: skip
            stream = media_relay._lookup(url.removeprefix(f"{media_relay.base}/"))
            assert stream is not None
            media_relay.open_chunk(stream, 0, None)
    finally:
        made.fetcher.relay.close()
    assert _FakeSession.opened == ["guarded http://example.org/True.mp4", "unguarded http://example.org/False.mp4"]
    assert _FakeSession.built == [False, False]  # the user's session, then the notes' one: neither under the lock


@pytest.mark.parametrize(("number", "final"), [(11001, True), (11002, False), (socket.EAI_AGAIN, False)])
def test_a_relay_requests_lookup_failure_is_judged_by_its_number(number: int, final: bool) -> None:
    from clipper.fetch import relay

    def opener(url: str, headers: Any) -> Any:
        raise socket.gaierror(number, "getaddrinfo failed")

    media_relay = relay.Relay(opener, retries=0, retry_delay=0)
    try:
        stream = relay._Stream(relay.Upstream("http://example.org/v.mp4"), None, 0, None)
        with pytest.raises(relay.RelayError) as failed:
            media_relay.open_chunk(stream, 0, None)
    finally:
        media_relay.close()
    found = failures.fetch_error(str(failed.value), retryable=failed.value.retryable, error=failed.value)
    assert isinstance(found, UnknownHost) is final, found.message
