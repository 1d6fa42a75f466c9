"""End to end against loopback hosts that behave like real ones: throttling long responses, demanding a
cookie, reachable only through a proxy, handing out URLs that expire, serving DASH (separate video and audio
in fragmented MP4 with a sidx). The real CLI, yt-dlp and ffmpeg; clips decoded against the source."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import EXAMPLE_NOTE, FPS
from hosts import DashMedia, Host, forward_proxy, make_dash_media, serve_host, write_cookies_txt
from verify import beep_onsets, check_clip, duration_of, run_clipper, stream_kinds

pytestmark = pytest.mark.slow

CHUNK = 512 * 1024  # small chunks keep the test media small; the server throttles anything longer
CLIP = ("u3HBJVjpXuw-0m38s.mp4", 38.0, 95.0)
SECOND_CLIP = ("u3HBJVjpXuw-3m34s.mp4", 214.0, 270.0)


def two_clip_note(folder: Path) -> Path:
    """The example note with its first two highlights."""
    notes = folder / "notes"
    notes.mkdir()
    (notes / EXAMPLE_NOTE.name).write_text(EXAMPLE_NOTE.read_text().split('### "Imitation')[0])
    return notes


def write_config(folder: Path, source: str, **extra: object) -> Path:
    lines = ["output_dir: out", "retry_delay: 0.1", f"http_chunk_size: {CHUNK}", "sources:",
             f"  u3HBJVjpXuw: {json.dumps(source)}"]  # fmt: skip
    lines += [f"{key}: {json.dumps(value)}" for key, value in extra.items()]
    path = folder / "clipper.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def assert_clips(out: Path, thumbs: list[bytes], clips: list[tuple[str, float, float]]) -> None:
    for name, start, end in clips:
        check = check_clip(out / name, thumbs, start, end, FPS)
        assert abs(check.first_error) <= 1 and abs(check.last_error) <= 1, (name, check)
        assert abs(check.frames - check.expected_frames) <= 1, (name, check)
        assert check.preroll_packets == 0, (name, check)


def media_gets(host: Host) -> list[str | None]:
    """The Range header of every GET of media that got more than a glance.

    yt-dlp's generic extractor sniffs a direct media URL with a plain GET and reads its first bytes only
    (the lookup, which on YouTube reads web pages, not media): that one transfers next to nothing.
    """
    return [seen.range for seen in host.gets() if seen.path.endswith((".mp4", ".m4a")) and seen.sent > 64 * 1024]


@pytest.fixture(scope="module")
def dash_media(long_video: Path, tmp_path_factory: pytest.TempPathFactory) -> DashMedia:
    return make_dash_media(long_video, tmp_path_factory.mktemp("dash"))


@pytest.mark.parametrize("fetch", ["sections", "full"])
def test_no_request_asks_a_throttling_host_for_more_than_a_chunk(
    tmp_path: Path, long_video: Path, long_thumbs: list[bytes], fetch: str
) -> None:
    notes = two_clip_note(tmp_path)
    # Any response over one chunk crawls at 128 KiB/s: one open-ended read of the 19 MB file would take minutes.
    with serve_host(long_video.parent, throttle_over=CHUNK, throttle_rate=128 * 1024) as host:
        config = write_config(tmp_path, host.url(long_video.name), fetch=fetch,
                              cache_dir=str(tmp_path / "cache"))  # fmt: skip
        result = run_clipper("batch", str(notes), "--config", str(config), cwd=tmp_path, timeout=120)
        ranges = media_gets(host)
        lengths = host.range_lengths()
    assert result.returncode == 0, result.stderr
    assert ranges, "no media was requested"
    assert None not in ranges, f"requests without a bounded Range: {ranges}"
    assert all(length is not None and length <= CHUNK for length in lengths), lengths
    assert_clips(tmp_path / "out", long_thumbs, [CLIP, SECOND_CLIP])


def test_sections_survive_a_host_that_drops_connections_chunk_by_chunk(
    tmp_path: Path, long_video: Path, long_thumbs: list[bytes]
) -> None:
    notes = two_clip_note(tmp_path)
    with serve_host(long_video.parent, drop_every=200_000) as host:
        config = write_config(tmp_path, host.url(long_video.name), fetch="sections", retries=3)
        result = run_clipper("batch", str(notes), "--config", str(config), cwd=tmp_path, timeout=120)
        gets = host.gets(".mp4")
    assert result.returncode == 0, result.stderr
    assert "resuming" in result.stderr
    assert "retrying in" not in result.stderr  # the relay resumed where it stopped: the section was never redone

    # Dropped requests are resumed from about where they stopped (the bytes already passed on), to the end of
    # their chunk only: nothing fetched is fetched again (ffmpeg may also have left one at the section's end).
    def bounds(text: str) -> tuple[int, int]:
        start, end = text.split("=")[1].split("-")
        return int(start), int(end)

    asked = [bounds(seen.range) for seen in gets if seen.range]
    dropped = [bounds(seen.range) for seen in gets if seen.sent == 200_000 and seen.range]
    resumed = [(start, end) for start, end in dropped
               if any(start + 128 * 1024 <= a <= start + 200_000 and b <= end for a, b in asked)]  # fmt: skip
    assert len(resumed) >= len(dropped) // 2 > 0, (dropped, asked)
    assert_clips(tmp_path / "out", long_thumbs, [CLIP, SECOND_CLIP])


@pytest.fixture
def cookie_host(long_video: Path) -> Iterator[Host]:
    with serve_host(long_video.parent, require_cookie="session=s3cret") as host:
        yield host


@pytest.mark.parametrize("fetch", ["sections", "full"])
def test_cookies_from_yt_dlp_args_reach_every_request(
    tmp_path: Path, long_video: Path, long_thumbs: list[bytes], cookie_host: Host, fetch: str
) -> None:
    notes = two_clip_note(tmp_path)
    cookies = write_cookies_txt(tmp_path / "cookies.txt", "session", "s3cret")
    config = write_config(tmp_path, cookie_host.url(long_video.name), fetch=fetch, cache_dir=str(tmp_path / "cache"),
                          yt_dlp_args=["--cookies", str(cookies)])  # fmt: skip
    result = run_clipper("batch", str(notes), "--config", str(config), cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr
    cookie_host.wait_idle()
    assert cookie_host.requests and all(seen.status != 403 for seen in cookie_host.requests)
    assert len(media_gets(cookie_host)) >= 2  # the media itself came with the cookie, not only the lookup
    assert_clips(tmp_path / "out", long_thumbs, [CLIP, SECOND_CLIP])


def test_the_cookies_flag_works_and_a_missing_cookie_is_one_clear_line(
    tmp_path: Path, long_video: Path, long_thumbs: list[bytes], cookie_host: Host
) -> None:
    notes = two_clip_note(tmp_path)
    config = write_config(tmp_path, cookie_host.url(long_video.name), fetch="sections")

    refused = run_clipper("batch", str(notes), "--config", str(config), "--no-gallery", cwd=tmp_path, timeout=120)

    assert refused.returncode == 1
    problems = [line for line in refused.stderr.splitlines() if "403" in line and "retrying" not in line]
    assert len(problems) == 1, refused.stderr  # one line for the video, not one per clip
    assert "u3HBJVjpXuw" in problems[0] and "--cookies-from-browser" in problems[0], problems
    assert "0 done, 0 skipped, 2 failed" in refused.stderr
    out = tmp_path / "out"
    made = sorted(path.name for path in out.iterdir() if path.name != ".clipper.lock")
    assert made == ["manifest.json"]  # nothing under a clip's name, nothing half-written
    manifest = json.loads((out / "manifest.json").read_text())["clips"]
    assert {entry["status"] for entry in manifest.values()} == {"failed"}

    cookies = write_cookies_txt(tmp_path / "cookies.txt", "session", "s3cret")
    again = run_clipper("batch", str(notes), "--config", str(config), "--cookies", str(cookies), cwd=tmp_path,
                        timeout=120)  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert_clips(out, long_thumbs, [CLIP, SECOND_CLIP])


@pytest.mark.parametrize("fetch", ["sections", "full"])
def test_a_proxy_from_yt_dlp_args_carries_every_request(
    tmp_path: Path, long_video: Path, long_thumbs: list[bytes], fetch: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("no_proxy", "NO_PROXY", "http_proxy", "HTTP_PROXY"):
        monkeypatch.delenv(name, raising=False)
    notes = two_clip_note(tmp_path)
    with (
        forward_proxy(("X-Test-Proxy", "1")) as proxy,
        serve_host(long_video.parent, require_header=("X-Test-Proxy", "1")) as host,
    ):
        config = write_config(tmp_path, host.url(long_video.name), fetch=fetch, cache_dir=str(tmp_path / "cache"),
                              yt_dlp_args=["--proxy", proxy.url])  # fmt: skip
        result = run_clipper("batch", str(notes), "--config", str(config), cwd=tmp_path, timeout=120)
        host.wait_idle()
        statuses = [seen.status for seen in host.requests]
    assert result.returncode == 0, result.stderr
    assert statuses and 403 not in statuses, statuses  # the host answers only what came through the proxy
    assert len(proxy.requests) == len(statuses)
    assert_clips(tmp_path / "out", long_thumbs, [CLIP, SECOND_CLIP])


def test_dash_video_and_audio_come_apart_and_the_clips_have_both_in_sync(
    tmp_path: Path, long_video: Path, long_thumbs: list[bytes], dash_media: DashMedia
) -> None:
    notes = two_clip_note(tmp_path)
    with serve_host(long_video.parent, dash={"talk": dash_media}) as host:
        config = write_config(tmp_path, host.mpd_url("talk"), fetch="sections")
        result = run_clipper("batch", str(notes), "--config", str(config), cwd=tmp_path, timeout=120)
        ranges = media_gets(host)
    assert result.returncode == 0, result.stderr
    assert None not in ranges and ranges
    out = tmp_path / "out"
    assert_clips(out, long_thumbs, [CLIP, SECOND_CLIP])
    for name, start, _ in (CLIP, SECOND_CLIP):
        assert stream_kinds(out / name) == ["video", "audio"]
        # The source beeps on every whole second: in the clip, on whole seconds from its start too.
        onsets = beep_onsets(out / name)
        assert onsets, name
        assert all(abs(onset - round(onset) - (round(start) - start)) < 0.03 for onset in onsets), (name, onsets)


def test_an_expired_url_mid_batch_is_looked_up_again_and_the_fetch_goes_on(
    tmp_path: Path, long_video: Path, long_thumbs: list[bytes], dash_media: DashMedia
) -> None:
    notes = two_clip_note(tmp_path)
    # Each URL the manifest hands out dies after ~1 MB: the first section alone needs more than that.
    with serve_host(long_video.parent, dash={"talk": dash_media}, expire_after_bytes=1_000_000) as host:
        config = write_config(tmp_path, host.mpd_url("talk"), fetch="sections", jobs=1)
        result = run_clipper("batch", str(notes), "--config", str(config), cwd=tmp_path, timeout=120)
        host.wait_idle()
        expired = [seen for seen in host.requests if seen.status == 403]
        manifests = [seen for seen in host.requests if seen.path.endswith(".mpd")]
    assert result.returncode == 0, result.stderr
    assert expired, "no URL expired: the test did not test anything"
    assert "looking the video up again" in result.stderr
    assert len(manifests) >= 2  # looked up again ...
    assert "retrying in" not in result.stderr  # ... and went on from where it was, without redoing the section
    assert_clips(tmp_path / "out", long_thumbs, [CLIP, SECOND_CLIP])


def test_an_expired_url_during_a_whole_download_is_looked_up_again_and_the_download_resumes(
    tmp_path: Path, long_video: Path, long_thumbs: list[bytes], dash_media: DashMedia
) -> None:
    notes = two_clip_note(tmp_path)
    video_size = dash_media.video.size
    # The first URL of the video dies two thirds of the way through it.
    with serve_host(long_video.parent, dash={"talk": dash_media}, expire_after_bytes=video_size * 2 // 3) as host:
        config = write_config(tmp_path, host.mpd_url("talk"), fetch="full", cache_dir=str(tmp_path / "cache"))
        result = run_clipper("batch", str(notes), "--config", str(config), cwd=tmp_path, timeout=120)
        host.wait_idle()
        expired = [seen for seen in host.requests if seen.status == 403]
        video_bytes = sum(seen.sent for seen in host.requests if seen.path.endswith("video.mp4") and seen.status < 300)
    assert result.returncode == 0, result.stderr
    assert expired, "no URL expired: the test did not test anything"
    assert video_bytes < video_size * 1.2, (video_bytes, video_size)  # resumed, not downloaded again from the start
    assert_clips(tmp_path / "out", long_thumbs, [CLIP, SECOND_CLIP])


@pytest.fixture(scope="module")
def hls_folder(long_video: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("hls")
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(long_video), "-c", "copy", "-f", "hls", "-hls_time", "6",
                    "-hls_playlist_type", "vod", "-hls_segment_filename", str(folder / "seg%03d.ts"),
                    str(folder / "talk.m3u8")], check=True)  # fmt: skip
    return folder


def test_hls_fragments_come_through_yt_dlps_fragment_downloader_with_the_users_cookies(
    tmp_path: Path, long_thumbs: list[bytes], hls_folder: Path
) -> None:
    notes = two_clip_note(tmp_path)
    cookies = write_cookies_txt(tmp_path / "cookies.txt", "session", "s3cret")
    with serve_host(hls_folder, require_cookie="session=s3cret") as host:
        config = write_config(tmp_path, host.url("talk.m3u8"), fetch="sections", cache_dir=str(tmp_path / "cache"))
        result = run_clipper("batch", str(notes), "--config", str(config), "--cookies", str(cookies), cwd=tmp_path,
                             timeout=120)  # fmt: skip
        host.wait_idle()
        statuses = {seen.status for seen in host.requests}
        segments = [seen for seen in host.requests if seen.path.endswith(".ts")]
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("fragment downloader instead") == 1, result.stderr  # said once for the video
    assert 403 not in statuses and segments
    assert_clips(tmp_path / "out", long_thumbs, [CLIP, SECOND_CLIP])


def test_an_hls_whole_download_whose_fragment_urls_expire_is_looked_up_again_and_completes(
    tmp_path: Path, long_thumbs: list[bytes], hls_folder: Path
) -> None:
    notes = two_clip_note(tmp_path)
    segments_size = sum(path.stat().st_size for path in hls_folder.glob("*.ts"))
    cache = tmp_path / "cache"
    # The segment URLs of each playlist die after a third of the video: yt-dlp's default is to skip the
    # fragments it cannot get and keep a file that ends there.
    with serve_host(hls_folder, expire_after_bytes=segments_size // 3) as host:
        config = write_config(tmp_path, host.url("talk.m3u8"), fetch="full", cache_dir=str(cache))
        result = run_clipper("batch", str(notes), "--config", str(config), cwd=tmp_path, timeout=180)
        host.wait_idle()
        expired = [seen for seen in host.requests if seen.status == 403]
        segment_bytes = sum(seen.sent for seen in host.requests if seen.path.endswith(".ts") and seen.status < 300)
    assert expired, "no URL expired: the test did not test anything"
    assert result.returncode == 0, result.stderr
    assert "looking the video up again" in result.stderr, result.stderr
    assert segment_bytes < segments_size * 1.3, (segment_bytes, segments_size)  # resumed, not started over
    cached = [path for path in cache.iterdir() if path.suffix in (".mp4", ".mkv")]
    assert len(cached) == 1 and duration_of(cached[0]) > 698, cached
    assert_clips(tmp_path / "out", long_thumbs, [CLIP, SECOND_CLIP])


def test_an_hls_whole_download_that_cannot_get_every_fragment_fails_and_caches_nothing(
    tmp_path: Path, hls_folder: Path
) -> None:
    notes = two_clip_note(tmp_path)
    cache = tmp_path / "cache"
    served = tmp_path / "hls"
    shutil.copytree(hls_folder, served)
    (served / "seg050.ts").unlink()  # gone for good: no lookup gets the whole video
    with serve_host(served) as host:
        config = write_config(tmp_path, host.url("talk.m3u8"), fetch="full", cache_dir=str(cache), retries=1)
        result = run_clipper("batch", str(notes), "--config", str(config), cwd=tmp_path, timeout=180)
        missing = host.gets("seg050.ts")
    assert missing, "the missing segment was never asked for: the test did not test anything"
    assert result.returncode == 1, result.stderr
    summary = result.stderr.splitlines()[-1]
    assert "HTTP Error 404" in summary and "failed u3HBJVjpXuw (2 clip(s)" in summary, result.stderr
    assert not [path for path in cache.iterdir() if path.suffix in (".mp4", ".mkv", ".ts")], list(cache.iterdir())
    assert not list((tmp_path / "out").glob("*.mp4"))
