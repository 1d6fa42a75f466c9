"""End to end: `clipper cut` in the default smart mode on generated media, every clip decoded and compared with
its source frame by frame (first and last frame, frame count, bit-identical share, decode errors, beeps)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import pytest
from media import make_media
from verify import (
    ClipCheck,
    beep_onsets,
    check_clip,
    container_of,
    decode_errors,
    duration_of,
    frame_md5s,
    run_clipper,
    stream_kinds,
    thumbnails,
)

pytestmark = pytest.mark.slow

AAC_FRAME = 1024 / 48000  # one AAC frame at 48 kHz: how far audio may be off
MAX_TAIL = 3  # x264 closes a clean decode-order run at least every bframes+1 = 4 frames: <= 3 frames re-encoded
SIZE = "160x90"


clipper = run_clipper


@dataclass(frozen=True)
class Source:
    path: Path
    fps: float
    gop: int  # frames from one keyframe to the next
    thumbs: list[bytes]
    md5s: list[str]


@dataclass(frozen=True)
class Clip:
    path: Path
    start: float
    end: float
    mode: str  # what the manifest says was done: smart, or reencode when smart fell back
    encodes: list[str]  # the ffmpeg commands (from -v) that encoded video
    log: str


Cutter = Callable[..., Clip]


def source(path: Path, fps: float, gop: int) -> Source:
    """Decode a generated source once and check that its keyframes are where the tests expect them."""
    argv = ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "packet=pts,flags", "-of", "csv=p=0"]
    out = subprocess.run([*argv, str(path)], check=True, capture_output=True, text=True).stdout
    packets = sorted((int(line.split(",")[0]), "K" in line.split(",")[1]) for line in out.splitlines() if line)
    keyframes = [index for index, (_, key) in enumerate(packets) if key]
    assert keyframes == list(range(0, len(packets), gop)), keyframes
    return Source(path, fps, gop, thumbnails(path), frame_md5s(path))


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("smart")


@pytest.fixture(scope="module")
def h264(folder: Path) -> Source:
    """40 s, 25 fps, High profile with x264's default adaptive B-frames (3, pyramid), a keyframe every 2 s."""
    path = make_media(folder / "h264.mp4", seconds=40, size=SIZE, gop=50, bframes=3, extra=["-preset", "veryfast"])
    return source(path, 25.0, 50)


@pytest.fixture(scope="module")
def open_gop(folder: Path) -> Source:
    """As ``h264`` but open GOP: leading B-frames after each keyframe (in decode order) show frames before it."""
    extra = ["-preset", "veryfast", "-x264-params", "scenecut=0:open-gop=1"]
    return source(make_media(folder / "open-gop.mp4", seconds=40, size=SIZE, gop=50, extra=extra), 25.0, 50)


@pytest.fixture(scope="module")
def vp9(folder: Path) -> Source:
    """30 s VP9 + Opus in WebM, 25 fps, a keyframe every 2 s (Opus pre-skip puts the video at 7 ms)."""
    path = make_media(folder / "vp9.webm", seconds=30, size=SIZE, gop=50, vcodec="libvpx-vp9", acodec="libopus")
    return source(path, 25.0, 50)


@pytest.fixture(scope="module")
def ntsc(folder: Path) -> Source:
    """20 s at 30000/1001 fps with B-frames, a keyframe every 60 frames (2.002 s)."""
    path = make_media(
        folder / "ntsc.mp4", seconds=20, size=SIZE, rate="30000/1001", gop=60, bframes=3, extra=["-preset", "veryfast"]
    )
    return source(path, float(Fraction(30000, 1001)), 60)


def split(source: Source, keep: str, name: str) -> Path:
    target = source.path.with_name(name)
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-i", str(source.path), "-map", f"0:{keep}", "-c", "copy", str(target)],
        check=True,
    )
    return target


@pytest.fixture(scope="module")
def video_only(h264: Source) -> Source:
    return source(split(h264, "v", "video-only.mp4"), h264.fps, h264.gop)


@pytest.fixture(scope="module")
def audio_only(h264: Source) -> Path:
    return split(h264, "a", "audio-only.m4a")


def cutter(folder: Path, env: dict[str, str] | None = None) -> Cutter:
    """``cut(source, start, end, suffix='.mp4', mode=None)`` runs `clipper -v cut` (in ``env``) once per distinct
    clip into ``folder``; the Clip says the manifest's mode and the video encodes the log shows."""
    made: dict[tuple[Path, float, float, str, str | None], Clip] = {}

    def run(path: Path, start: float, end: float, suffix: str = ".mp4", mode: str | None = None) -> Clip:
        key = (path, start, end, suffix, mode)
        if key not in made:
            out = folder / "clips" / f"{path.stem}-{start:g}-{end:g}-{mode or 'default'}-{suffix.lstrip('.')}"
            args = ["-v", "cut", str(path), f"{start:g}-{end:g}", "-o", str(out / f"clip{suffix}")]
            result = clipper(*args, *(["--mode", mode] if mode else []), cwd=folder, env=env)
            assert result.returncode == 0, result.stderr
            entry = json.loads((out / "manifest.json").read_text())["clips"][f"clip{suffix}"]
            assert entry["status"] == "done", entry
            assert "\n$ ffmpeg " in result.stderr, "-v should show the ffmpeg commands run"
            lines = result.stderr.splitlines()
            encodes = [line for line in lines if line.startswith("$ ffmpeg") and "-c:v lib" in line]
            made[key] = Clip(out / f"clip{suffix}", start, end, entry["mode"], encodes, result.stderr)
        return made[key]

    return run


@pytest.fixture(scope="module")
def cut(folder: Path) -> Cutter:
    return cutter(folder)


def assert_frame_exact(clip: Clip, source: Source, frames: int) -> ClipCheck:
    """The clip decodes cleanly, shows exactly the source frames [start, end), no hidden pre-roll."""
    errors = decode_errors(clip.path)
    assert errors == "", f"{clip.path} ({clip.mode}) does not decode cleanly:\n{errors[:2000]}\n{clip.log}"
    check = check_clip(clip.path, source.thumbs, clip.start, clip.end, source.fps)
    assert check.expected_frames == frames, check  # the test's own arithmetic
    assert (check.first_error, check.last_error, check.frames, check.preroll_packets) == (0, 0, frames, 0), (
        clip.mode,
        check,
    )
    assert len(frame_md5s(clip.path)) == frames, clip.mode  # no frame shown twice (thumbnails may duplicate)
    assert abs(check.duration - frames / source.fps) <= AAC_FRAME, (clip.mode, check)
    return check


def identical(clip: Clip, source: Source) -> list[bool]:
    """For each clip frame: is it bit-identical to the source frame it shows?"""
    first = round(clip.start * source.fps)
    mine = frame_md5s(clip.path)
    theirs = source.md5s[first : first + len(mine)]
    return [a == b for a, b in zip(mine, theirs, strict=True)]


def assert_copied(clip: Clip, source: Source, head: int, share: float | None) -> None:
    """Every frame from the first keyframe (``head`` frames in) to the last few is the source's own."""
    same = identical(clip, source)
    assert all(same[head : len(same) - MAX_TAIL]), (clip.mode, same.index(False, head), same)
    if share is not None:
        assert sum(same) / len(same) >= share, (clip.mode, f"{sum(same)}/{len(same)} identical")


def beeps(path: Path, start: float, end: float, margin: float = 0.05) -> list[float]:
    return [onset - start for onset in beep_onsets(path) if start <= onset < end - margin]


def assert_beeps_in_place(clip: Path, source: Path, start: float, end: float) -> None:
    """The clip's beeps are where the source's beeps fall, shifted by ``start``: within one AAC frame."""
    expected = beeps(source, start, end)
    found = beeps(clip, 0.0, end - start)
    assert len(found) == len(expected) >= 3, (found, expected)
    for got, wanted in zip(found, expected, strict=True):
        assert abs(got - wanted) <= AAC_FRAME, (found, expected)


# --- H.264 with B-frames ------------------------------------------------------------------------------------


def test_a_clip_starting_on_a_keyframe_is_the_source_itself(cut: Cutter, h264: Source) -> None:
    clip = cut(h264.path, 4.0, 16.0)

    assert_frame_exact(clip, h264, 300)
    assert clip.mode == "smart"
    assert clip.encodes == [], "nothing should be re-encoded"
    assert all(identical(clip, h264)), "every frame should be bit-identical"


# (start, end, frames, frames before the first keyframe, minimum bit-identical share or None for short clips)
H264_CLIPS = {
    "one-frame-after-a-keyframe": (4.04, 27.36, 583, 49, 0.9),  # 49 frames re-encoded, then copied
    "one-frame-before-a-keyframe": (3.96, 16.0, 301, 1, 0.9),
    "shorter-than-a-gop-without-keyframe": (4.2, 5.6, 35, 35, None),
    "to-the-end-of-the-video": (22.52, 40.0, 437, 37, 0.9),
}


@pytest.mark.parametrize(("start", "end", "frames", "head", "share"), H264_CLIPS.values(), ids=H264_CLIPS.keys())
def test_h264_b_frame_clips_are_frame_exact_and_mostly_copied(
    cut: Cutter, h264: Source, start: float, end: float, frames: int, head: int, share: float | None
) -> None:
    clip = cut(h264.path, start, end)

    assert_frame_exact(clip, h264, frames)
    assert clip.mode == "smart"
    assert_copied(clip, h264, head, share)


def test_smart_clip_keeps_audio_in_sync(cut: Cutter, h264: Source) -> None:
    clip = cut(h264.path, 4.04, 27.36)  # a re-encoded head, then copied packets: the join must not shift sound

    assert clip.mode == "smart"
    assert_beeps_in_place(clip.path, h264.path, clip.start, clip.end)
    assert abs(duration_of(clip.path) - (clip.end - clip.start)) <= AAC_FRAME


# --- open GOP ------------------------------------------------------------------------------------------------

OPEN_GOP_CLIPS = {
    "one-frame-before-a-keyframe": pytest.param(3.96, 16.0, 301, 1),
    "one-frame-after-a-keyframe-mid-gop-end": pytest.param(4.04, 15.36, 283, 49),
    "one-frame-after-a-keyframe-long": pytest.param(4.04, 27.36, 583, 49),
}


@pytest.mark.parametrize(("start", "end", "frames", "head"), OPEN_GOP_CLIPS.values(), ids=OPEN_GOP_CLIPS.keys())
def test_open_gop_clips_are_frame_exact(
    cut: Cutter, open_gop: Source, start: float, end: float, frames: int, head: int
) -> None:
    clip = cut(open_gop.path, start, end)

    assert_frame_exact(clip, open_gop, frames)
    assert clip.mode == "smart", clip.log
    assert_copied(clip, open_gop, head, 0.9 if frames > 10 * open_gop.gop else None)


def test_an_open_gop_clip_on_a_keyframe_stays_a_smart_cut(cut: Cutter, open_gop: Source) -> None:
    """x264 open GOP with 3 B-frames, a clip from one keyframe to a frame before another: the copied piece's
    two dropped leading pictures must not push the re-encoded tail's IDR off where a seek finds it (the check
    at the seams then decoded from the open GOP's keyframe before it: "mmco: unref short failure", and the
    clip was re-encoded whole)."""
    clip = cut(open_gop.path, 20.0, 25.0)

    assert_frame_exact(clip, open_gop, 125)
    assert clip.mode == "smart", clip.log
    assert "smart cut failed" not in clip.log
    assert_copied(clip, open_gop, 0, 0.95)


# --- VP9 + Opus ---------------------------------------------------------------------------------------------

VP9_CLIPS = {"on-a-keyframe": (4.0, 16.0, 300), "one-frame-after-a-keyframe": (4.04, 25.36, 533)}


@pytest.mark.parametrize("suffix", [".webm", ".mp4"])
@pytest.mark.parametrize(("start", "end", "frames"), VP9_CLIPS.values(), ids=VP9_CLIPS.keys())
def test_vp9_clips_are_frame_exact(
    cut: Cutter, vp9: Source, suffix: str, start: float, end: float, frames: int
) -> None:
    clip = cut(vp9.path, start, end, suffix)

    assert_frame_exact(clip, vp9, frames)
    assert stream_kinds(clip.path) == ["video", "audio"]


def test_vp9_clip_on_a_keyframe_is_copied_whole(cut: Cutter, vp9: Source) -> None:
    clip = cut(vp9.path, 4.0, 16.0, ".webm")

    assert clip.mode == "smart"
    assert clip.encodes == []
    assert all(identical(clip, vp9))


@pytest.mark.parametrize("suffix", [".webm", ".mp4"])
def test_vp9_clip_after_a_keyframe_is_mostly_copied(cut: Cutter, vp9: Source, suffix: str) -> None:
    start, end, _ = VP9_CLIPS["one-frame-after-a-keyframe"]
    clip = cut(vp9.path, start, end, suffix)

    assert clip.mode == "smart", clip.log
    assert_copied(clip, vp9, 49, 0.9)


@pytest.mark.parametrize(("start", "end"), [(4.0, 16.0), (4.04, 25.36)], ids=VP9_CLIPS.keys())
def test_a_webm_clip_is_a_webm_file(cut: Cutter, vp9: Source, start: float, end: float) -> None:
    clip = cut(vp9.path, start, end, ".webm")

    assert container_of(clip.path) == "matroska,webm"


# --- 29.97 fps ------------------------------------------------------------------------------------------------


def test_ntsc_rate_clip_is_frame_exact(cut: Cutter, ntsc: Source) -> None:
    # Frame n is at n * 1001/30000 s: 4.037 s is just after frame 121 (4.0370 s), one after the keyframe at 120;
    # 15.048 s just before frame 451 (15.0484 s). Frames 121..450.
    clip = cut(ntsc.path, 4.037, 15.048)

    assert_frame_exact(clip, ntsc, 330)
    assert clip.mode == "smart"
    assert_copied(clip, ntsc, 59, None)


# --- one kind of stream only -------------------------------------------------------------------------------------


def test_video_only_clip_is_frame_exact(cut: Cutter, video_only: Source) -> None:
    clip = cut(video_only.path, 4.04, 27.36)

    assert_frame_exact(clip, video_only, 583)
    assert clip.mode == "smart"
    assert stream_kinds(clip.path) == ["video"]
    assert_copied(clip, video_only, 49, 0.9)


def test_audio_only_clip_has_the_asked_length_and_its_beeps_in_place(cut: Cutter, audio_only: Path) -> None:
    clip = cut(audio_only, 3.2, 7.4, ".m4a")

    assert stream_kinds(clip.path) == ["audio"]
    assert abs(duration_of(clip.path) - 4.2) <= AAC_FRAME
    assert decode_errors(clip.path) == ""
    # The source beeps once a second (at 4, 5, 6, 7 s): in the clip at 0.8, 1.8, 2.8, 3.8 s.
    assert_beeps_in_place(clip.path, audio_only, 3.2, 7.4)


# --- copy mode --------------------------------------------------------------------------------------------------


def test_copy_mode_starts_at_the_keyframe_before_the_start(cut: Cutter, h264: Source) -> None:
    clip = cut(h264.path, 5.0, 9.0, mode="copy")

    assert clip.mode == "copy"
    assert clip.encodes == []
    assert decode_errors(clip.path) == ""
    check = check_clip(clip.path, h264.thumbs, 4.0, 9.0, h264.fps)
    assert check.first_error == 0, check  # the keyframe at 4 s, before the asked 5 s
    assert check.preroll_packets == 0, check
    assert check.last_error >= 0, check  # reaches the end asked for
    same = identical(Clip(clip.path, 4.0, 9.0, clip.mode, [], ""), h264)
    assert all(same), same


# --- what smart mode cannot copy from -------------------------------------------------------------------------

OTHER_SOURCES = {
    # MPEG-4 Part 2: no encoder like the source's to make a head with
    "mpeg4": ("mpeg4.mp4", "mpeg4", ["-q:v", "4"], "no matching encoder for mpeg4 video"),
    # field-coded H.264: a head made of frames would not match the copied fields
    "interlaced": ("interlaced.mp4", "libx264", ["-flags", "+ildct+ilme", "-field_order", "tt"], "interlaced video"),
}


@pytest.mark.parametrize(("name", "vcodec", "extra", "reason"), OTHER_SOURCES.values(), ids=OTHER_SOURCES.keys())
def test_other_codecs_and_interlaced_video_are_reencoded_frame_exact(
    cut: Cutter, folder: Path, name: str, vcodec: str, extra: list[str], reason: str
) -> None:
    # 96 lines: x264 codes fields only when the height is a multiple of 4
    path = make_media(folder / name, seconds=12, size="160x96", gop=50, vcodec=vcodec, extra=extra)
    made = source(path, 25.0, 50)
    # 2.2 s is frame 55, between the keyframes at 0 and 2 s; 6.6 s is frame 165: frames 55..164.
    clip = cut(made.path, 2.2, 6.6)

    assert_frame_exact(clip, made, 110)
    assert reason in clip.log, clip.log
