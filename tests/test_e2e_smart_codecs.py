"""End to end: smart cut beyond H.264 and VP9: HEVC (open GOP with B-frames, as x265 makes it by default;
closed GOP at 10 bits) and AV1 (SVT-AV1 with Opus in WebM, into WebM and MP4). Every clip is decoded and
compared with its source frame by frame; the mode must be smart and the copied frames bit-identical."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from media import make_media
from test_e2e_smart import SIZE, Cutter, Source, assert_copied, assert_frame_exact, cutter, identical, source

pytestmark = pytest.mark.slow

SECONDS = 30
GOP = 50


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("smart-codecs")


@pytest.fixture(scope="module")
def cut(folder: Path) -> Cutter:
    return cutter(folder)


def x265(params: str) -> list[str]:
    params = f"log-level=error:keyint={GOP}:min-keyint={GOP}:scenecut=0:{params}"
    return ["-preset", "ultrafast", "-x265-params", params, "-tag:v", "hvc1"]


@pytest.fixture(scope="module")
def hevc_open(folder: Path) -> Source:
    """HEVC as x265 makes it by default: open GOPs (CRA keyframes with leading pictures), 3 B-frames."""
    path = make_media(folder / "hevc-open.mp4", seconds=SECONDS, size=SIZE, vcodec="libx265", extra=x265("bframes=3"))
    return source(path, 25.0, GOP)


@pytest.fixture(scope="module")
def hevc_10bit(folder: Path) -> Source:
    """10-bit HEVC (Main 10), closed GOPs, B-frames."""
    extra = [*x265("bframes=3:open-gop=0"), "-pix_fmt", "yuv420p10le"]
    return source(
        make_media(folder / "hevc10.mp4", seconds=SECONDS, size=SIZE, vcodec="libx265", extra=extra), 25.0, GOP
    )


@pytest.fixture(scope="module")
def av1(folder: Path) -> Source:
    """AV1 (SVT-AV1) and Opus in WebM, a keyframe every 2 s."""
    path = make_media(folder / "av1.webm", seconds=SECONDS, size=SIZE, vcodec="libsvtav1", acodec="libopus",
                      extra=["-preset", "12", "-svtav1-params", "scd=0"])  # fmt: skip
    return source(path, 25.0, GOP)


def codec_of(path: Path) -> tuple[str, str, str]:
    """(codec, tag, pixel format) of the first video stream."""
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                          "stream=codec_name,codec_tag_string,pix_fmt", "-of", "json", str(path)],
                         check=True, capture_output=True, text=True).stdout  # fmt: skip
    stream = json.loads(out)["streams"][0]
    return stream["codec_name"], stream["codec_tag_string"], stream["pix_fmt"]


# (start, end, frames, frames before the first keyframe, minimum bit-identical share or None for short clips)
CLIPS = {
    "one-frame-after-a-keyframe": (4.04, 15.36, 283, 49, 0.8),
    "one-frame-before-a-keyframe": (3.96, 16.0, 301, 1, 0.9),
    "shorter-than-a-gop": (4.2, 5.6, 35, 35, None),
    "to-the-end": (22.52, 30.0, 187, 37, 0.75),
}


@pytest.mark.parametrize(("start", "end", "frames", "head", "share"), CLIPS.values(), ids=CLIPS.keys())
def test_open_gop_hevc_clips_are_smart_cut_frame_exact(
    cut: Cutter, hevc_open: Source, start: float, end: float, frames: int, head: int, share: float | None
) -> None:
    clip = cut(hevc_open.path, start, end)

    assert_frame_exact(clip, hevc_open, frames)
    assert clip.mode == "smart", clip.log
    assert_copied(clip, hevc_open, head, share)
    assert codec_of(clip.path)[:2] == ("hevc", "hev1" if clip.encodes else "hvc1")  # x265's sets join in-band


def test_an_hevc_clip_on_a_keyframe_is_copied_from_its_first_frame(cut: Cutter, hevc_open: Source) -> None:
    clip = cut(hevc_open.path, 4.0, 10.0)

    assert_frame_exact(clip, hevc_open, 150)
    assert clip.mode == "smart"
    assert not any(".head." in line for line in clip.encodes)
    # It ends just before the next open GOP's keyframe: its last frames are that keyframe's leading pictures,
    # which cannot be copied without it (outside the clip), so they are re-encoded; the rest is the source.
    assert_copied(clip, hevc_open, 0, None)


@pytest.mark.parametrize(("start", "end", "frames", "head", "share"), CLIPS.values(), ids=CLIPS.keys())
def test_10_bit_hevc_clips_stay_10_bit_and_are_smart_cut(
    cut: Cutter, hevc_10bit: Source, start: float, end: float, frames: int, head: int, share: float | None
) -> None:
    clip = cut(hevc_10bit.path, start, end)

    assert_frame_exact(clip, hevc_10bit, frames)
    assert clip.mode == "smart", clip.log
    assert_copied(clip, hevc_10bit, head, share)
    assert codec_of(clip.path) == ("hevc", "hev1" if clip.encodes else "hvc1", "yuv420p10le")


@pytest.mark.parametrize("suffix", [".webm", ".mp4"])
@pytest.mark.parametrize(("start", "end", "frames", "head", "share"), CLIPS.values(), ids=CLIPS.keys())
def test_av1_clips_are_smart_cut_frame_exact(
    cut: Cutter, av1: Source, suffix: str, start: float, end: float, frames: int, head: int, share: float | None
) -> None:
    clip = cut(av1.path, start, end, suffix)

    assert_frame_exact(clip, av1, frames)
    assert clip.mode == "smart", clip.log
    assert_copied(clip, av1, head, share)
    assert codec_of(clip.path)[0] == "av1"


def test_an_av1_clip_on_a_keyframe_is_copied_whole(cut: Cutter, av1: Source) -> None:
    clip = cut(av1.path, 4.0, 10.0, ".webm")

    assert (clip.mode, clip.encodes) == ("smart", [])
    assert all(identical(clip, av1))


@pytest.fixture(scope="module")
def av1_ntsc(folder: Path) -> Source:
    """AV1 in MP4 at 30000/1001 fps (a keyframe every 60 frames): timestamps Matroska would round to 1 ms."""
    path = make_media(folder / "av1-ntsc.mp4", seconds=12, size=SIZE, rate="30000/1001", gop=60,
                      vcodec="libsvtav1", extra=["-preset", "12", "-svtav1-params", "scd=0"])  # fmt: skip
    return source(path, 30000 / 1001, 60)


def test_an_ntsc_rate_av1_clip_keeps_its_exact_timestamps(cut: Cutter, av1_ntsc: Source) -> None:
    clip = cut(av1_ntsc.path, 4.037, 10.043)  # frames 121..300 (at n * 1001/30000 s): one after the keyframe at 120

    assert_frame_exact(clip, av1_ntsc, 180)
    assert clip.mode == "smart", clip.log
    assert_copied(clip, av1_ntsc, 59, 0.6)
    durations = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                                "packet=duration", "-of", "csv=p=0", str(clip.path)],
                               check=True, capture_output=True, text=True).stdout.split()  # fmt: skip
    assert set(durations) == {"1001"}, sorted(set(durations))  # every frame 1001/30000 s, none rounded


HDR10 = "master-display=G(13250,34500)B(7500,3000)R(34000,16000)WP(15635,16450)L(10000000,1):max-cll=1000,400"


@pytest.fixture(scope="module")
def hevc_hdr10(folder: Path) -> Source:
    """HDR10 HEVC as x265 makes it: Main 10, BT.2020 with PQ, mastering display and content light level SEI."""
    colour = ["-color_primaries", "bt2020", "-color_trc", "smpte2084", "-colorspace", "bt2020nc"]
    extra = [*x265(f"bframes=3:hdr10=1:{HDR10}"), "-pix_fmt", "yuv420p10le", *colour]
    path = make_media(folder / "hdr10.mp4", seconds=8, size=SIZE, vcodec="libx265", extra=extra)
    return source(path, 25.0, GOP)


def first_frame_side_data(path: Path) -> list[dict[str, object]]:
    """The side data of the first video frame (ffprobe's), without the encoder's own user data."""
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-read_intervals", "%+#1",
                          "-show_frames", "-show_entries", "frame=side_data_list", "-of", "json", str(path)],
                         check=True, capture_output=True, text=True).stdout  # fmt: skip
    items = json.loads(out)["frames"][0].get("side_data_list", [])
    return [item for item in items if "User Data" not in item["side_data_type"]]


def test_an_hdr10_clip_carries_its_mastering_display_and_light_levels_from_frame_0(
    cut: Cutter, hevc_hdr10: Source
) -> None:
    clip = cut(hevc_hdr10.path, 1.2, 5.6)  # a re-encoded head of 20 frames, then the keyframe at 2 s

    assert_frame_exact(clip, hevc_hdr10, 110)
    assert clip.mode == "smart", clip.log
    assert any("-c:v libx265" in line for line in clip.encodes), clip.log
    wanted = first_frame_side_data(hevc_hdr10.path)
    assert {item["side_data_type"] for item in wanted} == {"Mastering display metadata",
                                                           "Content light level metadata"}  # fmt: skip
    assert first_frame_side_data(clip.path) == wanted
    assert codec_of(clip.path)[2] == "yuv420p10le"
