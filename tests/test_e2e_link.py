"""End to end: `batch --link` writes a clip block under each highlight of the note (atomically, mode kept, again
byte for byte, never over a note changed meanwhile), and `watch` makes the clips of notes as they appear or
change. Real yt-dlp and ffmpeg, media served from 127.0.0.1, clips decoded against the source."""

from __future__ import annotations

import json
import os
import re
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import FPS, Served
from verify import check_clip, run_clipper

pytestmark = pytest.mark.slow

VIDEO = "shortvideo1"
URL = f"https://www.youtube.com/watch?v={VIDEO}"
HEAD = f'---\nvideo_id: {VIDEO}\ntitle: "A short talk"\nurl: {URL}\n---\n\n# A short talk\n\n## Highlights\n\n'
TAIL = "## Key Points\n\n- a point\n"
CLIPS = {"shortvideo1-0m02s.mp4": (2, 6), "shortvideo1-0m12s.mp4": (12, 16), "shortvideo1-0m20s.mp4": (20, 24)}
EMBED_RE = re.compile(r"<!-- clipper:begin id=(\S+) sha=[0-9a-f]{8} -->\n(.*)\n<!-- clipper:end -->")


def highlight(title: str, start: str, end: str) -> str:
    seconds = int(start.split(":")[1])
    return (
        f'### "{title}"\n\n```bash\nyt-dlp --download-sections "*{start}-{end}" "{URL}"\n```\n\n'
        f'> "Something said."\n> -- Someone, [{start}]({URL}&t={seconds}s)\n\n'
    )


def note_text(count: int = 2) -> str:
    parts = [
        highlight("First", "0:02", "0:06"),
        highlight("Second", "0:12", "0:16"),
        highlight("Third", "0:20", "0:24"),
    ]
    return HEAD + "".join(parts[:count]) + TAIL


def write_config(folder: Path, source: str, **extra: object) -> Path:
    lines = ["output_dir: out", f"cache_dir: {json.dumps(str(folder / 'cache'))}", "sources:",
             f"  {VIDEO}: {json.dumps(source)}"]  # fmt: skip
    lines += [f"{key}: {json.dumps(value)}" for key, value in extra.items()]
    path = folder / "clipper.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def embeds(note: Path) -> dict[str, str]:
    """The note's clip blocks: id -> the embed line."""
    return dict(EMBED_RE.findall(note.read_text()))


def target_of(embed: str) -> str:
    found = re.fullmatch(r"!\[\[(.+)\]\]|!\[[^\]]*\]\((.+)\)", embed)
    assert found is not None, embed
    return found.group(1) or found.group(2)


def assert_linked(note: Path, short_thumbs: list[bytes], names: list[str], style: str) -> None:
    found = embeds(note)
    assert sorted(found) == sorted(names)
    for name, embed in found.items():
        assert embed.startswith("![[" if style == "obsidian" else "![")
        clip = note.parent / target_of(embed)
        assert clip.resolve() == (note.parent.parent / "out" / name).resolve()
        start, end = CLIPS[name]
        check = check_clip(clip, short_thumbs, start, end, FPS)  # the embed leads to the clip, cut right
        assert abs(check.first_error) <= 1 and abs(check.last_error) <= 1, (name, check)


def make_notes(tmp_path: Path, text: str, mode: int | None = None) -> Path:
    notes = tmp_path / "notes"
    notes.mkdir()
    note = notes / "talk.md"
    note.write_bytes(text.encode())
    if mode is not None:
        note.chmod(mode)
    return note


@pytest.mark.parametrize("style", ["obsidian", "markdown"])
def test_batch_link_writes_the_blocks_once_keeping_the_notes_mode_and_line_endings(
    tmp_path: Path, server: Served, short_thumbs: list[bytes], style: str
) -> None:
    newline = "\r\n" if style == "markdown" else "\n"
    original = note_text().replace("\n", newline)
    note = make_notes(tmp_path, original, mode=0o640)
    config = write_config(tmp_path, server.url("short.mp4"), link_style=style)

    result = run_clipper("batch", str(note.parent), "--config", str(config), "--link", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert f"clipper: linked {note}: 2 clip block(s) written" in result.stderr
    assert stat.S_IMODE(note.stat().st_mode) == 0o640
    text = note.read_bytes().decode()
    assert "\n" not in text.replace(newline, "")  # the note's own line endings
    assert_linked(note, short_thumbs, ["shortvideo1-0m02s.mp4", "shortvideo1-0m12s.mp4"], style)
    first = embeds(note)["shortvideo1-0m02s.mp4"]
    assert first == (
        "![[../out/shortvideo1-0m02s.mp4]]" if style == "obsidian" else "![First](../out/shortvideo1-0m02s.mp4)"
    )
    without = re.sub(r"(\r?\n)<!-- clipper:begin .*?<!-- clipper:end -->\r?\n", "", text, flags=re.DOTALL)
    assert without == original  # nothing outside the blocks (and the blank line before each) changed
    assert [path.name for path in note.parent.iterdir()] == ["talk.md"]  # no temporary file left

    before = (note.read_bytes(), note.stat().st_ino, note.stat().st_mtime_ns)
    again = run_clipper("batch", str(note.parent), "--config", str(config), "--link", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "0 done, 2 skipped, 0 failed" in again.stderr
    assert "linked" not in again.stderr
    assert (note.read_bytes(), note.stat().st_ino, note.stat().st_mtime_ns) == before  # not even rewritten


def test_batch_without_link_leaves_the_note_and_config_link_notes_turns_it_on(tmp_path: Path, server: Served) -> None:
    note = make_notes(tmp_path, note_text(1))
    config = write_config(tmp_path, server.url("short.mp4"))
    result = run_clipper("batch", str(note.parent), "--config", str(config), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert note.read_text() == note_text(1)

    config = write_config(tmp_path, server.url("short.mp4"), link_notes=True)
    assert run_clipper("batch", str(note.parent), "--config", str(config), "--no-link", cwd=tmp_path).returncode == 0
    assert note.read_text() == note_text(1)
    result = run_clipper("batch", str(note.parent), "--config", str(config), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert list(embeds(note)) == ["shortvideo1-0m02s.mp4"]


def test_a_note_changed_during_the_run_is_left_as_it_is(tmp_path: Path, server: Served) -> None:
    note = make_notes(tmp_path, note_text())
    # The whole video through the slow host (about 1.5 s): time to change the note once it has been read.
    config = write_config(tmp_path, server.url("slow/short.mp4"), fetch="full")
    process = subprocess.Popen(
        [sys.executable, "-m", "clipper", "batch", str(note.parent), "--config", str(config), "--link"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while not (tmp_path / "out" / ".clipper.lock").exists() and time.monotonic() < deadline:
        time.sleep(0.01)  # the lock is taken once the notes are read and planned
    assert process.poll() is None, "the run ended before the note could be changed"
    edited = note_text() + "\nA line of my own.\n"
    note.write_text(edited)
    _, stderr = process.communicate(timeout=120)

    assert process.returncode == 1, stderr
    assert "2 done, 0 skipped, 0 failed" in stderr
    assert f"\n{note}: changed since it was read; not linked (run again)\n" in stderr
    assert note.read_text() == edited

    again = run_clipper("batch", str(note.parent), "--config", str(config), "--link", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert sorted(embeds(note)) == ["shortvideo1-0m02s.mp4", "shortvideo1-0m12s.mp4"]
    assert note.read_text().endswith("\nA line of my own.\n")


def test_a_block_edited_by_hand_is_kept_and_said(tmp_path: Path, server: Served) -> None:
    note = make_notes(tmp_path, note_text())
    config = write_config(tmp_path, server.url("short.mp4"), link_notes=True)
    assert run_clipper("batch", str(note.parent), "--config", str(config), cwd=tmp_path).returncode == 0
    edited = note.read_text().replace(
        "![First](../out/shortvideo1-0m02s.mp4)", "![My caption](../out/shortvideo1-0m02s.mp4)"
    )
    note.write_text(edited)
    line = edited.splitlines().index(next(x for x in edited.splitlines() if "id=shortvideo1-0m02s.mp4" in x)) + 1

    config = write_config(tmp_path, server.url("short.mp4"), link_notes=True, link_style="obsidian")
    result = run_clipper("batch", str(note.parent), "--config", str(config), cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert (f"{note}:{line}: the clip block shortvideo1-0m02s.mp4 was edited; left as it is (delete it to have clipper "
            "write it again)") in result.stderr  # fmt: skip
    assert embeds(note) == {"shortvideo1-0m02s.mp4": "![My caption](../out/shortvideo1-0m02s.mp4)",
                            "shortvideo1-0m12s.mp4": "![[../out/shortvideo1-0m12s.mp4]]"}  # fmt: skip


def test_dry_run_link_shows_the_change_and_writes_nothing(
    tmp_path: Path, short_video: Path, short_thumbs: list[bytes]
) -> None:
    note = make_notes(tmp_path, note_text())
    config = write_config(tmp_path, str(short_video), link_notes=True)

    result = run_clipper("batch", str(note.parent), "--config", str(config), "--dry-run", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert note.read_text() == note_text()
    assert not (tmp_path / "out").exists()
    tail = result.stdout.split("# --link: the notes would change so (nothing is written):\n")[1].splitlines()
    assert tail[:2] == [f"# --- {note}", f"# +++ {note}"]
    assert "# +![First](../out/shortvideo1-0m02s.mp4)" in tail
    assert all(line.startswith("# ") for line in tail)
    script = tmp_path / "clips.sh"
    script.write_text(result.stdout)
    ran = subprocess.run(["sh", str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert ran.returncode == 0, ran.stderr[-3000:]
    assert check_clip(tmp_path / "out" / "shortvideo1-0m12s.mp4", short_thumbs, 12, 16, FPS).first_error == 0
    assert note.read_text() == note_text()


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def save_like_an_editor(note: Path, text: str) -> None:
    """Write a temporary file beside the note, then rename it over the note (as editors save)."""
    temp = note.with_name(f".{note.name}.swp")
    temp.write_text(text)
    os.replace(temp, note)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child: Ctrl-C is a console event on Windows")
def test_watch_makes_the_clips_of_notes_as_they_come_and_change(
    tmp_path: Path, server: Served, short_thumbs: list[bytes]
) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "README.md").write_text("# Not a note\n")
    config = write_config(tmp_path, server.url("short.mp4"), link_notes=True)
    log = tmp_path / "watch.log"
    with log.open("w") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "clipper", "watch", str(notes), "--config", str(config), "--interval", "0.1",
             "--settle", "0.5", "--progress", "off"],
            cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=stderr, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )  # fmt: skip
    try:
        out = tmp_path / "out"
        note = notes / "talk.md"
        wait_for(lambda: "watching" in log.read_text(), "the watch to start")
        save_like_an_editor(note, note_text(1))
        wait_for(lambda: len(embeds(note)) == 1, "the first clip's block")
        assert (out / "shortvideo1-0m02s.mp4").exists()

        save_like_an_editor(note, note.read_text().replace(TAIL, highlight("Second", "0:12", "0:16") + TAIL))
        wait_for(lambda: len(embeds(note)) == 2, "the new highlight's block")
        assert_linked(note, short_thumbs, ["shortvideo1-0m02s.mp4", "shortvideo1-0m12s.mp4"], "markdown")

        (notes / "broken.md").write_text(f"---\nvideo_id: {VIDEO}\n---\n\n## Highlights\n\n### No command\n")
        wait_for(lambda: "broken.md" in log.read_text() and "no clip command" in log.read_text(), "the bad note's line")
        time.sleep(1.5)  # a write-back is no change: nothing more is run
        text = log.read_text()
        assert text.count("clipper: watch: changed:") == 3, text  # not the README, nor after a write-back
        assert text.count(" done, ") == 2, text  # the bad note has nothing to make
        assert "Traceback" not in text
        assert process.poll() is None  # it goes on after a bad note
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
    assert process.returncode == 130, log.read_text()
    assert "watch stopped" in log.read_text()
    assert sorted(path.name for path in (tmp_path / "out").glob("*.mp4")) == ["shortvideo1-0m02s.mp4",
                                                                                "shortvideo1-0m12s.mp4"]  # fmt: skip
    hidden = [
        path.name for folder in (notes, tmp_path / "out") for path in folder.iterdir() if path.name.startswith(".")
    ]
    assert hidden in ([], [".clipper.lock"]), hidden


def start_watch(tmp_path: Path, notes: Path, config: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("w") as stderr:
        return subprocess.Popen(
            [sys.executable, "-m", "clipper", "watch", str(notes), "--config", str(config), "--interval", "0.1",
             "--settle", "0.3", "--progress", "off"],
            cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=stderr, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )  # fmt: skip


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child: Ctrl-C is a console event on Windows")
def test_ctrl_c_during_a_watchs_run_stops_it_and_leaves_no_partial_file(tmp_path: Path, server: Served) -> None:
    note = make_notes(tmp_path, note_text())
    config = write_config(tmp_path, server.url("slow/short.mp4"), fetch="full", link_notes=True)
    log = tmp_path / "watch.log"
    process = start_watch(tmp_path, note.parent, config, log)
    try:
        wait_for(lambda: "shortvideo1: full:" in log.read_text(), "the run to start")
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)

    assert process.returncode == 130, log.read_text()
    assert "interrupted" in log.read_text()
    assert note.read_text() == note_text()
    out = tmp_path / "out"
    assert [path.name for path in out.iterdir() if path.name.startswith(".") and path.name != ".clipper.lock"] == []
    assert [path.name for path in note.parent.iterdir()] == ["talk.md"]
