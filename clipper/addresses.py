"""Where a note may send clipper: http(s) URLs on public hosts only (pure, but for the name lookup).

A note is untrusted text; its ``url:`` must not make clipper request a loopback, private or link-local
address, or read a local file. The user's own config (``sources:``) may point anywhere.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlparse

_SOURCES_HINT = "a `sources:` entry in the config may point a video there"


def note_url_problem(url: str) -> str | None:
    """Why a note may not send clipper to ``url``, or None. A note names only http(s) URLs on public hosts;
    host names are looked up before fetching (``fetch.public_host_problem``), IP addresses are judged here."""
    try:
        parsed = urlparse(url)
        scheme, host = parsed.scheme.lower(), parsed.hostname
    except ValueError:  # a bracketed host that is no IPv6 address
        scheme, host = "", None
    if scheme not in ("http", "https") or not host:
        return f"url {url!r} is not an http(s) URL (a note may only name videos on public hosts)"
    return address_problem(host)


def address_problem(host: str) -> str | None:
    """Why ``host`` (a name or an IP address) is not a public host, or None when it may be one."""
    lowered = host.lower().rstrip(".")
    if lowered == "localhost" or lowered.endswith((".localhost", ".local", ".internal", ".home.arpa")):
        return f"{host} is not a public host ({_SOURCES_HINT})"
    try:
        address = ipaddress.ip_address(lowered.strip("[]"))
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if not address.is_global or address.is_multicast:
        return f"{host} is not a public address ({_SOURCES_HINT})"
    return None


def public_host_problem(url: str) -> str | None:
    """Like ``note_url_problem``, after looking the host name up: a name that resolves to 127.0.0.1 counts.
    A name that cannot be looked up is left to yt-dlp, which says so in its own words."""
    problem = note_url_problem(url)
    if problem is not None:
        return problem
    host = urlparse(url).hostname or ""  # parsed once already by note_url_problem
    try:
        found = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return None
    for *_, sockaddr in found:
        address = str(sockaddr[0])
        if address_problem(address) is not None:
            return f"{host} resolves to {address}, not a public address ({_SOURCES_HINT})"
    return None
