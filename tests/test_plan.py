"""Notes + config -> clip jobs, names and the exact commands a batch runs (pure: nothing is run here)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from types import MappingProxyType

import pytest

from clipper.notes.parse import Note, parse_note
from clipper.plan.config import Config
from clipper.plan.jobs import ClipJob, clip_name, length_warning, plan_jobs, slug, with_container
from clipper.policy.addresses import note_url_problem

EXAMPLE = Path(__file__).parent / "u3HBJVjpXuw.md"
EXAMPLE_URL = "https://www.youtube.com/watch?v=u3HBJVjpXuw"


def note_file(tmp_path: Path, name: str, video_id: str, *highlights: tuple[str, str, str | None]) -> Note:
    """Write and parse a note whose highlights are (title, "START-END", -o name or None)."""
    lines = ["---", f"video_id: {video_id}", "---", "", "## Highlights", ""]
    for title, section, output in highlights:
        name_part = f" -o {output}" if output else ""
        lines += [
            f"### {title}",
            "",
            "```bash",
            f'yt-dlp --download-sections "*{section}" https://youtu.be/{video_id}{name_part}',
            "```",
            "",
        ]
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines), encoding="utf-8")
    note = parse_note(path)
    assert note is not None and note.problems == ()
    return note


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return Config(output_dir=tmp_path / "out", jobs=2)


@pytest.fixture
def example() -> Note:
    note = parse_note(EXAMPLE)
    assert note is not None
    return note


def test_example_jobs(example: Note, config: Config) -> None:
    jobs, errors = plan_jobs([example], config)
    assert errors == []
    assert [(j.output, j.start, j.end, j.line, j.title) for j in jobs] == [
        ("u3HBJVjpXuw-0m38s.mp4", 38.0, 95.0, 35, "LLMs are not learning anything during training"),
        ("u3HBJVjpXuw-3m34s.mp4", 214.0, 270.0, 49, "Pretraining data is like fossil fuels"),
        ("u3HBJVjpXuw-6m07s.mp4", 367.0, 420.0, 63, "Imitation learning is RL, just very long horizon"),
        ("u3HBJVjpXuw-10m34s.mp4", 634.0, 695.0, 77, "We're going the opposite way from meta-RL"),
    ]
    first = jobs[0]
    assert first == ClipJob(
        video_id="u3HBJVjpXuw",
        url=EXAMPLE_URL,
        source=EXAMPLE_URL,
        title="LLMs are not learning anything during training",
        start=38.0,
        end=95.0,
        output="u3HBJVjpXuw-0m38s.mp4",
        note=EXAMPLE,
        line=35,
        video_title="Some thoughts on the Sutton interview",
        channel="Dwarkesh Patel",
        quote=example.highlights[0].quote,
        speaker="Dwarkesh Patel (steelmanning Sutton)",
        format=None,
        format_sort=(),
        video_duration=699.0,
        upload_date="2025-10-04",
        public_only=True,
        tags=(
            "AI",
            "reinforcement-learning",
            "LLMs",
            "Richard-Sutton",
            "bitter-lesson",
            "imitation-learning",
            "continual-learning",
            "world-models",
            "AGI",
        ),
    )
    assert [j.duration for j in jobs] == [57.0, 56.0, 53.0, 61.0]
    assert {(j.video_id, j.url, j.source, j.note, j.source_is_local) for j in jobs} == {
        ("u3HBJVjpXuw", EXAMPLE_URL, EXAMPLE_URL, EXAMPLE, False)
    }
    assert first.key == ("u3HBJVjpXuw", 38.0, 95.0)


def test_sources_override_where_media_is_read(example: Note, config: Config) -> None:
    local = replace(config, sources=MappingProxyType({"u3HBJVjpXuw": "/media/sutton.mp4"}))
    jobs, _ = plan_jobs([example], local)
    assert {(j.source, j.url, j.source_is_local) for j in jobs} == {("/media/sutton.mp4", EXAMPLE_URL, True)}
    served = replace(config, sources=MappingProxyType({"u3HBJVjpXuw": "http://127.0.0.1:8000/sutton.mp4"}))
    jobs, _ = plan_jobs([example], served)
    assert {(j.source, j.url, j.source_is_local) for j in jobs} == {
        ("http://127.0.0.1:8000/sutton.mp4", EXAMPLE_URL, False)
    }
    other = replace(config, sources=MappingProxyType({"someone-else": "/media/other.mp4"}))
    assert {j.source for j in plan_jobs([example], other)[0]} == {EXAMPLE_URL}


def test_note_without_url_links_to_the_command_url(tmp_path: Path, config: Config) -> None:
    note = note_file(tmp_path, "a.md", "abc", ("A", "0:01-0:02", "a.mp4"))
    (job,) = plan_jobs([note], config)[0]
    assert (job.url, job.source, job.video_title) == ("https://youtu.be/abc", "https://youtu.be/abc", "abc")


def test_duplicate_clips_across_notes_appear_once(tmp_path: Path, config: Config) -> None:
    first = note_file(tmp_path, "first.md", "abc", ("Same", "1:00-1:10", "same.mp4"), ("Only first", "2:00-2:10", None))
    second = note_file(tmp_path, "second.md", "abc", ("Same again", "1:00-1:10", "same.mp4"))
    jobs, errors = plan_jobs([first, second], config)
    assert errors == []
    assert [(j.output, Path(j.note).name, j.line, j.title) for j in jobs] == [
        ("same.mp4", "first.md", 7, "Same"),
        ("abc-2m00s.mp4", "first.md", 13, "Only first"),
    ]


def test_same_name_for_different_clips_is_one_error_naming_both_notes(tmp_path: Path, config: Config) -> None:
    first = note_file(tmp_path, "first.md", "abc", ("A", "0:01-0:02", "same.mp4"))
    second = note_file(tmp_path, "second.md", "xyz", ("B", "0:05-0:09", "SAME.mp4"), ("C", "0:10-0:11", "c.mp4"))
    jobs, errors = plan_jobs([first, second], config)
    assert [(j.output, Path(j.note).name) for j in jobs] == [("same.mp4", "first.md"), ("c.mp4", "second.md")]
    assert [str(error) for error in errors] == [
        f"{second.path}:7: clip SAME.mp4 would overwrite the clip from {first.path}:7 (abc 1-2s);"
        " give one of them another -o name"
    ]
    assert (errors[0].path, errors[0].line) == (str(second.path), 7)


def test_generated_names_can_clash_too(tmp_path: Path, config: Config) -> None:
    # "{video_id}-{start}" gives two clips of one video starting at the same time the same name.
    note = note_file(tmp_path, "a.md", "abc", ("Short", "1:02-1:10", None), ("Long", "1:02-2:00", None))
    jobs, errors = plan_jobs([note], config)
    assert [j.output for j in jobs] == ["abc-1m02s.mp4"]
    assert [e.line for e in errors] == [13]
    assert "clip abc-1m02s.mp4 would overwrite the clip from" in str(errors[0])


@pytest.mark.parametrize(
    ("naming", "outputs"),
    [
        ("{video_id}-{start}", ["abc-1m02s.mp4", "abc-1h20m00.5s.mp4"]),
        ("{video_id}-{start}-{end}", ["abc-1m02s-1m10s.mp4", "abc-1h20m00.5s-1h21m00s.mp4"]),
        ("{title}", ["ca-coute-5-deja-vu.mp4", "clip.mp4"]),
        ("{index:03d}-{title}", ["001-ca-coute-5-deja-vu.mp4", "002-clip.mp4"]),
        ("{video_id}/{index}", ["abc-1.mp4", "abc-2.mp4"]),
        ("../{video_id}-{index}", ["abc-1.mp4", "abc-2.mp4"]),
    ],
)
def test_naming_template_for_clips_without_a_name(
    tmp_path: Path, config: Config, naming: str, outputs: list[str]
) -> None:
    note = note_file(
        tmp_path, "a.md", "abc", ("Ça coûte 5 € — déjà vu?", "1:02-1:10", None), ("日本語", "1:20:00.5-1:21:00", None)
    )
    jobs, errors = plan_jobs([note], replace(config, naming=naming))
    assert errors == []
    assert [j.output for j in jobs] == outputs


def test_merge_format_sets_the_extension_of_generated_names(tmp_path: Path, config: Config) -> None:
    path = tmp_path / "a.md"
    path.write_text(
        "---\nvideo_id: abc\n---\n## Highlights\n### A\n```\n"
        'yt-dlp --download-sections "*0:01-0:02" https://youtu.be/abc --merge-output-format webm -f best -S res:720\n'
        "```\n"
    )
    note = parse_note(path)
    assert note is not None
    (job,) = plan_jobs([note], config)[0]
    assert (job.output, job.format, job.format_sort) == ("abc-0m01s.webm", "best", ("res:720",))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Pretraining data is like fossil fuels", "pretraining-data-is-like-fossil-fuels"),
        ("We're going the opposite way from meta-RL", "we-re-going-the-opposite-way-from-meta-rl"),
        ("Ça coûte — déjà vu", "ca-coute-deja-vu"),
        ("日本語", "clip"),
        ("", "clip"),
        ("--..--", "clip"),
        ("a" * 70, "a" * 60),
        ("word " * 20, ("word-" * 12)[:59]),
    ],
)
def test_slug(text: str, expected: str) -> None:
    assert slug(text) == expected


def test_clip_name() -> None:
    kwargs = {"video_id": "abc", "start": 62.0, "end": 70.0, "title": "A title", "index": 3, "extension": "mkv"}
    assert clip_name("{video_id}-{start}", **kwargs) == "abc-1m02s.mkv"  # type: ignore[arg-type]
    assert clip_name("{title}", **kwargs) == "a-title.mkv"  # type: ignore[arg-type]
    assert clip_name("..{index}..", **kwargs) == "3.mkv"  # type: ignore[arg-type]
    assert clip_name("", **kwargs) == "clip.mkv"  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("https://www.youtube.com/watch?v=u3HBJVjpXuw", None),
        ("https://93.184.216.34/v.mp4", None),
        ("http://127.0.0.1:18765/ssrf-admin", "127.0.0.1 is not a public address"),
        ("http://[::1]/x", "::1 is not a public address"),
        ("http://[::ffff:10.0.0.1]/x", "::ffff:10.0.0.1 is not a public address"),
        ("http://10.1.2.3/x", "10.1.2.3 is not a public address"),
        ("http://192.168.0.1/x", "192.168.0.1 is not a public address"),
        ("http://172.16.5.4/x", "172.16.5.4 is not a public address"),
        ("http://169.254.169.254/latest/meta-data", "169.254.169.254 is not a public address"),
        ("http://100.64.0.1/x", "100.64.0.1 is not a public address"),
        ("http://0.0.0.0/x", "0.0.0.0 is not a public address"),
        ("http://localhost:8080/x", "localhost is not a public host"),
        ("http://printer.local/x", "printer.local is not a public host"),
        ("file:///etc/passwd", "url 'file:///etc/passwd' is not an http(s) URL"),
        ("/path/to/local.mp4", "url '/path/to/local.mp4' is not an http(s) URL"),
        ("ftp://example.org/v.mp4", "url 'ftp://example.org/v.mp4' is not an http(s) URL"),
        ("http://[x/v.mp4", "url 'http://[x/v.mp4' is not an http(s) URL"),
        # Forms a reader would take for another host than urllib finds, or addresses that lead to a private one.
        ("http://127.0.0.1\\x/v.mp4", "url 'http://127.0.0.1\\\\x/v.mp4' has a backslash, space or control character"),
        (
            "http://example.org\\@127.0.0.1/v.mp4",
            "url 'http://example.org\\\\@127.0.0.1/v.mp4' has a backslash, space or control character",
        ),
        ("http://exa mple.org/v.mp4", "url 'http://exa mple.org/v.mp4' has a backslash, space or control character"),
        ("http://example.org@127.0.0.1/v.mp4", "url 'http://example.org@127.0.0.1/v.mp4' carries a user name"),
        (
            "http://127.0.0.%31/v.mp4",
            "url 'http://127.0.0.%31/v.mp4' has a host name readers may take for different hosts",
        ),
        (
            "http://\uff11\uff12\uff17.0.0.1/v.mp4",
            "url 'http://\uff11\uff12\uff17.0.0.1/v.mp4' has a host name readers may take for different hosts",
        ),
        ("http://127.1/v.mp4", "url 'http://127.1/v.mp4' names an address in a form readers take differently"),
        (
            "http://2130706433/v.mp4",
            "url 'http://2130706433/v.mp4' names an address in a form readers take differently",
        ),
        (
            "http://0x7f.0.0.1/v.mp4",
            "url 'http://0x7f.0.0.1/v.mp4' names an address in a form readers take differently",
        ),
        (
            "http://0177.0.0.1/v.mp4",
            "url 'http://0177.0.0.1/v.mp4' names an address in a form readers take differently",
        ),
        ("http://[::127.0.0.1]/", "::127.0.0.1 is not a public address"),
        ("http://[::ffff:127.0.0.1]/", "::ffff:127.0.0.1 is not a public address"),
        ("http://[::ffff:7f00:1]/", "::ffff:7f00:1 is not a public address"),
        ("http://[64:ff9b::7f00:1]/", "64:ff9b::7f00:1 is not a public address"),
        ("http://[64:ff9b::10.0.0.1]/", "64:ff9b::10.0.0.1 is not a public address"),
        ("http://[64:ff9b:1::5db8:d822]/", "64:ff9b:1::5db8:d822 is not a public address"),
        ("http://[2002:7f00:1::]/", "2002:7f00:1:: is not a public address"),
        ("http://[2002:a9fe:a9fe::1]/", "2002:a9fe:a9fe::1 is not a public address"),
        (
            "http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/",
            "2001:0:4136:e378:8000:63bf:80ff:fffe is not a public address",
        ),  # Teredo, its client 127.0.0.1
        (
            "http://[fe80::1%25eth0]/",
            "url 'http://[fe80::1%25eth0]/' has a host name readers may take for different hosts",
        ),
        ("http://example.org:99999/v.mp4", "url 'http://example.org:99999/v.mp4' is not an http(s) URL"),
        ("http://[64:ff9b::5db8:d822]/v.mp4", None),  # NAT64 of 93.184.216.34: public
        ("http://[::ffff:93.184.216.34]/v.mp4", None),
        ("http://[2606:4700::1111]/v.mp4", None),
        ("https://cdn-1.example.org./v.mp4", None),
    ],
)
def test_a_note_may_only_name_public_http_hosts(url: str, problem: str | None) -> None:
    found = note_url_problem(url)
    assert (found if problem is None else (found or "").split(" (")[0]) == problem


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:18765/ssrf-admin", "file:///etc/passwd", "/tmp/local.mp4", "http://127.0.0.1\\x/v.mp4",
     "http://[::127.0.0.1]/", "http://[64:ff9b::7f00:1]/", "http://[2002:7f00:1::]/"],
)  # fmt: skip
def test_a_note_pointing_at_a_private_or_local_place_is_refused_with_its_line(
    tmp_path: Path, url: str, config: Config
) -> None:
    text = EXAMPLE.read_text().replace("url: https://www.youtube.com/watch?v=u3HBJVjpXuw", f"url: {url}")
    text = text.replace('"https://www.youtube.com/watch?v=u3HBJVjpXuw"', f'"{url}"')
    path = tmp_path / "x.md"
    path.write_text(text)
    note = parse_note(path)
    assert note is not None
    jobs, errors = plan_jobs([note], config)
    assert jobs == []
    assert [str(error).split(": ", 1)[0] for error in errors] == [f"{path}:35", f"{path}:49", f"{path}:63",
                                                                   f"{path}:77"]  # fmt: skip
    trusted = replace(config, sources={"u3HBJVjpXuw": url})  # the user's own config may point anywhere
    jobs, errors = plan_jobs([note], trusted)
    assert errors == [] and len(jobs) == 4 and not jobs[0].public_only


def test_names_that_differ_only_in_their_container_share_captions_and_are_refused(
    tmp_path: Path, config: Config
) -> None:
    first = note_file(tmp_path, "first.md", "abc", ("A", "0:01-0:02", "a.mp4"))
    second = note_file(tmp_path, "second.md", "abc", ("B", "0:05-0:09", "a.mkv"))
    jobs, errors = plan_jobs([first, second], config)
    assert [job.output for job in jobs] == ["a.mp4"]
    assert [str(error) for error in errors] == [
        f"{second.path}:7: clip a.mkv would share its captions and poster with the clip a.mp4 from {first.path}:7"
        " (abc 1-2s); give one of them another -o name"
    ]


def test_a_clip_name_too_long_for_a_file_system_is_refused(tmp_path: Path, config: Config) -> None:
    note = note_file(tmp_path, "long.md", "abc", ("A", "0:01-0:02", "x" * 300 + ".mp4"))
    jobs, errors = plan_jobs([note], config)
    assert jobs == []
    assert str(errors[0]).startswith(f"{note.path}:7: clip name {'x' * 40!r}... is 304 bytes long")


@pytest.mark.parametrize(
    ("name", "container", "made"),
    [("a.webm", "mp4", "a.mp4"), ("a.b.mkv", "mp4", "a.b.mp4"), ("a.mp4", "mp4", "a.mp4"), ("a.mkv", "auto", "a.mkv")],
)
def test_the_container_setting_names_the_clip(name: str, container: str, made: str) -> None:
    assert with_container(name, container) == made


def test_planned_clips_are_named_in_the_container_asked_for(tmp_path: Path) -> None:
    note = parse_note(Path(__file__).parent / "u3HBJVjpXuw.md")  # its clip commands name .mp4 files
    assert note is not None
    jobs, _ = plan_jobs([note], Config(output_dir=tmp_path, container="mkv"))
    assert [job.output for job in jobs][:2] == ["u3HBJVjpXuw-0m38s.mkv", "u3HBJVjpXuw-3m34s.mkv"]


def test_a_clip_longer_than_the_limit_is_a_warning() -> None:
    clip = ClipJob("v", "u", "/m.mp4", "t", 634.0, 695.0, "v-10m34s.mp4", Path("n.md"), 9)
    assert length_warning(clip, Config()) is None
    config = Config(warn_longer_than=60.0, preset="shorts")
    said = "v-10m34s.mp4 (n.md:9): 61.0s long (10:34-11:35), over the 60s limit (shorts)"
    assert length_warning(clip, config) == said
    assert length_warning(replace(clip, end=694.0), config) is None
