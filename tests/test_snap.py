"""Snapping clip edges to pauses in the speech (pure): thresholds, pauses, where each edge goes and why."""

from __future__ import annotations

from pathlib import Path

import pytest

from clipper.notes.transcript import TranscriptLine
from clipper.plan.config import Config
from clipper.plan.jobs import ClipJob
from clipper.share import pauses, snap
from clipper.share.pauses import EdgeAudio, Pause, find_pauses, place_edges, read_range, silence_threshold, snap_edge

SPEECH, QUIET = -20.0, -80.0


def levels(*runs: tuple[float, float]) -> tuple[float, ...]:
    """Frame levels from (seconds, level) runs, one frame per 10 ms."""
    return tuple(level for seconds, level in runs for _ in range(round(seconds * 100)))


def job(start: float, end: float, lines: tuple[float, ...] = ()) -> ClipJob:
    transcript = tuple(TranscriptLine(time, f"line {time:g}", 1) for time in lines)
    return ClipJob("v", "u", "/m/v.mp4", "t", start, end, "v.mp4", Path("n.md"), 3, transcript=transcript)


def test_the_audio_read_is_the_window_and_a_little_more() -> None:
    assert read_range(38.0, 1.0) == (36.5, 3.0)
    assert read_range(0.4, 1.0) == (0.0, 1.9)  # not before the start
    assert read_range(99.5, 1.0, end_of_media=100.0) == (98.0, 2.0)  # nor past the end


@pytest.mark.parametrize(
    ("frames", "threshold"),
    [
        (levels((1, SPEECH), (1, QUIET)), -50.0),  # a clean recording: 30 dB under the speech
        (levels((1, -50.0), (1, -110.0)), -80.0),  # a quiet one: the same, relative to its own speech
        (levels((1, SPEECH), (1, -45.0)), -39.0),  # noise 25 dB under the speech: 6 dB over the noise
        (levels((1, SPEECH), (1, -28.0)), -32.0),  # hardly any contrast: still 12 dB under the speech
        (levels((2, QUIET)), None),  # nothing but silence: no speech to find pauses in
    ],
)
def test_the_silence_threshold_follows_the_recording(frames: tuple[float, ...], threshold: float | None) -> None:
    assert silence_threshold(frames) == threshold


def test_pauses_are_long_enough_runs_of_silence() -> None:
    audio = EdgeAudio(10.0, levels((0.3, QUIET), (0.5, SPEECH), (0.19, QUIET), (0.5, SPEECH), (0.25, QUIET)))
    # The 0.19 s gap is inside speech (a stop consonant); a pause open at either end of the audio counts.
    assert find_pauses(audio, -50.0) == [Pause(10.0, 10.3), Pause(11.49, 11.74)]


# Speech from 36.5 to 37.6, a pause to 38.3, speech after: an edge at 38.0 falls in the pause's last 0.3 s.
AROUND_38 = EdgeAudio(36.5, levels((1.1, SPEECH), (0.7, QUIET), (1.2, SPEECH)))


@pytest.mark.parametrize(
    ("kind", "time", "expected", "reason"),
    [
        # A start keeps 0.25 s of silence before the first word, on a frame (25 fps): 38.3 - 0.25 -> 38.04.
        ("start", 38.0, 38.04, "0:38 -> 0:38.04, in the pause 37.6-38.3s"),
        # An end keeps 0.25 s after the last word: 37.6 + 0.25 -> 37.84.
        ("end", 38.0, 37.84, "0:38 -> 0:37.84, in the pause 37.6-38.3s"),
        # From mid-word, 0.8 s away: the nearest pause.
        ("start", 37.3, 38.04, "0:37.3 -> 0:38.04, in the pause 37.6-38.3s"),
    ],
)
def test_an_edge_moves_into_the_nearest_pause(kind: pauses.Kind, time: float, expected: float, reason: str) -> None:
    found = find_pauses(AROUND_38, -50.0)
    assert snap_edge(kind, time, 1.0, found, (), 25.0) == pauses.Edge(time, expected, reason)


def test_a_short_pause_is_cut_in_its_middle() -> None:
    found = [Pause(38.2, 38.44)]  # 0.24 s: 0.12 s of silence on each side
    assert snap_edge("start", 38.0, 1.0, found, (), 25.0).time == 38.32


def test_an_edge_with_no_pause_within_the_window_stays() -> None:
    found = [Pause(36.0, 36.9)]  # ends 1.1 s before the edge
    assert snap_edge("start", 38.0, 1.0, found, (), 25.0) == pauses.Edge(38.0, 38.0, "kept: no pause within 1s")
    assert snap_edge("start", 38.0, 1.5, found, (), 25.0).time == 36.64  # a wider window reaches it


def test_the_cut_never_comes_nearer_than_the_guard_to_a_sound() -> None:
    found = [Pause(38.97, 39.6)]  # only 30 ms of it inside the window (37-39)
    assert snap_edge("start", 38.0, 1.0, found, (), 25.0).reason == "kept: no pause within 1s"


def test_the_pause_at_a_transcript_line_wins_over_a_nearer_one() -> None:
    found = [Pause(37.7, 37.95), Pause(38.5, 39.2)]  # a breath mid-sentence; the sentence's end
    edge = snap_edge("start", 38.0, 1.0, found, (10.0, 38.8), 25.0)
    assert edge == pauses.Edge(38.0, 38.96, "0:38 -> 0:38.96, in the pause 38.5-39.2s, at the transcript's line 0:38.8")
    assert snap_edge("start", 38.0, 1.0, found, (), 25.0).time == 37.84  # without the line: the nearest


def test_an_edge_already_well_placed_is_kept_and_says_so() -> None:
    edge = snap_edge("start", 38.04, 1.0, [Pause(37.6, 38.3)], (), 25.0)
    assert edge == pauses.Edge(38.04, 38.04, "kept: in the pause 37.6-38.3s")


def test_without_a_frame_rate_the_cut_is_to_the_millisecond() -> None:
    assert snap_edge("start", 38.0, 1.0, [Pause(37.6, 38.3333)], (), None).time == 38.083


def test_frames_far_apart_still_land_in_the_pause() -> None:
    # 4 fps: no frame between 38.26 and 38.4 (the pause without its guards): the nearest frame inside it instead.
    assert snap_edge("start", 38.0, 1.0, [Pause(38.21, 38.45)], (), 4.0).time == 38.25


def test_both_edges_of_a_clip() -> None:
    start = EdgeAudio(0.5, levels((0.7, SPEECH), (0.6, QUIET), (1.7, SPEECH)))  # a pause 1.2-1.8
    end = EdgeAudio(8.5, levels((0.5, SPEECH), (0.6, QUIET), (1.9, SPEECH)))  # speech until 9.0, then a pause
    first, last = place_edges(job(2.0, 9.5), 1.0, (start, end), 25.0)
    assert (first.time, last.time) == (1.56, 9.24)


def test_edges_in_a_recording_without_speech_stay() -> None:
    silent = EdgeAudio(0.0, levels((3, QUIET)))
    assert place_edges(job(1.5, 30.0), 1.0, (silent, silent), 25.0) == (
        pauses.Edge(1.5, 1.5, "kept: no speech around the clip's edges"),
        pauses.Edge(30.0, 30.0, "kept: no speech around the clip's edges"),
    )


def test_edges_that_would_leave_too_short_a_clip_stay() -> None:
    audio = EdgeAudio(9.0, levels((0.3, SPEECH), (0.9, QUIET), (1.8, SPEECH)))  # one pause, 9.3-10.2
    first, last = place_edges(job(10.0, 10.6), 1.0, (audio, audio), 25.0)
    assert (first.time, last.time, last.reason) == (10.0, 10.6, "kept: snapped, the clip would be too short")


def test_a_snapped_job_keeps_the_notes_times_and_says_why() -> None:
    snapped = pauses.snapped(job(2.0, 9.5), (pauses.Edge(2.0, 1.56, "why a"), pauses.Edge(9.5, 9.5, "kept: b")))
    assert (snapped.start, snapped.end, snapped.note_start, snapped.note_end) == (1.56, 9.5, 2.0, 9.5)
    assert pauses.summary(snapped) == "start why a; end kept: b"
    assert (
        pauses.summary(pauses.kept(job(2.0, 9.5), "the source has no audio")) == "edges kept: the source has no audio"
    )
    assert job(2.0, 9.5).moment_url == "u?t=2s" and snapped.moment_url == "u?t=1s"  # t= is the clip's own start


def test_a_clip_made_before_keeps_the_times_its_manifest_records() -> None:
    config = Config(snap="speech", captions="off")
    entry = {"note_start": 2.0, "note_end": 9.5, "start": 1.56, "end": 9.24,
             "snap": {"window": 1.0, "start": "a", "end": "b"}}  # fmt: skip
    restored = snap.recorded(job(2.0, 9.5), entry, config)
    assert restored is not None and (restored.start, restored.end, restored.snap_reasons) == (1.56, 9.24, ("a", "b"))
    assert snap.recorded(job(2.0, 9.0), entry, config) is None  # the note's times changed
    assert snap.recorded(job(2.0, 9.5), {**entry, "snap": {"window": 0.5}}, config) is None  # another window
    assert snap.recorded(job(2.0, 9.5), {**entry, "snap": None}, config) is None  # not snapped then


def test_the_manifest_gives_the_clips_own_times_and_the_notes() -> None:
    from clipper.run.manifest import ClipResult, manifest_entry

    config = Config(snap="speech", aspect="9:16", loudnorm=-14.0, captions="burn")
    edges = (pauses.Edge(2.0, 1.56, "0:02 -> 0:01.56, in ..."), pauses.Edge(9.5, 9.5, "kept"))
    snapped = pauses.snapped(job(2.0, 9.5), edges)
    heard = {"target": -14.0, "measured": -30.9, "true_peak": -25.9, "range": 1.2, "normalisation": "linear"}
    entry = manifest_entry(ClipResult(snapped, "done", loudness=heard, width=100, height=180), config)
    assert {key: entry[key] for key in ("start", "end", "note_start", "note_end", "snap")} == {
        "start": 1.56, "end": 9.5, "note_start": 2.0, "note_end": 9.5,
        "snap": {"window": 1.0, "start": "0:02 -> 0:01.56, in ...", "end": "kept"},
    }  # fmt: skip
    assert entry["settings"] == {"snap": 1.0, "aspect": "9:16", "pad": "none", "crop_x": 0.5, "loudnorm": -14.0,
                                 "burn": True}  # fmt: skip
    assert (entry["loudness"], entry["width"], entry["height"]) == (heard, 100, 180)
    assert entry["moment_url"] == "u?t=1s" and entry["duration"] is None
    plain = manifest_entry(ClipResult(job(2.0, 9.5), "done"), Config())
    assert (plain["note_start"], plain["note_end"], plain["snap"]) == (2.0, 9.5, None)
