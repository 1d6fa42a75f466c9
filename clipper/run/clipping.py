"""Making one clip from local media: its edges snapped to the speech, its steps chosen (the video packets and intra
refresh points around it read first), run, checked and verified, a smart cut that fails made again by re-encoding,
and the clip renamed into place with its poster. The dry run reads the same packets and refresh points here.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from clipper.core.errors import ClipperError, CutError
from clipper.media import cut_args, ffmpeg, hdr, probe, refresh
from clipper.media.probe import MediaInfo
from clipper.media.smart import Packet
from clipper.plan.config import Config
from clipper.plan.jobs import ClipJob, length_warning
from clipper.run.checks import check_piece, check_range, verified
from clipper.run.fetching import MediaFile
from clipper.run.manifest import ClipResult
from clipper.run.outputs import file_record, make_poster
from clipper.run.paths import cleanup_paths, final_path, poster_path, remove, temp_path
from clipper.run.progress import Reporter
from clipper.run.running import MediaInfos, StepRunner
from clipper.run.steps import PIECE_PHASES, ClipSteps, LocalMedia, Step, clip_steps, packet_window
from clipper.run.videos import VideoJobs
from clipper.share import loudness, pauses, snap


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
    found = refresh.landing(source, origin + job.start - cut_args.seek_lead("reencode", job.start), run)
    decode_seek = refresh.seek_before(source, found[0], run) if found is not None and found[1] else None
    return refresh.Refresh(decode_seek, copy_point)


def choose_steps(job: ClipJob, config: Config, source: str, origin: float, info: MediaInfo,
                 packets: Sequence[Packet] | None, refreshes: Callable[[], bool], run: refresh.Run, *,
                 poster: bool = False) -> tuple[ClipSteps, refresh.Refresh]:  # fmt: skip
    """The steps that make ``job`` from a local file (``clip_steps``) and the intra refresh points they start from
    (``intra_refresh``), as the run and its dry run (``probe_local_media``) both choose them. A smart cut re-encoded
    whole for another reason (a new shape, burnt captions) also decodes from a whole picture. ``refreshes``:
    whether the source uses intra refresh, asked only when a copy or re-encode is chosen."""
    copying = config.mode in ("copy", "reencode") and info.video_codec == "h264"
    refreshing = intra_refresh(job, source, origin, info, config.mode, run, copying and refreshes())
    chosen = clip_steps(job, config, source, origin, info, packets, poster=poster, refresh=refreshing)
    if chosen.mode == "reencode" and config.mode == "smart" and info.video_codec == "h264" and refreshes():
        refreshing = intra_refresh(job, source, origin, info, "reencode", run)
        if refreshing != refresh.WHOLE:
            chosen = clip_steps(job, config, source, origin, info, packets, poster=poster, refresh=refreshing)
    return chosen, refreshing


def probe_local_media(videos: Sequence[VideoJobs], config: Config) -> tuple[LocalMedia, list[ClipperError]]:
    """For a dry run: what ffprobe says of the local files and their packets around each clip (reads only)."""
    media: dict[str, tuple[MediaInfo, dict[ClipJob, Sequence[Packet]], dict[ClipJob, refresh.Refresh]]] = {}
    problems: list[ClipperError] = []
    for video in videos:
        if video.strategy != "local" or not Path(video.source).is_file():
            continue
        try:
            info = hdr.with_metadata(probe.probe(video.source), video.source)
        except ClipperError as error:
            problems.append(error)
            continue
        packets: dict[ClipJob, Sequence[Packet]] = {}
        refreshes: dict[ClipJob, refresh.Refresh] = {}
        # The same reads as the run's (each into a scratch file in the system's temporary folder, removed).
        known: list[bool] = []  # the source's answer, once asked (MPEG-TS: the script cuts a copy in MP4)

        def uses(source: str = video.source, known: list[bool] = known, exact: bool = info.seeks_exactly) -> bool:
            if not known:
                known.append(exact and bool(refresh.uses_refresh(source, _run_read)))
            return known[0]

        for job in video.jobs:
            found = smart_packets(job, video.source, info, info.origin, config)
            if found is not None:
                packets[job] = found
            try:
                refreshes[job] = choose_steps(job, config, video.source, info.origin, info, found, uses, _run_read)[1]
            except (ClipperError, ValueError):  # the script says why it cannot be cut
                continue
        media[video.source] = (info, packets, refreshes)
    return media, problems


def _run_read(argv: Sequence[str]) -> None:
    """Run a small ffmpeg that reads, for a dry run (nothing of the user's is written)."""
    ffmpeg.run_ffmpeg(argv)


class Clipper:
    """Makes clips from local media files, in parallel: each clip's steps run under the run's child processes."""

    def __init__(self, config: Config, reporter: Reporter, steps: StepRunner, infos: MediaInfos, *,
                 companions: bool) -> None:  # fmt: skip
        """``companions``: take each clip's poster (a folder of clips); off for one clip named by -o."""
        self.config = config
        self.reporter = reporter
        self.steps = steps
        self.children = steps.children
        self.infos = infos
        self.companions = companions
        self._lock = threading.Lock()
        self._refreshes: dict[str, bool] = {}  # source -> whether it uses intra refresh
        self._refreshing: dict[str, threading.Lock] = {}  # per source: one reads it, its other clips wait

    def clip(self, job: ClipJob, media: MediaFile) -> ClipResult:
        """Make ``job``'s clip from ``media``: done, or failed with the reason (its temporary files removed). The
        result holds the job as it was cut (its edges snapped, once they are)."""
        config = self.config
        try:
            if not Path(media.path).is_file():
                raise CutError(f"source file not found: {media.path}")
            snapping_now = config.snap == "speech" and job.note_range is None
            info, origin, packets = self._read(job, media, snapping_now)
            if snapping_now:  # the media is here: a few seconds of audio around each edge tell where to cut
                job = self._snap(job, media.path, origin, info)
            if packets is None:
                packets = smart_packets(job, media.path, info, origin, config)
            mode, measured, clip_info = self._cut(job, media, info, origin, packets)
            os.replace(temp_path(job, config), final_path(job, config))
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
            remove(cleanup_paths(job, config))

    def _read(self, job: ClipJob, media: MediaFile,
              snapping_now: bool) -> tuple[MediaInfo, float, list[Packet] | None]:  # fmt: skip
        """What ffprobe says of ``media``, the timestamp of its player time 0, and the clip's video packets when
        they were read in the same ffprobe run (a section's first read); a clip past the end of a whole video is
        refused here, before any work."""
        packets = None
        unread = self.infos.known(media.path) is None
        if unread and media.origin is not None and self.config.mode != "copy" and not snapping_now:
            # A section's timeline is known before it is probed: its streams and the clip's packets are
            # read in one ffprobe run.
            info, packets = probe.probe_with_packets(media.path, *packet_window(job, media.origin))
            self.infos.remember(media.path, hdr.with_metadata(info, media.path))
        info = self.infos.info(media.path)
        origin = info.origin if media.origin is None else media.origin
        if media.origin is None:  # the whole video: its length is known before any work
            check_range(job, info.duration)
        return info, origin, packets

    def _cut(self, job: ClipJob, media: MediaFile, info: MediaInfo, origin: float,
             packets: Sequence[Packet] | None) -> tuple[str, dict[str, str] | None, MediaInfo | None]:  # fmt: skip
        """Cut the clip into its temporary file, re-encoding it when a smart cut fails: the mode it was cut in,
        what its loudness measured and what ffprobe says of it."""
        config = self.config
        refreshes = functools.partial(self._uses_refresh, job, media, info)  # read only when a cut needs it
        chosen, _ = choose_steps(job, config, media.path, origin, info, packets, refreshes, self.steps.run_read,
                                 poster=self.companions)  # fmt: skip
        for note in chosen.notes:
            self.reporter.message(f"{job.output}: {note}")
        try:
            return (chosen.mode, *self._run_steps(job, chosen.steps, info))
        except CutError as error:
            if chosen.mode != "smart" or self.children.stopping.is_set():
                raise
            refreshing = intra_refresh(job, media.path, origin, info, "reencode", self.steps.run_read, refreshes())
            how = " from the keyframe before its intra refresh point" if refreshing.decode_seek is not None else ""
            self.reporter.message(f"{job.output}: smart cut failed ({error.message}); re-encoding the clip{how}")
            chosen = clip_steps(job, replace(config, mode="reencode"), media.path, origin, info, packets,
                                refresh=refreshing)  # fmt: skip
            return (chosen.mode, *self._run_steps(job, chosen.steps, info))

    def _uses_refresh(self, job: ClipJob, media: MediaFile, info: MediaInfo) -> bool:
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
                found = refresh.uses_refresh(media.path, self.steps.run_read)
                if found is not None or media.origin is None:  # a file tells what it can; a section may not
                    self._refreshes[key] = bool(found)
                known = bool(found)
        return known

    def _snap(self, job: ClipJob, source: str, origin: float, info: MediaInfo) -> ClipJob:
        """The job with its edges in pauses of the speech; the log says where each went and why."""
        snapped = snap.snap_to_speech(job, source, origin, info, self.config)
        self.reporter.message(f"{job.output}: {pauses.summary(snapped)}")
        warning = length_warning(snapped, self.config)
        if warning is not None and length_warning(job, self.config) is None:  # the note's range was said fine
            self.reporter.message(warning)
        return snapped

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
                stderr = self.steps.run_step(step, f"{step.phase} {job.output}")
                if step.phase == "measure":
                    measured = loudness.parse_measurement(stderr)
                    target = self.config.loudnorm if self.config.loudnorm is not None else 0.0
                    self.reporter.message(f"{job.output}: loudness {loudness.describe(measured, target)}")
                for piece in step.pieces:
                    check_piece(piece)
            return measured, self._verify(job, steps[-1], info)  # the join of a smart cut's pieces, or the cut
        finally:
            remove([Path(output) for step in steps if step.phase in PIECE_PHASES for output in step.outputs])

    def _verify(self, job: ClipJob, final: Step, info: MediaInfo) -> MediaInfo | None:
        """What ffprobe says of the clip ``final`` wrote, once it is verified (its streams, length, seams and
        frames); CutError when it is not (and its poster frame is removed)."""
        temp = temp_path(job, self.config)
        reason, clip_info = verified(temp, job, self.config.mode, seams=final.joins, span=final.span, source=info)
        if reason is None and final.frames is not None and clip_info is not None:
            count = clip_info.frames  # from the MP4 index; Matroska has none: count the packets
            if count is None:
                count = len(probe.packet_times(str(temp)))
            if count != final.frames:
                reason = f"it holds {count} frames, not {final.frames}"
        if reason is not None:
            remove([poster_path(job, self.config)])  # a frame of a clip that is not kept
            raise CutError(f"the clip did not verify: {reason}")
        return clip_info
