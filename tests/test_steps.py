"""How each video is fetched, which ffmpeg steps make each clip, and the dry run's script of them (pure: nothing
is run here)."""

from __future__ import annotations

import shlex
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import replace
from fractions import Fraction
from pathlib import Path
from types import MappingProxyType

import pytest

from clipper.cli.dry_run import dry_run_lines
from clipper.media.probe import MediaInfo
from clipper.media.smart import Packet
from clipper.plan.config import Config
from clipper.plan.jobs import ClipJob
from clipper.run.paths import poster_path
from clipper.run.steps import LocalMedia, clip_steps
from clipper.run.videos import covered_seconds, group_videos, merge_sections
from clipper.share import loudness, reframe

URL = "https://www.youtube.com/watch?v=abcdefghijk"


def job(start: float, end: float, *, source: str = URL, duration: float | None = 600.0, name: str = "") -> ClipJob:
    return ClipJob("abcdefghijk", URL, source, "t", start, end, name or f"c{start:g}.mp4", Path("n.md"), 3,
                   video_duration=duration)  # fmt: skip


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return Config(output_dir=tmp_path / "out", cache_dir=tmp_path / "cache", jobs=2)


def test_covered_seconds_counts_overlaps_once() -> None:
    assert covered_seconds([(0, 10), (5, 15), (20, 30)]) == 25


def test_sections_are_padded_and_merged_when_they_touch() -> None:
    sections = merge_sections([job(100, 130), job(10, 20), job(21, 25), job(590, 600)], 600.0)
    assert [(s.start, s.end, [j.start for j in s.jobs]) for s in sections] == [
        (9.0, 27.0, [10, 21]),
        (99.0, 132.0, [100]),
        (589.0, 602.0, [590]),
    ]


def test_a_note_that_says_its_video_is_shorter_than_its_clip_does_not_cut_the_section_short() -> None:
    [section] = merge_sections([job(50, 55)], 40.0)  # the note's duration: 40 s; its clip ends at 55 s
    assert (section.start, section.end) == (49.0, 57.0)


@pytest.mark.parametrize(
    ("jobs", "fetch", "strategy", "reason"),
    [
        ([job(10, 70)], "auto", "sections",
         "1 clip(s) cover 60s of 600s (10%): fetching only the sections saves most of the download"),
        ([job(0, 200), job(300, 400)], "auto", "full",
         "2 clip(s) cover 300s of 600s (50%): one whole download costs little more than the sections"),
        ([job(10, 70, duration=None)], "auto", "sections", "the video's length is unknown: fetching only the sections"),
        ([job(10, 70)], "full", "full", "fetch: full in the config"),
        ([job(0, 500)], "sections", "sections", "fetch: sections in the config"),
        ([job(10, 70, source="/media/v.mp4")], "auto", "local", "a local file"),
    ],
)  # fmt: skip
def test_fetch_strategy_and_why(config: Config, jobs: list[ClipJob], fetch: str, strategy: str, reason: str) -> None:
    [plan] = group_videos(jobs, replace(config, fetch=fetch))
    assert (plan.strategy, plan.reason) == (strategy, reason)
    assert bool(plan.sections) == (strategy == "sections")


def test_a_cached_download_is_reused(config: Config) -> None:
    from clipper.fetch import cache

    key = cache.cache_key(URL, config.format, config.format_sort)
    [plan] = group_videos([job(10, 20)], config, {key: Path("/cache/abcdefghijk.mkv")})
    assert (plan.strategy, plan.reason) == ("full", "downloaded before (in the cache)")


@pytest.mark.parametrize(
    ("other", "other_sort"),
    [
        ("b", None),  # another format
        ("bv*+ba/b", ("res:720",)),  # another sort
        ("bv*+ba/b", ("ext:mp4:m4a", "acodec:aac", "res:1080", "vcodec:h264")),  # the same fields, another order
        ("bv*+ba/b", ()),  # no sort at all
    ],
)  # fmt: skip
def test_each_format_of_a_video_is_cached_under_its_own_key(
    config: Config, other: str, other_sort: tuple[str, ...] | None
) -> None:
    """A whole download made with one format (or format sort) is another file than with another: the second
    setting must not find the first's file in the cache and cut from it."""
    from clipper.fetch import cache
    from clipper.run.manifest import find_cached
    from clipper.run.videos import full_target

    first = replace(config, fetch="full", format="bv*+ba/b")
    second = replace(first, format=other, format_sort=first.format_sort if other_sort is None else other_sort)
    jobs = [job(10, 20)]
    [first_plan], [second_plan] = group_videos(jobs, first), group_videos(jobs, second)
    first_file, second_file = full_target(first_plan, first), full_target(second_plan, second)
    assert first_file != second_file
    assert cache.cache_key(URL, first.format, first.format_sort) != cache.cache_key(URL, second.format,
                                                                                   second.format_sort)  # fmt: skip

    config.cache_dir.mkdir()
    made = Path(first_file.replace("%(ext)s", "mp4"))
    made.write_bytes(b"the first format's download")
    assert list(find_cached(jobs, first).values()) == [made]
    assert find_cached(jobs, second) == {}
    [again] = group_videos(jobs, second, find_cached(jobs, second))
    assert again.reason == "fetch: full in the config"  # not "downloaded before": it is downloaded in its format
    # A clip command's own format (``-f``, ``-S``) is its own key too.
    own = group_videos([replace(job(10, 20), format="b"), replace(job(30, 40), format_sort=("res:720",))], first)
    assert len(own) == 2 and len({first_file, *(full_target(plan, first) for plan in own)}) == 3


def test_the_cache_key_stays_what_earlier_runs_named_their_downloads(config: Config) -> None:
    """A download cached by an earlier version is found by this one: the key (source, format, sort) is unchanged."""
    from clipper.fetch import cache

    assert cache.cache_key(URL, config.format, config.format_sort) == "04863549a8"
    assert len({cache.cache_key(source, "b", ()) for source in (URL, URL + "&t=1", "http://127.0.0.1/v.mp4")}) == 3


def test_one_plan_per_video_and_source(config: Config) -> None:
    plans = group_videos([job(1, 2), job(3, 4), job(5, 6, source="http://127.0.0.1/v.mp4")], config)
    assert [(p.source, len(p.jobs)) for p in plans] == [(URL, 2), ("http://127.0.0.1/v.mp4", 1)]


H264 = MediaInfo(
    600.0, 600.0, 25.0, True, True, 1000, video_codec="h264", profile="High", level=31, pix_fmt="yuv420p",
    time_base=Fraction(1, 12800), has_b_frames=0, field_order="progressive",
)  # fmt: skip


def gop_packets(first: int, last: int, gop: int = 50, tick: int = 512) -> list[Packet]:
    """Packets of frames first..last (frame numbers, 25 fps in 1/12800 units), no B-frames."""
    return [Packet(n * tick, n * tick, n % gop == 0) for n in range(first, last + 1)]


def runs_of(argv: Sequence[str]) -> tuple[list[list[str]], list[list[str]]]:
    """A pieces run's argv -> (each input's options, ending with -i FILE; each output's, from its -map)."""
    argv = list(argv)
    maps = [index for index, arg in enumerate(argv) if arg == "-map"]
    inputs, begin = [], argv.index("-copyts") + 1
    for index, arg in enumerate(argv[: maps[0]]):
        if arg == "-i":
            inputs.append(argv[begin : index + 2])
            begin = index + 2
    outputs = [argv[start:end] for start, end in zip(maps, [*maps[1:], len(argv)], strict=True)]
    return inputs, outputs


def test_smart_steps_encode_the_head_copy_the_rest_and_join(config: Config) -> None:
    clip = job(33.32, 61.1, source="/m/v.mp4")  # frames 833..1527; keyframes every 50 frames
    cut_plan = clip_steps(clip, config, "/m/v.mp4", 0.0, H264, gop_packets(800, 1600))
    steps = cut_plan.steps
    assert (cut_plan.mode, cut_plan.notes) == ("smart", ())
    assert [(s.phase, s.seconds) for s in steps] == [("pieces", pytest.approx(27.78)), ("splice", pytest.approx(27.1)),
                                                     ("join", pytest.approx(27.78))]  # fmt: skip
    pieces, splice, join = (list(s.argv) for s in steps)
    # One ffmpeg run writes both pieces, each from its own input.
    (encode_in, copy_in), (encode, copy) = runs_of(pieces)
    assert encode[:2] == ["-map", "0:v:0"] and copy[:2] == ["-map", "1:v:0"]
    # Decoding starts at the keyframe before the head (frame 800 at 32 s), and keeps what it decodes.
    assert encode_in == ["-threads", "1", "-noautorotate", "-noaccurate_seek", "-ss", "32.0005", "-i", "file:/m/v.mp4"]
    assert encode[encode.index("-frames:v") + 1] == "17"
    assert encode[encode.index("-vf") + 1] == "trim=start=33.3"  # from the frame at 33.32, half a frame early
    # The copy seeks where the packet listing began (33.32 - 1 s; the listing here starts at frame 800) and drops
    # the 50 packets before the keyframe at frame 850.
    assert copy_in == ["-seek_timestamp", "1", "-ss", "32.32", "-i", "file:/m/v.mp4"]
    assert copy[copy.index("-frames:v") + 1] == "678"
    assert copy[copy.index("-bsf:v") + 1].endswith("noise=drop=lt(n\\,50)")
    # Each piece is checked before the join: where it starts and how many frames it holds.
    head, copied = steps[0].pieces
    assert (head.kind, head.starts_at, head.frames, head.output) == ("encode", pytest.approx(33.32), 17, encode[-1][5:])
    assert (copied.kind, copied.starts_at, copied.frames, copied.output) == ("copy", 34.0, 678, copy[-1][5:])
    assert steps[0].outputs == (head.output, copied.output)
    # An open GOP's keyframe would start a new sequence after the splice (a closed one is left as it is).
    assert splice[-4:] == ["-m", "clipper.media.bitstream.splice", copied.output, steps[1].output]
    assert join[join.index("-i") + 1] == f"concat:{head.output}|{steps[1].output}"
    assert join[join.index("-t") + 1] == "27.78"
    assert join[-1] == f"file:{config.output_dir / '.c33.32.mp4.part'}"
    assert all(Path(output).parent == config.output_dir for s in steps for output in s.outputs)


def test_a_smart_cut_takes_its_poster_frame_from_the_source_in_the_same_run(config: Config) -> None:
    clip = job(33.32, 61.1, source="/m/v.mp4")  # keyframes every 2 s (frames 800, 850, ...)
    source = replace(H264, start_time=0.5)
    pieces = clip_steps(clip, config, "/m/v.mp4", 0.0, source, gop_packets(800, 1600), poster=True).steps[0]
    (poster_in, *_), (poster, *_) = runs_of(pieces.argv)
    # First (ffmpeg 5.1 would decode its input to the end after the pieces): the first keyframe from a second in
    # (34.32), at 36 s, decoded alone: its seek (from the file's start) lands on it, as a head's does.
    assert poster_in == ["-threads", "1", "-skip_frame", "nokey", "-noaccurate_seek", "-ss", "35.5005",
                         "-i", "file:/m/v.mp4"]  # fmt: skip
    assert poster[:2] == ["-map", "0:v:0"] and poster[-1] == f"file:{poster_path(clip, config)}"
    assert [piece.kind for piece in pieces.pieces] == ["encode", "copy"]
    assert clip_steps(clip, config, "/m/v.mp4", 0.0, source, gop_packets(800, 1600)).steps[0].argv.count("-i") == 2
    # No keyframe before the clip's end: the frame a third into it (short), found by decoding up to it.
    short = job(33.32, 35.9, source="/m/v.mp4")
    pieces = clip_steps(short, config, "/m/v.mp4", 0.0, source, gop_packets(800, 1600), poster=True).steps[0]
    (poster_in, *_), _ = runs_of(pieces.argv)
    assert poster_in == ["-threads", "1", "-ss", "33.68", "-i", "file:/m/v.mp4"]


def test_a_run_of_several_clips_at_once_encodes_each_piece_on_one_thread(config: Config) -> None:
    clip = job(33.32, 61.1, source="/m/v.mp4")  # a head (frames 833..849) re-encoded, then copies
    pieces = clip_steps(clip, config, "/m/v.mp4", 0.0, H264, gop_packets(800, 1600)).steps[0]
    (head_in, _), (head, _) = runs_of(pieces.argv)
    assert head_in[:3] == ["-threads", "1", "-noautorotate"]  # its decoder
    threads = head.index("-threads")  # an output option: its encoder's
    assert head[threads + 1] == "1" and threads > head.index("libx264")
    # One clip at a time (jobs: 1): ffmpeg and x264 take the cores they find.
    alone = clip_steps(clip, replace(config, jobs=1), "/m/v.mp4", 0.0, H264, gop_packets(800, 1600)).steps[0]
    assert "-threads" not in alone.argv


def test_smart_falls_back_to_reencode_and_says_why(config: Config) -> None:
    clip = job(10, 20, source="/m/v.mp4")
    cut_plan = clip_steps(clip, config, "/m/v.mp4", 0.0, replace(H264, video_codec="mpeg4"), [])
    steps = cut_plan.steps
    assert (cut_plan.mode, cut_plan.notes) == (
        "reencode",
        ("re-encoding the whole clip: no matching encoder for mpeg4 video",),
    )
    assert [s.phase for s in steps] == ["cut"]
    assert "libx264" in steps[0].argv


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash to check the script's syntax")
@pytest.mark.parametrize("mode", ["smart", "reencode", "copy"])
def test_dry_run_is_valid_shell(config: Config, tmp_path: Path, mode: str) -> None:
    weird = replace(config, output_dir=tmp_path / "out $HOME `x`", mode=mode)
    local_file = str(tmp_path / "it's; rm -rf ~.mp4")
    jobs = [job(10, 20), job(300, 320), job(40, 45, source=local_file, name="-x.mp4")]
    plans = group_videos(jobs, weird)
    media: LocalMedia = {local_file: (H264, {jobs[2]: gop_packets(200, 1200)}, {})}
    script = "\n".join(dry_run_lines(plans, weird, None, media)) + "\n"
    checked = subprocess.run(["bash", "-n"], input=script, text=True, capture_output=True)
    assert checked.returncode == 0, checked.stderr
    assert all(shlex.split(line) for line in script.splitlines() if not line.startswith("#"))
    assert not weird.output_dir.exists()


def test_dry_run_of_a_full_download(config: Config) -> None:
    plans = group_videos([job(0, 400)], config)
    lines = dry_run_lines(plans, config, None, MappingProxyType({}))
    download = next(shlex.split(line) for line in lines if line.startswith("yt-dlp "))
    assert download[-2:] == ["--", URL]
    assert download[download.index("-o") + 1].startswith(str(config.cache_dir / "abcdefghijk-"))
    assert "--ignore-config" in download and "--no-plugin-dirs" in download


def test_a_reencode_is_cut_at_the_sources_own_frame_times() -> None:
    from fractions import Fraction

    from clipper.media.smart import Packet
    from clipper.run.steps import snap_to_packets

    # Frames at 0, 33, 66 ms (30 fps), then 106, 146 ms (25 fps): no constant grid; the file starts at 10 s.
    packets = [Packet(pts, None, pts == 10_000) for pts in (10_000, 10_033, 10_066, 10_106, 10_146)]
    tb = Fraction(1, 1000)

    assert snap_to_packets(0.07, 10.0, packets, tb) == pytest.approx(0.106)  # the first frame at or after
    assert snap_to_packets(0.106, 10.0, packets, tb) == pytest.approx(0.106)  # a frame's own time stays
    assert snap_to_packets(0.0, 10.0, packets, tb) == 0.0
    assert snap_to_packets(0.5, 10.0, packets, tb) == 0.5  # past the frames listed: as asked


@pytest.mark.parametrize(("start", "lead"), [(10.0, 1.0), (0.4, 0.4), (0.0, 0.0)])
def test_burnt_captions_count_from_where_the_filters_timeline_starts(config: Config, start: float, lead: float) -> None:
    # ffmpeg trims an output (its -ss after -i) after the filters: the subtitles filter sees the seek's lead too.
    from clipper.share.captions import Cue

    clip = replace(job(start, start + 5, source="/m/v.mp4"), captions=(Cue(0.0, 2.0, "First."), Cue(2.0, 5.0, "Then.")))
    [step] = clip_steps(clip, replace(config, captions="burn"), "/m/v.mp4", 0.0, H264, []).steps
    argv = list(step.argv)
    assert argv[argv.index("-ss") + 1] == f"{start - lead:g}"  # the seek starts the filters' timeline
    [(path, text)] = step.files
    first = f"00:00:{lead:06.3f}".replace(".", ",")
    assert text.splitlines()[:3] == ["1", f"{first} --> 00:00:0{2 + lead:.3f}".replace(".", ","), "First."]
    assert argv[argv.index("-vf") + 1] == f"subtitles=filename={Path(path).name}"


def test_a_new_shape_re_encodes_the_clip_and_says_why(config: Config) -> None:
    clip = job(33.32, 61.1, source="/m/v.mp4")
    cut_plan = clip_steps(clip, replace(config, aspect="9:16"), "/m/v.mp4", 0.0, H264, gop_packets(800, 1600))
    assert (cut_plan.mode, cut_plan.notes) == ("reencode", ("re-encoding the whole clip: cropped to 9:16 (every frame "
                                                            "changes)",))  # fmt: skip
    [step] = cut_plan.steps
    argv = list(step.argv)
    assert argv[argv.index("-vf") + 1] == reframe.video_filter((9, 16))
    assert "-fps_mode" in argv and argv[argv.index("-fps_mode") + 1] == "passthrough"  # the source's frame timing


def test_a_picture_already_of_the_shape_is_kept(config: Config) -> None:
    wide = replace(H264, width=1920, height=1080)
    cut_plan = clip_steps(job(33.32, 61.1, source="/m/v.mp4"), replace(config, aspect="16:9"), "/m/v.mp4", 0.0, wide,
                          gop_packets(800, 1600))  # fmt: skip
    assert (cut_plan.mode, cut_plan.notes) == ("smart", ("already 16:9: the picture is kept as it is",))


def test_burnt_captions_on_a_new_shape_are_styled_for_a_phone(config: Config) -> None:
    from clipper.share.captions import Cue

    clip = replace(job(10, 15, source="/m/v.mp4"), captions=(Cue(0.0, 5.0, "Said."),))
    [step] = clip_steps(clip, replace(config, aspect="9:16", captions="burn"), "/m/v.mp4", 0.0, H264, []).steps
    [(path, text)] = step.files
    assert path.endswith(".ass") and "PlayResY: 1920" in text and ",Default,,0,0,0,,Said." in text
    assert "0:00:01.00,0:00:06.00" in text  # from the seek's lead on, like every burn
    vf = step.argv[step.argv.index("-vf") + 1]
    assert vf == f"{reframe.video_filter((9, 16))},subtitles=filename={Path(path).name}"  # drawn on the new frame
    assert step.cwd == str(config.output_dir)


def test_loudness_is_measured_then_applied_to_a_smart_cuts_audio_alone(config: Config) -> None:
    clip = job(33.32, 61.1, source="/m/v.mp4")
    cut_plan = clip_steps(clip, replace(config, loudnorm=-14.0), "/m/v.mp4", 0.0, H264, gop_packets(800, 1600))
    assert cut_plan.mode == "smart"
    assert cut_plan.notes == ("its audio is re-encoded: loudness normalised to -14 LUFS",)
    measure, *_, join = cut_plan.steps
    assert [s.phase for s in cut_plan.steps] == ["measure", "pieces", "splice", "join"]
    # The measured audio is the join's: from the first piece's start (the frame at 33.32) for 27.78 s.
    assert list(measure.argv[measure.argv.index("-ss") : measure.argv.index("-i")]) == ["-ss", "33.32", "-t", "27.78"]
    assert join.fill is not None and join.argv[join.fill] == loudness.apply_filter(-14.0)
    assert join.argv[join.fill - 1] == "-af" and join.argv[join.fill + 1 : join.fill + 3] == ("-c:a", "aac")
    assert join.argv[join.argv.index("-c:v") + 1] == "copy"


def test_loudness_with_a_copy_copies_the_video(config: Config) -> None:
    cut_plan = clip_steps(job(10, 20, source="/m/v.mp4"), replace(config, mode="copy", loudnorm=-16.0), "/m/v.mp4",
                          0.0, H264, None)  # fmt: skip
    measure, copy = cut_plan.steps
    assert cut_plan.mode == "copy" and measure.phase == "measure" and "loudnorm=I=-16" in measure.argv[-4]
    assert copy.fill is not None and copy.argv[copy.argv.index("-c:v") + 1] == "copy"


def test_a_clip_without_audio_is_not_measured(config: Config) -> None:
    cut_plan = clip_steps(job(10, 20, source="/m/v.mp4"), replace(config, mode="reencode", loudnorm=-14.0),
                          "/m/v.mp4", 0.0, replace(H264, has_audio=False), None)  # fmt: skip
    assert [s.phase for s in cut_plan.steps] == ["cut"] and cut_plan.steps[0].fill is None


def test_sections_are_wider_where_edges_may_snap(config: Config) -> None:
    [plan] = group_videos([job(100, 130)], replace(config, fetch="sections", snap="speech", snap_window=1.0))
    assert [(s.start, s.end) for s in plan.sections] == [(97.5, 133.5)]  # 1 s lead + 1 s window + 0.5 s read past it


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash to check the script's syntax")
@pytest.mark.parametrize("mode", ["smart", "reencode", "copy"])
def test_a_dry_run_with_share_settings_is_valid_shell(config: Config, tmp_path: Path, mode: str) -> None:
    from clipper.share.captions import Cue

    shared = replace(config, mode=mode, aspect="9:16", pad="blur", captions="burn", loudnorm=-14.0, snap="speech",
                     preset="shorts")  # fmt: skip
    local_file = str(tmp_path / "it's.mp4")
    said = (Cue(0.0, 2.0, "It's $(rm -rf ~) `x`."),)
    snapped = replace(job(40, 45, source=local_file, name="l.mp4"), start=39.56, end=45.24, note_range=(40.0, 45.0),
                      snap_reasons=("0:40 -> 0:39.56, in the pause 39.3-39.8s", "0:45 -> 0:45.24, in the pause"),
                      captions=said)  # fmt: skip
    jobs = [replace(job(10, 20), captions=said), job(300, 320), snapped]
    media: LocalMedia = {local_file: (H264, {snapped: gop_packets(950, 1200)}, {})}
    script = "\n".join(dry_run_lines(group_videos(jobs, shared), shared, None, media)) + "\n"
    checked = subprocess.run(["bash", "-n"], input=script, text=True, capture_output=True)
    assert checked.returncode == 0, checked.stderr
    assert "# preset shorts: edges snap to pauses in the speech (within 1s); the whole picture on a 9:16 blurred " \
           "copy of itself; loudness -14 LUFS (two passes)" in script  # fmt: skip
    assert "# l.mp4: abcdefghijk 0:39.56-0:45.24 (n.md:3)\n# snapped to the speech (the note's 0:40-0:45): start 0:40" \
           " -> 0:39.56, in the pause 39.3-39.8s; end 0:45 -> 0:45.24, in the pause\n" in script  # fmt: skip
    assert "once the media is fetched (it reads the audio around each edge): the times below are the note's" in script
    assert script.count("LOUDNORM=$(ffmpeg ") == 3 and script.count('"loudnorm=I=-14:TP=-1:LRA=11:measured_I=${') == 3
    assert "-progress" not in script


@pytest.mark.parametrize("mode", ["reencode", "copy", "smart"])
def test_a_cut_that_would_start_on_an_intra_refresh_point_decodes_from_the_keyframe_before(
    config: Config, mode: str
) -> None:
    from clipper.media.refresh import Refresh

    clip = job(11.2, 14.0, source="/m/v.mp4")
    # A re-encode's seek (10.2) lands on the refresh point at 10.04; a seek to 9.79 lands on the keyframe before.
    refresh = Refresh(decode_seek=9.79, copy_point=10.04 if mode == "copy" else None)
    cut_plan = clip_steps(clip, replace(config, mode=mode), "/m/v.mp4", 0.0, H264, gop_packets(250, 400),
                          refresh=refresh)  # fmt: skip
    [step] = cut_plan.steps
    argv = list(step.argv)
    assert cut_plan.mode == "reencode"
    assert argv[argv.index("-ss") + 1] == "9.79"  # the decode's seek
    assert argv[argv.index("-ss", argv.index("-i")) + 1] == "1.41"  # then the frames before the start are dropped
    assert ("intra refresh point" in " ".join(cut_plan.notes)) == (mode != "reencode")
