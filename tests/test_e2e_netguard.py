"""End to end: a note's media is fetched only by downloaders that check every address it connects to."""

from __future__ import annotations

import re
import signal
import subprocess
import threading
from pathlib import Path

import pytest
from conftest import EXAMPLE_NOTE
from hosts import serve_host

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("playlist", ["live", "unsupported feature"])
def test_a_notes_playlist_never_hands_its_segments_to_ffmpeg(
    tmp_path: Path, short_video: Path, monkeypatch: pytest.MonkeyPatch, playlist: str
) -> None:
    """A playlist on a public host lists segments on a private one. yt-dlp's own HLS downloader would check each
    address, but a live playlist (one without an end) or one with a feature that downloader cannot read goes
    to ffmpeg, which looks the hosts up itself: refused before ffmpeg starts, naming the note and its line."""
    from click.testing import CliRunner

    from clipper.cli.main import cli
    from clipper.policy import addresses

    page_root, private_root = tmp_path / "page", tmp_path / "private"
    page_root.mkdir()
    private_root.mkdir()
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(short_video), "-t", "6", "-c", "copy", "-f", "mpegts",
                    str(private_root / "seg.ts")], check=True)  # fmt: skip
    with serve_host(page_root) as page, serve_host(private_root) as private:
        # The page's host stands in for a public one (taken for public in this process only).
        monkeypatch.setattr(addresses, "PRETEND_PUBLIC", {("127.0.0.1", page.port)})
        lines = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-TARGETDURATION:6", "#EXT-X-MEDIA-SEQUENCE:0"]
        if playlist == "unsupported feature":  # a key method yt-dlp's downloader does not know: ffmpeg's job
            lines += ["#EXT-X-KEY:METHOD=IDENTITY"]
        lines += ["#EXTINF:6.0,", private.url("seg.ts")]
        if playlist == "unsupported feature":
            lines += ["#EXT-X-ENDLIST"]  # without it, the playlist is live
        (page_root / "v.m3u8").write_text("\n".join(lines) + "\n")
        url = page.url("v.m3u8")
        notes = tmp_path / "notes"
        notes.mkdir()
        text = EXAMPLE_NOTE.read_text().split('### "Pretraining')[0]
        text = text.replace("url: https://www.youtube.com/watch?v=u3HBJVjpXuw", f"url: {url}")
        (notes / "x.md").write_text(text.replace('"https://www.youtube.com/watch?v=u3HBJVjpXuw"', f'"{url}"'))
        config = tmp_path / "clipper.yaml"
        config.write_text(f"output_dir: out\nretry_delay: 0.1\ncache_dir: {tmp_path / 'cache'}\n")

        # A deadline: ffmpeg would follow a live playlist for as long as it lasts (Ctrl-C stops the run).
        deadline = threading.Timer(60, signal.raise_signal, [signal.SIGINT])
        deadline.start()
        try:
            result = CliRunner().invoke(cli, ["batch", str(notes), "--config", str(config)])
        finally:
            deadline.cancel()

        assert page.gets(), "yt-dlp never read the playlist: the test did not test anything"
        assert private.gets() == [], "a segment on the private host was fetched"
        assert "interrupted" not in result.stderr, result.stderr
        assert result.exit_code == 1, result.output
        failures = [line for line in result.stderr.splitlines() if line.startswith("  failed")]
        assert len(failures) == 1, result.stderr
        assert f"{notes / 'x.md'}:35: " in failures[0], failures
        assert "refused to connect to 127.0.0.1 through ffmpeg" in failures[0], failures
        assert "retrying" not in result.stderr, result.stderr


def test_a_download_as_short_twice_is_final_after_two_downloads(
    tmp_path: Path, short_video: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A host that says its video lasts 20 s and serves 6 s: the second download, as short as the first, ends
    the tries (a third, a fourth ... would get the same 6 s), and the one line says both lengths."""
    from click.testing import CliRunner

    from clipper.cli.main import cli

    root = tmp_path / "host"
    root.mkdir()
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(short_video), "-t", "6", "-c", "copy", "-f", "mpegts",
                    str(root / "seg.ts")], check=True)  # fmt: skip
    (root / "v.m3u8").write_text("#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:20\n#EXT-X-MEDIA-SEQUENCE:0\n"
                                 "#EXTINF:20.0,\nseg.ts\n#EXT-X-ENDLIST\n")  # fmt: skip
    with serve_host(root) as host:
        notes = tmp_path / "notes"
        notes.mkdir()
        (notes / "u3HBJVjpXuw.md").write_text(EXAMPLE_NOTE.read_text().split('### "Pretraining')[0])
        config = tmp_path / "clipper.yaml"
        config.write_text(f"output_dir: out\nretry_delay: 0.1\nretries: 3\nfetch: full\ncache_dir: {tmp_path / 'c'}\n"
                          f"sources:\n  u3HBJVjpXuw: {host.url('v.m3u8')}\n")  # fmt: skip
        result = CliRunner().invoke(cli, ["batch", str(notes), "--config", str(config)])

        assert result.exit_code == 1, result.output
        assert len(host.gets("seg.ts")) == 2, result.stderr
        failures = [line for line in result.stderr.splitlines() if line.startswith("  failed")]
        assert len(failures) == 1, result.stderr
        assert re.search(r"lasts 6\.\ds again, but the host says the video lasts 20\.0s", failures[0]), failures
        assert not [path for path in (tmp_path / "c").iterdir() if path.suffix == ".mp4"]  # nothing short cached


def test_a_short_download_over_http_is_kept_for_yt_dlp_to_resume(tmp_path: Path, short_video: Path) -> None:
    """One file over HTTP that came short stays as yt-dlp's partial file (the next try asks for the rest only);
    fragments or merged streams could not be resumed from it and are removed."""
    import shutil

    from clipper.core.errors import FetchError, Unreachable
    from clipper.fetch import download
    from clipper.run.fetching import check_whole

    class Video:  # the check reads only the video's source
        source = "http://example.org/v.mp4"

    path = tmp_path / "v-0123456789.mp4"
    shutil.copy(short_video, path)
    short: list[float] = []
    with pytest.raises(FetchError) as first:
        check_whole(Video(), download.Download(str(path), 60.0, resumable=True), short)  # type: ignore[arg-type]
    assert first.value.retryable and not isinstance(first.value, Unreachable)
    assert not path.exists() and (tmp_path / "v-0123456789.mp4.part").is_file()

    (tmp_path / "v-0123456789.mp4.part").replace(path)  # the next try: yt-dlp resumed, and the host had no more
    with pytest.raises(Unreachable, match=r"lasts 30\.\ds again, but the host says the video lasts 60\.0s"):
        check_whole(Video(), download.Download(str(path), 60.0, resumable=True), short)  # type: ignore[arg-type]
    assert list(tmp_path.glob("v-0123456789.mp4*")) == []  # final: no partial file for later runs to resume again

    shutil.copy(short_video, path)
    with pytest.raises(FetchError):
        check_whole(Video(), download.Download(str(path), 60.0, resumable=False), [])  # type: ignore[arg-type]
    assert not path.exists()
