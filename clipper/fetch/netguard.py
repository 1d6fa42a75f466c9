"""Every address yt-dlp connects to for a note's URL must be public: its redirects and media URLs too.

The note's own URL is checked before anything is fetched (``public_host_problem``), but a public
host may redirect to ``http://127.0.0.1:8080/admin``, and the media URL an extractor finds is the page's to
choose. So while a thread works for a note's URL (``only_public``), each name yt-dlp's networking looks up
(``socket.getaddrinfo``: urllib, requests/urllib3 and http.client all connect through it, IP literals
included) must lead to public addresses only, or the connection is refused before it is made. The user's own
``sources:`` and proxy are trusted and never checked.

Threads yt-dlp starts itself (concurrent fragment downloads) do not carry the mark: a note's whole download
runs its fragments one at a time (``download.download_options``), and processes (ffmpeg, rtmpdump) never get a
note's media to download (``downloader_guard``). A proxy is trusted on its own host and port only. Not
checked: the hosts a proxy reaches (it looks them up, not clipper) and requests made with ``--impersonate``
(curl looks names up in C).
"""

from __future__ import annotations

import contextlib
import functools
import re
import socket
import threading
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import urlsplit

from clipper.policy import addresses

REFUSED = "refused to connect to"  # the words that tell a refusal from any other failure, in yt-dlp's message

_marks = threading.local()
_install_lock = threading.Lock()
_original_getaddrinfo = socket.getaddrinfo


class NotPublic(OSError):
    """A connection for a note's URL would have gone to a non-public address."""

    final = True  # asking again gets the same answer


def _guarded_getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
    found = _original_getaddrinfo(host, port, *args, **kwargs)
    allowed: frozenset[tuple[str, int]] | None = getattr(_marks, "allowed", None)
    if allowed is None:  # this thread works for the user's own config, or is not clipper's
        return found
    name = host.decode() if isinstance(host, bytes) else str(host)
    number = int(port) if isinstance(port, int) or (isinstance(port, str) and port.isdigit()) else None
    if (name, number) in allowed or (name, number) in addresses.PRETEND_PUBLIC:
        return found
    for *_, sockaddr in found:
        problem = addresses.address_problem(str(sockaddr[0]))
        if problem is not None:
            shown = name if name == str(sockaddr[0]) else f"{name} ({sockaddr[0]})"
            raise NotPublic(f"{REFUSED} {shown}: not a public address")
    return found


def install() -> None:
    """Put the check in place (once per process; it checks nothing in threads ``only_public`` did not mark)."""
    with _install_lock:
        if socket.getaddrinfo is not _guarded_getaddrinfo:
            socket.getaddrinfo = _guarded_getaddrinfo


def guarded() -> bool:
    """Whether this thread works for a note's URL (inside ``only_public``)."""
    return getattr(_marks, "allowed", None) is not None


# The port a proxy URL without one listens on, by its scheme (as yt-dlp's and urllib3's proxy handling take it).
_PROXY_PORTS = {"http": 80, "https": 443, "socks": 1080, "socks4": 1080, "socks4a": 1080, "socks5": 1080,
                "socks5h": 1080}  # fmt: skip


def proxy_address(proxy: str) -> tuple[str, int] | None:
    """The (host, port) a proxy URL connects to, or None when it names none."""
    try:
        parsed = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
        host, port = parsed.hostname, parsed.port
    except ValueError:
        return None
    if not host:
        return None
    return host, port if port is not None else _PROXY_PORTS.get(parsed.scheme.lower(), 80)


@functools.cache
def environment_proxies() -> tuple[str, ...]:
    """The environment's proxies yt-dlp would use, read once per process (on Windows they come from the
    registry, and every relay request of a note's video asks)."""
    import urllib.request  # here: it loads http.client and email, which planning never needs

    # "no" is the no_proxy list: hosts reached directly, not a proxy.
    return tuple(proxy for scheme, proxy in urllib.request.getproxies().items() if proxy and scheme != "no")


@contextlib.contextmanager
def only_public(proxies: Iterable[str | None] = ()) -> Iterator[None]:
    """While inside, this thread connects to public addresses only; ``proxies``: the user's proxy settings, whose
    addresses are trusted (without one, the environment's proxies, which yt-dlp then uses): a proxy looks the
    hosts up, and its own address is the user's choice. The same host on another port is not the proxy: a direct
    connection there is checked like any other."""
    install()
    proxies = list(proxies)
    # A proxy of the user's own (even "", none at all) is the one yt-dlp uses: the environment's are not.
    used = proxies if any(proxy is not None for proxy in proxies) else environment_proxies()
    allowed = frozenset(address for proxy in used if proxy
                        for address in [proxy_address(proxy)] if address)  # fmt: skip
    previous = getattr(_marks, "allowed", None)
    _marks.allowed = allowed if previous is None else previous | allowed
    try:
        yield
    finally:
        _marks.allowed = previous


# A refusal runs to the end of its line or to yt-dlp's "(caused by ...)": "... 127.0.0.1: not a public address",
# or one of a downloader that looks hosts up itself (``downloader_guard.downloader_refusal``).
_REFUSAL_RE = re.compile(rf"{REFUSED} [^\n]+?(?= \(caused by |\n|$)")


def refusal(message: str) -> str | None:
    """The refusal in a failure's message (yt-dlp wraps it in its own words), or None."""
    found = _REFUSAL_RE.search(message)
    return found.group(0) if found else None


def public_host_problem(url: str) -> str | None:
    """Like ``note_url_problem``, after looking the host name up: a name that resolves to 127.0.0.1 counts.
    A name that cannot be looked up is left to yt-dlp, which says so in its own words."""
    problem = addresses.note_url_problem(url)
    if problem is not None:
        return problem
    parsed = urlsplit(url)  # parsed once already by note_url_problem
    host = parsed.hostname or ""
    if (host, parsed.port) in addresses.PRETEND_PUBLIC:
        return None
    try:
        found = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return None
    for *_, sockaddr in found:
        address = str(sockaddr[0])
        if addresses.address_problem(address) is not None:
            return f"{host} resolves to {address}, not a public address ({addresses.SOURCES_HINT})"
    return None
