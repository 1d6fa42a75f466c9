"""Start-up: `clipper --help` and `clipper plan` must not load what only fetching, cutting or bars need.

Each case runs clipper in a fresh interpreter and lists the modules it imported (no timing: the list
is what decides the start-up time, and it does not depend on how busy the machine is).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
EXAMPLE = Path(__file__).parent / "u3HBJVjpXuw.md"
# Loaded only to fetch (yt-dlp and what it pulls in), to write captions, or to draw bars.
HEAVY = (
    "yt_dlp",
    "pysubs2",
    "tqdm",
    "requests",
    "urllib3",
    "Cryptodome",
    "websockets",
    "http.server",
    "dramatiq",
    "redis",
    "mcp",
    "anyio",
    "pydantic",
)
# clipper's own modules that only running clips needs: help text loads none of them.
RUN_ONLY = {
    "clipper.run.pool",
    "clipper.fetch.ytdlp_argv",
    "clipper.fetch.youtubedl",
    "clipper.fetch.downloader_guard",
    "clipper.fetch.resolve",
    "clipper.fetch.download",
    "clipper.fetch.cache",
    "clipper.fetch.failures",
    "clipper.media.ffmpeg",
    "clipper.media.smart_args",
    "clipper.run.outputs",
    "clipper.run.steps",
    "clipper.fetch.relay",
}

# Runs clipper's entry point as `clipper ARGS...` would, then writes the imported modules' names to a file.
WRAPPER = """
import atexit, json, sys
out = sys.argv[1]
atexit.register(lambda: open(out, "w").write(json.dumps(sorted(sys.modules))))
if sys.argv[2:] == ["--import-only"]:
    import clipper.cli.main
else:
    from clipper.cli.main import main
    sys.exit(main(sys.argv[2:]))
"""


def imported(args: list[str], cwd: Path, tmp_path: Path) -> tuple[set[str], subprocess.CompletedProcess[str]]:
    """The modules a fresh `clipper ARGS` imports (run from ``cwd``), and the finished process."""
    listing = tmp_path / "modules.json"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run(
        [sys.executable, "-c", WRAPPER, str(listing), *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    return set(json.loads(listing.read_text())), result


def heavy_among(modules: set[str]) -> list[str]:
    return sorted(name for name in modules if name.split(".")[0] in HEAVY or name in HEAVY)


@pytest.fixture
def notes(tmp_path: Path) -> Path:
    """A folder of notes: the example, and one with the forms read by yt-dlp's duration parser."""
    folder = tmp_path / "notes"
    folder.mkdir()
    shutil.copyfile(EXAMPLE, folder / "u3HBJVjpXuw.md")
    text = EXAMPLE.read_text(encoding="utf-8").replace("u3HBJVjpXuw", "aaaaaaaaaaa")
    (folder / "aaaaaaaaaaa.md").write_text(text.replace("duration: 699", 'duration: "11:39"'), encoding="utf-8")
    return folder


def test_import_cli_loads_nothing_heavy(tmp_path: Path) -> None:
    modules, result = imported(["--import-only"], tmp_path, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "clipper.cli.main" in modules
    assert heavy_among(modules) == []
    assert sorted(RUN_ONLY & modules) == []


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["plan", "--help"],
        ["batch", "--help"],
        ["cut", "--help"],
        ["doctor", "--help"],
        ["mcp", "--help"],
        ["--version"],
    ],
)
def test_help_loads_nothing_heavy(args: list[str], tmp_path: Path) -> None:
    modules, result = imported(args, tmp_path, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Usage:" in result.stdout or "version" in result.stdout
    assert heavy_among(modules) == []
    assert sorted(RUN_ONLY & modules) == []


@pytest.mark.parametrize("as_json", [False, True])
def test_plan_examples_loads_nothing_heavy(as_json: bool, tmp_path: Path) -> None:
    modules, result = imported(["plan", str(EXAMPLES), *(["--json"] if as_json else [])], tmp_path, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "clipper-example-0m25s.mp4" in result.stdout
    assert heavy_among(modules) == []


def test_plan_folder_loads_nothing_heavy(notes: Path, tmp_path: Path) -> None:
    modules, result = imported(["plan", str(notes)], tmp_path, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "aaaaaaaaaaa-0m38s.mp4" in result.stdout and "u3HBJVjpXuw-10m34s.mp4" in result.stdout
    assert heavy_among(modules) == []


def test_a_clip_command_yt_dlp_must_read_still_loads_its_parser(notes: Path, tmp_path: Path) -> None:
    """An option spelled other than in full (here a prefix) is resolved by yt-dlp's own parser, as before."""
    note = notes / "u3HBJVjpXuw.md"
    note.write_text(note.read_text(encoding="utf-8").replace("--force-keyframes-at-cuts", "--force-key"), "utf-8")
    modules, result = imported(["plan", str(note)], tmp_path, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "yt_dlp.options" in modules
