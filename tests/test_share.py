"""Share formats (pure): shapes, loudness normalisation's two passes, the audio read around edges, phone captions."""

from __future__ import annotations

import math
import shlex
import struct
import subprocess

import pytest

from clipper.core.errors import CutError
from clipper.plan.config import parse_aspect
from clipper.plan.jobs import Cue
from clipper.share import loudness, reframe, snap
from clipper.share.captions import phone_cues, phone_line_chars, to_ass

# --- shapes ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "shape"), [("9:16", (9, 16)), (" 1:1 ", (1, 1)), ("4:5", (4, 5)), ("source", None)])
def test_a_shape_is_w_h_or_source(text: str, shape: tuple[int, int] | None) -> None:
    assert parse_aspect(text) == shape


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("3:0", "'3:0' is not a shape: use source or W:H with whole numbers above 0, like 9:16 or 1:1"),
        ("wide", "'wide' is not a shape: use source or W:H with whole numbers above 0, like 9:16 or 1:1"),
        ("9/16", "'9/16' is not a shape: use source or W:H with whole numbers above 0, like 9:16 or 1:1"),
        ("1:20", "'1:20' is too narrow or too wide a shape (from 1:10 to 10:1)"),
    ],
)
def test_a_bad_shape_says_what_to_write(text: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_aspect(text)
    assert str(caught.value) == message


SQUARE_PIXELS = "scale=w='trunc(iw*sar/2)*2':h=ih,setsar=1"


def test_a_crop_is_the_middle_of_the_picture_at_its_own_resolution() -> None:
    assert reframe.video_filter((9, 16)) == (
        f"{SQUARE_PIXELS},crop=w='min(iw,trunc(ih*9/16/2)*2)':h='min(ih,trunc(iw*16/9/2)*2)'"
        ":x='max(0,min(iw-ow,iw*0.5-ow/2))':y='(ih-oh)/2',setsar=1"
    )
    # A speaker left of the middle: the crop's centre at 0.3 of the width (kept inside the picture).
    assert ":x='max(0,min(iw-ow,iw*0.3-ow/2))'" in reframe.video_filter((9, 16), crop_x=0.3)


def test_the_whole_picture_over_a_blurred_copy_of_itself() -> None:
    canvas_w, canvas_h = "trunc(max(iw,ih)*9/16/2)*2", "trunc(max(iw,ih)*1/2)*2"
    assert reframe.video_filter((9, 16), "blur") == (
        f"{SQUARE_PIXELS},split[whole][copy];"
        f"[copy]scale=w='{canvas_w}':h='{canvas_h}':force_original_aspect_ratio=increase,"
        "crop=w='min(iw,trunc(ih*9/16/2)*2)':h='min(ih,trunc(iw*16/9/2)*2)':x='(iw-ow)/2':y='(ih-oh)/2',"
        "boxblur=luma_radius='min(w,h)/16':luma_power=2,eq=brightness=-0.06[back];"
        f"[whole]scale=w='{canvas_w}':h='{canvas_h}':force_original_aspect_ratio=decrease:force_divisible_by=2[front];"
        "[back][front]overlay=x='(W-w)/2':y='(H-h)/2',setsar=1"
    )
    assert "drawbox=color=black:thickness=fill[back]" in reframe.video_filter((9, 16), "black")


@pytest.mark.parametrize(("shape", "canvas"), [((9, 16), (1080, 1920)), ((1, 1), (1080, 1080)), ((16, 9), (1920, 1080)),
                                               ((4, 5), (1080, 1350))])  # fmt: skip
def test_the_captions_canvas_has_a_short_side_of_1080(shape: tuple[int, int], canvas: tuple[int, int]) -> None:
    assert reframe.canvas(shape) == canvas


SIZES = [
    (1920, 1080, (16, 9), True),
    (608, 1080, (9, 16), True),
    (1920, 1080, (9, 16), False),
    (None, None, (9, 16), False),
    (1920, 1040, (16, 9), False),  # 40 pixels off: another shape
]


@pytest.mark.parametrize(("width", "height", "shape", "same"), SIZES)
def test_a_picture_already_of_the_shape(
    width: int | None, height: int | None, shape: tuple[int, int], same: bool
) -> None:
    assert reframe.has_shape(width, height, shape) is same


@pytest.mark.parametrize("pad", ["none", "blur", "black"])
@pytest.mark.parametrize(("source", "shape", "expected"), [
    ("160x90", (9, 16), {"none": "50x90", "blur": "90x160", "black": "90x160"}),
    ("90x160", (16, 9), {"none": "90x50", "blur": "160x90", "black": "160x90"}),
    ("160x90", (1, 1), {"none": "90x90", "blur": "160x160", "black": "160x160"}),
])  # fmt: skip
def test_ffmpeg_makes_the_shape(source: str, shape: tuple[int, int], expected: dict[str, str], pad: str) -> None:
    argv = ["ffmpeg", "-v", "info", "-f", "lavfi", "-i", f"testsrc2=size={source}:duration=0.04", "-vf",
            reframe.video_filter(shape, pad) + ",showinfo", "-f", "null", "-"]  # fmt: skip
    shown = subprocess.run(argv, capture_output=True, text=True, check=True).stderr
    assert f" s:{expected[pad]} " in shown, shown


# --- loudness -------------------------------------------------------------------------------------------

REPORT = """[Parsed_loudnorm_0 @ 0x55d08897c4c0]
{
\t"input_i" : "-23.61",
\t"input_tp" : "-13.47",
\t"input_lra" : "2.20",
\t"input_thresh" : "-33.70",
\t"output_i" : "-14.02",
\t"output_tp" : "-3.88",
\t"output_lra" : "2.10",
\t"output_thresh" : "-24.10",
\t"normalization_type" : "linear",
\t"target_offset" : "0.02"
}
"""
MEASURED = {"input_i": "-23.61", "input_tp": "-13.47", "input_lra": "2.20", "input_thresh": "-33.70",
            "target_offset": "0.02", "normalization_type": "linear"}  # fmt: skip


def test_the_first_pass_measures_the_clips_audio_and_writes_nothing() -> None:
    assert loudness.measure_argv("/m/v.mp4", 38.0, 57.0, -14.0) == [
        "ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "info", "-progress", "pipe:1", "-nostats",
        "-seek_timestamp", "1", "-ss", "38", "-t", "57", "-i", "file:/m/v.mp4", "-map", "0:a:0", "-vn", "-sn", "-dn",
        "-af", "loudnorm=I=-14:TP=-1:LRA=11:print_format=json", "-f", "null", "-",
    ]  # fmt: skip


def test_the_second_pass_applies_the_measured_values_linearly() -> None:
    template = loudness.apply_filter(-14.0)
    assert template == (
        "loudnorm=I=-14:TP=-1:LRA=11:measured_I=${LOUDNORM_I}:measured_TP=${LOUDNORM_TP}:measured_LRA=${LOUDNORM_LRA}"
        ":measured_thresh=${LOUDNORM_THRESH}:offset=${LOUDNORM_OFFSET}:linear=true,aresample=48000,"
        "aformat=channel_layouts=mono|stereo"
    )
    # The report is the last {...}: the input's tags, listed before it, may hold braces too.
    assert loudness.parse_measurement("Input #0...\n    title : {odd} tag\n" + REPORT) == MEASURED
    assert loudness.fill(template, MEASURED) == (
        "loudnorm=I=-14:TP=-1:LRA=11:measured_I=-23.61:measured_TP=-13.47:measured_LRA=2.20:measured_thresh=-33.70"
        ":offset=0.02:linear=true,aresample=48000,aformat=channel_layouts=mono|stereo"
    )


def test_a_silent_clip_keeps_its_level() -> None:
    silent = {**MEASURED, "input_i": "-inf", "input_tp": "-inf"}
    assert loudness.fill(loudness.apply_filter(-14.0), silent) == "aresample=48000,aformat=channel_layouts=mono|stereo"
    assert loudness.describe(silent, -14.0) == "silent (under -70 LUFS): its level is kept"


@pytest.mark.parametrize("stderr", ["", "no report here", "{not json}", '{"input_i": "-20"}'])
def test_a_missing_report_is_an_error(stderr: str) -> None:
    with pytest.raises(CutError, match="the loudness measurement gave no report"):
        loudness.parse_measurement(stderr)


def test_a_value_that_is_no_number_is_never_put_in_a_filter() -> None:
    with pytest.raises(CutError, match="the loudness measurement's input_tp is 'x:y', not a number"):
        loudness.fill(loudness.apply_filter(-14.0), {**MEASURED, "input_tp": "x:y"})


@pytest.mark.parametrize(
    ("measured", "target", "said"),
    [
        (MEASURED, -14.0, "-23.6 LUFS (true peak -13.5 dBTP, range 2.2 LU) -> -14 LUFS: +9.6 dB, linear"),
        ({**MEASURED, "input_tp": "-4.00"}, -14.0, "-23.6 LUFS (true peak -4.0 dBTP, range 2.2 LU) -> -14 LUFS: dynamic"
         " (one gain of +9.6 dB would take the true peak to +5.6 dBTP, over -1)"),
        ({**MEASURED, "input_lra": "14.00"}, -16.0, "-23.6 LUFS (true peak -13.5 dBTP, range 14.0 LU) -> -16 LUFS: "
         "dynamic (its loudness range is over 11 LU)"),
    ],
)  # fmt: skip
def test_the_log_says_how_loudnorm_will_treat_the_clip(measured: dict[str, str], target: float, said: str) -> None:
    assert loudness.describe(measured, target) == said


def test_the_manifest_records_the_measurement() -> None:
    assert loudness.record(MEASURED, -14.0) == {"target": -14.0, "measured": -23.61, "true_peak": -13.47,
                                                "range": 2.2, "normalisation": "linear"}  # fmt: skip


def test_the_scripts_measuring_lines_fill_the_values() -> None:
    lines = loudness.script_lines("{ printf '%s' " + shlex.quote(REPORT) + " >&2; }", -14.0)  # a command's stderr
    command = loudness.shell_word(loudness.apply_filter(-14.0))
    script = "\n".join([*lines, f"printf '%s\\n' {command}"])
    out = subprocess.run(["sh", "-eu"], input=script, capture_output=True, text=True, check=True).stdout
    assert out.strip() == loudness.fill(loudness.apply_filter(-14.0), MEASURED)


@pytest.mark.parametrize("level", ["-inf", "-75.20"])
def test_the_script_keeps_a_silent_clips_level(level: str) -> None:
    report = REPORT.replace('"-23.61"', f'"{level}"').replace('"-13.47"', '"-inf"').replace('"-33.70"', '"-inf"')
    lines = loudness.script_lines("{ printf '%s' " + shlex.quote(report) + " >&2; }", -14.0)
    command = loudness.shell_word(loudness.apply_filter(-14.0))
    script = "\n".join([*lines, f"printf '%s\\n' {command}"])
    out = subprocess.run(["sh", "-eu"], input=script, capture_output=True, text=True, check=True).stdout
    # No gain: the measured loudness is the target (loudnorm would refuse -inf, or lift noise by 60 dB).
    assert "measured_I=-14:measured_TP=-99:measured_LRA=0:measured_thresh=-70:offset=0:linear=true" in out
    silent = subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "anullsrc=r=48000:cl=stereo", "-t", "0.5",
                             "-af", out.strip(), "-f", "null", "-"], capture_output=True, text=True)  # fmt: skip
    assert silent.returncode == 0, silent.stderr


def test_only_a_loudness_filter_goes_into_the_scripts_double_quotes() -> None:
    with pytest.raises(ValueError):
        loudness.shell_word('title=$(rm -rf ~) "')


# --- the audio around a clip's edges --------------------------------------------------------------------


def test_both_edges_are_read_in_one_run_as_two_channels() -> None:
    assert snap.edge_audio_argv("/m/v.mp4", 0.021, [(36.5, 3.0), (93.5, 2.5)]) == [
        "ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error",
        "-seek_timestamp", "1", "-ss", "36.521", "-t", "3", "-i", "file:/m/v.mp4",
        "-seek_timestamp", "1", "-ss", "93.521", "-t", "2.5", "-i", "file:/m/v.mp4",
        "-filter_complex",
        "[0:a:0]highpass=f=100,aresample=16000,aformat=sample_fmts=s16:channel_layouts=mono,apad[e0];"
        "[1:a:0]highpass=f=100,aresample=16000,aformat=sample_fmts=s16:channel_layouts=mono,apad[e1];"
        "[e0][e1]amerge=inputs=2[out]",
        "-map", "[out]", "-t", "3", "-f", "s16le", "pipe:1",
    ]  # fmt: skip


def test_levels_every_10_ms_of_each_channel() -> None:
    # Channel 0: 20 ms of a full-scale square wave, then 10 ms of silence; channel 1: a quarter-scale one.
    frames = [(32767 if i % 2 else -32767, 8192) for i in range(320)] + [(0, 8192)] * 160
    pcm = b"".join(struct.pack("<hh", *frame) for frame in frames)
    first, second = snap.frame_levels(pcm, [0.03, 0.02])  # the second range is 20 ms long (then padding)
    assert first == (0.0, 0.0, -120.0)
    assert second == (round(20 * math.log10(0.25), 2),) * 2


# --- phone captions -------------------------------------------------------------------------------------


def test_a_caption_line_holds_what_fits_the_canvas() -> None:
    assert [phone_line_chars(canvas) for canvas in ((1080, 1920), (1080, 1080), (1920, 1080))] == [22, 22, 43]


def test_phone_captions_are_at_most_two_lines() -> None:
    cue = Cue(1.0, 7.0, "Ilya Sutskever gave a talk a couple of months ago and he compared pretraining data to fossil "
                        "fuels. Just because.")  # fmt: skip
    assert phone_cues([cue], 22) == [
        Cue(1.0, 2.909, "Ilya Sutskever gave\\Na talk a couple"),
        Cue(2.909, 4.491, "of months ago\\Nand he compared"),
        Cue(4.491, 6.291, "pretraining data\\Nto fossil fuels."),
        Cue(6.291, 7.0, "Just because."),
    ]
    assert all(line_count <= 2 for c in phone_cues([cue], 10) for line_count in [c.text.count("\\N") + 1])


def test_phone_captions_are_an_ass_file_for_the_clips_canvas() -> None:
    text = to_ass([Cue(0.0, 2.0, "A {\\b1}bold\\N claim")], (1080, 1920))
    assert "PlayResX: 1080\nPlayResY: 1920" in text and "WrapStyle: 2" in text
    # Large (67 px of 1920), white on a dark outline, bottom centre, 86 px from the sides, 384 from the bottom.
    assert "Style: Default,DejaVu Sans,67,&H00FFFFFF,&H000000FF,&H00000000,&H80000000,-1,0,0,0,100,100,0,0,1,6,0,2," \
           "86,86,384,1" in text  # fmt: skip
    # Note text never becomes markup: no override tags, no line break it did not ask for.
    assert text.rstrip().endswith("Dialogue: 0,0:00:00.00,0:00:02.00,Default,,0,0,0,,A (\u29f5b1)bold\u29f5N claim")
