"""The broker: connecting to Redis (one clear error when it cannot be reached), Dramatiq's broker on it, and what
a batch keeps there besides its messages: each clip's result, the progress of the clips being made, and whether
the batch was cancelled (all under ``clipper:run:RUN:``, kept a week at most)."""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Iterable
from typing import Any

from clipper.core.errors import ClipperError
from clipper.plan.queue_keys import broker_problem, shown_url

QUEUE = "clipper"  # Dramatiq's queue of clip messages
ACTOR = "make_clip"
KEEP_SECONDS = 7 * 24 * 3600
CONNECT_TIMEOUT = 5.0
# Of each million broker commands this many also look for dead workers and put their messages back in the queue:
# 5%, so a dead worker's clips go back within seconds of its heartbeat's end (Dramatiq's default: 0.1%).
MAINTENANCE_CHANCE = 50_000


class BrokerError(ClipperError):
    """The broker cannot be used (a bad URL, unreachable, gone for good mid-batch)."""


def worker_name() -> str:
    """HOST:PID: what a clip's manifest entry says made it."""
    return f"{socket.gethostname()}:{os.getpid()}"


def connect(url: str) -> Any:
    """A Redis client on ``url`` that answered PING; BrokerError (one line) otherwise."""
    problem = broker_problem(url)
    if problem is not None:
        raise BrokerError(f"broker {shown_url(url)}: {problem}")
    try:
        import redis
    except ImportError:
        raise BrokerError("the queue needs its packages: pip install 'clipper[queue]'") from None
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=CONNECT_TIMEOUT, socket_timeout=30,
                                      health_check_interval=10)  # fmt: skip
        client.ping()
    except (redis.RedisError, OSError, ValueError) as error:
        reason = str(error).split("\n")[0] or type(error).__name__
        raise BrokerError(f"broker {shown_url(url)}: cannot connect ({reason})") from None
    return client


def dramatiq_broker(client: Any, heartbeat: float) -> Any:
    """Dramatiq's Redis broker on ``client``: a worker silent for ``heartbeat`` seconds is dead and its messages
    go back in the queue. Failed actors are retried only when they ask (``RetryLater``), after a pause."""
    from dramatiq.brokers.redis import RedisBroker
    from dramatiq.middleware import Retries

    retries = Retries(max_retries=20, min_backoff=1000, max_backoff=60_000,
                      retry_when=lambda count, error: isinstance(error, RetryLater) and count < 20)  # fmt: skip
    return RedisBroker(client=client, middleware=[retries], heartbeat_timeout=int(heartbeat * 1000),
                       maintenance_chance=MAINTENANCE_CHANCE)  # fmt: skip


class RetryLater(Exception):
    """A clip to try again later, perhaps on another worker (its host throttled; this worker stops)."""


class RunStore:
    """A batch's results, progress and cancellation in Redis."""

    def __init__(self, client: Any, run: str) -> None:
        self.client = client
        self.results_key = f"clipper:run:{run}:results"
        self.tasks_key = f"clipper:run:{run}:tasks"
        self.cancel_key = f"clipper:run:{run}:cancelled"

    def put_result(self, name: str, data: dict[str, Any]) -> None:
        """Record a clip's result. A clip made stays made: a later failure (a copy of its message that ran
        after it, and was stopped) does not replace it."""
        text = json.dumps(data)
        if data.get("status") == "failed":
            self.client.hsetnx(self.results_key, name, text)
        else:
            self.client.hset(self.results_key, name, text)
        self.client.expire(self.results_key, KEEP_SECONDS)

    def result(self, name: str) -> dict[str, Any] | None:
        text = self.client.hget(self.results_key, name)
        return json.loads(text) if text else None

    def results(self, names: Iterable[str]) -> dict[str, dict[str, Any]]:
        """The results recorded for ``names`` so far."""
        names = list(names)
        if not names:
            return {}
        texts = self.client.hmget(self.results_key, names)
        return {name: json.loads(text) for name, text in zip(names, texts, strict=True) if text}

    def set_task(self, key: str, value: dict[str, Any] | None) -> None:
        """A clip being made, and how far (None: it is finished)."""
        if value is None:
            self.client.hdel(self.tasks_key, key)
            return
        self.client.hset(self.tasks_key, key, json.dumps(value))
        self.client.expire(self.tasks_key, KEEP_SECONDS)

    def tasks(self) -> dict[str, dict[str, Any]]:
        return {key.decode(): json.loads(text) for key, text in self.client.hgetall(self.tasks_key).items()}

    def cancel(self) -> None:
        self.client.set(self.cancel_key, "1", ex=KEEP_SECONDS)

    def cancelled(self) -> bool:
        return bool(self.client.exists(self.cancel_key))

    def forget(self) -> None:
        """The batch is over: its keys go."""
        self.client.delete(self.results_key, self.tasks_key, self.cancel_key)


def live_workers(client: Any, broker_id: str, heartbeat: float) -> int:
    """How many workers sent a heartbeat lately (Dramatiq's heartbeats, less this process's own broker)."""
    seconds, micros = client.time()
    now_ms = seconds * 1000 + micros // 1000
    ids = client.zrangebyscore("dramatiq:__heartbeats__", now_ms - heartbeat * 1000, "+inf")
    return sum(1 for worker in ids if worker.decode() != broker_id)


def wait_for_broker(client: Any, patience: float, stopping: Any) -> bool:
    """Whether the broker answers again within ``patience`` seconds."""
    import redis

    deadline = time.monotonic() + patience
    while time.monotonic() < deadline:
        try:
            client.ping()
            return True
        except (redis.RedisError, OSError):
            if stopping.wait(1.0):
                return False
    return False
