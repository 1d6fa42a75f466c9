"""Fuzzing a note's way through clipper: whatever bytes a note file holds, reading and planning it ends in a
plan or in clipper's own one-line error (a ClipperError), never in another exception, and every case within
the deadline. Reproducible: derandomized, no example database.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clipper.core.errors import ClipperError
from clipper.core.text import printable
from clipper.notes.key_points import key_points
from clipper.notes.parse import parse_note
from clipper.notes.transcript import transcript
from clipper.plan.config import Config
from clipper.plan.jobs import plan_jobs

EXAMPLE = (Path(__file__).parent / "u3HBJVjpXuw.md").read_bytes()
HIGHLIGHTS_AT = EXAMPLE.index(b"## Highlights")
CONFIG = Config()
FUZZ = settings(
    max_examples=150,
    deadline=2000,  # ms per example: a slow case is a failure too
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.fixture(scope="module")
def note_path(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One file rewritten by every example (hypothesis runs many examples per test function call)."""
    yield tmp_path_factory.mktemp("fuzz") / "note.md"


def assert_one_line(error: ClipperError) -> None:
    message = str(error)
    assert "\n" not in message and printable(message) == message, message


def read_and_plan(path: Path, data: bytes, *, sections: bool = True) -> None:
    """The property: parse, plan, read the lazy sections; only ClipperError may escape, as one line."""
    path.write_bytes(data)
    try:
        note = parse_note(path)
    except ClipperError as error:
        assert_one_line(error)
        return
    if note is None:
        return
    for problem in note.problems:
        assert_one_line(problem)
    try:
        jobs, errors = plan_jobs([note], CONFIG)
    except ClipperError as error:
        assert_one_line(error)
        return
    for plan_error in errors:
        assert_one_line(plan_error)
    assert all(job.start < job.end and job.output for job in jobs)
    if sections:
        key_points(note)
        transcript(note)


def flipped(data: bytes, flips: list[tuple[int, int]]) -> bytes:
    buffer = bytearray(data)
    for position, value in flips:
        buffer[position % len(buffer)] = value
    return bytes(buffer)


@FUZZ
@given(
    flips=st.lists(st.tuples(st.integers(0, len(EXAMPLE) - 1), st.integers(0, 255)), max_size=12),
    cut=st.none() | st.integers(0, len(EXAMPLE)),
)
def test_example_with_flipped_bytes_and_truncated(
    note_path: Path, flips: list[tuple[int, int]], cut: int | None
) -> None:
    read_and_plan(note_path, flipped(EXAMPLE, flips)[:cut])


# Bytes that matter to the readers: markdown and YAML syntax, invalid UTF-8, control characters, a BOM.
SPLICES = [
    b"\xff", b"\xc3", b"\xe9", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xef\xbb\xbf", b"\x00", b"\x1b]0;x\x07",
    b"\x1b[2J", b"\xc2\x9b", b"\r", b"\r\n", b"\n", b"\t", b" ", b"---\n", b"## ", b"### ", b"> ", b"```", b"~~~",
    b"[", b"]", b"(", b")", b"](", b"![", b"<details>", b"<", b">", b'"', b"'", b"\\", b"&a ", b"*a", b"!!binary ",
    b"!!python/name:os.system ", b"2025-02-30", b".inf", b"1:00:00:00", b"-- ", b"t=", b"*99999999999999999999-",
    b"--exec ", b"-o ../x.mp4 ", b"http://[x",
]  # fmt: skip


@FUZZ
@given(
    splices=st.lists(
        st.tuples(st.integers(0, len(EXAMPLE)), st.sampled_from(SPLICES) | st.binary(max_size=16)), max_size=10
    )
)
def test_example_with_spliced_bytes(note_path: Path, splices: list[tuple[int, bytes]]) -> None:
    data = EXAMPLE
    for position, piece in sorted(splices, reverse=True):
        data = data[:position] + piece + data[position:]
    read_and_plan(note_path, data)


@settings(FUZZ, max_examples=60)  # each example is up to 1.2 MB
@given(
    unit=st.sampled_from([b" ", b"[", b"[a](b)", b"[a](", b"#", b"`", b">", b"*", b"\\", b'"a', b"'", b"1:", b"- "]),
    count=st.integers(1, 200_000),
    position=st.integers(HIGHLIGHTS_AT, len(EXAMPLE)),
)
def test_huge_lines_in_the_highlights(note_path: Path, unit: bytes, count: int, position: int) -> None:
    # Planning reads the front matter and the highlights only. (key_points() and transcript() parse their
    # sections with markdown-it's inline rules: linear, but some 10 us a character on such lines.)
    read_and_plan(note_path, EXAMPLE[:position] + unit * count + EXAMPLE[position:], sections=False)


YAML_PIECES = [
    "video_id", "title", "channel", "upload_date", "duration", "tags", "url", ": ", ":", "\n", "  ", "- ", "? ",
    "&a ", "&b ", "*a", "*b", "[", "]", "{", "}", ", ", "'", '"', "abc", "u3HBJVjpXuw", "https://youtu.be/abc",
    "2025-02-30", "2025-10-04", "12:00:00", ".inf", ".nan", "-1", "9" * 30, "1:00:00:00", "!!binary ", "!!int ",
    "!!float ", "!!timestamp ", "!!bool ", "!!set ", "!!omap ", "!!python/object/apply:os.system ", "!<tag:%0A> ",
    "<<: ", "%YAML 1.1\n", "...\n", "|\n", ">\n", "#", "\\e", "\t", "\x1b", "\u2028", "é",
]  # fmt: skip


@FUZZ
@given(pieces=st.lists(st.sampled_from(YAML_PIECES), max_size=60))
def test_random_front_matter(note_path: Path, pieces: list[str]) -> None:
    front_matter = "".join(pieces)
    data = f"---\nvideo_id: abc\n{front_matter}\n---\n## Highlights\n### A\n"
    data += '```bash\nyt-dlp --download-sections "*0:01-0:05" https://youtu.be/abc\n```\n'
    read_and_plan(note_path, data.encode("utf-8", "surrogatepass"))


@settings(FUZZ, max_examples=50)
@given(levels=st.integers(1, 12), width=st.integers(1, 12), field=st.sampled_from(YAML_PIECES[:7]))
def test_alias_bombs_in_front_matter(note_path: Path, levels: int, width: int, field: str) -> None:
    lines = ["---", "video_id: abc", "l0: &l0 lol"]
    lines += [f"l{level}: &l{level} [{', '.join([f'*l{level - 1}'] * width)}]" for level in range(1, levels)]
    lines += [f"{field}: *l{levels - 1}", "---", ""]
    read_and_plan(note_path, "\n".join(lines).encode())


MARKDOWN_PIECES = [
    "## Highlights\n", "## Transcript\n", "## Key Points\n", "### ", "#### ", "> ", ">", "\n", "\n\n", " ", "    ",
    "```bash\n", "```\n", "~~~\n", "<details>\n", "<summary>Clip</summary>\n", "</details>\n", "yt-dlp ",
    '--download-sections "*0:01-0:05" ', "--download-sections ", '"*1:00-0:30" ', "--force-keyframes-at-cuts ",
    "--merge-output-format mp4 ", "-o clip.mp4 ", "-o '../x.mp4' ", "--exec 'rm -rf ~' ", "-fbest ", "--no-pl ",
    "https://youtu.be/abc ", "https://www.youtube.com/watch?v=abc&t=38s", "http://[x?t=1", "\\\n", "$(id) ", "; ",
    "[", "]", "(", ")", "![", "[0:38]", "(https://youtu.be/abc?t=38)", "-- Speaker, ", "— ", '"', "'", "“", "”",
    "- **Point** ", "**", "*", "_", "`", "<", "&amp;", "\t", "\x1b]0;x\x07", "\u202e", "\r", "0:38", "1:2:3:4",
]  # fmt: skip


@FUZZ
@given(pieces=st.lists(st.sampled_from(MARKDOWN_PIECES), max_size=80))
def test_random_markdown_body(note_path: Path, pieces: list[str]) -> None:
    read_and_plan(note_path, ("---\nvideo_id: abc\nduration: 699\n---\n" + "".join(pieces)).encode())


@settings(FUZZ, max_examples=100)
@given(data=st.binary(max_size=2000))
def test_random_bytes_after_front_matter(note_path: Path, data: bytes) -> None:
    read_and_plan(note_path, b"---\nvideo_id: abc\n---\n## Highlights\n### A\n" + data)
