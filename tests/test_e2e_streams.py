"""Hosts serve video and audio as separate streams: clipper cuts both over HTTP and keeps them in sync."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from conftest import FPS, Served
from verify import beep_onsets, check_clip

from clipper.core.streams import MediaStream
from clipper.media import cut_args, ffmpeg, probe
from clipper.plan.config import Config
from clipper.plan.jobs import ClipJob
from clipper.run.paths import temp_path
from clipper.run.steps import clip_steps, packet_window
from clipper.run.videos import SECTION_LEAD, SECTION_TAIL, Section

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def split_streams(media_dir: Path, short_video: Path) -> tuple[str, str]:
    """The short video's picture alone (mp4) and its sound alone (m4a), as a DASH host serves them."""
    video, audio = media_dir / "video-only.mp4", media_dir / "audio-only.m4a"
    for target, keep in ((video, ["-map", "0:v"]), (audio, ["-map", "0:a"])):
        subprocess.run(
            ["ffmpeg", "-v", "error", "-y", "-i", str(short_video), *keep, "-c", "copy", str(target)], check=True
        )
    return video.name, audio.name


@pytest.mark.parametrize("mode", ["smart", "reencode", "copy"])
def test_separate_video_and_audio_urls_are_merged_in_sync(
    tmp_path: Path, server: Served, split_streams: tuple[str, str], short_thumbs: list[bytes], mode: str
) -> None:
    video, audio = split_streams
    streams = [MediaStream(server.url(video), has_audio=False), MediaStream(server.url(audio), has_video=False)]
    start = 6.0 if mode == "copy" else 3.2  # copy starts at a keyframe: give it one
    config = Config(output_dir=tmp_path, mode=mode)
    job = ClipJob("v", "u", "http://x/v", "t", start, start + 5.0, "merged.mp4", tmp_path / "n.md", 1)
    section = Section(start - SECTION_LEAD, start + 5.0 + SECTION_TAIL, (job,))
    fetched = tmp_path / "section.mp4"

    # The runner's two steps: fetch the section from both URLs into one file, then cut the clip from it.
    ffmpeg.run_ffmpeg(cut_args.section_argv(streams, section.start, section.end, str(fetched)))
    info = probe.probe(str(fetched))
    packets = probe.packets(str(fetched), *packet_window(job, 0.0)) if mode == "smart" else None
    cut_plan = clip_steps(job, config, str(fetched), 0.0, info, packets)
    assert cut_plan.notes == ()
    for step in cut_plan.steps:
        for path, text in step.files:
            Path(path).write_text(text)
        ffmpeg.run_ffmpeg(step.argv)
    clip = tmp_path / "merged.mp4"
    temp_path(job, config).rename(clip)

    clip_info = probe.probe(str(clip))
    assert clip_info.has_video and clip_info.has_audio
    check = check_clip(clip, short_thumbs, start, start + 5.0, FPS)
    assert (check.first_error, check.last_error, check.preroll_packets) == (0, 0, 0), check
    # The source beeps at every whole second: in the clip, at 0.8 s, 1.8 s, ... (or 0, 1, ... from 6 s).
    expected = [round(second - start, 3) for second in range(11) if start <= second < start + 5.0]
    onsets = [onset for onset in beep_onsets(clip) if onset < 5.0 - 0.03]  # copy may run a packet long
    assert len(onsets) == len(expected), (onsets, expected)
    for found, wanted in zip(onsets, expected, strict=True):
        assert abs(found - wanted) <= 1024 / 48000, (onsets, expected)  # within one AAC frame
