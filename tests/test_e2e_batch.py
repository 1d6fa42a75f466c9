"""End to end: the real CLI, real yt-dlp and ffmpeg, media served from 127.0.0.1. Clips are decoded and
compared with the source frames."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import EXAMPLE_NOTE, FPS, Served
from hosts import make_dash_media, serve_host
from media import make_media
from verify import check_clip, nearest_frame, processes_mentioning, run_clipper, stream_kinds, thumbnails

pytestmark = pytest.mark.slow

EXAMPLE_CLIPS = {
    "u3HBJVjpXuw-0m38s.mp4": (38, 95),
    "u3HBJVjpXuw-3m34s.mp4": (214, 270),
    "u3HBJVjpXuw-6m07s.mp4": (367, 420),
    "u3HBJVjpXuw-10m34s.mp4": (634, 695),
}


clipper = run_clipper


def write_config(folder: Path, source: str, **extra: object) -> Path:
    lines = ["output_dir: out", "sources:", f"  u3HBJVjpXuw: {json.dumps(source)}"]
    lines += [f"{key}: {json.dumps(value)}" for key, value in extra.items()]
    path = folder / "clipper.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def copy_note(folder: Path) -> Path:
    notes = folder / "notes"
    notes.mkdir()
    (notes / EXAMPLE_NOTE.name).write_text(EXAMPLE_NOTE.read_text())
    return notes


def test_batch_makes_the_example_notes_clips_frame_accurate(
    tmp_path: Path, server: Served, long_thumbs: list[bytes]
) -> None:
    notes = copy_note(tmp_path)
    config = write_config(tmp_path, server.url("long.mp4"))

    result = clipper("batch", str(notes), "--config", str(config), cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    out = tmp_path / "out"
    assert sorted(p.name for p in out.glob("*.mp4")) == sorted(EXAMPLE_CLIPS)
    assert not list(out.glob(".*.part"))
    for name, (start, end) in EXAMPLE_CLIPS.items():
        check = check_clip(out / name, long_thumbs, start, end, FPS)
        assert abs(check.first_error) <= 1, (name, check)
        assert abs(check.last_error) <= 1, (name, check)
        assert abs(check.frames - check.expected_frames) <= 1, (name, check)
        assert check.preroll_packets == 0, (name, check)
        assert abs(check.duration - (end - start)) <= 0.05, (name, check)
    manifest = json.loads((out / "manifest.json").read_text())["clips"]
    assert {name: entry["status"] for name, entry in manifest.items()} == dict.fromkeys(EXAMPLE_CLIPS, "done")
    assert {name: entry["mode"] for name, entry in manifest.items()} == dict.fromkeys(EXAMPLE_CLIPS, "smart")
    assert manifest["u3HBJVjpXuw-3m34s.mp4"]["start"] == 214
    assert "4 done, 0 skipped, 0 failed" in result.stderr
    # Each poster is the clip's first keyframe from a second in (the test video has one every 50 frames),
    # taken from the source as the clip was cut (6:07 starts a second before one).
    posters = {"u3HBJVjpXuw-0m38s.mp4": 50, "u3HBJVjpXuw-3m34s.mp4": 50, "u3HBJVjpXuw-6m07s.mp4": 25,
               "u3HBJVjpXuw-10m34s.mp4": 50}  # fmt: skip
    for name, frame in posters.items():
        poster = thumbnails(out / "posters" / name.replace(".mp4", ".jpg"))
        assert len(poster) == 1, name
        assert nearest_frame(poster[0], thumbnails(out / name), frame, window=frame) == frame, name

    # A second run finds every clip made and verified: nothing is redone, no file is touched.
    stamps = {p.name: p.stat().st_mtime_ns for p in out.glob("*.mp4")}
    again = clipper("batch", str(notes), "--config", str(config), "--json", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "0 done, 4 skipped, 0 failed" in again.stderr
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("*.mp4")} == stamps
    assert [entry["status"] for entry in json.loads(again.stdout)] == ["skipped"] * 4


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_interrupted_batch_leaves_no_partial_file_and_resumes(tmp_path: Path, server: Served, signum: int) -> None:
    notes = copy_note(tmp_path)
    config = write_config(tmp_path, server.url("slow/long.mp4"), jobs=1)
    out = tmp_path / "out"
    process = subprocess.Popen(
        [sys.executable, "-m", "clipper", "batch", str(notes), "--config", str(config)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not any(out.glob("*.mp4")):
        time.sleep(0.02)
    finished_first = sorted(p.name for p in out.glob("*.mp4"))
    assert finished_first, "no clip was finished before the deadline"
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=60)

    assert process.returncode == 130, stderr
    assert "interrupted" in stderr
    leftovers = [p.name for p in out.iterdir() if p.name.startswith(".") and p.name != ".clipper.lock"]
    assert leftovers == [], "partial files (clips, sections or smart-cut pieces) were left behind"
    kept = sorted(p.name for p in out.glob("*.mp4"))
    assert len(kept) < len(EXAMPLE_CLIPS), "the run ended before it could be interrupted"
    stamps = {name: (out / name).stat().st_mtime_ns for name in kept}
    assert not processes_mentioning(str(tmp_path)), "ffmpeg children outlived the run"  # reparented or not

    resumed = clipper("batch", str(notes), "--config", str(config), cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert sorted(p.name for p in out.glob("*.mp4")) == sorted(EXAMPLE_CLIPS)
    assert f"{len(EXAMPLE_CLIPS) - len(kept)} done, {len(kept)} skipped, 0 failed" in resumed.stderr
    assert {name: (out / name).stat().st_mtime_ns for name in kept} == stamps


def one_clip_note(folder: Path) -> Path:
    notes = folder / "notes"
    notes.mkdir()
    (notes / "n.md").write_text(EXAMPLE_NOTE.read_text().split('### "Pretraining')[0])
    return notes


def test_a_dropped_connection_is_retried(tmp_path: Path, server: Served, long_thumbs: list[bytes]) -> None:
    notes = one_clip_note(tmp_path)
    config = write_config(tmp_path, server.url("drop1/long.mp4"), retries=2)

    result = clipper("batch", str(notes), "--config", str(config), cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert server.handler.dropped, "the server never dropped a connection"  # type: ignore[attr-defined]
    assert "resuming" in result.stderr  # the relay asked for the rest of the chunk (no ffmpeg reconnect needed)
    check = check_clip(tmp_path / "out" / "u3HBJVjpXuw-0m38s.mp4", long_thumbs, 38, 95, FPS)
    assert abs(check.first_error) <= 1 and abs(check.last_error) <= 1, check
    assert not list((tmp_path / "out").glob(".*.part"))


def test_a_server_that_always_drops_gives_a_clear_error(tmp_path: Path, server: Served) -> None:
    notes = one_clip_note(tmp_path)
    config = write_config(tmp_path, server.url("drop/long.mp4"), retries=1)

    result = clipper("batch", str(notes), "--config", str(config), cwd=tmp_path)

    assert result.returncode == 1
    assert "retrying in 1s (1/1)" in result.stderr
    assert "0 done, 0 skipped, 1 failed" in result.stderr
    assert "failed u3HBJVjpXuw-0m38s.mp4" in result.stderr
    assert [p.name for p in (tmp_path / "out").iterdir() if p.name != ".clipper.lock"] == ["manifest.json"]


def test_missing_media_is_retried_then_reported_and_the_batch_goes_on(tmp_path: Path, server: Served) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    good = EXAMPLE_NOTE.read_text().split('### "Pretraining')[0]
    (notes / "good.md").write_text(good)
    (notes / "gone.md").write_text(good.replace("u3HBJVjpXuw", "gone0000000"))
    config = tmp_path / "clipper.yaml"
    config.write_text(
        f"output_dir: out\nretries: 1\nsources:\n  u3HBJVjpXuw: {server.url('long.mp4')}\n"
        f"  gone0000000: {server.url('404/long.mp4')}\n"
    )
    before = len(server.requests)

    result = clipper("batch", str(notes), "--config", str(config), "--json", cwd=tmp_path)

    assert result.returncode == 1
    by_name = {entry["output"]: entry for entry in json.loads(result.stdout)}
    assert by_name["u3HBJVjpXuw-0m38s.mp4"]["status"] == "done"
    assert by_name["gone0000000-0m38s.mp4"]["status"] == "failed"
    assert "404" in by_name["gone0000000-0m38s.mp4"]["error"]
    assert "retrying" in result.stderr
    assert "1 done, 0 skipped, 1 failed" in result.stderr
    assert f"failed gone0000000 (1 clip(s) of {notes / 'gone.md'}: gone0000000-0m38s.mp4): " in result.stderr
    assert len([p for p, _ in server.requests[before:] if p.startswith("/404/")]) >= 2
    assert not (tmp_path / "out" / "gone0000000-0m38s.mp4").exists()


def test_copy_mode_starts_at_a_keyframe_without_hidden_preroll(
    tmp_path: Path, short_video: Path, short_thumbs: list[bytes]
) -> None:
    result = clipper("cut", str(short_video), "0:05-0:09", "--mode", "copy", "-o", "c/x.mp4", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    check = check_clip(tmp_path / "c" / "x.mp4", short_thumbs, 4.0, 9.0, FPS)
    assert check.first_error == 0, check  # the keyframe at 4 s, before the asked 5 s
    assert check.preroll_packets == 0, check


@pytest.mark.parametrize("mode", ["smart", "reencode"])
@pytest.mark.parametrize("where", ["local", "url"])
def test_cut_one_clip(
    tmp_path: Path, server: Served, short_video: Path, short_thumbs: list[bytes], where: str, mode: str
) -> None:
    source = str(short_video) if where == "local" else server.url("short.mp4")

    # Both times fall between frames (25 fps): the clip runs from the frame at 3.24 to the one at 7.40.
    result = clipper("cut", source, "0:03.21-0:07.43", "-o", "clips/one.mp4", "--mode", mode, cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    check = check_clip(tmp_path / "clips" / "one.mp4", short_thumbs, 3.24, 7.44, FPS)
    assert (check.first_error, check.last_error, check.preroll_packets) == (0, 0, 0), check
    assert check.frames == check.expected_frames == 105


def test_hostile_note_runs_nothing_and_writes_nothing_outside(tmp_path: Path, short_video: Path) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    marker = tmp_path / "pwned"
    text = EXAMPLE_NOTE.read_text().split('### "Pretraining')[0]
    hostile = text.replace("--force-keyframes-at-cuts", f'--exec "touch {marker}"')
    escape = (
        text.replace('-o "u3HBJVjpXuw-0m38s.mp4"', '-o "../../escaped.mp4"')
        .replace("video_id: u3HBJVjpXuw", "video_id: u3HBJVjpXuw")
        .replace("0:38-1:35", "0:01-0:03")
    )
    (notes / "hostile.md").write_text(hostile)
    (notes / "escape.md").write_text(escape)
    config = tmp_path / "clipper.yaml"
    config.write_text(f"output_dir: out\nsources:\n  u3HBJVjpXuw: {short_video}\n")

    result = clipper("batch", str(notes), "--config", str(config), cwd=tmp_path)

    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert (
        f"{notes / 'escape.md'}:42: -o '../../escaped.mp4' must be a plain file name inside the output folder"
        f" (no '/')" in lines
    )
    assert f"{notes / 'hostile.md'}:42: --exec is not allowed in a clip command" in lines
    assert not marker.exists()
    assert not list(tmp_path.parent.glob("escaped.mp4")) and not list(tmp_path.glob("escaped.mp4"))


def test_a_whole_download_is_fetched_once_cached_and_cleaned(
    tmp_path: Path, server: Served, long_video: Path, long_thumbs: list[bytes]
) -> None:
    notes = copy_note(tmp_path)
    config = write_config(tmp_path, server.url("long.mp4"), fetch="full", cache_dir="cache")
    sent_before = sum(server.handler.bytes_sent)  # type: ignore[attr-defined]

    first = clipper("batch", str(notes), "--config", str(config), cwd=tmp_path)

    assert first.returncode == 0, first.stderr
    assert "u3HBJVjpXuw: full: fetch: full in the config" in first.stderr
    cached = list((tmp_path / "cache").iterdir())
    assert len(cached) == 1 and cached[0].stat().st_size == long_video.stat().st_size
    sent = sum(server.handler.bytes_sent) - sent_before  # type: ignore[attr-defined]
    # Fetched once (twice would be 2x). The count includes what the server wrote into socket buffers for
    # requests the client dropped early (yt-dlp's first look at the URL), so it runs a little over 1x.
    assert long_video.stat().st_size <= sent < 1.8 * long_video.stat().st_size
    check = check_clip(tmp_path / "out" / "u3HBJVjpXuw-6m07s.mp4", long_thumbs, 367, 420, FPS)
    assert (check.first_error, check.last_error, check.preroll_packets) == (0, 0, 0), check

    requests_before = len(server.requests)
    again = clipper("batch", str(notes), "--config", str(config), "--force", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "u3HBJVjpXuw: full: downloaded before (in the cache)" in again.stderr
    assert "4 done, 0 skipped, 0 failed" in again.stderr
    assert len(server.requests) == requests_before  # nothing fetched: the cache served every clip

    listed = clipper("cache", "list", "--config", str(config), cwd=tmp_path)
    assert str(cached[0]) in listed.stdout
    cleaned = clipper("cache", "clean", "--config", str(config), cwd=tmp_path)
    assert cleaned.returncode == 0, cleaned.stderr
    assert "removed 1 file(s)" in cleaned.stderr
    assert list((tmp_path / "cache").iterdir()) == []
    assert len(list((tmp_path / "out").glob("*.mp4"))) == 4  # clips are not the cache's


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="reads each run's command line from /proc")
def test_a_whole_download_is_probed_for_its_streams_once(
    tmp_path: Path, server: Served, short_video: Path, short_thumbs: list[bytes]
) -> None:
    """The check that the download is whole reads its streams; its clips use that reading, not one of their own."""
    tools, seen = tmp_path / "bin", tmp_path / "seen"
    tools.mkdir()
    seen.mkdir()
    real = shutil.which("ffprobe")
    (tools / "ffprobe").write_text(f'#!/bin/sh\ncat /proc/$$/cmdline > "{seen}/$$"\nexec "{real}" "$@"\n')
    (tools / "ffprobe").chmod(0o755)
    notes = tmp_path / "notes"
    notes.mkdir()
    note = EXAMPLE_NOTE.read_text().split('### "Pretraining')[0].replace("0:38-1:35", "0:03.2-0:15")
    (notes / "n.md").write_text(note.replace("duration: 699", "duration: 30"))
    config = write_config(tmp_path, server.url(short_video.name), fetch="full", cache_dir="cache")
    env = {**os.environ, "PATH": f"{tools}{os.pathsep}{os.environ['PATH']}"}

    result = clipper("batch", str(notes), "--config", str(config), cwd=tmp_path, env=env)

    assert result.returncode == 0, result.stderr
    [cached] = (tmp_path / "cache").iterdir()
    runs = [path.read_bytes().decode().split("\0")[:-1] for path in seen.iterdir()]
    streams = [argv for argv in runs if "-show_streams" in argv and argv[-1].endswith(cached.name)]
    assert len(streams) == 1, runs
    check = check_clip(tmp_path / "out" / "u3HBJVjpXuw-0m38s.mp4", short_thumbs, 3.2, 15.0, FPS)
    assert (check.first_error, check.last_error, check.preroll_packets) == (0, 0, 0), check


def test_cut_a_youtube_id_through_sources_and_a_notes_highlight(
    tmp_path: Path, server: Served, long_thumbs: list[bytes]
) -> None:
    config = write_config(tmp_path, server.url("long.mp4"))
    notes = copy_note(tmp_path)

    by_id = clipper("cut", "u3HBJVjpXuw", "1:02-1:05", "--config", str(config), cwd=tmp_path)
    by_note = clipper("cut", str(notes / EXAMPLE_NOTE.name), "--highlight", "2", "--config", str(config), cwd=tmp_path)

    assert by_id.returncode == 0, by_id.stderr
    check = check_clip(tmp_path / "out" / "u3HBJVjpXuw-1m02s.mp4", long_thumbs, 62, 65, FPS)
    assert (check.first_error, check.last_error, check.preroll_packets) == (0, 0, 0), check
    assert by_note.returncode == 0, by_note.stderr
    check = check_clip(tmp_path / "out" / "u3HBJVjpXuw-3m34s.mp4", long_thumbs, 214, 270, FPS)
    assert (check.first_error, check.last_error) == (0, 0), check
    assert (tmp_path / "out" / "u3HBJVjpXuw-3m34s.srt").read_text().startswith("1\n00:00:00,000 --> ")


def test_doctor_reports_the_tools_and_what_is_missing(tmp_path: Path) -> None:
    found = clipper("doctor", cwd=tmp_path)
    assert found.returncode == 0, found.stdout
    lines = found.stdout.splitlines()
    assert any(line.startswith("yt-dlp    20") for line in lines), lines
    assert any(line.startswith("ffmpeg    ffmpeg version") for line in lines), lines
    assert any(line.startswith("ffprobe   ffprobe version") for line in lines), lines
    assert any(line.startswith("js runtime ") for line in lines), lines
    assert "  smart cut of hevc: libx265 yes" in lines and "  smart cut of av1: libsvtav1 yes" in lines, lines
    assert any(line.startswith("queue     dramatiq ") for line in lines), lines

    (tmp_path / "config.yaml").write_text("broker: redis://:hunter2@queue.lan:6379/0\nhost_limits: {youtube.com: 2}\n")
    queued = clipper("doctor", cwd=tmp_path).stdout.splitlines()
    assert "  broker: redis://:***@queue.lan:6379/0" in queued  # the password is never shown
    assert "  host_limits: {'youtube.com': 2}" in queued
    (tmp_path / "config.yaml").unlink()

    bare = subprocess.run([sys.executable, "-m", "clipper", "doctor"], cwd=tmp_path, capture_output=True, text=True,
                          env={**os.environ, "PATH": str(tmp_path)}, timeout=60)  # fmt: skip
    assert bare.returncode == 1
    assert "ffmpeg    MISSING: install ffmpeg (Debian/Ubuntu: sudo apt-get install ffmpeg)" in bare.stdout


def test_a_whole_webm_download_is_kept_as_mp4_and_smart_cut(tmp_path: Path, server: Served) -> None:
    webm = make_media(server.folder / "vp9.webm", seconds=20, size="160x90", gop=50, vcodec="libvpx-vp9",
                      acodec="libopus")  # fmt: skip
    notes = tmp_path / "notes"
    notes.mkdir()
    note = EXAMPLE_NOTE.read_text().split('### "Pretraining')[0].replace("0:38-1:35", "0:03.2-0:15")
    (notes / "n.md").write_text(note.replace("duration: 699", "duration: 20"))
    config = write_config(tmp_path, server.url(webm.name), fetch="full", cache_dir="cache")

    result = clipper("batch", str(notes), "--config", str(config), "--json", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert [p.suffix for p in (tmp_path / "cache").iterdir()] == [".mp4"]  # remuxed once, the webm removed
    [entry] = json.loads(result.stdout)
    assert (entry["mode"], entry["fetch"]) == ("smart", "full")
    check = check_clip(tmp_path / "out" / "u3HBJVjpXuw-0m38s.mp4", thumbnails(webm), 3.2, 15.0, FPS)
    assert (check.first_error, check.last_error, check.preroll_packets) == (0, 0, 0), check


@pytest.mark.parametrize("mode", ["smart", "reencode"])
def test_a_local_matroska_copy_whose_picture_starts_late_is_cut_at_the_files_times(
    tmp_path: Path, short_video: Path, short_thumbs: list[bytes], mode: str
) -> None:
    # Remuxing to Matroska moves the picture 21 ms later to make room for the AAC priming: times count from
    # the file's start, as ffmpeg -ss and players count (3.21 s: the frame at 3.221, the source's 3.20), and
    # Matroska seeks land on earlier keyframes.
    mkv = tmp_path / "copy.mkv"
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(short_video), "-c", "copy", str(mkv)], check=True)

    result = clipper("cut", str(mkv), "0:03.21-0:07.43", "-o", "c/x.mp4", "--mode", mode, cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert json.loads((tmp_path / "c" / "manifest.json").read_text())["clips"]["x.mp4"]["mode"] == mode
    check = check_clip(tmp_path / "c" / "x.mp4", short_thumbs, 3.20, 7.44, FPS)
    assert (check.first_error, check.last_error, check.preroll_packets, check.frames) == (0, 0, 0, 106), check


def test_two_formats_of_one_video_are_two_downloads_in_the_cache(
    tmp_path: Path, short_video: Path, short_thumbs: list[bytes]
) -> None:
    """A host that serves video and audio apart (DASH): the video with its sound, then the video alone, then
    another sort. Each setting downloads its own file (the clips show which one they were cut from), `cache list`
    shows them all, and the first setting again finds its own file."""
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "talk.md").write_text("""---
video_id: dashTalk000
title: "A talk"
url: https://www.youtube.com/watch?v=dashTalk000
---

## Highlights

### "Ten seconds"

```bash
yt-dlp --download-sections "*0:05-0:15" "https://www.youtube.com/watch?v=dashTalk000" -o "talk.mp4"
```
""")
    dash = make_dash_media(short_video, tmp_path / "dash")
    clip = tmp_path / "out" / "talk.mp4"
    with serve_host(short_video.parent, dash={"talk": dash}) as host:

        def run(**settings: object) -> tuple[str, dict[str, int]]:
            lines = ["output_dir: out", "cache_dir: cache", "fetch: full", "sources:",
                     f"  dashTalk000: {json.dumps(host.mpd_url('talk'))}"]  # fmt: skip
            lines += [f"{key}: {json.dumps(value)}" for key, value in settings.items()]
            (tmp_path / "clipper.yaml").write_text("\n".join(lines) + "\n")
            host.wait_idle()
            before = len(host.requests)
            result = clipper("batch", str(notes), "--config", "clipper.yaml", "--force", cwd=tmp_path)
            assert result.returncode == 0, result.stderr
            host.wait_idle()
            check = check_clip(clip, short_thumbs, 5, 15, FPS)
            assert (check.first_error, check.last_error) == (0, 0), check
            sent = {track: sum(seen.sent for seen in host.requests[before:] if seen.path.endswith(f"/{track}.mp4"))
                    for track in ("video", "audio")}  # fmt: skip
            return result.stderr, sent

        whole = {"video": dash.video.size, "audio": dash.audio.size}
        both, sent = run(format="bv*+ba/b")
        assert "dashTalk000: full: fetch: full in the config" in both
        assert all(sent[track] >= whole[track] for track in whole), (sent, whole)
        assert stream_kinds(clip) == ["video", "audio"]

        alone, sent = run(format="bv")
        assert "downloaded before" not in alone  # not the first format's file
        assert sent["video"] >= whole["video"] and sent["audio"] < whole["audio"], (sent, whole)
        assert stream_kinds(clip) == ["video"]

        sorted_, sent = run(format="bv*+ba/b", format_sort=["res:720"])
        assert "downloaded before" not in sorted_
        assert all(sent[track] >= whole[track] for track in whole), (sent, whole)
        assert stream_kinds(clip) == ["video", "audio"]

        again, sent = run(format="bv*+ba/b")
        assert "dashTalk000: full: downloaded before (in the cache)" in again
        assert sent == {"video": 0, "audio": 0}
        assert stream_kinds(clip) == ["video", "audio"]

    cached = sorted((tmp_path / "cache").iterdir())
    assert len(cached) == 3, cached
    listed = clipper("cache", "list", "--config", "clipper.yaml", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert all(str(path) in listed.stdout for path in cached), listed.stdout
