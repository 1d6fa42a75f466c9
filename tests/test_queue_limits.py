"""What workers keep together through a real Redis: fetch slots per host (freed when their holder dies), a pause
for a host that said 429 or 403 (a clip it refused is tried again after it), and the heartbeat a busy worker
sends. Each guard or broker here stands for one worker."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from redisd import RedisServer

from clipper.plan.config import Config
from clipper.plan.jobs import ClipJob
from clipper.queue.broker import RetryLater, RunStore, connect, dramatiq_broker
from clipper.queue.limits import HostGuard, dead_attempts_files
from clipper.queue.making import ClipMaker, Heartbeat
from clipper.queue.messages import clip_message
from clipper.run.manifest import ClipResult


def _guard(redis: RedisServer, expiry: float = 1.0) -> HostGuard:
    return HostGuard(connect(redis.url), expiry, threading.Event())


def test_a_host_limit_holds_across_workers(redis: RedisServer) -> None:
    guards = [_guard(redis, expiry=5) for _ in range(3)]
    inside, peak, lock = [0], [0], threading.Lock()

    def fetch(guard: HostGuard) -> None:
        with guard.slot("example.com", 2):
            with lock:
                inside[0] += 1
                peak[0] = max(peak[0], inside[0])
            time.sleep(0.3)
            with lock:
                inside[0] -= 1

    threads = [threading.Thread(target=fetch, args=(guard,)) for guard in guards for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert peak[0] == 2


def _enter_then(slot: Any, entered: threading.Event) -> None:
    slot.__enter__()
    entered.set()


def test_a_dead_workers_slot_is_freed_when_it_expires_while_a_live_one_keeps_its_own(redis: RedisServer) -> None:
    dead, live, other = _guard(redis), _guard(redis), _guard(redis)
    held = [dead.slot("example.com", 2)]  # kept: a context manager collected would leave its block
    held[0].__enter__()  # its worker is killed now: it never leaves the block, nor renews
    renewing = threading.Event()

    def keep_renewing() -> None:  # what the live workers' heartbeats do
        while not renewing.wait(0.2):
            live.renew()
            other.renew()

    with live.slot("example.com", 2):
        threading.Thread(target=keep_renewing, daemon=True).start()
        started = time.monotonic()
        got = threading.Event()
        held += [other.slot("example.com", 2), _guard(redis).slot("example.com", 2)]
        threading.Thread(target=_enter_then, args=(held[1], got), daemon=True).start()
        assert got.wait(5)  # the dead worker's slot expired (1 s), not Dramatiq's 15 minutes
        assert time.monotonic() - started > 0.5
        third = threading.Event()
        threading.Thread(target=_enter_then, args=(held[2], third), daemon=True).start()
        assert not third.wait(2.0)  # the live workers' slots stay theirs past their expiry: they renew them
        renewing.set()


def test_a_pause_is_waited_out_by_every_worker_and_doubles_while_it_lasts(redis: RedisServer) -> None:
    one, two = _guard(redis), _guard(redis)
    assert one.pause("example.com", 1.0) == 1.0
    assert 1.0 < two.pause("example.com", 0.5) <= 2.0  # asked again while the first lasts: twice what is left
    said: list[str] = []
    started = time.monotonic()
    two.wait_out_pause("example.com", said.append)
    assert 1.0 < time.monotonic() - started < 3.0
    assert said and "example.com asked to slow down" in said[0]
    started = time.monotonic()
    with one.slot("other.example", 1):  # another host is not paused
        pass
    assert time.monotonic() - started < 0.5


def _job(tmp_path: Path) -> ClipJob:
    return ClipJob(video_id="abc", url="https://www.youtube.com/watch?v=abc", source="https://www.youtube.com/x",
                   title="t", start=1.0, end=3.0, output="abc-0m01s.mp4", note=tmp_path / "n.md", line=3)  # fmt: skip


def test_a_clip_the_host_refused_with_429_pauses_the_host_and_is_tried_again(
    redis: RedisServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = Config(output_dir=tmp_path / "out", host_limits={"youtube.com": 2}, retry_delay=0.25)
    maker = ClipMaker(connect(redis.url), "host:1", Config())
    job = _job(tmp_path)
    refused = ClipResult(job, "failed", "HTTP Error 429: Too Many Requests", fetch_failed=True)
    monkeypatch.setattr(maker, "make", lambda *args: refused)
    data = clip_message(job, config, "run1")

    with pytest.raises(RetryLater):
        maker.handle(json.loads(json.dumps(data)), retries=0)
    assert 0 < maker.client.pttl("clipper:limit:youtube.com:pause") <= 1000  # retry_delay * 4, shared
    assert RunStore(maker.client, "run1").result(job.output) is None  # not failed: queued again

    with pytest.raises(RetryLater):
        maker.handle(data, retries=config.retries - 1)
    maker.handle(data, retries=config.retries)  # retries spent: the clip fails, saying why
    result = RunStore(maker.client, "run1").result(job.output)
    assert result is not None and result["status"] == "failed" and "429" in result["error"]


def test_a_clip_made_already_is_not_made_again_when_its_message_comes_twice(
    redis: RedisServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    maker = ClipMaker(connect(redis.url), "host:1", Config())
    job = _job(tmp_path)
    made: list[Any] = []

    def make(*args: Any) -> ClipResult:
        made.append(args)
        return ClipResult(job, "done", size=1)

    monkeypatch.setattr(maker, "make", make)
    data = clip_message(job, Config(output_dir=tmp_path / "out"), "run1")
    maker.handle(data)
    maker.handle(data)
    assert len(made) == 1
    RunStore(maker.client, "run1").put_result(job.output, {"status": "failed", "error": "a late copy"})
    assert RunStore(maker.client, "run1").result(job.output)["status"] == "done"  # type: ignore[index]


def test_a_busy_worker_keeps_beating(redis: RedisServer) -> None:
    client = connect(redis.url)
    broker = dramatiq_broker(client, heartbeat=1.0)
    stopping = threading.Event()
    Heartbeat(broker, HostGuard(client, 1.0, stopping), 0.2, stopping).start()
    try:
        for _ in range(3):  # no message fetched all along (its threads busy): Dramatiq itself would not beat
            time.sleep(0.5)
            seconds, micros = client.time()
            beat = client.zscore("dramatiq:__heartbeats__", broker.broker_id)
            assert beat is not None and seconds * 1000 + micros / 1000 - beat < 500
    finally:
        stopping.set()


def test_a_batch_removes_the_temporary_files_of_dead_attempts_only(redis: RedisServer, tmp_path: Path) -> None:
    guard = _guard(redis, expiry=1.0)
    live, dead = "0123456789ab", "ba9876543210"
    files = [tmp_path / f".clipper-a9f525e3faa0.{live}.head.ts", tmp_path / f".clip-0m03s.mp4.{live}.part",
             tmp_path / f".clipper-a9f525e3faa0.{dead}.section.mp4", tmp_path / f".clip-0m09s.mp4.{dead}.part",
             tmp_path / ".clip-0m10s.mp4.part"]  # fmt: skip
    with guard.attempt(live):
        guard.client.set(f"clipper:attempt:{dead}", "1", px=50)  # its worker was killed: its mark expires
        time.sleep(0.2)
        assert dead_attempts_files(guard.client, files) == files[2:]
    assert dead_attempts_files(guard.client, files) == files  # the live attempt is over: its leftovers may go
