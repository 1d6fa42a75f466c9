"""The watch command: the clips of the notes that appear or change are made as a batch makes them (and linked
into the notes with --link), until Ctrl-C."""

from __future__ import annotations

import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from clipper.cli.batch import raise_interrupt, run_jobs
from clipper.cli.console import EXIT_INTERRUPTED, report, said, show_error
from clipper.cli.linking import link_option, link_results
from clipper.cli.options import (
    config_option,
    making_options,
    output_options,
    share_overrides,
    with_cookies,
    with_loudness,
)
from clipper.cli.planning import load_notes, plan_loaded, warn_lengths
from clipper.core.errors import ClipperError
from clipper.plan.config import Config
from clipper.run.watching import NoteWatch, file_digest, scan

if TYPE_CHECKING:
    from clipper.run.manifest import ClipResult


def make_changed(ctx: click.Context, ready: Sequence[Path], watch_state: NoteWatch, config: Config,
                 gallery: bool) -> int:  # fmt: skip
    """Make the clips of the notes in ``ready`` whose content is new (and link them); the run's exit status."""
    digests: dict[Path, str] = {}
    for path in ready:
        try:
            digests[path] = file_digest(path)
        except OSError:  # gone, or not readable now: the next change brings it back
            continue
    changed = [path for path, digest in digests.items() if watch_state.is_new(path, digest)]
    if not changed:
        return 0
    notes, problems = load_notes(changed, named=False)
    if notes and not said(ctx, "quiet"):
        click.echo(f"clipper: watch: changed: {', '.join(str(note.path) for note in notes)}", err=True)
    jobs, clashes = plan_loaded(notes, config, captions=True)
    report([*problems, *clashes])
    for path in changed:
        watch_state.remember(path, digests[path])
    for note in notes:  # the content planned (it may have changed again since the digest above)
        watch_state.remember(note.path, note.digest)
    if not jobs:
        return 0
    warn_lengths(jobs, config)

    def link(results: Sequence[ClipResult]) -> int:
        linked = link_results(ctx, notes, jobs, results, config)
        for path, digest in linked.written.items():  # clipper's own write-back is no change to act on
            watch_state.remember(path, digest)
        return 0

    return run_jobs(
        ctx, jobs, config, False, False, gallery=gallery, after=link if config.link_notes else None, once=False
    )


@click.command()
@output_options
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@config_option
@making_options
@click.option("--no-gallery", is_flag=True, help="Do not write index.html and index.md after each run.")
@link_option
@click.option("--interval", type=click.FloatRange(0.1, 60), default=0.5, show_default=True, metavar="SECONDS",
              help="How often the notes are looked at.")  # fmt: skip
@click.option("--settle", type=click.FloatRange(0, 600), default=1.0, show_default=True, metavar="SECONDS",
              help="How long a note stays unchanged before its clips are made (editors save in steps).")  # fmt: skip
@click.pass_context
def watch(
    ctx: click.Context,
    paths: tuple[Path, ...],
    config_path: Path | None,
    output_dir: Path | None,
    jobs: int | None,
    mode: str | None,
    fetch: str | None,
    captions: str | None,
    cookies: Path | None,
    cookies_from_browser: str | None,
    no_gallery: bool,
    link: bool | None,
    interval: float,
    settle: float,
    **share: Any,
) -> None:
    """Make the clips of the notes in PATHS (files or folders) as they appear or change, until Ctrl-C; the notes
    there already are made first (what is made is skipped)."""
    config = with_cookies(config_path, cookies, cookies_from_browser, paths, output_dir=output_dir, jobs=jobs,
                          mode=mode, fetch=fetch, captions=captions, link_notes=link,
                          **share_overrides(share))  # fmt: skip
    config = with_loudness(config, share)
    watch_state = NoteWatch(settle)
    skip = (config.output_dir, config.cache_dir)
    previous = signal.signal(signal.SIGTERM, raise_interrupt)
    previous_int = signal.signal(signal.SIGINT, signal.default_int_handler)
    if not said(ctx, "quiet"):
        click.echo(f"clipper: watching {', '.join(str(path) for path in paths)} (Ctrl-C to stop)", err=True)
    try:
        while True:
            ready = watch_state.update(scan(paths, skip), time.monotonic())
            if ready:
                try:
                    status = make_changed(ctx, ready, watch_state, config, gallery=not no_gallery)
                except (ClipperError, OSError) as error:  # one line, and the watch goes on
                    show_error(str(error) if isinstance(error, ClipperError) else f"{error.filename}: {error}")
                    status = 0
                if status == EXIT_INTERRUPTED:
                    sys.exit(EXIT_INTERRUPTED)
            time.sleep(interval)
    except KeyboardInterrupt:
        show_error("watch stopped")
        sys.exit(EXIT_INTERRUPTED)
    finally:
        signal.signal(signal.SIGTERM, previous)
        signal.signal(signal.SIGINT, previous_int)
