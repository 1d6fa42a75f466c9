"""Commands are data: the exact argv clipper hands to ffmpeg, ffprobe and yt-dlp."""

from __future__ import annotations

from fractions import Fraction

import pytest

from clipper.core.streams import MediaStream
from clipper.fetch import failures, resolve, ytdlp_argv
from clipper.media import cut_args, probe, smart_args
from clipper.media.probe import MediaInfo


@pytest.mark.parametrize(
    ("value", "text"), [(38, "38"), (34.5, "34.5"), (0.04, "0.04"), (1 / 3, "0.333333"), (4800.5, "4800.5")]
)
def test_seconds_arg(value: float, text: str) -> None:
    assert cut_args.seconds_arg(value) == text


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
    assert probe.file_arg(location) == arg


FF = ["ffmpeg", "-hide_banner", "-nostdin", "-y", "-loglevel", "error", "-progress", "pipe:1", "-nostats"]
RECONNECT = ["-reconnect", "1", "-reconnect_on_network_error", "1", "-reconnect_delay_max", "4",
             "-rw_timeout", "30000000"]  # fmt: skip


def test_reencode_argv_for_a_local_file() -> None:
    argv = cut_args.cut_argv("/v/src.mp4", 0.0, 38, 57, "reencode", "/out/.a.mp4.part", metadata=[("title", "A = b")])
    assert argv == [
        *FF, "-seek_timestamp", "1", "-ss", "37", "-i", "file:/v/src.mp4",
        "-map", "0:v:0?", "-map", "0:a:0?", "-ss", "1", "-t", "57",
        "-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-fps_mode", "passthrough",
        "-c:a", "aac", "-aac_coder", "fast", "-b:a", "160k",
        "-map_metadata", "-1", "-map_chapters", "-1", "-metadata", "title=A = b", "-movflags", "+faststart",
        "-f", "mp4", "file:/out/.a.mp4.part",
    ]  # fmt: skip


def test_reencode_near_the_start_seeks_from_zero() -> None:
    argv = cut_args.cut_argv("/v/src.mp4", 0.0, 0.4, 2, "reencode", "/o/x.mp4")
    assert argv[len(FF):len(FF) + 11] == ["-seek_timestamp", "1", "-ss", "0", "-i", "file:/v/src.mp4", "-map",
                                          "0:v:0?", "-map", "0:a:0?", "-ss"]  # fmt: skip
    assert argv[len(FF) + 11] == "0.4"


def test_a_temporary_name_does_not_change_the_container() -> None:
    argv = cut_args.cut_argv("/v/src.mp4", 0.0, 1, 2, "reencode", "/o/.x.webm.part", container="webm")
    assert argv[-2:] == ["webm", "file:/o/.x.webm.part"] and "libvpx-vp9" in argv


def test_embedded_captions_are_a_soft_track() -> None:
    argv = cut_args.cut_argv("/v/src.mp4", 0.0, 1, 2, "copy", "/o/x.mp4", subtitles="/o/.s.srt")
    assert argv[len(FF) + 6 : len(FF) + 18] == ["-i", "file:/o/.s.srt", "-map", "0:v:0?", "-map", "0:a:0?",
                                                "-map", "1:s:0", "-c:s", "mov_text", "-metadata:s:s:0",
                                                "title=Transcript"]  # fmt: skip


def test_copy_argv_into_webm_seeks_from_the_files_origin() -> None:
    argv = cut_args.cut_argv("-odd:name.mkv", 1.4, 1.5, 2, "copy", "clip.webm")
    assert argv[len(FF):] == [
        "-seek_timestamp", "1", "-ss", "2.9", "-i", "file:-odd:name.mkv", "-map", "0:v:0?", "-map", "0:a:0?",
        "-t", "2", "-c:v", "copy", "-c:a", "copy", "-avoid_negative_ts", "make_zero",
        "-map_metadata", "-1", "-map_chapters", "-1", "-f", "webm", "file:clip.webm",
    ]  # fmt: skip


def test_section_argv_fetches_separate_streams_into_one_file() -> None:
    streams = [
        MediaStream("https://h/v", {"User-Agent": "x"}, has_video=True, has_audio=False),
        MediaStream("https://h/a", has_video=False, has_audio=True),
    ]
    argv = cut_args.section_argv(streams, 37, 97.5, "/o/.s.mp4")
    assert argv[len(FF):] == [
        "-copyts", "-start_at_zero",
        *RECONNECT, "-headers", "User-Agent: x\r\n", "-ss", "37", "-to", "97.5", "-i", "https://h/v",
        *RECONNECT, "-ss", "37", "-to", "97.5", "-i", "https://h/a",
        "-map", "0:v:0?", "-map", "1:a:0?", "-c", "copy", "-map_metadata", "-1", "-f", "mp4", "file:/o/.s.mp4",
    ]  # fmt: skip


def test_webm_is_reencoded_to_vp9_and_opus() -> None:
    argv = cut_args.cut_argv("in.mkv", 0, 0, 3, "reencode", "x.webm")
    assert argv[argv.index("-c:v") + 1] == "libvpx-vp9" and argv[argv.index("-c:a") + 1] == "libopus"


H264 = MediaInfo(
    700.0, 700.0, 25.0, True, True, 1000, start_time=0.0, video_codec="h264", audio_codec="aac", profile="High",
    level=31, pix_fmt="yuv420p", time_base=Fraction(1, 12800), has_b_frames=2, field_order="progressive",
    color=(("-colorspace", "bt709"),),
)  # fmt: skip


def test_encode_piece_matches_the_source_and_keeps_its_decode_delay() -> None:
    argv = smart_args.encode_piece_argv("/s.mp4", H264, 33.32, 17, 0.08, "/o/.p.head.ts")
    assert argv[len(FF):] == [
        "-copyts", "-noautorotate", "-ss", "32.32", "-i", "file:/s.mp4", "-map", "0:v:0", "-an", "-sn", "-dn",
        "-vf", "trim=start=33.3", "-frames:v", "17",
        "-c:v", "libx264", "-preset", "superfast", "-crf", "16", "-bf", "0", "-profile:v", "high", "-level:v", "3.1",
        "-pix_fmt", "yuv420p", "-colorspace", "bt709", "-fps_mode", "passthrough", "-enc_time_base:v", "1:90000",
        "-bsf:v", "setts=dts=DTS-7200",
        "-muxdelay", "0", "-muxpreload", "0", "-f", "mpegts", "file:/o/.p.head.ts",
    ]  # fmt: skip


def test_copy_piece_drops_leading_pictures_by_index() -> None:
    argv = smart_args.copy_piece_argv("/s.mp4", H264, 32.3, 25, 680, (1, 2), "/o/.p.mid.ts")
    assert argv[len(FF):] == [
        "-copyts", "-seek_timestamp", "1", "-ss", "32.3", "-i", "file:/s.mp4", "-map", "0:v:0", "-an", "-sn", "-dn",
        "-c:v", "copy",
        "-bsf:v", "h264_mp4toannexb,dump_extra=freq=keyframe,noise=drop=lt(n\\,25)+eq(n\\,26)+eq(n\\,27)",
        "-frames:v", "678",
        "-muxdelay", "0", "-muxpreload", "0", "-f", "mpegts", "file:/o/.p.mid.ts",
    ]  # fmt: skip


def test_join_reads_ts_pieces_back_to_back_with_the_sources_audio() -> None:
    argv = smart_args.join_argv(["/o/h.ts", "/o/m.ts"], None, H264, "/s.mp4", 33.32, 27.78, "/o/.c.mp4.part")
    assert argv[len(FF):] == [
        "-i", "concat:/o/h.ts|/o/m.ts", "-seek_timestamp", "1", "-ss", "33.32", "-t", "27.78", "-i", "file:/s.mp4",
        "-map", "0:v:0", "-map", "1:a:0", "-c:v", "copy", "-c:a", "copy",
        "-video_track_timescale", "12800", "-movie_timescale", "1000", "-map_metadata", "-1", "-map_chapters", "-1",
        "-movflags", "+faststart", "-f", "mp4", "file:/o/.c.mp4.part",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("changes", "output", "reason"),
    [
        ({}, "a.mp4", None),
        ({}, "a.webm", "webm cannot hold H.264"),
        ({"video_codec": "mpeg2video"}, "a.mp4", "no matching encoder for mpeg2video video"),
        ({"video_codec": "hevc", "profile": "Main"}, "a.mp4", None),
        ({"video_codec": "hevc", "profile": "Main 10", "pix_fmt": "yuv420p10le"}, "a.mkv", None),
        (
            {"video_codec": "hevc", "profile": "Rext", "pix_fmt": "yuv444p"},
            "a.mp4",
            "HEVC profile Rext cannot be matched",
        ),
        ({"video_codec": "hevc", "profile": "Main"}, "a.webm", "webm cannot hold HEVC"),
        ({"video_codec": "av1", "profile": "Main"}, "a.webm", None),
        ({"video_codec": "av1", "pix_fmt": "yuv420p10le"}, "a.mp4", None),
        ({"video_codec": "av1", "pix_fmt": "yuv444p"}, "a.mp4", "AV1 pixel format yuv444p cannot be matched"),
        ({"profile": "High 10 Intra"}, "a.mp4", "H.264 profile High 10 Intra cannot be matched"),
        ({"pix_fmt": "yuv422p"}, "a.mp4", "pixel format yuv422p cannot be matched"),
        ({"profile": "High 10", "pix_fmt": "yuv420p10le"}, "a.mp4", None),
        ({"profile": "High 10", "pix_fmt": "yuv422p10le"}, "a.mp4", "pixel format yuv422p10le cannot be matched"),
        ({"profile": "High 4:2:2", "pix_fmt": "yuv422p10le"}, "a.mp4", None),
        ({"profile": "High 4:4:4 Predictive", "pix_fmt": "yuv444p"}, "a.mp4", None),
        ({"profile": "High 4:4:4 Predictive", "pix_fmt": "gbrp"}, "a.mp4", "pixel format gbrp cannot be matched"),
        ({"rotation": 90}, "a.mp4", None),
        ({"rotation": 270}, "a.mkv", "matroska cannot hold the picture's rotation"),
        ({"rotation": 45}, "a.mp4", "a display matrix turned by 45 degrees"),
        ({"field_order": "tt"}, "a.mp4", "interlaced video"),
        ({"has_video": False}, "a.mp4", "no video stream"),
        ({"video_codec": "vp9", "profile": "Profile 0"}, "a.webm", None),
    ],
)
def test_what_smart_cut_can_match(changes: dict[str, object], output: str, reason: str | None) -> None:
    from dataclasses import replace

    assert smart_args.smart_unsupported(replace(H264, **changes), output) == reason  # type: ignore[arg-type]


def test_the_matching_encoders_of_hevc_and_av1_are_set_up_like_the_source() -> None:
    from dataclasses import replace

    hevc = replace(H264, video_codec="hevc", profile="Main 10", pix_fmt="yuv420p10le", level=123, color=())
    av1 = replace(H264, video_codec="av1", profile="Main", pix_fmt="yuv420p", level=None, color=())

    assert smart_args.matching_encoder(hevc) == [
        "-c:v", "libx265", "-preset", "ultrafast", "-crf", "16", "-bf", "0",
        "-x265-params", "log-level=error:level-idc=4.1", "-profile:v", "main10", "-pix_fmt", "yuv420p10le",
    ]  # fmt: skip
    assert smart_args.matching_encoder(av1) == [
        "-c:v", "libsvtav1", "-preset", "10", "-crf", "20", "-g", "300", "-pix_fmt", "yuv420p",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("profile", "pix_fmt", "x264_profile"),
    [
        ("High", "yuv420p", "high"),
        ("High 10", "yuv420p10le", "high10"),
        ("High 4:2:2", "yuv422p", "high422"),
        ("High 4:2:2", "yuv422p10le", "high422"),
        ("High 4:4:4 Predictive", "yuv444p10le", "high444"),
    ],
)
def test_the_matching_encoder_keeps_the_profile_and_pixel_format(profile: str, pix_fmt: str, x264_profile: str) -> None:
    from dataclasses import replace

    argv = smart_args.matching_encoder(replace(H264, profile=profile, pix_fmt=pix_fmt))
    assert argv[argv.index("-profile:v") :] == ["-profile:v", x264_profile, "-level:v", "3.1", "-pix_fmt", pix_fmt,
                                                "-colorspace", "bt709"]  # fmt: skip


@pytest.mark.parametrize(
    ("container", "pix_fmt", "video"),
    [
        ("mp4", "yuv422p10le", ["-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-profile:v", "high422",
                                "-pix_fmt", "yuv422p10le"]),
        ("matroska", "yuv420p10le", ["-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-profile:v", "high10",
                                     "-pix_fmt", "yuv420p10le"]),
        ("mp4", "yuvj444p", ["-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-profile:v", "high444",
                             "-pix_fmt", "yuvj444p"]),
        # libx264 has no 12-bit: ffmpeg picks its nearest format and x264 the profile for it
        ("mp4", "yuv420p12le", ["-c:v", "libx264", "-preset", "veryfast", "-crf", "18"]),
        ("webm", "yuv422p10le", ["-c:v", "libvpx-vp9", "-crf", "32", "-b:v", "0", "-row-mt", "1", "-deadline", "good",
                                 "-cpu-used", "4", "-pix_fmt", "yuv422p10le"]),
        ("webm", "yuvj420p", ["-c:v", "libvpx-vp9", "-crf", "32", "-b:v", "0", "-row-mt", "1", "-deadline", "good",
                              "-cpu-used", "4"]),
    ],
)  # fmt: skip
def test_a_reencode_keeps_pixel_format_colour_and_timestamps(container: str, pix_fmt: str, video: list[str]) -> None:
    from dataclasses import replace

    argv = cut_args.encoder_args(container, replace(H264, pix_fmt=pix_fmt, color=(("-color_range", "pc"),)))
    audio = cut_args.audio_encoder(container)
    assert argv == [*video, "-color_range", "pc", "-fps_mode", "passthrough", "-enc_time_base:v", "1:12800", *audio]


def test_a_reencode_without_media_information_leaves_the_pixel_format_to_ffmpeg() -> None:
    assert cut_args.encoder_args("mp4") == ["-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-fps_mode",
                                       "passthrough", *cut_args.audio_encoder("mp4")]  # fmt: skip


def test_cut_argv_hands_the_media_information_to_the_encoder() -> None:
    from dataclasses import replace

    source = replace(H264, pix_fmt="yuv422p10le", profile="High 4:2:2")
    argv = cut_args.cut_argv("/v/src.mp4", 0.0, 1, 2, "reencode", "/o/x.mkv", info=source)
    assert argv[argv.index("-c:v") : argv.index("-c:a")] == [
        "-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-profile:v", "high422", "-pix_fmt", "yuv422p10le",
        "-colorspace", "bt709", "-fps_mode", "passthrough", "-enc_time_base:v", "1:12800"]  # fmt: skip


def test_a_rotated_source_is_joined_with_its_rotation() -> None:
    from dataclasses import replace

    argv = smart_args.join_argv(["/o/h.ts", "/o/m.ts"], None, replace(H264, rotation=270), "/s.mp4", 33.32, 27.78,
                                "/o/c.mp4")  # fmt: skip
    assert argv[argv.index("-video_track_timescale") : argv.index("-map_metadata")] == [
        "-video_track_timescale", "12800", "-movie_timescale", "1000", "-metadata:s:v:0", "rotate=270"]  # fmt: skip
    # ffmpeg 6 and later: the input option instead (7 and later ignore the tag)
    argv = smart_args.join_argv(["/o/h.ts", "/o/m.ts"], None, replace(H264, rotation=270), "/s.mp4", 33.32, 27.78,
                                "/o/c.mp4", display_rotation=True)  # fmt: skip
    assert argv[len(FF) : argv.index("-i") + 2] == ["-display_rotation:v:0", "270", "-i", "concat:/o/h.ts|/o/m.ts"]
    assert "-metadata:s:v:0" not in argv


@pytest.mark.parametrize(
    ("stream", "rotation"),
    [
        ({}, 0),
        ({"side_data_list": [{"side_data_type": "Display Matrix", "displaymatrix": "...", "rotation": 90}]}, 90),
        ({"side_data_list": [{"side_data_type": "Display Matrix", "rotation": -90}]}, 270),
        ({"side_data_list": [{"side_data_type": "Display Matrix", "rotation": -180}]}, 180),
        ({"side_data_list": [{"side_data_type": "Spherical Mapping"}], "tags": {"rotate": "90"}}, 90),
        ({"tags": {"rotate": "270"}}, 270),
        ({"side_data_list": [{"side_data_type": "Display Matrix", "rotation": "nan"}]}, 0),
    ],
)
def test_the_rotation_is_read_from_the_display_matrix(stream: dict[str, object], rotation: int) -> None:
    data = {"streams": [{"codec_type": "video", "codec_name": "h264", **stream}], "format": {"duration": "2.0"}}
    assert probe.media_info(data).rotation == rotation


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
    assert probe.verify_clip(media, asked, mode) == reason


def test_resolve_argv_is_hardened() -> None:
    argv = ytdlp_argv.resolve_argv("https://www.youtube.com/watch?v=u3HBJVjpXuw", "bv*+ba/b", ("res:1080",),
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
        resolve.resolve(argv)


@pytest.mark.parametrize(
    ("codec", "container", "audio"),
    [
        ("aac", "mp4", ["-c:a", "copy"]),  # MP4's edit list trims the copied audio to the sample
        ("opus", "mp4", ["-c:a", "aac", "-aac_coder", "fast", "-b:a", "160k"]),
        ("aac", "matroska", ["-c:a", "aac", "-aac_coder", "fast", "-b:a", "160k"]),  # no edit list: early audio
        ("opus", "webm", ["-c:a", "libopus", "-b:a", "128k"]),
    ],
)
def test_smart_joins_copy_audio_only_where_it_stays_exact(codec: str, container: str, audio: list[str]) -> None:
    assert cut_args.audio_copy_or_encode(codec, container) == audio


@pytest.mark.parametrize(
    ("message", "short"),
    [
        ("ERROR: [generic] x: HTTP Error 404: Not Found", "[generic] x: HTTP Error 404: Not Found"),
        ("ERROR: [youtube] v: Unable to download API page: Failed to resolve 'h' (caused by TransportError('h'))",
         "[youtube] v: Unable to download API page: Failed to resolve 'h'"),
        ("", "yt-dlp failed"),
    ],
)  # fmt: skip
def test_yt_dlp_errors_are_shown_on_one_short_line(message: str, short: str) -> None:
    assert failures._short(message) == short


def test_the_encoders_ffmpeg_lists_are_read_from_its_table() -> None:
    listing = """Encoders:
 V..... = Video
 A..... = Audio
 ------
 V....D libx264              libx264 H.264 / AVC / MPEG-4 AVC / MPEG-4 part 10 (codec h264)
 V..... libsvtav1            SVT-AV1(Scalable Video Technology for AV1) encoder (codec av1)
 A....D aac                  AAC (Advanced Audio Coding)
"""
    assert smart_args.listed_encoders(listing) == {"libx264", "libsvtav1", "aac"}
