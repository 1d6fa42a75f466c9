"""The cut command: one clip of a URL, a YouTube id, a media file or a note's highlight, optionally to a file
named with -o."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from clipper.cli.batch import print_dry_run, run_jobs
from clipper.cli.console import EXIT_PROBLEMS, show_error, show_warning
from clipper.cli.options import (
    browser_cookies_option,
    captions_option,
    config_option,
    cookies_option,
    mode_option,
    output_options,
    share_options,
    share_overrides,
    with_cookies,
    with_loudness,
)
from clipper.cli.planning import plan_notes, snap_margin, warn_lengths
from clipper.core.errors import ArgumentError, ClipperError, NoteError
from clipper.core.timecode import parse_range
from clipper.notes.parse import parse_note
from clipper.plan.config import Config
from clipper.plan.jobs import ClipJob, clip_name, job_for_source, with_container

# What `cut -o` may name: MP4 (and its audio-only and Apple names), Matroska and WebM.
CLIP_EXTENSIONS = ("mp4", "m4a", "m4v", "mov", "mkv", "mka", "webm")
# How the command line spells cut's arguments in its messages.
CLI_NAMES = {"source": "SOURCE", "range": "RANGE", "output": "-o", "highlight": "--highlight N",
             "plan": "`clipper plan`"}  # fmt: skip


@click.command()
@output_options
@click.argument("source")
@click.argument("time_range", metavar="RANGE", required=False)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Clip file (default: named by the naming template, in the output folder).",
)
@click.option("--highlight", type=click.IntRange(min=1), help="With a note as SOURCE: which highlight (1 = first).")
@click.option("-n", "--dry-run", is_flag=True, help="Print the commands as a script; run nothing, write nothing.")
@mode_option
@captions_option
@share_options
@cookies_option
@browser_cookies_option
@click.option("-f", "--force", is_flag=True, help="Make the clip again even when it exists and verifies.")
@config_option
@click.pass_context
def cut(
    ctx: click.Context,
    source: str,
    time_range: str | None,
    output: Path | None,
    highlight: int | None,
    dry_run: bool,
    mode: str | None,
    captions: str | None,
    cookies: Path | None,
    cookies_from_browser: str | None,
    force: bool,
    config_path: Path | None,
    **share: Any,
) -> None:
    """Cut one clip: SOURCE is a URL, a YouTube id, a media file, or a note with --highlight N.

    RANGE is START-END, e.g. 3:34-4:30 or 1:02:03.5-1:02:40. A note's clip gets captions from its transcript.
    """
    config = with_cookies(config_path, cookies, cookies_from_browser, [Path(source)], mode=mode, captions=captions,
                          **share_overrides(share))  # fmt: skip
    config = with_loudness(config, share)
    try:
        job, config, companions = cut_job(source, time_range, highlight, output, config, CLI_NAMES)
    except ArgumentError as error:
        if error.param is None:
            raise click.UsageError(error.message) from None
        raise click.BadParameter(error.message, param_hint=CLI_NAMES[error.param]) from None
    except ClipperError as error:
        show_error(str(error))
        sys.exit(EXIT_PROBLEMS)
    if dry_run:
        print_dry_run([job], config)
        return
    warn_lengths([job], config)
    sys.exit(run_jobs(ctx, [job], config, force, as_json=False, companions=companions))


def cut_job(source: str, time_range: str | None, highlight: int | None, output: Path | None, config: Config,
            names: Mapping[str, str]) -> tuple[ClipJob, Config, bool]:  # fmt: skip
    """The job of `clipper cut`, the config to run it with (its output folder, when ``output`` names the clip) and
    whether the manifest and posters are written beside it. ``names``: how the arguments are spelled in messages
    (source, range, output, highlight, plan). Raises ArgumentError (a usage error) or ClipperError."""
    job = _single_job(source, time_range, highlight, config, names)
    if output is None:
        return job, config, True
    if output.suffix.lower().lstrip(".") not in CLIP_EXTENSIONS:
        raise ArgumentError(f"{output.name}: a clip is {', '.join('.' + e for e in CLIP_EXTENSIONS)}", "output")
    if config.container != "auto" and output.suffix.lower() != "." + config.container:
        preset = f" in preset {config.preset}" if config.preset else ""
        show_warning(f"{output.name}: {names['output']} names the clip, so it is not made {config.container} "
                     f"(container: {config.container}{preset})")  # fmt: skip
    # A clip written into the current folder is a file of its own: no manifest.json or posters/ beside it.
    companions = output.parent.absolute() != Path.cwd()
    return replace(job, output=output.name), replace(config, output_dir=output.parent.absolute()), companions


def _single_job(source: str, time_range: str | None, highlight: int | None, config: Config,
                names: Mapping[str, str]) -> ClipJob:  # fmt: skip
    path = Path(source)
    if path.suffix.lower() == ".md" and path.is_file():
        if highlight is None:
            raise ArgumentError(
                f"{path}: a note as {names['source']} needs {names['highlight']} (see {names['plan']} for the list)"
            )
        jobs, problems = plan_notes([path], config, captions=True)
        note = parse_note(path)
        if note is None:
            raise NoteError("not a clipper note (no front matter with a video_id)", path)
        if highlight > len(note.highlights):
            detail = f"; {problems[0]}" if problems else ""
            raise NoteError(f"has {len(note.highlights)} usable highlight(s), not {highlight}{detail}", path)
        wanted = note.highlights[highlight - 1]
        job = next(j for j in jobs if (j.start, j.end) == (wanted.start, wanted.end))
        if time_range is not None:  # another range of this video: a clip of its own, named by the range
            start, end = _range(time_range)
            output = clip_name(config.naming, video_id=job.video_id, start=start, end=end, title=job.title,
                               index=highlight, extension=Path(job.output).suffix.lstrip(".") or "mp4")  # fmt: skip
            job = replace(job, start=start, end=end, output=with_container(output, config.container), captions=())
            if config.captions != "off" or config.snap == "speech":
                from clipper.share.captions import with_captions

                job = with_captions([job], [note], margin=snap_margin(config), cues=config.captions != "off")[0]
        return job
    if time_range is None:
        raise ArgumentError(f"{names['range']} is required (e.g. 3:34-4:30)")
    start, end = _range(time_range)
    return job_for_source(source, start, end, config, is_file=path.exists())


def _range(text: str) -> tuple[float, float]:
    try:
        return parse_range(text)
    except ValueError as error:
        raise ArgumentError(str(error), "range") from None
