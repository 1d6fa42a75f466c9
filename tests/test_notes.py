"""Markdown note -> Note: the example note exactly, and the ways real notes go wrong."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from clipper.core.errors import NoteError
from clipper.core.text import printable
from clipper.notes.key_points import key_points
from clipper.notes.parse import Note, find_notes, parse_note
from clipper.notes.transcript import transcript
from clipper.policy.clip_command import ClipOptions

EXAMPLE = Path(__file__).parent / "u3HBJVjpXuw.md"
EXAMPLE_URL = "https://www.youtube.com/watch?v=u3HBJVjpXuw"


def write(tmp_path: Path, name: str, *lines: str) -> Path:
    """Write a note from its lines (a part may hold several lines, e.g. a fence)."""
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def fence(section: str, output: str | None = None, url: str = "https://youtu.be/abc") -> str:
    """A clip command block: three lines."""
    name = f" -o {output}" if output else ""
    return f'```bash\nyt-dlp --download-sections "*{section}" {url}{name}\n```'


def parsed(path: Path) -> Note:
    note = parse_note(path)
    assert note is not None
    return note


@pytest.fixture(scope="module")
def example() -> Note:
    return parsed(EXAMPLE)


def test_example_front_matter(example: Note) -> None:
    assert example.path == EXAMPLE
    assert example.video_id == "u3HBJVjpXuw"
    assert example.title == "Some thoughts on the Sutton interview"
    assert example.url == EXAMPLE_URL
    assert example.channel == "Dwarkesh Patel"
    assert example.duration == 699.0
    assert example.meta["tags"][:2] == ["AI", "reinforcement-learning"]
    assert example.problems == ()
    assert list(example.sections) == [
        "summary",
        "highlights",
        "key points",
        "mentions",
        "surprising quotes",
        "transcript",
    ]
    assert example.sections["highlights"].line == 34
    assert example.sections["transcript"].title == "Transcript"


def test_example_highlights(example: Note) -> None:
    rows = [
        (h.title, h.line, h.start, h.end, h.command_line, h.link_start, h.speaker, h.options.output)
        for h in example.highlights
    ]
    assert rows == [
        (
            "LLMs are not learning anything during training",
            35,
            38.0,
            95.0,
            42,
            38.0,
            "Dwarkesh Patel (steelmanning Sutton)",
            "u3HBJVjpXuw-0m38s.mp4",
        ),
        (
            "Pretraining data is like fossil fuels",
            49,
            214.0,
            270.0,
            56,
            214.0,
            "Dwarkesh Patel",
            "u3HBJVjpXuw-3m34s.mp4",
        ),
        (
            "Imitation learning is RL, just very long horizon",
            63,
            367.0,
            420.0,
            70,
            367.0,
            "Dwarkesh Patel",
            "u3HBJVjpXuw-6m07s.mp4",
        ),
        (
            "We're going the opposite way from meta-RL",
            77,
            634.0,
            695.0,
            84,
            634.0,
            "Dwarkesh Patel",
            "u3HBJVjpXuw-10m34s.mp4",
        ),
    ]


def test_example_quotes(example: Note) -> None:
    assert [" ".join(h.quote.split()[:4]) for h in example.highlights] == [
        "Most of the compute",
        "Ilya Sutskever gave a",
        "Imitation learning is not",
        "The original idea was",
    ]
    first = example.highlights[0].quote
    # The surrounding quotes are gone; the attribution line is not part of the quote.
    assert first.endswith("condensing tens of thousands of years of human experience.")
    assert example.highlights[3].quote.endswith("Maybe this won't work!")
    assert all('"' not in h.quote and "--" not in h.quote[-5:] for h in example.highlights)


def test_example_clip_options(example: Note) -> None:
    assert example.highlights[1].options == ClipOptions(
        url=EXAMPLE_URL,
        start=214.0,
        end=270.0,
        output="u3HBJVjpXuw-3m34s.mp4",
        merge_output_format="mp4",
        force_keyframes_at_cuts=True,
    )


def test_example_key_points(example: Note) -> None:
    points = key_points(example)
    assert len(points) == 15
    assert [p.time for p in points] == [0, 38, 76, 98, 132, 175, 214, 246, 303, 470, 506, 582, 605, 634, 668]
    assert [p.line for p in points] == list(range(93, 108))
    first, last = points[0], points[-1]
    assert first.title == "Steelman of Sutton's position"
    assert first.text == (
        "The Bitter Lesson says you should throw compute at learning from experience, not hand-engineer knowledge."
        " LLMs violate this because their training is pure imitation."
    )
    assert last.title == "Sutton sees fundamental inefficiencies"
    assert last.time == 668.0
    assert last.text == (
        "Even if LLMs reach AGI, their sample efficiency is abysmal and successor systems may look very different."
    )


def test_example_transcript(example: Note) -> None:
    lines = transcript(example)
    assert len(lines) == 28
    assert [line.time for line in lines] == [
        0, 19, 38, 66, 98, 125, 159, 175, 197, 214, 246, 276, 303, 335,
        367, 386, 405, 441, 470, 485, 506, 536, 553, 576, 596, 634, 654, 668,
    ]  # fmt: skip
    assert [line.line for line in lines] == list(range(139, 194, 2))
    assert lines[0].text.startswith("Boy do you guys have a lot of comments.")
    assert lines[-1].text.startswith("Even if Sutton is wrong about LLMs being the path to first AGI,")
    assert lines[-1].text.endswith("the successor systems that they build will likely look very different.")


def test_crlf_copy_parses_identically(tmp_path: Path, example: Note) -> None:
    copy = tmp_path / "crlf.md"
    copy.write_bytes(EXAMPLE.read_bytes().replace(b"\n", b"\r\n"))
    note = parsed(copy)
    assert note.highlights == example.highlights
    assert note.meta == example.meta
    assert key_points(note) == key_points(example)
    assert transcript(note) == transcript(example)


def test_bom_is_ignored(tmp_path: Path, example: Note) -> None:
    copy = tmp_path / "bom.md"
    copy.write_bytes(b"\xef\xbb\xbf" + EXAMPLE.read_bytes())
    note = parsed(copy)
    assert note.video_id == "u3HBJVjpXuw"
    assert note.highlights == example.highlights
    assert transcript(note) == transcript(example)


def test_video_id_from_youtu_be_url(tmp_path: Path) -> None:
    path = write(
        tmp_path, "short.md", "---", "url: https://youtu.be/abc", "---", "## Highlights", "### One", fence("0:01-0:02")
    )
    note = parsed(path)
    assert (note.video_id, note.url, note.title) == ("abc", "https://youtu.be/abc", "abc")
    assert [(h.title, h.start, h.end, h.options.url) for h in note.highlights] == [
        ("One", 1.0, 2.0, "https://youtu.be/abc")
    ]


@pytest.mark.parametrize(
    ("heading", "title"),
    [
        ('"Quoted title"', "Quoted title"),
        ("“Smart quotes”", "Smart quotes"),
        ("‘Single curly’", "Single curly"),
        ("«Guillemets»", "Guillemets"),
        ("'Single'", "Single"),
        ('"It\'s fine"', "It's fine"),
        ("“Smart” title — ünïcode", "“Smart” title — ünïcode"),
        ('"Quoted" and then not', '"Quoted" and then not'),
        ("Ça coûte 5 € — 日本語", "Ça coûte 5 € — 日本語"),
        ("Title with `code`", "Title with `code`"),
    ],
)
def test_titles(tmp_path: Path, heading: str, title: str) -> None:
    path = write(
        tmp_path,
        "titles.md",
        "---",
        "video_id: abc",
        'title: "Vidéo — ünïcode"',
        "---",
        "## Highlights",
        f"### {heading}",
        fence("0:01-0:02"),
    )
    note = parsed(path)
    assert note.title == "Vidéo — ünïcode"
    assert [h.title for h in note.highlights] == [title]


def test_markdown_without_front_matter_is_not_a_note(tmp_path: Path) -> None:
    path = write(tmp_path, "README.md", "# Notes\n\n## Highlights\n\n### Not a note\n")
    assert parse_note(path) is None


def test_front_matter_without_video_id_or_highlights_is_not_a_note(tmp_path: Path) -> None:
    path = write(
        tmp_path, "post.md", "---\ntitle: A blog post\ndate: 2025-01-01\n---\n\n# Post\n\n## Summary\n\ntext\n"
    )
    assert parse_note(path) is None


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        (
            "---\ntitle: x\n---\n\n## Highlights\n\n### A\n",
            1,
            "front matter has no video_id (and no YouTube url to take it from)",
        ),
        (
            "---\ntitle: x\nurl: https://example.com/v.mp4\n---\n## Highlights\n",
            1,
            "front matter has no video_id (and no YouTube url to take it from)",
        ),
        (
            "---\nvideo_id: abc\ntitle: x\n  bad: indent\n---\n",
            4,
            "front matter is not valid YAML: mapping values are not allowed in this context",
        ),
        (
            "---\nvideo_id: abc\ntitle: [unclosed\nfoo: bar\n---\n",
            4,
            "front matter is not valid YAML: did not find expected ',' or ']'",
        ),
        ("---\nvideo_id: abc\n", 1, "front matter starts with --- but never ends"),
        ("---\n- a\n- b\n---\n", 2, "front matter must be a YAML mapping (key: value lines)"),
        ("---\ntitle: t\nvideo_id: ../x\n---\n", 3, "video_id '../x' must be letters, digits, - or _"),
        ("---\nvideo_id: 12345\n---\n", 2, "video_id 12345 must be letters, digits, - or _"),
        ("---\nvideo_id: abc\nurl: 5\n---\n", 3, "url must be a string"),
    ],
)
def test_broken_notes(tmp_path: Path, text: str, line: int, message: str) -> None:
    path = tmp_path / "broken.md"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(NoteError) as caught:
        parse_note(path)
    assert (caught.value.line, caught.value.message) == (line, message)
    assert str(caught.value) == f"{path}:{line}: {message}"


def test_unreadable_notes(tmp_path: Path) -> None:
    latin1 = tmp_path / "latin1.md"
    latin1.write_bytes(b"---\nvideo_id: abc\ntitle: caf\xe9\n---\n")
    with pytest.raises(NoteError) as caught:
        parse_note(latin1)
    assert str(caught.value) == f"{latin1}: not UTF-8 text (invalid continuation byte at byte 28)"
    missing = tmp_path / "missing.md"
    with pytest.raises(NoteError) as caught:
        parse_note(missing)
    assert str(caught.value) == f"{missing}: cannot read: No such file or directory"


def test_note_without_highlights(tmp_path: Path) -> None:
    path = write(tmp_path, "plain.md", "---\nvideo_id: abc\nduration: '11:39'\n---\n\n# T\n\n## Summary\n\ntext\n")
    note = parsed(path)
    assert (note.highlights, note.problems, note.duration) == ((), (), 699.0)
    assert key_points(note) == ()
    assert transcript(note) == ()


def test_problem_highlights_are_reported_and_the_others_kept(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "mixed.md",
        "---",
        "video_id: abc",
        "---",
        "",
        "## Highlights",
        "",
        "### First",  # line 7
        "",
        fence("0:10-0:20", "a.mp4"),  # command on line 10
        "",
        "### No command",  # line 13
        "",
        "Only words here.",
        "",
        "### Third",  # line 17
        "",
        fence("1:00-1:10", "c.mp4"),  # command on line 20
        "",
        "### Unsafe",
        "",
        "```bash",
        'yt-dlp --download-sections "*2:00-2:10" https://youtu.be/abc \\',  # line 26
        "  --exec 'rm -rf ~'",
        "```",
        "",
        "### Other video",
        "",
        fence("3:00-3:10", url="https://youtu.be/xyz"),  # command on line 33
    )
    note = parsed(path)
    assert [(h.title, h.line, h.start, h.end, h.command_line, h.options.output) for h in note.highlights] == [
        ("First", 7, 10.0, 20.0, 10, "a.mp4"),
        ("Third", 17, 60.0, 70.0, 20, "c.mp4"),
    ]
    assert [str(problem) for problem in note.problems] == [
        f"{path}:13: highlight 'No command' has no clip command (a ```bash block with yt-dlp)",
        f"{path}:26: --exec is not allowed in a clip command",
        f"{path}:33: clip command URL 'https://youtu.be/xyz' is not the note's video abc",
    ]
    assert [problem.line for problem in note.problems] == [13, 26, 33]


def test_fractional_and_hour_times(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "long.md",
        "---",
        "video_id: abc",
        "---",
        "## Highlights",
        "### Fraction",
        "[watch](https://www.youtube.com/watch?v=abc&t=4800s)",
        fence("1:20:00.5-1:21:02.25", "a.mp4"),
        '> "Said late."',
        "> — Someone, [1:20:00.5](https://youtu.be/abc?t=4800)",
        "### Hours",
        fence("1:02:03-1:02:40", "b.mp4"),
    )
    note = parsed(path)
    rows = [(h.title, h.start, h.end, h.link_start, h.quote, h.speaker) for h in note.highlights]
    assert rows == [
        ("Fraction", 4800.5, 4862.25, 4800.0, "Said late.", "Someone"),
        ("Hours", 3723.0, 3760.0, None, "", None),
    ]


def test_quote_without_speaker_and_multiline_quote(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "quotes.md",
        "---",
        "video_id: abc",
        "---",
        "## Highlights",
        "### Q",
        fence("0:01-0:05"),
        "",
        '> "First line',
        '> second line."',
        "> -- [0:01](https://youtu.be/abc?t=1)",
    )
    (highlight,) = parsed(path).highlights
    assert (highlight.quote, highlight.speaker) == ("First line second line.", None)


def test_headings_inside_fences_do_not_split_sections(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "fenced.md",
        "---",
        "video_id: abc",
        "---",
        "## Highlights",
        "### Real",
        fence("0:01-0:05"),
        "```text",
        "## Not a section",
        "```",
        "### Second",
        fence("0:06-0:09"),
    )
    note = parsed(path)
    assert [h.title for h in note.highlights] == ["Real", "Second"]
    assert list(note.sections) == ["highlights"]


def test_find_notes_in_a_folder_with_other_markdown(tmp_path: Path) -> None:
    note_a = write(tmp_path, "notes/a.md", f"---\nvideo_id: abc\n---\n## Highlights\n### A\n{fence('0:01-0:02')}\n")
    note_b = write(tmp_path, "notes/sub/b.md", "---\nvideo_id: xyz\n---\n# no highlights\n")
    readme = write(tmp_path, "notes/README.md", "# How I take notes\n")
    post = write(tmp_path, "notes/post.md", "---\ntitle: not a video\n---\n")
    write(tmp_path, "notes/todo.txt", "not markdown")
    (tmp_path / "notes" / "folder.md").mkdir()

    found = find_notes([tmp_path / "notes", note_a])
    assert sorted(found) == sorted([note_a, note_b, readme, post])
    assert len(found) == 4
    parsed_notes = {path.name: parse_note(path) for path in found}
    assert parsed_notes["README.md"] is None
    assert parsed_notes["post.md"] is None
    assert [note.video_id for note in parsed_notes.values() if note is not None] == ["abc", "xyz"]


def test_find_notes_keeps_files_as_given(tmp_path: Path) -> None:
    missing = tmp_path / "missing.md"
    text = tmp_path / "notes.txt"
    text.write_text("x")
    assert find_notes([missing, text, missing]) == [missing, text]


@pytest.mark.parametrize(
    ("heading", "title"),
    [('"Yes" or "No"', '"Yes" or "No"'), ("\u201cCurly\u201d", "Curly"), ("'Single'", "Single"), ("Plain", "Plain")],
)
def test_titles_lose_only_a_pair_of_surrounding_quotes(tmp_path: Path, heading: str, title: str) -> None:
    path = tmp_path / "q.md"
    path.write_text("--- \nvideo_id: abc\n---  \n## Highlights\n### " + heading + "\n```bash\n"
                    'yt-dlp --download-sections "*0:01-0:05" https://youtu.be/abc\n```\n')  # fmt: skip
    note = parse_note(path)
    assert note is not None and [h.title for h in note.highlights] == [title]


# --- Hostile notes: every one is refused (or read) in a moment, with one line naming the file and line. ---


def alias_bomb(field: str) -> str:
    """The "billion laughs": nine levels of nine aliases, 9**8 strings once expanded, under ``field``."""
    lines = ["---", "video_id: abc", 'lol0: "lol"']
    for level in range(1, 9):
        item = f"*l{level - 1}" if level > 1 else '"lol"'
        lines.append(f"lol{level}: &l{level} [{', '.join([item] * 9)}]")
    return "\n".join([*lines, f"{field}: *l8", "---", ""])


@pytest.mark.parametrize("field", ["title", "channel", "video_id", "upload_date", "duration"])
def test_yaml_alias_bombs_are_refused_at_once(tmp_path: Path, field: str) -> None:
    path = tmp_path / "bomb.md"
    path.write_text(alias_bomb(field), encoding="utf-8")
    started = time.monotonic()
    with pytest.raises(NoteError) as caught:
        parse_note(path)
    assert time.monotonic() - started < 1.0
    assert str(caught.value) == f"{path}:4: YAML anchors and aliases are not allowed in front matter (found &l1)"


@pytest.mark.parametrize(
    ("front_matter", "line", "found"),
    [
        ("video_id: abc\nbase: &base x\ntitle: *base", 3, "&base"),
        ("video_id: abc\ntitle: *nowhere", 3, "*nowhere"),
        ("video_id: abc\ntags:\n  - &a AI\n  - *a", 4, "&a"),
        ("video_id: abc\n<<: &m {title: x}", 3, "&m"),
    ],
)
def test_yaml_anchors_and_aliases_are_refused(tmp_path: Path, front_matter: str, line: int, found: str) -> None:
    path = tmp_path / "alias.md"
    path.write_text(f"---\n{front_matter}\n---\n", encoding="utf-8")
    with pytest.raises(NoteError) as caught:
        parse_note(path)
    assert (
        str(caught.value) == f"{path}:{line}: YAML anchors and aliases are not allowed in front matter (found {found})"
    )


def test_front_matter_size_and_depth_are_bounded(tmp_path: Path) -> None:
    path = tmp_path / "big.md"
    path.write_text("---\nvideo_id: abc\n" + "# padding\n" * 7000 + "---\n", encoding="utf-8")
    with pytest.raises(NoteError) as caught:
        parse_note(path)
    assert str(caught.value) == f"{path}:1: front matter is longer than 64 KiB (it should be a few key: value lines)"
    # 64 KiB of multi-byte characters is fewer characters: bytes are counted.
    path.write_text("---\nvideo_id: abc\ntitle: " + "é" * 33_000 + "\n---\n", encoding="utf-8")
    with pytest.raises(NoteError, match="longer than 64 KiB"):
        parse_note(path)
    path.write_text("---\nvideo_id: abc\ntitle: " + "é" * 30_000 + "\n---\n", encoding="utf-8")
    assert parsed(path).title == "é" * 30_000


@pytest.mark.parametrize(
    ("value", "line"),
    [
        ("[" * 20_000 + "]" * 20_000, 3),  # read, slowly: libyaml's scanner is quadratic in the depth
        ("{a: " * 10_000 + "1" + "}" * 10_000, 3),
        ("[" * 30_000, 3),  # libyaml's composer recursed in C: a segmentation fault
        ("\n" + "".join(" " * depth + "- \n" for depth in range(40)), 35),
        ("\n" + "? " * 5_000 + "x", 4),
    ],
    ids=["flow-sequences", "flow-mappings", "unclosed", "block-sequences", "complex-keys"],
)
def test_deeply_nested_front_matter_is_refused(tmp_path: Path, value: str, line: int) -> None:
    path = tmp_path / "deep.md"
    path.write_text(f"---\nvideo_id: abc\nx: {value}\n---\n", encoding="utf-8")
    started = time.monotonic()
    with pytest.raises(NoteError) as caught:
        parse_note(path)
    assert time.monotonic() - started < 1.0
    assert str(caught.value) == f"{path}:{line}: front matter nests more than 32 levels deep"


NINES = "9" * 400


@pytest.mark.parametrize(
    ("front_matter", "line", "message"),
    [
        (
            "upload_date: 2025-02-30",
            3,
            "upload_date: '2025-02-30' is not a valid date (day is out of range for month); "
            "put it in quotes to keep it as text",
        ),
        (
            "recorded: 2025-13-01 10:00:00",
            3,
            "recorded: '2025-13-01 10:00:00' is not a valid date (month must be in 1..12); "
            "put it in quotes to keep it as text",
        ),
        ("x: !!timestamp soon", 3, "x: 'soon' is not a valid date"),
        ("x: !!bool maybe", 3, "x: 'maybe' is not a valid true or false"),
        ("x: !!int ten", 3, "x: 'ten' is not a valid whole number (invalid literal for int() with base 10: 'ten')"),
        ("x: !!float ten", 3, "x: 'ten' is not a valid number (could not convert string to float: 'ten')"),
        (
            "view_count: " + "9" * 5000,
            3,
            "view_count: '999999999999999999999999999999999999... is not a valid whole number "
            "(Exceeds the limit (4300 digits) for integer string conversion: value has 5000 digits); "
            "put it in quotes to keep it as text",
        ),
        (
            "view_count: 1" + ":00" * 2000,  # base 60: a 3500-digit number from 6 KB
            3,
            "view_count: '1:00:00:00:00:00:00:00:00:00:00:00:0... is not a valid whole number "
            "(too large a number); put it in quotes to keep it as text",
        ),
        ("duration: .inf", 3, "duration inf is not a video length (use seconds or H:MM:SS, e.g. 699 or 11:39)"),
        ("duration: .nan", 3, "duration nan is not a video length (use seconds or H:MM:SS, e.g. 699 or 11:39)"),
        ("duration: -5", 3, "duration -5 is not a video length (use seconds or H:MM:SS, e.g. 699 or 11:39)"),
        ("duration: true", 3, "duration True is not a video length (use seconds or H:MM:SS, e.g. 699 or 11:39)"),
        (
            "duration: " + "9" * 300,  # a finite float, but no video is 1e300 seconds long
            3,
            "duration 9999999999999999999999999999999999999... is not a video length "
            "(use seconds or H:MM:SS, e.g. 699 or 11:39)",
        ),
        (
            f"duration: {NINES}",
            3,
            "duration: '999999999999999999999999999999999999... is not a valid whole number "
            "(too large a number); put it in quotes to keep it as text",
        ),
        ("duration: [1, 2]", 3, "duration [1, 2] is not a video length (use seconds or H:MM:SS, e.g. 699 or 11:39)"),
        ("duration: soon", 3, "duration 'soon' is not a video length (use seconds or H:MM:SS, e.g. 699 or 11:39)"),
        ("title: [a, b]", 3, "title must be text, not a list"),
        ("channel: {name: x}", 3, "channel must be text, not a mapping"),
        ("title: !!binary aGVsbG8=", 3, "title must be text, not binary data"),
        ("upload_date: !!set {a}", 3, "upload_date must be text, not a set"),
        ("tags: AI", 3, "tags must be a list (a '- tag' line each), not text"),
        ("tags: 5", 3, "tags must be a list (a '- tag' line each), not a number"),
        (
            "title: !!python/object/apply:os.system ['echo hi']",
            3,
            "front matter is not valid YAML: could not determine a constructor for the tag "
            "'tag:yaml.org,2002:python/object/apply:os.system'",
        ),
        (
            "title: !<tag:%0A%1B]0;pwned%07> x",  # a tag's %-escapes decode to a new line and an OSC sequence
            3,
            "front matter is not valid YAML: could not determine a constructor for the tag 'tag:\\n\\x1b]0;pwned\\x07'",
        ),
        ("title: \x1b]0;pwned\x07", 3, "front matter is not valid YAML: control characters are not allowed ('\\x1b')"),
    ],
    ids=lambda value: value[:30] if isinstance(value, str) else None,
)
def test_front_matter_values_that_cannot_be_used(tmp_path: Path, front_matter: str, line: int, message: str) -> None:
    path = tmp_path / "values.md"
    path.write_text(f"---\nvideo_id: abc\n{front_matter}\n---\n## Highlights\n", encoding="utf-8")
    with pytest.raises(NoteError) as caught:
        parse_note(path)
    assert (caught.value.line, caught.value.message) == (line, message)
    assert printable(str(caught.value)) == str(caught.value)  # one line, nothing that steers a terminal


def test_front_matter_values_that_are_fine(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "fine.md",
        "---",
        "video_id: abc",
        "title: 1984",
        'upload_date: "2025-02-30"',
        "duration: 11m39s",
        'channel: "\\e]0;pwned\\a"',  # YAML's own escapes: kept as they are (printable() shows them)
        "tags: [AI, 2025]",
        "view_count: 99999999999999999999",
        "---",
    )
    note = parsed(path)
    assert (note.title, note.duration, note.meta["upload_date"]) == ("1984", 699.0, "2025-02-30")
    assert note.channel == "\x1b]0;pwned\x07"
    assert printable(note.channel) == "\\x1b]0;pwned\\x07"


@pytest.mark.parametrize(
    ("lines", "problem"),
    [
        (
            ["[watch](http://[x?t=1)", fence("0:01-0:02")],  # urlparse raises ValueError on "[x"
            None,
        ),
        (
            [fence("0:01-0:02", url="http://[x")],
            "7: clip command URL 'http://[x' is not the note's video abc",
        ),
        (
            [fence(f"0:01-{NINES}")],
            f"7: --download-sections '*0:01-{NINES}': '999999999999999999999...' is too late a time "
            "(more than 10000 hours)",
        ),
        (
            ["```bash", 'yt-dlp --fo\x1b]0;pwned\x07o "*0:01-0:02" https://youtu.be/abc', "```"],
            "7: --fo\\x1b]0;pwned\\x07o is not a yt-dlp option",
        ),
        (
            ["```bash", "yt-dlp \\" + "a" * 400_000, "```"],  # shlex took seconds on this (quadratic)
            "7: clip command is longer than 10000 characters",
        ),
    ],
    ids=["link-to-bad-host", "command-bad-host", "far-timestamp", "escape-in-option", "long-command"],
)
def test_hostile_highlights_are_one_line_problems(tmp_path: Path, lines: list[str], problem: str | None) -> None:
    path = write(tmp_path, "hostile.md", "---", "video_id: abc", "---", "## Highlights\n### A", *lines)
    started = time.monotonic()
    note = parsed(path)
    assert time.monotonic() - started < 1.0
    assert [str(error) for error in note.problems] == ([f"{path}:{problem}"] if problem else [])
    if problem is None:
        assert [(h.start, h.link_start) for h in note.highlights] == [(1.0, None)]


HIGHLIGHT_HEAD = "---\nvideo_id: abc\n---\n## Highlights\n### A\n"
# (note builder, size that took seconds before, what took the time)
SLOW_BEFORE: list[tuple[str, Callable[[int], str], int]] = [
    # _SECTION_RE's lazy title and two runs of spaces: cubic (28-37 s at 3000).
    ("section title", lambda n: "---\nvideo_id: abc\n---\n## a" + " " * n + "b\n", 3000),
    # _LINK_RE's optional (href) after each nested link: exponential (50-73 s at 27, doubling every ~2 more).
    ("nested links", lambda n: HIGHLIGHT_HEAD + "> [" + "[a](b)" * n + " x\n", 27),
    # The spaces around an empty href, shared by three \s runs: quadratic (7.5 s at 50000).
    ("link spaces", lambda n: HIGHLIGHT_HEAD + "[a](" + " " * n + "x\n", 50_000),
    # shlex.split on a word: quadratic (13 s at 1 MB); commands are now refused past 10000 characters.
    ("long command", lambda n: HIGHLIGHT_HEAD + "```bash\nyt-dlp \\" + "a" * n + "\n```\n", 1_000_000),
]


def parse_seconds(tmp_path: Path, text: str) -> float:
    """Seconds parse_note takes on ``text`` (best of two: CI machines are noisy)."""
    path = tmp_path / "slow.md"
    path.write_text(text, encoding="utf-8")
    times = []
    for _ in range(2):
        started = time.monotonic()
        parse_note(path)
        times.append(time.monotonic() - started)
    return min(times)


@pytest.mark.parametrize(("build", "size"), [(build, size) for _, build, size in SLOW_BEFORE],
                         ids=[name for name, _, _ in SLOW_BEFORE])  # fmt: skip
def test_inputs_that_took_seconds_parse_at_once(tmp_path: Path, build: Callable[[int], str], size: int) -> None:
    assert parse_seconds(tmp_path, build(size)) < 2.0


@pytest.mark.parametrize(("build", "size"), [(build, size) for _, build, size in SLOW_BEFORE[:3]],
                         ids=[name for name, _, _ in SLOW_BEFORE[:3]])  # fmt: skip
def test_parse_time_grows_no_faster_than_the_note(tmp_path: Path, build: Callable[[int], str], size: int) -> None:
    # Far past the sizes above (their old cost would be hours): twice the size, about twice the time.
    big = size * 40
    single, double = parse_seconds(tmp_path, build(big)), parse_seconds(tmp_path, build(2 * big))
    assert double < 3 * single + 0.05, (single, double)  # linear: 2x; quadratic: 4x; cubic: 8x


# --- printable(): note text shown on a terminal ---


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("\x1b]0;pwned\x07", "\\x1b]0;pwned\\x07"),  # OSC: sets the terminal's title
        ("\x1b[2J\x1b[31mred", "\\x1b[2J\\x1b[31mred"),  # CSI: clears the screen, colours
        ("\x9b31m \x9d0;x\x9c", "\\x9b31m \\x9d0;x\\x9c"),  # the one-character C1 forms
        ("a\tb\nc\rd\x00\x7f", "a\\tb\\nc\\rd\\x00\\x7f"),
        ("line\u2028break\u2029", "line\\u2028break\\u2029"),
        ("abc\u202edcba\u2066x\u2069", "abc\\u202edcba\\u2066x\\u2069"),  # bidi overrides and isolates
        ("caf\udce9.md", "caf\\udce9.md"),  # a file name read with surrogateescape
        ("Vidéo — ünïcode “quotes” 日本語 👩‍👩‍👧 \u00a0", "Vidéo — ünïcode “quotes” 日本語 👩‍👩‍👧 \u00a0"),
        ("C:\\path\\x1b", "C:\\path\\x1b"),  # backslashes are not doubled
        ("", ""),
    ],
)
def test_printable(text: str, shown: str) -> None:
    assert printable(text) == shown
    assert printable(shown) == shown  # applying it twice changes nothing more


def test_note_text_keeps_control_characters_and_printable_shows_them(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "escapes.md",
        "---",
        "video_id: abc",
        'title: "Talk\\e]0;pwned\\a"',
        "---",
        "## Highlights",
        "### \x1b[2JCleared",
        fence("0:01-0:02"),
        '> "Quote \x1b]8;;http://evil\x07link\x1b]8;;\x07"',
        "> -- Speaker\x1b[31m, [0:01](https://youtu.be/abc?t=1)",
    )
    note = parsed(path)
    (highlight,) = note.highlights
    assert (note.title, highlight.title, highlight.speaker) == (
        "Talk\x1b]0;pwned\x07",
        "\x1b[2JCleared",
        "Speaker\x1b[31m",
    )
    assert highlight.quote == "Quote \x1b]8;;http://evil\x07link\x1b]8;;\x07"
    assert [printable(text) for text in (note.title, highlight.title, highlight.quote)] == [
        "Talk\\x1b]0;pwned\\x07",
        "\\x1b[2JCleared",
        "Quote \\x1b]8;;http://evil\\x07link\\x1b]8;;\\x07",
    ]
