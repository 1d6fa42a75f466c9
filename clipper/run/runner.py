"""Runs the planned commands: a bounded worker pool, one fetch per video, retries, atomic outputs, a manifest.

Each video's media is fetched once (a whole download into the cache, or the sections its clips need), then
its clips are cut from the local copy in parallel. Every clip is written under a hidden temporary name in
the output folder, verified with ffprobe and only then renamed into place, so a file under its final name
is always complete. An interrupted run removes its temporary files; the next run skips what is done.
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
import secrets
import shlex
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from clipper.core.errors import ClipperError, CutError, FetchError, Interrupted, JobError, NameTaken, Unreachable
from clipper.core.timecode import format_timestamp
from clipper.fetch import netguard
from clipper.fetch import ytdlp as fetch
from clipper.media import cut, hdr, probe, refresh
from clipper.media.bitstream import mpegts, splice
from clipper.media.probe import MediaInfo
from clipper.media.smart import Packet
from clipper.plan.config import Config
from clipper.plan.jobs import ClipJob, length_warning
from clipper.policy.ytdlp_args import redact
from clipper.run.folderlock import FolderLock
from clipper.run.outputs import (
    MANIFEST_NAME,
    file_record,
    make_poster,
    other_clip,
    other_moment,
    read_manifest,
    unchanged,
    write_json_atomic,
    write_text_atomic,
)
from clipper.run.progress import Reporter
from clipper.run.steps import (
    PIECE_PHASES,
    ClipSteps,
    LocalMedia,
    Piece,
    Section,
    Step,
    VideoJobs,
    caption_paths,
    cleanup_paths,
    clip_metadata,
    clip_steps,
    download_command,
    final_path,
    group_videos,
    leftovers,
    packet_window,
    poster_path,
    public_only,
    remux_path,
    remux_step,
    resolve_command,
    section_path,
    section_step,
    temp_path,
)
from clipper.share import loudness
from clipper.share import pauses as snap
from clipper.share import snap as snapping
from clipper.share.captions import to_srt, to_vtt

if TYPE_CHECKING:  # loaded by the first fetch through it: its http.server is no part of a plan (find_cached)
    from clipper.fetch import relay

T = TypeVar("T")


@dataclass(frozen=True)
class ClipResult:
    job: ClipJob
    status: str  # done | skipped | failed
    error: str | None = None
    duration: float | None = None
    size: int | None = None
    mode: str | None = None  # how it was cut: smart, reencode or copy
    fetch: str | None = None  # how its media came: local, full, sections
    fetch_failed: bool = False  # its video could not be fetched (``error`` says why, once per video)
    file: dict[str, Any] | None = None  # size, mtime and hash of the clip as clipper wrote it (or found it whole)
    loudness: dict[str, Any] | None = None  # what its audio measured and how it was normalised
    width: int | None = None  # its picture, as shown
    height: int | None = None
    name_taken: bool = False  # its name holds another clip: that clip's manifest entry stays as it is


def clip_settings(config: Config) -> dict[str, Any]:
    """What a clip is made of beyond its range and source: a clip made with other settings is made again."""
    shaped = config.aspect != "source"
    return {"snap": config.snap_window if config.snap == "speech" else None, "aspect": config.aspect,
            "pad": config.pad if shaped else None, "crop_x": config.crop_x if shaped and config.pad == "none" else None,
            "loudnorm": config.loudnorm, "burn": config.captions == "burn"}  # fmt: skip


def manifest_entry(result: ClipResult, config: Config) -> dict[str, Any]:
    """What the manifest (and ``--json``) says of a clip: status, where it came from, and its tags.

    ``start``/``end`` are the clip's own times, ``note_start``/``note_end`` the note's (they differ when the
    edges snapped to pauses in the speech: ``snap`` says how each moved)."""
    job = result.job
    srt, vtt = caption_paths(job, config)
    snapped = None
    if job.note_range is not None and job.snap_reasons:
        snapped = {"window": config.snap_window, "start": job.snap_reasons[0], "end": job.snap_reasons[1]}
    return {
        "output": job.output, "status": result.status, "error": result.error,
        "video_id": job.video_id, "url": job.url, "source": job.source,
        "title": job.title, "start": job.start, "end": job.end,
        "note_start": job.note_start, "note_end": job.note_end, "snap": snapped,
        "mode": result.mode or config.mode, "fetch": result.fetch,
        "duration": result.duration, "size": result.size,
        "note": str(job.note), "line": job.line,
        "video_title": job.video_title, "channel": job.channel, "quote": job.quote, "speaker": job.speaker,
        "moment_url": job.moment_url, "upload_date": job.upload_date, "tags": list(job.tags),
        "captions": {"srt": srt.name, "vtt": vtt.name} if vtt.exists() else None,
        "file": result.file,
        "metadata": dict(clip_metadata(job)),
        "settings": clip_settings(config), "loudness": result.loudness,
        "width": result.width, "height": result.height,
    }  # fmt: skip


def find_cached(jobs: Sequence[ClipJob], config: Config) -> dict[str, Path]:
    """Whole downloads already in the cache, by cache key."""
    found: dict[str, Path] = {}
    for job in jobs:
        if job.source_is_local:
            continue
        key = fetch.cache_key(job.source, job.format or config.format, job.format_sort or config.format_sort)
        path = fetch.cached_download(config.cache_dir, job.video_id, key)
        if path is not None:
            found[key] = path
    return found


@dataclass(frozen=True)
class _Media:
    """A local file clips are cut from, and the timestamp of its player time 0."""

    path: str
    origin: float | None  # None: the file's own start time
    fetch: str
    temporary: bool = False  # a copy made for this run (removed once its clips are cut)


class Runner:
    """Makes clips for a list of jobs. ``run`` returns one ClipResult per job, in job order."""

    def __init__(self, config: Config, reporter: Reporter, *, force: bool = False, companions: bool = True) -> None:
        """``companions``: write the manifest and posters (a folder of clips); off for one clip named by -o."""
        self.config = replace(config, run_tag=config.run_tag or secrets.token_hex(6))
        self.reporter = reporter
        self.force = force
        self.companions = companions
        self.children = cut.ChildProcesses()
        self.runtime = fetch.js_runtime()
        self._lock = threading.Lock()
        self._manifest: dict[str, dict[str, Any]] = {}
        self._infos: dict[str, MediaInfo] = {}
        self._refreshes: dict[str, bool] = {}  # source -> whether it uses intra refresh
        self._refreshing: dict[str, threading.Lock] = {}  # per source: one reads it, its other clips wait
        self._streams: dict[str, list[fetch.MediaStream]] = {}
        self._resolving: dict[str, threading.Lock] = {}
        self._unreachable: dict[str, FetchError] = {}
        self._downloading: dict[str, threading.Lock] = {}
        self._said_fragmented: set[str] = set()
        # Starting the relay and its sessions has a lock of its own: building a session may take long (reading a
        # browser's cookies may wait for the user), and every clip's bookkeeping waits on ``_lock``.
        self._relay_lock = threading.Lock()
        self._relay: relay.Relay | None = None
        self._session: fetch.Session | None = None
        self._public_session: fetch.Session | None = None  # notes' media requests (see _open_public)

    # -- the batch ------------------------------------------------------------------------------------
    def run(self, jobs: Sequence[ClipJob]) -> list[ClipResult]:
        """Make the clips; one run at a time per output folder (a second one waits for the first)."""
        try:
            self.config.output_dir.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            reason = "it is a file" if self.config.output_dir.is_file() else error.strerror
            raise ClipperError(f"cannot make the output folder ({reason})", self.config.output_dir) from None
        with FolderLock(self.config.output_dir, self.reporter.message):
            return self._run(jobs)

    def _run(self, jobs: Sequence[ClipJob]) -> list[ClipResult]:
        config = self.config
        self._manifest = read_manifest(config.output_dir)
        self._remove(leftovers(config))  # of runs stopped too hard to clean up (no other run writes here now)
        self.reporter.start(len(jobs))
        results: dict[ClipJob, ClipResult] = {}  # by the job as asked
        asked: dict[ClipJob, ClipJob] = {}  # the job as it is cut (at its recorded snapped times) -> as asked
        todo = []
        for job in jobs:
            current = self._recorded(job)
            asked[current] = job
            try:
                found = None if self.force else self._finished(current)
            except NameTaken as error:
                results[job] = ClipResult(current, "failed", error.message, name_taken=True)
                self._finish(results[job])
                continue
            except ClipperError as error:
                results[job] = ClipResult(current, "failed", error.message)
                self._finish(results[job])
                continue
            if found is not None:
                record, clip_info = found
                entry = self._manifest.get(job.output) or {}
                results[job] = ClipResult(current, "skipped", duration=current.duration, size=record["size"],
                                          file=record, loudness=entry.get("loudness"),
                                          width=clip_info.width if clip_info else entry.get("width"),
                                          height=clip_info.height if clip_info else entry.get("height"))  # fmt: skip
                self._finish(results[job])
            else:
                todo.append(current)
        plans = group_videos(todo, config, find_cached(todo, config))
        for plan in plans:
            self.reporter.message(f"{plan.video_id}: {plan.strategy}: {plan.reason}")
        section_files: list[Path] = []
        # Fetching waits on the network, cutting on the CPU: two pools, so one video's clips are cut while
        # the next video's sections still download.
        fetcher = ThreadPoolExecutor(max_workers=config.jobs, thread_name_prefix="fetch")
        cutter = ThreadPoolExecutor(max_workers=config.jobs, thread_name_prefix="cut")
        pending: dict[Future[Any], tuple[str, Any, str | None]] = {}  # kind, job(s), the media file it uses
        try:
            for plan in plans:
                if plan.strategy == "local" and not self._seeks_exactly(plan.source):
                    pending[fetcher.submit(self._remux_local, plan)] = ("fetch", plan.jobs, None)
                elif plan.strategy == "local":
                    for job in plan.jobs:
                        media = _Media(plan.source, None, "local")
                        pending[cutter.submit(self._clip, job, media)] = ("clip", job, None)
                elif plan.strategy == "full":
                    pending[fetcher.submit(self._fetch_full, plan)] = ("fetch", plan.jobs, None)
                else:
                    for section in plan.sections:
                        pending[fetcher.submit(self._fetch_section, plan, section)] = ("fetch", section.jobs, None)
            users: dict[str, int] = {}  # section file -> clips still to cut from it
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    kind, payload, media_path = pending.pop(future)
                    if kind == "clip":
                        result = future.result()
                        results[asked[payload]] = result
                        self._finish(result)
                        if media_path in users:
                            users[media_path] -= 1
                            if users[media_path] == 0:
                                self._remove([Path(media_path)])
                        continue
                    try:
                        fetched: _Media = future.result()
                    except ClipperError as error:
                        # The reason is said once per video, in the summary, not once per clip here.
                        for job in payload:
                            results[asked[job]] = ClipResult(job, "failed", error.message, fetch_failed=True)
                            self._finish(results[asked[job]])
                        continue
                    if fetched.fetch == "sections" or fetched.temporary:
                        section_files.append(Path(fetched.path))
                        users[fetched.path] = len(payload)
                    for job in payload:
                        pending[cutter.submit(self._clip, job, fetched)] = ("clip", job, fetched.path)
        except BaseException as error:  # Ctrl-C, SIGTERM, or the disk full under the manifest: stop it all
            self.children.stop_all()
            if self._relay is not None:
                self._relay.stopping.set()
            for pool in (fetcher, cutter):
                pool.shutdown(wait=True, cancel_futures=True)
            self._close_relay()
            for job in jobs:
                self._remove(cleanup_paths(job, config))
            for plan in plans:
                self._remove([section_path(plan, section, config) for section in plan.sections])
                self._remove([remux_path(plan, config)])
            self.reporter.close()
            if not isinstance(error, KeyboardInterrupt):
                if isinstance(error, OSError):  # one line naming the file, not a traceback
                    raise ClipperError(f"{error.strerror or error}; stopped (finished clips kept)",
                                       error.filename) from None  # fmt: skip
                raise
            finished = sum(1 for job in jobs if final_path(job, config).is_file())  # what is there, made whole
            raise Interrupted(f"interrupted: {finished} of {len(jobs)} clip(s) finished and kept; "
                              "partial files removed; run again to finish the rest") from None  # fmt: skip
        for pool in (fetcher, cutter):
            pool.shutdown(wait=True)
        self._remove(section_files)
        self._close_relay()
        self.reporter.close()
        return [results[job] for job in jobs]

    # -- fetching -------------------------------------------------------------------------------------
    def _retrying(self, label: str, action: Callable[[], T], *, again: str = "retrying",
                  progressed: Callable[[], bool] = lambda: False) -> T:  # fmt: skip
        """Run a network action, trying again with backoff when the network may be to blame. A try that
        ``progressed`` (got further than any before it) does not count against the retries: a download
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
                limit = self.config.retries if error.retryable else min(1, self.config.retries)
                if self.children.stopping.is_set() or attempt > limit:
                    raise
                delay = self.config.retry_delay * 2 ** (attempt - 1)
                # The reason in full, with its hint, is the summary's: here a short form, once.
                reason = error.message.split(" (")[0][:200]
                shown, said = ("failed again" if reason == said else reason), reason
                self.reporter.message(f"{label}: {shown}; {again} in {delay:g}s ({attempt}/{self.config.retries})")
                time.sleep(delay)

    def _resolve(self, plan: VideoJobs, expired: str | None = None) -> list[fetch.MediaStream]:
        """The media URLs of a video: found once per run, however many sections ask at the same time.

        ``expired``: a URL the host refused (403/410): when it is still the one known, look the video up
        again (once, for all of its clips: the others then find the fresh URLs)."""
        with self._lock:
            lock = self._resolving.setdefault(plan.source, threading.Lock())
        with lock:
            failed = self._unreachable.get(plan.source)
            if failed is not None:  # another section of this video already tried, and retried, in vain
                raise failed
            known = self._streams.get(plan.source)
            if known is not None and expired is not None and any(stream.url == expired for stream in known):
                self.reporter.message(f"{plan.video_id}: the host refused its media URL (expired?); "
                                      "looking the video up again")  # fmt: skip
                known = None
            if known is None:
                self._check_public(plan)
                argv = resolve_command(plan, self.config, self.runtime)
                self.reporter.debug("$ " + shlex.join(redact(argv)))
                try:
                    known = self._retrying(f"{plan.video_id} lookup",
                                           lambda: fetch.resolve(argv, public_only(plan)))  # fmt: skip
                except FetchError as error:  # no other section of this video will do better
                    self._unreachable[plan.source] = Unreachable(_noted(plan, error).message)
                    raise self._unreachable[plan.source] from None
                self._streams[plan.source] = known
        return known

    def _media_relay(self) -> relay.Relay:
        """The relay ffmpeg reads URL media through (started on first use; one per run)."""
        from clipper.fetch import relay

        with self._relay_lock:
            if self._relay is None:
                self._session = fetch.Session(fetch.session_argv(self.runtime, self.config.yt_dlp_args))
                params = self._session.params
                self._relay = relay.Relay(self._open, retries=self.config.retries,
                                          retry_delay=self.config.retry_delay,
                                          rate_limit=params.get("ratelimit"), log=self.reporter.message)  # fmt: skip
            return self._relay

    def _open(self, url: str, headers: Mapping[str, str]) -> relay.Response:
        """The relay's request for the user's own media (a ``sources:`` entry's URL): anywhere."""
        session = self._session
        if session is None:
            raise OSError("the run is stopping")
        return session.open(url, headers)

    def _open_public(self, url: str, headers: Mapping[str, str]) -> relay.Response:
        """The relay's request for a note's media URL (and where it redirects): public hosts only, through a
        session of its own, whose pooled connections were all checked when they were made (the user's session
        may hold one to a private host of theirs, which a redirect would reuse unchecked)."""
        with self._relay_lock:
            if self._relay is None:
                raise OSError("the run is stopping")
            if self._public_session is None:
                self._public_session = fetch.Session(fetch.session_argv(self.runtime, self.config.yt_dlp_args))
            session = self._public_session
        try:
            with netguard.only_public([session.params.get("proxy")]):
                return session.open(url, headers)
        except Exception as error:  # yt-dlp wraps the refusal in its own error: the relay must not retry it
            refused = netguard.refusal(str(error))
            if refused is None:
                raise
            raise netguard.NotPublic(refused) from None

    def _close_relay(self) -> None:
        with self._relay_lock:
            if self._relay is not None:
                self._relay.close()
            for session in (self._session, self._public_session):
                if session is not None:
                    session.close()
            self._relay = self._session = self._public_session = None

    def _wait_until_available(self, plan: VideoJobs, streams: Sequence[fetch.MediaStream]) -> None:
        """A host may say when its media can be fetched (yt-dlp's ``available_at``): wait as yt-dlp does."""
        wait_seconds = max((stream.available_at or 0) for stream in streams) - time.time()
        if wait_seconds > 0:
            self.reporter.message(f"{plan.video_id}: the host asks to wait {wait_seconds:.0f}s before downloading;"
                                  " waiting")  # fmt: skip
            if self.children.stopping.wait(wait_seconds):
                raise FetchError("interrupted")

    def _fetch_full(self, plan: VideoJobs) -> _Media:
        with self._lock:
            lock = self._downloading.setdefault(plan.source, threading.Lock())
        with lock:  # sections that fall back to a whole download share one
            try:
                return self._download_whole(plan)
            except FetchError as error:
                raise _noted(plan, error) from None

    def _check_public(self, plan: VideoJobs) -> None:
        """A note's own URL must lead to a public host, its name looked up now (the user's ``sources:`` may
        point anywhere)."""
        if not any(job.public_only for job in plan.jobs):
            return
        problem = netguard.public_host_problem(plan.source)
        if problem is not None:
            job = plan.jobs[0]
            with self._lock:
                self._unreachable[plan.source] = Unreachable(f"{job.note}:{job.line}: {problem}")
            raise self._unreachable[plan.source]

    def _download_whole(self, plan: VideoJobs) -> _Media:
        key = fetch.cache_key(plan.source, plan.format, plan.format_sort)
        cached = fetch.cached_download(self.config.cache_dir, plan.video_id, key)
        if cached is not None:
            return _Media(str(cached), None, "full")
        self._check_public(plan)
        self.config.cache_dir.mkdir(parents=True, exist_ok=True)
        argv = download_command(plan, self.config, self.runtime)
        label = f"download {plan.video_id}"
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
            downloaded = fetch.download(argv, progress, public_only(plan))  # each try looks it up again: fresh URLs
            self._check_whole(plan, downloaded, short)
            return downloaded.path

        try:
            path = self._retrying(label, attempt, again="looking the video up again",
                                  progressed=progressed)  # fmt: skip
        finally:
            self.reporter.task_finished(label)
        if not path.endswith(".mp4"):
            path = self._remux_to_mp4(Path(path))
        return _Media(path, None, "full")

    def _check_whole(self, plan: VideoJobs, downloaded: fetch.Download, short: list[float]) -> None:
        """A download shorter than the video (a host that cut it off, a fragment lost) never stays in the cache,
        where every later run would take it for the whole video. One file over HTTP is kept as yt-dlp's partial
        file, which the next try resumes (asking the host for the rest only); a second try that comes as short
        again is final (``short``: the last short length): the host serves no more, or states a wrong length."""
        problem: str | None
        path = Path(downloaded.path)
        resumable = False
        try:
            actual = probe.probe(downloaded.path).duration
        except ClipperError as error:
            problem = f"the download of {plan.source} cannot be read ({error.message}; not kept)"
        else:
            problem = fetch.short_download_problem(plan.source, downloaded.duration, actual,
                                                   short[-1] if short else None)  # fmt: skip
            resumable = downloaded.resumable
            short.append(actual)
        if problem is None:
            return
        final = fetch.same_short(problem)
        if resumable and not final:
            os.replace(path, path.with_name(path.name + ".part"))  # yt-dlp's name for a download under way
        else:  # fragments or merged streams (yt-dlp could not resume from them), or nothing more to come
            self._remove([path])
        if final:
            raise Unreachable(problem)
        raise FetchError(problem, retryable=True)

    def _remux_to_mp4(self, path: Path) -> str:
        """Keep whole downloads as MP4 (a stream copy): its index makes the smart cut's seeks land exactly,
        where Matroska's land on an earlier keyframe. A stream MP4 cannot hold stays as it came."""
        target = path.with_suffix(".mp4")
        temp = path.with_name(f".{target.name}.part")
        try:
            info = self._info(str(path))
            self._run_step(Step("fetch", tuple(cut.remux_argv(str(path), str(temp))), str(temp), info.duration),
                           f"remux {path.name}")  # fmt: skip
        except ClipperError as error:
            self.reporter.message(f"{path.name}: kept as it is ({error.message})")
            with contextlib.suppress(FileNotFoundError):
                temp.unlink()
            return str(path)
        os.replace(temp, target)
        path.unlink()
        return str(target)

    def _seeks_exactly(self, path: str) -> bool:
        """Whether a local file's seeks land where asked (not MPEG-TS); a file that cannot be read is cut as it
        is (its clips then say why they fail)."""
        try:
            return not Path(path).is_file() or self._info(path).seeks_exactly
        except ClipperError:
            return True

    def _remux_local(self, plan: VideoJobs) -> _Media:
        """A local MPEG-TS file, copied into MP4 for this run: a seek in MPEG-TS lands between keyframes, where
        the frames up to the next keyframe cannot be decoded (MP4's index makes every seek exact)."""
        target = remux_path(plan, self.config)
        self.reporter.message(f"{plan.video_id}: MPEG-TS has no index to seek by: copying it into MP4 to cut from")
        try:
            self._run_step(remux_step(plan.source, target, self._info(plan.source).duration), f"remux {plan.video_id}")
        except ClipperError as error:  # a stream MP4 cannot hold: cut the file as it is
            self._remove([target])
            if self.children.stopping.is_set():
                raise
            self.reporter.message(f"{plan.video_id}: cut from the MPEG-TS file itself ({error.message})")
            return _Media(plan.source, None, "local")
        except BaseException:
            self._remove([target])
            raise
        return _Media(str(target), None, "local", temporary=True)

    def _fetch_section(self, plan: VideoJobs, section: Section) -> _Media:
        def attempt() -> _Media:
            streams = self._resolve(plan)
            if not all(stream.relayable for stream in streams):
                with self._lock:
                    said = plan.source in self._said_fragmented
                    self._said_fragmented.add(plan.source)
                if not said:
                    protocols = ", ".join(sorted({stream.protocol for stream in streams}))
                    self.reporter.message(f"{plan.video_id}: the host serves {protocols} fragments: downloading the "
                                          "whole video with yt-dlp's fragment downloader instead")  # fmt: skip
                return self._fetch_full(plan)
            if not all(stream.seeks_exactly for stream in streams):
                with self._lock:
                    said = plan.source in self._said_fragmented
                    self._said_fragmented.add(plan.source)
                if not said:
                    self.reporter.message(f"{plan.video_id}: MPEG-TS has no index to seek by: downloading the whole "
                                          "video, then copying it into MP4 to cut from")  # fmt: skip
                return self._fetch_full(plan)
            self._wait_until_available(plan, streams)
            path = section_path(plan, section, self.config)
            self._fetch_through_relay(plan, section, streams, path)
            return _Media(str(path), 0.0, "sections")

        try:
            return self._retrying(f"{plan.video_id} section", attempt)
        except FetchError as error:
            raise _noted(plan, error) from None

    def _fetch_through_relay(self, plan: VideoJobs, section: Section, streams: Sequence[fetch.MediaStream],
                             path: Path) -> None:  # fmt: skip
        """ffmpeg copies the section from the relay, which asks the host for bounded chunks (progress in bytes)."""
        from clipper.fetch import relay

        media_relay = self._media_relay()
        label = f"fetch {plan.video_id} {section.start:.0f}-{section.end:.0f}s"
        key = f"{label}#{threading.get_ident()}"
        received = [0]

        def on_bytes(count: int) -> None:
            received[0] += count
            self.reporter.task_progress(key, received[0])

        local: list[fetch.MediaStream] = []
        for index, stream in enumerate(streams):

            def refresh(failed: relay.Upstream, index: int = index) -> relay.Upstream:
                fresh = self._resolve(plan, expired=failed.url)[index]
                return relay.Upstream(fresh.url, fresh.headers)

            chunk = self.config.http_chunk_size or stream.chunk_size or 0
            # A note's stream, refreshed URLs included, connects to public hosts only.
            opener = self._open_public if public_only(plan) else None
            url = media_relay.add(relay.Upstream(stream.url, stream.headers), chunk_size=chunk, refresh=refresh,
                                  on_bytes=on_bytes, name=f"{plan.video_id}.{stream.format_id or index}",
                                  opener=opener)  # fmt: skip
            local.append(replace(stream, url=url, headers={}, via_relay=True))
        step = section_step(local, section, path)
        self.reporter.task_started(key, label, _section_bytes(streams, section), unit="B")
        try:
            self.reporter.debug("$ " + shlex.join(step.argv))
            error: CutError | None = None
            try:
                # The relay's secret reaches ffmpeg in its environment, never in its argv (see relay).
                cut.run_ffmpeg(step.argv, None, self.children, env=media_relay.environment(os.environ))
            except CutError as failed:
                error = failed
            # The host's reason, not ffmpeg's view of a broken read; and ffmpeg may take a read the relay had
            # to cut off for the end of the file: a section is never kept then.
            failure = next((found for found in map(media_relay.failure, (s.url for s in local)) if found), None)
            if failure is not None:
                raise fetch.fetch_error(str(failure), retryable=failure.retryable, error=failure)
            if error is not None:
                raise error
        except BaseException:
            self._remove([path])
            raise
        finally:
            self.reporter.task_finished(key)
            for stream in local:
                media_relay.remove(stream.url)

    # -- cutting --------------------------------------------------------------------------------------
    def _info(self, path: str) -> MediaInfo:
        with self._lock:
            known = self._infos.get(path)
        if known is None:
            known = hdr.with_metadata(probe.probe(path), path)
            with self._lock:
                self._infos[path] = known
        return known

    def _uses_refresh(self, job: ClipJob, media: _Media, info: MediaInfo) -> bool:
        """Whether the H.264 video ``media`` holds uses intra refresh, read once per source (see
        ``refresh.uses_refresh``): a file by its path, the sections fetched of a video by the video (each clip's
        own: the first that tells it); its clips' cuts are checked for refresh points only then."""
        if info.video_codec != "h264":
            return False
        key = media.path if media.origin is None else f"video {job.video_id}"
        with self._lock:
            lock = self._refreshing.setdefault(key, threading.Lock())
        with lock:
            known = self._refreshes.get(key)
            if known is None:
                found = refresh.uses_refresh(media.path, self._run_probe)
                if found is not None or media.origin is None:  # a file tells what it can; a section may not
                    self._refreshes[key] = bool(found)
                known = bool(found)
        return known

    def _run_probe(self, argv: Sequence[str]) -> None:
        """Run a small ffmpeg that reads (an intra refresh check) as the cuts run: logged, ended with clipper."""
        self.reporter.debug("$ " + shlex.join(argv))
        cut.run_ffmpeg(argv, None, self.children)

    def _clip(self, job: ClipJob, media: _Media) -> ClipResult:
        config = self.config
        try:
            if not Path(media.path).is_file():
                raise CutError(f"source file not found: {media.path}")
            packets = None
            snapping_now = config.snap == "speech" and job.note_range is None
            with self._lock:
                known = self._infos.get(media.path)
            if known is None and media.origin is not None and config.mode != "copy" and not snapping_now:
                # A section's timeline is known before it is probed: its streams and the clip's packets are
                # read in one ffprobe run.
                info, found = probe.probe_with_packets(media.path, *packet_window(job, media.origin))
                info = hdr.with_metadata(info, media.path)
                with self._lock:
                    self._infos[media.path] = info
                packets = found
            info = self._info(media.path)
            origin = info.origin if media.origin is None else media.origin
            if media.origin is None:  # the whole video: its length is known before any work
                check_range(job, info.duration)
            if snapping_now:  # the media is here: a few seconds of audio around each edge tell where to cut
                job = self._snap(job, media.path, origin, info)
            if packets is None:
                packets = smart_packets(job, media.path, info, origin, config)
            refreshes = functools.partial(self._uses_refresh, job, media, info)  # read only when a cut needs it
            cut_plan, _ = plan_cut(job, config, media.path, origin, info, packets, refreshes, self._run_probe,
                                   poster=self.companions)  # fmt: skip
            mode = cut_plan.mode
            for note in cut_plan.notes:
                self.reporter.message(f"{job.output}: {note}")
            try:
                measured, clip_info = self._run_steps(job, cut_plan.steps, info)
            except CutError as error:
                if mode != "smart" or self.children.stopping.is_set():
                    raise
                refreshing = intra_refresh(job, media.path, origin, info, "reencode", self._run_probe, refreshes())
                how = " from the keyframe before its intra refresh point" if refreshing.decode_seek is not None else ""
                self.reporter.message(f"{job.output}: smart cut failed ({error.message}); re-encoding the clip{how}")
                cut_plan = clip_steps(job, replace(config, mode="reencode"), media.path, origin, info, packets,
                                      refresh=refreshing)  # fmt: skip
                mode = cut_plan.mode
                measured, clip_info = self._run_steps(job, cut_plan.steps, info)
            temp = temp_path(job, config)
            os.replace(temp, final_path(job, config))
            record = file_record(final_path(job, config))
            if self.companions:
                # here, in parallel, not all at the end
                make_poster(config.output_dir, job.output, job.duration, made=poster_path(job, config))
            heard = loudness.record(measured, config.loudnorm) if measured and config.loudnorm is not None else None
            return ClipResult(job, "done", duration=job.duration, size=record["size"], mode=mode, fetch=media.fetch,
                              file=record, loudness=heard, width=clip_info.width if clip_info else None,
                              height=clip_info.height if clip_info else None)  # fmt: skip
        except (ClipperError, ValueError) as error:  # ValueError: no frame to plan a cut from (a range too short)
            message = str(error.message if isinstance(error, ClipperError) else error)
            message = "interrupted" if self.children.stopping.is_set() else message
            return ClipResult(job, "failed", message, fetch=media.fetch)
        finally:
            self._remove(cleanup_paths(job, config))

    def _snap(self, job: ClipJob, source: str, origin: float, info: MediaInfo) -> ClipJob:
        """The job with its edges in pauses of the speech; the log says where each went and why."""
        snapped = snapping.snap_to_speech(job, source, origin, info, self.config)
        self.reporter.message(f"{job.output}: {snap.summary(snapped)}")
        warning = length_warning(snapped, self.config)
        if warning is not None and length_warning(job, self.config) is None:  # the note's range was said fine
            self.reporter.message(warning)
        return snapped

    def _recorded(self, job: ClipJob) -> ClipJob:
        """A clip made before with its edges snapped: the job at the times the manifest records for it."""
        entry = self._manifest.get(job.output)
        if self.config.snap != "speech" or self.force or not entry or entry.get("status") not in ("done", "skipped"):
            return job
        return snapping.recorded(job, entry, self.config) or job

    def _run_steps(self, job: ClipJob, steps: Sequence[Step],
                   info: MediaInfo) -> tuple[dict[str, str] | None, MediaInfo | None]:  # fmt: skip
        """Run the steps and verify the clip; what a measuring step measured, and what ffprobe says of the clip."""
        measured: dict[str, str] | None = None
        try:
            for step in steps:
                for path, text in step.files:
                    Path(path).write_text(text, encoding="utf-8")
                if step.fill is not None:
                    if measured is None:
                        raise CutError("the loudness was not measured before it was applied")
                    argv = list(step.argv)
                    argv[step.fill] = loudness.fill(argv[step.fill], measured)
                    step = replace(step, argv=tuple(argv))
                stderr = self._run_step(step, f"{step.phase} {job.output}")
                if step.phase == "measure":
                    measured = loudness.parse_measurement(stderr)
                    target = self.config.loudnorm if self.config.loudnorm is not None else 0.0
                    self.reporter.message(f"{job.output}: loudness {loudness.describe(measured, target)}")
                for piece in step.pieces:
                    check_piece(piece)
            temp = temp_path(job, self.config)
            final = steps[-1]  # the join of a smart cut's pieces, or the cut
            reason, clip_info = self._verified(temp, job, seams=final.joins, span=final.span, source=info)
            if reason is None and final.frames is not None and clip_info is not None:
                count = clip_info.frames  # from the MP4 index; Matroska has none: count the packets
                if count is None:
                    count = len(probe.packet_times(str(temp)))
                if count != final.frames:
                    reason = f"it holds {count} frames, not {final.frames}"
            if reason is not None:
                self._remove([poster_path(job, self.config)])  # a frame of a clip that is not kept
                raise CutError(f"the clip did not verify: {reason}")
            return measured, clip_info
        finally:
            self._remove([Path(output) for step in steps if step.phase in PIECE_PHASES for output in step.outputs])

    def _run_step(self, step: Step, label: str) -> str:
        """Run one step with its progress; what it wrote to stderr."""
        self.reporter.debug("$ " + shlex.join(step.argv))
        key = f"{label}#{threading.get_ident()}"
        self.reporter.task_started(key, label, step.seconds)
        clock = MediaClock(step.offset, step.seconds)
        try:
            if step.phase == "splice":  # the same function the step's command runs, without starting Python
                try:
                    splice.rewrite_file(*step.argv[-2:])
                except (OSError, splice.SpliceError) as error:
                    raise CutError(f"the open GOP cannot be spliced: {error}") from None
                return ""
            return cut.run_ffmpeg(step.argv, lambda seconds: self.reporter.task_progress(key, clock.done(seconds)),
                                  self.children, cwd=step.cwd)  # fmt: skip
        finally:
            self.reporter.task_finished(key)

    def _finished(self, job: ClipJob) -> tuple[dict[str, Any], MediaInfo | None] | None:
        """The record of ``job``'s clip (and what ffprobe says of it) when it is made and still what clipper wrote,
        with the settings asked for now; else None (make it).

        A clip that changed since (or that no record describes) is decoded whole: kept when it decodes
        cleanly, made again when it does not."""
        path = final_path(job, self.config)
        if not path.is_file():
            return None
        entry = self._manifest.get(job.output) or {}
        other = other_clip(entry, job)
        if other is not None:  # same name, same length perhaps, but another clip: never skipped as this one
            raise NameTaken(f"{job.output} is there already and is another clip ({other}; this one: {job.video_id} "
                            f"{format_timestamp(job.note_start)}-{format_timestamp(job.note_end)}): --force "
                            "replaces it, -o names this one")  # fmt: skip
        changed = self._other_settings(entry)
        if changed and unchanged(path, entry.get("file")):
            self.reporter.message(f"{job.output}: made with other settings ({changed}); making it again")
            return None
        # Edges that will snap to the speech once the media is fetched: the clip's times are not known yet.
        slack = 2 * self.config.snap_window if self.config.snap == "speech" and job.note_range is None else 0.0
        if unchanged(path, entry.get("file")) and (entry.get("start"), entry.get("end")) == (job.start, job.end):
            # What clipper wrote for this range, checked then against the source's own frames (a variable frame
            # rate's clip may differ from the asked length by more than a frame): its length is not judged again.
            slack = math.inf
        reason, info = self._verified(path, job, slack)
        foreign = other_moment(info.comment, job, times_known=slack == 0.0) if info and not entry else None
        if foreign is not None:  # no record, but the clip's own tag says it is another video's or moment's
            raise NameTaken(f"{job.output} is there already and is another clip (its tag: {foreign}; this one: "
                            f"{job.moment_url}): --force replaces it, -o names this one")  # fmt: skip
        if reason is not None:
            if probe.decode_problems(str(path)) is None:  # whole, but another clip: never replaced unasked
                raise NameTaken(f"{path.name} is there already and is another clip ({reason}): --force "
                                "replaces it, -o names this one")  # fmt: skip
            self.reporter.message(f"{job.output}: does not decode cleanly ({reason}); making it again")
            return None
        same = unchanged(path, entry.get("file"))
        if same:
            return dict(entry["file"]), info
        problem = probe.decode_problems(str(path))
        if problem is not None:
            what = "changed since it was made" if same is False else "not recorded as made by clipper"
            self.reporter.message(f"{job.output}: {what} and does not decode cleanly ({problem}); making it again")
            return None
        return file_record(path), info

    def _other_settings(self, entry: dict[str, Any]) -> str:
        """How the settings a clip was made with (its manifest entry's) differ from these; '' when they do not.
        Entries from before settings were recorded were made with the defaults (captions as asked now)."""
        now = clip_settings(self.config)
        if not entry:
            return ""
        then = entry.get("settings")
        if not isinstance(then, dict):
            then = {**clip_settings(Config()), "burn": now["burn"]}
        names = {"burn": "burnt captions"}
        return ", ".join(f"{names.get(key, key)} {_setting(key, then.get(key))} -> {_setting(key, value)}"
                         for key, value in now.items() if then.get(key) != value)  # fmt: skip

    def _verified(self, path: Path, job: ClipJob, slack: float = 0.0, seams: Sequence[float] = (),
                  span: tuple[float, float] | None = None,
                  source: MediaInfo | None = None) -> tuple[str | None, MediaInfo | None]:  # fmt: skip
        """(None, what ffprobe says) when ``path`` is a finished clip of ``job``; else (why not, ...).
        ``seams``: where a smart cut's pieces meet (seconds into the clip), decoded in the same ffprobe run;
        ``span``: how long its picture may last (``steps.frame_span``); ``source``: what it is cut from (the clip
        must have each of its streams)."""
        if not path.is_file():
            return "missing", None
        try:
            info, problem = probe.probe_clip(str(path), seams) if seams else (probe.probe(str(path)), None)
        except ClipperError as error:
            return error.message, None
        missing = probe.missing_streams(source, info) if source is not None else None
        return missing or probe.verify_clip(info, job.duration, self.config.mode, slack, span) or problem, info

    # -- bookkeeping ----------------------------------------------------------------------------------
    def _finish(self, result: ClipResult) -> None:
        # A clip found made whose snapped times are not known (no manifest records them): its captions stay.
        unknown = self.config.snap == "speech" and result.job.note_range is None and result.status == "skipped"
        if result.status != "failed" and self.config.captions != "off" and result.job.captions and not unknown:
            self._write_captions(result.job)
        detail = f"{result.job.video_id} could not be fetched (why: below)" if result.fetch_failed else result.error
        detail = detail or ""
        self.reporter.clip_finished(result.job.output, result.status, detail)
        with self._lock:
            if not result.name_taken:  # the clip that holds the name keeps its record
                self._manifest[result.job.output] = manifest_entry(result, self.config)
            if self.companions:
                write_json_atomic(self.config.output_dir / MANIFEST_NAME, {"version": 1, "clips": self._manifest})

    def _write_captions(self, job: ClipJob) -> None:
        """NAME.srt and NAME.vtt next to the clip, each written whole or not at all."""
        srt, vtt = caption_paths(job, self.config)
        write_text_atomic(srt, to_srt(job.captions))
        write_text_atomic(vtt, to_vtt(job.captions))

    @staticmethod
    def _remove(paths: Sequence[Path]) -> None:
        for path in paths:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()


def _noted(plan: VideoJobs, error: FetchError) -> FetchError:
    """A refused connection for a note's URL, said with the note's file and line (once)."""
    job = plan.jobs[0]
    where = f"{job.note}:{job.line}: "
    if not public_only(plan) or netguard.REFUSED not in error.message or error.message.startswith(where):
        return error
    return Unreachable(where + error.message)


def _setting(key: str, value: Any) -> str:
    if value is None:
        return "off"
    if key == "snap":  # the window, when snapping to speech
        return f"speech ({_setting('', value)}s)"
    if isinstance(value, bool):
        return "on" if value else "off"
    return f"{value:g}" if isinstance(value, float) else str(value)


def check_piece(piece: Piece) -> None:
    """A piece must start at its first frame and hold its frames: a seek that landed elsewhere, or a filter
    that let other packets through, would shift or break the clip."""
    kind = "copied piece" if piece.kind == "copy" else "re-encoded piece"
    if piece.output.endswith(".ts"):  # read here: no ffprobe to start
        try:
            count, pts = mpegts.summary(Path(piece.output).read_bytes())
        except (OSError, ValueError, IndexError) as error:  # TsError is a ValueError
            raise CutError(f"{kind} cannot be read: {error}") from None
        first = pts / 90000 if pts is not None else None
    else:
        times = probe.packet_times(piece.output)
        count, first = len(times), times[0] if times else None
    if first is None or abs(first - piece.starts_at) > 0.001:
        raise CutError(f"{kind} starts at {first}, not at {piece.starts_at}")
    if count != piece.frames:
        raise CutError(f"{kind} holds {count} frames, not {piece.frames}")


def check_range(job: ClipJob, video_seconds: float) -> None:
    """Refuse a clip that starts or ends past the end of its video (half a frame of slack at the end)."""
    if video_seconds <= 0:
        return
    lasts = format_timestamp(video_seconds)
    if job.start >= video_seconds:
        raise CutError(f"starts past the end ({format_timestamp(job.start)}): the video lasts {lasts}")
    if job.end > video_seconds + 0.02:
        raise CutError(f"ends past the end ({format_timestamp(job.end)}): the video lasts {lasts}; "
                       f"the range {format_timestamp(job.start)}-{lasts} would fit")  # fmt: skip


class MediaClock:
    """A step's progress (0 to its length) from ffmpeg's ``out_time``, which counts from the source's own
    timestamps when ffmpeg keeps them (``-copyts``) and from 0 otherwise: the first report tells which."""

    def __init__(self, offset: float, total: float) -> None:
        self.offset = offset
        self.total = total
        self.origin: float | None = None

    def done(self, out_time: float) -> float:
        if self.origin is None:
            if out_time <= 0:
                return 0.0  # nothing written yet: the timeline is not known
            self.origin = self.offset if out_time >= self.offset - 1.0 else 0.0
        return min(max(out_time - self.origin, 0.0), self.total)


def _section_bytes(streams: Sequence[fetch.MediaStream], section: Section) -> float | None:
    """About how many bytes a section is (its share of the streams' sizes), for the progress bar."""
    sizes = [stream.size for stream in streams]
    duration = streams[0].duration if streams else None
    if not duration or any(size is None for size in sizes):
        return None
    return sum(size or 0 for size in sizes) * min(1.0, (section.end - section.start) / duration)


def smart_packets(job: ClipJob, source: str, info: MediaInfo, origin: float, config: Config) -> list[Packet] | None:
    """The video packets around ``job``: a smart cut is planned from them, a re-encode cut at their times;
    None in copy mode (or without video)."""
    if config.mode == "copy" or not info.has_video:
        return None
    return probe.packets(source, *packet_window(job, origin))


def intra_refresh(job: ClipJob, source: str, origin: float, info: MediaInfo, mode: str, run: refresh.Run,
                  refreshes: bool = True) -> refresh.Refresh:  # fmt: skip
    """Whether an H.264 clip's copy (``copy`` mode) or re-encode (``reencode``) would start on an intra refresh
    point: the keyframe each seek lands on is read (one small ffmpeg run each, through ``run``), only for a source
    that ``refreshes`` (uses intra refresh at all). A smart cut reads none up front: it cannot copy from one (the
    splice refuses it) and falls back to a re-encode, which reads it then."""
    if not refreshes or info.video_codec != "h264" or mode not in ("copy", "reencode"):
        return refresh.WHOLE
    copy_point = None
    if mode == "copy":
        found = refresh.landing(source, origin + job.start, run)
        if found is None or not found[1]:
            return refresh.WHOLE
        copy_point = found[0]
    found = refresh.landing(source, origin + job.start - cut.seek_lead("reencode", job.start), run)
    decode_seek = refresh.seek_before(source, found[0], run) if found is not None and found[1] else None
    return refresh.Refresh(decode_seek, copy_point)


def plan_cut(job: ClipJob, config: Config, source: str, origin: float, info: MediaInfo,
             packets: Sequence[Packet] | None, refreshes: Callable[[], bool], run: refresh.Run, *,
             poster: bool = False) -> tuple[ClipSteps, refresh.Refresh]:  # fmt: skip
    """The steps that make ``job`` from a local file (``clip_steps``) and the intra refresh points they start from
    (``intra_refresh``), as the run and its dry run (``probe_local_media``) both plan them. A smart cut re-encoded
    whole for another reason (a new shape, burnt captions) also decodes from a whole picture. ``refreshes``:
    whether the source uses intra refresh, asked only when a copy or re-encode is planned."""
    copying = config.mode in ("copy", "reencode") and info.video_codec == "h264"
    refreshing = intra_refresh(job, source, origin, info, config.mode, run, copying and refreshes())
    cut_plan = clip_steps(job, config, source, origin, info, packets, poster=poster, refresh=refreshing)
    if cut_plan.mode == "reencode" and config.mode == "smart" and info.video_codec == "h264" and refreshes():
        refreshing = intra_refresh(job, source, origin, info, "reencode", run)
        if refreshing != refresh.WHOLE:
            cut_plan = clip_steps(job, config, source, origin, info, packets, poster=poster, refresh=refreshing)
    return cut_plan, refreshing


def probe_local_media(plans: Sequence[VideoJobs], config: Config) -> tuple[LocalMedia, list[ClipperError]]:
    """For a dry run: what ffprobe says of the local files and their packets around each clip (reads only)."""
    media: dict[str, tuple[MediaInfo, dict[ClipJob, Sequence[Packet]], dict[ClipJob, refresh.Refresh]]] = {}
    problems: list[ClipperError] = []
    for plan in plans:
        if plan.strategy != "local" or not Path(plan.source).is_file():
            continue
        try:
            info = hdr.with_metadata(probe.probe(plan.source), plan.source)
        except ClipperError as error:
            problems.append(error)
            continue
        packets: dict[ClipJob, Sequence[Packet]] = {}
        refreshes: dict[ClipJob, refresh.Refresh] = {}
        # The same reads as the run's (each into a scratch file in the system's temporary folder, removed).
        known: list[bool] = []  # the source's answer, once asked (MPEG-TS: the script cuts a copy in MP4)

        def uses(source: str = plan.source, known: list[bool] = known, exact: bool = info.seeks_exactly) -> bool:
            if not known:
                known.append(exact and bool(refresh.uses_refresh(source, _run_read)))
            return known[0]

        for job in plan.jobs:
            found = smart_packets(job, plan.source, info, info.origin, config)
            if found is not None:
                packets[job] = found
            try:
                refreshes[job] = plan_cut(job, config, plan.source, info.origin, info, found, uses, _run_read)[1]
            except (ClipperError, ValueError):  # the script says why it cannot be cut
                continue
        media[plan.source] = (info, packets, refreshes)
    return media, problems


def _run_read(argv: Sequence[str]) -> None:
    """Run a small ffmpeg that reads, for a dry run (nothing of the user's is written)."""
    cut.run_ffmpeg(argv)
