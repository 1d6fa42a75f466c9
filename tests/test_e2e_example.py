"""The bundled example, the README's first command: `clipper batch examples/` makes the example note's clips,
their manifest and gallery from the video committed beside the note, with no network; the note says what the
video says, when it says it.

The runs take a copy of examples/ and of the repository's config.yaml (its `sources:` maps the note's video id
to the file), so what is tested is what a fresh checkout holds. clipper's process may not connect anywhere or
look any name up (a sitecustomize module refuses it), and ffmpeg and yt-dlp get proxies that lead nowhere.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import shutil
import socket
import struct
import subprocess
from pathlib import Path
from types import ModuleType

import pytest
from conftest import FPS
from hosts import top_level_boxes
from verify import check_clip, decode_errors, ffprobe_entries, run_clipper, stream_kinds, thumbnails

from clipper.notes.parse import parse_note
from clipper.notes.transcript import transcript

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
VIDEO = EXAMPLES / "clipper-example.mp4"
NOTE = EXAMPLES / "clipper-example.md"
CLIPS = {
    "clipper-example-0m25s.mp4": (25.0, 39.0),
    "clipper-example-0m39s.mp4": (39.0, 52.0),
    "clipper-example-0m52s.mp4": (52.0, 65.0),
}
SOURCE_LINE = "  clipper-example: examples/clipper-example.mp4\n"

# Loaded by every Python process started with it on PYTHONPATH: no connection but to loopback, no name lookup.
NO_NETWORK = """
import socket

def _refuse(*args, **kwargs):
    raise OSError("the network is off in this test")

_connect, _connect_ex = socket.socket.connect, socket.socket.connect_ex

def _loopback(address):
    return not isinstance(address, tuple) or str(address[0]) in ("127.0.0.1", "::1")

def connect(self, address):
    return _connect(self, address) if _loopback(address) else _refuse()

def connect_ex(self, address):
    return _connect_ex(self, address) if _loopback(address) else _refuse()

socket.socket.connect, socket.socket.connect_ex = connect, connect_ex
socket.getaddrinfo = socket.gethostbyname = socket.gethostbyname_ex = socket.gethostbyaddr = _refuse
"""


def the_talk() -> ModuleType:
    """examples/make_example.py, which holds the talk the video says."""
    spec = importlib.util.spec_from_file_location("make_example", EXAMPLES / "make_example.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def dead_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A fresh checkout's examples/ and config.yaml, without the clips of any earlier run."""
    folder = tmp_path / "checkout"
    (folder / "examples").mkdir(parents=True)
    for name in ("clipper-example.md", "clipper-example.mp4"):
        shutil.copyfile(EXAMPLES / name, folder / "examples" / name)
    shutil.copyfile(ROOT / "config.yaml", folder / "config.yaml")
    return folder


def offline(tmp_path: Path) -> dict[str, str]:
    """The environment of a machine with no network, for clipper and every program it starts."""
    guard = tmp_path / "no-network"
    guard.mkdir()
    (guard / "sitecustomize.py").write_text(NO_NETWORK)
    proxy = f"http://127.0.0.1:{dead_port()}"
    env = {key: value for key, value in os.environ.items() if key.lower() != "no_proxy"}
    env["PYTHONPATH"] = os.pathsep.join([str(guard), *filter(None, [os.environ.get("PYTHONPATH")])])
    for name in ("http_proxy", "https_proxy", "all_proxy"):
        env[name] = env[name.upper()] = proxy
    return env


def test_the_first_command_makes_the_clips_the_manifest_and_the_gallery_offline(checkout: Path, tmp_path: Path) -> None:
    result = run_clipper("batch", "examples/", cwd=checkout, env=offline(tmp_path), timeout=120)

    assert result.returncode == 0, result.stderr
    assert "3 done, 0 skipped, 0 failed" in result.stderr
    out = checkout / "clips"  # config.yaml's output_dir
    assert sorted(path.name for path in out.glob("*.mp4")) == sorted(CLIPS)
    source = thumbnails(VIDEO)
    for name, (start, end) in CLIPS.items():
        clip = out / name
        assert decode_errors(clip) == "", name
        assert stream_kinds(clip) == ["video", "audio"], name
        check = check_clip(clip, source, start, end, FPS)
        assert (check.first_error, check.last_error, check.preroll_packets) == (0, 0, 0), (name, check)
        assert check.frames == check.expected_frames == round((end - start) * FPS), (name, check)
        captions = clip.with_suffix(".srt").read_text(encoding="utf-8")
        assert captions.startswith("1\n00:00:00,000 --> "), name
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["clips"]
    assert sorted(manifest) == sorted(CLIPS)
    assert {record["status"] for record in manifest.values()} == {"done"}
    page = (out / "index.html").read_text(encoding="utf-8")
    assert all(name in page for name in CLIPS) and "clipper: an example talk" in page
    assert all(name in (out / "index.md").read_text(encoding="utf-8") for name in CLIPS)


def test_without_its_source_the_example_would_need_the_network_and_fails_here(checkout: Path, tmp_path: Path) -> None:
    """What keeps the first run offline is config.yaml's `sources:` entry: without it clipper goes for the note's
    url, which the guard stops (so the test above would have seen a fetch)."""
    config = checkout / "config.yaml"
    text = config.read_text(encoding="utf-8")
    assert SOURCE_LINE in text
    text = text.replace("sources:\n" + SOURCE_LINE, "").replace("\nretries: 3\n", "\nretries: 0\n")
    config.write_text(text, encoding="utf-8")

    result = run_clipper("batch", "examples/", cwd=checkout, env=offline(tmp_path), timeout=120)

    assert result.returncode == 1, result.stderr
    assert "0 done, 0 skipped, 3 failed" in result.stderr, result.stderr
    assert "clipper-example could not be fetched" in result.stderr and "the network is off" in result.stderr
    assert not list((checkout / "clips").glob("*.mp4"))


def test_the_note_says_what_the_video_says() -> None:
    """The note's transcript is the script's talk, line for line and at the same times; each highlight quotes
    its paragraph and its clip holds the whole of it."""
    talk = the_talk().TALK
    note = parse_note(NOTE)
    assert note is not None
    assert [(line.time, line.text) for line in transcript(note)] == [(float(start), text) for start, text in talk]
    starts = [float(start) for start, _ in talk]
    said = dict(zip(starts, (text for _, text in talk), strict=True))
    assert len(note.highlights) == len(CLIPS)
    for highlight, (name, (start, end)) in zip(note.highlights, CLIPS.items(), strict=True):
        assert (highlight.options.output, highlight.start, highlight.end) == (name, start, end)
        assert highlight.link_start == start and highlight.quote in said[start], highlight
        assert starts[starts.index(start) + 1] == end  # up to where the next paragraph starts


def test_the_committed_video_is_small_and_cuts_well() -> None:
    """H.264 and AAC in MP4, its index first (faststart), a keyframe every 2 s, 77 s, under 3 MB."""
    assert VIDEO.stat().st_size < 3_000_000
    boxes = [kind for kind, _, _ in top_level_boxes(VIDEO)]
    assert boxes.index(b"moov") < boxes.index(b"mdat")
    streams = ffprobe_entries(VIDEO, "stream=codec_name,width,height,r_frame_rate,sample_rate", "json")
    assert [{key: value for key, value in stream.items() if key != "disposition"}
            for stream in json.loads(streams)["streams"]] == [
        {"codec_name": "h264", "width": 640, "height": 360, "r_frame_rate": "25/1"},
        {"codec_name": "aac", "sample_rate": "48000", "r_frame_rate": "0/0"},
    ]  # fmt: skip
    assert float(ffprobe_entries(VIDEO, "format=duration").strip()) == pytest.approx(the_talk().END, abs=0.05)
    packets = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "packet=pts_time,flags",
         "-of", "csv=p=0", str(VIDEO)],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    keyframes = [float(line.split(",")[0]) for line in packets.splitlines() if "K" in line.split(",")[1]]
    assert keyframes == [2.0 * index for index in range(39)]


def loudness(path: Path, window: float = 0.05, rate: int = 8000) -> list[float]:
    """The audio's RMS level (0 to 1) in windows of ``window`` seconds."""
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-vn", "-ac", "1", "-ar", str(rate), "-f", "s16le", "-"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    samples = struct.unpack(f"<{len(raw) // 2}h", raw[: len(raw) // 2 * 2])
    size = round(window * rate)
    return [math.sqrt(sum(value * value for value in samples[at : at + size]) / size) / 32768
            for at in range(0, len(samples) - size + 1, size)]  # fmt: skip


def test_the_video_speaks_each_paragraph_from_the_time_the_transcript_gives() -> None:
    levels = loudness(VIDEO)
    talk = the_talk()

    def heard(start: float, end: float) -> float:
        return max(levels[round(start / 0.05) : round(end / 0.05)])

    for start, _ in talk.TALK:
        assert heard(start, start + 0.6) > 0.02, start  # speech begins at once
        if start:
            assert heard(start - talk.GAP + 0.05, start - 0.05) < 0.002, start  # after a pause
    assert heard(talk.END - 1.5, talk.END) < 0.002  # and the talk ends before the video does
