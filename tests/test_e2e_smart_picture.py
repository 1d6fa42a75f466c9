"""End to end: a clip keeps its source's picture in every mode: a phone's rotation (display matrix), H.264's
higher bit depths and chroma formats (High 10, High 4:2:2, High 4:4:4), its colour description, and a variable
frame rate's own timestamps. Every clip is decoded and compared with its source frame by frame."""

from __future__ import annotations

import itertools
import json
import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from media import make_media
from test_e2e_smart import SIZE, Clip, Cutter, Source, assert_copied, assert_frame_exact, cutter, identical, source
from verify import THUMB_H, THUMB_W, nearest_frame

from clipper.media import probe
from clipper.media.ffmpeg import has_display_rotation

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("smart-picture")


@pytest.fixture(scope="module")
def cut(folder: Path) -> Cutter:
    return cutter(folder)


def video_stream(path: Path) -> dict[str, Any]:
    """ffprobe's first video stream: size as stored, pixel format, profile, colour, display matrix."""
    entries = "stream=width,height,pix_fmt,profile,color_space,color_primaries,color_transfer,color_range"
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", entries + ":stream_side_data",
         "-of", "json", str(path)],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    stream: dict[str, Any] = json.loads(out)["streams"][0]
    return stream


def rotation_of(path: Path) -> int | None:
    """The display matrix's rotation as ffprobe reports it (None without a matrix)."""
    matrices = [data for data in video_stream(path).get("side_data_list", []) if "rotation" in data]
    return int(matrices[0]["rotation"]) if matrices else None


def decoded_sizes(path: Path) -> list[str]:
    """The size of every frame as a player shows it: ffmpeg decodes with the display matrix applied."""
    result = subprocess.run(
        ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "info", "-i", str(path), "-an", "-vf", "showinfo",
         "-f", "null", "-"],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return re.findall(r"showinfo.* n: *\d+ .* s:(\d+x\d+) ", result.stderr)


# --- rotation: a phone's portrait video ------------------------------------------------------------------


@pytest.fixture(scope="module")
def portrait(folder: Path) -> Source:
    """A phone's portrait video: pixels stored landscape (160x90) with a display matrix turning them a
    quarter, so players show 90x160. ffmpeg 5.1 makes the matrix from the MP4 muxer's ``rotate`` tag."""
    landscape = make_media(folder / "landscape.mp4", seconds=20, size=SIZE, gop=50, bframes=3,
                           extra=["-preset", "veryfast"])  # fmt: skip
    path = folder / "portrait.mp4"
    # ffmpeg 6 and later: the input option -display_rotation (7 and later ignore the rotate tag)
    turn = ["-display_rotation:v:0", "90"] if has_display_rotation() else []
    subprocess.run(["ffmpeg", "-v", "error", "-y", *turn, "-i", str(landscape), "-map", "0", "-c", "copy",
                    *([] if turn else ["-metadata:s:v:0", "rotate=90"]), str(path)], check=True)  # fmt: skip
    stored = video_stream(path)
    assert (stored["width"], stored["height"]) == (160, 90)
    assert rotation_of(path) in (90, -90)
    assert set(decoded_sizes(path)) == {"90x160"}
    return source(path, 25.0, 50)


def assert_upright(clip: Clip, portrait: Source) -> None:
    """Every frame of the clip is shown the size (so the way up) the source's frames are shown."""
    sizes = decoded_sizes(clip.path)
    assert sizes and set(sizes) == set(decoded_sizes(portrait.path)) == {"90x160"}, (clip.mode, sorted(set(sizes)))


def test_a_portrait_smart_clip_is_upright_throughout_and_keeps_its_rotation(cut: Cutter, portrait: Source) -> None:
    clip = cut(portrait.path, 4.04, 15.36)  # 49 frames re-encoded before the keyframe at 6 s, then copied

    assert clip.mode == "smart", clip.log
    assert_frame_exact(clip, portrait, 283)
    assert_upright(clip, portrait)
    stored = video_stream(clip.path)
    assert (stored["width"], stored["height"]) == (160, 90)  # the copied packets, as stored
    assert rotation_of(clip.path) == rotation_of(portrait.path)
    assert_copied(clip, portrait, 49, 0.8)


def test_a_portrait_clip_on_a_keyframe_is_copied_whole_with_its_rotation(cut: Cutter, portrait: Source) -> None:
    clip = cut(portrait.path, 4.0, 8.0)

    assert clip.mode == "smart"
    assert clip.encodes == []
    assert_frame_exact(clip, portrait, 100)
    assert_upright(clip, portrait)
    assert rotation_of(clip.path) == rotation_of(portrait.path)
    assert all(identical(clip, portrait))


def test_a_portrait_copy_mode_clip_keeps_its_rotation(cut: Cutter, portrait: Source) -> None:
    clip = cut(portrait.path, 5.0, 9.0, mode="copy")

    assert clip.mode == "copy"
    assert_upright(clip, portrait)
    assert rotation_of(clip.path) == rotation_of(portrait.path)
    from_keyframe = Clip(clip.path, 4.0, 9.0, clip.mode, [], "")  # copy starts at the keyframe before 5 s
    assert all(identical(from_keyframe, portrait))


def test_a_reencoded_portrait_clip_is_turned_upright_without_a_matrix(cut: Cutter, portrait: Source) -> None:
    clip = cut(portrait.path, 4.04, 9.36, mode="reencode")

    assert clip.mode == "reencode"
    assert_frame_exact(clip, portrait, 133)
    assert_upright(clip, portrait)
    stored = video_stream(clip.path)
    assert (stored["width"], stored["height"]) == (90, 160)  # turned while decoding: no matrix to apply
    assert rotation_of(clip.path) in (None, 0)


@pytest.fixture(scope="module")
def silent_portrait(portrait: Source) -> Source:
    """``portrait`` without its sound: re-encoded AAC in Matroska starts the picture 21 ms late (the encoder's
    priming, which Matroska cannot hold before 0), a frame early at 25 fps for a frame-by-frame comparison."""
    path = portrait.path.with_name("silent-portrait.mp4")
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(portrait.path), "-map", "0:v", "-c", "copy", str(path)],
                   check=True)  # fmt: skip
    assert rotation_of(path) == rotation_of(portrait.path)
    return source(path, portrait.fps, portrait.gop)


def test_a_portrait_clip_into_matroska_is_reencoded_upright(cut: Cutter, silent_portrait: Source) -> None:
    clip = cut(silent_portrait.path, 4.04, 9.36, ".mkv")  # ffmpeg 5.1 writes no rotation into Matroska

    assert clip.mode == "reencode"
    assert "matroska cannot hold the picture's rotation" in clip.log
    assert_frame_exact(clip, silent_portrait, 133)
    assert_upright(clip, silent_portrait)


# --- H.264 High 10, High 4:2:2, High 4:4:4 ---------------------------------------------------------------

# Later ffmpeg takes primaries and transfer from the frames, not the encoder's options: setparams sets them.
COLOUR = ["-colorspace", "bt709", "-color_primaries", "bt709", "-color_trc", "bt709", "-color_range", "tv",
          "-vf", "setparams=colorspace=bt709:color_primaries=bt709:color_trc=bt709:range=tv"]  # fmt: skip
HIGH_PROFILES = {
    "high10": ("yuv420p10le", "High 10"),
    "high422": ("yuv422p", "High 4:2:2"),
    "high422-10bit": ("yuv422p10le", "High 4:2:2"),
    "high444": ("yuv444p", "High 4:4:4 Predictive"),
    "high444-10bit": ("yuv444p10le", "High 4:4:4 Predictive"),
}


@pytest.fixture(scope="module")
def high(folder: Path) -> Callable[[str], Source]:
    """``high(pix_fmt)``: 12 s of 25 fps H.264 in that pixel format with B-frames, a keyframe every 2 s and a
    colour description (made once per pixel format)."""
    made: dict[str, Source] = {}

    def make(pix_fmt: str) -> Source:
        if pix_fmt not in made:
            path = make_media(folder / f"{pix_fmt}.mp4", seconds=12, size=SIZE, gop=50, bframes=3, pix_fmt=pix_fmt,
                              extra=["-preset", "veryfast", *COLOUR])  # fmt: skip
            made[pix_fmt] = source(path, 25.0, 50)
        return made[pix_fmt]

    return make


def picture(path: Path) -> tuple[str, str, str, str, str, str]:
    """(pixel format, profile, colour space, primaries, transfer, range) of the first video stream."""
    stream = video_stream(path)
    keys = ("pix_fmt", "profile", "color_space", "color_primaries", "color_transfer", "color_range")
    return tuple(str(stream.get(key)) for key in keys)  # type: ignore[return-value]


@pytest.mark.parametrize(("pix_fmt", "profile"), HIGH_PROFILES.values(), ids=HIGH_PROFILES.keys())
def test_high_profile_clips_are_smart_cut_frame_exact(
    cut: Cutter, high: Callable[[str], Source], pix_fmt: str, profile: str
) -> None:
    src = high(pix_fmt)
    assert picture(src.path) == (pix_fmt, profile, "bt709", "bt709", "bt709", "tv")
    clip = cut(src.path, 4.04, 9.36)  # one frame after a keyframe: 49 frames re-encoded, then copied

    assert clip.mode == "smart", clip.log
    assert clip.encodes and all(f"-pix_fmt {pix_fmt}" in line for line in clip.encodes), clip.encodes
    assert_frame_exact(clip, src, 133)
    assert_copied(clip, src, 49, 0.55)
    assert picture(clip.path) == picture(src.path)


def test_a_reencoded_10_bit_4_2_2_clip_stays_10_bit_4_2_2(cut: Cutter, high: Callable[[str], Source]) -> None:
    src = high("yuv422p10le")
    clip = cut(src.path, 4.04, 9.36, mode="reencode")

    assert clip.mode == "reencode"
    assert picture(clip.path) == ("yuv422p10le", "High 4:2:2", "bt709", "bt709", "bt709", "tv")
    assert_frame_exact(clip, src, 133)


# --- variable frame rate -----------------------------------------------------------------------------------


# Timestamps of a picture source whose rate changes: 30 fps for 3 s, then 25 fps (testsrc2 at 150 fps, every 5th
# then every 6th frame kept); and a phone-like one at 30 fps whose every third frame comes 12 ms late (its
# timestamps fit no constant rate: an encoder on the 1/avg-rate grid moves them).
VARIABLE_RATES = {
    "30-then-25-fps": ("testsrc2=size=160x90:rate=150:duration=6,select='if(lt(t,3),not(mod(n,5)),not(mod(n,6)))'",
                       "1:150", {0.0333, 0.04}),
    "jittered-30-fps": ("testsrc2=size=160x90:rate=30:duration=4,settb=1/3000,"
                        "setpts='(N/30+if(eq(mod(N,3),1),0.012,0))/TB'", "1:3000", {0.0453, 0.0213, 0.0333}),
}  # fmt: skip


@pytest.fixture(scope="module")
def variable_rate(folder: Path) -> Callable[[str], Path]:
    """``variable_rate(name)``: H.264 with AAC beeps, its frames at the timestamps ``VARIABLE_RATES[name]`` gives
    (passed through to the muxer)."""

    def make(name: str) -> Path:
        path = folder / f"variable-rate-{name}.mp4"
        if not path.exists():
            picture_source, time_base, _ = VARIABLE_RATES[name]
            subprocess.run(
                ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", picture_source,
                 "-f", "lavfi", "-i", "sine=frequency=1000:beep_factor=4:sample_rate=48000:duration=4",
                 "-c:v", "libx264", "-preset", "veryfast", "-g", "50", "-keyint_min", "50", "-x264-params",
                 "scenecut=0", "-fps_mode", "passthrough", "-enc_time_base", time_base, "-c:a", "aac", str(path)],
                check=True,
            )  # fmt: skip
        return path

    return make


def frame_times(path: Path) -> list[float]:
    """Presentation times of the video frames, in display order."""
    argv = ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "packet=pts_time", "-of", "csv=p=0"]
    out = subprocess.run([*argv, str(path)], check=True, capture_output=True, text=True).stdout.split()
    return sorted(float(line.strip(",")) for line in out if line.strip(","))


def every_frame(path: Path) -> list[bytes]:
    """Like ``thumbnails``, but each frame once: decoding to raw video at the stream's nominal rate (150 fps
    here) would repeat frames to fill it."""
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-an", "-vf", f"scale={THUMB_W}:{THUMB_H}:flags=area,format=gray",
         "-fps_mode", "passthrough", "-f", "rawvideo", "-"],
        check=True, capture_output=True,
    ).stdout  # fmt: skip
    return [raw[at : at + THUMB_W * THUMB_H] for at in range(0, len(raw), THUMB_W * THUMB_H)]


def variable_rate_decode_errors(path: Path) -> str:
    """``decode_errors`` for a variable-rate file: the decoded frames keep the file's time base (on ffmpeg's
    default grid of the frame rate, a jittered stream's frames round onto one tick and the null muxer
    complains of its own rounding)."""
    argv = ["ffmpeg", "-v", "error", "-i", str(path), "-enc_time_base", "1:1000000", "-f", "null", "-"]
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    return (result.stderr.strip() + (f"\n(exit status {result.returncode})" if result.returncode else "")).strip()


# (name, clip end, frames). The clips start at 0 and end just past a frame, where the next is more than a frame
# of the average rate away: clipper snaps the end to a constant grid of that rate, which then reaches no other.
VARIABLE_RATE_CLIPS = {
    "30-then-25-fps": ("30-then-25-fps", 3.961, 115),
    "jittered-30-fps": ("jittered-30-fps", 1.501, 46),
}


@pytest.mark.parametrize(("name", "end", "frames"), VARIABLE_RATE_CLIPS.values(), ids=VARIABLE_RATE_CLIPS.keys())
def test_a_variable_frame_rate_keeps_its_timestamps_when_reencoded(
    cut: Cutter, variable_rate: Callable[[str], Path], name: str, end: float, frames: int
) -> None:
    path = variable_rate(name)
    times = frame_times(path)
    assert {round(b - a, 4) for a, b in itertools.pairwise(times)} == VARIABLE_RATES[name][2]  # as made
    clip = cut(path, 0.0, end, mode="reencode")

    assert clip.mode == "reencode"
    assert variable_rate_decode_errors(clip.path) == ""
    expected = [time for time in times if time < end]
    assert len(expected) == frames
    got = frame_times(clip.path)
    assert len(got) == len(expected), (len(got), len(expected))
    assert all(abs(a - b) < 0.001 for a, b in zip(got, expected, strict=True)), list(zip(got, expected, strict=True))
    source_frames, clip_frames = every_frame(path), every_frame(clip.path)
    assert len(clip_frames) == len(expected)
    shown = [nearest_frame(frame, source_frames, index, 3) for index, frame in enumerate(clip_frames)]
    assert shown == list(range(len(expected))), shown


def test_a_jittered_frame_rate_is_smart_cut_with_its_own_timestamps(
    cut: Cutter, variable_rate: Callable[[str], Path]
) -> None:
    path = variable_rate("jittered-30-fps")
    times = frame_times(path)
    clip = cut(path, 1.0, 3.4)  # 20 frames re-encoded before the keyframe at 1.667 s (frame 50), then copied

    assert clip.mode == "smart", clip.log
    assert variable_rate_decode_errors(clip.path) == ""
    expected = [time - 1.0 for time in times if 1.0 <= time < 3.4]
    got = frame_times(clip.path)
    assert len(got) == len(expected) == 72, (len(got), len(expected))
    assert all(abs(a - b) < 0.001 for a, b in zip(got, expected, strict=True)), list(zip(got, expected, strict=True))
    source_frames, clip_frames = every_frame(path), every_frame(clip.path)
    first = times.index(1.0)
    shown = [nearest_frame(frame, source_frames, first + index, 3) for index, frame in enumerate(clip_frames)]
    assert shown == list(range(first, first + len(expected))), shown


def test_a_jittered_frame_rate_decodes_cleanly_for_clippers_checks(variable_rate: Callable[[str], Path]) -> None:
    path = variable_rate("jittered-30-fps")
    # ffmpeg 5's default decode to nothing stumbles on this file's rounding (later ffmpeg, which writes the
    # last frame's duration, does not): clipper's own checks must not.

    assert probe.decode_problems(str(path)) is None  # what decides whether a clip on disk is whole
    assert probe.probe_clip(str(path), [0.0, 1.0, 2.0], packets=40)[1] is None


def test_a_variable_rate_clip_from_inside_the_video_starts_at_its_frame_when_reencoded(
    cut: Cutter, variable_rate: Callable[[str], Path]
) -> None:
    path = variable_rate("30-then-25-fps")
    times = frame_times(path)
    clip = cut(path, 1.0, 3.961, mode="reencode")  # 60 frames at 30 fps from 1 s, then 25 at 25 fps

    assert clip.mode == "reencode"
    expected = [time - 1.0 for time in times if 1.0 <= time < 3.961]
    got = frame_times(clip.path)
    assert len(got) == len(expected) == 85, (len(got), len(expected))
    assert all(abs(a - b) < 0.001 for a, b in zip(got, expected, strict=True)), list(zip(got, expected, strict=True))
