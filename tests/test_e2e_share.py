"""Share-ready clips end to end: edges snapped into pauses, 9:16 and blurred-pad pictures, loudness for phones, the
shorts preset on the example note. Real ffmpeg on lavfi media; clips are decoded and compared with their source."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from conftest import EXAMPLE_NOTE, FPS, Served
from media import make_media, speech_bursts
from verify import check_clip, ffprobe_entries, nearest_frame, run_clipper, thumbnails

pytestmark = pytest.mark.slow

clipper = run_clipper
WIDTH, HEIGHT = 320, 180
CROP_W = 100  # 9:16 of 180 rows: trunc(180 * 9/16 / 2) * 2
# The bursts: tone from 0 to 1.2 s, a pause to 1.8 s, again from 1.8 to 3.0, ... (see media.speech_bursts).


@pytest.fixture(scope="module")
def bursts(media_dir: Path) -> Path:
    """16 s of 320x180 at 25 fps whose "speech" is tone bursts with pauses between them, at about -30 LUFS."""
    return make_media(media_dir / "bursts.mp4", seconds=16, size=f"{WIDTH}x{HEIGHT}", audio=speech_bursts(16))


@pytest.fixture(scope="module")
def bursts_thumbs(bursts: Path) -> list[bytes]:
    return thumbnails(bursts)


def note(video_id: str, clips: list[tuple[str, str, str]], lines: list[tuple[int, str]]) -> str:
    """A note: highlights (title, START-END, file name) and transcript lines (second, text)."""
    url = f"https://www.youtube.com/watch?v={video_id}"
    text = f"---\nvideo_id: {video_id}\ntitle: Bursts\nchannel: Tester\nduration: 16\nurl: {url}\n---\n"
    text += "\n## Highlights\n"
    for title, span, name in clips:
        text += f'\n### {title}\n\n```bash\nyt-dlp --download-sections "*{span}" "{url}" -o "{name}"\n```\n'
    text += "\n## Transcript\n"
    for second, said in lines:
        text += f"\n[0:{second:02d}]({url}&t={second}s) {said}\n"
    return text


LINES = [(0, "Zero."), (1, "One."), (2, "Two."), (6, "Six."), (10, "Ten."), (12, "Twelve.")]


def audio_samples(path: Path) -> memoryview:
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-vn", "-ac", "1", "-ar", "48000", "-f", "s16le",
                          "-"], check=True, capture_output=True).stdout  # fmt: skip
    return memoryview(raw).cast("h")


def edge_peaks(path: Path, seconds: float = 0.04) -> tuple[int, int]:
    """The loudest sample of the first and of the last ``seconds`` of a clip's audio."""
    samples = audio_samples(path)
    count = round(seconds * 48000)
    return max(abs(v) for v in samples[:count]), max(abs(v) for v in samples[-count:])


def loudness(path: Path) -> tuple[float, float]:
    """(integrated loudness in LUFS, true peak in dBTP) as ffmpeg's ebur128 measures them."""
    report = subprocess.run(["ffmpeg", "-hide_banner", "-nostats", "-i", str(path), "-af", "ebur128=peak=true",
                             "-f", "null", "-"], capture_output=True, text=True, check=True).stderr  # fmt: skip
    summary = report[report.rindex("Summary:") :]
    found = re.search(r"I:\s+(-?[\d.]+) LUFS", summary), re.search(r"Peak:\s+(-?[\d.]+|-inf) dBFS", summary)
    assert found[0] and found[1], summary
    return float(found[0].group(1)), float(found[1].group(1))


def gray(path: Path, at: float, vf: str = "null", seek_input: bool = True) -> bytes:
    """One frame at ``at`` (the first at or after it), filtered, as 8-bit grey pixels."""
    argv = ["ffmpeg", "-v", "error", *(["-ss", f"{at:.3f}"] if seek_input else []), "-i", str(path), "-frames:v", "1",
            "-vf", f"{vf},format=gray", "-f", "rawvideo", "-"]  # fmt: skip
    return subprocess.run(argv, check=True, capture_output=True).stdout


def difference(a: bytes, b: bytes) -> float:
    assert len(a) == len(b), (len(a), len(b))
    return sum(abs(x - y) for x, y in zip(a, b, strict=True)) / len(a)


def row_differences(a: bytes, b: bytes, width: int) -> list[float]:
    """The mean difference of each row of two grey frames of ``width`` columns."""
    return [difference(a[row : row + width], b[row : row + width]) for row in range(0, len(a), width)]


def size_of(path: Path) -> tuple[int, int]:
    width, height = ffprobe_entries(path, "stream=width,height", "csv=p=0").split()[0].split(",")
    return int(width), int(height)


def test_batch_snaps_edges_into_pauses_and_reports_both_times(
    tmp_path: Path, server: Served, bursts: Path, bursts_thumbs: list[bytes], short_video: Path
) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    # 0:02 and 0:10 fall mid-burst (tone 1.8-3.0 and 9.0-10.2); the pauses nearest are 1.2-1.8 and 10.2-10.8.
    (notes / "bursts.md").write_text(note("burst000001", [("Mid-word", "0:02-0:10", "burst.mp4")], LINES))
    # A recording without a pause (a steady tone): its edges stay.
    (notes / "tone.md").write_text(note("tone0000001", [("Steady", "0:05-0:09", "tone.mp4")], [(5, "Hum.")]))
    config = tmp_path / "clipper.yaml"
    config.write_text(f"output_dir: out\nsources:\n  burst000001: {server.url(bursts.name)}\n"
                      f"  tone0000001: {short_video}\n")  # fmt: skip
    server.folder.joinpath(bursts.name).exists() or pytest.fail("the bursts are served from the media folder")

    result = clipper("batch", str(notes), "--config", str(config), "--snap", "speech", "--progress", "lines",
                     cwd=tmp_path)  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert "burst.mp4: start 0:02 -> 0:01.56, in the pause 1.2" in result.stderr  # said in the log
    assert "tone.mp4: edges kept: no pause within 1s" in result.stderr
    out = tmp_path / "out"
    manifest = json.loads((out / "manifest.json").read_text())["clips"]
    burst, tone = manifest["burst.mp4"], manifest["tone.mp4"]
    assert (burst["note_start"], burst["note_end"]) == (2.0, 10.0)
    start, end = burst["start"], burst["end"]
    assert 1.25 <= start <= 1.75 and 10.25 <= end <= 10.75, (start, end)  # in the pauses, short of the next sound
    assert (tone["start"], tone["end"], tone["note_start"], tone["note_end"]) == (5.0, 9.0, 5.0, 9.0)
    assert burst["snap"]["window"] == 1.0 and burst["moment_url"].endswith("&t=1s")  # the clip's own start

    # The clip starts and ends in silence (the steady tone's does not: the measure tells them apart).
    assert max(edge_peaks(out / "burst.mp4")) < 100
    assert min(edge_peaks(out / "tone.mp4")) > 1000
    # Frame-accurate to the times the manifest gives: first frame at start, last just before end.
    check = check_clip(out / "burst.mp4", bursts_thumbs, start, end, FPS)
    assert (check.first_error, check.last_error, check.preroll_packets) == (0, 0, 0), check
    assert check.frames == check.expected_frames == round((end - start) * FPS), check
    # The captions follow the clip: its first cue is the line said at its own start, from 0.
    srt = (out / "burst.srt").read_text().split("\n\n")
    assert srt[0].splitlines()[1:] == [f"00:00:00,000 --> 00:00:00,{round((2.0 - start) * 1000):03d}", "One."]
    assert srt[1].splitlines()[2] == "Two."

    # Run again: the clips are found made at the times the manifest records, nothing is redone.
    again = clipper("batch", str(notes), "--config", str(config), "--snap", "speech", cwd=tmp_path)
    assert again.returncode == 0 and "0 done, 2 skipped, 0 failed" in again.stderr, again.stderr
    kept = json.loads((out / "manifest.json").read_text())["clips"]["burst.mp4"]
    assert (kept["start"], kept["end"], kept["snap"]) == (start, end, burst["snap"])


def test_a_dry_run_shows_the_snapped_times_and_why(tmp_path: Path, bursts: Path) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "bursts.md").write_text(note("burst000001", [("Mid-word", "0:02-0:10", "burst.mp4")], LINES))
    (tmp_path / "config.yaml").write_text(f"output_dir: out\nsnap: speech\nsources:\n  burst000001: {bursts}\n")

    result = clipper("batch", str(notes), "--dry-run", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert "# burst.mp4: burst000001 0:01.56-0:10.48 (" in result.stdout
    assert "# snapped to the speech (the note's 0:02-0:10): start 0:02 -> 0:01.56, in the pause 1.2" in result.stdout
    assert "-ss 1.56 -t 8.92 -i file:" in result.stdout  # the join takes the clip's own times
    assert not (tmp_path / "out").exists()


def test_a_snapped_clip_without_a_manifest_is_found_made_with_its_own_captions(tmp_path: Path, bursts: Path) -> None:
    (tmp_path / "n.md").write_text(note("burst000001", [("Mid-word", "0:02-0:10", "burst.mp4")], LINES))
    (tmp_path / "config.yaml").write_text(f"snap: speech\nsources:\n  burst000001: {bursts}\n")
    made = clipper("cut", "n.md", "--highlight", "1", "-o", "clip.mp4", cwd=tmp_path)  # here: no manifest beside it
    assert made.returncode == 0, made.stderr
    captions = (tmp_path / "clip.srt").read_text()
    assert captions.startswith("1\n00:00:00,000 --> 00:00:00,440\nOne.\n") and not (tmp_path / "manifest.json").exists()

    again = clipper("cut", "n.md", "--highlight", "1", "-o", "clip.mp4", cwd=tmp_path)

    assert again.returncode == 0 and "0 done, 1 skipped" in again.stderr, again.stderr
    assert (tmp_path / "clip.srt").read_text() == captions  # not the note's times


def test_a_9_16_clip_is_the_middle_of_the_source_with_its_captions_at_their_time(
    tmp_path: Path, bursts: Path, bursts_thumbs: list[bytes]
) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    # The transcript starts 2 s into the clip: before that, no caption may show (burnt ones once ran early).
    (notes / "n.md").write_text(note("burst000001", [("Shape", "0:02-0:08", "tall.mp4")], [(4, "Four.")]))
    (tmp_path / "config.yaml").write_text(f"sources:\n  burst000001: {bursts}\n")

    result = clipper("cut", str(notes / "n.md"), "--highlight", "1", "--aspect", "9:16", "--captions", "burn",
                     "-o", "c/tall.mp4", cwd=tmp_path)  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert "re-encoding the whole clip: cropped to 9:16 (every frame changes)" in result.stderr
    clip = tmp_path / "c" / "tall.mp4"
    assert size_of(clip) == (CROP_W, HEIGHT)
    assert ffprobe_entries(clip, "stream=r_frame_rate", "csv=p=0").split()[0].rstrip(",") == "25/1"
    # Above the captions, the picture is the source's middle (x 110-210) at the same moment, not its left part.
    top = f"crop={CROP_W}:100:0:0"
    middle, left = (f"crop={CROP_W}:{HEIGHT}:{x}:0,{top}" for x in ((WIDTH - CROP_W) // 2, 0))
    frame = gray(clip, 1.0, top)
    assert difference(frame, gray(bursts, 3.0, middle)) < 6 < difference(frame, gray(bursts, 3.0, left))
    # Frame-accurate: first frame at 0:02, last just before 0:08 (compared above the captions).
    clip_frames, source_frames = thumbnails_of(clip, top), thumbnails_of(bursts, middle)
    first, last = round(2.0 * FPS), round(8.0 * FPS) - 1
    assert len(clip_frames) == last - first + 1
    assert nearest_frame(clip_frames[0], source_frames, first) == first
    assert nearest_frame(clip_frames[-1], source_frames, last) == last
    # The captions (rows 120-180): the picture alone before the line is said, captioned after.
    source_frame = f"crop={CROP_W}:{HEIGHT}:{(WIDTH - CROP_W) // 2}:0"
    before = row_differences(gray(clip, 1.6), gray(bursts, 3.6, source_frame), CROP_W)
    after = row_differences(gray(clip, 2.4), gray(bursts, 4.4, source_frame), CROP_W)
    assert max(before) < 8 < 12 < max(after[120:]) and max(after[:100]) < 8, (before, after)


def thumbnails_of(path: Path, vf: str) -> list[bytes]:
    """``verify.thumbnails`` of the picture ``vf`` makes of each frame (so a crop is compared with its source)."""
    filtered = path.with_name(f"{path.stem}-{abs(hash(vf))}.mkv")
    if not filtered.exists():
        subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-an", "-vf", vf, "-c:v", "ffv1", str(filtered)],
                       check=True)  # fmt: skip
    return thumbnails(filtered)


def test_crop_x_follows_a_speaker_off_centre(tmp_path: Path, bursts: Path) -> None:
    result = clipper("cut", str(bursts), "0:02-0:04", "--aspect", "9:16", "--crop-x", "0", "-o", "c/left.mp4",
                     cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    frame = gray(tmp_path / "c" / "left.mp4", 0.5)
    assert difference(frame, gray(bursts, 2.5, f"crop={CROP_W}:{HEIGHT}:0:0")) < 6


def test_a_blurred_pad_keeps_the_whole_picture(tmp_path: Path, bursts: Path) -> None:
    result = clipper("cut", str(bursts), "0:02-0:04", "--aspect", "9:16", "--pad", "blur", "-o", "c/pad.mp4",
                     cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    clip = tmp_path / "c" / "pad.mp4"
    assert size_of(clip) == (HEIGHT, WIDTH)  # a 180x320 canvas: the source's long side
    # The whole source picture, fitted to the canvas's width (180x100), sits in its middle...
    whole = difference(gray(clip, 0.5, "crop=180:100:0:110"), gray(bursts, 2.5, "scale=180:100"))
    assert whole < 6, whole
    # ... over a blurred copy of itself, not black bars.
    above = gray(clip, 0.5, "crop=180:100:0:0")
    assert sum(above) / len(above) > 40


def test_loudnorm_brings_a_quiet_clip_to_minus_14_lufs_and_keeps_the_smart_cut(tmp_path: Path, bursts: Path) -> None:
    before, _ = loudness(bursts)
    result = clipper("cut", str(bursts), "0:02-0:10", "--loudnorm", "-o", "c/loud.mp4", "--progress", "lines",
                     cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "its audio is re-encoded: loudness normalised to -14 LUFS" in result.stderr
    assert "loud.mp4: loudness -3" in result.stderr and "linear" in result.stderr  # measured, then applied
    integrated, peak = loudness(tmp_path / "c" / "loud.mp4")
    assert before < -25 and abs(integrated + 14) <= 1 and peak <= -1, (before, integrated, peak)
    manifest = json.loads((tmp_path / "c" / "manifest.json").read_text())["clips"]["loud.mp4"]
    assert manifest["mode"] == "smart" and manifest["loudness"]["normalisation"] == "linear"


def test_the_shorts_preset_makes_the_example_notes_clip_for_a_phone(tmp_path: Path, server: Served) -> None:
    (tmp_path / "config.yaml").write_text(f"output_dir: out\nsources:\n  u3HBJVjpXuw: {server.url('long.mp4')}\n")

    result = clipper("cut", str(EXAMPLE_NOTE), "--highlight", "2", "--preset", "shorts", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    clip = tmp_path / "out" / "u3HBJVjpXuw-3m34s.mp4"
    assert size_of(clip) == (50, 90)  # 9:16 of the 160x90 source
    assert [line.rstrip(",") for line in ffprobe_entries(clip, "stream=codec_name").split()] == ["h264", "aac"]
    integrated, peak = loudness(clip)
    assert abs(integrated + 14) <= 1 and peak <= -0.9, (integrated, peak)
    # Captions burnt in the bottom third: there the clip differs from the source's middle, above it it does not
    # (at 50x90 the two lines are six rows of pixels).
    source = tmp_path / "source.mkv"
    subprocess.run(["ffmpeg", "-v", "error", "-ss", "214", "-t", "6", "-i", str(Path(server.folder) / "long.mp4"),
                    "-vf", "crop=50:90:55:0", "-an", "-c:v", "ffv1", str(source)], check=True)  # fmt: skip
    rows = row_differences(gray(clip, 3.0), gray(source, 3.0), 50)
    assert max(rows[:60]) < 8 < 12 < max(rows[60:]), rows
    entry = json.loads((tmp_path / "out" / "manifest.json").read_text())["clips"][clip.name]
    assert (entry["width"], entry["height"], entry["settings"]["aspect"], entry["mode"]) == (50, 90, "9:16", "reencode")
    # The gallery shows it as a vertical card.
    assert clipper("gallery", "out", cwd=tmp_path).returncode == 0
    assert '<article class="card vertical"' in (tmp_path / "out" / "index.html").read_text()
