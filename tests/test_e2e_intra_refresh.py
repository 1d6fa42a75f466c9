"""End to end: H.264 with intra refresh (x264 ``intra-refresh``): after its first IDR no keyframe is a whole
picture (a column of intra blocks sweeps across P pictures; demuxers mark where each sweep starts as a keyframe).
Every mode must make a clip whose first frame is the source's at the start, decoded against the source."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from media import make_media
from test_e2e_smart import Cutter, Source, assert_frame_exact, cutter
from verify import distance, frame_md5s, thumbnails

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
