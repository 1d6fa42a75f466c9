"""The fetcher's bookkeeping (yt-dlp's lookup itself stands in here: what is checked is which lookups are shared)."""

from __future__ import annotations

from pathlib import Path

import pytest

from clipper.core.streams import MediaStream
from clipper.media import ffmpeg
from clipper.plan.config import Config
from clipper.plan.jobs import ClipJob
from clipper.run import fetching
from clipper.run.progress import Reporter
from clipper.run.running import MediaInfos, StepRunner
from clipper.run.videos import VideoJobs


def _video(fmt: str) -> VideoJobs:
    job = ClipJob(video_id="abc", url="https://example.com/abc", source="http://127.0.0.1:1/abc", title="t",
                  start=1.0, end=2.0, output=f"abc-{fmt}.mp4", note=Path("n.md"), line=1, format=fmt)  # fmt: skip
    return VideoJobs("abc", job.source, "sections", "", (job,), format=fmt, format_sort=("res:720",))


def test_two_formats_of_one_video_are_looked_up_each_once(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    asked: list[str] = []

    def lookup(argv: list[str], public_only: bool = False) -> list[MediaStream]:
        chosen = argv[argv.index("-f") + 1]
        asked.append(chosen)
        return [MediaStream(f"http://127.0.0.1:1/{chosen}.mp4")]

    monkeypatch.setattr(fetching.resolve, "resolve", lookup)
    reporter = Reporter()
    fetcher = fetching.Fetcher(Config(output_dir=tmp_path), reporter, StepRunner(reporter, ffmpeg.ChildProcesses()),
                               MediaInfos())  # fmt: skip

    small, large = fetcher.resolve(_video("worst")), fetcher.resolve(_video("best"))
    assert (small[0].url, large[0].url) == ("http://127.0.0.1:1/worst.mp4", "http://127.0.0.1:1/best.mp4")
    assert fetcher.resolve(_video("worst")) == small
    assert asked == ["worst", "best"]
