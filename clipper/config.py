"""config.yaml -> a frozen, validated Config that is passed around (never a global)."""

from __future__ import annotations

import math
import os
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from clipper.errors import ConfigError

MODES = ("smart", "reencode", "copy")
FETCH_STRATEGIES = ("auto", "sections", "full")
CAPTION_MODES = ("sidecar", "embed", "burn", "off")
DEFAULT_CONFIG_NAME = "config.yaml"
NAMING_FIELDS = ("video_id", "start", "end", "title", "index")
DEFAULT_FORMAT_SORT = ("vcodec:h264", "res:1080", "acodec:aac", "ext:mp4:m4a")
# No media request asks for more than this (yt-dlp's YouTube chunk: hosts throttle longer responses).
DEFAULT_CHUNK_SIZE = 10 * 1024 * 1024


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
    source_file: Path | None = None
    run_tag: str = ""  # set by a run: marks its temporary files as its own (not a config key)

    def with_overrides(self, **overrides: Any) -> Config:
        """A copy with the command-line flags that were given (None means not given)."""
        given = {key: value for key, value in overrides.items() if value is not None}
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
}
_TYPE_NAMES: dict[type, str] = {
    str: "a string",
    int: "a whole number",
    float: "a number",
    bool: "true or false",
    list: "a list",
    dict: "a mapping",
}


def _key_lines(text: str) -> dict[str, int]:
    """Line number of each top-level key, for error messages (``key[N]``: item N of a list)."""
    try:
        node = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError:
        return {}
    if not isinstance(node, yaml.MappingNode):
        return {}
    lines = {}
    for key, value in node.value:
        lines[str(key.value)] = key.start_mark.line + 1
        if isinstance(value, yaml.SequenceNode):
            for index, item in enumerate(value.value):
                lines[f"{key.value}[{index}]"] = item.start_mark.line + 1
    return lines


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
        if value is None or isinstance(value, bool) or not isinstance(value, _TYPES[key]):
            wanted = " or ".join(_TYPE_NAMES[t] for t in _TYPES[key])
            got = "empty" if value is None else _TYPE_NAMES.get(type(value), type(value).__name__)
            raise _fail(f"{key} must be {wanted}, not {got}", path, lines, key)
    base = path.parent.absolute()
    values: dict[str, Any] = dict(data)
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
    config = Config(**values, source_file=path)
    _validate(config, path, lines)
    return config


def _chunk_size(value: int | str, path: Path | None, lines: Mapping[str, int]) -> int:
    """A byte count: 10485760, "10M" or "10MiB" (as yt-dlp's --http-chunk-size); 0 turns chunking off."""
    from yt_dlp.utils import parse_bytes

    size = value if isinstance(value, int) else parse_bytes(value.strip())
    if size is None or size < 0 or 0 < size < 65536:
        raise _fail(f"http_chunk_size must be 0 (off) or a size of 64K or more, like 10M, not {value!r}", path,
                    lines, "http_chunk_size")  # fmt: skip
    return int(size)


def _yt_dlp_args(value: list[Any] | str, path: Path | None, lines: Mapping[str, int]) -> tuple[str, ...]:
    """The user's own yt-dlp options: a list (or one string, split like a shell would), checked."""
    from clipper.clipcmd import UnsafeCommand
    from clipper.ytdlp_options import user_params

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
