"""End to end through the Redis queue: a real redis-server, real ``clipper worker`` processes and ``clipper batch
--broker``, media served from 127.0.0.1. Nine clips of three videos that look nothing alike, each decoded and
compared with its own source's frames."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from redisd import (
    CLIPS,
    QueueHost,
    QueueMedia,
    RedisServer,
    Worker,
    Workers,
    clip_problems,
    free_port,
    snapshot,
    temp_files,
    write_config,
    write_notes,
)
from verify import run_clipper

pytestmark = pytest.mark.slow

BATCH_TIMEOUT = 120
OVERLAP = 0.25  # seconds two requests may overlap when one fetch moves on to the next (see host_limits)


def batch(
    notes: Path, config: Path, broker: str, *extra: str, timeout: float = BATCH_TIMEOUT
) -> subprocess.CompletedProcess[str]:
    """``clipper batch NOTES --broker BROKER --config CONFIG EXTRA`` in the notes' parent folder."""
    return run_clipper("batch", str(notes), "--broker", broker, "--config", str(config), *extra,
                       cwd=notes.parent, timeout=timeout)  # fmt: skip


def pid_of(ident: str) -> int:
    return int(ident.rsplit(":", 1)[1])


def in_group(pid: int, worker: Worker) -> bool:
    """``pid`` is the worker's own process or one of its process group."""
    if pid == worker.pid:
        return True
    try:
        return os.getpgid(pid) == worker.pid
    except ProcessLookupError:
        return False


def manifest_of(out: Path) -> dict[str, dict[str, object]]:
    return json.loads((out / "manifest.json").read_text())["clips"]


def one_error_line(stderr: str) -> str:
    """The one line the command said (progress and blank lines aside); fails when it said more or none."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line, got:\n{stderr}"
    return lines[0]


def test_two_workers_make_every_clip_and_a_second_batch_skips_them(
    tmp_path: Path, redis: RedisServer, queue_media: QueueMedia, queue_host: QueueHost, workers: Workers
) -> None:
    notes = write_notes(tmp_path)
    config = write_config(tmp_path, queue_host.base, queue_media.names)
    out = tmp_path / "out"
    # A little delay at the host: a clip takes long enough that one worker cannot take all nine at once.
    queue_host.gauge.delay = 0.1
    started = [workers.start(redis.url, config, jobs=2) for _ in range(2)]
    idents = [worker.wait_ready() for worker in started]
    for worker, ident in zip(started, idents, strict=True):
        assert in_group(pid_of(ident), worker), (ident, worker.pid)

    result = batch(notes, config, redis.url)

    assert result.returncode == 0, result.stderr + "".join(w.text() for w in started)
    assert f"{len(CLIPS)} done, 0 skipped, 0 failed" in result.stderr
    assert clip_problems(out, queue_media) == []
    assert temp_files(out) == []
    manifest = manifest_of(out)
    assert {name: entry["status"] for name, entry in manifest.items()} == dict.fromkeys(CLIPS, "done")
    makers = {name: entry.get("worker") for name, entry in manifest.items()}
    assert set(makers.values()) <= set(idents), (makers, idents)
    assert set(makers.values()) == set(idents), f"one worker made every clip: {makers}"
    # Each worker said so too: one "done NAME" per clip, by the worker the manifest names.
    said = {name: ident for worker, ident in zip(started, idents, strict=True) for name in worker.done()}
    assert said == makers
    assert (out / "index.html").is_file()
    assert all(worker.process.poll() is None for worker in started), "a worker stopped after the batch"

    # A second batch finds every clip made: nothing is submitted again, nothing touched.
    stamps = {name: (out / name).stat().st_mtime_ns for name in CLIPS}
    again = batch(notes, config, redis.url)
    assert again.returncode == 0, again.stderr
    assert f"0 done, {len(CLIPS)} skipped, 0 failed" in again.stderr
    assert {name: (out / name).stat().st_mtime_ns for name in CLIPS} == stamps
    assert sum(len(worker.done()) for worker in started) == len(CLIPS)


def existing_output(folder: Path) -> Path:
    """An output folder with a clip, a manifest, a note of the user's and a half-made clip's temporary file."""
    out = folder / "out"
    out.mkdir()
    (out / "queuevidA01-0m03s.mp4").write_bytes(b"a clip made before")
    (out / "manifest.json").write_text(json.dumps({"clips": {}}))
    (out / "notes.txt").write_text("mine")
    (out / ".queuevidA01-0m11s.mp4.0123456789ab.part").write_bytes(b"half a clip")
    return out


@pytest.mark.parametrize("where", ["flag", "config"])
@pytest.mark.parametrize("broker", ["http://127.0.0.1:1/", "redis://127.0.0.1:{port}/0", "redis://127.0.0.1:x/0"])
def test_a_batch_with_a_bad_or_absent_broker_says_so_in_one_line_and_touches_nothing(
    tmp_path: Path, queue_media: QueueMedia, broker: str, where: str
) -> None:
    url = broker.format(port=free_port())
    notes = write_notes(tmp_path)
    extra = {"broker": url} if where == "config" else {}
    config = write_config(tmp_path, "http://127.0.0.1:1", queue_media.names, **extra)
    out = existing_output(tmp_path)
    before = snapshot(out)

    began = time.monotonic()
    if where == "flag":
        result = batch(notes, config, url, timeout=90)
    else:
        result = run_clipper("batch", str(notes), "--config", str(config), cwd=tmp_path, timeout=90)

    assert result.returncode == 1, result.stderr
    line = one_error_line(result.stderr)
    # "clipper: broker URL: cannot connect (...)"; a URL that is none is a setting's error: where it was given
    named = f"clipper: broker {url}: " if where == "flag" or "{port}" in broker else f"{config}:"
    assert line.startswith(named) and "broker" in line, line
    assert time.monotonic() - began < 60
    after = snapshot(out)
    after.pop(".clipper.lock", None)
    assert after == before


@pytest.mark.parametrize("broker", ["redis://127.0.0.1:{port}/0", "http://127.0.0.1:1/"])
def test_a_worker_without_its_broker_says_so_in_one_line(tmp_path: Path, queue_media: QueueMedia, broker: str) -> None:
    url = broker.format(port=free_port())
    config = write_config(tmp_path, "http://127.0.0.1:1", queue_media.names)

    result = run_clipper("worker", "--broker", url, "--config", str(config), cwd=tmp_path, timeout=90)

    assert result.returncode == 1, result.stderr
    line = one_error_line(result.stderr)
    assert line.startswith(f"clipper: broker {url}: "), line


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_an_idle_worker_stops_on_a_signal(tmp_path: Path, redis: RedisServer, workers: Workers, signum: int) -> None:
    config = write_config(tmp_path, "http://127.0.0.1:1", {})
    worker = workers.start(redis.url, config, jobs=1)
    worker.wait_ready()

    os.kill(worker.pid, signum)

    assert worker.process.wait(30) == 130, worker.text()


@pytest.mark.parametrize("limit", [None, 1], ids=["no-limit", "limit-1"])
def test_host_limits_bound_the_fetches_at_once_across_workers(
    tmp_path: Path,
    redis: RedisServer,
    queue_media: QueueMedia,
    queue_host: QueueHost,
    workers: Workers,
    limit: int | None,
) -> None:
    """Two workers with -j 2 each: without a limit the host sees requests at once (the gauge can see them);
    with ``host_limits: {127.0.0.1: 1}`` never more than one."""
    notes = write_notes(tmp_path)
    extra = {"host_limits": {"127.0.0.1": limit}} if limit else {}
    config = write_config(tmp_path, queue_host.base, queue_media.names, **extra)
    # Each response takes a while (the bodies at 1 MB/s: a 512 KB chunk in half a second): requests of two
    # fetches overlap wherever they may. Within one fetch, ffmpeg's seek opens a new request before it leaves
    # the one it read (about 0.1 s): overlaps up to OVERLAP are not two fetches at once.
    queue_host.gauge.rate = 1e6
    started = [workers.start(redis.url, config, jobs=2) for _ in range(2)]
    for worker in started:
        worker.wait_ready()
    queue_host.gauge.reset()

    result = batch(notes, config, redis.url)

    assert result.returncode == 0, result.stderr + "".join(w.text() for w in started)
    assert f"{len(CLIPS)} done, 0 skipped, 0 failed" in result.stderr
    gauge = queue_host.gauge
    assert gauge.gets > 0
    if limit is None:
        assert gauge.peak(OVERLAP) > 1, "the host never saw two requests at once: the gauge proves nothing"
    else:
        assert gauge.peak(OVERLAP) == 1, "requests at once at 127.0.0.1:\n" + "\n".join(gauge.overlaps(OVERLAP))
        assert clip_problems(tmp_path / "out", queue_media) == []


def test_the_worker_command_is_documented() -> None:
    result = subprocess.run([sys.executable, "-m", "clipper", "worker", "--help"], capture_output=True, text=True,
                            timeout=60, check=False)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "--broker" in result.stdout and "-j" in result.stdout
