"""Progress: bars on a terminal (overall clips + one per fetch and cut), plain lines in a pipe, nothing with -q."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest
from conftest import EXAMPLE_NOTE, Served

pytestmark = pytest.mark.slow


def note_and_config(tmp_path: Path, server: Served) -> tuple[Path, Path]:
    notes = tmp_path / "notes"
    notes.mkdir()
    text = EXAMPLE_NOTE.read_text()
    (notes / "n.md").write_text(text.split('### "Imitation')[0])  # the first two highlights
    config = tmp_path / "clipper.yaml"
    config.write_text(f"output_dir: out\ncache_dir: cache\nsources:\n  u3HBJVjpXuw: {server.url('long.mp4')}\n")
    return notes, config


def run_in_terminal(args: list[str], cwd: Path) -> tuple[int, str]:
    """Run with stderr and stdout on a pseudo-terminal, as a user at a shell would; return (status, screen)."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 160, 0, 0))  # a 160x40 terminal
    process = subprocess.Popen(args, cwd=cwd, stdin=subprocess.DEVNULL, stdout=follower, stderr=follower)
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:  # the terminal closes when the process ends
            break
        if not data:
            break
        chunks.append(data)
    os.close(leader)
    return process.wait(timeout=120), b"".join(chunks).decode(errors="replace")


def test_a_terminal_gets_progress_bars(tmp_path: Path, server: Served) -> None:
    notes, config = note_and_config(tmp_path, server)

    status, screen = run_in_terminal([sys.executable, "-m", "clipper", "batch", str(notes), "--config", str(config)],
                                     tmp_path)  # fmt: skip

    assert status == 0, screen
    assert "clips: 100%" in screen and "2/2" in screen  # the overall bar reached the end
    assert "fetch u3HBJVjpXuw" in screen  # a bar for each section fetch (media seconds)
    assert "join u3HBJVjpXuw-0m38s.mp4" in screen  # and for each step of each cut
    assert "\r" in screen  # redrawn in place, not printed line after line
    percentages = [int(found) for found in re.findall(r"(-?\d+)%\|", screen)]
    assert percentages and all(0 <= value <= 100 for value in percentages), sorted(set(percentages))
    assert "TqdmWarning" not in screen and "-" not in "".join(re.findall(r"\| (-?[\d.]+)/", screen))
    assert re.search(r"fetch u3HBJVjpXuw [\d-]+s: .*B/s", screen)  # fetches count bytes, with their speed


def test_a_pipe_gets_plain_lines_and_quiet_gets_none(tmp_path: Path, server: Served) -> None:
    notes, config = note_and_config(tmp_path, server)
    args = [sys.executable, "-m", "clipper", "batch", str(notes), "--config", str(config)]

    plain = subprocess.run(args, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert plain.returncode == 0, plain.stderr
    assert "\r" not in plain.stderr and "%|" not in plain.stderr
    assert "] fetch u3HBJVjpXuw" in plain.stderr and "] done u3HBJVjpXuw-3m34s.mp4" in plain.stderr

    quiet = subprocess.run([*args[:3], "-q", *args[3:], "--force"], cwd=tmp_path, capture_output=True, text=True,
                           timeout=120)  # fmt: skip
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stderr == ""
