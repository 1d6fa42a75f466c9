"""The options the commands share (output, mode, captions, fetch, share-ready clips, cookies) and the loading of
the config they override."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from clipper.cli.console import EXIT_PROBLEMS, show_error, show_warning
from clipper.core.errors import ClipperError
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
from clipper.run.progress import PROGRESS_STYLES

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


def share_overrides(share: dict[str, Any]) -> dict[str, Any]:
    """The config overrides the share options give (--loudnorm and --lufs: see ``with_loudness``)."""
    return {key: share[key] for key in ("preset", "snap", "snap_window", "aspect", "crop_x", "pad")}


def with_loudness(config: Config, share: dict[str, Any]) -> Config:
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


def with_cookies(config_path: Path | None, cookies: Path | None, browser: str | None, near: Sequence[Path] = (),
                 **overrides: Any) -> Config:  # fmt: skip
    """The config with the command line's settings; --cookies and --cookies-from-browser join yt_dlp_args."""
    config = config_or_exit(config_path, near, **overrides)
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
        show_error(str(error))
        sys.exit(2)


def load_command_config(config_path: Path | None, near: Sequence[Path] = (), **overrides: Any) -> Config:
    """The config a command uses (--config, else the one found near ``near``) with ``overrides``; a bad one
    raises ClipperError with its line."""
    if config_path is not None:
        config = load_config(config_path, required=True)
    else:
        found = find_config(near)
        config = load_config(found)
        if found is not None and found.parent.absolute() != Path.cwd():
            show_warning(f"using the config {found}")  # not the current folder's: say which one
    return config.with_overrides(**overrides)


def config_or_exit(config_path: Path | None, near: Sequence[Path] = (), **overrides: Any) -> Config:
    """The config (--config, else the one found near ``near``) with ``overrides``; a bad one exits 1 with its line."""
    try:
        return load_command_config(config_path, near, **overrides)
    except ClipperError as error:
        show_error(str(error))
        sys.exit(EXIT_PROBLEMS)


def making_options(command: Any) -> Any:
    """The options of the commands that make clips (batch, watch): where, how many at once, how, and cookies."""
    options: list[Callable[[Any], Any]] = [
        click.option("-o", "--output-dir", type=click.Path(path_type=Path, file_okay=False), help="Output folder."),
        click.option("-j", "--jobs", type=click.IntRange(min=1), help="Clips made at once."),
        mode_option, fetch_option, captions_option, share_options, cookies_option, browser_cookies_option,
    ]  # fmt: skip
    for option in reversed(options):
        command = option(command)
    return command
