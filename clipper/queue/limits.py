"""Limits every worker keeps together, through Redis: at most N fetches at once per host (``host_limits``), a
pause for the whole host after it answered 429 or 403, and one whole download of a video at a time.

A slot is a holder's entry with its own expiry, renewed while the fetch runs: a worker killed mid-fetch frees
its slot when the entry expires (``queue_heartbeat``). Dramatiq's ConcurrentRateLimiter keeps one counter with
one expiry, renewed by every holder: a dead worker's slot would stay taken as long as the others keep working.
Times are the Redis server's (``TIME``), so machines with clocks apart agree.
"""

from __future__ import annotations

import contextlib
import re
import threading
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

PREFIX = "clipper:limit:"
ATTEMPT = "clipper:attempt:"  # + an attempt's tag (in its temporary files' names): there while the attempt lives
# KEYS[1]: the holders (a sorted set: holder -> expiry in ms). ARGV: holder, expiry (ms), limit.
_TAKE = """
local now = redis.call('TIME')
local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ms)
local held = redis.call('ZSCORE', KEYS[1], ARGV[1])
if held or redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[3]) then
  redis.call('ZADD', KEYS[1], ms + tonumber(ARGV[2]), ARGV[1])
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) * 2)
  return 1
end
return 0
"""
_TAG_RE = re.compile(r"\.([0-9a-f]{12})\.")  # a run's or an attempt's tag in a temporary file's name
MAX_PAUSE = 300.0  # seconds: the longest a host is left alone after it throttled


class HostGuard:
    """The shared limits, as one worker sees them. ``stopping`` ends every wait."""

    def __init__(self, client: Any, expiry: float, stopping: threading.Event) -> None:
        self.client = client
        self.expiry_ms = max(1000, int(expiry * 1000))
        self.stopping = stopping
        self._take = client.register_script(_TAKE)
        self._held: dict[tuple[str, str], int] = {}  # (key, holder) -> limit: renewed by ``renew``
        self._attempts: set[str] = set()
        self._lock = threading.Lock()

    def renew(self) -> None:
        """Renew the slots this worker holds and its attempts' marks (its heartbeat calls this)."""
        with self._lock:
            held = list(self._held.items())
            attempts = list(self._attempts)
        for (key, holder), limit in held:
            self._take(keys=[key], args=[holder, self.expiry_ms, limit])
        for tag in attempts:
            self.client.set(ATTEMPT + tag, "1", px=self.expiry_ms)

    @contextlib.contextmanager
    def attempt(self, tag: str) -> Iterator[None]:
        """Mark attempt ``tag`` alive while the block runs: a batch removes the temporary files of attempts
        whose mark is gone (their worker was killed), never those of one still at work."""
        self.client.set(ATTEMPT + tag, "1", px=self.expiry_ms)
        with self._lock:
            self._attempts.add(tag)
        try:
            yield
        finally:
            with self._lock:
                self._attempts.discard(tag)
            with contextlib.suppress(Exception):
                self.client.delete(ATTEMPT + tag)

    @contextlib.contextmanager
    def slot(self, name: str, limit: int, on_wait: Any = None) -> Iterator[None]:
        """Hold one of ``limit`` slots named ``name`` across all workers while the block runs (waiting for one,
        and for the end of the host's pause, first)."""
        key, holder = PREFIX + name, f"{uuid.uuid4().hex}"
        said = False
        while True:
            self.wait_out_pause(name, on_wait)
            if self._take(keys=[key], args=[holder, self.expiry_ms, limit]):
                break
            if on_wait is not None and not said:
                on_wait(f"waiting for a free fetch slot of {name} (at most {limit} at once)")
                said = True
            if self.stopping.wait(0.2):
                raise KeyboardInterrupt
        with self._lock:
            self._held[(key, holder)] = limit
        try:
            yield
        finally:
            with self._lock:
                self._held.pop((key, holder), None)
            with contextlib.suppress(Exception):  # the broker gone: the slot expires by itself
                self.client.zrem(key, holder)

    def pause(self, name: str, seconds: float) -> float:
        """Leave host ``name`` alone for ``seconds`` (doubling on each pause while one lasts, up to MAX_PAUSE):
        every worker waits it out before its next fetch there. Returns the pause set."""
        key = PREFIX + name + ":pause"
        left = max(0, int(self.client.pttl(key) or 0)) / 1000
        seconds = min(MAX_PAUSE, max(seconds, 2 * left))
        self.client.set(key, "1", px=max(1, int(seconds * 1000)))
        return seconds

    def wait_out_pause(self, name: str, on_wait: Any = None) -> None:
        """Wait while host ``name`` is paused."""
        key = PREFIX + name + ":pause"
        left = int(self.client.pttl(key) or 0) / 1000
        if left > 0 and on_wait is not None:
            on_wait(f"{name} asked to slow down: waiting {left:.0f}s before fetching from it")
        while left > 0:
            if self.stopping.wait(min(left, 1.0)):
                raise KeyboardInterrupt
            left = int(self.client.pttl(key) or 0) / 1000


def dead_attempts_files(client: Any, paths: Iterable[Path]) -> list[Path]:
    """Of a folder's temporary files, those of attempts no worker is at any more (named by their tag)."""
    dead = []
    for path in paths:
        tags = _TAG_RE.findall(path.name)
        if not tags or not client.exists(ATTEMPT + tags[-1]):
            dead.append(path)
    return dead
