"""The batch command, and the run of clip jobs it shares with cut: progress, Ctrl-C and SIGTERM, the summary and
the gallery; or, with --dry-run, the commands printed as a script."""

from __future__ import annotations

import gc
import json
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

import click

from clipper.cli.console import EXIT_INTERRUPTED, EXIT_PROBLEMS, report, said, show_error
from clipper.cli.linking import after_run, dry_run_links, link_option
from clipper.cli.options import (
    config_option,
    making_options,
    output_options,
    share_overrides,
    with_cookies,
    with_loudness,
)
from clipper.cli.planning import load_notes, plan_loaded, warn_lengths
from clipper.core.errors import ClipperError, Interrupted
from clipper.core.text import printable
from clipper.plan.config import Config
from clipper.plan.jobs import ClipJob
from clipper.run.progress import Reporter, make_reporter

# The runner, the fetcher and the cutter are loaded inside the functions that run them (tests/test_startup.py).
if TYPE_CHECKING:
    from clipper.run.manifest import ClipResult


def run_jobs(ctx: click.Context, jobs: list[ClipJob], config: Config, force: bool, as_json: bool,
             gallery: bool = False, companions: bool = True,
             after: Callable[[Sequence[ClipResult]], int] | None = None, once: bool = True) -> int:  # fmt: skip
    """Run jobs with progress (here, or through the queue at ``config.broker``); print a summary, then do
    ``after`` with the results (in the jobs' order; --link), and make the gallery; return the exit status.
    ``once``: the process ends after this run (off for watch, which runs again and again)."""
    from clipper.run.manifest import manifest_entry

    reporter = make_reporter(quiet=said(ctx, "quiet"), verbose=said(ctx, "verbose"),
                             progress=str(ctx.obj.get("progress") or "auto"))  # fmt: skip
    previous = signal.signal(signal.SIGTERM, raise_interrupt)
    # Ctrl-C stops the run even when clipper was started with SIGINT ignored (by a script, a service manager).
    previous_int = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        results = make_clips(jobs, config, reporter, force=force, companions=companions, freeze=once)
    except Interrupted as error:
        show_error(str(error))
        return EXIT_INTERRUPTED
    except ClipperError as error:  # the broker cannot be reached, the output folder cannot be used, the disk is full
        show_error(str(error))
        return EXIT_PROBLEMS
    finally:
        signal.signal(signal.SIGTERM, previous)
        signal.signal(signal.SIGINT, previous_int)
    counts = clip_counts(results)
    if as_json:
        click.echo(json.dumps([manifest_entry(r, config) for r in results], indent=2, ensure_ascii=False))
    if not said(ctx, "quiet") or counts["failed"]:
        click.echo(
            f"clipper: {counts['done']} done, {counts['skipped']} skipped, {counts['failed']} failed"
            f" -> {config.output_dir}",
            err=True,
        )
        for line in failure_lines(results):
            click.echo(printable(line), err=True)
    status = after(results) if after is not None else 0
    if gallery:
        page, problems = write_gallery(results, config, reporter)
        for line in problems:
            show_error(line)
        if page is not None and not said(ctx, "quiet"):
            click.echo(f"clipper: gallery {page}", err=True)
    return EXIT_PROBLEMS if counts["failed"] else status


def make_clips(jobs: Sequence[ClipJob], config: Config, reporter: Reporter, *, force: bool = False,
               companions: bool = True, freeze: bool = False) -> list[ClipResult]:  # fmt: skip
    """Make the clips of ``jobs`` here, or through the queue at ``config.broker``: one result per job, in order.
    Raises ClipperError when the broker cannot be reached (before anything is touched) or the output folder
    cannot be used, Interrupted when Ctrl-C or SIGTERM stopped the run. ``freeze``: a process that makes clips once
    and ends keeps the collector off what the run loaded (a long-lived one, watch or mcp, must not: every run
    would leave its garbage frozen for good)."""
    from clipper.run.pool import Runner

    client = None
    if config.broker:  # first: a broker that cannot be reached stops the batch before it touches anything
        from clipper.queue.broker import connect

        client = connect(config.broker)
    elif any(not job.source_is_local for job in jobs):
        import yt_dlp  # noqa: F401  (every URL's fetch needs it: loaded before the freeze, like the rest)
    if freeze:
        gc.freeze()  # the runner's modules and yt-dlp's are long-lived too
    runner: Runner
    if client is not None and config.broker:
        from clipper.queue.submit import QueueRunner

        runner = QueueRunner(config, reporter, client, config.broker, force=force)
    else:
        runner = Runner(config, reporter, force=force, companions=companions)
    return runner.run(jobs)


def clip_counts(results: Sequence[ClipResult]) -> dict[str, int]:
    """How many clips were done, skipped and failed."""
    return {status: sum(1 for r in results if r.status == status) for status in ("done", "skipped", "failed")}


def write_gallery(results: Sequence[ClipResult], config: Config, reporter: Reporter) -> tuple[Path | None, list[str]]:
    """The gallery of the output folder, written when it has clips: its page (None when not written) and a line
    for each problem (manifest entries left out, or why it was not written)."""
    from clipper.run.outputs import build_gallery

    if not any(result.status in ("done", "skipped") for result in results):
        return None, []
    try:
        return build_gallery(config.output_dir, reporter)
    except (ClipperError, OSError) as error:
        return None, [f"gallery not written: {error}"]


def failure_lines(results: Sequence[ClipResult]) -> list[str]:
    """The summary's failures: a video that could not be fetched once, with its clips; other failures per clip."""
    lines: list[str] = []
    unfetched: dict[tuple[str, str], list[ClipJob]] = {}
    for result in results:
        if result.status != "failed":
            continue
        if result.fetch_failed:
            unfetched.setdefault((result.job.video_id, result.error or ""), []).append(result.job)
        else:
            lines.append(f"  failed {result.job.output} ({result.job.note}:{result.job.line}): {result.error}")
    for (video_id, error), jobs in unfetched.items():
        notes = sorted({str(job.note) for job in jobs})
        source = notes[0] if len(notes) == 1 else f"{len(notes)} notes"
        names = ", ".join(job.output for job in jobs)
        lines.append(f"  failed {video_id} ({len(jobs)} clip(s) of {source}: {names}): {error}")
    return lines


def raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def print_dry_run(jobs: list[ClipJob], config: Config) -> None:
    """Print the commands; local files are read (ffprobe; with snapping, a few seconds of audio around each edge)
    so their steps are exact."""
    from clipper.cli.dry_run import dry_run_lines
    from clipper.fetch import ytdlp_argv
    from clipper.run.clipping import probe_local_media
    from clipper.run.manifest import find_cached
    from clipper.run.videos import group_videos
    from clipper.share.snap import snap_local

    if config.snap == "speech":
        jobs = snap_local(jobs, config)
    warn_lengths(jobs, config)
    videos = group_videos(jobs, config, find_cached(jobs, config))
    media, problems = probe_local_media(videos, config)
    report(problems)
    for line in dry_run_lines(videos, config, ytdlp_argv.js_runtime(), media):
        click.echo(line)


@click.command()
@output_options
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("-n", "--dry-run", is_flag=True, help="Print the commands as a script; run nothing, write nothing.")
@config_option
@making_options
@click.option("-f", "--force", is_flag=True, help="Make clips again even when they exist and verify.")
@click.option("--no-gallery", is_flag=True, help="Do not write index.html and index.md at the end.")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON on stdout.")
@link_option
@click.option(
    "--broker",
    metavar="URL",
    help="Make the clips on workers through this Redis queue "
    "(redis://HOST:PORT/DB; `clipper worker` takes them); the output folder must be shared with them.",
)
@click.pass_context
def batch(
    ctx: click.Context,
    paths: tuple[Path, ...],
    dry_run: bool,
    config_path: Path | None,
    output_dir: Path | None,
    jobs: int | None,
    mode: str | None,
    fetch: str | None,
    captions: str | None,
    cookies: Path | None,
    cookies_from_browser: str | None,
    force: bool,
    no_gallery: bool,
    as_json: bool,
    link: bool | None,
    broker: str | None,
    **share: Any,
) -> None:
    """Make every highlight clip of the notes in PATHS (files or folders), in parallel and resumable."""
    config = with_cookies(config_path, cookies, cookies_from_browser, paths, output_dir=output_dir, jobs=jobs,
                          mode=mode, fetch=fetch, captions=captions, broker=broker, link_notes=link,
                          **share_overrides(share))  # fmt: skip
    config = with_loudness(config, share)
    notes, problems = load_notes(paths)
    clip_jobs, clashes = plan_loaded(notes, config, captions=True)
    problems += clashes
    report(problems)
    if not dry_run:
        warn_lengths(clip_jobs, config)
    if dry_run:
        print_dry_run(clip_jobs, config)
        status = dry_run_links(ctx, notes, clip_jobs, config) if config.link_notes else 0
        sys.exit(status or (EXIT_PROBLEMS if problems else 0))
    linking = after_run(ctx, notes, clip_jobs, config) if config.link_notes else None
    status = run_jobs(ctx, clip_jobs, config, force, as_json, gallery=not no_gallery, after=linking)
    sys.exit(status or (EXIT_PROBLEMS if problems else 0))
