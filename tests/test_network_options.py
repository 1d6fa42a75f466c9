"""The user's own yt-dlp options, the chunk size, the relay's arithmetic and fetch errors a user can act on."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from clipper.cli.batch import failure_lines
from clipper.core.errors import ConfigError
from clipper.core.streams import MediaStream
from clipper.fetch import download, failures, ytdlp_argv
from clipper.fetch.relay import FIRST_CHUNK, chunk_ranges, next_chunk_size, parse_range
from clipper.fetch.youtubedl import hardened_options
from clipper.plan.config import DEFAULT_CHUNK_SIZE, Config, load_config
from clipper.plan.jobs import ClipJob
from clipper.policy.clip_command import UnsafeCommand
from clipper.policy.ytdlp_args import check_user_args, redact, user_params
from clipper.run.manifest import ClipResult
from clipper.run.pool import Runner
from clipper.run.progress import Reporter
from clipper.run.videos import VideoJobs

URL = "https://www.youtube.com/watch?v=u3HBJVjpXuw"


@pytest.mark.parametrize(
    ("args", "params"),
    [
        (["--cookies", "/tmp/c.txt"], {"cookiefile": "/tmp/c.txt"}),
        (["--proxy", "socks5://127.0.0.1:9050"], {"proxy": "socks5://127.0.0.1:9050"}),
        (["--limit-rate", "1M", "--sleep-requests", "1.5"], {"ratelimit": 1048576, "sleep_interval_requests": 1.5}),
        (["--add-headers", "Referer:https://example.org/"], {"http_headers": {"referer": "https://example.org/"}}),
        (["--source-address", "192.0.2.1"], {"source_address": "192.0.2.1"}),
        (["--geo-verification-proxy", "http://p:1"], {"geo_verification_proxy": "http://p:1"}),
        (["--username", "me", "--password", "pw"], {"username": "me", "password": "pw"}),
        (["--netrc"], {"usenetrc": True}),
        (
            ["--extractor-args", "youtube:player_client=web"],
            {"extractor_args": {"youtube": {"player_client": ["web"]}}},
        ),
        (["--cookies-from-browser", "firefox"], {"cookiesfrombrowser": ("firefox", None, None, None)}),
        (["--proxy=http://p:1"], {"proxy": "http://p:1"}),
        ([], {}),
    ],
)
def test_network_and_authentication_options_are_parsed_by_yt_dlp(args: list[str], params: dict[str, object]) -> None:
    assert user_params(args) == params


def test_impersonation_is_passed_on() -> None:
    target = user_params(["--impersonate", "chrome"])["impersonate"]
    assert target.client == "chrome"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--exec", "rm -rf ~"],
            "--exec cannot be used in yt_dlp_args (clipper runs no command from its configuration)",
        ),
        (["--exec-b", "x"], "--exec-b (yt-dlp reads it as --exec-before-download) cannot be used in yt_dlp_args"),
        (["-o", "%(title)s.mp4"], "-o cannot be used in yt_dlp_args (clipper names and places every file itself)"),
        (["--paths", "/tmp"], "--paths cannot be used in yt_dlp_args (clipper names and places every file itself)"),
        (["--download-sections", "*1-2"], "--download-sections cannot be used in yt_dlp_args (clipper fetches each"),
        (["--postprocessor-args", "x"], "--postprocessor-args cannot be used in yt_dlp_args (clipper cuts, muxes"),
        (["--get-url"], "--get-url cannot be used in yt_dlp_args (clipper reads yt-dlp's results"),
        (["--print", "id"], "--print cannot be used in yt_dlp_args"),
        (["--simulate"], "--simulate cannot be used in yt_dlp_args"),
        (["--config-locations", "x.conf"], "--config-locations cannot be used in yt_dlp_args (clipper runs yt-dlp"),
        (["--plugin-dirs", "x"], "--plugin-dirs cannot be used in yt_dlp_args"),
        (["-a", "urls.txt"], "-a cannot be used in yt_dlp_args"),
        (["--downloader", "aria2c"], "--downloader cannot be used in yt_dlp_args (clipper fetches through yt-dlp's"),
        (["--netrc-cmd", "pass show yt"], "--netrc-cmd cannot be used in yt_dlp_args (clipper runs no command"),
        (["--enable-file-urls"], "--enable-file-urls cannot be used in yt_dlp_args"),
        (["--skip-unavailable-fragments"], "--skip-unavailable-fragments cannot be used in yt_dlp_args (clipper never"),
        (["-f", "best"], "-f cannot be used in yt_dlp_args (set format: and format_sort: in the config)"),
        (["--http-chunk-size", "1M"], "--http-chunk-size cannot be used in yt_dlp_args (set http_chunk_size:"),
        (["--proxy", "http://p:1", URL], f"{URL!r} is not an option: yt_dlp_args takes options only"),
        (["--", "-o", "x"], "'-o' is not an option"),
        (["--proxy"], "--proxy needs a value"),
        (["--limit-rate", "fast"], 'yt_dlp_args: invalid rate limit "fast" given'),
    ],
)
def test_options_that_take_over_clippers_job_are_refused(args: list[str], message: str) -> None:
    with pytest.raises(UnsafeCommand) as error:
        user_params(args)
    assert str(error.value).startswith(message), str(error.value)


def test_refused_options_never_reach_yt_dlps_parser(monkeypatch: pytest.MonkeyPatch) -> None:
    import yt_dlp

    def fail(*args: object, **kwargs: object) -> None:
        raise AssertionError("yt-dlp's parser was reached")

    monkeypatch.setattr(yt_dlp, "parse_options", fail)
    with pytest.raises(UnsafeCommand):
        check_user_args(["--proxy", "http://p:1", "--config-locations", "evil.conf"])


def test_config_yt_dlp_args_and_chunk_size(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("http_chunk_size: 2M\nyt_dlp_args:\n  - --cookies\n  - cookies.txt\n  - --sleep-requests=1\n")
    config = load_config(path)
    assert config.http_chunk_size == 2 * 1024 * 1024
    assert config.yt_dlp_args == ("--cookies", "cookies.txt", "--sleep-requests=1")
    path.write_text("yt_dlp_args: --proxy http://p:1 --impersonate chrome\nhttp_chunk_size: 0\n")
    config = load_config(path)
    assert config.yt_dlp_args == ("--proxy", "http://p:1", "--impersonate", "chrome")
    assert config.http_chunk_size == 0
    assert Config().http_chunk_size == DEFAULT_CHUNK_SIZE == 10 * 1024 * 1024


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("mode: smart\nyt_dlp_args:\n  - --proxy\n  - http://p:1\n  - --exec\n  - ls\n",
         "config.yaml:5: --exec cannot be used in yt_dlp_args (clipper runs no command from its configuration)"),
        ("yt_dlp_args: --cookies c.txt -o x.mp4\n",
         "config.yaml:1: -o cannot be used in yt_dlp_args (clipper names and places every file itself)"),
        ("yt_dlp_args:\n  - [nested]\n", "config.yaml:2: yt_dlp_args must be a list of command-line arguments"),
        ("yt_dlp_args: 3\n", "config.yaml:1: yt_dlp_args must be a list or a string, not a whole number"),
        ("http_chunk_size: lots\n", "config.yaml:1: http_chunk_size must be 0 (off) or a size of 64K or more"),
        ("http_chunk_size: 100\n", "config.yaml:1: http_chunk_size must be 0 (off) or a size of 64K or more"),
        ("http_chunk_size: 2T\n", "config.yaml:1: http_chunk_size must be 0 (off) or a size of 64K or more (at most"),
        ("http_chunk_size: " + "9" * 400 + "K\n", "config.yaml:1: http_chunk_size must be 0 (off) or a size of 64K"),
    ],
)  # fmt: skip
def test_bad_yt_dlp_args_name_the_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert str(error.value).startswith(str(tmp_path / message)), str(error.value)


def test_command_line_cookies_join_the_configs_args() -> None:
    config = Config(yt_dlp_args=("--proxy", "http://p:1"))
    assert config.with_yt_dlp_args(["--cookies", "/c.txt"]).yt_dlp_args == ("--proxy", "http://p:1", "--cookies",
                                                                            "/c.txt")  # fmt: skip
    with pytest.raises(ConfigError, match="--exec cannot be used"):
        config.with_yt_dlp_args(["--exec", "x"])


def test_yt_dlp_commands_carry_the_users_options_and_the_chunk_size() -> None:
    resolve = ytdlp_argv.resolve_argv(URL, "b", (), None, ("--cookies", "c.txt"))
    assert resolve == ["yt-dlp", *ytdlp_argv.HARDENING, "--cookies", "c.txt", "-f", "b", "--get-url", "--", URL]
    download = ytdlp_argv.download_argv(URL, "b", (), "/cache/x.%(ext)s", None, ("--proxy", "http://p:1"), 1048576)
    assert download == [
        "yt-dlp",
        *ytdlp_argv.HARDENING,
        "--proxy",
        "http://p:1",
        "--abort-on-unavailable-fragments",  # a lost fragment fails the download: it is never kept short
        "-f",
        "b",
        "--http-chunk-size",
        "1048576",
        "--merge-output-format",
        "mkv",
        "--no-mtime",
        "-o",
        "/cache/x.%(ext)s",
        "--",
        URL,
    ]
    assert "--http-chunk-size" not in ytdlp_argv.download_argv(URL, "b", (), "/x", None, (), 0)  # fmt: skip


def test_an_argv_with_a_second_separator_is_refused() -> None:
    with pytest.raises(ValueError, match="not built by clipper"):
        hardened_options(["yt-dlp", *ytdlp_argv.HARDENING, "--", "-o", "--", URL])


@pytest.mark.parametrize(
    ("start", "last", "chunk", "expected"),
    [
        (0, None, 100, (0, 99)),
        (250, None, 100, (250, 349)),
        (250, 300, 100, (250, 300)),
        (250, None, 0, (250, None)),
        (250, 999, 0, (250, 999)),
    ],
)
def test_chunks_never_ask_for_more_than_the_chunk_size(
    start: int, last: int | None, chunk: int, expected: tuple[int, int | None]
) -> None:
    assert chunk_ranges(start, last, chunk) == expected


def test_a_read_starts_with_a_small_request_and_doubles_up_to_the_chunk_size() -> None:
    sizes = [next_chunk_size(None, 10 * 2**20)]
    while sizes[-1] < 10 * 2**20:
        sizes.append(next_chunk_size(sizes[-1], 10 * 2**20))

    assert sizes == [FIRST_CHUNK, 2**20, 2 * 2**20, 4 * 2**20, 8 * 2**20, 10 * 2**20]
    assert next_chunk_size(None, 100_000) == 100_000  # a small chunk size is never exceeded
    assert next_chunk_size(None, 0) == next_chunk_size(4096, 0) == 0  # no chunking: one request


@pytest.mark.parametrize(
    ("header", "expected"),
    [(None, (0, None)), ("bytes=0-", (0, None)), ("bytes=100-199", (100, 199)), ("bytes=-500", (0, None))],
)
def test_parse_range(header: str | None, expected: tuple[int, int | None]) -> None:
    assert parse_range(header) == expected


@pytest.mark.parametrize(
    ("message", "hint"),
    [
        ("ERROR: [youtube] u3HBJVjpXuw: Sign in to confirm you're not a bot. Use --cookies-from-browser",
         "--cookies-from-browser firefox"),
        ("ERROR: unable to download video data: HTTP Error 403: Forbidden", "--cookies-from-browser firefox"),
        ("ERROR: HTTP Error 429: Too Many Requests", "--sleep-requests"),
        ("ERROR: [generic] Unable to download webpage: <urlopen error [Errno -2] Name or service not known>",
         "`sources:` in the config"),
        ("ERROR: Failed to resolve 'www.youtube.com' ([Errno -3] Temporary failure in name resolution)",
         "`sources:` in the config"),
        ("ERROR: Unsupported URL: https://example.org/", None),
    ],
)  # fmt: skip
def test_fetch_errors_come_with_a_hint_where_one_helps(message: str, hint: str | None) -> None:
    error = failures.fetch_error(message)
    assert "\n" not in error.message and not error.message.startswith("ERROR")
    if hint is None:
        assert failures.hint_for(message) is None
    else:
        assert hint in error.message


@pytest.mark.parametrize(
    ("expected", "actual", "kept"),
    [(700.0, 699.5, True), (700.0, 696.0, True), (700.0, 234.0, False), (700.0, 690.0, False), (None, 44.0, True),
     (30.0, 27.9, True), (30.0, 27.0, False)],
)  # fmt: skip
def test_a_whole_download_shorter_than_the_video_is_not_kept(expected: float | None, actual: float, kept: bool) -> None:
    problem = download.short_download_problem(URL, expected, actual)
    assert (problem is None) is kept, problem
    if problem is not None:
        assert (
            problem == f"the download of {URL} lasts {actual:.1f}s but the video {expected:.1f}s: part of it is "
            "missing (not kept)"
        )


def test_a_download_refused_partway_is_looked_up_again_even_for_a_403() -> None:
    message = "ERROR: [download] Got error: HTTP Error 403: Forbidden. Giving up after 10 retries"
    error = failures.fetch_error(message, partway=True)
    assert error.retryable  # the start came: the URL expired, cookies would not help
    assert "cookies" not in error.message and "URL may have expired" in error.message
    assert not failures.fetch_error(message).retryable  # refused from the start: sign in


def test_a_video_that_cannot_be_fetched_is_one_summary_line() -> None:
    jobs = [ClipJob(note=Path("n.md"), line=10 * i, video_id="vid", url=URL, source=URL, title="t", start=float(i),
                    end=i + 1.0, output=f"vid-{i}.mp4") for i in range(3)]  # fmt: skip
    other = ClipJob(note=Path("n.md"), line=99, video_id="vid", url=URL, source=URL, title="t", start=50.0, end=51.0,
                    output="vid-50.mp4")  # fmt: skip
    results = [ClipResult(job, "failed", "HTTP Error 403: Forbidden (hint)", fetch_failed=True) for job in jobs]
    results.append(ClipResult(other, "failed", "the clip did not verify"))
    assert failure_lines(results) == [
        "  failed vid-50.mp4 (n.md:99): the clip did not verify",
        "  failed vid (3 clip(s) of n.md: vid-0.mp4, vid-1.mp4, vid-2.mp4): HTTP Error 403: Forbidden (hint)",
    ]


def test_passwords_are_not_shown_in_logs() -> None:
    argv = ["yt-dlp", "--username", "me", "--password", "pw", "--video-password=vp", "-p", "x", "--", URL]
    assert redact(argv) == ["yt-dlp", "--username", "me", "--password", "***", "--video-password=***", "-p", "***",
                            "--", URL]  # fmt: skip


class _Collect(Reporter):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def _write(self, text: str) -> None:
        self.lines.append(text)


def test_a_host_that_asks_to_wait_is_waited_for_and_the_log_says_so() -> None:
    reporter = _Collect()
    runner = Runner(Config(), reporter)
    video = VideoJobs("vid", URL, "sections", "", ())
    streams = [MediaStream("https://x/v", available_at=time.time() + 1.5), MediaStream("https://x/a")]
    began = time.monotonic()
    runner.fetcher.wait_until_available(video, streams)
    assert time.monotonic() - began >= 1.0
    assert any("the host asks to wait" in line for line in reporter.lines), reporter.lines
    reporter.lines.clear()
    runner.fetcher.wait_until_available(video, [MediaStream("https://x/v", available_at=time.time() - 5)])
    assert reporter.lines == []


def test_the_dry_run_shows_the_users_options_in_every_yt_dlp_line(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from clipper.cli.main import cli

    note = Path(__file__).parent / "u3HBJVjpXuw.md"
    config = tmp_path / "config.yaml"
    config.write_text("output_dir: out\nyt_dlp_args: [--proxy, 'http://127.0.0.1:3128']\n")
    result = CliRunner().invoke(cli, ["batch", str(note), "--dry-run", "--config", str(config), "--cookies",
                                      "c.txt", "--fetch", "full"])  # fmt: skip
    assert result.exit_code == 0, result.output
    yt_dlp_lines = [line for line in result.output.splitlines() if "yt-dlp --ignore-config" in line]
    assert yt_dlp_lines
    for line in yt_dlp_lines:
        assert "--proxy http://127.0.0.1:3128 --cookies " in line and "/c.txt" in line, line
    assert any("--http-chunk-size 10485760" in line for line in yt_dlp_lines)


def test_ctrl_c_before_the_run_starts_exits_130_without_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from clipper.cli import listing
    from clipper.cli.main import main

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(listing, "plan_notes", interrupted)
    note = Path(__file__).parent / "u3HBJVjpXuw.md"
    assert main(["plan", str(note)]) == 130
    assert capsys.readouterr().err.strip() == "clipper: interrupted"  # after the line ^C was typed on


@pytest.mark.parametrize(
    ("offset", "reports", "expected"),
    [
        (214.0, [0.0, 214.5, 240.0, 271.0, 300.0], [0.0, 0.5, 26.0, 56.0, 56.0]),  # -copyts: the source's times
        (214.0, [0.0, 0.5, 26.0, 56.0], [0.0, 0.5, 26.0, 56.0]),  # counted from 0 (a copy without -copyts)
        (38.0, [1.0, 39.0, 57.0], [1.0, 39.0, 56.0]),  # from 0, passing the offset: no jump back
        (0.0, [-0.04, 3.0], [0.0, 3.0]),
    ],
)
def test_progress_runs_from_0_to_the_steps_length(offset: float, reports: list[float], expected: list[float]) -> None:
    from clipper.run.running import MediaClock

    clock = MediaClock(offset, 56.0)
    assert [clock.done(report) for report in reports] == expected


@pytest.mark.parametrize(
    ("progress", "tty", "kind"),
    [("auto", True, "BarReporter"), ("auto", False, "Reporter"), ("lines", True, "Reporter"),
     ("bars", False, "BarReporter"), ("off", True, "SilentProgress")],
)  # fmt: skip
def test_progress_style(progress: str, tty: bool, kind: str) -> None:
    import io

    from clipper.run.progress import make_reporter

    class Stream(io.StringIO):
        def isatty(self) -> bool:
            return tty

    stream = Stream()
    reporter = make_reporter(stream=stream, progress=progress)
    assert type(reporter).__name__ == kind
    reporter.task_started("k", "fetch x", 10.0)
    shown = stream.getvalue()
    assert ("fetch x" in shown) == (kind != "SilentProgress"), shown
    assert ("%|" in shown) == (kind == "BarReporter"), shown


@pytest.mark.parametrize(
    ("url", "extractor"),
    [
        ("https://www.youtube.com/watch?v=u3HBJVjpXuw", "Youtube"),
        ("https://youtu.be/u3HBJVjpXuw", "Youtube"),
        ("http://127.0.0.1:8000/media/source.mp4", "Generic"),
        ("https://files.example.org/talk.WEBM?token=1", "Generic"),
        ("http://127.0.0.1:8000/dash/manifest.mpd", None),  # yt-dlp chooses (its generic one reads a manifest)
        ("https://vimeo.com/12345", None),
    ],
)
def test_plain_urls_skip_yt_dlps_search_through_every_extractor(url: str, extractor: str | None) -> None:
    from clipper.fetch.youtubedl import extractor_for

    found = extractor_for(url)
    assert (found.ie_key() if found else None) == extractor
