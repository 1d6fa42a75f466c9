"""A clip job as a queue message and back: JSON only (a message is data, never code), every field checked
against its type on the way in, and the settings validated again as the worker's own config would be."""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, TypeVar, Union

from clipper.core.errors import ClipperError
from clipper.plan.config import Config
from clipper.plan.jobs import ClipJob
from clipper.run.manifest import ClipResult
from clipper.run.outputs import name_problem

VERSION = 1  # a worker refuses messages of another version (as a failed clip that says so)
T = TypeVar("T")


class MessageError(ClipperError):
    """A message this worker cannot use."""


@dataclass(frozen=True)
class ClipMessage:
    """What a worker needs to make one clip: the job (its source resolved), the run's settings, where results go."""

    run: str  # the batch's id: its results and progress are kept under it
    job: ClipJob
    config: Config


def _plain(value: Any) -> Any:
    """A value as JSON holds it: dataclasses as mappings of their fields, tuples as lists, paths as text."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, Path):
        return {"path": str(value)}  # a note given as a file, not as a URL's text
    return value


def _typed(value: Any, hint: Any, where: str) -> Any:
    """``value`` (from JSON) as the type ``hint`` names; MessageError when it is not one."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        if isinstance(value, dict) and set(value) == {"path"} and Path in args:
            return Path(str(value["path"]))
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _typed(value, arg, where)
            except MessageError:
                continue
        raise MessageError(f"message field {where}: {value!r} is not a {hint}")
    if origin is tuple:
        if not isinstance(value, list):
            raise MessageError(f"message field {where}: a list was expected")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_typed(item, args[0], where) for item in value)
        if len(args) != len(value):
            raise MessageError(f"message field {where}: {len(args)} values were expected")
        return tuple(_typed(item, arg, where) for item, arg in zip(value, args, strict=True))
    if origin in (Mapping, dict, typing.Mapping):
        if not isinstance(value, dict):
            raise MessageError(f"message field {where}: a mapping was expected")
        mapping = {str(k): _typed(v, args[1], where) for k, v in value.items()}
        return mapping if origin is dict else types.MappingProxyType(mapping)
    if hint is Path:
        if not isinstance(value, dict) or not isinstance(value.get("path"), str):
            raise MessageError(f"message field {where}: a path was expected")
        return Path(value["path"])
    if dataclasses.is_dataclass(hint):
        return _read(typing.cast(type, hint), value, where)
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if hint in (str, int, float, bool) and type(value) is hint:
        return value
    if hint is Any:
        return value
    raise MessageError(f"message field {where}: {value!r} is not a {getattr(hint, '__name__', hint)}")


def _read(kind: type[T], data: Any, where: str = "") -> T:
    """A dataclass from its JSON mapping, every field checked."""
    if not isinstance(data, dict):
        raise MessageError(f"message field {where or kind.__name__}: a mapping was expected")
    hints = typing.get_type_hints(kind)
    known = {f.name for f in fields(typing.cast(Any, kind)) if f.init}
    unknown = set(data) - known
    if unknown:
        raise MessageError(f"message field {where or kind.__name__}: unknown {', '.join(sorted(unknown))}")
    values = {name: _typed(value, hints[name], f"{where}.{name}".lstrip(".")) for name, value in data.items()}
    try:
        return kind(**values)
    except TypeError as error:
        raise MessageError(f"message {kind.__name__}: {error}") from None


def clip_message(job: ClipJob, config: Config, run: str) -> dict[str, Any]:
    """The message for one clip (JSON data)."""
    return {"version": VERSION, "run": run, "job": _plain(job), "config": _plain(replace(config, run_tag=""))}


def read_message(data: Any) -> ClipMessage:
    """A message back into a job and its settings; MessageError when it is of another version or not one."""
    if not isinstance(data, dict):
        raise MessageError("not a clipper message")
    if data.get("version") != VERSION:
        raise MessageError(f"the message is of version {data.get('version')!r}; this worker reads version {VERSION}:"
                           " run the same clipper on every machine")  # fmt: skip
    run = data.get("run")
    if not isinstance(run, str) or not run.isalnum():
        raise MessageError("the message names no run")
    job = _read(ClipJob, data.get("job"), "job")
    config = _read(Config, data.get("config"), "config")
    problem = name_problem(config.output_dir, job.output)
    if problem is not None or not config.output_dir.is_absolute():
        raise MessageError(f"the clip's name cannot be used: {problem or 'the output folder is not absolute'}")
    try:  # the checks the submitter's config passed, again: a message is not trusted more than a config file
        config = config.with_overrides().with_yt_dlp_args([])
    except ClipperError as error:
        raise MessageError(f"the message's settings: {error.message}") from None
    return ClipMessage(run, job, config)


def result_data(result: ClipResult, worker: str) -> dict[str, Any]:
    """What a worker reports of a clip it made (or could not): its result and the job as it was cut."""
    return {"version": VERSION, **_plain(replace(result, worker=worker))}


def read_result(data: Any) -> ClipResult:
    """A worker's report back into a ClipResult."""
    if not isinstance(data, dict) or data.get("version") != VERSION:
        raise MessageError("a result of another clipper version")
    return _read(ClipResult, {key: value for key, value in data.items() if key != "version"}, "result")
