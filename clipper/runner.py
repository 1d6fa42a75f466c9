"""Runs the planned commands: a bounded worker pool, retries, atomic outputs, a manifest, progress.

Every clip is written under a hidden temporary name in the output folder, verified with ffprobe, and only
then renamed into place, so a file under its final name is always complete. Interrupted runs remove their
temporary files; the next run skips what exists and verifies.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clipper import cut, fetch
from clipper.config import Config
from clipper.errors import ClipperError, CutError, Interrupted, JobError
from clipper.plan import ClipJob, cut_command, final_path, resolve_command, temp_path
from clipper.progress import Reporter

MANIFEST_NAME = "manifest.json"


@dataclass(frozen=True)
class ClipResult:
    job: ClipJob
    status: str  # done | skipped | failed
    error: str | None = None
    duration: float | None = None
    size: int | None = None
    attempts: int = 0


def manifest_entry(result: ClipResult, config: Config) -> dict[str, Any]:
    job = result.job
    return {
        "output": job.output,
        "status": result.status,
        "error": result.error,
        "video_id": job.video_id,
        "url": job.url,
        "source": job.source,
        "title": job.title,
        "start": job.start,
        "end": job.end,
        "mode": config.mode,
        "duration": result.duration,
        "size": result.size,
        "note": str(job.note),
        "line": job.line,
    }


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON so that readers see the old or the new file, never half of one."""
    temp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    temp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(temp, path)


def read_manifest(output_dir: Path) -> dict[str, dict[str, Any]]:
    try:
        data = json.loads((output_dir / MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    clips = data.get("clips") if isinstance(data, dict) else None
    return {str(k): v for k, v in clips.items() if isinstance(v, dict)} if isinstance(clips, dict) else {}


class Runner:
    """Makes clips for a list of jobs. ``run`` returns one ClipResult per job (in job order)."""

    def __init__(self, config: Config, reporter: Reporter, *, force: bool = False, retry_delay: float = 1.0) -> None:
        self.config = config
        self.reporter = reporter
        self.force = force
        self.retry_delay = retry_delay
        self.children = cut.ChildProcesses()
        self.runtime = fetch.js_runtime()
        self._resolved: dict[str, Future[list[fetch.MediaStream]]] = {}
        self._resolve_lock = threading.Lock()
        self._manifest_lock = threading.Lock()
        self._manifest: dict[str, dict[str, Any]] = {}

    # -- public ---------------------------------------------------------------------------------
    def run(self, jobs: Sequence[ClipJob]) -> list[ClipResult]:
        output_dir = self.config.output_dir
        output_dir.mkdir(parents=True, exist_ok=True)
        self._manifest = read_manifest(output_dir)
        for job in jobs:  # leftovers of a run that was killed too hard to clean up
            with contextlib.suppress(FileNotFoundError):
                temp_path(job, self.config).unlink()
        self.reporter.start(len(jobs))
        results: dict[int, ClipResult] = {}
        executor = ThreadPoolExecutor(max_workers=self.config.jobs, thread_name_prefix="clip")
        futures = {executor.submit(self._make_clip, job): index for index, job in enumerate(jobs)}
        try:
            for future in as_completed(futures):
                result = future.result()
                results[futures[future]] = result
                self._record(result)
                self.reporter.clip_finished(result.job.output, result.status, result.error or "")
        except KeyboardInterrupt:
            self.children.stop_all()
            executor.shutdown(wait=True, cancel_futures=True)
            for job in jobs:
                with contextlib.suppress(FileNotFoundError):
                    temp_path(job, self.config).unlink()
            self.reporter.close()
            done = sum(1 for r in results.values() if r.status in ("done", "skipped"))
            raise Interrupted(
                f"interrupted: {done} of {len(jobs)} clip(s) finished and kept; "
                "partial files removed; run again to finish the rest"
            ) from None
        executor.shutdown(wait=True)
        self.reporter.close()
        return [results[index] for index in range(len(jobs))]

    # -- one clip ---------------------------------------------------------------------------------
    def _make_clip(self, job: ClipJob) -> ClipResult:
        final = final_path(job, self.config)
        if not self.force and final.exists():
            reason = self._check(final, job)
            if reason is None:
                size = final.stat().st_size
                return ClipResult(job, "skipped", duration=job.duration, size=size)
            self.reporter.debug(f"{job.output} exists but will be made again: {reason}")
        attempts = 0
        while True:
            attempts += 1
            try:
                return self._attempt(job, final, attempts)
            except JobError as error:
                if self.children.stopping.is_set():
                    return ClipResult(job, "failed", "interrupted", attempts=attempts)
                # Reading over the network can fail in many ways that a second try fixes.
                retryable = error.retryable or not job.source_is_local
                if retryable and attempts <= self.config.retries:
                    delay = self.retry_delay * 2 ** (attempts - 1)
                    self.reporter.message(
                        f"{job.output}: {error.message}; retrying in {delay:g}s ({attempts}/{self.config.retries})"
                    )
                    time.sleep(delay)
                    continue
                return ClipResult(job, "failed", error.message, attempts=attempts)
            except ClipperError as error:
                return ClipResult(job, "failed", error.message, attempts=attempts)
            finally:
                with contextlib.suppress(FileNotFoundError):
                    temp_path(job, self.config).unlink()

    def _attempt(self, job: ClipJob, final: Path, attempts: int) -> ClipResult:
        streams = self._streams(job)
        temp = temp_path(job, self.config)
        argv = cut_command(job, self.config, streams)
        self.reporter.debug("$ " + " ".join(argv))
        self.reporter.clip_started(job.output, "cut", job.duration)
        cut.run_ffmpeg(argv, lambda seconds: self.reporter.clip_progress(job.output, seconds), self.children)
        reason = self._check(temp, job)
        if reason is not None:
            raise CutError(f"the clip did not verify: {reason}")
        size = temp.stat().st_size
        os.replace(temp, final)
        info_duration = cut.probe(str(final)).duration
        return ClipResult(job, "done", duration=info_duration, size=size, attempts=attempts)

    def _check(self, path: Path, job: ClipJob) -> str | None:
        try:
            info = cut.probe(str(path))
        except ClipperError as error:
            return error.message
        return cut.verify_clip(info, job.duration, self.config.mode)

    def _streams(self, job: ClipJob) -> list[fetch.MediaStream] | None:
        """The media URLs of the job's video, found once per video per run (shared by its clips)."""
        argv = resolve_command(job, self.config, self.runtime)
        if argv is None:
            if not Path(job.source).is_file():
                raise CutError(f"source file not found: {job.source}")
            return None
        with self._resolve_lock:
            future = self._resolved.get(job.source)
            owner = future is None
            if future is None:
                future = Future()
                self._resolved[job.source] = future
        if owner:
            self.reporter.debug("$ " + " ".join(argv))
            try:
                future.set_result(fetch.resolve(argv))
            except BaseException as error:
                with self._resolve_lock:  # let a retry try again
                    self._resolved.pop(job.source, None)
                future.set_exception(error)
        return future.result()

    def _record(self, result: ClipResult) -> None:
        with self._manifest_lock:
            self._manifest[result.job.output] = manifest_entry(result, self.config)
            write_json_atomic(self.config.output_dir / MANIFEST_NAME, {"version": 1, "clips": self._manifest})
