"""The command line: parse flags, call the core, print, and map errors to exit codes (only here)."""

from __future__ import annotations

import gc
import json
import re
import shlex
import shutil
import signal
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

import click

from clipper import __version__
from clipper.core.errors import ClipperError, Interrupted, NoteError
from clipper.core.text import printable
from clipper.core.timecode import format_timestamp, parse_range
from clipper.notes.parse import Note, find_notes, parse_note
from clipper.plan.config import (
    ASPECTS,
    CAPTION_MODES,
    DEFAULT_CONFIG_NAME,
    DEFAULT_LOUDNESS,
    FETCH_STRATEGIES,
    LOUDNESS_RANGE,
    MAX_SNAP_WINDOW,
    MODES,
    PAD_MODES,
    PRESETS,
    SNAP_MODES,
    Config,
    describe_preset,
    find_config,
    load_config,
    parse_aspect,
)
from clipper.plan.jobs import ClipJob, clip_name, job_for_source, length_warning, plan_jobs, with_container
from clipper.run.progress import PROGRESS_STYLES, make_reporter

# Each command loads what it runs, inside it: `clipper --help` and `clipper plan` start without the runner, the
# fetcher, the cutter or the relay's HTTP server (tests/test_startup.py lists what a fresh run imports).
if TYPE_CHECKING:
    from clipper.run.manifest import ClipResult
    from clipper.run.videos import VideoJobs

EXIT_PROBLEMS = 1
# What `cut -o` may name: MP4 (and its audio-only and Apple names), Matroska and WebM.
CLIP_EXTENSIONS = ("mp4", "m4a", "m4v", "mov", "mkv", "mka", "webm")
EXIT_INTERRUPTED = 130


def _error(message: str) -> None:
    """One line on stderr; note text in it is shown with its control characters escaped."""
    message = printable(message)
    click.echo(f"clipper: {message}" if not re.match(r"^\S+:\d*:? ", message) else message, err=True)


def _load_config(config_path: Path | None, near: Sequence[Path] = (), **overrides: Any) -> Config:
    if config_path is not None:
        config = load_config(config_path, required=True)
    else:
        found = find_config(near)
        config = load_config(found)
        if found is not None and found.parent.absolute() != Path.cwd():
            _warn(f"using the config {found}")  # not the current folder's: say which one
    return config.with_overrides(**overrides)


def _load_notes(paths: Sequence[Path]) -> tuple[list[Note], list[ClipperError]]:
    notes: list[Note] = []
    problems: list[ClipperError] = []
    given = set(paths)
    for path in find_notes(list(paths)):
        if not path.exists():
            problems.append(NoteError("no such file or folder", path))
            continue
        try:
            note = parse_note(path)
        except NoteError as error:
            problems.append(error)
            continue
        if note is None:
            # Named on the command line, or with front matter (meant as a note): say why it is skipped. Other
            # markdown in a folder of notes (a README) is passed over quietly.
            if path in given or _has_front_matter(path):
                _warn(f"{path}: not a clipper note (no front matter with a video_id); skipped")
            continue
        if not note.highlights and not note.problems:
            _warn(f"{path}: has no highlights (no ## Highlights section with clip commands)")
        notes.append(note)
        problems.extend(note.problems)
    return notes, problems


def _has_front_matter(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return handle.read(8).lstrip(b"\xef\xbb\xbf").startswith(b"---")
    except OSError:
        return False


def _warn(message: str) -> None:
    """A line worth knowing that is no problem (the exit status stays 0); -q hides it."""
    if not _said(click.get_current_context(silent=True), "quiet"):
        _error(message)


def _plan(paths: Sequence[Path], config: Config, captions: bool = False) -> tuple[list[ClipJob], list[ClipperError]]:
    """The clip jobs of the notes in ``paths``, and every problem found; with ``captions``, their cues too
    (only then are the notes' transcripts parsed)."""
    notes, problems = _load_notes(paths)
    jobs, clashes = plan_jobs(notes, config)
    if captions and (config.captions != "off" or config.snap == "speech"):  # snapping prefers the lines' starts
        from clipper.share.captions import with_captions

        jobs = with_captions(jobs, notes, margin=_snap_margin(config), cues=config.captions != "off")
    return jobs, [*problems, *clashes]


def _snap_margin(config: Config) -> float:
    return config.snap_window if config.snap == "speech" else 0.0


def _warn_lengths(jobs: Sequence[ClipJob], config: Config) -> None:
    for job in jobs:
        warning = length_warning(job, config)
        if warning is not None:
            _warn(warning)


def _report(problems: Sequence[ClipperError]) -> None:
    for problem in problems:
        _error(str(problem))


def job_json(job: ClipJob) -> dict[str, Any]:
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

    return {job: plan for plan in group_videos(jobs, config, find_cached(jobs, config)) for job in plan.jobs}


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
    for plan in {id(plan): plan for plan in fetches.values()}.values():
        lines.append(printable(f"# {plan.video_id}: {plan.strategy}: {plan.reason}"))
    return lines


config_option = click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help=f"Config file (default: ./{DEFAULT_CONFIG_NAME} when it exists).",
)


def _remember(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """-v, -q and --progress may come before the command or after it: the last one given counts."""
    if value not in (None, False):
        ctx.ensure_object(dict)[str(param.name)] = value
    return value


def output_options(command: Any) -> Any:
    """The options that say how much clipper prints, on the group and on every command."""
    for option in reversed([
        click.option("-v", "--verbose", is_flag=True, expose_value=False, callback=_remember, is_eager=True,
                     help="Show every command run (shell-quoted) and full error details."),
        click.option("-q", "--quiet", is_flag=True, expose_value=False, callback=_remember, is_eager=True,
                     help="Show only problems."),
        click.option("--progress", type=click.Choice(PROGRESS_STYLES), expose_value=False, callback=_remember,
                     is_eager=True, help="bars (a terminal's default), lines (one per step: logs, CI) or off."),
    ]):  # fmt: skip
        command = option(command)
    return command


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="clipper")
@output_options
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Turn markdown video notes into video clips."""
    ctx.ensure_object(dict)


@cli.command()
@output_options
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array of clips on stdout.")
@config_option
def plan(paths: tuple[Path, ...], as_json: bool, config_path: Path | None) -> None:
    """List the clips the notes in PATHS (files or folders) ask for."""
    config = _config_or_exit(config_path, paths)
    jobs, problems = _plan(paths, config)
    _report(problems)
    if as_json:
        from clipper.run.outputs import read_manifest

        manifest = read_manifest(config.output_dir)
        fetches = _fetches(jobs, config)
        data = []
        for job in jobs:
            status, size = clip_status(config.output_dir, job.output, manifest)
            fetch_plan = fetches[job]
            data.append({**job_json(job), "status": status, "size": size, "fetch": fetch_plan.strategy,
                         "fetch_reason": fetch_plan.reason})  # fmt: skip
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        for line in _table(jobs, config):
            click.echo(line)
    if problems:
        sys.exit(EXIT_PROBLEMS)


@cli.command("list")
@output_options
@click.argument("output_dir", required=False, type=click.Path(path_type=Path, file_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array on stdout.")
@config_option
def list_clips(output_dir: Path | None, as_json: bool, config_path: Path | None) -> None:
    """List the clips of an output folder (default: the config's) with status, length and size."""
    from clipper.run.outputs import checked_manifest

    folder = output_dir or _config_or_exit(config_path).output_dir
    manifest, skipped = checked_manifest(folder)
    if not manifest and not skipped:
        _error(f"{folder}: no manifest.json (no clips made here yet)")
        sys.exit(EXIT_PROBLEMS)
    for line in skipped:
        _error(line)
    entries = []
    for name, entry in sorted(manifest.items(), key=lambda item: (str(item[1].get("video_id")),
                                                                  float(item[1].get("start") or 0))):  # fmt: skip
        status, size = clip_status(folder, name, manifest)
        entries.append({**entry, "status": status, "size": size})
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


@cli.command("gallery")
@output_options
@click.argument("output_dir", required=False, type=click.Path(path_type=Path, file_okay=False))
@config_option
def gallery_command(output_dir: Path | None, config_path: Path | None) -> None:
    """Write index.html (posters, players, captions, search) and index.md for the clips of an output folder."""
    from clipper.run.outputs import build_gallery, checked_manifest

    folder = output_dir or _config_or_exit(config_path).output_dir
    manifest, skipped = checked_manifest(folder)
    if not manifest:  # nothing to show: no manifest, or a line for it (or each of its entries) saying why
        for line in skipped or [f"{folder}: no manifest.json (no clips made here yet)"]:
            _error(line)
        sys.exit(EXIT_PROBLEMS)
    try:
        page, skipped = build_gallery(folder)
    except ClipperError as error:
        _error(str(error))
        sys.exit(EXIT_PROBLEMS)
    for line in skipped:
        _error(line)
    click.echo(str(page))
    if skipped:
        sys.exit(EXIT_PROBLEMS)


def _config_or_exit(config_path: Path | None, near: Sequence[Path] = (), **overrides: Any) -> Config:
    try:
        return _load_config(config_path, near, **overrides)
    except ClipperError as error:
        _error(str(error))
        sys.exit(EXIT_PROBLEMS)


def _run_jobs(ctx: click.Context, jobs: list[ClipJob], config: Config, force: bool, as_json: bool,
              gallery: bool = False, companions: bool = True) -> int:  # fmt: skip
    """Run jobs with progress; print a summary (and make the gallery); return the exit status."""
    from clipper.run.manifest import manifest_entry
    from clipper.run.outputs import build_gallery
    from clipper.run.pool import Runner

    if any(not job.source_is_local for job in jobs):
        import yt_dlp  # noqa: F401  (every URL's fetch needs it: loaded before the freeze, like the rest)
    gc.freeze()  # the runner's modules and yt-dlp's are long-lived too
    reporter = make_reporter(quiet=_said(ctx, "quiet"), verbose=_said(ctx, "verbose"),
                             progress=str(ctx.obj.get("progress") or "auto"))  # fmt: skip
    runner = Runner(config, reporter, force=force, companions=companions)
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    # Ctrl-C stops the run even when clipper was started with SIGINT ignored (by a script, a service manager).
    previous_int = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        results = runner.run(jobs)
    except Interrupted as error:
        _error(str(error))
        return EXIT_INTERRUPTED
    except ClipperError as error:  # the output folder cannot be used, the disk is full, ...
        _error(str(error))
        return EXIT_PROBLEMS
    finally:
        signal.signal(signal.SIGTERM, previous)
        signal.signal(signal.SIGINT, previous_int)
    counts = {status: sum(1 for r in results if r.status == status) for status in ("done", "skipped", "failed")}
    if as_json:
        click.echo(json.dumps([manifest_entry(r, config) for r in results], indent=2, ensure_ascii=False))
    if not _said(ctx, "quiet") or counts["failed"]:
        click.echo(
            f"clipper: {counts['done']} done, {counts['skipped']} skipped, {counts['failed']} failed"
            f" -> {config.output_dir}",
            err=True,
        )
        for line in failure_lines(results):
            click.echo(printable(line), err=True)
    if gallery and (counts["done"] or counts["skipped"]):
        try:
            page, skipped = build_gallery(config.output_dir, reporter)
            for line in skipped:
                _error(line)
            if not _said(ctx, "quiet"):
                click.echo(f"clipper: gallery {page}", err=True)
        except (ClipperError, OSError) as error:
            _error(f"gallery not written: {error}")
    return EXIT_PROBLEMS if counts["failed"] else 0


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


def _said(ctx: click.Context | None, name: str) -> bool:
    return bool(ctx is not None and (ctx.obj or {}).get(name))


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


mode_option = click.option(
    "--mode",
    type=click.Choice(MODES),
    help="smart (default): frame-accurate, re-encodes only up to the first keyframe; "
    "reencode: frame-accurate, re-encodes everything; copy: fastest, starts at a keyframe.",
)
captions_option = click.option(
    "--captions",
    type=click.Choice(CAPTION_MODES),
    help="sidecar (default): NAME.srt and NAME.vtt next to each clip; embed: also a soft subtitle track; "
    "burn: drawn into the picture (re-encodes); off.",
)
fetch_option = click.option(
    "--fetch",
    type=click.Choice(FETCH_STRATEGIES),
    help="auto (default): per video, whole download or sections; sections: only the clips' ranges; "
    "full: the whole video once, kept in the cache.",
)


class AspectType(click.ParamType):
    """A shape: W:H (9:16, 1:1, 16:9, ...) or source."""

    name = "aspect"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        try:
            parse_aspect(str(value))
        except ValueError as error:
            self.fail(str(error), param, ctx)
        return str(value).strip()


def share_options(command: Any) -> Any:
    """The options that make share-ready clips: snapped edges, a shape, loudness, and presets of them."""
    presets = "; ".join(f"{name}: {describe_preset(name)}" for name in PRESETS)
    low, high = LOUDNESS_RANGE
    for option in reversed([
        click.option("--snap", type=click.Choice(SNAP_MODES),
                     help="speech: move each clip edge into the nearest pause in the speech (off: the note's times)."),
        click.option("--snap-window", type=click.FloatRange(0.1, MAX_SNAP_WINDOW), metavar="SECONDS",
                     help="How far an edge may move either way when it snaps (default 1)."),
        click.option("--aspect", type=AspectType(), metavar="|".join(ASPECTS[:-1]) + "|W:H|source",
                     help="The clip's shape: a centred crop (see --crop-x, --pad); re-encodes the clip."),
        click.option("--crop-x", type=click.FloatRange(0, 1), metavar="FRACTION",
                     help="Where the crop's centre sits, as a fraction of the width (0.5: the middle)."),
        click.option("--pad", type=click.Choice(PAD_MODES),
                     help="blur: the whole picture over a blurred copy of itself; black: on black bars; "
                     "none: crop (default)."),
        click.option("--loudnorm/--no-loudnorm", default=None,
                     help=f"EBU R128 two-pass loudness normalisation, to {DEFAULT_LOUDNESS:g} LUFS (or --lufs), "
                     "true peak at most -1 dBTP."),
        click.option("--lufs", type=click.FloatRange(low, high), metavar="LUFS",
                     help=f"The loudness --loudnorm aims at ({low:g} to {high:g}; default {DEFAULT_LOUDNESS:g})."),
        click.option("--preset", type=click.Choice(list(PRESETS)), help=f"A bundle of settings: {presets}."),
    ]):  # fmt: skip
        command = option(command)
    return command


def _share_overrides(share: dict[str, Any]) -> dict[str, Any]:
    """The config overrides the share options give (--loudnorm and --lufs: see ``_with_loudness``)."""
    return {key: share[key] for key in ("preset", "snap", "snap_window", "aspect", "crop_x", "pad")}


def _with_loudness(config: Config, share: dict[str, Any]) -> Config:
    """--lufs sets the target (and turns normalising on); --loudnorm turns it on at the config's target (or the
    default), --no-loudnorm off."""
    if share.get("lufs") is not None and share.get("loudnorm") is not False:
        return replace(config, loudnorm=float(share["lufs"]))
    if share.get("loudnorm") is True:
        return replace(config, loudnorm=config.loudnorm if config.loudnorm is not None else DEFAULT_LOUDNESS)
    if share.get("loudnorm") is False:
        return replace(config, loudnorm=None)
    return config


cookies_option = click.option(
    "--cookies",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Netscape cookies.txt that yt-dlp sends (YouTube's 'Sign in to confirm you're not a bot').",
)
browser_cookies_option = click.option(
    "--cookies-from-browser",
    metavar="BROWSER[+KEYRING][:PROFILE][::CONTAINER]",
    help="Take the cookies from your browser, as yt-dlp does (e.g. firefox, chrome).",
)


def _with_cookies(config_path: Path | None, cookies: Path | None, browser: str | None, near: Sequence[Path] = (),
                  **overrides: Any) -> Config:  # fmt: skip
    """The config with the command line's settings; --cookies and --cookies-from-browser join yt_dlp_args."""
    config = _config_or_exit(config_path, near, **overrides)
    extra: list[str] = []
    if cookies is not None:
        extra += ["--cookies", str(cookies.expanduser().absolute())]
    if browser is not None:
        extra += ["--cookies-from-browser", browser]
    if not extra:
        return config
    try:
        return config.with_yt_dlp_args(extra)
    except ClipperError as error:
        _error(str(error))
        sys.exit(2)


def _dry_run(jobs: list[ClipJob], config: Config) -> None:
    """Print the commands; local files are read (ffprobe; with snapping, a few seconds of audio around each edge)
    so their steps are exact."""
    from clipper.cli.dry_run import dry_run_lines
    from clipper.fetch import ytdlp as fetch
    from clipper.run.clipping import probe_local_media
    from clipper.run.manifest import find_cached
    from clipper.run.videos import group_videos
    from clipper.share.snap import snap_local

    if config.snap == "speech":
        jobs = snap_local(jobs, config)
    _warn_lengths(jobs, config)
    plans = group_videos(jobs, config, find_cached(jobs, config))
    media, problems = probe_local_media(plans, config)
    _report(problems)
    for line in dry_run_lines(plans, config, fetch.js_runtime(), media):
        click.echo(line)


@cli.command()
@output_options
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("-n", "--dry-run", is_flag=True, help="Print the commands as a script; run nothing, write nothing.")
@config_option
@click.option("-o", "--output-dir", type=click.Path(path_type=Path, file_okay=False), help="Output folder.")
@click.option("-j", "--jobs", type=click.IntRange(min=1), help="Clips made at once.")
@mode_option
@fetch_option
@captions_option
@share_options
@cookies_option
@browser_cookies_option
@click.option("-f", "--force", is_flag=True, help="Make clips again even when they exist and verify.")
@click.option("--no-gallery", is_flag=True, help="Do not write index.html and index.md at the end.")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON on stdout.")
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
    **share: Any,
) -> None:
    """Make every highlight clip of the notes in PATHS (files or folders), in parallel and resumable."""
    config = _with_cookies(config_path, cookies, cookies_from_browser, paths, output_dir=output_dir, jobs=jobs,
                           mode=mode, fetch=fetch, captions=captions, **_share_overrides(share))  # fmt: skip
    config = _with_loudness(config, share)
    clip_jobs, problems = _plan(paths, config, captions=True)
    _report(problems)
    if not dry_run:
        _warn_lengths(clip_jobs, config)
    if dry_run:
        _dry_run(clip_jobs, config)
        sys.exit(EXIT_PROBLEMS if problems else 0)
    status = _run_jobs(ctx, clip_jobs, config, force, as_json, gallery=not no_gallery)
    sys.exit(status or (EXIT_PROBLEMS if problems else 0))


@cli.command()
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
    config = _with_cookies(config_path, cookies, cookies_from_browser, [Path(source)], mode=mode, captions=captions,
                           **_share_overrides(share))  # fmt: skip
    config = _with_loudness(config, share)
    companions = True
    try:
        job = _single_job(source, time_range, highlight, config)
    except ClipperError as error:
        _error(str(error))
        sys.exit(EXIT_PROBLEMS)
    if output is not None:
        if output.suffix.lower().lstrip(".") not in CLIP_EXTENSIONS:
            raise click.BadParameter(f"{output.name}: a clip is {', '.join('.' + e for e in CLIP_EXTENSIONS)}",
                                     param_hint="-o")  # fmt: skip
        if config.container != "auto" and output.suffix.lower() != "." + config.container:
            _warn(f"{output.name}: -o names the clip, so it is not made {config.container} (container: "
                  f"{config.container}{' in preset ' + config.preset if config.preset else ''})")  # fmt: skip
        # A clip written into the current folder is a file of its own: no manifest.json or posters/ beside it.
        companions = output.parent.absolute() != Path.cwd()
        config = replace(config, output_dir=output.parent.absolute())
        job = replace(job, output=output.name)
    if dry_run:
        _dry_run([job], config)
        return
    _warn_lengths([job], config)
    sys.exit(_run_jobs(ctx, [job], config, force, as_json=False, companions=companions))


def _single_job(source: str, time_range: str | None, highlight: int | None, config: Config) -> ClipJob:
    path = Path(source)
    if path.suffix.lower() == ".md" and path.is_file():
        if highlight is None:
            raise click.UsageError(f"{path}: a note as SOURCE needs --highlight N (see `clipper plan` for the list)")
        jobs, problems = _plan([path], config, captions=True)
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

                job = with_captions([job], [note], margin=_snap_margin(config), cues=config.captions != "off")[0]
        return job
    if time_range is None:
        raise click.UsageError("RANGE is required (e.g. 3:34-4:30)")
    start, end = _range(time_range)
    return job_for_source(source, start, end, config, is_file=path.exists())


def _range(text: str) -> tuple[float, float]:
    try:
        return parse_range(text)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="RANGE") from None


@cli.group()
def cache() -> None:
    """The cache of whole-video downloads (config cache_dir)."""


@cache.command("list")
@output_options
@config_option
def cache_list(config_path: Path | None) -> None:
    """List the downloads kept in the cache."""
    config = _config_or_exit(config_path)
    from clipper.fetch import ytdlp as fetch

    entries = fetch.cache_entries(config.cache_dir)
    if not entries:
        _error(f"{config.cache_dir}: the cache is empty")
    for path in entries:
        click.echo(f"{path.stat().st_size / 1e6:10.1f} MB  {path}")


@cache.command("clean")
@output_options
@config_option
def cache_clean(config_path: Path | None) -> None:
    """Delete every download kept in the cache (clips are not touched)."""
    config = _config_or_exit(config_path)
    from clipper.fetch import ytdlp as fetch

    removed = fetch.clean_cache(config.cache_dir)
    click.echo(f"clipper: removed {len(removed)} file(s), {sum(size for _, size in removed) / 1e6:.1f} MB,"
               f" from {config.cache_dir}", err=True)  # fmt: skip


@cli.command()
@output_options
@config_option
def doctor(config_path: Path | None) -> None:
    """Report the yt-dlp, ffmpeg and ffprobe that will be used, and what is missing."""
    import yt_dlp.version

    from clipper.fetch import ytdlp as fetch
    from clipper.media.cut import SMART_ENCODERS, encoders_argv, listed_encoders
    from clipper.policy.ytdlp_args import redact

    missing = False

    click.echo(f"clipper   {__version__}")
    click.echo(f"yt-dlp    {yt_dlp.version.__version__}")
    try:
        import yt_dlp_ejs  # type: ignore[import-not-found,import-untyped,unused-ignore]  # noqa: F401

        click.echo("yt-dlp-ejs installed (YouTube's JavaScript challenges)")
    except ImportError:
        click.echo("yt-dlp-ejs MISSING: pip install 'yt-dlp[default]' (needed for YouTube)")
    for tool in ("ffmpeg", "ffprobe"):
        found = shutil.which(tool)
        if found is None:
            missing = True
            click.echo(f"{tool:<9} MISSING: install ffmpeg (Debian/Ubuntu: sudo apt-get install ffmpeg)")
            continue
        first = subprocess.run([found, "-version"], capture_output=True, text=True).stdout.splitlines()
        click.echo(f"{tool:<9} {first[0] if first else '?'} ({found})")
        if tool == "ffmpeg":
            listing = subprocess.run(encoders_argv(), capture_output=True, text=True).stdout
            have = listed_encoders(listing)
            for codec, encoder in SMART_ENCODERS.items():
                state = "yes" if encoder in have else f"MISSING: {codec} clips are re-encoded whole"
                click.echo(f"  smart cut of {codec}: {encoder} {state}")
    runtime = fetch.js_runtime()
    if runtime is None:
        click.echo("js runtime MISSING: pip install deno (or put deno, or node >= 20, on PATH); needed for YouTube")
    else:
        click.echo(f"js runtime {runtime[0]} ({runtime[1]})")
    config = _config_or_exit(config_path)
    click.echo(f"config    {config.source_file or 'none (the defaults)'}")
    shown = ("output_dir", "cache_dir", "mode", "fetch", "jobs", "http_chunk_size", "captions", "preset", "snap",
             "snap_window", "aspect", "crop_x", "pad", "loudnorm", "container", "warn_longer_than")  # fmt: skip
    for key in shown:
        click.echo(f"  {key}: {getattr(config, key)}")
    click.echo(f"  yt_dlp_args: {shlex.join(redact(config.yt_dlp_args)) or '(none)'}")
    sys.exit(EXIT_PROBLEMS if missing else 0)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point for the ``clipper`` script and ``python -m clipper``."""
    # The imports leave many long-lived objects: keep the collector off them (again once a run has loaded more).
    gc.freeze()
    try:
        result = cli.main(args=list(argv) if argv is not None else None, prog_name="clipper", standalone_mode=False)
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    except (KeyboardInterrupt, click.Abort):  # Ctrl-C before the run started (or after it): nothing half-done
        _error("interrupted")
        return EXIT_INTERRUPTED
    except click.ClickException as error:
        error.show()
        return error.exit_code
    except ClipperError as error:
        _error(str(error))
        return EXIT_PROBLEMS
    except OSError as error:  # the disk is full, a folder cannot be written: one line, not a traceback
        _error(f"{error.filename + ': ' if error.filename else ''}{error.strerror or error}")
        return EXIT_PROBLEMS
    return result if isinstance(result, int) else 0  # --help and --version return 0
