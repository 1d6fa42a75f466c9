"""The queue when things go wrong: "At-least-once delivery made safe: a job done twice leaves one whole clip; a
worker killed with SIGKILL mid-job: its job is done by another worker within 2 minutes, nothing corrupt, nothing
lost", "a worker survives a broker restart", and a batch whose broker goes away for good says so and stops.

A real redis-server (tests/redisd.py), real workers and batches; the clips are decoded against their sources.
Messages are looked at (and, to make a job run twice, copied) where Dramatiq's Redis broker keeps them: the
contract names its default namespace and the queue ``clipper``."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from redis import Redis as RedisClient
from redisd import (
    CLIPS,
    QueueHost,
    QueueMedia,
    RedisServer,
    Workers,
    clip_problems,
    group_alive,
    temp_files,
    write_config,
    write_notes,
)

pytestmark = pytest.mark.slow

QUEUE = "dramatiq:clipper"  # Dramatiq's Redis broker: the list of message ids waiting
MESSAGES = QUEUE + ".msgs"  # and the hash of message id -> message, until a message is acked
ACKS = "dramatiq:__acks__."  # + worker's broker id + ".clipper": the ids a worker has taken and not acked yet


@dataclass
class Submitted:
    """A ``clipper batch --broker`` running in the background (its own process group), stderr to a file."""

    process: subprocess.Popen[bytes]
    log: Path

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def wait(self, timeout: float) -> tuple[int, str]:
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the batch did not finish within {timeout:.0f} s:\n{self.text()}")
        return code, self.text()

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()


@pytest.fixture
def submit(tmp_path: Path) -> Iterator[Callable[[Path, Path, str], Submitted]]:
    started: list[Submitted] = []

    def start(notes: Path, config: Path, broker: str) -> Submitted:
        log = tmp_path / f"batch{len(started) + 1}.log"
        with log.open("wb") as handle:
            process = subprocess.Popen(
                [sys.executable, "-m", "clipper", "batch", str(notes), "--broker", broker, "--config", str(config)],
                cwd=tmp_path,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=handle,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
                start_new_session=True,
            )
        started.append(Submitted(process, log))
        return started[-1]

    try:
        yield start
    finally:
        for submitted in started:
            submitted.kill()


def wait_for(condition: Callable[[], object], timeout: float, what: str, interval: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval)
    pytest.fail(f"waited {timeout:.0f} s for {what}")


def manifest_of(out: Path) -> dict[str, dict[str, object]]:
    return json.loads((out / "manifest.json").read_text())["clips"]


def assert_all_made(
    code: int, stderr: str, out: Path, media: QueueMedia, leftovers_ok: bool = False
) -> dict[str, dict[str, object]]:
    """The batch ended well, every clip is whole and right, no temporary file is left (unless ``leftovers_ok``:
    a killed worker's); the manifest."""
    assert code == 0, stderr
    assert f"{len(CLIPS)} done, 0 skipped, 0 failed" in stderr, stderr
    assert clip_problems(out, media) == []
    assert leftovers_ok or temp_files(out) == [], "temporary files were left behind"
    manifest = manifest_of(out)
    assert {name: entry["status"] for name, entry in manifest.items()} == dict.fromkeys(CLIPS, "done")
    return manifest


def test_a_worker_killed_mid_clip_leaves_its_clips_to_another(
    tmp_path: Path,
    redis: RedisServer,
    queue_media: QueueMedia,
    queue_host: QueueHost,
    workers: Workers,
    submit: Callable[[Path, Path, str], Submitted],
) -> None:
    notes = write_notes(tmp_path)
    config = write_config(tmp_path, queue_host.base, queue_media.names, queue_heartbeat=2)
    out = tmp_path / "out"
    queue_host.gauge.delay = 0.2  # every request waits: a clip takes a second or two
    a = workers.start(redis.url, config, jobs=2)
    ident_a = a.wait_ready()
    submitted = submit(notes, config, redis.url)

    # A at work: it has made a clip and is making more (their sections or pieces in the folder; the messages it
    # holds taken but not acked).
    wait_for(lambda: a.done() and temp_files(out), 90, "worker A to make a clip and be at work on another")
    a.signal_group(signal.SIGKILL)
    killed = time.monotonic()
    a.process.wait(10)
    wait_for(lambda: not group_alive(a.pid), 10, "worker A's processes (ffmpeg too) to be gone")
    made_by_a = set(a.done())
    assert len(made_by_a) < len(CLIPS), "A made every clip before it was killed"
    assert submitted.process.poll() is None, submitted.text()
    client = RedisClient.from_url(redis.url)
    held = [key for key in client.keys(ACKS + "*") if client.scard(key)]
    assert held, "A held no message when it was killed: nothing for the broker to give another worker"
    client.close()

    b = workers.start(redis.url, config, jobs=2)
    ident_b = b.wait_ready()
    code, stderr = submitted.wait(120)

    assert time.monotonic() - killed < 120
    manifest = assert_all_made(code, stderr, out, queue_media, leftovers_ok=True)
    makers = {name: entry.get("worker") for name, entry in manifest.items()}
    assert set(makers.values()) <= {ident_a, ident_b}, makers
    assert {name for name, maker in makers.items() if maker == ident_a} <= made_by_a
    assert set(b.done()) >= set(CLIPS) - made_by_a, "B did not make every clip A left"
    assert b.process.poll() is None

    # What A left half-made (its section, pieces, clip) is gone once the next batch into the folder has run, as
    # after a local run stopped too hard.
    left = temp_files(out)
    again = submit(notes, config, redis.url)
    code, stderr = again.wait(60)
    assert code == 0 and f"0 done, {len(CLIPS)} skipped, 0 failed" in stderr, stderr
    assert temp_files(out) == [], f"worker A's temporary files were never removed (after the first batch: {left})"


def message_ids(client: RedisClient) -> list[str]:
    return [item.decode() for item in client.lrange(QUEUE, 0, -1)]  # type: ignore[union-attr]


def test_a_clip_made_twice_at_once_is_one_whole_clip(
    tmp_path: Path,
    redis: RedisServer,
    queue_media: QueueMedia,
    queue_host: QueueHost,
    workers: Workers,
    submit: Callable[[Path, Path, str], Submitted],
) -> None:
    """At-least-once delivery: every clip's message is queued twice, side by side, so that both copies are taken
    at once (by one worker's two threads or by two workers) and the clip is made twice into one folder."""
    notes = write_notes(tmp_path)
    config = write_config(tmp_path, queue_host.base, queue_media.names, queue_heartbeat=2)
    out = tmp_path / "out"
    client = RedisClient.from_url(redis.url)
    submitted = submit(notes, config, redis.url)
    wait_for(lambda: len(message_ids(client)) >= len(CLIPS), 60, f"{len(CLIPS)} messages in {QUEUE}")

    # A second delivery, as Dramatiq makes one when it sends a message again: the same message, another id in
    # Redis (the broker acks by that id).
    twice = []
    for redis_id in message_ids(client):
        data = json.loads(client.hget(MESSAGES, redis_id))  # type: ignore[arg-type]
        copy_id = str(uuid.uuid4())
        copy = {**data, "options": {**data["options"], "redis_message_id": copy_id}}
        client.hset(MESSAGES, copy_id, json.dumps(copy, separators=(",", ":")))
        twice += [redis_id, copy_id]
    pipe = client.pipeline()
    pipe.delete(QUEUE)
    pipe.rpush(QUEUE, *twice)
    pipe.execute()
    started = [workers.start(redis.url, config, jobs=2) for _ in range(2)]
    for worker in started:
        worker.wait_ready()

    code, stderr = submitted.wait(120)
    # The batch may end on the first copy of each: wait until the second copies are done too.
    wait_for(lambda: client.hlen(MESSAGES) == 0 and client.llen(QUEUE) == 0, 60, "every copy to be done")
    wait_for(lambda: not any(out.glob(".*.part")), 30, "the workers to finish their files")
    assert_all_made(code, stderr, out, queue_media)
    done = [name for worker in started for name in worker.done()]
    assert set(done) == set(CLIPS)
    # Neither copy failed: two attempts at one clip do not trip over each other's files.
    said = "".join(worker.text() for worker in started)
    failures = [line for line in said.splitlines() if ": failed " in line or "Failed to process" in line]
    assert failures == [], said
    print(f"clips made twice: {len(done) - len(set(done))} of {len(CLIPS)}")
    assert all(worker.process.poll() is None for worker in started)


def test_workers_and_a_batch_ride_out_a_broker_restart(
    tmp_path: Path,
    redis: RedisServer,
    queue_media: QueueMedia,
    queue_host: QueueHost,
    workers: Workers,
    submit: Callable[[Path, Path, str], Submitted],
) -> None:
    notes = write_notes(tmp_path)
    config = write_config(tmp_path, queue_host.base, queue_media.names, queue_heartbeat=3)
    out = tmp_path / "out"
    queue_host.gauge.delay = 0.15  # the batch lasts long enough to restart the broker in the middle of it
    started = [workers.start(redis.url, config, jobs=2) for _ in range(2)]
    for worker in started:
        worker.wait_ready()
    submitted = submit(notes, config, redis.url)

    def made() -> int:
        return len({name for worker in started for name in worker.done()})

    wait_for(lambda: made() >= 1, 90, "a first clip")
    assert made() < len(CLIPS), "every clip was made before the restart"
    redis.restart(down=0.5)

    code, stderr = submitted.wait(120)
    assert_all_made(code, stderr, out, queue_media)
    assert all(worker.process.poll() is None for worker in started), "a worker did not survive the restart"

    # They still take work: a clip removed is made again through them.
    (out / "queuevidB02-0m13s.mp4").unlink()
    again = submit(notes, config, redis.url)
    code, stderr = again.wait(60)
    assert code == 0, stderr
    assert f"1 done, {len(CLIPS) - 1} skipped, 0 failed" in stderr
    assert clip_problems(out, queue_media) == []


def test_a_batch_whose_broker_goes_away_for_good_says_so_and_stops(
    tmp_path: Path,
    redis: RedisServer,
    queue_media: QueueMedia,
    queue_host: QueueHost,
    submit: Callable[[Path, Path, str], Submitted],
) -> None:
    notes = write_notes(tmp_path)
    config = write_config(tmp_path, queue_host.base, queue_media.names, queue_heartbeat=2)
    client = RedisClient.from_url(redis.url)
    submitted = submit(notes, config, redis.url)  # no worker: it waits
    wait_for(lambda: client.llen(QUEUE) >= len(CLIPS), 60, f"{len(CLIPS)} messages in {QUEUE}")
    client.close()

    redis.stop()
    stopped = time.monotonic()
    code, stderr = submitted.wait(90)

    assert time.monotonic() - stopped < 90
    assert code == 1, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    said = [line for line in lines if line.startswith(f"clipper: broker {redis.url}: ")]
    assert len(said) == 1 and said[0] == lines[-1], stderr  # one line says why, and it is the last
    assert not list((tmp_path / "out").glob("*.mp4")) if (tmp_path / "out").exists() else True


def test_a_worker_stopped_with_ctrl_c_mid_clip_hands_its_clips_back(
    tmp_path: Path,
    redis: RedisServer,
    queue_media: QueueMedia,
    queue_host: QueueHost,
    workers: Workers,
    submit: Callable[[Path, Path, str], Submitted],
) -> None:
    """Ctrl-C (SIGINT to the worker alone, not its group) while it makes clips: it ends its ffmpeg, removes its
    files, puts its clips back in the queue and exits 130; another worker makes them, with no heartbeat to wait
    out (queue_heartbeat is long here)."""
    notes = write_notes(tmp_path)
    config = write_config(tmp_path, queue_host.base, queue_media.names, queue_heartbeat=300)
    out = tmp_path / "out"
    queue_host.gauge.delay = 0.2
    a = workers.start(redis.url, config, jobs=2)
    ident_a = a.wait_ready()
    submitted = submit(notes, config, redis.url)
    wait_for(lambda: temp_files(out), 90, "worker A to be at work on a clip")
    os.kill(a.pid, signal.SIGINT)
    assert a.process.wait(40) == 130, a.text()
    assert "clips in progress go back to the queue" in a.text()
    made_by_a = set(a.done())
    assert len(made_by_a) < len(CLIPS), "A made every clip before it was stopped"

    b = workers.start(redis.url, config, jobs=2)
    b.wait_ready()
    code, stderr = submitted.wait(90)  # well before a 300 s heartbeat would give A's clips to B

    manifest = assert_all_made(code, stderr, out, queue_media)
    assert {name for name, entry in manifest.items() if entry.get("worker") == ident_a} <= made_by_a
