"""Where a run writes: each clip's hidden temporary files and its final name, fetched sections, local copies,
poster frames and captions; which files to remove after a clip, and the leftovers of runs stopped too hard.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Sequence
from pathlib import Path

from clipper.plan.config import Config
from clipper.plan.jobs import ClipJob
from clipper.run.videos import Section, VideoJobs


def _tag(*parts: object) -> str:
    return hashlib.sha1("\0".join(map(str, parts)).encode()).hexdigest()[:12]


def _run_mark(config: Config) -> str:
    """This run's own mark in temporary names: unpredictable, so nothing can be planted at them beforehand."""
    return f".{config.run_tag}" if config.run_tag else ""


def temp_path(job: ClipJob, config: Config) -> Path:
    """Where a clip is written before it is verified and renamed into place (same folder: atomic rename)."""
    return config.output_dir / f".{job.output}{_run_mark(config)}.part"


def final_path(job: ClipJob, config: Config) -> Path:
    """Where a clip ends up, once it is verified."""
    return config.output_dir / job.output


def piece_prefix(job: ClipJob, config: Config) -> str:
    """Smart-cut pieces: hidden, in the output folder, named without the clip's own (free-form) name."""
    return str(config.output_dir / f".clipper-{_tag(job.output)}{_run_mark(config)}")


def section_path(video: VideoJobs, section: Section, config: Config) -> Path:
    """A fetched section: its own file per video id (two ids may name one source) and per run."""
    tag = _tag(video.video_id, video.source, section.start, section.end)
    return config.output_dir / f".clipper-{tag}{_run_mark(config)}.section.mp4"


def remux_path(video: VideoJobs, config: Config) -> Path:
    """A local file whose seeks land between keyframes (MPEG-TS), copied into MP4 for this run."""
    return config.output_dir / f".clipper-{_tag(video.video_id, video.source)}{_run_mark(config)}.remux.mp4"


def poster_path(job: ClipJob, config: Config) -> Path:
    """A poster frame taken while the clip was cut, before it moves into posters/."""
    return Path(piece_prefix(job, config) + ".poster.jpg")


def cleanup_paths(job: ClipJob, config: Config) -> list[Path]:
    """A clip's temporary files in this run."""
    prefix = piece_prefix(job, config)
    names = ("head", "copy", "mid", "tail")
    pieces = [Path(f"{prefix}.{name}.{suffix}") for name in names for suffix in ("ts", "nut")]
    return [temp_path(job, config), Path(prefix + ".list"), Path(prefix + ".srt"), Path(prefix + ".ass"),
            poster_path(job, config), *pieces]  # fmt: skip


def leftovers(config: Config) -> list[Path]:
    """Temporary files that runs stopped too hard to clean up left in the output folder (any run's: call this
    only while holding the folder's lock, when no other run writes there)."""
    folder = config.output_dir
    found = [*folder.glob(".clipper-*"), *folder.glob(".*.part"), *folder.glob(".*.tmp")]
    posters = folder / "posters"
    if posters.is_dir() and not posters.is_symlink():
        found += [*posters.glob(".*.part"), *posters.glob(".*.tmp")]
    return sorted(path for path in found if path.is_file() or path.is_symlink())


def caption_paths(job: ClipJob, config: Config) -> tuple[Path, Path]:
    """The clip's sidecar captions: NAME.srt and NAME.vtt next to it."""
    stem = final_path(job, config).with_suffix("")
    return stem.with_name(stem.name + ".srt"), stem.with_name(stem.name + ".vtt")


def remove(paths: Sequence[Path]) -> None:
    """Remove the files that are there (a file already gone is no error)."""
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
