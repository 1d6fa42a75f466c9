"""What a run records and what it skips: each clip's result and manifest entry (written after every clip), the
clips already made (skipped when they are still what clipper wrote, with the settings asked for now), and the
whole downloads already in the cache.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clipper.core.errors import NameTaken
from clipper.core.timecode import format_timestamp
from clipper.fetch import cache
from clipper.media import probe
from clipper.media.probe import MediaInfo
from clipper.plan.config import Config
from clipper.plan.jobs import ClipJob
from clipper.run.checks import verified
from clipper.run.outputs import (
    MANIFEST_NAME,
    file_record,
    other_clip,
    other_moment,
    unchanged,
    write_json_atomic,
    write_text_atomic,
)
from clipper.run.paths import caption_paths, final_path
from clipper.run.progress import Reporter
from clipper.run.steps import clip_metadata
from clipper.share import snap
from clipper.share.captions import to_srt, to_vtt


@dataclass(frozen=True)
class ClipResult:
    """What became of one clip in a run: made, skipped (made before) or failed, and what the manifest says of it."""

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
    worker: str | None = None  # HOST:PID of the queue worker that made it (a batch through a queue)


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
    entry = {
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
    if result.worker is not None:
        entry["worker"] = result.worker
    return entry


def find_cached(jobs: Sequence[ClipJob], config: Config) -> dict[str, Path]:
    """Whole downloads already in the cache, by cache key."""
    found: dict[str, Path] = {}
    for job in jobs:
        if job.source_is_local:
            continue
        key = cache.cache_key(job.source, job.format or config.format, job.format_sort or config.format_sort)
        path = cache.cached_download(config.cache_dir, job.video_id, key)
        if path is not None:
            found[key] = path
    return found


def other_settings(entry: dict[str, Any], config: Config) -> str:
    """How the settings a clip was made with (its manifest entry's) differ from ``config``'s; '' when they do not.
    Entries from before settings were recorded were made with the defaults (captions as asked now)."""
    now = clip_settings(config)
    if not entry:
        return ""
    then = entry.get("settings")
    if not isinstance(then, dict):
        then = {**clip_settings(Config()), "burn": now["burn"]}
    names = {"burn": "burnt captions"}
    return ", ".join(f"{names.get(key, key)} {_setting(key, then.get(key))} -> {_setting(key, value)}"
                     for key, value in now.items() if then.get(key) != value)  # fmt: skip


def _setting(key: str, value: Any) -> str:
    if value is None:
        return "off"
    if key == "snap":  # the window, when snapping to speech
        return f"speech ({_setting('', value)}s)"
    if isinstance(value, bool):
        return "on" if value else "off"
    return f"{value:g}" if isinstance(value, float) else str(value)


class Manifest:
    """The output folder's manifest as a run sees it: what was made before (read once, at the start), and each
    clip's entry as it finishes (the file rewritten whole each time, ``companions`` on)."""

    def __init__(self, config: Config, reporter: Reporter, *, force: bool, companions: bool,
                 entries: dict[str, dict[str, Any]]) -> None:  # fmt: skip
        self.config = config
        self.reporter = reporter
        self.force = force
        self.companions = companions
        self.entries = entries
        self._lock = threading.Lock()

    def recorded(self, job: ClipJob) -> ClipJob:
        """A clip made before with its edges snapped: the job at the times the manifest records for it."""
        entry = self.entries.get(job.output)
        if self.config.snap != "speech" or self.force or not entry or entry.get("status") not in ("done", "skipped"):
            return job
        return snap.recorded(job, entry, self.config) or job

    def finished(self, job: ClipJob) -> tuple[dict[str, Any], MediaInfo | None] | None:
        """The record of ``job``'s clip (and what ffprobe says of it) when it is made and still what clipper wrote,
        with the settings asked for now; else None (make it).

        A clip that changed since (or that no record describes) is decoded whole: kept when it decodes
        cleanly, made again when it does not."""
        config = self.config
        path = final_path(job, config)
        if not path.is_file():
            return None
        entry = self.entries.get(job.output) or {}
        other = other_clip(entry, job)
        if other is not None:  # same name, same length perhaps, but another clip: never skipped as this one
            raise NameTaken(f"{job.output} is there already and is another clip ({other}; this one: {job.video_id} "
                            f"{format_timestamp(job.note_start)}-{format_timestamp(job.note_end)}): --force "
                            "replaces it, -o names this one")  # fmt: skip
        changed = other_settings(entry, config)
        if changed and unchanged(path, entry.get("file")):
            self.reporter.message(f"{job.output}: made with other settings ({changed}); making it again")
            return None
        # Edges that will snap to the speech once the media is fetched: the clip's times are not known yet.
        slack = 2 * config.snap_window if config.snap == "speech" and job.note_range is None else 0.0
        if unchanged(path, entry.get("file")) and (entry.get("start"), entry.get("end")) == (job.start, job.end):
            # What clipper wrote for this range, checked then against the source's own frames (a variable frame
            # rate's clip may differ from the asked length by more than a frame): its length is not judged again.
            slack = math.inf
        reason, info = verified(path, job, config.mode, slack)
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

    def finish(self, result: ClipResult) -> None:
        """A clip is done with: its captions written, the log told, its entry recorded."""
        config = self.config
        # A clip found made whose snapped times are not known (no manifest records them): its captions stay.
        unknown = config.snap == "speech" and result.job.note_range is None and result.status == "skipped"
        if result.status != "failed" and config.captions != "off" and result.job.captions and not unknown:
            self._write_captions(result.job)
        detail = f"{result.job.video_id} could not be fetched (why: below)" if result.fetch_failed else result.error
        detail = detail or ""
        self.reporter.clip_finished(result.job.output, result.status, detail)
        with self._lock:
            if not result.name_taken:  # the clip that holds the name keeps its record
                self.entries[result.job.output] = manifest_entry(result, config)
            if self.companions:
                write_json_atomic(config.output_dir / MANIFEST_NAME, {"version": 1, "clips": self.entries})

    def _write_captions(self, job: ClipJob) -> None:
        """NAME.srt and NAME.vtt next to the clip, each written whole or not at all."""
        srt, vtt = caption_paths(job, self.config)
        write_text_atomic(srt, to_srt(job.captions))
        write_text_atomic(vtt, to_vtt(job.captions))
