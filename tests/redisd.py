"""A real redis-server for the queue tests (and bench/queue_bench.py), and the queue tests' shared fixtures.

A pytest plugin (``pytest_plugins = ["redisd"]`` in conftest.py):

* ``redis_server`` (session): one ``/usr/bin/redis-server`` on a free 127.0.0.1 port, in a folder of its own,
  with ``--save "" --appendonly yes --appendfsync always``: a restart keeps the queued messages.
* ``redis`` (each test): that server, running and empty (FLUSHALL) when the test starts; a test may stop or
  restart it (the next test gets it running again).
* ``queue_media`` (session): three 30 s test videos that look nothing alike (plain, negated, upside down), so
  a clip cut from the wrong one fails the decode check, with every frame's thumbnail.
* ``queue_host`` (each test): those videos served from 127.0.0.1 by a handler that counts the requests in
  flight (``peak``) and can be slowed down (``delay`` seconds before each GET is answered).
* ``workers`` (each test): starts ``python -m clipper worker`` processes, each in a process group of its own,
  stderr to a file; every group is killed when the test ends, whatever happened.

The plain classes and functions (RedisServer, write_note, make_queue_videos, ...) need no pytest.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import IO

import pytest
from media import _Handler, make_media
from verify import check_clip, decode_errors, distance, thumbnails

REDIS_SERVER = "/usr/bin/redis-server"
FPS = 25.0
SECONDS = 30


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (at the time of asking)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- redis-server ----------------------------------------------------------------------------------------------


class RedisServer:
    """A redis-server of our own: ``start()``, ``stop()`` (a clean shutdown), ``kill()`` (SIGKILL),
    ``restart()``; the port stays the same across restarts, and the append-only file keeps the data."""

    def __init__(self, folder: Path, port: int | None = None, executable: str = REDIS_SERVER) -> None:
        self.folder = folder
        self.port = port or free_port()
        self.executable = executable
        self.process: subprocess.Popen[bytes] | None = None
        folder.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self, timeout: float = 10) -> None:
        if self.running:
            return
        argv = [self.executable, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.folder),
                "--save", "", "--appendonly", "yes", "--appendfsync", "always", "--protected-mode", "no",
                "--daemonize", "no", "--logfile", str(self.folder / "redis.log")]  # fmt: skip
        self.process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                log = (self.folder / "redis.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"redis-server exited ({self.process.returncode}) on port {self.port}:\n{log}")
            with contextlib.suppress(OSError):
                if self.command("PING") == "+PONG":
                    return
            time.sleep(0.02)
        self.kill()
        raise RuntimeError(f"redis-server on port {self.port} did not answer within {timeout:.0f} s")

    def command(self, *words: str, timeout: float = 5) -> str:
        """Send one command (RESP); the first line of the answer (``+OK``, ``:3``, ``-ERR ...``)."""
        request = f"*{len(words)}\r\n" + "".join(f"${len(w.encode())}\r\n{w}\r\n" for w in words)
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as sock:
            sock.sendall(request.encode())
            answer = b""
            while b"\r\n" not in answer:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                answer += chunk
        return answer.split(b"\r\n", 1)[0].decode(errors="replace")

    def flushall(self) -> None:
        assert self.command("FLUSHALL") == "+OK"

    def stop(self, timeout: float = 10) -> None:
        """A clean shutdown (SIGTERM: redis writes what it has and exits); SIGKILL if it takes too long."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self.process = None

    def kill(self) -> None:
        """SIGKILL, no shutdown (with --appendfsync always nothing acknowledged is lost)."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            self.process.kill()
        self.process.wait()
        self.process = None

    def restart(self, down: float = 0.0) -> None:
        """Stop, stay down ``down`` seconds, start again on the same port."""
        self.stop()
        time.sleep(down)
        self.start()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    if not os.access(REDIS_SERVER, os.X_OK):
        pytest.fail(f"{REDIS_SERVER} is needed for the queue tests (apt-get install redis-server)")
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    try:
        server.start()
        yield server
    finally:
        server.stop(timeout=5)


@pytest.fixture
def redis(redis_server: RedisServer) -> RedisServer:
    """The session's redis-server, running and empty."""
    redis_server.start()
    redis_server.flushall()
    return redis_server


# --- media, notes, config ----------------------------------------------------------------------------------------

# Three videos that look nothing alike: a clip cut from the wrong one is far from every frame of the right one.
LOOKS = {"queuevidA01": [], "queuevidB02": ["-vf", "negate"], "queuevidC03": ["-vf", "vflip"]}
# Three clips of each, 2-3.5 s, none starting on a keyframe (every 2 s): the smart cut's three pieces each time.
RANGES = {
    "queuevidA01": [(3.0, 6.0), (11.0, 14.0), (21.0, 24.0)],
    "queuevidB02": [(5.0, 7.5), (13.0, 16.0), (25.0, 28.0)],
    "queuevidC03": [(1.0, 4.0), (9.0, 12.5), (17.0, 19.0)],
}


def clip_name(video_id: str, start: float) -> str:
    minutes, seconds = divmod(int(start), 60)
    return f"{video_id}-{minutes}m{seconds:02d}s.mp4"


def clips_of(ranges: Mapping[str, Sequence[tuple[float, float]]]) -> dict[str, tuple[str, float, float]]:
    """{clip name: (video id, start, end)}, as clipper names them (``{video_id}-{start}``)."""
    return {clip_name(video, start): (video, start, end) for video, spans in ranges.items() for start, end in spans}


CLIPS = clips_of(RANGES)


def timestamp(seconds: float) -> str:
    """0:03, 0:07.5, 1:02."""
    minutes, rest = divmod(seconds, 60)
    whole = f"{int(minutes)}:{int(rest):02d}"
    return whole + (f"{rest % 1:.2f}".lstrip("0").rstrip("0") if rest % 1 else "")


def note_text(video_id: str, spans: Sequence[tuple[float, float]], duration: float = SECONDS) -> str:
    """A small note in the example note's shape: front matter (the video ``duration`` s long), a summary, one
    highlight per span."""
    url = f"https://www.youtube.com/watch?v={video_id}"
    lines = ["---", f"video_id: {video_id}", f'title: "Queue test {video_id}"', "channel: clipper tests",
             f"duration: {duration:g}", f'duration_formatted: "{timestamp(duration)}"', f"url: {url}", "---", "",
             f"# Queue test {video_id}", "", "## Summary", "", "A generated test picture with a beep a second.", "",
             "## Highlights", ""]  # fmt: skip
    for number, (start, end) in enumerate(spans, 1):
        link = f"{url}&t={int(start)}s"
        name = clip_name(video_id, start)
        command = (
            f'yt-dlp --download-sections "*{timestamp(start)}-{timestamp(end)}" "{url}" '
            f'--force-keyframes-at-cuts --merge-output-format mp4 -o "{name}"'
        )
        thumb = f"[![Clip](https://img.youtube.com/vi/{video_id}/hqdefault.jpg)]({link})"
        lines += [f'### "Part {number}"', "", thumb, "<details>", "<summary>Clip command</summary>", "", "```bash",
                  command, "```", "</details>", "", f'> "Part {number} of the test picture."',
                  f"> -- testsrc2, [{timestamp(int(start))}]({link})", ""]  # fmt: skip
    return "\n".join(lines)


def write_notes(
    folder: Path, ranges: Mapping[str, Sequence[tuple[float, float]]] = RANGES, duration: float = SECONDS
) -> Path:
    """folder/notes/VIDEO_ID.md for each video (``duration`` s long); returns the notes folder."""
    notes = folder / "notes"
    notes.mkdir(parents=True, exist_ok=True)
    for video_id, spans in ranges.items():
        (notes / f"{video_id}.md").write_text(note_text(video_id, spans, duration), encoding="utf-8")
    return notes


def write_config(folder: Path, base_url: str, names: Mapping[str, str], **extra: object) -> Path:
    """folder/clipper.yaml: output to folder/out, a cache of its own, each video id's source on the server."""
    lines = [f"output_dir: {json.dumps(str(folder / 'out'))}", f"cache_dir: {json.dumps(str(folder / 'cache'))}",
             "retry_delay: 0.2"]  # fmt: skip
    if names:
        lines.append("sources:")
        lines += [f"  {video_id}: {json.dumps(f'{base_url}/{name}')}" for video_id, name in names.items()]
    lines += [f"{key}: {json.dumps(value)}" for key, value in extra.items()]
    path = folder / "clipper.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def make_queue_videos(folder: Path, seconds: float = SECONDS, size: str = "160x90") -> dict[str, Path]:
    """{video id: file}: testsrc2, 25 fps, a keyframe every 2 s, AAC beeps; each with its own look."""
    folder.mkdir(parents=True, exist_ok=True)
    return {
        video_id: make_media(folder / f"{video_id}.mp4", seconds=seconds, size=size, gop=50, extra=look)
        for video_id, look in LOOKS.items()
    }


@dataclass
class QueueMedia:
    folder: Path
    files: dict[str, Path]
    thumbs: dict[str, list[bytes]]

    @property
    def names(self) -> dict[str, str]:
        return {video_id: path.name for video_id, path in self.files.items()}


@pytest.fixture(scope="session")
def queue_media(tmp_path_factory: pytest.TempPathFactory) -> QueueMedia:
    if shutil.which("ffmpeg") is None or shutil.which("ffprobe") is None:
        pytest.fail("ffmpeg and ffprobe are needed for these tests (apt-get install ffmpeg)")
    files = make_queue_videos(tmp_path_factory.mktemp("queue-media"))
    return QueueMedia(next(iter(files.values())).parent, files, {v: thumbnails(p) for v, p in files.items()})


def clip_problems(out: Path, media: QueueMedia, clips: Mapping[str, tuple[str, float, float]] = CLIPS) -> list[str]:
    """What is wrong with the clips in ``out`` (empty: each is there, decodes cleanly, and is its source's
    frames from start to end within one frame, with no hidden pre-roll)."""
    problems = []
    for name, (video_id, start, end) in clips.items():
        path = out / name
        if not path.is_file():
            problems.append(f"{name}: missing")
            continue
        errors = decode_errors(path)
        if errors:
            problems.append(f"{name}: decoding: {errors[:300]}")
            continue
        source = media.thumbs[video_id]
        check = check_clip(path, source, start, end, FPS)
        if not (abs(check.first_error) <= 1 and abs(check.last_error) <= 1 and check.preroll_packets == 0):
            problems.append(f"{name}: {check}")
        elif abs(check.frames - check.expected_frames) > 1:
            problems.append(f"{name}: {check.frames} frames, not {check.expected_frames}: {check}")
        else:  # nearest_frame always finds a nearest: the frame must also *look* like the source's
            first = thumbnails(path)[0]
            here = distance(first, source[round(start * FPS) + check.first_error])
            if here > 200:
                problems.append(f"{name}: its first frame is not its source's (distance {here:.0f})")
    return problems


# --- the media host ----------------------------------------------------------------------------------------------


@dataclass
class Gauge:
    """Requests in flight at the host, when each one ran, and a delay before each GET is answered."""

    delay: float = 0.0
    rate: float | None = None  # bytes/s of each response's body (None: as fast as it goes)
    active: int = 0
    spans: list[tuple[float, float, str]] = field(default_factory=list)  # (start, end, "PATH RANGE"), finished
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def gets(self) -> int:
        return len(self.spans)

    def reset(self) -> None:
        with self.lock:
            self.spans.clear()

    def peak(self, overlap: float = 0.05) -> int:
        """The most requests that ran at once, each overlapping each other one by ``overlap`` seconds at least
        (the microseconds between a response's last byte and the end of its handler are no overlap)."""
        edges = sorted(edge for start, end, _ in self.spans if end - start > overlap
                       for edge in ((start + overlap / 2, 1), (end - overlap / 2, -1)))  # fmt: skip
        most = running = 0
        for _, step in edges:  # at a tie the end (-1) comes first: touching spans are not at once
            running += step
            most = max(most, running)
        return most

    def overlaps(self, overlap: float = 0.05) -> list[str]:
        """Pairs of requests that ran at once for more than ``overlap`` seconds, as text."""
        base = min((start for start, _, _ in self.spans), default=0.0)
        spans = sorted(self.spans)
        return [f"{a[2]} ({a[0] - base:.3f}-{a[1] - base:.3f} s) and {b[2]} ({b[0] - base:.3f}-{b[1] - base:.3f} s)"
                for i, a in enumerate(spans) for b in spans[i + 1:] if min(a[1], b[1]) - b[0] > overlap]  # fmt: skip

    def timeline(self) -> str:
        if not self.spans:
            return "(no requests)"
        base = min(start for start, _, _ in self.spans)
        return "\n".join(f"{start - base:7.3f} {end - base:7.3f} {what}" for start, end, what in sorted(self.spans))


class _Throttled:
    """A response stream that sends at ``rate`` bytes/s, 16 KB at a time (a client that hangs up is seen at
    once: the next piece fails)."""

    PIECE = 16 * 1024

    def __init__(self, stream: IO[bytes], rate: float) -> None:
        self.stream, self.rate = stream, rate

    def write(self, data: bytes) -> int:
        view = memoryview(data)
        for offset in range(0, len(view), self.PIECE):
            piece = view[offset : offset + self.PIECE]
            self.stream.write(piece)
            self.stream.flush()
            time.sleep(len(piece) / self.rate)
        return len(data)

    def flush(self) -> None:
        self.stream.flush()

    def __getattr__(self, name: str) -> object:
        return getattr(self.stream, name)


class _GaugedHandler(_Handler):
    gauge: Gauge

    def _serve(self, head: bool) -> None:
        gauge = self.gauge
        began = time.monotonic()
        with gauge.lock:
            gauge.active += 1
        try:
            if gauge.delay and not head and not self._wait_unless_left(gauge.delay):
                self.close_connection = True  # the client hung up while it waited: no answer, not in flight now
                return
            if gauge.rate:
                self.wfile = _Throttled(self.wfile, gauge.rate)  # type: ignore[assignment, arg-type]
            super()._serve(head)
        finally:
            with gauge.lock:
                gauge.active -= 1
                if not head:
                    gauge.spans.append((began, time.monotonic(), f"{self.path} {self.headers.get('Range')}"))

    def _wait_unless_left(self, seconds: float) -> bool:
        """Wait ``seconds``; False as soon as the client closes its connection (as a host would see it go)."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            readable, _, _ = select.select([self.connection], [], [], left)
            if not readable:
                continue
            try:
                if self.connection.recv(1, socket.MSG_PEEK) == b"":
                    return False
            except OSError:
                return False
            time.sleep(left)  # the next request, pipelined: it waits its turn
            break
        return True

    def handle(self) -> None:  # a client that hangs up between requests is no error worth a traceback
        with contextlib.suppress(ConnectionError):
            super().handle()


@dataclass
class QueueHost:
    base: str
    gauge: Gauge
    handler: type

    @property
    def requests(self) -> list[tuple[str, str | None]]:
        return self.handler.requests  # type: ignore[attr-defined]


@contextlib.contextmanager
def serve_gauged(root: Path, delay: float = 0.0) -> Iterator[QueueHost]:
    """``root`` served on 127.0.0.1 (a free port) as tests/media.serve does, with a Gauge."""
    gauge = Gauge(delay=delay)
    attrs = {"root": root, "requests": [], "bytes_sent": [], "dropped": [], "gauge": gauge}
    handler = type("GaugedHandler", (_GaugedHandler,), attrs)
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield QueueHost(f"http://127.0.0.1:{server.server_address[1]}", gauge, handler)
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def queue_host(queue_media: QueueMedia) -> Iterator[QueueHost]:
    with serve_gauged(queue_media.folder) as host:
        yield host


# --- workers -----------------------------------------------------------------------------------------------------

_WAITING_RE = re.compile(r"clipper worker (\S+:(\d+)): waiting for clips on ")


@dataclass
class Worker:
    """A ``python -m clipper worker`` process, the leader of its own process group."""

    process: subprocess.Popen[bytes]
    log: Path
    _log_handle: IO[bytes]

    @property
    def pid(self) -> int:
        return self.process.pid

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def ident(self) -> str | None:
        """HOST:PID as the worker says it at start (None until it has said so)."""
        match = _WAITING_RE.search(self.text())
        return match.group(1) if match else None

    def wait_ready(self, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ident = self.ident()
            if ident:
                return ident
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"worker {self.pid} not waiting for clips (exit {self.process.poll()}):\n{self.text()}")

    def done(self) -> list[str]:
        """Clip names this worker said it made."""
        return re.findall(r"clipper worker \S+: done (\S+)", self.text())

    def signal_group(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signum)

    def stop(self, timeout: float = 15) -> int | None:
        """SIGTERM the group, wait; SIGKILL whatever is left of it. The leader's exit status."""
        self.signal_group(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout)
        self.signal_group(signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(5)
        self._log_handle.close()
        return self.process.returncode


def start_worker(broker: str, config: Path, jobs: int, cwd: Path, log: Path, extra: Sequence[str] = ()) -> Worker:
    argv = [sys.executable, "-m", "clipper", "worker", "--broker", broker, "-j", str(jobs), "--config", str(config)]
    handle = log.open("wb")
    process = subprocess.Popen([*argv, *extra], cwd=cwd, stdin=subprocess.DEVNULL, stdout=handle, stderr=handle,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"}, start_new_session=True)  # fmt: skip
    return Worker(process, log, handle)


class Workers:
    """Starts workers for a test; ``close()`` stops every one (their whole process groups)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.started: list[Worker] = []

    def start(self, broker: str, config: Path, jobs: int = 2, extra: Sequence[str] = ()) -> Worker:
        log = self.folder / f"worker{len(self.started) + 1}.log"
        worker = start_worker(broker, config, jobs, self.folder, log, extra)
        self.started.append(worker)
        return worker

    def close(self) -> None:
        """SIGKILL every group (a clean stop is a test of its own): quick, and nothing outlives the test."""
        for worker in self.started:
            worker.signal_group(signal.SIGKILL)
        for worker in self.started:
            worker.stop(timeout=5)


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[Workers]:
    pool = Workers(tmp_path)
    try:
        yield pool
    finally:
        pool.close()


def group_alive(pgid: int) -> bool:
    """Whether any process of the group ``pgid`` is left."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``folder`` (hidden ones too): {relative path: (size, mtime_ns)}."""
    return {
        str(path.relative_to(folder)): (path.stat().st_size, path.stat().st_mtime_ns)
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def temp_files(out: Path) -> list[str]:
    """Hidden temporary files of clip runs in ``out`` (the folder's lock file is not one)."""
    found = [*out.glob(".*.part"), *out.glob(".clipper-*"), *out.glob(".*.tmp"), *out.glob("posters/.*")]
    return sorted(str(path.relative_to(out)) for path in found if path.name != ".clipper.lock")
