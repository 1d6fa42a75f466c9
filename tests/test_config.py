"""config.yaml -> Config: defaults, validation with file:line messages, paths relative to the file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from clipper.core.errors import ConfigError
from clipper.plan.config import DEFAULT_FORMAT_SORT, Config, default_jobs, load_config, parse_bytes

FIELDS = "{video_id}, {start}, {end}, {title}, {index}"
KNOWN = (
    "aspect, broker, cache_dir, captions, container, crop_x, fetch, format, format_sort, host_limits, http_chunk_size,"
    " jobs, link_notes, link_style, loudnorm, mode, naming, output_dir, pad, preset, queue_heartbeat, retries,"
    " retry_delay, snap, snap_window, sources, warn_longer_than, yt_dlp_args"
)


def write_config(tmp_path: Path, text: str, name: str = "conf/config.yaml") -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_without_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("XDG_CACHE_HOME")  # the test session sets its own: the default is what a user gets
    expected = Config(output_dir=tmp_path / "clips", jobs=default_jobs())
    assert load_config(None) == expected
    assert load_config(Path("config.yaml")) == expected  # missing and not required: defaults
    assert expected.mode == "smart"
    assert expected.fetch == "auto"
    assert expected.cache_dir == Path.home() / ".cache" / "clipper"
    assert expected.naming == "{video_id}-{start}"
    assert dict(expected.sources) == {}
    assert expected.format == "bv*+ba/b"
    assert expected.format_sort == DEFAULT_FORMAT_SORT == ("vcodec:h264", "res:1080", "acodec:aac", "ext:mp4:m4a")
    assert expected.retries == 3
    assert expected.source_file is None


def test_default_jobs_is_between_2_and_4() -> None:
    assert 2 <= default_jobs() <= 4


@pytest.mark.parametrize("text", ["", "# only a comment\n", "---\n"])
def test_empty_file_gives_defaults_relative_to_it(tmp_path: Path, text: str) -> None:
    path = write_config(tmp_path, text)
    config = load_config(path)
    assert config == Config(output_dir=tmp_path / "conf" / "clips", jobs=default_jobs(), source_file=path)


def test_full_file(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        "output_dir: out\n"
        "jobs: 3\n"
        "mode: copy\n"
        "naming: '{title}-{index:03d}'\n"
        "format: best\n"
        "format_sort: 'res:720, vcodec:h264'\n"
        "retries: 0\n"
        "sources:\n"
        "  abc: media/abc.mp4\n"
        "  xyz: http://127.0.0.1:8000/xyz.mp4\n"
        "  abs: /srv/video.mkv\n",
    )
    config = load_config(path)
    folder = tmp_path / "conf"
    assert config.output_dir == folder / "out"
    assert (config.jobs, config.mode, config.naming, config.format, config.retries) == (
        3,
        "copy",
        "{title}-{index:03d}",
        "best",
        0,
    )
    assert config.format_sort == ("res:720", "vcodec:h264")
    assert dict(config.sources) == {
        "abc": str(folder / "media" / "abc.mp4"),
        "xyz": "http://127.0.0.1:8000/xyz.mp4",
        "abs": "/srv/video.mkv",
    }
    assert config.source_file == path


def test_relative_paths_do_not_depend_on_the_current_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_config(tmp_path, "output_dir: ../clips\nsources:\n  abc: a.mp4\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    config = load_config(path)
    assert config.output_dir == tmp_path / "conf" / ".." / "clips"
    assert config.sources["abc"] == str(tmp_path / "conf" / "a.mp4")


def test_home_is_expanded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # config.yaml's own example writes a source as ~/videos/...; it must not become ./~/videos/...
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    path = write_config(tmp_path, "output_dir: ~/clips\nsources:\n  abc: ~/videos/a.mp4\n")
    config = load_config(path)
    assert config.output_dir == tmp_path / "home" / "clips"
    assert config.sources["abc"] == str(tmp_path / "home" / "videos" / "a.mp4")


def test_format_sort_as_a_list(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, "format_sort: [res:720, 'vcodec:h264']\n"))
    assert config.format_sort == ("res:720", "vcodec:h264")


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("# settings\noutput_dir: out\nfoo: 1\n", 3, f"unknown key 'foo' (known: {KNOWN})"),
        ("1: 2\n", 1, f"unknown key 1 (known: {KNOWN})"),
        ("mode: reencode\njobs: x\n", 2, "jobs must be a whole number, not a string"),
        ("jobs:\n", 1, "jobs must be a whole number, not empty"),
        ("jobs: true\n", 1, "jobs must be a whole number, not true or false"),
        ("jobs: 2.5\n", 1, "jobs must be a whole number, not a number"),
        ("jobs: 0\n", 1, "jobs must be at least 1, not 0"),
        ("\n\njobs: -3\n", 3, "jobs must be at least 1, not -3"),
        ("retries: -1\n", 1, "retries must be 0 or more, not -1"),
        ("mode: fast\n", 1, "mode must be one of smart, reencode, copy, not 'fast'"),
        ("output_dir: 5\n", 1, "output_dir must be a string, not a whole number"),
        ("format_sort: 5\n", 1, "format_sort must be a list or a string, not a whole number"),
        ("sources: [a, b]\n", 1, "sources must be a mapping, not a list"),
        ("sources: media.mp4\n", 1, "sources must be a mapping, not a string"),
        ("jobs: 2\nsources:\n  abc: 5\n", 2, "sources.abc must be a path or URL string"),
        ("sources:\n  abc: ''\n", 1, "sources.abc must be a path or URL string"),
        (
            "naming: '{video_id}-{foo}'\n",
            1,
            f"naming '{{video_id}}-{{foo}}' is not a valid template ('foo'); fields: {FIELDS}",
        ),
        (
            "naming: '{0}'\n",
            1,
            f"naming '{{0}}' is not a valid template (Replacement index 0 out of range for positional args tuple);"
            f" fields: {FIELDS}",
        ),
        (
            "naming: '{'\n",
            1,
            f"naming '{{' is not a valid template (Single '{{' encountered in format string); fields: {FIELDS}",
        ),
        (
            "naming: '{video_id.foo}'\n",
            1,
            f"naming '{{video_id.foo}}' is not a valid template ('str' object has no attribute 'foo');"
            f" fields: {FIELDS}",
        ),
        (
            "naming: '{index[0]}'\n",
            1,
            f"naming '{{index[0]}}' is not a valid template ('int' object is not subscriptable); fields: {FIELDS}",
        ),
        ("- a\n", 1, "config must be a mapping of keys to values"),
        ("jobs: [1\n", 2, "not valid YAML: did not find expected ',' or ']'"),
    ],
)
def test_invalid_config(tmp_path: Path, text: str, line: int, message: str) -> None:
    path = write_config(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert (caught.value.path, caught.value.line, caught.value.message) == (str(path), line, message)
    assert str(caught.value) == f"{path}:{line}: {message}"


def test_required_file_missing(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError) as caught:
        load_config(path, required=True)
    assert str(caught.value) == f"{path}: cannot read config: No such file or directory"


def test_config_is_a_folder(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path, required=True)
    assert str(caught.value) == f"{tmp_path}: cannot read config: Is a directory"


def test_with_overrides(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    config = load_config(write_config(tmp_path, "jobs: 3\nmode: reencode\n"))
    changed = config.with_overrides(output_dir="out", jobs=None, mode="copy")
    assert changed.output_dir == tmp_path / "out"
    assert (changed.jobs, changed.mode) == (3, "copy")
    assert config.mode == "reencode"  # frozen: the original is untouched
    assert config.with_overrides() == config
    assert config.with_overrides(output_dir=None, jobs=None, mode=None) == config
    assert config.with_overrides(output_dir=Path("/srv/clips")).output_dir == Path("/srv/clips")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"jobs": 0}, "jobs must be at least 1, not 0"),
        ({"mode": "fast"}, "mode must be one of smart, reencode, copy, not 'fast'"),
        ({"naming": "{nope}"}, f"naming '{{nope}}' is not a valid template ('nope'); fields: {FIELDS}"),
    ],
)
def test_with_overrides_validates(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Config().with_overrides(**overrides)
    assert (caught.value.path, caught.value.line) == (None, None)
    assert str(caught.value) == message


def test_config_is_frozen() -> None:
    config = Config()
    with pytest.raises(AttributeError):
        config.jobs = 9  # type: ignore[misc]
    with pytest.raises(TypeError):
        config.sources["abc"] = "x"  # type: ignore[index]


def test_the_config_is_found_here_then_beside_the_notes_then_in_the_users_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, private_user_config: Path
) -> None:
    from clipper.plan.config import find_config

    here, notes = tmp_path / "here", tmp_path / "project" / "notes"
    here.mkdir()
    notes.mkdir(parents=True)
    monkeypatch.chdir(here)
    assert find_config([notes]) is None
    user = private_user_config / "clipper" / "config.yaml"
    user.parent.mkdir(exist_ok=True)
    user.write_text("mode: copy\n")
    try:
        assert find_config([notes]) == user
        (tmp_path / "project" / "config.yaml").write_text("mode: reencode\n")
        assert find_config([notes]) == tmp_path / "project" / "config.yaml"  # the folder above the notes
        (notes / "config.yaml").write_text("mode: reencode\n")
        assert find_config([notes / "a.md"]) == notes / "config.yaml"
        (here / "config.yaml").write_text("mode: smart\n")
        assert find_config([notes]) == Path("config.yaml")
    finally:
        user.unlink()


def test_share_settings(tmp_path: Path) -> None:
    text = "snap: speech\nsnap_window: 0.5\naspect: 9:16\ncrop_x: 0.3\npad: blur\nloudnorm: -16\ncontainer: mp4\n"
    config = load_config(write_config(tmp_path, text + "warn_longer_than: 90\n"))
    assert (config.snap, config.snap_window, config.aspect, config.crop_x, config.pad) == ("speech", 0.5, "9:16", 0.3,
                                                                                           "blur")  # fmt: skip
    assert (config.loudnorm, config.container, config.warn_longer_than) == (-16.0, "mp4", 90.0)
    defaults = Config()
    assert (defaults.snap, defaults.aspect, defaults.pad, defaults.loudnorm, defaults.container) == (
        "off", "source", "none", None, "auto")  # fmt: skip


@pytest.mark.parametrize(("text", "aspect"), [("aspect: 9:16\n", "9:16"), ("aspect: '1:1'\n", "1:1"),
                                              ("aspect: 16:9\n", "16:9"), ("aspect: source\n", "source")])  # fmt: skip
def test_an_unquoted_shape_is_read_as_written(tmp_path: Path, text: str, aspect: str) -> None:
    # YAML 1.1 reads 9:16 as the sexagesimal number 556: the text as written is taken instead.
    assert load_config(write_config(tmp_path, text)).aspect == aspect


LOUDNORM_SPELLINGS = [
    ("loudnorm: off\n", None),
    ("loudnorm: false\n", None),
    ("loudnorm: 'off'\n", None),
    ("loudnorm: on\n", -14.0),
    ('loudnorm: "on"\n', -14.0),
    ("loudnorm: -23.5\n", -23.5),
]


@pytest.mark.parametrize(("text", "loudness"), LOUDNORM_SPELLINGS)
def test_loudnorm_is_off_on_or_a_target(tmp_path: Path, text: str, loudness: float | None) -> None:
    assert load_config(write_config(tmp_path, text)).loudnorm == loudness


@pytest.mark.parametrize(("text", "snap"), [("snap: off\n", "off"), ("snap: 'off'\n", "off"), ("snap: on\n", "speech"),
                                            ("snap: speech\n", "speech")])  # fmt: skip
def test_snap_off_is_off_quoted_or_not(tmp_path: Path, text: str, snap: str) -> None:
    assert load_config(write_config(tmp_path, text)).snap == snap


def test_a_preset_is_a_bundle_under_the_files_own_keys(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, "preset: shorts\nloudnorm: -16\n"))
    assert (config.preset, config.aspect, config.captions, config.loudnorm, config.container) == (
        "shorts", "9:16", "burn", -16.0, "mp4")  # fmt: skip
    assert config.warn_longer_than == 60.0
    # A preset given as a flag is under the other flags, over the file.
    flagged = config.with_overrides(preset="square", captions="sidecar")
    assert (flagged.aspect, flagged.captions, flagged.loudnorm) == ("1:1", "sidecar", -14.0)


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("jobs: 2\naspect: 3:0\n", 2, "aspect: '3:0' is not a shape: use source or W:H with whole numbers above 0, "
         "like 9:16 or 1:1"),
        ("aspect: wide\n", 1, "aspect: 'wide' is not a shape: use source or W:H with whole numbers above 0, like 9:16 "
         "or 1:1"),
        ("crop_x: 1.5\n", 1, "crop_x must be a fraction of the width from 0 (left) to 1 (right), like 0.5 (the "
         "middle); not 1.5"),
        ("\nloudnorm: +3\n", 2, "loudnorm must be off or a target loudness from -70 to -5 LUFS, like -14; not 3"),
        ("loudnorm: loud\n", 1, "loudnorm must be off, on or a target loudness in LUFS like -14; not 'loud'"),
        ("snap: words\n", 1, "snap must be one of speech, off, not 'words'"),
        ("snap_window: 0\n", 1, "snap_window must be seconds from 0.1 to 5, not 0"),
        ("pad: white\n", 1, "pad must be one of none, blur, black, not 'white'"),
        ("container: avi\n", 1, "container must be one of auto, mp4, mkv, webm, not 'avi'"),
        ("warn_longer_than: -1\n", 1, "warn_longer_than must be a number of seconds above 0, not -1"),
        ("preset: tiktok\n", 1, "preset must be one of shorts, square, not 'tiktok'"),
        ("jobs: 2\nlink_style: wiki\n", 2, "link_style must be markdown or obsidian, not 'wiki'"),
        ("link_notes: yes please\n", 1, "link_notes must be true or false, not a string"),
    ],
)  # fmt: skip
def test_invalid_share_settings_name_their_line(tmp_path: Path, text: str, line: int, message: str) -> None:
    path = write_config(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value) == f"{path}:{line}: {message}"


@pytest.mark.parametrize(
    "text",
    ["0", "65536", "10M", "10m", "1K", "2G", "7Y", "010M", "123456789012345678901234567890", "10MiB", "1.5M", "10 M",
     "1,5M", "M", "", "-1M", "10Q", "１０M", "9" * 400 + "K"],
)  # fmt: skip
def test_parse_bytes_is_yt_dlps(text: str) -> None:
    """The same count (or refusal) as yt-dlp's parse_bytes; digits with a unit letter without loading yt-dlp."""
    from yt_dlp.utils import parse_bytes as yt_dlp_parse_bytes

    def outcome(parse: Any) -> object:
        try:
            return parse(text)
        except OverflowError as error:  # 400 nines: float("inf") * 1024 cannot be rounded, in both
            return repr(error)

    assert outcome(parse_bytes) == outcome(yt_dlp_parse_bytes)


def test_link_settings(tmp_path: Path) -> None:
    assert (Config().link_notes, Config().link_style) == (False, "markdown")
    config = load_config(write_config(tmp_path, "link_notes: yes\nlink_style: obsidian\n"))
    assert (config.link_notes, config.link_style) == (True, "obsidian")
    assert config.with_overrides(link_notes=False).link_notes is False
    assert config.with_overrides(link_notes=None).link_notes is True  # --link not given: the file's
