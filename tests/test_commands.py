"""Commands are data: the exact argv clipper hands to ffmpeg, ffprobe and yt-dlp."""

from __future__ import annotations

import pytest

from clipper import cut, fetch
from clipper.cut import MediaInfo
from clipper.fetch import MediaStream


@pytest.mark.parametrize(
    ("value", "text"), [(38, "38"), (34.5, "34.5"), (0.04, "0.04"), (1 / 3, "0.333333"), (4800.5, "4800.5")]
)
def test_seconds_arg(value: float, text: str) -> None:
    assert cut.seconds_arg(value) == text


@pytest.mark.parametrize(
    ("location", "arg"),
    [
        ("-rf.mp4", "file:-rf.mp4"),
        ("a:b.mp4", "file:a:b.mp4"),
        ("/x/y.mp4", "file:/x/y.mp4"),
        ("http://127.0.0.1:8/v.mp4", "http://127.0.0.1:8/v.mp4"),
    ],
)
def test_file_arg_keeps_odd_names_files(location: str, arg: str) -> None:
    assert cut.file_arg(location) == arg


def test_reencode_argv_for_a_local_file() -> None:
    argv = cut.cut_argv([MediaStream("/v/src.mp4")], 38, 57, "reencode", "/out/.a.mp4.part")
    assert argv == [
        "ffmpeg", "-hide_banner", "-nostdin", "-y", "-loglevel", "error", "-progress", "pipe:1", "-nostats",
        "-ss", "38", "-i", "file:/v/src.mp4",
        "-map", "0:v:0?", "-map", "0:a:0?", "-t", "57",
        "-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "160k",
        "-map_metadata", "-1", "-map_chapters", "-1", "-movflags", "+faststart", "-f", "mp4", "file:/out/.a.mp4.part",
    ]  # fmt: skip


def test_copy_argv_for_separate_video_and_audio_urls_into_webm() -> None:
    streams = [
        MediaStream("https://h/v", {"User-Agent": "x"}, has_video=True, has_audio=False),
        MediaStream("https://h/a", has_video=False, has_audio=True),
    ]
    argv = cut.cut_argv(streams, 1.5, 2, "copy", "clip.webm")
    reconnect = ["-reconnect", "1", "-reconnect_on_network_error", "1", "-reconnect_delay_max", "4",
                 "-rw_timeout", "30000000"]  # fmt: skip
    assert argv[9:] == [
        *reconnect, "-headers", "User-Agent: x\r\n", "-ss", "1.5", "-i", "https://h/v",
        *reconnect, "-ss", "1.5", "-i", "https://h/a",
        "-map", "0:v:0?", "-map", "1:a:0?", "-t", "2", "-c", "copy", "-avoid_negative_ts", "make_zero",
        "-map_metadata", "-1", "-map_chapters", "-1", "-f", "webm", "file:clip.webm",
    ]  # fmt: skip


def test_webm_is_reencoded_to_vp9_and_opus() -> None:
    argv = cut.cut_argv([MediaStream("in.mkv")], 0, 3, "reencode", "x.webm")
    assert argv[argv.index("-c:v") + 1] == "libvpx-vp9" and argv[argv.index("-c:a") + 1] == "libopus"
    assert "-ss" not in argv  # nothing to seek at zero


def info(duration: float, video: float | None = None, rate: float | None = 25.0) -> MediaInfo:
    return MediaInfo(duration, video, rate, video is not None, True, 100)


@pytest.mark.parametrize(
    ("media", "asked", "mode", "reason"),
    [
        (info(57.0, 57.0), 57.0, "reencode", None),
        (info(57.04, 57.04), 57.0, "reencode", None),
        (info(57.1, 57.1), 57.0, "reencode", "it lasts 57.100s, asked for 57.000s (more than a frame off)"),
        (info(56.9, 56.9), 57.0, "reencode", "it lasts 56.900s, asked for 57.000s (more than a frame off)"),
        (info(3.02, None, None), 3.0, "reencode", None),
        (info(0.0, None, None), 3.0, "reencode", "it holds no media"),
        (info(58.5, 58.5), 57.0, "copy", None),
        (info(50.0, 50.0), 57.0, "copy", "it lasts 50.000s, asked for 57.000s"),
    ],
)
def test_verify_clip(media: MediaInfo, asked: float, mode: str, reason: str | None) -> None:
    assert cut.verify_clip(media, asked, mode) == reason


def test_resolve_argv_is_hardened() -> None:
    argv = fetch.resolve_argv("https://www.youtube.com/watch?v=u3HBJVjpXuw", "bv*+ba/b", ("res:1080",),
                              ("deno", "/bin/deno"))  # fmt: skip
    assert argv == [
        "yt-dlp", "--ignore-config", "--no-plugin-dirs", "--no-playlist",
        "--no-js-runtimes", "--js-runtimes", "deno:/bin/deno", "-f", "bv*+ba/b", "-S", "res:1080",
        "--get-url", "--", "https://www.youtube.com/watch?v=u3HBJVjpXuw",
    ]  # fmt: skip


@pytest.mark.parametrize(
    "argv",
    [
        ["yt-dlp", "--exec", "touch x", "--", "u"],
        ["yt-dlp", "--ignore-config", "--no-plugin-dirs", "--no-playlist", "u"],
        ["youtube-dl", "--ignore-config", "--no-plugin-dirs", "--no-playlist", "--", "u"],
    ],
)
def test_only_hardened_argv_reach_yt_dlp(argv: list[str]) -> None:
    with pytest.raises(ValueError, match="not built by clipper"):
        fetch.resolve(argv)
