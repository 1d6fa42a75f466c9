"""config.yaml -> a frozen, validated Config that is passed around (never a global)."""

from __future__ import annotations

import math
import os
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from fractions import Fraction
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from clipper.core.errors import ConfigError
from clipper.core.sizes import parse_bytes
from clipper.notes.blocks import LINK_STYLES
from clipper.plan import queue_keys

MODES = ("smart", "reencode", "copy")
FETCH_STRATEGIES = ("auto", "sections", "full")
CAPTION_MODES = ("sidecar", "embed", "burn", "off")
DEFAULT_CONFIG_NAME = "config.yaml"
NAMING_FIELDS = ("video_id", "start", "end", "title", "index")
DEFAULT_FORMAT_SORT = ("vcodec:h264", "res:1080", "acodec:aac", "ext:mp4:m4a")
# No media request asks for more than this (yt-dlp's YouTube chunk: hosts throttle longer responses).
DEFAULT_CHUNK_SIZE = 10 * 1024 * 1024
SNAP_MODES = ("speech", "off")
CONTAINER_CHOICES = ("auto", "mp4", "mkv", "webm")
MAX_SNAP_WINDOW = 5.0
DEFAULT_LOUDNESS = -14.0  # LUFS: what phone feeds (YouTube, Instagram, TikTok, Spotify) normalise to
LOUDNESS_RANGE = (-70.0, -5.0)  # what ffmpeg's loudnorm accepts
# Presets: plain named bundles of settings. Config keys and flags given beside one win over it.
PRESETS: dict[str, dict[str, Any]] = {
    "shorts": {"aspect": "9:16", "captions": "burn", "loudnorm": DEFAULT_LOUDNESS, "container": "mp4",
               "warn_longer_than": 60.0},
    "square": {"aspect": "1:1", "captions": "burn", "loudnorm": DEFAULT_LOUDNESS, "container": "mp4"},
}  # fmt: skip


ASPECTS = ("9:16", "1:1", "16:9", "source")  # the shapes --help names; any W:H works
PAD_MODES = ("none", "blur", "black")
SOURCE = "source"
_RATIO_RE = re.compile(r"(\d{1,5}):(\d{1,5})")


def parse_aspect(text: str) -> tuple[int, int] | None:
    """``"9:16"`` -> (9, 16); ``"source"`` -> None. Raise ValueError for anything else (``3:0``, ``wide``)."""
    text = text.strip()
    if text == SOURCE:
        return None
    match = _RATIO_RE.fullmatch(text)
    if match is None or int(match.group(1)) == 0 or int(match.group(2)) == 0:
        raise ValueError(f"{text!r} is not a shape: use source or W:H with whole numbers above 0, like 9:16 or 1:1")
    width, height = int(match.group(1)), int(match.group(2))
    if not Fraction(1, 10) <= Fraction(width, height) <= 10:
        raise ValueError(f"{text!r} is too narrow or too wide a shape (from 1:10 to 10:1)")
    return width, height


def describe_preset(name: str) -> str:
    """A preset's settings in words, for --help and doctor."""
    values = PRESETS[name]
    parts = [str(values["aspect"]), "captions burned" if values.get("captions") == "burn" else "",
             f"{values['loudnorm']:g} LUFS" if values.get("loudnorm") is not None else "",
             "H.264/AAC mp4" if values.get("container") == "mp4" else "",
             f"a warning over {values['warn_longer_than']:g}s" if values.get("warn_longer_than") else ""]  # fmt: skip
    return ", ".join(part for part in parts if part)


def default_cache_dir() -> Path:
    """Where whole-video downloads are kept between runs: $XDG_CACHE_HOME/clipper or ~/.cache/clipper."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "clipper"


def user_config_path() -> Path:
    """The user's own config: $XDG_CONFIG_HOME/clipper (or ~/.config/clipper; %APPDATA%\\clipper on Windows)."""
    if os.name == "nt" and os.environ.get("APPDATA"):
        return Path(os.environ["APPDATA"]) / "clipper" / DEFAULT_CONFIG_NAME
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "clipper" / DEFAULT_CONFIG_NAME


def find_config(near: Sequence[Path] = ()) -> Path | None:
    """The config a command uses when none is given: ./config.yaml, else config.yaml beside the notes given
    (in their folder or the one above it), else the user's own; None for the defaults."""
    candidates = [Path(DEFAULT_CONFIG_NAME)]
    for path in near:
        folder = path if path.is_dir() else path.parent
        candidates += [folder / DEFAULT_CONFIG_NAME, folder.parent / DEFAULT_CONFIG_NAME]
    candidates.append(user_config_path())
    return next((candidate for candidate in candidates if candidate.is_file()), None)


def default_jobs() -> int:
    """Clips in flight at once: one per core, at least 2 (downloads wait on the network), at most 4."""
    return max(2, min(4, os.cpu_count() or 2))


@dataclass(frozen=True)
class Config:
    """Settings for a run. Paths are absolute once loaded."""

    output_dir: Path = Path("clips")
    jobs: int = field(default_factory=default_jobs)
    mode: str = "smart"
    naming: str = "{video_id}-{start}"
    fetch: str = "auto"
    captions: str = "sidecar"
    cache_dir: Path = field(default_factory=default_cache_dir)
    sources: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    format: str = "bv*+ba/b"
    format_sort: tuple[str, ...] = DEFAULT_FORMAT_SORT
    retries: int = 3
    retry_delay: float = 1.0
    http_chunk_size: int = DEFAULT_CHUNK_SIZE
    yt_dlp_args: tuple[str, ...] = ()
    snap: str = "off"  # speech: clip edges move into the nearest pause in the speech
    snap_window: float = 1.0  # seconds an edge may move either way
    aspect: str = "source"  # or W:H (9:16, 1:1, 16:9, ...)
    crop_x: float = 0.5  # where the crop's centre sits, as a fraction of the source's width
    pad: str = "none"  # none (crop), blur or black: the whole picture on a canvas of the new shape
    loudnorm: float | None = None  # target integrated loudness (LUFS), or None: the audio's level is kept
    container: str = "auto"  # auto: as the note names the clip (else mp4); or mp4, mkv, webm
    warn_longer_than: float | None = None  # seconds: a warning for longer clips (a platform's limit)
    preset: str | None = None
    broker: str | None = None  # redis://HOST:PORT/DB: batches go through a queue that workers take clips from
    host_limits: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))  # host -> fetches at once
    queue_heartbeat: float = 30.0  # seconds a worker may be silent before its clips go to another worker
    link_notes: bool = False  # write a block embedding each clip under its highlight in the note
    link_style: str = "markdown"  # the embed: markdown ![title](path) or obsidian ![[path]]
    source_file: Path | None = None
    run_tag: str = ""  # set by a run: marks its temporary files as its own (not a config key)

    def with_overrides(self, **overrides: Any) -> Config:
        """A copy with the command-line flags that were given (None means not given)."""
        given = {key: value for key, value in overrides.items() if value is not None}
        preset = given.get("preset")
        if preset is not None:  # under the other flags given with it, over the config file
            if preset not in PRESETS:
                raise ConfigError(f"preset must be one of {', '.join(PRESETS)}, not {preset!r}")
            given = {**PRESETS[preset], **given}
        for key in ("output_dir", "cache_dir"):
            if key in given:
                given[key] = Path(given[key]).expanduser().absolute()
        config = replace(self, **given)
        _validate(config, None, {})
        return config

    def with_yt_dlp_args(self, extra: list[str]) -> Config:
        """A copy whose yt_dlp_args end with ``extra`` (command-line flags), checked like the config's."""
        return replace(self, yt_dlp_args=_yt_dlp_args([*self.yt_dlp_args, *extra], None, {}))


_TYPES: dict[str, tuple[type, ...]] = {
    "output_dir": (str,),
    "jobs": (int,),
    "mode": (str,),
    "naming": (str,),
    "sources": (dict,),
    "format": (str,),
    "format_sort": (list, str),
    "retries": (int,),
    "retry_delay": (int, float),
    "fetch": (str,),
    "captions": (str,),
    "cache_dir": (str,),
    "http_chunk_size": (int, str),
    "yt_dlp_args": (list, str),
    "snap": (str, bool),  # bool: YAML 1.1 reads an unquoted off (on) as false (true)
    "snap_window": (int, float),
    "aspect": (str, int),  # int: YAML 1.1 reads an unquoted 9:16 as the sexagesimal number 556 (see _raw_scalars)
    "crop_x": (int, float),
    "pad": (str,),
    "loudnorm": (int, float, bool, str),  # off/false/"off" (none), on/true/"on" (the default target), or LUFS
    "container": (str,),
    "warn_longer_than": (int, float),
    "preset": (str,),
    "broker": (str,),
    "host_limits": (dict,),
    "queue_heartbeat": (int, float),
    "link_notes": (bool,),
    "link_style": (str,),
}
_BOOLEAN_OK = ("loudnorm", "snap", "link_notes")
_TYPE_NAMES: dict[type, str] = {
    str: "a string",
    int: "a whole number",
    float: "a number",
    bool: "true or false",
    list: "a list",
    dict: "a mapping",
}


def _top_mapping(text: str) -> yaml.MappingNode | None:
    """The file's top-level mapping as YAML nodes (with their lines and the text of each value), or None."""
    try:
        node = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError:
        return None
    return node if isinstance(node, yaml.MappingNode) else None


def _key_lines(text: str) -> dict[str, int]:
    """Line number of each top-level key, for error messages (``key[N]``: item N of a list)."""
    node = _top_mapping(text)
    if node is None:
        return {}
    lines: dict[str, int] = {}
    for key, value in node.value:
        lines[str(key.value)] = key.start_mark.line + 1
        if isinstance(value, yaml.SequenceNode):
            for index, item in enumerate(value.value):
                lines[f"{key.value}[{index}]"] = item.start_mark.line + 1
    return lines


def _raw_scalars(text: str) -> dict[str, str]:
    """The text of each top-level scalar value as written (``aspect: 9:16`` is ``"9:16"``, not YAML 1.1's 556)."""
    node = _top_mapping(text)
    if node is None:
        return {}
    return {str(key.value): str(value.value) for key, value in node.value if isinstance(value, yaml.ScalarNode)}


def _bad_date_line(text: str) -> int | None:
    """The line of the first value YAML takes for a date but that is none (for the error message)."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        node = yaml.compose(text, Loader=loader)
    except yaml.YAMLError:
        return None
    pending = [node]
    while pending:
        current = pending.pop(0)
        if isinstance(current, yaml.ScalarNode) and current.tag.endswith(":timestamp"):
            try:
                yaml.SafeLoader("").construct_yaml_timestamp(current)
            except (ValueError, OverflowError):
                return int(current.start_mark.line) + 1
        elif isinstance(current, yaml.MappingNode):
            pending += [item for pair in current.value for item in pair]
        elif isinstance(current, yaml.SequenceNode):
            pending += list(current.value)
    return None


def _fail(message: str, path: Path | None, lines: Mapping[str, int], key: str) -> ConfigError:
    return ConfigError(message, path, lines.get(key))


def load_config(path: Path | None, *, required: bool = False) -> Config:
    """Load and validate a config file; with no file, the defaults (relative to the current folder)."""
    if path is None or (not required and not path.exists()):
        return replace(Config(), output_dir=Path("clips").absolute())
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"cannot read config: {error.strerror}", path) from None
    try:
        data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except (ValueError, OverflowError) as error:  # a value YAML reads as a date that is no date (2025-02-30)
        raise ConfigError(
            f"not a valid value ({error}); quote it to keep it as text", path, _bad_date_line(text)
        ) from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        raise ConfigError(
            f"not valid YAML: {getattr(error, 'problem', None) or error}",
            path,
            mark.line + 1 if mark is not None else None,
        ) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError("config must be a mapping of keys to values", path, 1)
    lines = _key_lines(text)
    known = {f.name for f in fields(Config)} - {"source_file", "run_tag"}
    for key, value in data.items():
        if key not in known:
            raise _fail(f"unknown key {key!r} (known: {', '.join(sorted(known))})", path, lines, str(key))
        if value is None or (isinstance(value, bool) and key not in _BOOLEAN_OK) or not isinstance(value, _TYPES[key]):
            wanted = " or ".join(_TYPE_NAMES[t] for t in _TYPES[key])
            got = "empty" if value is None else _TYPE_NAMES.get(type(value), type(value).__name__)
            raise _fail(f"{key} must be {wanted}, not {got}", path, lines, key)
    base = path.parent.absolute()
    values: dict[str, Any] = {}
    if "preset" in data:  # under the file's own keys
        if data["preset"] not in PRESETS:
            raise _fail(f"preset must be one of {', '.join(PRESETS)}, not {data['preset']!r}", path, lines, "preset")
        values.update(PRESETS[data["preset"]])
    values.update(data)
    values["output_dir"] = base / Path(str(data.get("output_dir", "clips"))).expanduser()
    if "cache_dir" in data:
        values["cache_dir"] = base / Path(data["cache_dir"]).expanduser()
    if "sources" in data:
        sources: dict[str, str] = {}
        for video_id, target in data["sources"].items():
            if not isinstance(target, str) or not target:
                raise _fail(f"sources.{video_id} must be a path or URL string", path, lines, "sources")
            is_url = re.match(r"^[a-z][a-z0-9+.-]*://", target)
            sources[str(video_id)] = target if is_url else str(base / Path(target).expanduser())
        values["sources"] = MappingProxyType(sources)
    if "http_chunk_size" in data:
        values["http_chunk_size"] = _chunk_size(data["http_chunk_size"], path, lines)
    if "yt_dlp_args" in data:
        values["yt_dlp_args"] = _yt_dlp_args(data["yt_dlp_args"], path, lines)
    if isinstance(data.get("format_sort"), str):
        values["format_sort"] = tuple(p.strip() for p in data["format_sort"].split(",") if p.strip())
    elif "format_sort" in data:
        values["format_sort"] = tuple(str(p) for p in data["format_sort"])
    if isinstance(data.get("aspect"), int):
        values["aspect"] = _raw_scalars(text).get("aspect", str(data["aspect"]))
    if isinstance(data.get("snap"), bool):
        values["snap"] = "speech" if data["snap"] else "off"
    if isinstance(data.get("loudnorm"), (bool, str)):
        switch = {True: DEFAULT_LOUDNESS, False: None, "on": DEFAULT_LOUDNESS, "off": None}
        if data["loudnorm"] not in switch:
            raise _fail(f"loudnorm must be off, on or a target loudness in LUFS like {DEFAULT_LOUDNESS:g}; not "
                        f"{data['loudnorm']!r}", path, lines, "loudnorm")  # fmt: skip
        values["loudnorm"] = switch[data["loudnorm"]]
    if "host_limits" in data:
        values["host_limits"] = MappingProxyType(dict(data["host_limits"]))
    for key in ("snap_window", "crop_x", "loudnorm", "warn_longer_than", "queue_heartbeat"):
        if isinstance(values.get(key), int):
            values[key] = float(values[key])
    config = Config(**values, source_file=path)
    _validate(config, path, lines)
    return config


MAX_CHUNK_SIZE = 1 << 40  # 1 TiB: more is no chunking a host would see, and a typo


def _chunk_size(value: int | str, path: Path | None, lines: Mapping[str, int]) -> int:
    """A byte count: 10485760, "10M" or "10MiB" (as yt-dlp's --http-chunk-size); 0 turns chunking off."""
    try:
        size = value if isinstance(value, int) else parse_bytes(value.strip())
    except OverflowError:  # more digits than a float holds
        size = None
    if size is None or size < 0 or 0 < size < 65536 or size > MAX_CHUNK_SIZE:
        raise _fail(f"http_chunk_size must be 0 (off) or a size of 64K or more (at most 1T), like 10M, not "
                    f"{value!r}", path, lines, "http_chunk_size")  # fmt: skip
    return int(size)


def _yt_dlp_args(value: list[Any] | str, path: Path | None, lines: Mapping[str, int]) -> tuple[str, ...]:
    """The user's own yt-dlp options: a list (or one string, split like a shell would), checked."""
    from clipper.policy.clip_command import UnsafeCommand
    from clipper.policy.ytdlp_args import user_params

    items = shlex.split(value) if isinstance(value, str) else value
    for index, item in enumerate(items):
        if not isinstance(item, (str, int, float)) or isinstance(item, bool):
            raise _fail("yt_dlp_args must be a list of command-line arguments (strings)", path, lines,
                        f"yt_dlp_args[{index}]")  # fmt: skip
    args = tuple(str(item) for item in items)
    try:
        user_params(args)
    except UnsafeCommand as error:
        shown = str(error).split(" ", 1)[0]
        found = [i for i, arg in enumerate(args) if arg.split("=", 1)[0] == shown]
        key = f"yt_dlp_args[{found[0]}]" if found and f"yt_dlp_args[{found[0]}]" in lines else "yt_dlp_args"
        raise _fail(str(error), path, lines, key) from None
    return args


def _validate(config: Config, path: Path | None, lines: Mapping[str, int]) -> None:
    if config.jobs < 1:
        raise _fail(f"jobs must be at least 1, not {config.jobs}", path, lines, "jobs")
    if config.retries < 0:
        raise _fail(f"retries must be 0 or more, not {config.retries}", path, lines, "retries")
    if not math.isfinite(config.retry_delay) or config.retry_delay > 3600:
        raise _fail(f"retry_delay must be a number of seconds up to 3600, not {config.retry_delay}", path, lines,
                    "retry_delay")  # fmt: skip
    if config.retry_delay < 0:
        raise _fail(f"retry_delay must be 0 or more, not {config.retry_delay}", path, lines, "retry_delay")
    if config.fetch not in FETCH_STRATEGIES:
        raise _fail(f"fetch must be one of {', '.join(FETCH_STRATEGIES)}, not {config.fetch!r}", path, lines, "fetch")
    if config.captions not in CAPTION_MODES:
        raise _fail(f"captions must be one of {', '.join(CAPTION_MODES)}, not {config.captions!r}", path, lines,
                    "captions")  # fmt: skip
    if config.mode not in MODES:
        raise _fail(f"mode must be one of {', '.join(MODES)}, not {config.mode!r}", path, lines, "mode")
    if config.link_style not in LINK_STYLES:
        raise _fail(f"link_style must be {' or '.join(LINK_STYLES)}, not {config.link_style!r}", path, lines,
                    "link_style")  # fmt: skip
    _validate_share(config, path, lines)
    _validate_queue(config, path, lines)
    try:
        # Values of the same types clip_name passes, so "{index:03d}" is accepted and "{index[0]}" refused.
        config.naming.format(video_id="x", start="0m00s", end="0m01s", title="x", index=1)
    except (KeyError, IndexError, ValueError, AttributeError, TypeError) as error:
        raise _fail(
            f"naming {config.naming!r} is not a valid template ({error}); fields: "
            + ", ".join("{" + n + "}" for n in NAMING_FIELDS),
            path,
            lines,
            "naming",
        ) from None


def _validate_share(config: Config, path: Path | None, lines: Mapping[str, int]) -> None:
    """The settings that make share-ready clips: snapping, shape, loudness, container."""
    if config.snap not in SNAP_MODES:
        raise _fail(f"snap must be one of {', '.join(SNAP_MODES)}, not {config.snap!r}", path, lines, "snap")
    if not (math.isfinite(config.snap_window) and 0.1 <= config.snap_window <= MAX_SNAP_WINDOW):
        raise _fail(f"snap_window must be seconds from 0.1 to {MAX_SNAP_WINDOW:g}, not {config.snap_window:g}", path,
                    lines, "snap_window")  # fmt: skip
    try:
        parse_aspect(config.aspect)
    except ValueError as error:
        raise _fail(f"aspect: {error}", path, lines, "aspect") from None
    if not (math.isfinite(config.crop_x) and 0 <= config.crop_x <= 1):
        raise _fail(f"crop_x must be a fraction of the width from 0 (left) to 1 (right), like 0.5 (the middle); not "
                    f"{config.crop_x:g}", path, lines, "crop_x")  # fmt: skip
    if config.pad not in PAD_MODES:
        raise _fail(f"pad must be one of {', '.join(PAD_MODES)}, not {config.pad!r}", path, lines, "pad")
    low, high = LOUDNESS_RANGE
    if config.loudnorm is not None and not (math.isfinite(config.loudnorm) and low <= config.loudnorm <= high):
        raise _fail(f"loudnorm must be off or a target loudness from {low:g} to {high:g} LUFS, like "
                    f"{DEFAULT_LOUDNESS:g}; not {config.loudnorm:g}", path, lines, "loudnorm")  # fmt: skip
    if config.container not in CONTAINER_CHOICES:
        raise _fail(f"container must be one of {', '.join(CONTAINER_CHOICES)}, not {config.container!r}", path, lines,
                    "container")  # fmt: skip
    if config.warn_longer_than is not None and not (
        math.isfinite(config.warn_longer_than) and config.warn_longer_than > 0
    ):
        raise _fail(f"warn_longer_than must be a number of seconds above 0, not {config.warn_longer_than:g}", path,
                    lines, "warn_longer_than")  # fmt: skip


def _validate_queue(config: Config, path: Path | None, lines: Mapping[str, int]) -> None:
    problem = None if config.broker is None else queue_keys.broker_problem(config.broker)
    if problem is not None:
        raise _fail(f"broker {queue_keys.shown_url(config.broker or '')}: {problem}", path, lines, "broker")
    problem = queue_keys.host_limits_problem(config.host_limits)
    if problem is not None:
        raise _fail(problem, path, lines, "host_limits")
    low, high = queue_keys.MIN_HEARTBEAT, queue_keys.MAX_HEARTBEAT
    if not (math.isfinite(config.queue_heartbeat) and low <= config.queue_heartbeat <= high):
        raise _fail(f"queue_heartbeat must be seconds from {low:g} to {high:g}, not {config.queue_heartbeat:g}",
                    path, lines, "queue_heartbeat")  # fmt: skip
