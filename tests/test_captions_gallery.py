"""Captions from the transcript and the gallery page (pure: nothing is run here)."""

from __future__ import annotations

import itertools
from pathlib import Path
from urllib.parse import unquote

import pytest
from markdown_it import MarkdownIt

from clipper.notes.parse import Note, parse_note
from clipper.notes.transcript import TranscriptLine, transcript
from clipper.plan.config import Config
from clipper.plan.jobs import ClipJob, plan_jobs
from clipper.run.gallery import gallery_html, gallery_markdown, groups
from clipper.run.outputs import name_problem, other_clip, other_moment, write_text_atomic
from clipper.share.captions import Cue, clip_cues, to_srt, to_vtt, with_captions

EXAMPLE = Path(__file__).parent / "u3HBJVjpXuw.md"


@pytest.fixture(scope="module")
def example() -> Note:
    note = parse_note(EXAMPLE)
    assert note is not None
    return note


def test_the_fossil_fuels_clip_opens_with_the_fossil_fuels_lines(example: Note) -> None:
    cues = clip_cues(transcript(example), 214, 270, example.duration)
    assert cues[0] == Cue(0.0, 4.607, "Ilya Sutskever gave a talk a couple of months ago and he")
    assert cues[1] == Cue(4.607, 8.062, "compared pretraining data to fossil fuels.")
    # The 4:06 line starts 32 s into the clip; the last cue stops at the clip's end (56 s), not the line's.
    assert [cue.start for cue in cues if cue.text.startswith("AlphaGo")] == [32.0]
    assert cues[-1].end == 56.0
    assert all(b.start >= a.end - 1e-9 for a, b in itertools.pairwise(cues))
    assert all(len(cue.text) <= 90 for cue in cues)


def test_a_line_that_began_before_the_clip_is_cut_to_its_start() -> None:
    lines = [TranscriptLine(0.0, "One two three four.", 1), TranscriptLine(10.0, "Five.", 2)]
    assert clip_cues(lines, 5.0, 12.0, 20.0) == [Cue(0.0, 5.0, "One two three four."), Cue(5.0, 7.0, "Five.")]


def test_srt_and_vtt(tmp_path: Path) -> None:
    cues = [Cue(0.0, 1.5, "a <script>alert(1)</script> & b"), Cue(61.25, 62.0, "c")]
    assert to_srt(cues) == (
        "1\n00:00:00,000 --> 00:00:01,500\na <script>alert(1)</script> & b\n\n2\n00:01:01,250 --> 00:01:02,000\nc\n\n"
    )
    vtt = to_vtt(cues)
    assert vtt.startswith("WEBVTT\n")
    assert "a &lt;script&gt;alert(1)&lt;/script&gt; &amp; b" in vtt and "<script>" not in vtt


def test_with_captions_parses_each_transcript_once(example: Note, tmp_path: Path) -> None:
    jobs, _ = plan_jobs([example], Config(output_dir=tmp_path))
    captioned = with_captions(jobs, [example])
    assert [len(job.captions) > 0 for job in captioned] == [True] * 4
    assert captioned[1].captions[0].text.startswith("Ilya Sutskever")


def entry(**fields: object) -> dict[str, object]:
    base: dict[str, object] = {"output": "a.mp4", "status": "done", "video_id": "v1", "title": "T", "start": 10.0,
                               "duration": 5.0, "size": 2_000_000,
                               "moment_url": "https://youtu.be/v1?t=10s"}  # fmt: skip
    base.update(fields)
    return base


def test_untrusted_text_is_shown_as_text() -> None:
    page = gallery_html([entry(title="<script>alert(1)</script>", quote='"q" & <b>', speaker="<i>x</i>",
                               moment_url="javascript:alert(1)", output='a"b.mp4')], {})  # fmt: skip
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "javascript:" not in page
    assert 'src="a%22b.mp4"' in page
    assert page.count("<script>") == 1  # the page's own search script only


def test_cards_are_grouped_by_video_newest_first() -> None:
    entries = [entry(output="old.mp4", video_id="o", upload_date="2020-01-01", start=5.0),
               entry(output="new2.mp4", video_id="n", upload_date="2025-01-01", start=50.0),
               entry(output="new1.mp4", video_id="n", upload_date="2025-01-01", start=5.0)]  # fmt: skip
    assert [(video, [e["output"] for e in clips]) for video, clips in groups(entries)] == [
        ("n", ["new1.mp4", "new2.mp4"]),
        ("o", ["old.mp4"]),
    ]
    page = gallery_html(entries, {"new1.mp4": "posters/new1.jpg"})
    assert page.index("new1.mp4") < page.index("new2.mp4") < page.index("old.mp4")
    assert 'poster="posters/new1.jpg"' in page


def test_markdown_index_escapes_markup() -> None:
    text = gallery_markdown([entry(title="[x](javascript:alert(1)) *b*", quote="<img src=x>")])
    assert "[\\[x\\](javascript:alert(1)) \\*b\\*](<a.mp4>)" in text
    assert "\\<img src=x\\>" in text


def test_a_clip_keeps_the_lines_it_needs_where_its_edges_may_move(example: Note, tmp_path: Path) -> None:
    jobs, _ = plan_jobs([example], Config(output_dir=tmp_path))
    [job] = with_captions(jobs[1:2], [example], margin=1.0, cues=False)  # 3:34-4:30
    assert job.captions == ()
    # From the line said at 3:33 (3:34 - 1 s, plus a second's slack) to the first that starts after 4:31.
    times = [line.time for line in job.transcript]
    assert times[0] <= 212 < times[1] and times[-2] <= 272 < times[-1]


def test_captions_follow_the_clips_own_times() -> None:
    from dataclasses import replace

    from clipper.plan.jobs import ClipJob
    from clipper.share.captions import recaption

    lines = (TranscriptLine(1.0, "One.", 1), TranscriptLine(2.0, "Two.", 2), TranscriptLine(6.0, "Six.", 3))
    clip = ClipJob("v", "u", "/m.mp4", "t", 2.0, 10.0, "v.mp4", Path("n.md"), 1, transcript=lines, video_duration=20)
    assert recaption(clip).captions[0] == Cue(0.0, 4.0, "Two.")
    snapped = recaption(replace(clip, start=1.56, end=10.48, note_range=(2.0, 10.0)))
    assert snapped.captions[:2] == (Cue(0.0, 0.44, "One."), Cue(0.44, 4.44, "Two."))


def test_a_vertical_clip_is_a_vertical_card() -> None:
    page = gallery_html([entry(output="v.mp4", width=608, height=1080), entry(output="w.mp4", width=1920, height=1080),
                         entry(output="s.mp4", width=1080, height=1080), entry(output="x.mp4")], {})  # fmt: skip
    assert '<article class="card vertical"' in page and '<video controls preload="metadata" width="608" height="1080"' \
        in page  # fmt: skip
    assert '<article class="card square"' in page and page.count('<article class="card"') == 2
    assert ".card.vertical video, .card.square video {" in page


def test_markdown_index_keeps_a_hostile_source_url_inside_its_link() -> None:
    """A note's URL (a link's destination) cannot end its link early, open another, start a heading or bring HTML."""
    hostile = ('https://example.com/a) [x](javascript:alert(1)) <img src=x onerror="alert(1)"> `c` *e* \\ '
               "\n# Owned\n<script>alert(2)</script> ](<b>) ü")  # fmt: skip
    text = gallery_markdown([entry(moment_url=hostile, output="a b>(c)[d].mp4")])
    tokens = MarkdownIt("commonmark").parse(text)
    assert [token.tag for token in tokens if token.type == "heading_open"] == ["h1", "h2"]
    assert not [token for token in tokens if token.type == "html_block"]
    inline = [child for token in tokens if token.children for child in token.children]
    assert not [child for child in inline if child.type == "html_inline"]
    links = [child.attrs["href"] for child in inline if child.type == "link_open"]
    assert links == ["a%20b%3E%28c%29%5Bd%5D.mp4",
                     "https://example.com/a%29%20%5Bx%5D%28javascript:alert%281%29%29%20%3Cimg%20src=x%20onerror="
                     "%22alert%281%29%22%3E%20%60c%60%20%2Ae%2A%20%5C%20%0A#%20Owned%0A%3Cscript%3Ealert%282%29%3C"
                     "/script%3E%20%5D%28%3Cb%3E%29%20%C3%BC"]  # fmt: skip
    assert unquote(str(links[1])) == hostile  # the same address, whole
    assert len(text.splitlines()) == 5


@pytest.mark.parametrize(
    ("name", "problem"),
    [("a.mp4", None), ("inside.mp4", None), ("/etc/passwd", "is a path, not a plain file name in the output folder"),
     ("../a.mp4", "is a path, not a plain file name in the output folder"),
     ("..\\a.mp4", "is a path, not a plain file name in the output folder"),
     ("C:a.mp4", "names a drive or a stream (':'), not a plain file name"),
     ("a.mp4:secret", "names a drive or a stream (':'), not a plain file name"),
     ("..", "is hidden or leads out of the folder ('.')"),
     (".a.mp4.part", "is hidden or leads out of the folder ('.')"),
     ("a\nb.mp4", "holds control characters"), ("", "is not a file name"), (None, "is not a file name"),
     ("out.mp4", "is a link that leads out of the output folder")],
)  # fmt: skip
def test_a_name_read_from_the_manifest_is_a_plain_file_in_the_folder(
    tmp_path: Path, name: object, problem: str | None
) -> None:
    folder = tmp_path / "clips"
    folder.mkdir()
    (folder / "a.mp4").write_bytes(b"")
    (tmp_path / "secret.mp4").write_bytes(b"")
    (folder / "out.mp4").symlink_to(tmp_path / "secret.mp4")
    (folder / "inside.mp4").symlink_to(folder / "a.mp4")
    assert name_problem(folder, name) == problem


def test_a_manifest_entry_is_this_clip_only_for_its_video_and_its_notes_range() -> None:
    job = ClipJob(video_id="v1", url="u", source="s", title="t", start=38.0, end=48.0, output="shared.mp4",
                  note=Path("b.md"), line=7)  # fmt: skip
    made = {"status": "done", "video_id": "v1", "start": 38.0, "end": 48.0, "note": "a.md", "line": 3}
    assert other_clip(made, job) is None
    assert other_clip({**made, "note_start": 38.0, "note_end": 48.0, "start": 37.5}, job) is None  # snapped
    assert other_clip({**made, "video_id": "v2"}, job) == "a.md:3, v2 0:38-0:48"
    assert other_clip({**made, "start": 28.0, "end": 38.0}, job) == "a.md:3, v1 0:28-0:38"
    assert other_clip({**made, "status": "failed", "video_id": "v2"}, job) is None  # no clip was made for it


def test_a_clip_without_a_record_is_another_clip_when_its_tag_names_another_moment() -> None:
    job = ClipJob(video_id="v1", url="https://example.com/watch?v=v1&t=5", source="s", title="t", start=38.5,
                  end=48.0, output="shared.mp4", note=Path("b.md"), line=7)  # fmt: skip
    assert job.moment_url == "https://example.com/watch?v=v1&t=38s"
    assert other_moment(None, job) is None  # no tag (made by something else): nothing to tell
    assert other_moment("https://example.com/watch?v=v1&t=38s", job) is None
    assert other_moment("https://example.com/watch?v=v2&t=38s", job) == "https://example.com/watch?v=v2&t=38s"
    assert other_moment("https://example.com/watch?v=v1&t=28s", job) == "https://example.com/watch?v=v1&t=28s"
    # Edges still to snap: the moment may move, the video may not.
    assert other_moment("https://example.com/watch?v=v1&t=37s", job, times_known=False) is None
    assert other_moment("https://example.com/watch?v=v2&t=38s", job, times_known=False) is not None
    # The same YouTube video and moment however the note spells its URL.
    youtube = ClipJob(video_id="u3HBJVjpXuw", url="https://youtu.be/u3HBJVjpXuw?t=5", source="s", title="t",
                      start=38.0, end=48.0, output="shared.mp4", note=Path("b.md"), line=7)  # fmt: skip
    assert other_moment("https://www.youtube.com/watch?v=u3HBJVjpXuw&t=38s", youtube) is None
    assert other_moment("https://www.youtube.com/watch?v=u3HBJVjpXuw&t=39s", youtube) is not None
    assert other_moment("https://www.youtube.com/watch?v=otherVideo1&t=38s", youtube) is not None


@pytest.mark.parametrize("planted", ["link", "dangling link", "hard link"])
def test_a_page_written_over_a_planted_link_replaces_the_link_and_leaves_its_target(
    tmp_path: Path, planted: str
) -> None:
    folder, target = tmp_path / "out", tmp_path / "elsewhere.html"
    folder.mkdir()
    page = folder / "index.html"
    if planted == "dangling link":
        page.symlink_to(target)
    else:
        target.write_text("precious\n")
        if planted == "link":
            page.symlink_to(target)
        else:
            page.hardlink_to(target)

    write_text_atomic(page, "<p>clips</p>\n")

    assert not page.is_symlink() and page.read_text() == "<p>clips</p>\n"
    if planted == "dangling link":
        assert not target.exists()
    else:
        assert target.read_text() == "precious\n"
    assert sorted(path.name for path in folder.iterdir()) == ["index.html"]  # no temporary file left


def test_a_folder_where_a_page_goes_is_named_in_the_error(tmp_path: Path) -> None:
    (tmp_path / "index.html").mkdir()
    with pytest.raises(OSError) as raised:
        write_text_atomic(tmp_path / "index.html", "<p>clips</p>\n")
    assert raised.value.filename == str(tmp_path / "index.html")  # not the temporary file's name
    assert [path.name for path in tmp_path.iterdir()] == ["index.html"]
