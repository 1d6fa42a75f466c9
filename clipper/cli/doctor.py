"""The doctor command: the yt-dlp, ffmpeg, ffprobe and JavaScript runtime clipper will use, what is missing, and
the config in force."""

from __future__ import annotations

import shlex
import shutil
import sys
from pathlib import Path

import click

from clipper import __version__
from clipper.cli.console import EXIT_PROBLEMS
from clipper.cli.options import config_option, config_or_exit, output_options
from clipper.plan.queue_keys import shown_url


def _queue_packages() -> str:
    """The queue's packages as installed (read from their metadata: not imported)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"dramatiq {version('dramatiq')}, redis {version('redis')} (clipper worker, batch --broker)"
    except PackageNotFoundError:
        return "not installed (only for clipper worker and batch --broker): pip install 'clipper[queue]'"


@click.command()
@output_options
@config_option
def doctor(config_path: Path | None) -> None:
    """Report the yt-dlp, ffmpeg and ffprobe that will be used, and what is missing."""
    import yt_dlp.version

    from clipper.fetch import ytdlp_argv
    from clipper.media.ffmpeg import capture
    from clipper.media.smart_args import SMART_ENCODERS, encoders_argv, listed_encoders
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
        first = capture([found, "-version"], timeout=60).text.splitlines()
        click.echo(f"{tool:<9} {first[0] if first else '?'} ({found})")
        if tool == "ffmpeg":
            listing = capture(encoders_argv(), timeout=60).text
            have = listed_encoders(listing)
            for codec, encoder in SMART_ENCODERS.items():
                state = "yes" if encoder in have else f"MISSING: {codec} clips are re-encoded whole"
                click.echo(f"  smart cut of {codec}: {encoder} {state}")
    runtime = ytdlp_argv.js_runtime()
    if runtime is None:
        click.echo("js runtime MISSING: pip install deno (or put deno, or node >= 20, on PATH); needed for YouTube")
    else:
        click.echo(f"js runtime {runtime[0]} ({runtime[1]})")
    config = config_or_exit(config_path)
    click.echo(f"config    {config.source_file or 'none (the defaults)'}")
    shown = ("output_dir", "cache_dir", "mode", "fetch", "jobs", "http_chunk_size", "captions", "preset", "snap",
             "snap_window", "aspect", "crop_x", "pad", "loudnorm", "container", "warn_longer_than")  # fmt: skip
    for key in shown:
        click.echo(f"  {key}: {getattr(config, key)}")
    click.echo(f"  yt_dlp_args: {shlex.join(redact(config.yt_dlp_args)) or '(none)'}")
    click.echo(f"  broker: {shown_url(config.broker) if config.broker else '(none: batches run here)'}")
    click.echo(f"  host_limits: {dict(config.host_limits) or '(none)'}")
    click.echo(f"  queue_heartbeat: {config.queue_heartbeat:g}")
    click.echo(f"queue     {_queue_packages()}")
    sys.exit(EXIT_PROBLEMS if missing else 0)
