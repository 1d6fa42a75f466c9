"""Where a note may send clipper: http(s) URLs on public hosts only (pure: the name lookup is netguard's).

A note is untrusted text; its ``url:`` must not make clipper request a loopback, private or link-local
address, or read a local file. The user's own config (``sources:``) may point anywhere.

A URL is taken only when every reader would find the same host in it: Python's ``urllib``, yt-dlp's
networking (``requests``/``urllib3``), curl and ffmpeg. So no backslash (a browser-style reader takes it for a
slash: ``http://127.0.0.1\\x/`` names 127.0.0.1), no user name, no percent-escape, space or non-ASCII letter in
the host, and an address only in its plain form (``127.1``, ``0x7f.1`` and ``2130706433`` all name 127.0.0.1
to some readers). An IPv6 address that carries an IPv4 one (mapped, compatible, NAT64, 6to4, Teredo) is
judged by the IPv4 address it leads to. A bracketed host must be an IPv6 address (``[v1.x]``, IPvFuture, is
not), and site-local addresses (``fec0::/10``) are private.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

SOURCES_HINT = "a `sources:` entry in the config may point a video there"

# Host and port pairs taken for public hosts. Empty: only a test that checks where a public host's redirect
# leads fills it in, in its own process.
PRETEND_PUBLIC: set[tuple[str, int | None]] = set()

_LABEL = r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?"
_HOST_NAME_RE = re.compile(rf"{_LABEL}(?:\.{_LABEL})*\.?")
# A last label some reader takes for (part of) an IPv4 address: decimal, octal or hex digits.
_NUMERIC_LABEL_RE = re.compile(r"(?:0[xX][0-9A-Fa-f]*|[0-9]+)")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052: the last 32 bits are the IPv4 address
_LOCAL_NAT64 = ipaddress.ip_network("64:ff9b:1::/48")  # RFC 8215: a network's own translator, never public
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
_IPV4_TRANSLATED = ipaddress.ip_network("::ffff:0:0:0/96")  # RFC 2765 (SIIT): the last 32 bits are the IPv4 address


def note_url_problem(url: str) -> str | None:
    """Why a note may not send clipper to ``url``, or None. A note names only http(s) URLs on public hosts;
    host names are looked up before fetching (``public_host_problem``), IP addresses are judged here."""
    if any(char == "\\" or char <= " " or char == "\x7f" for char in url):
        return f"url {url!r} has a backslash, space or control character (readers differ on where its host is)"
    try:
        parsed = urlsplit(url)
        scheme, host, port = parsed.scheme.lower(), parsed.hostname, parsed.port
    except ValueError:  # a bracketed host that is no IPv6 address, a port that is no number
        return f"url {url!r} is not an http(s) URL (a note may only name videos on public hosts)"
    if scheme not in ("http", "https") or not host:
        return f"url {url!r} is not an http(s) URL (a note may only name videos on public hosts)"
    if "@" in parsed.netloc:
        return f"url {url!r} carries a user name (a note may only name videos on public hosts)"
    if (host, port) in PRETEND_PUBLIC:
        return None
    bracketed = parsed.netloc.startswith("[")
    readable = _is_ipv6(host) if bracketed else _HOST_NAME_RE.fullmatch(host)  # urlsplit takes IPvFuture ([v1.x])
    if not parsed.netloc.isascii() or "%" in parsed.netloc or not readable:
        return f"url {url!r} has a host name readers may take for different hosts"
    if not bracketed and _NUMERIC_LABEL_RE.fullmatch(host.rstrip(".").rsplit(".", 1)[-1]):
        try:
            plain = str(ipaddress.IPv4Address(host))
        except ValueError:
            plain = ""
        if plain != host:
            return f"url {url!r} names an address in a form readers take differently (write it as a.b.c.d)"
    return address_problem(host)


def _is_ipv6(host: str) -> bool:
    try:
        ipaddress.IPv6Address(host)
    except ValueError:
        return False
    return True


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one leads to, where it carries one: mapped (``::ffff:a.b.c.d``), translated
    (``::ffff:0:a.b.c.d``), compatible (``::a.b.c.d``), NAT64 (``64:ff9b::a.b.c.d``), 6to4 (``2002:AABB:CCDD::``)
    or Teredo (its client)."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64 or address in _IPV4_COMPATIBLE or address in _IPV4_TRANSLATED:
        return ipaddress.IPv4Address(address.packed[12:])
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    return None


def _public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address):
        if address in _LOCAL_NAT64:
            return False
        inner = embedded_ipv4(address)
        if inner is not None:
            if not _public(inner):
                return False
            if address.ipv4_mapped is not None or address in _NAT64 or address in _IPV4_COMPATIBLE:
                return True  # these reach exactly the IPv4 address
            if address in _IPV4_TRANSLATED:
                return True
        if address.is_site_local:  # fec0::/10: deprecated, but a network may still route it inside
            return False
    return address.is_global and not address.is_multicast


def address_problem(host: str) -> str | None:
    """Why ``host`` (a name or an IP address) is not a public host, or None when it may be one."""
    lowered = host.lower().rstrip(".")
    if lowered == "localhost" or lowered.endswith((".localhost", ".local", ".internal", ".home.arpa")):
        return f"{host} is not a public host ({SOURCES_HINT})"
    try:
        address = ipaddress.ip_address(lowered.strip("[]"))
    except ValueError:
        return None
    if not _public(address):
        return f"{host} is not a public address ({SOURCES_HINT})"
    return None
