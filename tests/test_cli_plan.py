"""The CLI's planning side through CliRunner: plan, plan --json, batch --dry-run, problems and exit codes."""

from __future__ import annotations

import json
import re
import shlex
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from clipper.cli.main import cli
from clipper.fetch import download, resolve, ytdlp_argv
from clipper.media import ffmpeg, probe

EXAMPLE = Path(__file__).parent / "u3HBJVjpXuw.md"
EXAMPLE_URL = "https://www.youtube.com/watch?v=u3HBJVjpXuw"
EXAMPLE_ROWS = [
    ["u3HBJVjpXuw-0m38s.mp4", "0:38-1:35", "57.0s"],
    ["u3HBJVjpXuw-3m34s.mp4", "3:34-4:30", "56.0s"],
    ["u3HBJVjpXuw-6m07s.mp4", "6:07-7:00", "53.0s"],
    ["u3HBJVjpXuw-10m34s.mp4", "10:34-11:35", "61.0s"],
]


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty current folder (so the repo's config.yaml is not read) holding notes/u3HBJVjpXuw.md.

    Nothing may be fetched or cut while planning: the functions that would are made to fail loudly.
    """
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes").mkdir()
    shutil.copyfile(EXAMPLE, tmp_path / "notes" / "u3HBJVjpXuw.md")

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("planning must not run yt-dlp or ffmpeg")

    monkeypatch.setattr(resolve, "resolve", forbidden)
    monkeypatch.setattr(download, "download", forbidden)
    monkeypatch.setattr(ffmpeg, "run_ffmpeg", forbidden)
    monkeypatch.setattr(probe, "probe", forbidden)
    monkeypatch.setattr(probe, "packets", forbidden)
    monkeypatch.setattr(ytdlp_argv, "js_runtime", lambda: None)
    return tmp_path


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def rows(stdout: str, status: str = "missing") -> list[list[str]]:
    """The table's rows (header dropped) as [output, range, length, note:line]; titles hold spaces, so skip them.

    Every row must have the given status (nothing is made in these tests) and no size."""
    lines = [line for line in stdout.splitlines() if not line.startswith("# ")]  # the fetch notes follow the table
    assert lines[0].split() == ["OUTPUT", "STATUS", "RANGE", "LENGTH", "SIZE", "FETCH", "TITLE", "NOTE"]
    table = [line.split() for line in lines[1:]]
    assert all(row[1] == status and row[4] == "-" and row[5] in ("sections", "full", "local") for row in table), table
    return [[row[0], row[2], row[3], row[-1]] for row in table]


def write_bad_notes(folder: Path) -> None:
    """Notes with one problem of each kind next to a good clip (good.md's g.mp4)."""
    (folder / "good.md").write_text(
        "---\nvideo_id: abc\n---\n## Highlights\n"  # lines 1-4
        "### G\n```bash\n"  # 5-6
        'yt-dlp --download-sections "*0:01-0:05" https://youtu.be/abc -o g.mp4\n```\n'  # 7-8
        "### No command\n\ntext\n"  # 9-11, then the unsafe command on line 14
        '### Unsafe\n```bash\nyt-dlp --exec "rm -rf ~" --download-sections "*0:06-0:09" https://youtu.be/abc\n```\n'
    )
    (folder / "z-clash.md").write_text(
        "---\nvideo_id: xyz\n---\n## Highlights\n### Same name\n```bash\n"
        'yt-dlp --download-sections "*0:01-0:05" https://youtu.be/xyz -o g.mp4\n```\n'
    )
    (folder / "yaml.md").write_text("---\nvideo_id: abc\ntitle: [broken\nx: y\n---\n")
    (folder / "README.md").write_text("# Not a note\n")


BAD_PROBLEMS = [
    "notes/z-clash.md:5: clip g.mp4 would overwrite the clip from notes/good.md:5 (abc 1-5s);"
    " give one of them another -o name",
    "notes/good.md:9: highlight 'No command' has no clip command (a ```bash block with yt-dlp)",
    "notes/good.md:14: --exec is not allowed in a clip command",
    "notes/yaml.md:4: front matter is not valid YAML: did not find expected ',' or ']'",
]


def test_plan_one_note(workdir: Path) -> None:
    result = run("plan", "notes/u3HBJVjpXuw.md")
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert rows(result.stdout) == [
        [*row, f"notes/u3HBJVjpXuw.md:{line}"] for row, line in zip(EXAMPLE_ROWS, (35, 49, 63, 77), strict=True)
    ]
    assert "LLMs are not learning anything during training" in result.stdout


def test_plan_folder_json(workdir: Path) -> None:
    (workdir / "notes" / "README.md").write_text("# not a note\n")
    result = run("plan", "notes", "--json")
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    clips = json.loads(result.stdout)
    assert [
        {key: clip[key] for key in ("note", "line", "video_id", "url", "title", "start", "end", "output")}
        for clip in clips
    ] == [
        {
            "note": "notes/u3HBJVjpXuw.md",
            "line": 35,
            "video_id": "u3HBJVjpXuw",
            "url": EXAMPLE_URL,
            "title": "LLMs are not learning anything during training",
            "start": 38.0,
            "end": 95.0,
            "output": "u3HBJVjpXuw-0m38s.mp4",
        },
        {
            "note": "notes/u3HBJVjpXuw.md",
            "line": 49,
            "video_id": "u3HBJVjpXuw",
            "url": EXAMPLE_URL,
            "title": "Pretraining data is like fossil fuels",
            "start": 214.0,
            "end": 270.0,
            "output": "u3HBJVjpXuw-3m34s.mp4",
        },
        {
            "note": "notes/u3HBJVjpXuw.md",
            "line": 63,
            "video_id": "u3HBJVjpXuw",
            "url": EXAMPLE_URL,
            "title": "Imitation learning is RL, just very long horizon",
            "start": 367.0,
            "end": 420.0,
            "output": "u3HBJVjpXuw-6m07s.mp4",
        },
        {
            "note": "notes/u3HBJVjpXuw.md",
            "line": 77,
            "video_id": "u3HBJVjpXuw",
            "url": EXAMPLE_URL,
            "title": "We're going the opposite way from meta-RL",
            "start": 634.0,
            "end": 695.0,
            "output": "u3HBJVjpXuw-10m34s.mp4",
        },
    ]
    assert all(isinstance(clip["start"], float) and isinstance(clip["end"], float) for clip in clips)


def test_plan_folder_without_notes(workdir: Path) -> None:
    empty = workdir / "empty"
    empty.mkdir()
    (empty / "README.md").write_text("# nothing here\n")
    result = run("plan", "empty", "--json")
    assert (result.exit_code, result.stdout, result.stderr) == (0, "[]\n", "")


def test_batch_dry_run_prints_commands_and_writes_nothing(workdir: Path) -> None:
    result = run("batch", "--dry-run", "notes")
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert lines[:4] == [
        "set -eu",
        f"# mode smart; clips go to {workdir / 'clips'}",
        f"mkdir -p -- {workdir / 'clips'}",
        "# video u3HBJVjpXuw: sections (4 clip(s) cover 227s of 699s (32%): fetching only the sections saves most"
        " of the download)",
    ]
    assert [line for line in lines if line.startswith("# u3HBJVjpXuw")] == [
        "# u3HBJVjpXuw-0m38s.mp4: u3HBJVjpXuw 0:38-1:35 (notes/u3HBJVjpXuw.md:35)",
        "# u3HBJVjpXuw-3m34s.mp4: u3HBJVjpXuw 3:34-4:30 (notes/u3HBJVjpXuw.md:49)",
        "# u3HBJVjpXuw-6m07s.mp4: u3HBJVjpXuw 6:07-7:00 (notes/u3HBJVjpXuw.md:63)",
        "# u3HBJVjpXuw-10m34s.mp4: u3HBJVjpXuw 10:34-11:35 (notes/u3HBJVjpXuw.md:77)",
    ]
    assert sum(line.startswith("URLS=$(yt-dlp --ignore-config ") for line in lines) == 1
    assert not any("-progress" in line for line in lines)
    # A host that serves video and audio apart gets both as inputs; one that serves one stream, one input.
    # Each section is read from the host where ffmpeg can (-xerror: it fails where it cannot); else the video is
    # downloaded whole, once, and cut from that file.
    fallback = " || download_whole"
    apart = [shlex.split(line.split("; then ", 1)[1].removesuffix(fallback))
             for line in lines if line.startswith('elif [ -n "$AUDIO_URL" ]')]  # fmt: skip
    sections = [shlex.split(line[len("else ") : -len(fallback + "; fi")]) for line in lines
                if line.startswith("else ffmpeg")]  # fmt: skip
    assert len(apart) == len(sections) == 4 and all(argv[1] == "-xerror" for argv in apart + sections)
    assert all(line.endswith(fallback) for line in lines if line.startswith('elif [ -n "$AUDIO_URL" ]'))
    assert all(line.endswith(fallback + "; fi") for line in lines if line.startswith("else ffmpeg"))
    (whole,) = [line for line in lines if line.startswith("download_whole() { ")]
    assert re.fullmatch(r"download_whole\(\) \{ mkdir -p -- (\S+); yt-dlp --ignore-config .* -o '\1/u3HBJVjpXuw-"
                        rf"(\w+)\.%\(ext\)s' -- '{re.escape(EXAMPLE_URL)}'; set -- \1/u3HBJVjpXuw-\2\.\*; "
                        r"MEDIA_FILE=\$1; SECTION=file:\$1; \}", whole)  # fmt: skip
    assert lines.count('if [ -n "$MEDIA_FILE" ]; then SECTION=file:$MEDIA_FILE') == 4
    assert [(argv[argv.index("-ss") + 1], argv[argv.index("-to") + 1]) for argv in sections] == [
        ("37", "97"),
        ("213", "272"),
        ("366", "422"),
        ("633", "697"),
    ]
    assert all(argv[argv.index("-i") + 1] == "$MEDIA_URL" for argv in sections)
    assert all([argv[i + 1] for i, arg in enumerate(argv) if arg == "-i"] == ["$MEDIA_URL", "$AUDIO_URL"]
               for argv in apart)  # fmt: skip
    argvs = [shlex.split(line) for line in lines if line.split(" ")[0] in ("ffmpeg", "mv", "rm", "printf")]
    cuts = [argv for argv in argvs if argv[0] == "ffmpeg"]
    assert len(cuts) == 4 and all("libx264" in argv for argv in cuts)  # the script re-encodes: frame-exact too
    moves = [argv for argv in argvs if argv[0] == "mv"]
    assert [argv[-1] for argv in moves] == [
        str(workdir / "clips" / name)
        for name in (
            "u3HBJVjpXuw-0m38s.mp4",
            "u3HBJVjpXuw-3m34s.mp4",
            "u3HBJVjpXuw-6m07s.mp4",
            "u3HBJVjpXuw-10m34s.mp4",
        )
    ]
    assert all(argv[argv.index("-i") + 1] == "$SECTION" for argv in cuts)
    assert sum(argv[:3] == ["rm", "-f", "--"] for argv in argvs) == 4  # each section is removed once its clip is made
    assert sorted(path.name for path in workdir.iterdir()) == ["notes"]  # no clips/ folder, no cache


def test_batch_dry_run_with_options(workdir: Path) -> None:
    media = workdir / "media" / "sutton.mp4"
    (workdir / "config.yaml").write_text(f"sources:\n  u3HBJVjpXuw: {media}\n")
    result = run("batch", "--dry-run", "-o", "out", "-j", "3", "--mode", "copy", "notes/u3HBJVjpXuw.md")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[:5] == [
        "set -eu",
        f"# mode copy; clips go to {workdir / 'out'}",
        f"mkdir -p -- {workdir / 'out'}",
        "# video u3HBJVjpXuw: local (a local file)",
        "# u3HBJVjpXuw-0m38s.mp4: u3HBJVjpXuw 0:38-1:35 (notes/u3HBJVjpXuw.md:35)",
    ]
    assert not any(line.startswith(("URLS=", "MEDIA_URL=")) for line in lines)
    ffmpeg = shlex.split(lines[5])
    assert ffmpeg[ffmpeg.index("-i") + 1] == f"file:{media}"
    assert ffmpeg[ffmpeg.index("-t") + 1] == "57"
    assert ffmpeg[ffmpeg.index("-c:v") + 1] == ffmpeg[ffmpeg.index("-c:a") + 1] == "copy"
    assert ffmpeg[-1] == f"file:{workdir / 'out' / '.u3HBJVjpXuw-0m38s.mp4.part'}"
    assert not (workdir / "out").exists()


def test_bad_notes_do_not_hide_the_good_clips(workdir: Path) -> None:
    write_bad_notes(workdir / "notes")
    result = run("plan", "notes")
    assert result.exit_code == 1
    assert sorted(result.stderr.splitlines()) == sorted(BAD_PROBLEMS)
    assert [row[0] for row in rows(result.stdout)] == ["g.mp4"] + [row[0] for row in EXAMPLE_ROWS]


def test_bad_notes_in_a_dry_run(workdir: Path) -> None:
    write_bad_notes(workdir / "notes")
    result = run("batch", "--dry-run", "notes")
    assert result.exit_code == 1
    assert sorted(result.stderr.splitlines()) == sorted(BAD_PROBLEMS)
    comments = [line.split(":")[0] for line in result.stdout.splitlines() if line.startswith("# ") and ".mp4:" in line]
    assert comments == ["# g.mp4"] + [f"# {row[0]}" for row in EXAMPLE_ROWS]
    assert not (workdir / "clips").exists()


def test_missing_note_is_a_usage_error(workdir: Path) -> None:
    result = run("plan", "nope.md", "notes/u3HBJVjpXuw.md")
    assert result.exit_code == 2
    assert "Path 'nope.md' does not exist." in result.stderr


def test_markdown_that_is_no_note_or_has_no_highlights_gets_a_warning(workdir: Path) -> None:
    (workdir / "notes" / "README.md").write_text("# About these notes\n")  # in a folder: passed over
    (workdir / "todo.md").write_text("# todo\n")
    (workdir / "notes" / "empty.md").write_text("---\nvideo_id: abcdefghijk\n---\n\nNo highlights yet.\n")
    (workdir / "notes" / "draft.md").write_text("---\ntitle: a draft\n---\n")
    result = run("plan", "notes", "todo.md")
    assert result.exit_code == 0
    assert sorted(result.stderr.splitlines()) == [
        "notes/draft.md: not a clipper note (no front matter with a video_id); skipped",
        "notes/empty.md: has no highlights (no ## Highlights section with clip commands)",
        "todo.md: not a clipper note (no front matter with a video_id); skipped",
    ]
    assert run("plan", "-q", "notes", "todo.md").stderr == ""


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("jobs: x\n", "bad.yaml:1: jobs must be a whole number, not a string"),
        ("output_dir: out\nmode: fast\n", "bad.yaml:2: mode must be one of smart, reencode, copy, not 'fast'"),
        ("loudnorm: +3\n", "bad.yaml:1: loudnorm must be off or a target loudness from -70 to -5 LUFS, like -14; "
         "not 3"),
        ("aspect: 3:0\n", "bad.yaml:1: aspect: '3:0' is not a shape: use source or W:H with whole numbers above 0, like"
         " 9:16 or 1:1"),
        ("colour: red\n", "bad.yaml:1: unknown key 'colour' (known: aspect, broker, cache_dir, captions, container,"
         " crop_x, fetch, format, format_sort, host_limits, http_chunk_size, jobs, link_notes, link_style, loudnorm,"
         " mode, naming, output_dir, pad, preset, queue_heartbeat, retries, retry_delay, snap, snap_window, sources,"
         " warn_longer_than, yt_dlp_args)"),
    ],
)  # fmt: skip
@pytest.mark.parametrize("command", ["plan", "batch"])
def test_bad_config(workdir: Path, text: str, message: str, command: str) -> None:
    (workdir / "bad.yaml").write_text(text)
    result = run(command, "--config", "bad.yaml", "notes")
    assert (result.exit_code, result.stdout, result.stderr) == (1, "", message + "\n")
    assert not (workdir / "clips").exists()


def test_bad_default_config_is_read_from_the_current_folder(workdir: Path) -> None:
    (workdir / "config.yaml").write_text("# settings\nnaming: '{nope}'\n")
    result = run("plan", "notes")
    assert result.exit_code == 1
    assert result.stderr == (
        "config.yaml:2: naming '{nope}' is not a valid template ('nope');"
        " fields: {video_id}, {start}, {end}, {title}, {index}\n"
    )


def test_default_config_is_used(workdir: Path) -> None:
    (workdir / "notes" / "a.md").write_text(
        "---\nvideo_id: abc\n---\n## Highlights\n### Ça va? Déjà vu\n```bash\n"
        'yt-dlp --download-sections "*1:02-1:10" https://youtu.be/abc\n```\n'
    )
    (workdir / "config.yaml").write_text("naming: '{video_id}-{title}'\n")
    result = run("plan", "notes", "--json")
    assert result.exit_code == 0, result.output
    assert [clip["output"] for clip in json.loads(result.stdout)] == ["abc-ca-va-deja-vu.mp4"] + [
        f"u3HBJVjpXuw-{stamp}.mp4" for stamp in ("0m38s", "3m34s", "6m07s", "10m34s")
    ]


def test_missing_config_file(workdir: Path) -> None:
    result = run("plan", "--config", "missing.yaml", "notes")
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == "missing.yaml: cannot read config: No such file or directory\n"


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["plan"], "Error: Missing argument 'PATHS...'."),
        (["batch", "--dry-run"], "Error: Missing argument 'PATHS...'."),
        (
            ["batch", "--mode", "fast", "notes"],
            "Error: Invalid value for '--mode': 'fast' is not one of 'smart', 'reencode', 'copy'.",
        ),
        (["batch", "-j", "0", "notes"], "Error: Invalid value for '-j' / '--jobs': 0 is not in the range x>=1."),
        (["plan", "--frobnicate", "notes"], "Error: No such option '--frobnicate'."),
        (["plan", "--config", ".", "notes"], "Error: Invalid value for '--config': File '.' is a directory."),
        (["batch", "--aspect", "3:0", "notes"], "Error: Invalid value for '--aspect': '3:0' is not a shape: use source"
         " or W:H with whole numbers above 0, like 9:16 or 1:1"),
        (["cut", "x.mp4", "0:01-0:02", "--crop-x", "1.5"], "Error: Invalid value for '--crop-x': 1.5 is not in the"
         " range 0<=x<=1."),
        (["batch", "--lufs", "3", "notes"], "Error: Invalid value for '--lufs': 3.0 is not in the range "
         "-70.0<=x<=-5.0."),
        (["batch", "--preset", "tiktok", "notes"], "Error: Invalid value for '--preset': 'tiktok' is not one of "
         "'shorts', 'square'."),
    ],
)  # fmt: skip
def test_usage_errors(workdir: Path, args: list[str], error: str) -> None:
    result = run(*args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith("Usage: ")
    assert result.stderr.splitlines()[-1] == error
    assert not (workdir / "clips").exists()


def test_plan_says_how_each_video_is_fetched_and_why(workdir: Path) -> None:
    table = run("plan", "notes")
    assert table.stdout.splitlines()[-1] == (
        "# u3HBJVjpXuw: sections: 4 clip(s) cover 227s of 699s (32%): fetching only the sections saves most of"
        " the download"
    )
    (workdir / "c.yaml").write_text("fetch: full\n")
    data = json.loads(run("plan", "notes", "--json", "--config", "c.yaml").stdout)
    assert {(clip["fetch"], clip["fetch_reason"], clip["status"]) for clip in data} == {
        ("full", "fetch: full in the config", "missing")
    }


@pytest.mark.parametrize(
    "args",
    [
        ["batch", "notes", "-n", "-v"],
        ["-v", "batch", "notes", "--dry-run"],
        ["batch", "-q", "notes", "-n"],
        ["batch", "notes", "-n", "--progress", "lines"],
    ],
)
def test_output_flags_and_short_forms_go_anywhere(workdir: Path, args: list[str]) -> None:
    result = run(*args)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("set -eu\n")


def test_every_command_takes_config(workdir: Path) -> None:
    config = workdir / "mine.yaml"
    config.write_text("output_dir: elsewhere\nhttp_chunk_size: 1M\nyt_dlp_args: [--username, me, --password, pw]\n")
    result = run("doctor", "--config", str(config))
    assert f"config    {config}" in result.stdout
    assert f"  output_dir: {workdir / 'elsewhere'}" in result.stdout
    assert "  http_chunk_size: 1048576" in result.stdout
    assert "  yt_dlp_args: --username me --password '***'" in result.stdout
    for args in (["plan", "notes"], ["list"], ["gallery"], ["cache", "list"]):
        assert run(*args, "--config", str(config)).exit_code in (0, 1), args


def test_a_config_beside_the_notes_is_used_from_another_folder_and_named(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (workdir / "notes" / "config.yaml").write_text("output_dir: beside\nmode: copy\n")
    elsewhere = workdir / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    result = run("batch", "-n", str(workdir / "notes"))
    assert result.exit_code == 0, result.output
    assert result.stderr == f"clipper: using the config {workdir / 'notes' / 'config.yaml'}\n"
    assert f"# mode copy; clips go to {workdir / 'notes' / 'beside'}" in result.stdout


def test_presets_are_listed_in_help(workdir: Path) -> None:
    for command in ("batch", "cut"):
        shown = " ".join(run(command, "--help").stdout.split())
        assert "--preset [shorts|square] A bundle of settings: shorts: 9:16, captions burned, -14 LUFS, H.264/AAC " \
               "mp4, a warning over 60s; square: 1:1, captions burned, -14 LUFS, H.264/AAC mp4." in shown  # fmt: skip


def test_the_shorts_preset_in_a_dry_run(workdir: Path) -> None:
    result = run("batch", "--dry-run", "--preset", "shorts", "--snap", "speech", "notes")
    assert result.exit_code == 0, result.stderr
    script = result.stdout
    assert "# preset shorts: edges snap to pauses in the speech (within 1s); cropped to 9:16; loudness -14 LUFS (two " \
           "passes)" in script  # fmt: skip
    assert script.count("# clipper snaps the edges to pauses in the speech once the media is fetched") == 1
    # Every clip is measured and has its phone captions.
    assert script.count("LOUDNORM=$(ffmpeg ") == 4 and script.count(".ass'") >= 4
    assert "min(iw,trunc(ih*9/16/2)*2)" in script and "PlayResY: 1920" in script
    # The 10:34-11:35 clip is longer than Shorts take: said once, and the run goes on.
    assert result.stderr == ("clipper: u3HBJVjpXuw-10m34s.mp4 (notes/u3HBJVjpXuw.md:77): 61.0s long (10:34-11:35), "
                             "over the 60s limit (shorts)\n")  # fmt: skip


@pytest.mark.parametrize(
    ("flags", "loudness"),
    [((), "loudnorm=I=-14:"), (("--no-loudnorm",), None), (("--lufs", "-16"), "loudnorm=I=-16:"),
     (("--loudnorm", "--lufs", "-23"), "loudnorm=I=-23:")],
)  # fmt: skip
def test_flags_beside_a_preset_win(workdir: Path, flags: tuple[str, ...], loudness: str | None) -> None:
    result = run("cut", "notes/u3HBJVjpXuw.md", "--highlight", "2", "--preset", "shorts", "--captions", "embed",
                 "--dry-run", *flags)  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert ("measured_I=${LOUDNORM_I}" in result.stdout) is (loudness is not None)
    assert loudness is None or loudness in result.stdout
    assert "-c:s mov_text" in result.stdout and "subtitles=" not in result.stdout  # --captions embed over the preset's


def test_a_name_given_with_o_keeps_its_container(workdir: Path) -> None:
    result = run("cut", "notes/u3HBJVjpXuw.md", "--highlight", "2", "--preset", "shorts", "-o", "out/x.webm", "-n")
    assert result.exit_code == 0, result.stderr
    assert "libvpx-vp9" in result.stdout
    said = "x.webm: -o names the clip, so it is not made mp4 (container: mp4 in preset shorts)\n"
    assert result.stderr == said


def test_a_run_warns_of_a_clip_too_long_for_the_preset_before_it_starts(workdir: Path) -> None:
    (workdir / "c.yaml").write_text("sources:\n  u3HBJVjpXuw: missing.mp4\n")  # fails before any ffmpeg would run
    result = run("batch", "notes", "--preset", "shorts", "--config", "c.yaml", "--progress", "lines")
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    warning = lines.index("clipper: u3HBJVjpXuw-10m34s.mp4 (notes/u3HBJVjpXuw.md:77): 61.0s long (10:34-11:35), "
                          "over the 60s limit (shorts)")  # fmt: skip
    assert warning < lines.index("clipper: 4 clip(s)")
