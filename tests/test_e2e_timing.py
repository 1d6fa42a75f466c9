"""End to end: times count from the file's start, as ``ffmpeg -ss`` and players count, whatever its timestamps.

MPEG-TS files start at 1.4 s or later (and have no index to seek by); a Matroska or WebM file's picture may start
a frame after its sound. Each clip is decoded and its first and last frames compared with the source frames at
the asked times (the source's own frame times, counted from the file's start)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from media import serve
from verify import beep_onsets, decode_errors, frame_md5s, nearest_frame, run_clipper, thumbnails

pytestmark = pytest.mark.slow

AAC_FRAME = 1024 / 48000
BEEPS = "sine=frequency=1000:beep_factor=4:sample_rate=48000:duration=20"


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args], check=True)


def picture(rate: int, gop: int) -> list[str]:
    """20 s of testsrc2 (every frame differs) with the beeps, H.264 with B-frames, a keyframe every ``gop``."""
    return ["-f", "lavfi", "-i", f"testsrc2=size=160x90:rate={rate}:duration=20", "-f", "lavfi", "-i", BEEPS,
            "-c:v", "libx264", "-preset", "veryfast", "-g", str(gop), "-keyint_min", str(gop), "-x264-params",
            "scenecut=0:bframes=3"]  # fmt: skip


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("timing")


@pytest.fixture(scope="module")
def transport_stream(folder: Path) -> Path:
    """MPEG-TS as broadcasts and recorders write it: timestamps from 1.4 s (the muxer's own delay) plus 1.445 s,
    the picture a little after the sound (AAC priming), B-frames, a keyframe every 2 s."""
    path = folder / "recording.ts"
    _ffmpeg(*picture(25, 50), "-c:a", "aac", "-b:a", "96k", "-output_ts_offset", "1.445", "-f", "mpegts", str(path))
    return path


@pytest.fixture(scope="module")
def late_matroska(folder: Path) -> Path:
    """Matroska whose sound starts at 0 and picture a frame later (30 fps: at 0.033 s and a little more)."""
    path = folder / "late.mkv"
    _ffmpeg(*picture(30, 60), "-vf", "setpts=PTS+1", "-c:a", "ac3", str(path))
    return path


@pytest.fixture(scope="module")
def late_webm(folder: Path) -> Path:
    """VP9 + Opus WebM whose picture starts two frames after its sound."""
    path = folder / "late.webm"
    _ffmpeg("-f", "lavfi", "-i", "testsrc2=size=160x90:rate=25:duration=20", "-f", "lavfi", "-i", BEEPS,
            "-vf", "setpts=PTS+2", "-c:v", "libvpx-vp9", "-g", "50", "-keyint_min", "50", "-deadline", "realtime",
            "-cpu-used", "8", "-b:v", "300k", "-c:a", "libopus", str(path))  # fmt: skip
    return path


def start_time(path: Path) -> float:
    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=start_time", "-of", "csv=p=0", str(path)],
                         check=True, capture_output=True, text=True).stdout  # fmt: skip
    return float(out.strip())


def frame_times(path: Path) -> list[float]:
    """The video frames' times (display order), counted from the file's start: a player's times."""
    argv = ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "packet=pts_time", "-of", "csv=p=0"]
    out = subprocess.run([*argv, str(path)], check=True, capture_output=True, text=True).stdout.split()
    origin = start_time(path)
    return sorted(float(line.strip(",")) - origin for line in out if line.strip(","))


def in_range(times: list[float], start: float, end: float) -> tuple[int, int]:
    """(first, last) indexes of the source frames a clip [start, end) shows."""
    shown = [index for index, time in enumerate(times) if start - 0.0005 <= time < end - 0.0005]
    return shown[0], shown[-1]


def cut(source: Path, start: float, end: float, mode: str, out: Path) -> dict[str, object]:
    """``clipper cut SOURCE START-END --mode MODE``: the manifest's entry of the clip."""
    args = ["cut", str(source), f"{start:g}-{end:g}", "-o", str(out), "--mode", mode]
    result = run_clipper(*args, cwd=out.parent.parent)
    assert result.returncode == 0, result.stderr
    entry: dict[str, object] = json.loads((out.parent / "manifest.json").read_text())["clips"][out.name]
    assert entry["status"] == "done", entry
    return entry


def assert_shows(clip: Path, source: Path, start: float, end: float) -> None:
    """The clip shows exactly the source's frames from ``start`` to just before ``end`` (file times)."""
    first, last = in_range(frame_times(source), start, end)
    source_thumbs, clip_thumbs = thumbnails(source), thumbnails(clip)
    assert decode_errors(clip) == ""
    assert len(frame_md5s(clip)) == last - first + 1, (len(frame_md5s(clip)), first, last)
    assert nearest_frame(clip_thumbs[0], source_thumbs, first, 4) == first
    assert nearest_frame(clip_thumbs[-1], source_thumbs, last, 4) == last


def assert_beeps_in_place(clip: Path, source: Path, start: float, end: float) -> None:
    """The clip's beeps are the source's (counted from its start), shifted by ``start``: the sound is in sync."""
    origin = start_time(source)
    # beep_onsets decodes from the file's first sample, which is at its start time
    expected = [onset - start for onset in beep_onsets(source) if start <= onset < end - 0.05]
    found = [onset for onset in beep_onsets(clip) if onset < end - start - 0.05]
    assert len(found) == len(expected) >= 3, (found, expected, origin)
    assert all(abs(got - wanted) <= AAC_FRAME for got, wanted in zip(found, expected, strict=True)), (found, expected)


@pytest.fixture(scope="module")
def late_start_mp4(transport_stream: Path) -> Path:
    """The recording copied into MP4 with its timestamps kept (``-copyts``): an MP4 file that starts at 2.82 s."""
    path = transport_stream.with_name("late-start.mp4")
    _ffmpeg("-copyts", "-i", str(transport_stream), "-map", "0", "-c", "copy", "-f", "mp4", str(path))
    return path


@pytest.mark.parametrize("mode", ["smart", "reencode"])
@pytest.mark.parametrize("name", ["transport_stream", "late_start_mp4"])
def test_a_recording_that_starts_late_is_cut_at_its_own_times(
    tmp_path: Path, request: pytest.FixtureRequest, name: str, mode: str
) -> None:
    source: Path = request.getfixturevalue(name)
    assert start_time(source) > 2.8  # as made: 1.4 s of the MPEG-TS muxer's, 1.445 s of ours
    clip = tmp_path / "c" / "clip.mp4"

    entry = cut(source, 5.3, 12.7, mode, clip)

    assert entry["mode"] == mode
    assert_shows(clip, source, 5.3, 12.7)
    assert_beeps_in_place(clip, source, 5.3, 12.7)
    assert not [path.name for path in clip.parent.iterdir() if path.name.startswith(".clipper-")]


def test_the_dry_run_of_an_mpeg_ts_recording_copies_it_into_mp4_and_runs_as_printed(
    tmp_path: Path, transport_stream: Path
) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    url = "https://www.youtube.com/watch?v=tsrecord01"
    (notes / "tsrecord01.md").write_text(
        f"---\nvideo_id: tsrecord01\ntitle: Timing\nurl: {url}\n---\n\n## Highlights\n\n### A\n\n"
        f'```bash\nyt-dlp --download-sections "*0:05.3-0:12.7" "{url}" -o "clip.mp4"\n```\n'
    )
    config = tmp_path / "c.yaml"
    config.write_text(f"output_dir: out\nsources:\n  tsrecord01: {transport_stream}\n")

    script = run_clipper("batch", str(notes), "--config", str(config), "--dry-run", cwd=tmp_path)

    assert script.returncode == 0, script.stderr
    assert "MPEG-TS has no index to seek by" in script.stdout and " -c copy -f mp4 " in script.stdout
    assert not (tmp_path / "out" / "clip.mp4").exists()
    subprocess.run(["sh", "-c", script.stdout], check=True, cwd=tmp_path)
    assert_shows(tmp_path / "out" / "clip.mp4", transport_stream, 5.3, 12.7)
    assert sorted(path.name for path in (tmp_path / "out").iterdir()) == ["clip.mp4"]


def test_an_mpeg_ts_recording_copied_starts_at_the_keyframe_before_the_start(
    tmp_path: Path, transport_stream: Path
) -> None:
    clip = tmp_path / "c" / "clip.mp4"

    entry = cut(transport_stream, 5.3, 12.7, "copy", clip)

    assert entry["mode"] == "copy"
    times = frame_times(transport_stream)
    keyframe = 100  # the keyframe at or before 5.3 s (one every 50 frames)
    last = in_range(times, 5.3, 12.7)[1]
    source_thumbs, clip_thumbs = thumbnails(transport_stream), thumbnails(clip)
    assert nearest_frame(clip_thumbs[0], source_thumbs, keyframe, 4) == keyframe
    assert last <= nearest_frame(clip_thumbs[-1], source_thumbs, last, 4) <= last + 4


@pytest.mark.parametrize("mode", ["smart", "reencode"])
@pytest.mark.parametrize("name", ["late_matroska", "late_webm"])
def test_a_picture_that_starts_after_the_sound_is_cut_at_the_files_times(
    tmp_path: Path, request: pytest.FixtureRequest, name: str, mode: str
) -> None:
    source: Path = request.getfixturevalue(name)
    times = frame_times(source)
    assert 0.03 < times[0] < 0.1, times[:2]  # as made: the first picture a frame or two after the sound
    clip = tmp_path / "c" / ("clip.webm" if source.suffix == ".webm" else "clip.mp4")

    entry = cut(source, 5.0, 9.0, mode, clip)

    assert entry["mode"] == mode
    assert_shows(clip, source, 5.0, 9.0)


def test_mpeg_ts_and_late_pictures_over_http_are_cut_at_the_files_times(
    tmp_path: Path, transport_stream: Path, late_matroska: Path
) -> None:
    """`clipper batch` with ``sources:`` pointing at the files served from 127.0.0.1, in each mode."""
    notes = tmp_path / "notes"
    notes.mkdir()
    for video_id in ("tsrecord01", "latepic0001"):
        url = f"https://www.youtube.com/watch?v={video_id}"
        (notes / f"{video_id}.md").write_text(
            f"---\nvideo_id: {video_id}\ntitle: Timing\nurl: {url}\n---\n\n## Highlights\n\n### A\n\n"
            f'```bash\nyt-dlp --download-sections "*0:07.9-0:11" "{url}" -o "{video_id}.mp4"\n```\n'
        )
    with serve(transport_stream.parent) as (base, _):
        for mode in ("smart", "reencode", "copy"):
            config = tmp_path / f"{mode}.yaml"
            config.write_text(f"output_dir: {mode}\nmode: {mode}\nfetch: sections\nsources:\n"
                              f"  tsrecord01: {base}/{transport_stream.name}\n"
                              f"  latepic0001: {base}/{late_matroska.name}\n")  # fmt: skip
            result = run_clipper("batch", str(notes), "--config", str(config), cwd=tmp_path)
            assert result.returncode == 0, result.stderr
            manifest = json.loads((tmp_path / mode / "manifest.json").read_text())["clips"]
            assert {entry["status"] for entry in manifest.values()} == {"done"}, manifest
            for source, video_id in ((transport_stream, "tsrecord01"), (late_matroska, "latepic0001")):
                clip = tmp_path / mode / f"{video_id}.mp4"
                if mode != "copy":
                    assert manifest[clip.name]["mode"] == mode
                    assert_shows(clip, source, 7.9, 11.0)
                else:  # from the keyframe at or before the start
                    first = in_range(frame_times(source), 7.9, 11.0)[0]
                    keyframe = first - first % (50 if source.suffix == ".ts" else 60)
                    shown = nearest_frame(thumbnails(clip)[0], thumbnails(source), keyframe, 4)
                    assert shown == keyframe, (video_id, shown, keyframe)


# --- variable frame rate ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rate_changes(folder: Path) -> Path:
    """14 s whose rate changes as a screen recording's or a phone's does: 30 fps for 4 s, 10 fps for 4 s, then
    24 fps (testsrc2 at 120 fps, every 4th, 12th, then 5th frame kept), a keyframe every 40 frames."""
    path = folder / "rate-changes.mp4"
    select = "select='if(lt(t,4),not(mod(n,4)),if(lt(t,8),not(mod(n,12)),not(mod(n,5))))'"
    _ffmpeg("-f", "lavfi", "-i", f"testsrc2=size=160x90:rate=120:duration=14,{select}", "-f", "lavfi", "-i", BEEPS,
            "-c:v", "libx264", "-preset", "veryfast", "-g", "40", "-keyint_min", "40", "-x264-params", "scenecut=0",
            "-fps_mode", "passthrough", "-enc_time_base", "1:120", "-c:a", "aac", "-t", "14", str(path))  # fmt: skip
    return path


def every_frame(path: Path) -> list[bytes]:
    """Each decoded frame once (a rate of the output's own would repeat frames to fill it)."""
    argv = ["ffmpeg", "-v", "error", "-i", str(path), "-an", "-vf", "scale=32:18:flags=area,format=gray",
            "-fps_mode", "passthrough", "-f", "rawvideo", "-"]  # fmt: skip
    raw = subprocess.run(argv, check=True, capture_output=True).stdout
    return [raw[at : at + 32 * 18] for at in range(0, len(raw), 32 * 18)]


@pytest.mark.parametrize("mode", ["smart", "reencode"])
def test_a_variable_frame_rate_clip_is_kept_and_frame_exact(tmp_path: Path, rate_changes: Path, mode: str) -> None:
    # The clip starts in a gap of the 10 fps stretch (its first frame 50 ms after its start) and ends in the
    # 24 fps one: it lasts 8.4 s where 8.45 s were asked, more than a frame of the average rate (22 fps) off.
    times = frame_times(rate_changes)
    clip = tmp_path / "c" / "clip.mp4"

    result = run_clipper("-v", "cut", str(rate_changes), "4.05-12.5", "-o", str(clip), "--mode", mode, cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert "re-encoding the clip" not in result.stderr, result.stderr  # the smart cut was kept
    entry = json.loads((clip.parent / "manifest.json").read_text())["clips"]["clip.mp4"]
    assert (entry["status"], entry["mode"]) == ("done", mode)
    first, last = in_range(times, 4.05, 12.5)
    assert (times[first], last - first + 1) == (4.1, 147)  # 39 at 10 fps, 108 at 24 fps
    got = frame_times(clip)
    assert len(got) == last - first + 1
    assert all(abs(a - (b - times[first])) < 0.001 for a, b in zip(got, times[first:], strict=False)), got
    source_frames = every_frame(rate_changes)
    shown = [nearest_frame(frame, source_frames, first + index, 3) for index, frame in enumerate(every_frame(clip))]
    assert shown == list(range(first, last + 1)), shown
    if mode == "smart":  # copied from the keyframe at 8 s (frame 160) on
        same = [a == b for a, b in zip(frame_md5s(clip), frame_md5s(rate_changes)[first:], strict=False)]
        assert sum(same) >= 105, same
    # The next run finds it made (not "another clip" for its length).
    again = run_clipper("cut", str(rate_changes), "4.05-12.5", "-o", str(clip), "--mode", mode, cwd=tmp_path)
    assert again.returncode == 0 and "0 done, 1 skipped" in again.stderr, again.stderr


# --- a stream that cannot be made ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def broken_picture(folder: Path) -> Path:
    """MPEG-TS whose first six keyframes (0-12 s) carry a corrupt sequence parameter set (its id bytes zeroed:
    "sps_id out of range"): no picture can be decoded there, while the sound plays on."""
    made = folder / "whole.ts"
    _ffmpeg("-f", "lavfi", "-i", "testsrc2=size=160x90:rate=25:duration=20", "-f", "lavfi", "-i", BEEPS,
            "-c:v", "libx264", "-preset", "ultrafast", "-g", "50", "-keyint_min", "50", "-x264-params", "scenecut=0",
            "-c:a", "aac", "-f", "mpegts", str(made))  # fmt: skip
    data = bytearray(made.read_bytes())
    at = 0
    for _ in range(6):
        at = data.index(b"\x00\x00\x01\x67", at) + 4  # an SPS NAL unit (type 7)
        data[at + 3 : at + 10] = bytes(7)
    path = folder / "broken-picture.ts"
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("mode", ["smart", "reencode"])
def test_a_clip_whose_picture_cannot_be_made_fails_and_is_not_kept(
    tmp_path: Path, broken_picture: Path, mode: str
) -> None:
    clip = tmp_path / "c" / "clip.mp4"

    result = run_clipper("cut", str(broken_picture), "5-9", "-o", str(clip), "--mode", mode, cwd=tmp_path)

    assert result.returncode == 1, result.stderr
    entry = json.loads((clip.parent / "manifest.json").read_text())["clips"]["clip.mp4"]
    assert entry["status"] == "failed"
    # ffmpeg 5.1 writes the sound alone (and says nothing), newer ffmpeg fails itself
    reason = "the clip did not verify: it has no video stream, which its source has"
    assert entry["error"] == reason or entry["error"].startswith("ffmpeg failed: "), entry
    assert f"failed clip.mp4: {entry['error']}" in result.stderr, result.stderr
    assert sorted(path.name for path in clip.parent.iterdir()) == [".clipper.lock", "manifest.json"]
