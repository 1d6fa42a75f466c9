"""The checks a clip passes before it is kept: its length judged by the source's own frames (a variable frame
rate too), and every stream of its source present."""

from __future__ import annotations

from fractions import Fraction

import pytest

from clipper.media import probe
from clipper.media.probe import MediaInfo
from clipper.media.smart import Packet
from clipper.run.steps import frame_span

TIME_BASE = Fraction(1, 120)
# 30 fps to 4 s, then 10 fps to 8 s, then 24 fps (time base 1/120: 4, 12, then 5 ticks a frame)
PTS = [*range(0, 480, 4), *range(480, 960, 12), *range(960, 1680, 5)]
PACKETS = [Packet(pts, pts, pts % 40 == 0) for pts in PTS]
SOURCE = MediaInfo(14.0, 14.0, 1680 / 14 / 5.5, True, True, 1000, time_base=TIME_BASE)


def clip(video: float | None, *, has_video: bool = True, has_audio: bool = True) -> MediaInfo:
    return MediaInfo(video or 8.5, video, SOURCE.frame_rate, has_video, has_audio, 100)


def test_the_span_runs_from_the_first_frame_to_the_last_or_the_next() -> None:
    # 4.05-12.5 s: the first frame at 4.1 s (a gap of the 10 fps stretch), the last at 12.458, the next at 12.5
    # (or a nominal frame of the average rate, 21.8 fps, after the last one: later here)
    first, end = 492, 1500
    assert frame_span(PACKETS, first, end, SOURCE) == pytest.approx((12.458333 - 4.1, 12.458333 - 4.1 + 5.5 / 120))
    assert frame_span(PACKETS, 480, 960, SOURCE) == pytest.approx((7.9 - 4.0, 8.0 - 4.0))  # 10 fps: the next
    # no frame listed after the range: a nominal frame after the last
    shortest, longest = frame_span(PACKETS[:-40], first, 1700, SOURCE)  # type: ignore[misc]
    assert longest == pytest.approx(shortest + 1 / SOURCE.frame_rate)  # type: ignore[operator]
    assert frame_span(PACKETS, 2000, 2100, SOURCE) is None


@pytest.mark.parametrize(
    ("video", "reason"),
    [
        (8.3667, None),  # the last frame given a tick of the muxer's time base (as ffmpeg joins pieces)
        (8.4, None),  # the last frame its own duration, to the next frame
        (8.3583 + 0.0417 / 2, None),
        # a frame more at the end (the one at 12.5 s): runs past the next frame
        (8.4417, "its picture lasts 8.442s, the source's frames in its range 8.358s to 8.404s"),
        # a second short (a piece that lost its frames)
        (7.4, "its picture lasts 7.400s, the source's frames in its range 8.358s to 8.404s"),
    ],
)
def test_a_variable_frame_rate_clip_is_judged_by_the_source_frames(video: float, reason: str | None) -> None:
    span = frame_span(PACKETS, 492, 1500, SOURCE)
    # by the asked 8.45 s and a nominal frame, the right clips would fail
    assert probe.verify_clip(clip(8.3667), 8.45, "smart") is not None
    assert probe.verify_clip(clip(video), 8.45, "smart", span=span) == reason


@pytest.mark.parametrize(
    ("has_video", "has_audio", "reason"),
    [
        (True, True, None),
        (False, True, "it has no video stream, which its source has"),
        (True, False, "it has no audio stream, which its source has"),
        (False, False, "it has no video and no audio stream, which its source has"),
    ],
)
def test_a_clip_must_have_every_stream_of_its_source(has_video: bool, has_audio: bool, reason: str | None) -> None:
    assert probe.missing_streams(SOURCE, clip(8.4, has_video=has_video, has_audio=has_audio)) == reason


def test_a_source_without_sound_makes_clips_without_sound() -> None:
    silent = MediaInfo(14.0, 14.0, 25.0, True, False, 1000)
    assert probe.missing_streams(silent, clip(8.4, has_audio=False)) is None
