"""What `clipper mcp` does for each tool, without the protocol (clipper/cli/mcp_server.py serves these): the
config loaded as the commands load it, then the same planning and running as plan, cut, batch and list. Each
answer is JSON-able data and the lines the command line would print for its problems; a call that cannot be
done at all raises ClipperError (ArgumentError for a wrong argument), never exits."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from clipper.cli.batch import clip_counts, failure_lines, make_clips, write_gallery
from clipper.cli.console import error_line
from clipper.cli.cut import cut_job
from clipper.cli.listing import list_entries, plan_entries
from clipper.cli.options import load_command_config
from clipper.cli.planning import plan_notes, warn_lengths
from clipper.core.errors import ArgumentError, ClipperError
from clipper.core.text import printable
from clipper.plan.config import Config
from clipper.plan.jobs import ClipJob
from clipper.run.progress import Reporter

if TYPE_CHECKING:
    from clipper.run.manifest import ClipResult

# How the tools' arguments are spelled in the messages `clipper cut` words with its own flags.
TOOL_NAMES = {"source": "source", "range": "range", "output": "output", "highlight": "highlight",
              "plan": "the plan tool"}  # fmt: skip


@dataclass
class Answer:
    """A tool's result: its data, and a line for each problem (any makes the call an error, as exit status 1)."""

    data: dict[str, Any]
    problems: list[str] = field(default_factory=list)


def problem_line(error: ClipperError) -> str:
    """What the command line prints for ``error``; a wrong argument named as the tool's parameter."""
    if isinstance(error, ArgumentError) and error.param is not None:
        return error_line(f"Invalid value for {error.param}: {error.message}")
    return error_line(str(error))


def _path(text: str | None) -> Path | None:
    return None if text is None else Path(text).expanduser()


def _folder(text: str | None, param: str) -> Path | None:
    """A folder to write into or read from (as the commands' folder options take it): a file is refused."""
    path = _path(text)
    if path is not None and path.exists() and not path.is_dir():
        raise ArgumentError(f"Directory {text!r} is a file.", param)
    return path


def _existing(text: str, param: str) -> Path:
    """A path that must exist (as the commands' PATHS arguments must)."""
    path = Path(text).expanduser()
    if not path.exists():
        raise ArgumentError(f"Path {text!r} does not exist.", param)
    return path


class Tools:
    """The tools over one config file (or, without one, the config each command would find). Runs that make
    clips take turns: one at a time per server."""

    def __init__(self, config_path: Path | None) -> None:
        self.config_path = config_path
        self.running = threading.Lock()

    def _config(self, near: Sequence[Path] = (), **overrides: Any) -> Config:
        # Read again on every call: an edited config counts, a broken one is that call's error, not the server's.
        return load_command_config(self.config_path, near, **overrides)

    def plan(self, notes: str) -> Answer:
        """The clips the notes ask for, as `clipper plan --json` lists them."""
        paths = [_existing(notes, "notes")]
        config = self._config(paths)
        jobs, problems = plan_notes(paths, config)
        return Answer({"clips": plan_entries(jobs, config)}, [problem_line(p) for p in problems])

    def batch(self, notes: str, output_dir: str | None, reporter: Reporter) -> Answer:
        """Every clip of the notes, made as `clipper batch --json` makes them, and the gallery."""
        paths = [_existing(notes, "notes")]
        config = self._config(paths, output_dir=_folder(output_dir, "output_dir"))
        jobs, problems = plan_notes(paths, config, captions=True)
        warn_lengths(jobs, config)
        return self._make(jobs, config, reporter, [problem_line(p) for p in problems], gallery=True)

    def cut(self, source: str, time_range: str | None, output: str | None, highlight: int | None,
            reporter: Reporter) -> Answer:  # fmt: skip
        """One clip, as `clipper cut SOURCE RANGE [-o OUTPUT] [--highlight N]` makes it."""
        config = self._config([Path(source)])
        job, config, companions = cut_job(source, time_range, highlight, _path(output), config, TOOL_NAMES)
        warn_lengths([job], config)
        return self._make([job], config, reporter, [], companions=companions)

    def list_clips(self, output_dir: str | None = None) -> Answer:
        """The clips of an output folder (the config's by default), as `clipper list --json` lists them."""
        folder = _folder(output_dir, "output_dir") or self._config().output_dir
        entries, skipped = list_entries(folder)
        return Answer({"clips": entries, "output_dir": str(folder)}, [error_line(line) for line in skipped])

    def _make(self, jobs: list[ClipJob], config: Config, reporter: Reporter, problems: list[str], *,
              gallery: bool = False, companions: bool = True) -> Answer:  # fmt: skip
        from clipper.run.manifest import manifest_entry

        with self.running:
            results = make_clips(jobs, config, reporter, companions=companions)
            page, gallery_problems = write_gallery(results, config, reporter) if gallery else (None, [])
        data = {
            "clips": [manifest_entry(result, config) for result in results],
            "summary": {**clip_counts(results), "output_dir": str(config.output_dir)},
            "gallery": None if page is None else str(page),
        }
        return Answer(data, [*problems, *_failures(results), *(error_line(line) for line in gallery_problems)])


def _failures(results: Sequence[ClipResult]) -> list[str]:
    return [printable(line.strip()) for line in failure_lines(results)]
