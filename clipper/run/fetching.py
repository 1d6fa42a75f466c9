"""Getting each video's media onto the disk: the sections its clips need (through the relay), a whole download
into the cache (checked whole, kept as MP4), or a local MPEG-TS file copied into MP4; network actions retried with
backoff, and a note's URL kept to public hosts.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from clipper.core.errors import ClipperError, FetchError, JobError, Unreachable
from clipper.core.streams import MediaStream
from clipper.fetch import cache, download, netguard, resolve, ytdlp_argv
from clipper.media import cut_args, hdr, probe
from clipper.media.probe import MediaInfo
from clipper.plan.config import Config
from clipper.policy.ytdlp_args import redact
from clipper.run.paths import remove, remux_path, section_path
from clipper.run.progress import Reporter
from clipper.run.relaying import SectionRelay
from clipper.run.running import MediaInfos, StepRunner
from clipper.run.steps import Step, remux_step
from clipper.run.videos import Section, VideoJobs, download_command, public_only, resolve_command

T = TypeVar("T")


@dataclass(frozen=True)
class MediaFile:
    """A local file clips are cut from, and the timestamp of its player time 0."""

    path: str
    origin: float | None  # None: the file's own start time
    fetch: str
    temporary: bool = False  # a copy made for this run (removed once its clips are cut)


def retrying(label: str, action: Callable[[], T], config: Config, reporter: Reporter, stopping: threading.Event, *,
             again: str = "retrying", progressed: Callable[[], bool] = lambda: False) -> T:  # fmt: skip
    """Run a network action, trying again with backoff when the network may be to blame (until ``stopping``). A
    try that ``progressed`` (got further than any before it) does not count against the retries: a download
    whose URLs expire now and then resumes until it is whole."""
    attempt, said = 0, ""
    while True:
        attempt += 1
        try:
            return action()
        except Unreachable:
            raise  # its retries are spent already, or none would help
        except JobError as error:
            if error.retryable and progressed():
                attempt = 1
            # One more try even for errors the network did not cause: a fresh lookup may get a fresh URL.
            limit = config.retries if error.retryable else min(1, config.retries)
            if stopping.is_set() or attempt > limit:
                raise
            delay = config.retry_delay * 2 ** (attempt - 1)
            # The reason in full, with its hint, is the summary's: here a short form, once.
            reason = error.message.split(" (")[0][:200]
            shown, said = ("failed again" if reason == said else reason), reason
            reporter.message(f"{label}: {shown}; {again} in {delay:g}s ({attempt}/{config.retries})")
            time.sleep(delay)


def check_whole(video: VideoJobs, downloaded: download.Download, short: list[float]) -> MediaInfo:
    """A download shorter than the video (a host that cut it off, a fragment lost) never stays in the cache,
    where every later run would take it for the whole video. One file over HTTP is kept as yt-dlp's partial
    file, which the next try resumes (asking the host for the rest only); a second try that comes as short
    again is final (``short``: the last short length): the host serves no more, or states a wrong length.
    Returns what ffprobe read of the file kept: its clips (and a remux) use it instead of probing it again."""
    problem: str | None
    path = Path(downloaded.path)
    resumable = False
    try:
        info = probe.probe(downloaded.path)
    except ClipperError as error:
        problem = f"the download of {video.source} cannot be read ({error.message}; not kept)"
    else:
        problem = download.short_download_problem(video.source, downloaded.duration, info.duration,
                                               short[-1] if short else None)  # fmt: skip
        resumable = downloaded.resumable
        short.append(info.duration)
    if problem is None:
        return info
    final = download.same_short(problem)
    if resumable and not final:
        os.replace(path, path.with_name(path.name + ".part"))  # yt-dlp's name for a download under way
    else:  # fragments or merged streams (yt-dlp could not resume from them), or nothing more to come
        remove([path])
    if final:
        raise Unreachable(problem)
    raise FetchError(problem, retryable=True)


def lookup_key(video: VideoJobs) -> str:
    """What a video's media URLs depend on: its source and the formats asked for (two notes may ask one video for
    different formats: each gets its own lookup)."""
    return "\0".join((video.source, video.format, ",".join(video.format_sort)))


def _noted(video: VideoJobs, error: FetchError) -> FetchError:
    """A refused connection for a note's URL, said with the note's file and line (once)."""
    job = video.jobs[0]
    where = f"{job.note}:{job.line}: "
    if not public_only(video) or netguard.REFUSED not in error.message or error.message.startswith(where):
        return error
    return Unreachable(where + error.message)


class Fetcher:
    """Fetches the media of each video once per run, however many of its clips (or sections) ask at once."""

    def __init__(self, config: Config, reporter: Reporter, steps: StepRunner, infos: MediaInfos,
                 known: dict[str, list[MediaStream]] | None = None) -> None:  # fmt: skip
        """``known``: media URLs looked up before (by ``lookup_key``), shared with other fetchers of the same
        settings."""
        self.config = config
        self.reporter = reporter
        self.steps = steps
        self.children = steps.children
        self.infos = infos
        self.runtime = ytdlp_argv.js_runtime()
        self.relay = SectionRelay(config, reporter, self.children, self.runtime)
        self._lock = threading.Lock()
        self._streams: dict[str, list[MediaStream]] = known if known is not None else {}
        self._resolving: dict[str, threading.Lock] = {}
        self._unreachable: dict[str, FetchError] = {}
        self._downloading: dict[str, threading.Lock] = {}
        self._said_fragmented: set[str] = set()

    def _retrying(self, label: str, action: Callable[[], T], *, again: str = "retrying",
                  progressed: Callable[[], bool] = lambda: False) -> T:  # fmt: skip
        """``retrying`` with this run's retries, log and stop."""
        return retrying(label, action, self.config, self.reporter, self.children.stopping, again=again,
                        progressed=progressed)  # fmt: skip

    def resolve(self, video: VideoJobs, expired: str | None = None) -> list[MediaStream]:
        """The media URLs of a video: found once per run, however many sections ask at the same time.

        ``expired``: a URL the host refused (403/410): when it is still the one known, look the video up
        again (once, for all of its clips: the others then find the fresh URLs)."""
        with self._lock:
            lock = self._resolving.setdefault(lookup_key(video), threading.Lock())
        with lock:
            failed = self._unreachable.get(lookup_key(video))
            if failed is not None:  # another section of this video already tried, and retried, in vain
                raise failed
            known = self._streams.get(lookup_key(video))
            if known is not None and expired is not None and any(stream.url == expired for stream in known):
                self.reporter.message(f"{video.video_id}: the host refused its media URL (expired?); "
                                      "looking the video up again")  # fmt: skip
                known = None
            if known is None:
                self._check_public(video)
                argv = resolve_command(video, self.config, self.runtime)
                self.reporter.debug("$ " + shlex.join(redact(argv)))
                try:
                    known = self._retrying(f"{video.video_id} lookup",
                                           lambda: resolve.resolve(argv, public_only(video)))  # fmt: skip
                except FetchError as error:  # no other section of this video will do better
                    self._unreachable[lookup_key(video)] = Unreachable(_noted(video, error).message)
                    raise self._unreachable[lookup_key(video)] from None
                self._streams[lookup_key(video)] = known
        return known

    def wait_until_available(self, video: VideoJobs, streams: Sequence[MediaStream]) -> None:
        """A host may say when its media can be fetched (yt-dlp's ``available_at``): wait as yt-dlp does."""
        wait_seconds = max((stream.available_at or 0) for stream in streams) - time.time()
        if wait_seconds > 0:
            self.reporter.message(f"{video.video_id}: the host asks to wait {wait_seconds:.0f}s before downloading;"
                                  " waiting")  # fmt: skip
            if self.children.stopping.wait(wait_seconds):
                raise FetchError("interrupted")

    def fetch_full(self, video: VideoJobs) -> MediaFile:
        """The whole video, downloaded into the cache (or found there)."""
        with self._lock:
            lock = self._downloading.setdefault(video.source, threading.Lock())
        with lock:  # sections that fall back to a whole download share one
            try:
                return self._download_whole(video)
            except FetchError as error:
                raise _noted(video, error) from None

    def _check_public(self, video: VideoJobs) -> None:
        """A note's own URL must lead to a public host, its name looked up now (the user's ``sources:`` may
        point anywhere)."""
        if not any(job.public_only for job in video.jobs):
            return
        problem = netguard.public_host_problem(video.source)
        if problem is not None:
            job = video.jobs[0]
            with self._lock:
                self._unreachable[lookup_key(video)] = Unreachable(f"{job.note}:{job.line}: {problem}")
            raise self._unreachable[lookup_key(video)]

    def _download_whole(self, video: VideoJobs) -> MediaFile:
        key = cache.cache_key(video.source, video.format, video.format_sort)
        cached = cache.cached_download(self.config.cache_dir, video.video_id, key)
        if cached is not None:
            return MediaFile(str(cached), None, "full")
        self._check_public(video)
        self.config.cache_dir.mkdir(parents=True, exist_ok=True)
        argv = download_command(video, self.config, self.runtime)
        label = f"download {video.video_id}"
        self.reporter.task_started(label, label, None, unit="B")

        reached = [0, 0]  # bytes: the most any try got to, and that when the last failed try began

        def progress(done: int, total: int | None) -> None:
            if self.children.stopping.is_set():
                raise KeyboardInterrupt  # yt-dlp stops and leaves only its .part file
            reached[0] = max(reached[0], done)
            self.reporter.task_progress(label, done, total)

        def progressed() -> bool:
            further, reached[1] = reached[0] > reached[1], reached[0]
            return further

        short: list[float] = []  # how long the last download lasted, when it came short

        def attempt() -> str:
            self.reporter.debug("$ " + shlex.join(redact(argv)))
            downloaded = download.download(argv, progress, public_only(video))  # each try looks it up again: fresh URLs
            info = check_whole(video, downloaded, short)
            self.infos.remember(downloaded.path, hdr.with_metadata(info, downloaded.path))
            return downloaded.path

        try:
            path = self._retrying(label, attempt, again="looking the video up again",
                                  progressed=progressed)  # fmt: skip
        finally:
            self.reporter.task_finished(label)
        if not path.endswith(".mp4"):
            path = self._remux_to_mp4(Path(path))
        return MediaFile(path, None, "full")

    def _remux_to_mp4(self, path: Path) -> str:
        """Keep whole downloads as MP4 (a stream copy): its index makes the smart cut's seeks land exactly,
        where Matroska's land on an earlier keyframe. A stream MP4 cannot hold stays as it came."""
        target = path.with_suffix(".mp4")
        temp = path.with_name(f".{target.name}.part")
        try:
            info = self.infos.info(str(path))
            remux = cut_args.remux_argv(str(path), str(temp))
            self.steps.run_step(Step("fetch", tuple(remux), str(temp), info.duration), f"remux {path.name}")
        except ClipperError as error:
            self.reporter.message(f"{path.name}: kept as it is ({error.message})")
            with contextlib.suppress(FileNotFoundError):
                temp.unlink()
            return str(path)
        os.replace(temp, target)
        path.unlink()
        return str(target)

    def seeks_exactly(self, path: str) -> bool:
        """Whether a local file's seeks land where asked (not MPEG-TS); a file that cannot be read is cut as it
        is (its clips then say why they fail)."""
        try:
            return not Path(path).is_file() or self.infos.info(path).seeks_exactly
        except ClipperError:
            return True

    def remux_local(self, video: VideoJobs) -> MediaFile:
        """A local MPEG-TS file, copied into MP4 for this run: a seek in MPEG-TS lands between keyframes, where
        the frames up to the next keyframe cannot be decoded (MP4's index makes every seek exact)."""
        target = remux_path(video, self.config)
        self.reporter.message(f"{video.video_id}: MPEG-TS has no index to seek by: copying it into MP4 to cut from")
        try:
            step = remux_step(video.source, target, self.infos.info(video.source).duration)
            self.steps.run_step(step, f"remux {video.video_id}")
        except ClipperError as error:  # a stream MP4 cannot hold: cut the file as it is
            remove([target])
            if self.children.stopping.is_set():
                raise
            self.reporter.message(f"{video.video_id}: cut from the MPEG-TS file itself ({error.message})")
            return MediaFile(video.source, None, "local")
        except BaseException:
            remove([target])
            raise
        return MediaFile(str(target), None, "local", temporary=True)

    def fetch_section(self, video: VideoJobs, section: Section) -> MediaFile:
        """One section of the video through the relay; the whole video when its host serves fragments or
        MPEG-TS (no section of those can be copied exactly)."""

        def attempt() -> MediaFile:
            streams = self.resolve(video)
            if not all(stream.relayable for stream in streams):
                if self._first_to_say(video):
                    protocols = ", ".join(sorted({stream.protocol for stream in streams}))
                    self.reporter.message(f"{video.video_id}: the host serves {protocols} fragments: downloading "
                                          "the whole video with yt-dlp's fragment downloader instead")  # fmt: skip
                return self.fetch_full(video)
            if not all(stream.seeks_exactly for stream in streams):
                if self._first_to_say(video):
                    self.reporter.message(f"{video.video_id}: MPEG-TS has no index to seek by: downloading the "
                                          "whole video, then copying it into MP4 to cut from")  # fmt: skip
                return self.fetch_full(video)
            self.wait_until_available(video, streams)
            path = section_path(video, section, self.config)
            self.relay.fetch(video, section, streams, path, self.resolve)
            return MediaFile(str(path), 0.0, "sections")

        try:
            return self._retrying(f"{video.video_id} section", attempt)
        except FetchError as error:
            raise _noted(video, error) from None

    def _first_to_say(self, video: VideoJobs) -> bool:
        """Whether no section of this video said yet why it is downloaded whole (it is said once)."""
        with self._lock:
            said = video.source in self._said_fragmented
            self._said_fragmented.add(video.source)
        return not said
