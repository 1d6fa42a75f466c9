"""A yt-dlp (or network) failure -> one FetchError line: final or worth retrying, with a hint where one helps."""

from __future__ import annotations

import re
import socket

from clipper.core.errors import FetchError, UnknownHost, Unreachable
from clipper.fetch import netguard

_SIGN_IN_HINT = ("the host wants you signed in: pass your browser's cookies with --cookies-from-browser firefox"
                 " or --cookies FILE")  # fmt: skip
_HINTS = (
    (("sign in to confirm", "http error 403", "forbidden", "login required", "cookies"), _SIGN_IN_HINT),
    (("http error 429", "too many requests", "rate-limit", "rate limit"),
     "the host is rate-limiting: add --sleep-requests 1.5 to yt_dlp_args, or try later"),
    (("failed to resolve", "name or service not known", "getaddrinfo", "nodename nor servname",
      "temporary failure in name resolution", "network is unreachable", "no address associated"),
     "offline or the host cannot be found; `sources:` in the config can point this video at a local copy"),
)  # fmt: skip


def hint_for(message: str) -> str | None:
    """What a user can do about a fetch failure, when there is something."""
    lowered = message.lower()
    for words, hint in _HINTS:
        if any(word in lowered for word in words):
            return hint
    return None


# getaddrinfo's numbers for a name that does not exist, where asking again gets the same answer: EAI_NONAME and
# EAI_NODATA of glibc and musl (-2, -5) and of macOS (8, 7), Windows' WSAHOST_NOT_FOUND and WSANO_DATA (11001,
# 11004). The platforms' numbers do not overlap; any other lookup failure (EAI_AGAIN: -3, 2, 11002) may pass.
_NO_SUCH_NAME = frozenset({-2, -5, 7, 8, 11001, 11004, socket.EAI_NONAME})
# getaddrinfo's words for a name that does not exist (glibc, musl, macOS, Windows), for a failure that carries no
# number. Windows says "getaddrinfo failed" for every lookup failure, final or not: not among them.
_UNKNOWN_HOST = ("name or service not known", "nodename nor servname", "no address associated",
                 "name does not resolve", "no such host is known")  # fmt: skip
_LOOKUP_WORDS = (*_UNKNOWN_HOST, "getaddrinfo", "name resolution")
_ERRNO_RE = re.compile(r"\[Errno (-?\d+)\] ([^)\]>]+)")
_UNKNOWN_HOST_HINT = "check the URL; `sources:` in the config can point this video at a local copy"


def _lookup_number(error: BaseException | None) -> int | None:
    """The number of the name lookup's failure (``socket.gaierror``) somewhere behind ``error``: yt-dlp wraps it
    in its own errors (``DownloadError.exc_info``, ``TransportError.cause``), urllib and urllib3 in theirs."""
    seen: set[int] = set()
    todo = [error]
    while todo:
        current = todo.pop(0)
        if current is None or id(current) in seen or len(seen) > 50:
            continue
        seen.add(id(current))
        if isinstance(current, socket.gaierror) and isinstance(current.errno, int):
            return current.errno
        exc_info = getattr(current, "exc_info", None)
        linked = [current.__cause__, current.__context__, getattr(current, "cause", None),
                  getattr(current, "reason", None), *(exc_info[1:2] if isinstance(exc_info, tuple) else ()),
                  *current.args]  # fmt: skip
        todo.extend(item for item in linked if isinstance(item, BaseException))
    return None


def unknown_host(message: str, error: BaseException | None = None) -> bool | None:
    """Whether yt-dlp's (or the network's) failure says the host's name does not exist (True), or that looking
    it up failed for now (False: asking again may find it); None when no lookup failed. Decided by the lookup's
    error number (behind ``error``, or in the message), by its words only when there is no number."""
    lowered = message.lower()
    number = _lookup_number(error)
    if number is None:
        found = next((match for match in _ERRNO_RE.finditer(message)
                      if any(words in match.group(2).lower() for words in _LOOKUP_WORDS)), None)  # fmt: skip
        number = int(found.group(1)) if found else None
    if number is not None:
        return number in _NO_SUCH_NAME
    if any(words in lowered for words in _UNKNOWN_HOST):
        return True
    return False if any(words in lowered for words in _LOOKUP_WORDS) else None


def fetch_error(message: str, retryable: bool | None = None, url: str | None = None,
                partway: bool = False, error: BaseException | None = None) -> FetchError:  # fmt: skip
    """yt-dlp's (or the host's) reason on one line, with a hint where one helps; ``url``: what was fetched,
    named whole where the reason would not say it (a host that does not exist); ``partway``: the failure
    came after the download got under way; ``error``: the exception that said ``message`` (its causes tell a
    name that does not exist from a lookup that failed for now)."""
    short = _short(message)
    refused = netguard.refusal(message)
    if refused is not None:  # a note's URL led to a private address: final
        return Unreachable(f"{url or 'a redirect or media URL'}: {refused} (a note's URL may only lead to public"
                           " hosts; a `sources:` entry in the config may point a video there)")  # fmt: skip
    lookup = unknown_host(message, error)
    if lookup:  # final: every try would get the same answer
        found = _ERRNO_RE.search(message)
        reason = found.group(2).strip() if found else "the name does not resolve"
        where = url or short
        return UnknownHost(f"{where}: the host cannot be found ({reason}; {_UNKNOWN_HOST_HINT})")
    hint = hint_for(short)
    retry = (_is_network(message) or lookup is False) if retryable is None else retryable
    if hint is _SIGN_IN_HINT:
        retry = False  # asking again without cookies gets the same answer
    if partway:
        # The host served the start, then refused (a signed URL that expired, most often): a fresh lookup
        # gets fresh URLs, and yt-dlp resumes from its .part file (and a fragment list from the fragment).
        retry, hint = True, "the host stopped serving it partway; its URL may have expired"
    return FetchError(f"{short} ({hint})" if hint and hint not in short else short, retryable=retry)


def _short(message: str) -> str:
    """yt-dlp's error on one line, without its ``ERROR:`` prefix and its ``(caused by ...)`` repetition."""
    if not message.strip():
        return "yt-dlp failed"
    line = message.replace("ERROR: ", "").strip().splitlines()[-1]
    return line.split(" (caused by ")[0]


def _is_network(message: str) -> bool:
    lowered = message.lower()
    return any(
        word in lowered
        for word in (
            "http error",
            "timed out",
            "connection",
            "unable to download",
            "network",
            "temporarily",
            "reset by peer",
            "incomplete",
        )
    )
