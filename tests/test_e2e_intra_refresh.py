"""End to end: H.264 with intra refresh (x264 ``intra-refresh``): after its first IDR no keyframe is a whole
picture (a column of intra blocks sweeps across P pictures; demuxers mark where each sweep starts as a keyframe).
Every mode must make a clip whose first frame is the source's at the start, decoded against the source."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
from media import make_media
from test_e2e_smart import Cutter, Source, assert_frame_exact, cutter
from verify import check_clip, distance, frame_md5s, run_clipper, thumbnails

pytestmark = pytest.mark.slow

KEYINT = 250  # a sweep starts every 10 s; it takes about 40 frames at this width (more than the 1 s decode lead)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("intra-refresh")


@pytest.fixture(scope="module")
def cut(folder: Path) -> Cutter:
    return cutter(folder)


@pytest.fixture(scope="module")
def refreshing(folder: Path) -> Source:
    extra = ["-preset", "veryfast", "-g", str(KEYINT), "-x264-params", "intra-refresh=1"]
    path = make_media(folder / "refresh.mp4", seconds=14, size="320x180", extra=extra)
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "packet=pts_time,flags",
                          "-of", "csv=p=0", str(path)], check=True, capture_output=True, text=True).stdout  # fmt: skip
    keyframes = [float(line.split(",")[0]) for line in out.split() if "K" in line]
    assert len(keyframes) == 2 and 9.9 < keyframes[1] < 10.2, keyframes  # the IDR, then one refresh point
    return Source(path, 25.0, KEYINT, thumbnails(path), frame_md5s(path))


@pytest.mark.parametrize("mode", ["smart", "reencode", "copy"])
def test_an_intra_refresh_clip_starts_on_a_whole_picture_in_every_mode(
    cut: Cutter, refreshing: Source, mode: str
) -> None:
    """A start 1.2 s after the refresh point: a decode that starts on it has no whole picture yet (ffmpeg shows
    nothing until the sweep ends, about 1.7 s in), a copy from it starts with a smeared one."""
    clip = cut(refreshing.path, 11.2, 13.6, mode=mode)

    check = assert_frame_exact(clip, refreshing, 60)
    assert check.first_error == 0
    first = thumbnails(clip.path)[0]
    assert distance(first, refreshing.thumbs[280]) < 20, distance(first, refreshing.thumbs[280])
    assert clip.mode == "reencode", clip.log  # no keyframe to copy from: re-encoded whole
    if mode == "copy":
        assert "intra refresh point" in clip.log, clip.log
    if mode == "smart":
        assert "from the keyframe before its intra refresh point" in clip.log, clip.log


def clips_note(path: Path, source: Path, ranges: list[str]) -> Path:
    """A note (with a clipper.yaml beside it naming ``source``) with one highlight per range."""
    url = "https://www.youtube.com/watch?v=intraRefrsh"
    highlights = "".join(f'\n### "Moment {number}"\n\n```bash\nyt-dlp --download-sections "*{time_range}" "{url}" '
                         f'-o "clip{number}.mp4"\n```\n' for number, time_range in enumerate(ranges))  # fmt: skip
    path.mkdir(parents=True, exist_ok=True)
    (path / "note.md").write_text(f'---\nvideo_id: intraRefrsh\ntitle: "A note"\nurl: {url}\n---\n\n## Highlights\n'
                                  f"{highlights}")  # fmt: skip
    (path / "clipper.yaml").write_text(f"output_dir: out\nsources:\n  intraRefrsh: {json.dumps(str(source))}\n")
    return path


def ffmpeg_runs(folder: Path) -> tuple[dict[str, str], Path]:
    """A script in front of ffmpeg (first on PATH) that keeps each run's command line: (environment, where)."""
    tools, seen = folder / "bin", folder / "seen"
    tools.mkdir()
    seen.mkdir()
    real = shutil.which("ffmpeg")
    (tools / "ffmpeg").write_text(f'#!/bin/sh\ncat /proc/$$/cmdline > "{seen}/$$"\nexec "{real}" "$@"\n')
    (tools / "ffmpeg").chmod(0o755)
    return {**os.environ, "PATH": f"{tools}{os.pathsep}{os.environ['PATH']}"}, seen


def is_keyframe_read(argv: list[str]) -> bool:
    """Whether an ffmpeg command line is a read of one keyframe (an intra refresh check), not a cut."""
    return "h264_mp4toannexb" in argv and "-frames:v" in argv and argv[argv.index("-frames:v") + 1] == "1"


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="reads each run's command line from /proc")
@pytest.mark.parametrize(("mode", "reads"), [("reencode", 1), ("copy", 1), ("smart", 0)])
def test_an_ordinary_h264_source_is_checked_for_intra_refresh_once_not_per_clip(
    tmp_path: Path, mode: str, reads: int
) -> None:
    """Three clips of a source without intra refresh: one small read of its second keyframe tells it (logged with
    -v like every command), no read per clip; a smart cut that copies reads none."""
    source = make_media(tmp_path / "plain.mp4", seconds=12, size="160x90", gop=50)
    notes = clips_note(tmp_path / "notes", source, ["0:02-0:03", "0:04-0:06", "0:08-0:10"])
    env, seen = ffmpeg_runs(tmp_path)

    result = run_clipper("-v", "batch", str(notes / "note.md"), "--config", str(notes / "clipper.yaml"),
                         "--mode", mode, "--no-gallery", "--jobs", "3", cwd=tmp_path, env=env)  # fmt: skip

    assert result.returncode == 0, result.stderr
    runs = [path.read_bytes().decode().split("\0")[:-1] for path in seen.iterdir()]
    assert len([argv for argv in runs if is_keyframe_read(argv)]) == reads, runs  # the source's, once
    logged = [line for line in result.stderr.splitlines() if line[:2] == "$ " and is_keyframe_read(shlex.split(line))]
    assert len(logged) == reads, result.stderr
    cuts = [argv for argv in runs if not is_keyframe_read(argv) and f"file:{source}" in argv]
    assert len(cuts) == 3 or mode == "smart", cuts
    for number, (start, end) in enumerate([(2.0, 3.0), (4.0, 6.0), (8.0, 10.0)]):
        check = check_clip(notes / "out" / f"clip{number}.mp4", thumbnails(source), start, end, 25.0)
        assert check.first_error == 0 and abs(check.last_error) <= 1, check


def commands(lines: list[str], source: Path) -> list[tuple[str, str]]:
    """(the seek, the video codec) of each command that cuts ``source``."""
    found = []
    for line in lines:
        argv = shlex.split(line)
        if argv and argv[0] == "ffmpeg" and f"file:{source}" in argv and not is_keyframe_read(argv) and "-c:v" in argv:
            found.append((argv[argv.index("-ss") + 1], argv[argv.index("-c:v") + 1]))
    return sorted(found)


@pytest.mark.parametrize("mode", ["reencode", "copy"])
def test_the_dry_run_of_an_intra_refresh_source_prints_what_the_run_runs(
    tmp_path: Path, refreshing: Source, mode: str
) -> None:
    """The dry run reads the source as the run does: its script seeks and encodes as the run (from the keyframe
    before the refresh point), and makes the clip whole as printed."""
    notes = clips_note(tmp_path / "notes", refreshing.path, ["0:11.2-0:13.6", "0:02-0:04"])
    args = ["batch", str(notes / "note.md"), "--config", str(notes / "clipper.yaml"), "--mode", mode, "--no-gallery"]

    dry = run_clipper(*args, "--dry-run", cwd=tmp_path)
    ran = run_clipper("-v", *args, "-o", str(tmp_path / "run-out"), cwd=tmp_path)

    assert dry.returncode == 0 and ran.returncode == 0, dry.stderr + ran.stderr
    printed = commands(dry.stdout.splitlines(), refreshing.path)
    assert printed == commands([line[2:] for line in ran.stderr.splitlines() if line.startswith("$ ")], refreshing.path)
    seek, codec = max(printed, key=lambda command: float(command[0]))  # the clip after the refresh point
    assert len(printed) == 2 and float(seek) < 10.0 and codec.startswith("lib"), printed  # the keyframe before
    script = tmp_path / "clips.sh"
    script.write_text(dry.stdout)
    scripted = subprocess.run(["sh", str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert scripted.returncode == 0, scripted.stderr[-3000:]
    first = thumbnails(notes / "out" / "clip0.mp4")[0]
    assert distance(first, refreshing.thumbs[280]) < 20, distance(first, refreshing.thumbs[280])
