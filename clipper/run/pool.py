"""Runs the planned commands: a bounded worker pool, one fetch per video, retries, atomic outputs, a manifest.

Each video's media is fetched once (a whole download into the cache, or the sections its clips need), then
its clips are cut from the local copy in parallel. Every clip is written under a hidden temporary name in
the output folder, verified with ffprobe and only then renamed into place, so a file under its final name
is always complete. An interrupted run removes its temporary files; the next run skips what is done.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import replace
from pathlib import Path
from typing import Any

from clipper.core.errors import ClipperError, Interrupted, NameTaken
from clipper.media import ffmpeg
from clipper.plan.config import Config
from clipper.plan.jobs import ClipJob
from clipper.run.clipping import Clipper
from clipper.run.fetching import Fetcher, MediaFile
from clipper.run.folderlock import FolderLock
from clipper.run.manifest import ClipResult, Manifest, find_cached
from clipper.run.outputs import read_manifest
from clipper.run.paths import cleanup_paths, final_path, leftovers, remove, remux_path, section_path
from clipper.run.progress import Reporter
from clipper.run.running import MediaInfos, StepRunner
from clipper.run.videos import VideoJobs, group_videos

# What a pending piece of work is: its kind (fetch | clip), its job(s), and the media file a clip uses.
_Work = tuple[str, Any, str | None]


class Runner:
    """Makes clips for a list of jobs. ``run`` returns one ClipResult per job, in job order."""

    def __init__(self, config: Config, reporter: Reporter, *, force: bool = False, companions: bool = True) -> None:
        """``companions``: write the manifest and posters (a folder of clips); off for one clip named by -o."""
        self.config = replace(config, run_tag=config.run_tag or secrets.token_hex(6))
        self.reporter = reporter
        self.force = force
        self.companions = companions
        self.children = ffmpeg.ChildProcesses()
        steps, infos = StepRunner(reporter, self.children), MediaInfos()
        self.fetcher = Fetcher(self.config, reporter, steps, infos)
        self.clipper = Clipper(self.config, reporter, steps, infos, companions=companions)
        self.manifest = Manifest(self.config, reporter, force=force, companions=companions, entries={})

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
        self.manifest.entries = read_manifest(config.output_dir)
        remove(leftovers(config))  # of runs stopped too hard to clean up (no other run writes here now)
        self.reporter.start(len(jobs))
        results: dict[ClipJob, ClipResult] = {}  # by the job as asked
        asked: dict[ClipJob, ClipJob] = {}  # the job as it is cut (at its recorded snapped times) -> as asked
        todo = self._skip_made(jobs, results, asked)
        videos = group_videos(todo, config, find_cached(todo, config))
        for video in videos:
            self.reporter.message(f"{video.video_id}: {video.strategy}: {video.reason}")
        section_files: list[Path] = []
        # Fetching waits on the network, cutting on the CPU: two pools, so one video's clips are cut while
        # the next video's sections still download.
        fetch_pool = ThreadPoolExecutor(max_workers=config.jobs, thread_name_prefix="fetch")
        cut_pool = ThreadPoolExecutor(max_workers=config.jobs, thread_name_prefix="cut")
        try:
            pending = self._start(videos, fetch_pool, cut_pool)
            self._work_through(pending, cut_pool, results, asked, section_files)
        except BaseException as error:  # Ctrl-C, SIGTERM, or the disk full under the manifest: stop it all
            self._stop(jobs, videos, (fetch_pool, cut_pool))
            if not isinstance(error, (KeyboardInterrupt, OSError)):
                raise
            raise self._stopped(error, jobs) from None
        for pool in (fetch_pool, cut_pool):
            pool.shutdown(wait=True)
        remove(section_files)
        self.fetcher.relay.close()
        self.reporter.close()
        return [results[job] for job in jobs]

    def _skip_made(self, jobs: Sequence[ClipJob], results: dict[ClipJob, ClipResult],
                   asked: dict[ClipJob, ClipJob]) -> list[ClipJob]:  # fmt: skip
        """The jobs to make: those whose clips are not made already (``--force``: all). The others' results go
        into ``results``; ``asked`` maps each job as it is cut to the job as asked."""
        todo = []
        for job in jobs:
            current = self.manifest.recorded(job)
            asked[current] = job
            try:
                found = None if self.force else self.manifest.finished(current)
            except NameTaken as error:
                results[job] = ClipResult(current, "failed", error.message, name_taken=True)
                self.manifest.finish(results[job])
                continue
            except ClipperError as error:
                results[job] = ClipResult(current, "failed", error.message)
                self.manifest.finish(results[job])
                continue
            if found is not None:
                record, clip_info = found
                entry = self.manifest.entries.get(job.output) or {}
                results[job] = ClipResult(current, "skipped", duration=current.duration, size=record["size"],
                                          file=record, loudness=entry.get("loudness"),
                                          width=clip_info.width if clip_info else entry.get("width"),
                                          height=clip_info.height if clip_info else entry.get("height"))  # fmt: skip
                self.manifest.finish(results[job])
            else:
                todo.append(current)
        return todo

    def _start(self, videos: Sequence[VideoJobs], fetch_pool: ThreadPoolExecutor,
               cut_pool: ThreadPoolExecutor) -> dict[Future[Any], _Work]:  # fmt: skip
        """The first work of each video: its fetch, or its clips when it is a local file to cut as it is."""
        pending: dict[Future[Any], _Work] = {}
        for video in videos:
            if video.strategy == "local" and not self.fetcher.seeks_exactly(video.source):
                pending[fetch_pool.submit(self.fetcher.remux_local, video)] = ("fetch", video.jobs, None)
            elif video.strategy == "local":
                for job in video.jobs:
                    media = MediaFile(video.source, None, "local")
                    pending[cut_pool.submit(self.clipper.clip, job, media)] = ("clip", job, None)
            elif video.strategy == "full":
                pending[fetch_pool.submit(self.fetcher.fetch_full, video)] = ("fetch", video.jobs, None)
            else:
                for section in video.sections:
                    future = fetch_pool.submit(self.fetcher.fetch_section, video, section)
                    pending[future] = ("fetch", section.jobs, None)
        return pending

    def _work_through(self, pending: dict[Future[Any], _Work], cut_pool: ThreadPoolExecutor,
                      results: dict[ClipJob, ClipResult], asked: dict[ClipJob, ClipJob],
                      section_files: list[Path]) -> None:  # fmt: skip
        """Wait for the work as it finishes: a fetched file's clips go to the cutters, a finished clip into the
        manifest, a fetched file no clip needs any more is removed."""
        users: dict[str, int] = {}  # section file -> clips still to cut from it
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                kind, payload, media_path = pending.pop(future)
                if kind == "clip":
                    result = future.result()
                    results[asked[payload]] = result
                    self.manifest.finish(result)
                    if media_path in users:
                        users[media_path] -= 1
                        if users[media_path] == 0:
                            remove([Path(media_path)])
                    continue
                try:
                    fetched: MediaFile = future.result()
                except ClipperError as error:
                    # The reason is said once per video, in the summary, not once per clip here.
                    for job in payload:
                        results[asked[job]] = ClipResult(job, "failed", error.message, fetch_failed=True)
                        self.manifest.finish(results[asked[job]])
                    continue
                if fetched.fetch == "sections" or fetched.temporary:
                    section_files.append(Path(fetched.path))
                    users[fetched.path] = len(payload)
                for job in payload:
                    pending[cut_pool.submit(self.clipper.clip, job, fetched)] = ("clip", job, fetched.path)

    def _stop(self, jobs: Sequence[ClipJob], videos: Sequence[VideoJobs],
              pools: Sequence[ThreadPoolExecutor]) -> None:  # fmt: skip
        """Stop everything (child processes, the relay, both pools) and remove this run's temporary files."""
        config = self.config
        self.children.stop_all()
        self.fetcher.relay.stop()
        for pool in pools:
            pool.shutdown(wait=True, cancel_futures=True)
        self.fetcher.relay.close()
        for job in jobs:
            remove(cleanup_paths(job, config))
        for video in videos:
            remove([section_path(video, section, config) for section in video.sections])
            remove([remux_path(video, config)])
        self.reporter.close()

    def _stopped(self, error: KeyboardInterrupt | OSError, jobs: Sequence[ClipJob]) -> ClipperError:
        """What a stopped run says: the file an OSError names, in one line (not a traceback), or how much of an
        interrupted run is kept."""
        if isinstance(error, OSError):
            return ClipperError(f"{error.strerror or error}; stopped (finished clips kept)", error.filename)
        finished = sum(1 for job in jobs if final_path(job, self.config).is_file())  # what is there, made whole
        return Interrupted(f"interrupted: {finished} of {len(jobs)} clip(s) finished and kept; "
                           "partial files removed; run again to finish the rest")  # fmt: skip
