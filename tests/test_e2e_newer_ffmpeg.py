"""Smart cuts made by a newer ffmpeg than the system's: the static build in the imageio-ffmpeg wheel (9.0 when
written; macOS and Windows users have 7 and later), on PATH ahead of the system's; ffprobe stays the system's.

Options and muxers changed after ffmpeg 5: ``-enc_time_base -1`` is refused, ``setts`` runs in the encoder's time
base, the ``rotate`` tag is ignored, hvc1 samples lose their in-band parameter sets, the MP4 edit list is exact.
Each test here failed on one of those. The sources are made by the system's ffmpeg; the clips are checked with it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from test_e2e_smart import Cutter, Source, assert_copied, assert_frame_exact, cutter, h264
from test_e2e_smart_codecs import codec_of, hevc_open
from test_e2e_smart_picture import (
    assert_upright,
    frame_times,
    portrait,
    rotation_of,
    variable_rate,
    variable_rate_decode_errors,
)

pytestmark = pytest.mark.slow
imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg", reason="the test extras bring a newer ffmpeg (imageio-ffmpeg)")

__all__ = ["h264", "hevc_open", "portrait", "variable_rate"]  # the sources, made in this module's folder


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("newer-ffmpeg")


@pytest.fixture(scope="module")
def newer(folder: Path) -> dict[str, str]:
    """An environment whose ``ffmpeg`` is the wheel's (7 or later)."""
    tools = folder / "bin"
    tools.mkdir()
    name = "ffmpeg.exe" if os.name == "nt" else "ffmpeg"
    shutil.copy(imageio_ffmpeg.get_ffmpeg_exe(), tools / name)
    env = {**os.environ, "PATH": f"{tools}{os.pathsep}{os.environ.get('PATH', '')}"}
    banner = subprocess.run(["ffmpeg", "-version"], env=env, capture_output=True, text=True, check=True).stdout
    found = re.match(r"ffmpeg version n?(\d+)", banner)
    assert found and int(found.group(1)) >= 7, banner.splitlines()[0]
    return env


@pytest.fixture(scope="module")
def cut(folder: Path, newer: dict[str, str]) -> Cutter:
    return cutter(folder, newer)


def test_an_h264_clip_with_b_frames_is_smart_cut_frame_exact(cut: Cutter, h264: Source) -> None:
    clip = cut(h264.path, 4.04, 27.36)  # a head before the keyframe at 6 s, copied to 26 s, then a tail

    assert clip.mode == "smart", clip.log
    assert_frame_exact(clip, h264, 583)
    assert_copied(clip, h264, 49, 0.9)


def test_a_portrait_clip_keeps_its_rotation(cut: Cutter, portrait: Source) -> None:
    clip = cut(portrait.path, 4.04, 15.36)

    assert clip.mode == "smart", clip.log
    assert rotation_of(clip.path) == rotation_of(portrait.path)
    assert_upright(clip, portrait)


def test_an_open_gop_hevc_clip_keeps_the_copied_frames_parameter_sets(cut: Cutter, hevc_open: Source) -> None:
    clip = cut(hevc_open.path, 4.04, 15.36)

    assert clip.mode == "smart", clip.log  # hvc1 would have lost them: the seam check fails, and it re-encodes
    assert_frame_exact(clip, hevc_open, 283)
    assert codec_of(clip.path)[:2] == ("hevc", "hev1")


def test_a_variable_frame_rate_clip_keeps_its_last_frame(cut: Cutter, variable_rate: Callable[[str], Path]) -> None:
    path = variable_rate("jittered-30-fps")
    clip = cut(path, 1.0, 3.4)

    assert clip.mode == "smart", clip.log
    assert variable_rate_decode_errors(clip.path) == ""
    expected = [time - 1.0 for time in frame_times(path) if 1.0 <= time < 3.4]
    shown = subprocess.run(["ffmpeg", "-v", "error", "-i", str(clip.path), "-map", "0:v", "-f", "framemd5", "-"],
                           capture_output=True, text=True, check=True).stdout  # fmt: skip
    assert len([line for line in shown.splitlines() if line and not line.startswith("#")]) == len(expected) == 72
