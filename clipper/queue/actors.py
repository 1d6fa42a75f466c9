"""``clipper worker``: Dramatiq's worker on the broker, with one actor that makes a clip from a message, a
heartbeat of its own, and a clean stop (its clips in progress put back in the queue for another worker)."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from types import FrameType
from typing import Any, TextIO

from clipper.plan.config import Config
from clipper.plan.queue_keys import shown_url
from clipper.queue.broker import ACTOR, QUEUE, connect, dramatiq_broker, worker_name
from clipper.queue.making import ClipMaker, Heartbeat

# An idle worker asks the broker for clips at least this often (Dramatiq's default, 1 s, delays each next clip of
# a busy worker by up to a second: its consumer sleeps that long once its threads are all taken).
IDLE_POLL_MS = 200
STOP_WAIT_MS = 30_000  # on Ctrl-C, how long the worker waits for its threads to hand their clips back


def make_actor(broker: Any, maker: ClipMaker) -> Any:
    """The actor that makes one clip (its retries: only those it asks for, see RetryLater)."""
    import dramatiq
    from dramatiq.middleware import CurrentMessage

    def make_clip(data: Any) -> None:
        message = CurrentMessage.get_current_message()
        maker.handle(data, retries=int(message.options.get("retries", 0)) if message is not None else 0)

    broker.add_middleware(CurrentMessage())
    return dramatiq.actor(actor_name=ACTOR, queue_name=QUEUE, broker=broker)(make_clip)


def serve(url: str, threads: int, config: Config, stream: TextIO | None = None, verbose: bool = False) -> None:
    """Make clips from the queue at ``url`` with ``threads`` at once until SIGINT or SIGTERM (KeyboardInterrupt)."""
    import dramatiq

    client = connect(url)
    stream = stream or sys.stderr
    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING, stream=stream,
                        format="clipper worker: %(name)s: %(message)s")  # fmt: skip
    name = worker_name()
    maker = ClipMaker(client, name, config, stream, verbose)
    broker = dramatiq_broker(client, config.queue_heartbeat)
    make_actor(broker, maker)
    worker = dramatiq.Worker(broker, worker_threads=threads, worker_timeout=IDLE_POLL_MS)
    worker.queue_prefetch = threads  # a busy worker leaves the queue's other messages to idle ones
    beat = Heartbeat(broker, maker.guard, max(0.5, config.queue_heartbeat / 3), maker.children.stopping)
    previous = signal.signal(signal.SIGTERM, _interrupt)
    worker.start()
    beat.start()
    print(f"clipper worker {name}: waiting for clips on {shown_url(url)} ({threads} at once)", file=stream, flush=True)
    try:
        threading.Event().wait()
    finally:
        signal.signal(signal.SIGTERM, previous)
        print(f"clipper worker {name}: stopping; clips in progress go back to the queue", file=stream, flush=True)
        maker.stop()
        worker.stop(timeout=STOP_WAIT_MS)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt
