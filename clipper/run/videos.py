"""Which media each video's clips need (pure): the jobs grouped by video, and whether each video is fetched
whole, in sections or read from a local file, with the yt-dlp commands that look it up and download it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from clipper.fetch import cache, ytdlp_argv
from clipper.plan.config import Config
from clipper.plan.jobs import ClipJob
from clipper.share import pauses

# A section starts this long before its first clip, so the keyframe the clip needs is in it, and ends this
# long after its last clip, so the B-frames around the end are in it.
SECTION_LEAD = 1.0
SECTION_TAIL = 2.0
# Clips whose sections come closer than this share one section.
SECTION_MERGE_GAP = 2.0
# `auto` downloads the whole video once when the clips cover this share of it (or more).
FULL_SHARE = 0.5


@dataclass(frozen=True)
class Section:
    start: float
    end: float
    jobs: tuple[ClipJob, ...]


@dataclass(frozen=True)
class VideoJobs:
    """How one video's clips get their media: ``local`` file, one ``full`` download, or ``sections``."""

    video_id: str
    source: str
    strategy: str
    reason: str
    jobs: tuple[ClipJob, ...]
    sections: tuple[Section, ...] = ()
    format: str = ""
    format_sort: tuple[str, ...] = ()


def covered_seconds(ranges: Sequence[tuple[float, float]]) -> float:
    total, reach = 0.0, float("-inf")
    for start, end in sorted(ranges):
        if end > reach:
            total += end - max(start, reach)
            reach = end
    return total


def snap_margin(config: Config) -> float:
    """How far a clip's edges may move when they snap to speech, plus the audio read past that to measure it."""
    return config.snap_window + pauses.CONTEXT if config.snap == "speech" else 0.0


def merge_sections(jobs: Sequence[ClipJob], video_duration: float | None, margin: float = 0.0) -> tuple[Section, ...]:
    """Padded ranges to fetch (``margin`` more on each side: where edges may snap to); clips whose ranges touch
    share a section."""
    sections: list[tuple[float, float, list[ClipJob]]] = []
    for job in sorted(jobs, key=lambda j: (j.start, j.end)):
        start = max(0.0, job.start - SECTION_LEAD - margin)
        end = job.end + SECTION_TAIL + margin
        if video_duration and video_duration >= job.end:  # a note that says less than its clips reach is wrong
            end = min(end, video_duration + SECTION_TAIL)
        if sections and start <= sections[-1][1] + SECTION_MERGE_GAP:
            sections[-1] = (sections[-1][0], max(end, sections[-1][1]), [*sections[-1][2], job])
        else:
            sections.append((start, end, [job]))
    return tuple(Section(start, end, tuple(group)) for start, end, group in sections)


def group_videos(jobs: Sequence[ClipJob], config: Config, cached: Mapping[str, Path] | None = None) -> list[VideoJobs]:
    """Group the jobs by video and choose how each video is fetched, saying why."""
    cached = cached or {}
    groups: dict[tuple[str, str, str, tuple[str, ...]], list[ClipJob]] = {}
    for job in jobs:
        key = (job.video_id, job.source, job.format or config.format, job.format_sort or config.format_sort)
        groups.setdefault(key, []).append(job)
    videos = []
    for (video_id, source, fmt, sort), group in groups.items():
        if group[0].source_is_local is not False:
            videos.append(VideoJobs(video_id, source, "local", "a local file", tuple(group), format=fmt))
            continue
        duration = group[0].video_duration
        covered = covered_seconds([(job.start, job.end) for job in group])
        cache_key = cache.cache_key(source, fmt, sort)
        if cache_key in cached:
            strategy, reason = "full", "downloaded before (in the cache)"
        elif config.fetch != "auto":
            strategy, reason = config.fetch, f"fetch: {config.fetch} in the config"
        elif duration and covered / duration >= FULL_SHARE:
            strategy = "full"
            reason = (
                f"{len(group)} clip(s) cover {covered:.0f}s of {duration:.0f}s ({covered / duration:.0%}): "
                "one whole download costs little more than the sections"
            )
        elif duration:
            strategy = "sections"
            reason = (
                f"{len(group)} clip(s) cover {covered:.0f}s of {duration:.0f}s ({covered / duration:.0%}): "
                "fetching only the sections saves most of the download"
            )
        else:
            strategy, reason = "sections", "the video's length is unknown: fetching only the sections"
        sections = merge_sections(group, duration, snap_margin(config)) if strategy == "sections" else ()
        videos.append(VideoJobs(video_id, source, strategy, reason, tuple(group), sections, fmt, sort))
    return videos


def full_target(video: VideoJobs, config: Config) -> str:
    """yt-dlp output template for a whole download in the cache (yt-dlp fills in the extension)."""
    return str(
        config.cache_dir / f"{video.video_id}-{cache.cache_key(video.source, video.format, video.format_sort)}.%(ext)s"
    )


def resolve_command(video: VideoJobs, config: Config, runtime: tuple[str, str] | None) -> list[str]:
    """yt-dlp's lookup of the video's media, with the user's own yt-dlp options."""
    return ytdlp_argv.resolve_argv(video.source, video.format, video.format_sort, runtime, config.yt_dlp_args)


def download_command(video: VideoJobs, config: Config, runtime: tuple[str, str] | None) -> list[str]:
    """yt-dlp's whole download into the cache, in requests of at most ``http_chunk_size`` bytes."""
    return ytdlp_argv.download_argv(video.source, video.format, video.format_sort, full_target(video, config), runtime,
                               config.yt_dlp_args, config.http_chunk_size, public_only(video))  # fmt: skip


def public_only(video: VideoJobs) -> bool:
    """Whether the video's URL is a note's (untrusted: it may lead to public hosts only)."""
    return any(job.public_only for job in video.jobs)
