"""Clip blocks in a note's text (notes/blocks.py): exact texts, line endings, idempotence, blocks edited by hand,
and (hypothesis) nothing outside the blocks ever changes; and the watch's bookkeeping of changes."""

from __future__ import annotations

import os
import re
import stat
import tempfile
from collections.abc import Sequence
from pathlib import Path, PurePosixPath, PureWindowsPath

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clipper.notes.blocks import (
    ClipLink,
    apply_changes,
    block_id,
    checksum,
    clip_target,
    embed_line,
    link_text,
    note_diff,
    split_lines,
)
from clipper.notes.parse import Note, parse_note
from clipper.plan.config import Config
from clipper.run.notelinks import NoteChanged, digest, link_notes, replace_note
from clipper.run.watching import NoteWatch, is_note_name

VIDEO_ID = "abcdefghijk"

HEAD = (
    "---\nvideo_id: abcdefghijk\nurl: https://www.youtube.com/watch?v=abcdefghijk\n---\n\n# Talk\n\n## Highlights\n\n"
)


def highlight(title: str, section: str, *body: str) -> str:
    command = f'```bash\nyt-dlp --download-sections "*{section}" "https://youtu.be/abcdefghijk"\n```\n'
    return f"### {title}\n\n{command}" + "".join(line + "\n" for line in body)


NOTE = (
    HEAD
    + highlight("One", "0:10-0:20", "", "> A quote.", "> -- Someone, [0:10](https://youtu.be/abcdefghijk?t=10)", "")
    + highlight("Two", "1:00-1:05", "", "My own words.")
    + "## Key Points\n\n- a point\n"
)
ONE = "<!-- clipper:begin id=one.mp4 sha={sha} -->\n{embed}\n<!-- clipper:end -->\n"


def note_of(text: str, newline: str = "\n") -> Note:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "n.md"
        path.write_bytes(text.encode())
        note = parse_note(path)
    assert note is not None
    return note


def links_for(note: Note, style: str = "markdown", folder: str = "../clips") -> list[ClipLink]:
    names = [f"{item.title.lower()}.mp4" for item in note.highlights]
    return [ClipLink(item.line, block_id(name), embed_line(style, item.title, f"{folder}/{name}"))
            for item, name in zip(note.highlights, names, strict=True)]  # fmt: skip


def linked(text: str, style: str = "markdown", folder: str = "../clips", keep: Sequence[str] = ()) -> tuple[str, list]:
    note = note_of(text)
    result = link_text(text, note.sections.get("highlights"), links_for(note, style, folder), keep)
    assert apply_changes(text, result.changes) == result.text
    return result.text, list(result.notices)


def block(name: str, embed: str) -> str:
    return f"<!-- clipper:begin id={name} sha={checksum([embed])} -->\n{embed}\n<!-- clipper:end -->\n"


EXPECTED = (
    HEAD
    + highlight("One", "0:10-0:20", "", "> A quote.", "> -- Someone, [0:10](https://youtu.be/abcdefghijk?t=10)", "")
    + block("one.mp4", "![One](../clips/one.mp4)")
    + "\n"
    + highlight("Two", "1:00-1:05", "", "My own words.")
    + "\n"
    + block("two.mp4", "![Two](../clips/two.mp4)")
    + "\n## Key Points\n\n- a point\n"
)


def test_a_block_goes_under_each_highlight_after_its_last_line() -> None:
    text, notices = linked(NOTE)
    assert text == EXPECTED
    assert "<!-- clipper:begin id=one.mp4 sha=" in text
    assert notices == []


def test_linking_again_changes_nothing() -> None:
    text, _ = linked(NOTE)
    note = note_of(text)
    again = link_text(text, note.sections["highlights"], links_for(note))
    assert again.text == text
    assert again.changes == ()
    assert [(item.title, item.start, item.end) for item in note.highlights] == [("One", 10, 20), ("Two", 60, 65)]


def test_a_crlf_note_stays_crlf() -> None:
    text, _ = linked(NOTE.replace("\n", "\r\n"))
    assert text == EXPECTED.replace("\n", "\r\n")
    assert "\n" not in text.replace("\r\n", "")


def test_a_note_without_a_last_line_ending_keeps_it_so() -> None:
    note = HEAD + highlight("One", "0:10-0:20", "", "Last words.")
    text, _ = linked(note.removesuffix("\n"))
    assert text == note + "\n" + block("one.mp4", "![One](../clips/one.mp4)").removesuffix("\n")
    assert linked(text)[0] == text


def test_a_heading_right_after_the_highlight_gets_a_blank_line_after_the_block() -> None:
    note = HEAD + highlight("One", "0:10-0:20", "Words.") + "### Two\n" + highlight("Two", "1:00-1:05")[8:]
    text, _ = linked(note)
    assert "Words.\n\n" + block("one.mp4", "![One](../clips/one.mp4)") + "\n### Two\n" in text


def test_a_block_is_updated_in_place_and_the_rest_stays() -> None:
    first, _ = linked(NOTE)
    text, notices = linked(first, style="obsidian", folder="../other")
    expected = EXPECTED.replace(block("one.mp4", "![One](../clips/one.mp4)"), block("one.mp4", "![[../other/one.mp4]]"))
    expected = expected.replace(block("two.mp4", "![Two](../clips/two.mp4)"), block("two.mp4", "![[../other/two.mp4]]"))
    assert text == expected
    assert notices == []


def test_a_block_edited_by_hand_is_left_as_it_is() -> None:
    first, _ = linked(NOTE)
    edited = first.replace("![One](../clips/one.mp4)", "![One](../clips/one.mp4) my comment")
    line = edited.splitlines().index(next(line for line in edited.splitlines() if "id=one.mp4" in line)) + 1

    text, notices = linked(edited, style="obsidian")

    assert "![One](../clips/one.mp4) my comment" in text
    assert "![[../clips/two.mp4]]" in text  # the other block is updated
    assert notices == [
        (line, "the clip block one.mp4 was edited; left as it is (delete it to have clipper write it again)")
    ]


def test_blocks_of_clips_no_highlight_makes_are_left_and_said() -> None:
    stray = NOTE.replace("My own words.\n", "My own words.\n\n" + block("old.mp4", "![Old](old.mp4)"))
    line = stray.splitlines().index("<!-- clipper:begin id=old.mp4 sha=" + checksum(["![Old](old.mp4)"]) + " -->") + 1

    text, notices = linked(stray)

    assert block("old.mp4", "![Old](old.mp4)") + "\n" + block("two.mp4", "![Two](../clips/two.mp4)") in text
    assert notices == [(line, "the clip block old.mp4 belongs to no highlight's clip now; left as it is (delete it if "
                              "it is not wanted)")]  # fmt: skip
    assert linked(stray, keep=["old.mp4"])[1] == []  # e.g. its clip failed this time: nothing to say


def test_doubled_or_unended_blocks_are_left_and_said() -> None:
    first, _ = linked(NOTE)
    one = block("one.mp4", "![One](../clips/one.mp4)")
    doubled = first.replace(one, one + one)
    text, notices = linked(doubled, style="obsidian")
    assert one + one in text
    assert [message for _, message in notices] == ["2 clip blocks for one.mp4; left as they are (keep one)"]
    unended = first.replace(one, one.replace("<!-- clipper:end -->\n", ""))
    text, notices = linked(unended)
    assert text.count("id=one.mp4") == 1
    assert [message for _, message in notices] == [
        "the clip block one.mp4 has no end marker (<!-- clipper:end -->); left as it is"
    ]


def test_a_utf8_bom_and_cr_only_line_endings_are_kept() -> None:
    text, _ = linked("\ufeff" + NOTE.replace("\n", "\r"))
    assert text == "\ufeff" + EXPECTED.replace("\n", "\r")


@pytest.mark.parametrize(
    ("style", "title", "target", "expected"),
    [
        ("obsidian", "One", "../clips/a.mp4", "![[../clips/a.mp4]]"),
        ("markdown", "One", "../clips/a.mp4", "![One](../clips/a.mp4)"),
        ("markdown", "A [b] *c* <d>", "a b.mp4", r"![A \[b\] \*c\* \<d\>](<a b.mp4>)"),
        ("markdown", "x", "my clips/a (1).mp4", "![x](<my clips/a (1).mp4>)"),
        ("markdown", "x", "a<b>\\c.mp4", r"![x](<a\<b\>\\c.mp4>)"),
        ("markdown", "line\none\x1b", "a\nb.mp4", "![line one](<a%0Ab.mp4>)"),
        ("obsidian", "Take #2", "clips/take #2.mp4", "![Take #2](<clips/take #2.mp4>)"),  # [[..#..]] is a heading link
        ("obsidian", "x", "clips/a|b.mp4", "![x](clips/a|b.mp4)"),
    ],
)
def test_embed_lines(style: str, title: str, target: str, expected: str) -> None:
    assert embed_line(style, title, target) == expected


@pytest.mark.parametrize(
    ("clip", "folder", "expected"),
    [
        (PurePosixPath("/v/clips/a.mp4"), PurePosixPath("/v/notes"), "../clips/a.mp4"),
        (PurePosixPath("/v/notes/clips/a.mp4"), PurePosixPath("/v/notes"), "clips/a.mp4"),
        (PureWindowsPath("C:/v/clips/a b.mp4"), PureWindowsPath("C:/v/notes/deep"), "../../clips/a b.mp4"),
        (PureWindowsPath("D:/clips/a.mp4"), PureWindowsPath("C:/v/notes"), "D:/clips/a.mp4"),
    ],
)
def test_clip_targets_are_relative_with_forward_slashes(
    clip: PurePosixPath, folder: PurePosixPath, expected: str
) -> None:
    assert clip_target(clip, folder) == expected


def test_block_ids_hold_no_space_and_cannot_end_the_comment() -> None:
    assert block_id("u3HBJVjpXuw-0m38s.mp4") == "u3HBJVjpXuw-0m38s.mp4"
    assert block_id("a b-->c.mp4") == "a%20b--%3Ec.mp4"


def test_the_diff_shows_the_lines_added() -> None:
    text, _ = linked(NOTE)
    diff = note_diff(NOTE, text, "n.md")
    assert diff[:2] == ["--- n.md", "+++ n.md"]
    added = [line[1:] for line in diff if line.startswith("+") and not line.startswith("+++")]
    assert [line for line in added if line] == [
        *block("one.mp4", "![One](../clips/one.mp4)").splitlines(),
        *block("two.mp4", "![Two](../clips/two.mp4)").splitlines(),
    ]  # fmt: skip
    assert added.count("") == 3  # a blank line before each block, and after the one a heading follows
    assert not [line for line in diff if line.startswith("-") and not line.startswith("---")]


# Whatever the note holds around its highlights, linking changes nothing outside the blocks.
_FILLER = st.one_of(
    st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\r\n"), max_size=20),
    st.sampled_from(["", " ", "> quote", "#### sub", "<!-- clipper:end -->", "- item", "    code", "<details>",
                     "<!-- clipper:begin id=zz sha=00000000 -->", "</details>", "## Key Points", "### Another"]),
)  # fmt: skip


@st.composite
def notes(draw: st.DrawFn) -> str:
    parts = [HEAD]
    for index in range(draw(st.integers(1, 3))):
        body = draw(st.lists(_FILLER, max_size=4))
        parts.append(highlight(f"H{index}", f"0:{10 + index}-0:{20 + index}", *body))
    parts += [line + "\n" for line in draw(st.lists(_FILLER, max_size=3))]
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    text = "".join(parts).replace("\n", newline)
    return text if draw(st.booleans()) else text.rstrip("\r\n")


_INSERTED = re.compile(r"(\r\n|\r|\n)+<!-- clipper:begin id=\S+ sha=[0-9a-f]{8} -->(\r\n|\r|\n)[^\r\n]+(\r\n|\r|\n)"
                       r"<!-- clipper:end -->(\r\n|\r|\n)*")  # fmt: skip


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(notes(), st.sampled_from(["markdown", "obsidian"]))
def test_nothing_outside_the_blocks_changes(text: str, style: str) -> None:
    note = note_of(text)
    links = links_for(note, style)
    result = link_text(text, note.sections.get("highlights"), links)

    assert apply_changes(text, result.changes) == result.text
    ends = [0] + [len(line) for line in split_lines(text)]
    boundaries = {sum(ends[: index + 1]) for index in range(len(ends))}
    for change in result.changes:  # each one an insertion of a whole block, at a line's start or the text's end
        assert change.start == change.end
        assert change.start in boundaries
        assert _INSERTED.fullmatch(change.new), change.new
        assert set(re.findall(r"\r\n|\r|\n", change.new)) <= set(re.findall(r"\r\n|\r|\n", text) or ["\n"])
    assert result.text.endswith(("\r", "\n")) == text.endswith(("\r", "\n"))
    linked_note = note_of(result.text)
    assert [(item.title, item.start, item.end) for item in linked_note.highlights] == [
        (item.title, item.start, item.end) for item in note.highlights
    ]
    again = link_text(result.text, linked_note.sections.get("highlights"), links_for(linked_note, style))
    assert again.changes == ()  # idempotent
    other = "obsidian" if style == "markdown" else "markdown"
    updated = link_text(result.text, linked_note.sections.get("highlights"), links_for(linked_note, other, "x"))
    for change in updated.changes:  # updates stay inside their blocks
        old = result.text[change.start : change.end]
        assert old.startswith("<!-- clipper:begin ") and old.endswith("<!-- clipper:end -->"), old


def test_the_watch_acts_on_a_change_once_it_has_settled() -> None:
    watch = NoteWatch(settle=1.0)
    a, b = Path("a.md"), Path("b.md")
    assert watch.update({a: (1, 10, 7)}, now=0.0) == []
    assert watch.update({a: (1, 10, 7)}, now=0.5) == []
    assert watch.update({a: (1, 10, 7)}, now=1.0) == [a]
    assert watch.update({a: (1, 10, 7)}, now=5.0) == []  # once per change
    assert watch.update({a: (1, 10, 8), b: (1, 1, 1)}, now=6.0) == []  # a saved through a rename: a new file id
    assert watch.update({a: (2, 10, 8), b: (1, 1, 1)}, now=6.5) == []  # still being written: wait again
    assert watch.update({a: (2, 10, 8), b: (1, 1, 1)}, now=7.0) == [b]
    assert watch.update({a: (2, 10, 8), b: (1, 1, 1)}, now=7.5) == [a]
    assert watch.update({b: (1, 1, 1)}, now=8.0) == []  # a gone
    assert watch.update({a: (2, 10, 8), b: (1, 1, 1)}, now=9.0) == []  # back: a change
    assert watch.update({a: (2, 10, 8), b: (1, 1, 1)}, now=10.0) == [a]
    watch.remember(a, "abc")
    assert not watch.is_new(a, "abc")  # e.g. clipper's own write-back
    assert watch.is_new(a, "abd")
    assert watch.is_new(b, "abc")


@pytest.mark.parametrize(
    ("name", "watched"),
    [("n.md", True), ("N.MD", True), (".n.md.swp", False), (".#n.md", False), ("n.md~", False), ("~n.md", False),
     (".n.md.x1.tmp", False), ("n.txt", False), ("#n.md#", False)],
)  # fmt: skip
def test_which_files_are_watched(name: str, watched: bool) -> None:
    assert is_note_name(name) == watched


def test_a_note_is_replaced_whole_keeping_its_mode_and_never_over_a_change(tmp_path: Path) -> None:
    note = tmp_path / "n.md"
    note.write_bytes(b"old\r\n")
    note.chmod(0o604)
    written = replace_note(note, b"new\r\n", digest(b"old\r\n"), 0o604)
    assert (note.read_bytes(), written) == (b"new\r\n", digest(b"new\r\n"))
    if os.name != "nt":
        assert stat.S_IMODE(note.stat().st_mode) == 0o604
    with pytest.raises(NoteChanged):  # changed since it was read: the last look before the rename sees it
        replace_note(note, b"newer\n", digest(b"old\r\n"), 0o604)
    assert note.read_bytes() == b"new\r\n"
    assert [path.name for path in tmp_path.iterdir()] == ["n.md"]  # no temporary file left


@pytest.mark.skipif(os.name == "nt", reason="links need privileges on Windows")
def test_linked_notes_are_not_replaced(tmp_path: Path) -> None:
    real = tmp_path / "real.md"
    real.write_text(NOTE)
    (tmp_path / "soft.md").symlink_to(real)
    os.link(real, tmp_path / "hard.md")
    config = Config(output_dir=tmp_path / "clips")
    notes = [note for name in ("soft.md", "hard.md") if (note := parse_note(tmp_path / name)) is not None]
    planned = {(VIDEO_ID, 10.0, 20.0): "one.mp4"}

    report = link_notes(notes, planned, set(planned), config)

    assert report.problems == [
        f"{tmp_path / 'soft.md'}: a symbolic link; not linked (clipper replaces a note whole)",
        f"{tmp_path / 'hard.md'}: has 2 hard links; not linked (clipper replaces a note whole)",
    ]
    assert real.read_text() == NOTE
