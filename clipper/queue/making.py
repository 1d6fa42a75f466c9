"""A worker's side: one clip from a message, made as a local batch makes it (the same fetcher and cutter, the
clip written under a temporary name of this attempt's own and renamed into place whole), its progress and its
result kept in Redis for the batch that asked."""

from __future__ import annotations

import contextlib
import json
import logging
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, TextIO

from clipper.core.errors import ClipperError
from clipper.core.streams import MediaStream
from clipper.fetch import cache
from clipper.fetch.ytdlp_argv import js_runtime
from clipper.media import ffmpeg
from clipper.plan.config import Config
from clipper.plan.jobs import ClipJob
from clipper.plan.queue_keys import limit_for
from clipper.queue.broker import QUEUE, RetryLater, RunStore
from clipper.queue.limits import HostGuard
from clipper.queue.messages import MessageError, read_message, result_data
from clipper.run.clipping import Clipper
from clipper.run.fetching import Fetcher, MediaFile
from clipper.run.manifest import ClipResult, find_cached
from clipper.run.paths import remove
from clipper.run.progress import Reporter
from clipper.run.running import MediaInfos, StepRunner
from clipper.run.videos import VideoJobs, group_videos

LOOKUPS_KEPT = 300.0  # seconds a worker reuses a video's media URLs for its next clips (a 403 looks it up again)
THROTTLED = ("http error 429", "too many requests", "http error 403", "403 forbidden")
PROGRESS_EVERY = 0.5  # seconds between two progress reports of one task to the broker


class StoreReporter(Reporter):
    """A worker's log lines on its stderr, and each task's progress in the batch's store for its bars."""

    def __init__(self, store: RunStore, worker: str, stream: TextIO | None = None, verbose: bool = False) -> None:
        super().__init__(stream, verbose)
        self.store = store
        self.worker = worker
        self._sent: dict[str, float] = {}
        self._tasks: dict[str, dict[str, Any]] = {}

    def task_started(self, key: str, label: str, total: float | None, unit: str = "s") -> None:
        self._tasks[key] = {"label": label, "total": total, "unit": unit, "done": 0.0, "worker": self.worker}
        self._send(key, force=True)

    def task_progress(self, key: str, done: float, total: float | None = None) -> None:
        task = self._tasks.get(key)
        if task is not None:
            task["done"], task["total"] = done, total or task["total"]
            self._send(key)

    def task_finished(self, key: str) -> None:
        if self._tasks.pop(key, None) is not None:
            with contextlib.suppress(Exception):  # progress only: the result is what counts
                self.store.set_task(f"{self.worker}/{key}", None)

    def clip_finished(self, name: str, status: str, detail: str = "") -> None:
        self.message(f"clipper worker {self.worker}: {status} {name}" + (f": {detail}" if detail else ""))

    def _send(self, key: str, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._sent.get(key, 0.0) < PROGRESS_EVERY:
            return
        self._sent[key] = now
        with contextlib.suppress(Exception):
            self.store.set_task(f"{self.worker}/{key}", self._tasks[key])


def throttled(result: ClipResult) -> bool:
    """Whether the host refused the clip's fetch for asking too much (429) or is refusing it (403)."""
    return (
        result.status == "failed"
        and result.fetch_failed
        and any(mark in (result.error or "").lower() for mark in THROTTLED)
    )


class ClipMaker:
    """Makes the clips of the messages a worker takes, each in its own attempt (fetch, cut, verify, rename)."""

    def __init__(self, client: Any, worker: str, own: Config, stream: TextIO | None = None,
                 verbose: bool = False) -> None:  # fmt: skip
        """``own``: the worker's own config (its host_limits apply beside the batch's)."""
        self.client = client
        self.worker = worker
        self.own = own
        self.stream = stream
        self.verbose = verbose
        self.children = ffmpeg.ChildProcesses()
        js_runtime()  # here, once: finding it reads sysconfig, which two threads must not fill at once
        self.guard = HostGuard(client, own.queue_heartbeat, self.children.stopping)
        self._lookups: dict[str, tuple[float, dict[str, list[MediaStream]]]] = {}
        self._lookups_lock = threading.Lock()

    def handle(self, data: Any, retries: int = 0) -> None:
        """Make the clip ``data`` asks for and record its result (unless the batch is cancelled or the clip is
        made already: a message is delivered at least once)."""
        run = data.get("run") if isinstance(data, dict) else None
        name = (data.get("job") or {}).get("output") if isinstance(data, dict) else None
        if not isinstance(run, str) or not run.isalnum() or not isinstance(name, str):
            self._say(f"a message that is no clip job ({str(data)[:120]}): dropped")
            return
        store = RunStore(self.client, run)
        if store.cancelled():
            return
        known = store.result(name)
        if known is not None and known.get("status") == "done":
            self._say(f"{name}: made already (a second delivery of its message)")
            return
        reporter = StoreReporter(store, self.worker, self.stream, self.verbose)
        try:
            message = read_message(data)
        except MessageError as error:
            self._say(f"{name}: {error.message}")
            store.put_result(name, {"version": data.get("version"), "status": "failed", "error": error.message})
            return
        try:
            result = self.make(message.job, message.config, reporter)
        except Exception as error:  # a bug: said as the clip's failure, not a message lost in the broker
            logging.getLogger(__name__).exception("making %s failed", name)
            result = ClipResult(message.job, "failed", f"clipper failed ({type(error).__name__}: {error})")
        if self.children.stopping.is_set():
            raise RetryLater("the worker is stopping")  # another worker makes it
        limit = self._limit(message.job, message.config)
        if throttled(result) and limit is not None and retries < message.config.retries:
            paused = self.guard.pause(limit[0], message.config.retry_delay * 2 ** (retries + 2))
            self._say(f"{name}: {limit[0]} refused the fetch ({result.error}); every worker leaves it alone for "
                      f"{paused:g}s, then this clip is tried again")  # fmt: skip
            raise RetryLater(result.error)
        reporter.clip_finished(name, result.status, result.error or "")
        self._record(store, name, result_data(result, self.worker))

    def _record(self, store: RunStore, name: str, data: dict[str, Any]) -> None:
        """Record a result, waiting for a broker that is away (a restart) as long as a batch waits for it."""
        deadline = time.monotonic() + max(30.0, 4 * self.own.queue_heartbeat)
        while True:
            try:
                store.put_result(name, data)
                return
            except Exception as error:  # redis.RedisError, OSError: the broker away
                if time.monotonic() > deadline or self.children.stopping.wait(1.0):
                    self._say(f"{name}: its result could not be recorded ({error}); its batch sends it again")
                    return

    def stop(self) -> None:
        """Stop the clips being made (their ffmpeg and yt-dlp ended, their temporary files removed)."""
        self.children.stop_all()

    def _limit(self, job: ClipJob, config: Config) -> tuple[str, int] | None:
        """The host limit that applies to ``job``'s source: the lower of the batch's and this worker's own."""
        found = [limit for limit in (limit_for(job.source, config.host_limits),
                                     limit_for(job.source, self.own.host_limits)) if limit]  # fmt: skip
        return min(found, key=lambda limit: limit[1]) if found else None

    def make(self, job: ClipJob, config: Config, reporter: Reporter) -> ClipResult:
        """Fetch what ``job`` needs and cut it; the result (failed with the reason when it could not be made)."""
        config = replace(config, run_tag=secrets.token_hex(6))  # this attempt's own temporary names
        with self.guard.attempt(config.run_tag):
            return self._make(job, config, reporter)

    def _make(self, job: ClipJob, config: Config, reporter: Reporter) -> ClipResult:
        steps, infos = StepRunner(reporter, self.children), MediaInfos()
        fetcher = Fetcher(config, reporter, steps, infos, known=self._known_streams(job, config))
        clipper = Clipper(config, reporter, steps, infos, companions=True)
        fetched: MediaFile | None = None
        try:
            config.output_dir.mkdir(parents=True, exist_ok=True)
            video = group_videos([job], config, find_cached([job], config))[0]
            try:
                with self._fetch_slot(video, config, reporter):
                    try:
                        fetched = self._fetch(video, fetcher)
                    finally:  # its last requests to the host end inside the host's slot
                        fetcher.relay.close()
            except ClipperError as error:
                return ClipResult(job, "failed", error.message, fetch_failed=True)
            except KeyboardInterrupt:
                return ClipResult(job, "failed", "interrupted", fetch_failed=True)
            return clipper.clip(job, fetched)
        except OSError as error:
            return ClipResult(job, "failed", f"{error.strerror or error} ({error.filename or config.output_dir})")
        finally:
            if fetched is not None and (fetched.fetch == "sections" or fetched.temporary):
                remove([Path(fetched.path)])
            fetcher.relay.close()

    def _known_streams(self, job: ClipJob, config: Config) -> dict[str, list[MediaStream]]:
        """The media URLs this worker looked up lately with the same lookup settings: one yt-dlp lookup per
        video for its clips here, not one per clip."""
        key = json.dumps([job.format or config.format, job.format_sort or config.format_sort, config.yt_dlp_args,
                          job.public_only])  # fmt: skip
        now = time.monotonic()
        with self._lookups_lock:
            for stale in [k for k, (made, _) in self._lookups.items() if now - made > LOOKUPS_KEPT]:
                del self._lookups[stale]
            return self._lookups.setdefault(key, (now, {}))[1]

    @contextlib.contextmanager
    def _fetch_slot(self, video: VideoJobs, config: Config, reporter: Reporter) -> Iterator[None]:
        """Hold the host's fetch slot (``host_limits``) and, for a whole download, the video's own lock: two
        workers never download one video into a cache at once."""
        with contextlib.ExitStack() as held:
            limit = None if video.strategy == "local" else self._limit(video.jobs[0], config)
            if video.strategy == "full":
                key = cache.cache_key(video.source, video.format, video.format_sort)
                held.enter_context(self.guard.slot(f"download:{key}", 1))
            if limit is not None:
                held.enter_context(self.guard.slot(limit[0], limit[1], reporter.message))
            yield

    def _fetch(self, video: VideoJobs, fetcher: Fetcher) -> MediaFile:
        if video.strategy == "local":
            if fetcher.seeks_exactly(video.source):
                return MediaFile(video.source, None, "local")
            return fetcher.remux_local(video)
        if video.strategy == "full":
            return fetcher.fetch_full(video)
        return fetcher.fetch_section(video, video.sections[0])

    def _say(self, text: str) -> None:
        Reporter(self.stream).message(f"clipper worker {self.worker}: {text}")


class Heartbeat(threading.Thread):
    """Tells the broker this worker lives while its threads are all busy (Dramatiq beats only when it fetches
    messages), and renews the fetch slots it holds."""

    def __init__(self, broker: Any, guard: HostGuard, every: float, stopping: threading.Event) -> None:
        super().__init__(name="clipper-heartbeat", daemon=True)
        self.broker, self.guard, self.every, self.stopping = broker, guard, every, stopping

    def run(self) -> None:
        while not self.stopping.wait(self.every):
            with contextlib.suppress(Exception):  # the broker away for a while: the next beat tries again
                self.broker.do_qsize(QUEUE)
                self.guard.renew()
