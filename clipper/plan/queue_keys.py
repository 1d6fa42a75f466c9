"""The queue's settings (pure): a broker URL's check, per-host fetch limits, and the limit a source falls under."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

BROKER_SCHEMES = ("redis", "rediss", "unix")
MAX_HOST_LIMIT = 1000
MIN_HEARTBEAT, MAX_HEARTBEAT = 1.0, 3600.0


def shown_url(url: str) -> str:
    """A broker URL as it may be printed: its password hidden."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return parts._replace(netloc=f"{user}:***@{host}").geturl()


def broker_problem(url: str) -> str | None:
    """Why ``url`` names no Redis broker (``redis://HOST:PORT/DB``, ``rediss://``, ``unix://PATH``); None if it does."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        return f"not a broker URL ({error})"
    if parts.scheme not in BROKER_SCHEMES:
        return "not a Redis URL: use redis://HOST:PORT/DB (or rediss://, unix://PATH)"
    if parts.scheme == "unix":
        return None if parts.path else "unix:// needs the socket's path"
    if not parts.hostname:
        return "no host in the URL: use redis://HOST:PORT/DB"
    database = parts.path.strip("/")
    if database and not database.isdigit():
        return f"the database must be a number, not {database!r}"
    return None if port is None or port > 0 else "the port must be above 0"


def host_limits_problem(limits: Mapping[Any, Any]) -> str | None:
    """Why ``limits`` (host -> fetches at once) cannot be used; None if it can."""
    for host, limit in limits.items():
        if not isinstance(host, str) or not host or any(char in host for char in "/@ \t"):
            return f"host_limits: {host!r} is not a host name (like youtube.com)"
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_HOST_LIMIT:
            return f"host_limits.{host} must be a whole number from 1 to {MAX_HOST_LIMIT}, not {limit!r}"
    return None


def host_of(source: str) -> str | None:
    """The host a source URL is fetched from (lower case); None for a local file."""
    try:
        host = urlsplit(source).hostname
    except ValueError:
        return None
    return host.lower().rstrip(".") if host else None


def limit_for(source: str, limits: Mapping[str, int]) -> tuple[str, int] | None:
    """The ``host_limits`` entry a source falls under: its host's, or its nearest parent domain's
    (``youtube.com`` covers ``www.youtube.com``); None when no limit applies."""
    host = host_of(source)
    if host is None:
        return None
    wanted = {key.lower().rstrip("."): (key, limit) for key, limit in limits.items()}
    labels = host.split(".")
    for index in range(len(labels)):
        found = wanted.get(".".join(labels[index:]))
        if found is not None:
            return found[0].lower().rstrip("."), found[1]
    return None
