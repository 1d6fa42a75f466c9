"""The commands that look without making anything: plan (the clips the notes ask for, and how each video would be
fetched), list (the clips of an output folder) and gallery (its page, written again)."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from clipper.cli.console import EXIT_PROBLEMS, report, show_error
from clipper.cli.options import config_option, config_or_exit, output_options
from clipper.cli.planning import plan_notes
from clipper.core.errors import ClipperError
from clipper.core.text import printable
from clipper.core.timecode import format_timestamp
from clipper.plan.config import Config
from clipper.plan.jobs import ClipJob

if TYPE_CHECKING:
    from clipper.run.videos import VideoJobs


def job_json(job: ClipJob) -> dict[str, Any]:
    """A clip job as `plan --json` shows it."""
    return {
        "note": str(job.note),
        "line": job.line,
        "video_id": job.video_id,
        "url": job.url,
        "source": job.source,
        "title": job.title,
        "start": job.start,
        "end": job.end,
        "duration": job.duration,
        "output": job.output,
    }


def _columns(rows: Sequence[Sequence[str]]) -> list[str]:
    """Rows as aligned columns (the last one is not padded); note text shown escaped."""
    rows = [[printable(cell) for cell in row] for row in rows]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    return ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])) + "  " + row[-1] for row in rows]


def _size_text(size: int | None) -> str:
    return "-" if size is None else f"{size / 1e6:.1f} MB"


def clip_status(output_dir: Path, name: str, manifest: dict[str, dict[str, Any]]) -> tuple[str, int | None]:
    """done (the file is there), failed (the last run could not make it) or missing; and its size."""
    path = output_dir / name
    if path.is_file():
        return "done", path.stat().st_size
    return ("failed" if manifest.get(name, {}).get("status") == "failed" else "missing"), None


def _fetches(jobs: Sequence[ClipJob], config: Config) -> dict[ClipJob, VideoJobs]:
    """How each job's video would be fetched (clips already made are counted too: a plan shows the whole)."""
    from clipper.run.manifest import find_cached
    from clipper.run.videos import group_videos

    return {job: video for video in group_videos(jobs, config, find_cached(jobs, config)) for job in video.jobs}


def _table(jobs: Sequence[ClipJob], config: Config) -> list[str]:
    from clipper.run.outputs import read_manifest

    manifest = read_manifest(config.output_dir)
    fetches = _fetches(jobs, config)
    rows = [("OUTPUT", "STATUS", "RANGE", "LENGTH", "SIZE", "FETCH", "TITLE", "NOTE")]
    for job in jobs:
        status, size = clip_status(config.output_dir, job.output, manifest)
        range_text = f"{format_timestamp(job.start)}-{format_timestamp(job.end)}"
        rows.append((job.output, status, range_text, f"{job.duration:.1f}s", _size_text(size),
                     fetches[job].strategy, job.title[:48], f"{job.note}:{job.line}"))  # fmt: skip
    lines = _columns(rows)
    for video in {id(video): video for video in fetches.values()}.values():
        lines.append(printable(f"# {video.video_id}: {video.strategy}: {video.reason}"))
    return lines


def plan_entries(jobs: Sequence[ClipJob], config: Config) -> list[dict[str, Any]]:
    """The clips as `plan --json` shows them: each job, its status and size, and how its video is fetched."""
    from clipper.run.outputs import read_manifest

    manifest = read_manifest(config.output_dir)
    fetches = _fetches(jobs, config)
    entries = []
    for job in jobs:
        status, size = clip_status(config.output_dir, job.output, manifest)
        fetched = fetches[job]
        entries.append({**job_json(job), "status": status, "size": size, "fetch": fetched.strategy,
                        "fetch_reason": fetched.reason})  # fmt: skip
    return entries


def list_entries(folder: Path) -> tuple[list[dict[str, Any]], list[str]]:
    """The clips of an output folder as `list --json` shows them (by video and start), and a line for each
    manifest entry left out; ClipperError when the folder has no manifest."""
    from clipper.run.outputs import checked_manifest

    manifest, skipped = checked_manifest(folder)
    if not manifest and not skipped:
        raise ClipperError("no manifest.json (no clips made here yet)", folder)
    entries = []
    for name, entry in sorted(manifest.items(), key=lambda item: (str(item[1].get("video_id")),
                                                                  float(item[1].get("start") or 0))):  # fmt: skip
        status, size = clip_status(folder, name, manifest)
        entries.append({**entry, "status": status, "size": size})
    return entries, skipped


@click.command()
@output_options
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array of clips on stdout.")
@config_option
def plan(paths: tuple[Path, ...], as_json: bool, config_path: Path | None) -> None:
    """List the clips the notes in PATHS (files or folders) ask for."""
    config = config_or_exit(config_path, paths)
    jobs, problems = plan_notes(paths, config)
    report(problems)
    if as_json:
        click.echo(json.dumps(plan_entries(jobs, config), indent=2, ensure_ascii=False))
    else:
        for line in _table(jobs, config):
            click.echo(line)
    if problems:
        sys.exit(EXIT_PROBLEMS)


@click.command("list")
@output_options
@click.argument("output_dir", required=False, type=click.Path(path_type=Path, file_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array on stdout.")
@config_option
def list_clips(output_dir: Path | None, as_json: bool, config_path: Path | None) -> None:
    """List the clips of an output folder (default: the config's) with status, length and size."""
    folder = output_dir or config_or_exit(config_path).output_dir
    try:
        entries, skipped = list_entries(folder)
    except ClipperError as error:
        show_error(str(error))
        sys.exit(EXIT_PROBLEMS)
    for line in skipped:
        show_error(line)
    if as_json:
        click.echo(json.dumps(entries, indent=2, ensure_ascii=False))
    else:
        rows = [("OUTPUT", "STATUS", "LENGTH", "SIZE", "TITLE")]
        for entry in entries:
            length = f"{entry['duration']:.1f}s" if isinstance(entry.get("duration"), (int, float)) else "-"
            rows.append((str(entry["output"]), entry["status"], length, _size_text(entry["size"]),
                         str(entry.get("title") or "")[:60]))  # fmt: skip
        for line in _columns(rows):
            click.echo(line)
    if skipped:
        sys.exit(EXIT_PROBLEMS)


@click.command("gallery")
@output_options
@click.argument("output_dir", required=False, type=click.Path(path_type=Path, file_okay=False))
@config_option
def gallery_command(output_dir: Path | None, config_path: Path | None) -> None:
    """Write index.html (posters, players, captions, search) and index.md for the clips of an output folder."""
    from clipper.run.outputs import build_gallery, checked_manifest

    folder = output_dir or config_or_exit(config_path).output_dir
    manifest, skipped = checked_manifest(folder)
    if not manifest:  # nothing to show: no manifest, or a line for it (or each of its entries) saying why
        for line in skipped or [f"{folder}: no manifest.json (no clips made here yet)"]:
            show_error(line)
        sys.exit(EXIT_PROBLEMS)
    try:
        page, skipped = build_gallery(folder)
    except ClipperError as error:
        show_error(str(error))
        sys.exit(EXIT_PROBLEMS)
    for line in skipped:
        show_error(line)
    click.echo(str(page))
    if skipped:
        sys.exit(EXIT_PROBLEMS)
