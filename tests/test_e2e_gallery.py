"""Clip companions end to end: captions, tags in the file, and the gallery played in a real (headless) Chromium."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from conftest import EXAMPLE_NOTE, Served
from verify import ffprobe_entries, run_clipper

pytestmark = pytest.mark.slow
CHROMIUM = os.environ.get("CLIPPER_TEST_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(os.environ.get("CLIPPER_TEST_ARTIFACTS", Path(__file__).parent.parent / "test-artifacts"))


def one_highlight(number: int, text: str | None = None) -> str:
    """The example note with only its highlight ``number`` (1-4), transcript and all."""
    text = text or EXAMPLE_NOTE.read_text()
    head, rest = text.split("## Highlights\n", 1)
    highlights, tail = rest.split("## Key Points\n", 1)
    blocks = highlights.split("\n### ")
    return head + "## Highlights\n" + blocks[0] + "\n### " + blocks[number] + "## Key Points\n" + tail


clipper = run_clipper


def tags_of(path: Path) -> dict[str, str]:
    return dict(json.loads(ffprobe_entries(path, "format_tags", "json"))["format"].get("tags", {}))


def stream_types(path: Path) -> list[str]:
    streams = json.loads(ffprobe_entries(path, "stream=codec_type,codec_name", "json"))["streams"]
    return [f"{s['codec_type']}:{s['codec_name']}" for s in streams]


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory, server: Served) -> Path:
    """The example note plus a hostile one, made once: the folder that holds clips, captions and the gallery."""
    folder = tmp_path_factory.mktemp("gallery")
    notes = folder / "notes"
    notes.mkdir()
    (notes / EXAMPLE_NOTE.name).write_text(EXAMPLE_NOTE.read_text())
    hostile = one_highlight(1)
    hostile = hostile.replace('### "LLMs are not learning anything during training"',
                              "### <script>alert('title')</script> & <b>bold</b>")  # fmt: skip
    hostile = hostile.replace("u3HBJVjpXuw", "hostile0000").replace(
        "upload_date: 2025-10-04", "upload_date: 2020-01-01"
    )
    (notes / "hostile.md").write_text(hostile)
    (folder / "clipper.yaml").write_text(
        f"output_dir: out\ncache_dir: cache\nsources:\n  u3HBJVjpXuw: {server.url('long.mp4')}\n"
        f"  hostile0000: {server.url('long.mp4')}\n"
    )
    result = clipper("batch", str(notes), "--config", str(folder / "clipper.yaml"), cwd=folder)
    assert result.returncode == 0, result.stderr
    assert "clipper: gallery " in result.stderr
    return folder / "out"


def test_every_clip_has_captions_on_its_own_timeline(batch: Path) -> None:
    srt = (batch / "u3HBJVjpXuw-3m34s.srt").read_text()
    assert srt.startswith(
        "1\n00:00:00,000 --> 00:00:04,607\nIlya Sutskever gave a talk a couple of months ago and he\n"
    )
    assert "00:00:04,607 --> 00:00:08,062\ncompared pretraining data to fossil fuels." in srt
    vtt = (batch / "u3HBJVjpXuw-3m34s.vtt").read_text()
    assert vtt.startswith("WEBVTT") and "00:00:00.000 --> 00:00:04.607" in vtt
    # Every clip's captions start at its own 0 with the transcript line said at its start, and end by its end.
    transcript = EXAMPLE_NOTE.read_text().split("## Transcript", 1)[1]
    for name, start, length in (("u3HBJVjpXuw-0m38s", "0:38", 57), ("u3HBJVjpXuw-6m07s", "6:07", 53),
                                ("u3HBJVjpXuw-10m34s", "10:34", 61), ("hostile0000-0m38s", "0:38", 57)):  # fmt: skip
        cues = (batch / f"{name}.srt").read_text().strip().split("\n\n")
        first_text = cues[0].split("\n", 2)[2].replace("\n", " ")
        said = next(line for line in transcript.splitlines() if line.startswith(f"[{start}]"))
        assert cues[0].split("\n")[1].startswith("00:00:00,000 --> "), (name, cues[0])
        assert first_text.split()[:4] == said.split(") ", 1)[1].split()[:4], (name, first_text)
        last_end = cues[-1].split("\n")[1].split(" --> ")[1]
        assert last_end <= f"00:{length // 60:02d}:{length % 60:02d},000", (name, last_end)
        vtt = (batch / f"{name}.vtt").read_text()
        assert vtt.startswith("WEBVTT") and vtt.count(" --> ") == len(cues), name


def test_tags_are_in_the_file_and_the_manifest(batch: Path) -> None:
    tags = tags_of(batch / "u3HBJVjpXuw-3m34s.mp4")
    assert tags["title"] == "Pretraining data is like fossil fuels"
    assert tags["artist"] == "Dwarkesh Patel"
    assert tags["album"] == "Some thoughts on the Sutton interview"
    assert tags["comment"] == "https://www.youtube.com/watch?v=u3HBJVjpXuw&t=214s"
    assert tags["description"].startswith("\u201cIlya Sutskever gave a talk") and tags["description"].endswith(
        "\u201d \u2014 Dwarkesh Patel")  # fmt: skip
    assert tags["date"] == "2025-10-04"
    manifest = json.loads((batch / "manifest.json").read_text())["clips"]["u3HBJVjpXuw-3m34s.mp4"]
    assert manifest["metadata"]["title"] == tags["title"] and manifest["metadata"]["comment"] == tags["comment"]
    assert manifest["captions"] == {"srt": "u3HBJVjpXuw-3m34s.srt", "vtt": "u3HBJVjpXuw-3m34s.vtt"}


def test_list_shows_status_length_and_size(batch: Path) -> None:
    listed = clipper("list", str(batch), cwd=batch)
    assert listed.returncode == 0, listed.stderr
    rows = [line.split()[:4] for line in listed.stdout.splitlines()[1:]]
    assert rows[2][:3] == ["u3HBJVjpXuw-3m34s.mp4", "done", "56.0s"]
    assert len(rows) == 5 and all(row[1] == "done" for row in rows)
    (batch / "hostile0000-0m38s.mp4").rename(batch / "moved.mp4")
    try:
        missing = clipper("list", str(batch), cwd=batch)
        assert [line.split()[1] for line in missing.stdout.splitlines()[1:] if line.startswith("hostile")] == [
            "missing"
        ]
    finally:
        (batch / "moved.mp4").rename(batch / "hostile0000-0m38s.mp4")


def test_the_gallery_plays_every_clip_in_chromium(batch: Path) -> None:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (or set CLIPPER_TEST_CHROMIUM)")
    from playwright.sync_api import sync_playwright

    page_path = batch / "index.html"
    assert (batch / "index.md").read_text().startswith("# Clips")
    assert sorted(p.name for p in (batch / "posters").iterdir()) == sorted(
        f"{p.stem}.jpg" for p in batch.glob("*.mp4"))  # fmt: skip
    dialogs: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run", "--disable-quic"])  # fmt: skip
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})

            def dismiss(dialog: Any) -> None:
                dialogs.append(dialog.message)
                dialog.dismiss()

            page.on("dialog", dismiss)
            page.goto(page_path.as_uri())
            page.wait_for_function(
                "Array.from(document.querySelectorAll('video')).every(v => v.readyState > 0 || v.error)", timeout=30000
            )
            videos = page.evaluate(
                "Array.from(document.querySelectorAll('video')).map(v => ({ready: v.readyState, "
                "duration: v.duration, error: v.error && v.error.code, expected: +v.dataset.expectedDuration, "
                "src: v.querySelector('source').getAttribute('src')}))"
            )
            assert len(videos) == 5
            for video in videos:
                assert video["error"] is None and video["ready"] > 0, video
                assert abs(video["duration"] - video["expected"]) < 0.1, video
            # Captions show from disk (file://): every player has its cues, on the clip's own timeline.
            tracks = page.evaluate(
                "Array.from(document.querySelectorAll('video')).map(v => ({src: v.querySelector('source')"
                ".getAttribute('src'), tracks: Array.from(v.textTracks).map(t => ({mode: t.mode, cues: "
                "Array.from(t.cues || []).map(c => [c.startTime, c.text])}))}))"
            )
            for player in tracks:
                assert [track["mode"] for track in player["tracks"]] == ["showing"], player["src"]
                assert player["tracks"][0]["cues"], player["src"]
            fossil = next(player for player in tracks if player["src"] == "u3HBJVjpXuw-3m34s.mp4")
            assert fossil["tracks"][0]["cues"][0] == [0, "Ilya Sutskever gave a talk a couple of months ago and he"]
            headings = page.eval_on_selector_all(".card h3", "els => els.map(e => e.textContent)")
            assert "<script>alert('title')</script> & <b>bold</b>" in headings  # shown as text
            assert dialogs == []
            # Newest video first: the example (2025) before the hostile note's (2020).
            assert page.eval_on_selector_all("section.video", "els => els.map(e => e.dataset.video)") == [
                "u3HBJVjpXuw", "hostile0000"]  # fmt: skip
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "gallery.png"), full_page=True)

            page.fill("#search", "fossil fuels")
            visible = page.eval_on_selector_all(".card:not(.hidden) h3", "els => els.map(e => e.textContent)")
            assert visible == ["Pretraining data is like fossil fuels"]
            assert page.text_content("#count") == "1 clips"
            assert page.eval_on_selector_all("section.video.hidden", "els => els.length") == 1
            page.fill("#search", "")
            assert page.eval_on_selector_all(".card:not(.hidden)", "els => els.length") == 5
        finally:
            browser.close()


def batch_of_one(tmp_path: Path, server: Served, highlight: int, *flags: str) -> subprocess.CompletedProcess[str]:
    """``clipper batch`` on the example note cut down to one highlight, served from 127.0.0.1."""
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "n.md").write_text(one_highlight(highlight))
    config = tmp_path / "c.yaml"
    config.write_text(f"output_dir: out\ncache_dir: cache\nsources:\n  u3HBJVjpXuw: {server.url('long.mp4')}\n")
    return clipper("batch", str(notes), "--config", str(config), *flags, cwd=tmp_path)


def test_embedded_captions_are_a_soft_track(tmp_path: Path, server: Served) -> None:
    result = batch_of_one(tmp_path, server, 2, "--captions", "embed", "--no-gallery")

    assert result.returncode == 0, result.stderr
    clip = tmp_path / "out" / "u3HBJVjpXuw-3m34s.mp4"
    assert stream_types(clip) == ["video:h264", "audio:aac", "subtitle:mov_text"]
    text = subprocess.run(["ffmpeg", "-v", "error", "-i", str(clip), "-map", "0:s:0", "-f", "srt", "-"],
                          check=True, capture_output=True, text=True).stdout  # fmt: skip
    assert text.startswith("1\n00:00:00,000 --> 00:00:04,607\nIlya Sutskever")
    assert not (tmp_path / "out" / "index.html").exists()  # --no-gallery


def test_burnt_captions_re_encode_and_say_so(tmp_path: Path, server: Served) -> None:
    result = batch_of_one(tmp_path, server, 1, "--captions", "burn", "--json")

    assert result.returncode == 0, result.stderr
    assert "burnt-in captions change every frame" in result.stderr
    [entry] = json.loads(result.stdout)
    assert entry["mode"] == "reencode" and entry["status"] == "done"
    assert stream_types(tmp_path / "out" / "u3HBJVjpXuw-0m38s.mp4") == ["video:h264", "audio:aac"]


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs ffmpeg")
def test_gallery_command_rebuilds_the_page(batch: Path) -> None:
    (batch / "index.html").unlink()
    result = clipper("gallery", str(batch), cwd=batch)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(batch / "index.html")
    assert "hostile0000-0m38s.mp4" in (batch / "index.html").read_text()


def test_a_tampered_manifest_leads_the_gallery_nowhere_outside_its_folder(batch: Path, tmp_path: Path) -> None:
    """manifest.json is a file anyone who can write the folder can edit: a path in it (absolute, ``..``, a drive,
    a link out, captions elsewhere, an ``output`` that is not the entry's name) skips that entry with one line, and
    nothing outside the folder is read or written."""
    out = tmp_path / "a" / "out"
    shutil.copytree(batch, out, symlinks=True)
    victim = tmp_path / "victim.mp4"
    shutil.copy(out / "u3HBJVjpXuw-0m38s.mp4", victim)  # a real video: a poster would be made from it
    (tmp_path / "victim.vtt").write_text("WEBVTT\n\n00:00.000 --> 00:05.000\nSECRET-CUE\n")
    (out / "link.mp4").symlink_to(victim)
    (out / "link.vtt").symlink_to(tmp_path / "victim.vtt")
    path = out / "manifest.json"
    manifest = json.loads(path.read_text())
    clips = manifest["clips"]
    good = clips["u3HBJVjpXuw-0m38s.mp4"]
    tampered = {str(victim): "the clip's name is a path", "../../victim.mp4": "the clip's name is a path",
                "link.mp4": "the clip's name is a link that leads out of the output folder",
                "C:victim.mp4": "the clip's name names a drive",
                "u3HBJVjpXuw-3m34s.mp4": "its vtt captions' name is a path",
                "u3HBJVjpXuw-6m07s.mp4": "its vtt captions' name is a link that leads out of the output folder",
                "u3HBJVjpXuw-10m34s.mp4": "its output '../../victim.mp4' is not its own name"}  # fmt: skip
    for name in tampered:
        clips[name] = {**good, "output": name}
    clips["u3HBJVjpXuw-3m34s.mp4"]["captions"] = {"srt": "a.srt", "vtt": "../../victim.vtt"}
    clips["u3HBJVjpXuw-6m07s.mp4"]["captions"] = {"srt": "a.srt", "vtt": "link.vtt"}
    clips["u3HBJVjpXuw-10m34s.mp4"]["output"] = "../../victim.mp4"
    path.write_text(json.dumps(manifest))

    def outside() -> dict[Path, int]:
        return {found: found.lstat().st_mtime_ns for found in tmp_path.rglob("*") if out not in (found, *found.parents)}

    before, posters = outside(), sorted((out / "posters").iterdir())
    result = clipper("gallery", str(out), cwd=tmp_path)

    assert result.returncode == 1, result.stderr
    lines = result.stderr.splitlines()
    for name, problem in tampered.items():
        said = [line for line in lines if line.startswith(f"{path}: entry {name!r} skipped: {problem}")]
        assert len(said) == 1, (name, result.stderr)
    assert len(lines) == len(tampered), result.stderr
    assert outside() == before  # nothing written (or made) outside
    page, index = (out / "index.html").read_text(), (out / "index.md").read_text()
    assert "SECRET-CUE" not in page and "victim" not in page and "victim" not in index
    assert "u3HBJVjpXuw-0m38s.mp4" in page and "hostile0000-0m38s.mp4" in page
    assert sorted((out / "posters").iterdir()) == posters  # the batch's, none more

    listed = clipper("list", str(out), cwd=tmp_path)
    assert listed.returncode == 1
    assert len(listed.stderr.splitlines()) == len(tampered), listed.stderr
    assert "victim" not in listed.stdout and "link.mp4" not in listed.stdout
    assert "u3HBJVjpXuw-0m38s.mp4" in listed.stdout
